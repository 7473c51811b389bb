"""Who is at a meeting: checking in and out, and the count that in-meeting votes rely on."""

from sqlalchemy import func, select

from govern.extensions import db
from govern.meetings.models import Attendance, Meeting
from govern.members.models import Member, Standing


def eligible_present_count(meeting: Meeting) -> int:
    """Voting-eligible members checked in and not checked out: the base of a meeting vote."""
    statement = (
        select(func.count())
        .select_from(Attendance)
        .join(Member, Member.id == Attendance.member_id)
        .where(
            Attendance.meeting_id == meeting.id,
            Attendance.checked_out_at.is_(None),
            Member.standing == Standing.ACTIVE,
        )
    )
    return db.session.scalar(statement)
