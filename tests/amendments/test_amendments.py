"""Proposals from draft to acknowledgement: who may act, when, what is recorded and mailed."""

import pytest
from sqlalchemy import func, select

from govern.amendments import services
from govern.amendments.errors import AmendmentError
from govern.amendments.models import Amendment, AmendmentEvent
from govern.extensions import db
from govern.mail.models import OutboxMessage
from govern.procedures.states import IllegalTransition, State
from tests.governance import PROPOSED, V1


@pytest.fixture
def submitted(draft, proposer, receivers):
    services.submit(draft, proposer)
    db.session.commit()
    return draft


def outbox() -> list[tuple[str, str]]:
    rows = db.session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))
    return [(row.recipient, row.subject) for row in rows]


def timeline(amendment: Amendment) -> list[tuple[str, str | None, str, int | None]]:
    rows = db.session.scalars(
        select(AmendmentEvent)
        .filter_by(amendment_id=amendment.id)
        .order_by(AmendmentEvent.at, AmendmentEvent.id)
    )
    return [(row.event, row.from_state, row.to_state, row.actor_id) for row in rows]


def refused(error: type[Exception], action, *args, match: str | None = None):
    """`action` raises `error` and leaves the database as it was."""
    before = (
        db.session.scalar(select(func.count()).select_from(AmendmentEvent)),
        db.session.scalar(select(func.count()).select_from(OutboxMessage)),
        db.session.scalar(select(func.count()).select_from(Amendment)),
    )
    with pytest.raises(error, match=match):
        action(*args)
    assert not db.session.new and not db.session.dirty
    db.session.rollback()
    after = (
        db.session.scalar(select(func.count()).select_from(AmendmentEvent)),
        db.session.scalar(select(func.count()).select_from(OutboxMessage)),
        db.session.scalar(select(func.count()).select_from(Amendment)),
    )
    assert after == before


def test_draft_submit_acknowledge_withdraw(draft, proposer, receivers):
    rita, ravi = receivers
    assert draft.state == State.DRAFT and draft.procedure_snapshot is None
    assert draft.base_version.number == 1
    services.submit(draft, proposer)
    db.session.commit()
    assert draft.state == State.SUBMITTED and draft.submitted_at is not None
    services.acknowledge(draft, rita)
    db.session.commit()
    assert draft.state == State.ACKNOWLEDGED
    services.withdraw(draft, proposer)
    db.session.commit()
    assert draft.state == State.WITHDRAWN
    assert timeline(draft) == [
        ("started", None, "draft", proposer.id),
        ("submit", "draft", "submitted", proposer.id),
        ("acknowledge", "submitted", "acknowledged", rita.id),
        ("withdraw", "acknowledged", "withdrawn", proposer.id),
    ]


def test_a_draft_can_be_edited_by_its_proposer_and_withdrawn_without_mail(draft, proposer):
    services.update_draft(draft, proposer, "  Patience  ", "Why.", V1.replace("IGO", "IGOs"))
    services.withdraw(draft, proposer)
    db.session.commit()
    assert draft.title == "Patience" and "IGOs" in draft.proposed_text
    assert [event for event, *_ in timeline(draft)] == ["started", "updated", "withdraw"]
    assert outbox() == []


def test_submission_mails_all_receivers_but_not_the_proposer(draft, make_member, receivers):
    proposer = draft.proposer
    proposer.role_rows = []
    make_member(email="gone@example.org", roles=["receiver"], standing="suspended")
    services.submit(draft, proposer)
    db.session.commit()
    assert outbox() == [
        ("rita@example.org", "New proposal: Patience"),
        ("ravi@example.org", "New proposal: Patience"),
    ]
    body = db.session.scalar(select(OutboxMessage.body_text).limit(1))
    assert "Pat Proposer" in body and f"/amendments/{draft.id}" in body


def test_submission_addressed_to_one_receiver_mails_only_them(draft, proposer, receivers):
    services.submit(draft, proposer, addressed_to=receivers[1])
    db.session.commit()
    assert outbox() == [("ravi@example.org", "New proposal: Patience")]
    assert draft.addressed_to_id == receivers[1].id


def test_acknowledgement_mails_the_proposer_and_the_receivers(submitted, receivers):
    before = len(outbox())
    services.acknowledge(submitted, receivers[0])
    db.session.commit()
    assert sorted(outbox()[before:]) == [
        ("pat@example.org", "Proposal acknowledged: Patience"),
        ("ravi@example.org", "Proposal acknowledged: Patience"),
        ("rita@example.org", "Proposal acknowledged: Patience"),
    ]


