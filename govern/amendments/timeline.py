"""An amendment's timeline: each change adds its event to the session, committed with it.

Every entry past the private draft is also a governance action in the audit trail."""

from govern import audit, clock
from govern.amendments.models import NOTE_MAX, Amendment, AmendmentEvent
from govern.extensions import db
from govern.members.models import Member
from govern.procedures.states import State

# A draft is its proposer's private work until submitted: its edits are not governance.
PRIVATE_STATES = frozenset({None, State.DRAFT})


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
    if not (from_state in PRIVATE_STATES and to_state in (State.DRAFT, State.WITHDRAWN)):
        audit.record(
            f"amendment.{event}",
            actor,
            amendment,
            title=amendment.title,
            from_state=from_state,
            to_state=to_state,
            note=entry.note,
        )
    return entry
