"""An acknowledged amendment, its receiver, and meetings to schedule its discussion at."""

from datetime import UTC, datetime

import pytest
from sqlalchemy import func, select

from govern.amendments import services as amendments
from govern.extensions import db
from govern.meetings import services
from govern.meetings.models import Attendance, MeetingKind
from govern.members.models import Member
from tests.conftest import PASSWORD_HASH
from tests.governance import PROPOSED

# The clock fixture stands at 2026-03-01 12:00 UTC.
EVENING = datetime(2026, 3, 10, 18, 0, tzinfo=UTC)
EVENING_END = datetime(2026, 3, 10, 20, 0, tzinfo=UTC)


@pytest.fixture
def make_amendment(document, proposer, receiver):
    """A proposal submitted and, unless told otherwise, acknowledged by the receiver."""

    def make(title: str = "Patience", acknowledged: bool = True):
        amendment = amendments.start_draft(proposer, document, title, "Because.", PROPOSED)
        amendments.submit(amendment, proposer)
        if acknowledged:
            amendments.acknowledge(amendment, receiver)
        db.session.commit()
        return amendment

    return make


@pytest.fixture
def acknowledged(make_amendment):
    return make_amendment()


@pytest.fixture
def make_meeting(receiver, clock):
    def make(
        title: str = "General assembly",
        starts_at: datetime = EVENING,
        ends_at: datetime = EVENING_END,
        place: str = "Community hall, Main Street 1",
        online_link: str = "",
    ):
        meeting = services.create_meeting(
            receiver, title, MeetingKind.REGULAR, starts_at, ends_at, place, online_link
        )
        db.session.commit()
        return meeting

    return make


@pytest.fixture
def chair(make_member):
    return make_member(name="Cleo Chair", email="cleo@example.org", roles=["chair"])


@pytest.fixture
def item(acknowledged, receiver, make_meeting, clock):
    """The amendment's discussion slot, the only item of a meeting scheduled ahead and
    now begun: the clock stands at its start."""
    item = amendments.schedule_discussion(acknowledged, receiver, make_meeting())
    db.session.commit()
    clock.current = EVENING
    return item


@pytest.fixture
def check_in():
    """Check `count` new members in at the item's meeting, all in one transaction."""

    def check(item, count: int, standing: str = "active") -> list[Member]:
        start = db.session.scalar(select(func.count()).select_from(Member))
        members = [
            Member(
                name=f"Present {start + number}",
                email=f"present{start + number}@example.org",
                standing=standing,
                password_hash=PASSWORD_HASH,
            )
            for number in range(count)
        ]
        db.session.add_all(members)
        db.session.flush()
        for member in members:
            db.session.add(Attendance(meeting_id=item.meeting_id, member_id=member.id))
        db.session.commit()
        return members

    return check
