"""What a meeting records (attendance, ouches) stops when it is long over or its minutes
are approved, so approved minutes stay what they were; ouches come from those present."""

from datetime import timedelta

import pytest

from govern.extensions import db
from govern.meetings import attendance, minutes, queue, services
from govern.meetings.services import MeetingError
from tests.meetings.conftest import EVENING, EVENING_END


@pytest.fixture
def meeting(make_meeting, clock):
    held = make_meeting()
    services.add_agenda_item(held, "Welcome")
    db.session.commit()
    clock.current = EVENING  # it has begun
    return held


def test_approved_minutes_close_the_record(meeting, receiver, make_member, clock):
    member = make_member()
    attendance.check_in(meeting, member, receiver)
    clock.current = EVENING_END
    minutes.save_minutes(meeting, receiver, "We met.")
    minutes.approve_minutes(meeting, receiver)
    db.session.commit()
    late = make_member()
    with pytest.raises(MeetingError, match="minutes of this meeting are approved"):
        attendance.check_in(meeting, late, receiver)
    db.session.rollback()
    with pytest.raises(MeetingError, match="minutes of this meeting are approved"):
        queue.note_ouch(meeting.items[0], member)
    db.session.rollback()
    assert attendance.present_count(meeting) == 1


def test_an_old_check_in_code_stops_working_when_the_meeting_is_long_over(
    meeting, receiver, make_member, clock
):
    code = attendance.open_check_in(meeting, receiver)
    db.session.commit()
    clock.current = EVENING_END + services.RUNS_LATE + timedelta(minutes=1)
    with pytest.raises(MeetingError, match="This meeting is over"):
        attendance.check_in_with_code(meeting, make_member(), code)
    db.session.rollback()
    assert attendance.present_count(meeting) == 0


def test_an_ouch_comes_from_someone_at_the_meeting(meeting, receiver, make_member):
    absent, present = make_member(), make_member()
    with pytest.raises(MeetingError, match="Only members at the meeting note an ouch."):
        queue.note_ouch(meeting.items[0], absent)
    db.session.rollback()
    attendance.check_in(meeting, present, receiver)
    assert queue.note_ouch(meeting.items[0], present).note == ""
    # The facilitator notes one for whoever said it, present or not.
    assert queue.note_ouch(meeting.items[0], receiver, "Interrupted a speaker.")
