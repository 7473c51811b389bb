"""What happens to members: invitations, passwords, roles and standing."""

import unicodedata
from datetime import timedelta
from typing import NamedTuple
from urllib.parse import urlsplit

from flask import current_app, render_template
from flask_babel import force_locale, gettext
from sqlalchemy import Select, func, insert, or_, select, text, update
from werkzeug.security import check_password_hash, generate_password_hash

from govern import clock
from govern.database import is_postgresql
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
MAX_NAME_LENGTH = 200


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
    # Built from PUBLIC_URL, not the request: the CLI queues invitations without one.
    public = urlsplit(current_app.config["PUBLIC_URL"])
    urls = current_app.url_map.bind(
        public.netloc, script_name=public.path or "/", url_scheme=public.scheme
    )
    return urls.build("auth.open_password_link", {"token": token}, force_external=True)


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


def send_password_reset(member: Member) -> None:
    token = issue_token(member, TokenPurpose.PASSWORD_RESET)
    queue_mail(
        member.email,
        gettext("Set a new password for %(organization)s", organization=_organization()),
        "password_reset",
        member=member,
        link=_link(token),
        expires_hours=current_app.config["PASSWORD_RESET_TTL_HOURS"],
    )


def email_password_link(member: Member) -> TokenPurpose:
    """Invite a member who has no password yet; send the others a password reset."""
    if member.has_password:
        send_password_reset(member)
        return TokenPurpose.PASSWORD_RESET
    invite_member(member)
    return TokenPurpose.INVITATION


def request_password_reset(email: str) -> None:
    """Send a reset link when the address is a member's; say nothing either way."""
    member = find_member_by_email(email)
    if member is None:
        _render_reset_for_nobody(email)
        return
    send_password_reset(member)


def _render_reset_for_nobody(email: str) -> None:
    # The work of a real reset, thrown away: the response time must not tell members apart.
    token = new_token()
    hash_token(token)
    with force_locale(current_app.config["ORGANIZATION_LOCALE"]):
        gettext("Set a new password for %(organization)s", organization=_organization())
        render_template(
            "mail/password_reset.txt",
            member=Member(name=email, email=email),
            link=_link(token),
            expires_hours=current_app.config["PASSWORD_RESET_TTL_HOURS"],
            organization_name=_organization(),
            public_url=current_app.config["PUBLIC_URL"].rstrip("/"),
        )


def _organization() -> str:
    return current_app.config["ORGANIZATION_NAME"]


def find_usable_token(token: str) -> AuthToken | None:
    row = db.session.scalar(select(AuthToken).filter_by(token_hash=hash_token(token)))
    if row is None or not row.is_usable(clock.now()):
        return None
    return row


def find_usable_token_by_id(token_id: object) -> AuthToken | None:
    if not isinstance(token_id, int):
        return None
    row = db.session.get(AuthToken, token_id)
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
    # Any other link still in a mailbox would set the password again: spend it too.
    db.session.execute(
        update(AuthToken)
        .where(AuthToken.member_id == token_row.member_id, AuthToken.used_at.is_(None))
        .values(used_at=now)
    )
    member = token_row.member
    member.password_hash = generate_password_hash(password)
    member.login_id = new_login_id()
    db.session.flush()
    return member


def search_members(query: str = "", standing: str = "") -> Select:
    """Members whose name or email contains `query`, in `standing` when it is one; by name."""
    statement = select(Member).order_by(func.lower(Member.name), Member.id)
    if query:
        statement = statement.where(
            or_(
                func.lower(Member.name).contains(query.lower(), autoescape=True),
                Member.email.contains(query.lower(), autoescape=True),
            )
        )
    if standing in set(Standing):
        statement = statement.where(Member.standing == standing)
    return statement


def members_to_invite() -> list[Member]:
    """Active members who have no password yet: suspended and lapsed ones are left alone."""
    return list(
        db.session.scalars(
            select(Member)
            .where(Member.password_hash.is_(None), Member.standing == Standing.ACTIVE)
            .order_by(Member.id)
        )
    )


def changes_of(member: Member) -> list[MemberChange]:
    """The member's change log, newest first."""
    return list(
        db.session.scalars(
            select(MemberChange)
            .where(MemberChange.member_id == member.id)
            .order_by(MemberChange.changed_at.desc(), MemberChange.id.desc())
        )
    )


class MemberError(ValueError):
    """A change to the roll that the rules refuse; the message says why."""


