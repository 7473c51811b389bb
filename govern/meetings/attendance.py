"""Who is at a meeting: checking in and out, and the count that in-meeting votes rely on.

Like the other meeting services, these check the actor and the meeting, change the rows and
flush; none commits. Refused actions raise MeetingError before anything changes.
"""

import secrets
from collections.abc import Iterable
from typing import NamedTuple

from flask_babel import gettext
from sqlalchemy import case, func, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import lazyload, selectinload

from govern import clock
from govern.extensions import db
from govern.meetings.models import CHECK_IN_CODE_LENGTH, Attendance, Meeting
from govern.meetings.services import MeetingError, can_run_meetings, refuse_if_over
from govern.members.models import Member, Standing

# No 0/O, 1/I/L: read off a projector or a shared screen, the code is typed without doubt.
CODE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
SEARCH_LIMIT = 50
# The attendance page lists those present a page at a time: a big meeting has a thousand.
PRESENT_PAGE_SIZE = 50


class WrongCode(MeetingError):
    """A self check-in with a code that is not the meeting's."""


class Presence(NamedTuple):
    eligible_present: int
    present: int


# Check-in codes -----------------------------------------------------------------------------


def new_check_in_code(previous: str | None = None) -> str:
    while True:
        code = "".join(secrets.choice(CODE_ALPHABET) for _ in range(CHECK_IN_CODE_LENGTH))
        if code != previous:
            return code


def normalized_code(code: str) -> str:
    """What a member typed, read the way it is shown: case, spaces and dashes do not matter."""
    return "".join((code or "").split()).replace("-", "").upper()


def open_check_in(meeting: Meeting, actor: Member) -> str:
    """Let members check themselves in, with a code new each time check-in opens."""
    _refuse_unless_chair(actor)
    _refuse_if_cancelled(meeting)
    meeting.check_in_code = new_check_in_code(meeting.check_in_code)
    meeting.check_in_open = True
    db.session.flush()
    return meeting.check_in_code


def close_check_in(meeting: Meeting, actor: Member) -> None:
    """Stop self check-in; the chair can still check members in and out."""
    _refuse_unless_chair(actor)
    meeting.check_in_open = False
    meeting.check_in_code = None
    db.session.flush()


# Checking in and out ------------------------------------------------------------------------


def check_in(meeting: Meeting, member: Member, actor: Member) -> bool:
    """The chair records that `member` is present. False if they already were."""
    _refuse_unless_chair(actor)
    _refuse_if_cancelled(meeting)
    return _record_presence(meeting, member.id, actor.id)


def check_in_many(meeting: Meeting, members: Iterable[Member], actor: Member) -> int:
    """The chair checks several members in at once; how many were not present before."""
    _refuse_unless_chair(actor)
    _refuse_if_cancelled(meeting)
    return sum(_record_presence(meeting, member.id, actor.id) for member in members)


def check_in_with_code(meeting: Meeting, member: Member, code: str) -> bool:
    """A member checks themselves in with the code on the screen, while check-in is open."""
    _refuse_if_cancelled(meeting)
    if not meeting.check_in_open or not meeting.check_in_code:
        raise MeetingError(gettext("Check-in for this meeting is not open."))
    if not secrets.compare_digest(normalized_code(code).encode(), meeting.check_in_code.encode()):
        raise WrongCode(
            gettext("That is not this meeting's check-in code. Check the code and try again."),
            "code",
        )
    return _record_presence(meeting, member.id, None)


def check_out(meeting: Meeting, member: Member, actor: Member) -> bool:
    """The chair records that `member` left. False if they had already left."""
    _refuse_unless_chair(actor)
    attendance = attendance_of(meeting, member)
    if attendance is None:
        raise MeetingError(gettext("%(name)s is not checked in.", name=member.name))
    # Conditional, so two chairs clicking at once record one departure, the first.
    result = db.session.execute(
        update(Attendance)
        .where(Attendance.id == attendance.id, Attendance.checked_out_at.is_(None))
        .values(checked_out_at=clock.now())
        .execution_options(synchronize_session=False)
    )
    db.session.expire(attendance)
    return result.rowcount == 1


