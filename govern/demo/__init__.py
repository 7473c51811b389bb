"""The demo organization: a few members, a code of conduct with three versions, a
proposal to amend it on its way to the next meeting, and one whose electronic ballot is
open after last week's meeting passed it."""

from datetime import date, datetime, time, timedelta
from pathlib import Path

from sqlalchemy import select
from werkzeug.security import generate_password_hash

from govern import clock
from govern.amendments import services as amendments
from govern.amendments.comments import add_comment
from govern.amendments.models import Amendment
from govern.ballots import services as ballots
from govern.documents import services as documents
from govern.documents.models import TextFormat
from govern.extensions import db
from govern.meetings import attendance, votes
from govern.meetings import services as meetings
from govern.meetings.models import MeetingKind, VoteMode
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


PROPOSAL_TITLE = "Say oops when you hurt someone"
PROPOSAL_RATIONALE = (
    "SCORE's code asks us to acknowledge harm on the spot. Ours says nothing about it, "
    "so people do not know what is expected."
)
OOPS = (
    '\n\nWhen someone says "ouch", the person who hurt them says "oops", '
    "acknowledges the harm and, when they are ready, repairs it."
)


BALLOT_TITLE = "Reports may be made anonymously"
BALLOT_RATIONALE = (
    "Some members do not report harm because they fear being known as the one who did. "
    "An anonymous report is still a report the officers can act on."
)
CONFIDENTIALLY = "Reports are\nhandled confidentially."
ANONYMOUSLY = "Reports are\nhandled confidentially and may be made anonymously."


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
    if db.session.scalar(select(Amendment).where(Amendment.title == PROPOSAL_TITLE)) is None:
        _propose_and_schedule()
    if db.session.scalar(select(Amendment).where(Amendment.title == BALLOT_TITLE)) is None:
        _ballot_in_progress()
    lines = ["Demo organization ready. Sign in at http://127.0.0.1:5000/auth/sign-in with:"]
    for name, email, roles, _standing in MEMBERS:
        role = ", ".join(sorted(roles)) or "member"
        lines.append(f"  {email:<24} password {demo_password(email):<16} ({name}, {role})")
    lines += [
        f"Members in the roll: {db.session.scalar(select(db.func.count(Member.id)))}",
        "The demo Code of Conduct, with its three versions and their history:",
        "  http://127.0.0.1:5000/documents/code-of-conduct",
        "A proposal to amend it, acknowledged and scheduled for the next meeting, and one",
        "whose electronic ballot is open (sign in as member@example.org to vote):",
        "  http://127.0.0.1:5000/amendments/",
        "Ballot mails land in instance/mail/ once the worker beside the server sends them.",
    ]
    return lines


def _propose_and_schedule() -> None:
    """Jun proposes a change, Rosa acknowledges it and puts it on the next meeting's agenda,
    Mina comments: the mails go to the outbox like any others."""
    jun = members.find_member_by_email("jun@example.org")
    rosa = members.find_member_by_email("receiver@example.org")
    mina = members.find_member_by_email("member@example.org")
    document = documents.find_document("code-of-conduct")
    text = document.version_in_force().text
    paragraph = "Members listen to one another, speak to each other with respect, and assume good\n"
    paragraph += "faith. We disagree about ideas, not about people's worth."
    proposed = text.replace(paragraph, paragraph + OOPS)
    proposal = amendments.start_draft(jun, document, PROPOSAL_TITLE, PROPOSAL_RATIONALE, proposed)
    amendments.submit(proposal, jun)
    amendments.acknowledge(proposal, rosa)
    zone = meetings.organization_zone()
    day = clock.now().astimezone(zone).date() + timedelta(days=7)
    starts = datetime.combine(day, time(19, 0), zone)
    meeting = meetings.create_meeting(
        rosa,
        "Monthly general meeting",
        MeetingKind.REGULAR,
        starts,
        starts + timedelta(hours=2),
        "Community room, 12 River Street",
        "",
    )
    amendments.schedule_discussion(proposal, rosa, meeting)
    add_comment(proposal, mina, "Yes. Could the notice also say **who** to talk to afterwards?")


def _ballot_in_progress() -> None:
    """Mina proposed a change; last week's meeting passed it by a show of hands, and Rosa
    opened the one-week ballot yesterday. Jun has voted already."""
    by_email = members.find_member_by_email
    rosa, chris, mina, jun = (
        by_email(f"{name}@example.org") for name in ("receiver", "chair", "member", "jun")
    )
    document = documents.find_document("code-of-conduct")
    now = clock.now()
    zone = meetings.organization_zone()
    day = now.astimezone(zone).date() - timedelta(days=8)
    starts = datetime.combine(day, time(19, 0), zone)
    with clock.standing_at(starts - timedelta(days=10)):
        text = document.version_in_force().text.replace(CONFIDENTIALLY, ANONYMOUSLY)
        proposal = amendments.start_draft(mina, document, BALLOT_TITLE, BALLOT_RATIONALE, text)
        amendments.submit(proposal, mina)
        amendments.acknowledge(proposal, rosa)
        meeting = meetings.create_meeting(
            rosa,
            "Extraordinary general meeting",
            MeetingKind.STANDALONE,
            starts,
            starts + timedelta(hours=2),
            "Community room, 12 River Street",
            "",
        )
        item = amendments.schedule_discussion(proposal, rosa, meeting)
    with clock.standing_at(starts + timedelta(minutes=30)):
        present = [member for member in db.session.scalars(select(Member)) if member.is_eligible]
        attendance.check_in_many(meeting, present, chris)
        vote = votes.open_vote(item, chris, VoteMode.HAND_COUNT)
        votes.record_hand_count(vote, chris, len(present) - 1, 0, 1)
    with clock.standing_at(now - timedelta(days=1)):
        ballot = ballots.open_ballot(proposal, rosa)
    with clock.standing_at(now - timedelta(hours=20)):
        ballots.cast(ballots.entry_for_member(ballot, jun), "yes")