def add_member(
    name: str,
    email: str,
    roles: set[Role],
    standing: Standing,
    actor: Member | None,
    *,
    invite: bool = False,
) -> Member:
    email = normalize_email(email)
    if find_member_by_email(email) is not None:
        raise MemberError(gettext("A member with this email already exists."))
    member = Member(name=name.strip(), email=email, standing=standing)
    member.role_rows = [MemberRole(role=role) for role in sorted(roles)]
    db.session.add(member)
    db.session.flush()
    record_creation(member, actor)
    if invite:
        invite_member(member)
    return member


class NewMember(NamedTuple):
    name: str
    email: str
    roles: frozenset[Role]
    standing: Standing


def add_members_in_bulk(new: list[NewMember], actor: Member | None) -> list[int]:
    """Add many members with their "created" records in a few INSERTs; give their ids.

    Inserting whole batches keeps a 10,000-row roll import to seconds.
    """
    now = clock.now()
    ids = db.session.scalars(
        insert(Member).returning(Member.id, sort_by_parameter_order=True),
        [
            {"name": one.name, "email": one.email, "standing": one.standing, "created_at": now}
            for one in new
        ],
    ).all()
    role_rows = [
        {"member_id": member_id, "role": role}
        for member_id, one in zip(ids, new, strict=True)
        for role in sorted(one.roles)
    ]
    if role_rows:
        db.session.execute(insert(MemberRole), role_rows)
    db.session.execute(
        insert(MemberChange),
        [
            {
                "member_id": member_id,
                "actor_id": actor.id if actor else None,
                "actor_label": actor_label(actor),
                "field": "created",
                "new_value": describe_creation(one.standing, one.roles),
                "changed_at": now,
            }
            for member_id, one in zip(ids, new, strict=True)
        ],
    )
    if is_postgresql():
        # Fresh statistics after a bulk load: without them the planner's generic plans for
        # the roll's lookups by email take 30 times longer until autovacuum catches up.
        db.session.execute(text("ANALYZE members, member_roles"))
    return list(ids)


def invite_members(member_ids: list[int]) -> None:
    for start in range(0, len(member_ids), 500):
        batch = member_ids[start : start + 500]
        for member in db.session.scalars(select(Member).where(Member.id.in_(batch))):
            invite_member(member)


def name_problem(name: str) -> str | None:
    """What is wrong with a member's name, if anything."""
    if not name.strip():
        return gettext("the name is empty")
    if len(name) > MAX_NAME_LENGTH:
        return gettext("the name is longer than %(max)s characters", max=MAX_NAME_LENGTH)
    if any(unicodedata.category(character) == "Cc" for character in name):
        return gettext("the name contains a line break or another control character")
    return None


def update_member(
    member: Member, roles: set[Role], standing: Standing, actor: Member | None
) -> bool:
    """Change roles and standing; say whether anything changed."""
    changed = change_roles(member, roles, actor)
    return change_standing(member, standing, actor) or changed


def removes_own_admin_role(member: Member, roles: set[Role], actor: Member | None) -> bool:
    # Keeps at least one admin: the one acting. The command line has no such actor.
    return (
        actor is not None and member.id == actor.id and member.is_admin and Role.ADMIN not in roles
    )


def change_roles(member: Member, roles: set[Role], actor: Member | None) -> bool:
    old = member.roles
    if old == roles:
        return False
    if removes_own_admin_role(member, roles, actor):
        raise MemberError(gettext("You cannot remove your own admin role; ask another admin."))
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


def rename(member: Member, name: str, actor: Member | None) -> bool:
    if member.name == name:
        return False
    _record(member, actor, "name", member.name, name)
    member.name = name
    return True


def format_roles(roles: set[Role] | frozenset[Role]) -> str:
    return ";".join(sorted(roles))


def describe_creation(standing: str, roles: set[Role] | frozenset[Role]) -> str:
    """The `new_value` of a "created" change: standing, then roles when there are any."""
    return "; ".join(filter(None, [standing, format_roles(roles)]))


def record_creation(member: Member, actor: Member | None) -> None:
    _record(member, actor, "created", None, describe_creation(member.standing, member.roles))


def _record(member: Member, actor: Member | None, field: str, old: str | None, new: str) -> None:
    # By id, not relationship: recording thousands of changes stays cheap. Members are flushed.
    db.session.add(
        MemberChange(
            member_id=member.id,
            actor_id=actor.id if actor else None,
            actor_label=actor_label(actor),
            field=field,
            old_value=old,
            new_value=new,
        )
    )