def test_withdrawal_after_submission_tells_the_receivers(submitted, proposer):
    before = len(outbox())
    services.withdraw(submitted, proposer)
    db.session.commit()
    assert sorted(outbox()[before:]) == [
        ("ravi@example.org", "Proposal withdrawn: Patience"),
        ("rita@example.org", "Proposal withdrawn: Patience"),
    ]


@pytest.mark.parametrize("standing", ["suspended", "lapsed"])
def test_a_member_not_in_good_standing_cannot_propose(document, make_member, standing):
    member = make_member(standing=standing)
    refused(
        AmendmentError,
        services.start_draft,
        member,
        document,
        "Title",
        "Why",
        PROPOSED,
        match="good standing",
    )


def test_a_member_suspended_after_drafting_cannot_submit(draft, proposer, receivers):
    proposer.standing = "suspended"
    db.session.commit()
    refused(AmendmentError, services.submit, draft, proposer, match="good standing")


def test_only_the_proposer_can_edit_submit_or_withdraw(draft, make_member, receivers):
    other = make_member()
    for who in (other, receivers[0]):
        refused(AmendmentError, services.update_draft, draft, who, "T", "R", PROPOSED)
        refused(AmendmentError, services.submit, draft, who, match="its proposer")
        refused(AmendmentError, services.withdraw, draft, who, match="its proposer")
    assert draft.state == State.DRAFT


def test_only_a_receiver_in_good_standing_can_acknowledge(submitted, make_member, proposer):
    for who in (
        make_member(),
        make_member(roles=["chair", "admin"]),
        make_member(roles=["receiver"], standing="suspended"),
    ):
        refused(AmendmentError, services.acknowledge, submitted, who, match="receiver")
    assert submitted.state == State.SUBMITTED


def test_a_receiver_cannot_acknowledge_their_own_proposal(document, receivers):
    rita, ravi = receivers
    amendment = services.start_draft(rita, document, "T", "R", PROPOSED)
    services.submit(amendment, rita)
    db.session.commit()
    assert outbox() == [("ravi@example.org", "New proposal: T")]
    refused(AmendmentError, services.acknowledge, amendment, rita, match="Another receiver")
    services.acknowledge(amendment, ravi)
    assert amendment.state == State.ACKNOWLEDGED


def test_a_proposal_addressed_to_a_receiver_is_theirs_to_acknowledge(draft, proposer, receivers):
    rita, ravi = receivers
    services.submit(draft, proposer, addressed_to=rita)
    db.session.commit()
    refused(AmendmentError, services.acknowledge, draft, ravi, match="addressed to Rita")
    services.acknowledge(draft, rita)
    assert draft.state == State.ACKNOWLEDGED


def test_a_proposal_cannot_be_addressed_to_a_non_receiver(draft, proposer, make_member):
    refused(
        AmendmentError,
        services.submit,
        draft,
        proposer,
        make_member(name="Nora"),
        match="Nora is not a receiver",
    )


def test_an_unchanged_proposal_can_be_drafted_but_not_submitted(document, proposer, receivers):
    amendment = services.start_draft(proposer, document, "Nothing yet", "Why", V1 + "\n\n")
    db.session.commit()
    refused(AmendmentError, services.submit, amendment, proposer, match="changes nothing")
    assert amendment.state == State.DRAFT


def test_a_proposal_needs_a_rationale_to_be_submitted(document, proposer, receivers):
    amendment = services.start_draft(proposer, document, "T", "   ", PROPOSED)
    db.session.commit()
    refused(AmendmentError, services.submit, amendment, proposer, match="rationale")


@pytest.mark.parametrize(
    ("title", "rationale", "text", "field"),
    [
        ("   ", "R", PROPOSED, "title"),
        ("x" * 201, "R", PROPOSED, "title"),
        ("T", "x" * 50_001, PROPOSED, "rationale"),
        ("T", "a\x00b", PROPOSED, "rationale"),
        ("T", "R", "\n \n", "proposed_text"),
        ("T", "R", "x" * 1_000_001, "proposed_text"),
        ("T", "R", "bad \ud800 surrogate", "proposed_text"),
    ],
)
def test_bad_input_is_refused_with_its_field(document, proposer, title, rationale, text, field):
    with pytest.raises(AmendmentError) as error:
        services.start_draft(proposer, document, title, rationale, text)
    assert error.value.field == field
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Amendment)) == 0