def _record_presence(meeting: Meeting, member_id: int, recorded_by_id: int | None) -> bool:
    """Insert the attendance row, or clear its check-out; a no-op for someone present.

    Both statements are conditional, so a double click or two chairs at once leave one row
    and one recorded arrival (the unique constraint decides between the inserts)."""
    now = clock.now()
    insert = postgresql.insert if _dialect() == "postgresql" else sqlite.insert
    table = Attendance.__table__
    inserted = db.session.execute(
        insert(table)
        .values(
            meeting_id=meeting.id,
            member_id=member_id,
            checked_in_at=now,
            recorded_by_id=recorded_by_id,
        )
        .on_conflict_do_nothing(index_elements=["meeting_id", "member_id"])
        .returning(table.c.id)
    ).scalar_one_or_none()
    if inserted is not None:
        return True
    returned = db.session.execute(
        update(Attendance)
        .where(
            Attendance.meeting_id == meeting.id,
            Attendance.member_id == member_id,
            Attendance.checked_out_at.is_not(None),
        )
        .values(checked_out_at=None, checked_in_at=now, recorded_by_id=recorded_by_id)
        .execution_options(synchronize_session=False)
    )
    return returned.rowcount == 1


# Who is present -----------------------------------------------------------------------------


def attendance_of(meeting: Meeting, member: Member) -> Attendance | None:
    # Fresh from the database: the conditional statements above bypass the session.
    statement = (
        select(Attendance)
        .where(Attendance.meeting_id == meeting.id, Attendance.member_id == member.id)
        .execution_options(populate_existing=True)
    )
    return db.session.scalar(statement)


def is_present(meeting: Meeting, member: Member) -> bool:
    attendance = attendance_of(meeting, member)
    return attendance is not None and attendance.checked_out_at is None


def eligible_present_count(meeting: Meeting) -> int:
    """Voting-eligible members checked in and not checked out: the base of a meeting vote."""
    return presence(meeting).eligible_present


def present_count(meeting: Meeting) -> int:
    """Everyone present, suspended and lapsed members too: they may attend, not vote."""
    return presence(meeting).present


def presence(meeting: Meeting) -> Presence:
    """Both counts in one query over the meeting's present rows.

    Counting the eligible with a CASE rather than a WHERE on the member's standing keeps
    PostgreSQL's plan to one primary-key lookup per attendance row even before the tables
    were analyzed (a filter on `standing` led it to scan the members once per row)."""
    statement = (
        select(
            func.count(case((Member.standing == Standing.ACTIVE, 1))),
            func.count(),
        )
        .select_from(Attendance)
        .join(Member, Member.id == Attendance.member_id)
        .where(Attendance.meeting_id == meeting.id, Attendance.checked_out_at.is_(None))
    )
    eligible, present = db.session.execute(statement).one()
    return Presence(eligible, present)


def present_members(
    meeting: Meeting, page: int = 1, per_page: int | None = None
) -> list[tuple[Member, Attendance]]:
    """Who is present, by name; with `per_page`, only that page of them (the count of all
    is `presence`). The chair who recorded each arrival comes in the same round trip."""
    statement = (
        select(Member, Attendance)
        .join(Attendance, Attendance.member_id == Member.id)
        .where(Attendance.meeting_id == meeting.id, Attendance.checked_out_at.is_(None))
        .options(
            # Names and standing are all the list shows: no roles for each member.
            lazyload(Member.role_rows),
            selectinload(Attendance.recorded_by).lazyload(Member.role_rows),
        )
        .order_by(Member.name, Member.id)
    )
    if per_page is not None:
        statement = statement.limit(per_page).offset((page - 1) * per_page)
    return [(member, attendance) for member, attendance in db.session.execute(statement)]


def find_members(query: str, limit: int = SEARCH_LIMIT) -> list[Member]:
    """Members whose name contains `query`, any standing, by name."""
    statement = (
        select(Member)
        .options(lazyload(Member.role_rows))
        .order_by(Member.name, Member.id)
        .limit(limit)
    )
    query = " ".join(query.split())
    if query:
        escaped = query.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        statement = statement.where(Member.name.ilike(f"%{escaped}%", escape="\\"))
    return list(db.session.scalars(statement))


def present_member_ids(meeting: Meeting, member_ids: Iterable[int]) -> set[int]:
    ids = list(member_ids)
    if not ids:
        return set()
    statement = select(Attendance.member_id).where(
        Attendance.meeting_id == meeting.id,
        Attendance.checked_out_at.is_(None),
        Attendance.member_id.in_(ids),
    )
    return set(db.session.scalars(statement))


# Checks -------------------------------------------------------------------------------------


def _refuse_unless_chair(actor: Member) -> None:
    if not can_run_meetings(actor):
        raise MeetingError(
            gettext("Only a chair or a receiver in good standing records attendance.")
        )


def _refuse_if_cancelled(meeting: Meeting) -> None:
    if meeting.cancelled_at is not None:
        raise MeetingError(gettext("This meeting is cancelled: nobody checks in."))
    refuse_if_over(meeting)


def _dialect() -> str:
    return db.session.get_bind().dialect.name
