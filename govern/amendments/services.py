"""What members and receivers do to amendments.

Each service checks the actor and the state, changes the models, writes the timeline
event and queues the mail, then flushes. None commits: the caller does, once, so an
action, its event and its mail land together or not at all. A refused action raises
IllegalTransition or AmendmentError before changing anything. Carrying a proposal over
to a newer version is in `rebasing`; the checks of input and proposer are in `checks`.
"""

from datetime import datetime

from flask import current_app
from flask_babel import gettext
from flask_babel import lazy_gettext as _l
from sqlalchemy import select, update
from sqlalchemy.orm.attributes import set_committed_value

from govern import audit, clock
from govern.amendments.checks import (
    check_proposer,
    checked_form_token,
    checked_rationale,
    checked_text,
    checked_title,
    flush_once,
    made_by_form,
)
from govern.amendments.errors import AmendmentError
from govern.amendments.models import Amendment, AmendmentEvent, TimelineEntry
from govern.amendments.rebasing import check_base_in_force
from govern.amendments.timeline import record_event
from govern.documents.models import Document, procedure_snapshot_json
from govern.extensions import db
from govern.mail.services import queue_mail
from govern.meetings import services as meetings
from govern.meetings.calendar import meeting_ics
from govern.meetings.models import AgendaItem, Meeting
from govern.members.models import Member, Role
from govern.procedures import catalog
from govern.procedures.stages import Actor, Event
from govern.procedures.states import Outcome, State, can_be_revised, next_state

# Procedures ------------------------------------------------------------------------------


def set_procedure(document: Document, key: str, actor: Member, **settings: object) -> None:
    """Choose the document's procedure from the catalog, with adjusted settings.

    Amendments already submitted keep the procedure they were submitted under.
    Raises ProcedureError (with its field) for an unknown key or a refused setting.
    """
    if not actor.is_admin:
        raise AmendmentError(gettext("Only an admin can choose a document's procedure."))
    procedure = catalog.customize(catalog.get_template(key), **settings)
    document.procedure_snapshot = procedure_snapshot_json(procedure)
    audit.record("document.procedure_set", actor, document, procedure=catalog.to_dict(procedure))
    db.session.flush()


# Drafts ----------------------------------------------------------------------------------


def start_draft(
    member: Member,
    document: Document,
    title: str,
    rationale: str,
    proposed_text: str,
    form_token: str | None = None,
) -> Amendment:
    """A private draft against the version in force; it may still equal that version.

    `form_token` comes from the draft form: the same form sent twice (a double click, even
    two requests at once) makes one draft, and the second request gets the first's.
    """
    _check_can_propose(member)
    base = document.version_in_force()
    if base is None:
        raise AmendmentError(gettext("This document has no version in force to amend yet."))
    amendment = Amendment(
        document=document,
        base_version=base,
        proposer=member,
        title=checked_title(title),
        rationale=checked_rationale(rationale),
        proposed_text=checked_text(proposed_text),
        state=State.DRAFT,
        form_token=checked_form_token(form_token),
    )
    done = made_by_form(Amendment, Amendment.proposer_id, member, amendment.form_token)
    if done is not None:
        fields = ("title", "rationale", "proposed_text")
        if all(getattr(done, name) == getattr(amendment, name) for name in fields):
            return done
        amendment.form_token = None  # the same form, changed and sent again: a new draft
    db.session.add(amendment)
    record_event(amendment, member, TimelineEntry.STARTED, None, State.DRAFT)
    return flush_once(amendment, Amendment.proposer_id, member)


def update_draft(
    amendment: Amendment, actor: Member, title: str, rationale: str, proposed_text: str
) -> None:
    check_proposer(amendment, actor, gettext("Only its proposer can edit a proposal."))
    if amendment.state != State.DRAFT:
        raise AmendmentError(gettext("Only a draft can be edited; this proposal was submitted."))
    amendment.title = checked_title(title)
    amendment.rationale = checked_rationale(rationale)
    amendment.proposed_text = checked_text(proposed_text)
    record_event(amendment, actor, TimelineEntry.UPDATED, State.DRAFT, State.DRAFT)
    db.session.flush()


# Moves of the procedure ------------------------------------------------------------------


