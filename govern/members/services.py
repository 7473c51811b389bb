"""What happens to members: invitations, passwords, roles and standing."""

from datetime import timedelta

from flask import current_app, url_for
from flask_babel import gettext
from sqlalchemy import select, update
from werkzeug.security import check_password_hash, generate_password_hash

from govern import clock
from govern.extensions import db
from govern.mail.services import queue_mail
from govern.members.models import (
    AuthToken,
    Member,
    MemberChange,
    MemberRole,
    Role,
    Standing,
    TokenPurpose,
    hash_token,
    new_login_id,
)
from govern.security import new_token

# Used when no member matches, so a sign-in for an unknown address costs the same time.
_DUMMY_HASH = generate_password_hash("not a real password")

PASSWORD_MIN_LENGTH = 10


def actor_label(actor: Member | None) -> str:
    return actor.email if actor else "command line"


def find_member_by_email(email: str) -> Member | None:
    return db.session.scalar(select(Member).filter_by(email=normalize_email(email)))


def normalize_email(email: str) -> str:
    return email.strip().lower()


def authenticate(email: str, password: str) -> Member | None:
    member = find_member_by_email(email)
    if member is None or member.password_hash is None:
        check_password_hash(_DUMMY_HASH, password)
        return None
    if not check_password_hash(member.password_hash, password):
        return None
    return member


def issue_token(member: Member, purpose: TokenPurpose) -> str:
    """Create a link token; earlier unused tokens of the same purpose stop working."""
    now = clock.now()
    db.session.execute(
        update(AuthToken)
        .where(
            AuthToken.member_id == member.id,
            AuthToken.purpose == purpose,
            AuthToken.used_at.is_(None),
        )
        .values(used_at=now)
    )
    hours = current_app.config[
        "INVITATION_TTL_HOURS" if purpose == TokenPurpose.INVITATION else "PASSWORD_RESET_TTL_HOURS"
    ]
    token = new_token()
    db.session.add(
        AuthToken(
            member_id=member.id,
            purpose=purpose,
            token_hash=hash_token(token),
            created_at=now,
            expires_at=now + timedelta(hours=hours),
        )
    )
    return token


def _link(token: str) -> str:
    path = url_for("auth.set_password", token=token)
    return current_app.config["PUBLIC_URL"].rstrip("/") + path


def invite_member(member: Member) -> None:
    token = issue_token(member, TokenPurpose.INVITATION)
    queue_mail(
        member.email,
        gettext("You are invited to %(organization)s", organization=_organization()),
        "invitation",
        member=member,
        link=_link(token),
        expires_hours=current_app.config["INVITATION_TTL_HOURS"],
    )


def request_password_reset(email: str) -> None:
    """Send a reset link when the address is a member's; say nothing either way."""
    member = find_member_by_email(email)
    if member is None:
        return
    token = issue_token(member, TokenPurpose.PASSWORD_RESET)
    queue_mail(
        member.email,
        gettext("Set a new password for %(organization)s", organization=_organization()),
        "password_reset",
        member=member,
        link=_link(token),
        expires_hours=current_app.config["PASSWORD_RESET_TTL_HOURS"],
    )


def _organization() -> str:
    return current_app.config["ORGANIZATION_NAME"]


def find_usable_token(token: str) -> AuthToken | None:
    row = db.session.scalar(select(AuthToken).filter_by(token_hash=hash_token(token)))
    if row is None or not row.is_usable(clock.now()):
        return None
    return row


def set_password(token_row: AuthToken, password: str) -> Member:
    """Use the token once: a second use finds it spent, even from a parallel request."""
    now = clock.now()
    spent = db.session.execute(
        update(AuthToken)
        .where(AuthToken.id == token_row.id, AuthToken.used_at.is_(None))
        .values(used_at=now)
    )
    if spent.rowcount != 1:
        raise ValueError("token already used")
    member = token_row.member
    member.password_hash = generate_password_hash(password)
    member.login_id = new_login_id()
    db.session.flush()
    return member


def change_roles(member: Member, roles: set[Role], actor: Member | None) -> bool:
    old = member.roles
    if old == roles:
        return False
    member.role_rows = [row for row in member.role_rows if Role(row.role) in roles] + [
        MemberRole(role=role) for role in sorted(roles - old)
    ]
    _record(member, actor, "roles", format_roles(old), format_roles(roles))
    return True


def change_standing(member: Member, standing: Standing, actor: Member | None) -> bool:
    if member.standing == standing:
        return False
    old = member.standing
    member.standing = standing
    _record(member, actor, "standing", old, standing)
    return True


def format_roles(roles: set[Role]) -> str:
    return ";".join(sorted(roles))


def _record(member: Member, actor: Member | None, field: str, old: str | None, new: str) -> None:
    db.session.add(
        MemberChange(
            member=member,
            actor=actor,
            actor_label=actor_label(actor),
            field=field,
            old_value=old,
            new_value=new,
        )
    )


def record_creation(member: Member, actor: Member | None) -> None:
    roles = format_roles(member.roles) if member.role_rows else ""
    _record(member, actor, "created", None, f"{member.standing}; {roles}".rstrip("; "))


def rename(member: Member, name: str, actor: Member | None) -> None:
    _record(member, actor, "name", member.name, name)
    member.name = name
