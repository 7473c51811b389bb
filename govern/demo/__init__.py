"""The demo organization: a few members and a code of conduct with three versions."""

from datetime import date
from pathlib import Path

from sqlalchemy import select
from werkzeug.security import generate_password_hash

from govern.documents import services as documents
from govern.documents.models import TextFormat
from govern.extensions import db
from govern.members import services as members
from govern.members.models import Member, MemberRole, Role, Standing

HERE = Path(__file__).parent

# (name, email, roles, standing); every demo password is "demo-" + the part before @.
MEMBERS = [
    ("Ada Admin", "admin@example.org", {Role.ADMIN}, Standing.ACTIVE),
    ("Rosa Receiver", "receiver@example.org", {Role.RECEIVER}, Standing.ACTIVE),
    ("Chris Chair", "chair@example.org", {Role.CHAIR}, Standing.ACTIVE),
    ("Mina Member", "member@example.org", set(), Standing.ACTIVE),
    ("Jun Park", "jun@example.org", set(), Standing.ACTIVE),
    ("Sam Lapsed", "lapsed@example.org", set(), Standing.LAPSED),
]

VERSIONS = [
    ("coc_v1.md", date(2023, 1, 15), "Adopted at the founding meeting."),
    (
        "coc_v2.md",
        date(2024, 3, 2),
        "Internal Grievance Officers; discrimination; confidentiality.",
    ),
    ("coc_v3.md", date(2025, 6, 20), "Progressive stack; personal information; revision process."),
]


def demo_password(email: str) -> str:
    return "demo-" + email.split("@")[0]


def load_demo() -> list[str]:
    """Create what is missing (the caller commits); running it again changes nothing.

    Returns the lines telling how to sign in.
    """
    for name, email, roles, standing in MEMBERS:
        if members.find_member_by_email(email):
            continue
        member = Member(
            name=name,
            email=email,
            standing=standing,
            password_hash=generate_password_hash(demo_password(email)),
        )
        member.role_rows = [MemberRole(role=role) for role in sorted(roles)]
        db.session.add(member)
        db.session.flush()
        members.record_creation(member, None)
    if documents.find_document("code-of-conduct") is None:
        documents.import_versions(
            [
                documents.VersionFile(
                    data=(HERE / filename).read_bytes(),
                    name=filename,
                    effective_at=documents.start_of_day(day),
                    summary=summary,
                )
                for filename, day, summary in VERSIONS
            ],
            title="Code of Conduct",
            slug="code-of-conduct",
            format=TextFormat.MARKDOWN,
        )
    db.session.flush()
    lines = ["Demo organization ready. Sign in at http://127.0.0.1:5000/auth/sign-in with:"]
    for name, email, roles, _standing in MEMBERS:
        role = ", ".join(sorted(roles)) or "member"
        lines.append(f"  {email:<24} password {demo_password(email):<16} ({name}, {role})")
    lines += [
        f"Members in the roll: {db.session.scalar(select(db.func.count(Member.id)))}",
        "The demo Code of Conduct, with its three versions and their history:",
        "  http://127.0.0.1:5000/documents/code-of-conduct",
    ]
    return lines