def submit(amendment: Amendment, actor: Member, addressed_to: Member | None = None) -> None:
    """Send the draft to one receiver, or to all receivers when `addressed_to` is None."""
    to_state = _next(amendment, actor, Event.SUBMIT)
    _check_can_propose(actor)
    if not amendment.rationale.strip():
        raise AmendmentError(
            gettext("Explain in the rationale why the document should change."), "rationale"
        )
    if amendment.proposed_text == amendment.base_version.text:
        raise AmendmentError(
            gettext("The proposed text is the same as the version in force: it changes nothing."),
            "proposed_text",
        )
    check_base_in_force(amendment)
    if addressed_to is not None:
        if addressed_to.id == actor.id:
            raise AmendmentError(
                gettext("Address your proposal to another receiver, or to all receivers."),
                "addressed_to",
            )
        if not _is_acting_receiver(addressed_to):
            raise AmendmentError(
                gettext("%(name)s is not a receiver in good standing.", name=addressed_to.name),
                "addressed_to",
            )
    amendment.addressed_to = addressed_to
    amendment.procedure_snapshot = amendment.document.procedure_snapshot
    amendment.submitted_at = clock.now()
    _move(amendment, actor, Event.SUBMIT, to_state)
    subject = gettext("New proposal: %(title)s", title=amendment.title)
    for receiver in _notified_receivers(amendment):
        _mail(receiver, subject, "amendment_submitted", amendment)
    db.session.flush()


def withdraw(amendment: Amendment, actor: Member) -> None:
    """Possible for its proposer until the first vote starts."""
    from_state = amendment.state
    to_state = _next(amendment, actor, Event.WITHDRAW)
    _move(amendment, actor, Event.WITHDRAW, to_state)
    if from_state != State.DRAFT:
        subject = gettext("Proposal withdrawn: %(title)s", title=amendment.title)
        for receiver in _notified_receivers(amendment):
            _mail(receiver, subject, "amendment_withdrawn", amendment)
    db.session.flush()


def acknowledge(amendment: Amendment, actor: Member) -> None:
    to_state = _next(amendment, actor, Event.ACKNOWLEDGE)
    addressee = amendment.addressed_to
    if addressee is not None and addressee.id != actor.id and _is_acting_receiver(addressee):
        raise AmendmentError(
            gettext(
                "This proposal is addressed to %(name)s, who acknowledges it.",
                name=addressee.name,
            )
        )
    _move(amendment, actor, Event.ACKNOWLEDGE, to_state)
    subject = gettext("Proposal acknowledged: %(title)s", title=amendment.title)
    recipients = {amendment.proposer.id: amendment.proposer}
    recipients.update((receiver.id, receiver) for receiver in _receivers())
    for member in recipients.values():
        _mail(member, subject, "amendment_acknowledged", amendment, acknowledged_by=actor)
    db.session.flush()


def revise(amendment: Amendment, actor: Member) -> Amendment:
    """A new draft from a failed or withdrawn proposal, linked to it ("revises #12").

    The draft keeps the old proposal's base, so `rebasing.base_status` shows whether the
    document moved on since and `rebasing.rebase` carries the change over.
    """
    check_proposer(amendment, actor, gettext("Only its proposer can revise a proposal."))
    _check_can_propose(actor)
    if not can_be_revised(amendment.state):
        raise AmendmentError(
            gettext("Only a proposal that failed or was withdrawn can be revised and resubmitted.")
        )
    if amendment.revised_by is not None:
        raise AmendmentError(
            gettext(
                "This proposal was revised already, as #%(number)s; revise that one.",
                number=amendment.revised_by.id,
            )
        )
    draft = Amendment(
        document=amendment.document,
        base_version=amendment.base_version,
        proposer=actor,
        title=amendment.title,
        rationale=amendment.rationale,
        proposed_text=amendment.frozen_text or amendment.proposed_text,
        state=State.DRAFT,
        revises=amendment,
    )
    db.session.add(draft)
    db.session.flush()
    record_event(draft, actor, TimelineEntry.STARTED, None, State.DRAFT, f"Revises #{amendment.id}")
    state = amendment.state
    record_event(amendment, actor, TimelineEntry.REVISED, state, state, f"Revised by #{draft.id}")
    db.session.flush()
    return draft