def test_script_in_a_proposal_is_kept_as_text(document, proposer):
    amendment = services.start_draft(proposer, document, "<script>x</script>", "R", PROPOSED)
    db.session.commit()
    assert amendment.title == "<script>x</script>"


def test_submitting_twice_is_refused(submitted, proposer):
    refused(IllegalTransition, services.submit, submitted, proposer, match="submitted")


def test_a_withdrawn_proposal_cannot_be_acted_on(submitted, proposer, receivers):
    services.withdraw(submitted, proposer)
    db.session.commit()
    refused(IllegalTransition, services.acknowledge, submitted, receivers[0])
    refused(IllegalTransition, services.withdraw, submitted, proposer)
    refused(AmendmentError, services.update_draft, submitted, proposer, "T", "R", PROPOSED)


def test_withdrawing_is_refused_once_voting_started(submitted, proposer):
    submitted.state = State.MEETING_VOTE_OPEN
    submitted.freeze()
    db.session.commit()
    refused(IllegalTransition, services.withdraw, submitted, proposer, match="meeting vote open")


def test_a_submitted_proposal_keeps_its_procedure(document, draft, submitted, proposer, admin):
    services.set_procedure(document, "membership-vote", admin, ballot_days=14)
    db.session.commit()
    assert submitted.procedure.key == "two-stage"
    assert document.procedure.key == "membership-vote"
    assert document.procedure.stages[1].duration.days == 14
    later = services.start_draft(proposer, document, "Later", "R", PROPOSED)
    services.submit(later, proposer)
    db.session.commit()
    assert later.procedure == document.procedure


def test_a_document_follows_the_two_stage_procedure_by_default(document):
    assert document.procedure.key == "two-stage"


def test_only_an_admin_chooses_a_procedure_and_bad_settings_are_refused(document, proposer, admin):
    with pytest.raises(AmendmentError, match="admin"):
        services.set_procedure(document, "convention", proposer)
    from govern.procedures.stages import ProcedureError

    with pytest.raises(ProcedureError, match="no electronic ballot"):
        services.set_procedure(document, "convention", admin, ballot_days=3)
    with pytest.raises(ProcedureError, match="no procedure"):
        services.set_procedure(document, "dictatorship", admin)
    db.session.rollback()
    assert document.procedure.key == "two-stage"


def test_revising_links_both_ways(submitted, proposer, make_member):
    refused(AmendmentError, services.revise, submitted, proposer, match="failed or was withdrawn")
    services.withdraw(submitted, proposer)
    refused(AmendmentError, services.revise, submitted, make_member(), match="proposer")
    revision = services.revise(submitted, proposer)
    db.session.commit()
    assert revision.state == State.DRAFT and revision.revises is submitted
    assert submitted.revised_by is revision
    assert revision.proposed_text == submitted.proposed_text
    assert timeline(revision) == [("started", None, "draft", proposer.id)]
    assert timeline(submitted)[-1] == ("revised", "withdrawn", "withdrawn", proposer.id)
    assert db.session.scalars(select(AmendmentEvent.note)).all()[-2:] == [
        f"Revises #{submitted.id}",
        f"Revised by #{revision.id}",
    ]
    refused(AmendmentError, services.revise, submitted, proposer, match=f"#{revision.id}")


def test_revising_a_failed_proposal_starts_from_the_text_voted_on(submitted, proposer):
    submitted.freeze()
    submitted.state = State.FAILED
    db.session.commit()
    revision = services.revise(submitted, proposer)
    assert revision.proposed_text == submitted.frozen_text == PROPOSED
    assert revision.base_version == submitted.base_version


def test_a_receiver_acting_on_a_stale_page_changes_nothing(submitted, receivers):
    rita, ravi = receivers
    assert submitted.state == State.SUBMITTED  # what Ravi's page shows
    # Meanwhile Rita acknowledges it from her own session.
    with db.engine.begin() as connection:
        connection.execute(
            Amendment.__table__.update()
            .where(Amendment.__table__.c.id == submitted.id)
            .values(state=State.ACKNOWLEDGED)
        )
    refused(AmendmentError, services.acknowledge, submitted, ravi, match="at the same moment")
