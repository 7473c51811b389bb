"""An acknowledged amendment, its receiver, and meetings to schedule its discussion at."""

from datetime import UTC, datetime

import pytest

from govern.amendments import services as amendments
from govern.extensions import db
from govern.meetings import services
from govern.meetings.models import MeetingKind
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