def schedule_discussion(amendment: Amendment, actor: Member, meeting: Meeting) -> AgendaItem:
    """Give the amendment its discussion slot at a meeting to come, and tell every member
    in good standing by mail, with the meeting attached for their calendars."""
    to_state = _next(amendment, actor, Event.SCHEDULE_DISCUSSION)
    if meeting.starts_at <= clock.now():
        raise AmendmentError(
            gettext("This meeting has started already; choose one that is still to come."),
            "meeting",
        )
    _check_discussion_may_move(amendment)
    # The state moves first: of two submissions at once, the second stops here, before
    # it could add the same agenda item again. Moving a discussion keeps the state, so
    # the amendment must also be unchanged since it was read.
    _move(amendment, actor, Event.SCHEDULE_DISCUSSION, to_state, amendment.updated_at)
    title = gettext("Amendment #%(number)s: %(title)s", number=amendment.id, title=amendment.title)
    item = meetings.add_agenda_item(meeting, title, amendment)
    meetings.tell_members(
        meeting,
        gettext("Discussion scheduled: %(title)s", title=amendment.title),
        "discussion_scheduled",
        meeting_ics(meeting, current_app.config["PUBLIC_URL"]),
        "PUBLISH",
        amendment=amendment,
    )
    db.session.flush()
    return item


def discussion_meeting(amendment: Amendment) -> Meeting | None:
    """The meeting to come that holds the amendment's discussion, if any. A discussion
    moves to another meeting only when its meeting was cancelled or is over."""
    if not amendment.agenda_items:
        return None
    meeting = amendment.agenda_items[-1].meeting
    if meeting.cancelled_at is None and meeting.ends_at > clock.now():
        return meeting
    return None


def _check_discussion_may_move(amendment: Amendment) -> None:
    """A meeting still to come keeps the discussion (and a second click changes nothing)."""
    meeting = discussion_meeting(amendment)
    if meeting is not None:
        raise AmendmentError(
            gettext(
                "Its discussion is on the agenda of %(meeting)s already.", meeting=meeting.title
            ),
            "meeting",
        )


def open_meeting_vote(amendment: Amendment, actor: Member) -> None:
    """The meeting starts voting on the amendment: from now on its text is frozen."""
    to_state = _next(amendment, actor, Event.OPEN_MEETING_VOTE)
    _move(amendment, actor, Event.OPEN_MEETING_VOTE, to_state)
    amendment.freeze()
    db.session.flush()


def record_meeting_result(amendment: Amendment, actor: Member, passed: bool) -> None:
    """A failed vote ends the amendment as failed, open to revision; a passed one moves it
    to its next stage (under two-stage, ready for the electronic ballot)."""
    outcome = Outcome.of(passed)
    to_state = _next(amendment, actor, Event.RECORD_MEETING_RESULT, outcome)
    _move(amendment, actor, Event.RECORD_MEETING_RESULT, to_state)
    db.session.flush()


def open_ballot(amendment: Amendment, actor: Member) -> AmendmentEvent:
    """The electronic ballot opens: the text is frozen (if no meeting vote froze it).

    Gives the timeline entry, for the ballot to note its frozen roll on."""
    to_state = _next(amendment, actor, Event.OPEN_BALLOT)
    entry = _move(amendment, actor, Event.OPEN_BALLOT, to_state)
    amendment.freeze()
    db.session.flush()
    return entry


def record_note(
    amendment: Amendment, actor: Member | None, entry: TimelineEntry, note: str
) -> None:
    """A timeline entry that does not move the amendment (a ballot reminder, new links)."""
    record_event(amendment, actor, entry, amendment.state, amendment.state, note)


def record_ballot_result(amendment: Amendment, passed: bool, note: str) -> None:
    """The ballot closed by the clock (the system, not a member): passed is ratified and
    waits for its notice; failed ends, open to revision."""
    to_state = next_state(
        amendment.procedure, amendment.state, Event.CLOSE_BALLOT, outcome=Outcome.of(passed)
    )
    _move(amendment, None, Event.CLOSE_BALLOT, to_state, note=note)
    db.session.flush()


# Helpers ---------------------------------------------------------------------------------


