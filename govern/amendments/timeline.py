"""An amendment's timeline: each change adds its event to the session, committed with it."""

from govern import clock
from govern.amendments.models import NOTE_MAX, Amendment, AmendmentEvent
from govern.extensions import db
from govern.members.models import Member


def record_event(
    amendment: Amendment,
    actor: Member | None,
    event: str,
    from_state: str | None,
    to_state: str,
    note: str = "",
) -> AmendmentEvent:
    entry = AmendmentEvent(
        amendment=amendment,
        actor=actor,
        event=event,
        from_state=from_state,
        to_state=to_state,
        at=clock.now(),
        note=note[:NOTE_MAX],
    )
    db.session.add(entry)
    return entry