# A receiver does not handle their own proposal: another receiver does.
NOT_ON_OWN_PROPOSAL = {
    Event.ACKNOWLEDGE: _l("Another receiver acknowledges your own proposal."),
    Event.SCHEDULE_DISCUSSION: _l("Another receiver schedules the discussion of your proposal."),
    Event.OPEN_BALLOT: _l("Another receiver opens the ballot on your proposal."),
}


def may_act(amendment: Amendment, actor: Member, event: Event) -> bool:
    """Whether the amendment's procedure lets `actor` fire `event`, whatever the state."""
    return is_named(amendment, actor, event) and not _is_own(amendment, actor, event)


def is_named(amendment: Amendment, actor: Member, event: Event) -> bool:
    actors = _actors(amendment, event)
    return (
        (Actor.PROPOSER in actors and actor.id == amendment.proposer_id)
        or (Actor.RECEIVER in actors and _is_acting_receiver(actor))
        or (Actor.CHAIR in actors and actor.has_role(Role.CHAIR) and actor.is_eligible)
    )


def _is_own(amendment: Amendment, actor: Member, event: Event) -> bool:
    return event in NOT_ON_OWN_PROPOSAL and actor.id == amendment.proposer_id


def _actors(amendment: Amendment, event: Event) -> frozenset[Actor]:
    return frozenset().union(*(stage.actors_for(event) for stage in amendment.procedure.stages))


def _next(
    amendment: Amendment, actor: Member, event: Event, outcome: Outcome | None = None
) -> State:
    """The state after `event` (and a vote's `outcome`), once the procedure's rule on who
    fires it is met."""
    to_state = next_state(amendment.procedure, amendment.state, event, outcome=outcome)
    if may_act(amendment, actor, event):
        return to_state
    if is_named(amendment, actor, event):
        raise AmendmentError(str(NOT_ON_OWN_PROPOSAL[event]))
    who = {
        Actor.PROPOSER: gettext("its proposer"),
        Actor.RECEIVER: gettext("a receiver in good standing"),
        Actor.CHAIR: gettext("a meeting chair"),
        Actor.SYSTEM: gettext("the system"),
    }
    raise AmendmentError(
        gettext(
            "Only %(who)s can do this.",
            who=gettext(" or ").join(str(who[a]) for a in sorted(_actors(amendment, event))),
        )
    )


def _move(
    amendment: Amendment,
    actor: Member | None,
    event: Event,
    to_state: State,
    unchanged_since: datetime | None = None,
    note: str = "",
) -> AmendmentEvent:
    """Change the state only if nobody changed it since it was read (a double click, two
    receivers at once, a stale page): the database decides, not an `if`. A move that keeps
    the state also needs `unchanged_since`, the `updated_at` read."""
    from_state = amendment.state
    now = clock.now()
    unchanged = [] if unchanged_since is None else [Amendment.updated_at == unchanged_since]
    moved = db.session.execute(
        update(Amendment)
        .where(Amendment.id == amendment.id, Amendment.state == from_state, *unchanged)
        .values(state=to_state, updated_at=now)
        .execution_options(synchronize_session=False)
    )
    if moved.rowcount != 1:
        raise AmendmentError(
            gettext(
                "Someone else acted on this amendment at the same moment, so nothing was "
                "changed. Reload the page to see where it stands."
            )
        )
    set_committed_value(amendment, "state", to_state)
    set_committed_value(amendment, "updated_at", now)
    return record_event(amendment, actor, event, from_state, to_state, note)


def _is_acting_receiver(member: Member) -> bool:
    return member.has_role(Role.RECEIVER) and member.is_eligible


def _receivers() -> list[Member]:
    members = db.session.scalars(select(Member).order_by(Member.id))
    return [member for member in members if _is_acting_receiver(member)]


def _notified_receivers(amendment: Amendment) -> list[Member]:
    """The addressed receiver, or all receivers; never the proposer, who knows."""
    if amendment.addressed_to is not None:
        return [amendment.addressed_to]
    return [r for r in _receivers() if r.id != amendment.proposer_id]


def _mail(member: Member, subject: str, template: str, amendment: Amendment, **context) -> None:
    queue_mail(member.email, subject, template, member=member, amendment=amendment, **context)


def _check_can_propose(member: Member) -> None:
    if not member.is_eligible:
        raise AmendmentError(gettext("Only a member in good standing can propose amendments."))
