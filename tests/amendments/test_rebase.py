"""A proposal whose document moved on: carried over by three-way merge, never guessed."""

import pytest

from govern.amendments import rebasing, services
from govern.amendments.errors import AmendmentError
from govern.amendments.models import AmendmentEvent
from govern.documents import services as documents
from govern.extensions import db
from govern.procedures.states import State
from tests.governance import PROPOSED, V1

V2_ELSEWHERE = V1.replace("to the IGO", "to the IGOs")
V2_SAME_PLACE = V1.replace("Be kind.", "Be kind to everyone.")


@pytest.fixture
def draft(document, proposer, make_member):
    make_member(roles=["receiver"])
    amendment = services.start_draft(proposer, document, "Patience", "Why", PROPOSED)
    db.session.commit()
    return amendment


def new_version(document, clock, text):
    clock.advance(days=1)
    version = documents.add_version(document, text)
    db.session.commit()
    return version


def test_a_proposal_on_the_version_in_force_is_not_stale(draft):
    status = rebasing.base_status(draft)
    assert not status.is_stale and status.merge is None
    with pytest.raises(AmendmentError, match="already based"):
        rebasing.rebase(draft, draft.proposer)


def test_a_change_elsewhere_merges_cleanly_and_the_proposer_confirms(draft, document, clock):
    v2 = new_version(document, clock, V2_ELSEWHERE)
    status = rebasing.base_status(draft)
    assert status.is_stale and not status.has_conflicts
    assert (status.base.number, status.in_force.number) == (1, 2)
    expected = V2_ELSEWHERE.replace("Be kind.", "Be kind and patient.")
    assert status.merge.text == expected
    with pytest.raises(AmendmentError, match="based on version 1; version 2 is in force"):
        services.submit(draft, draft.proposer)
    db.session.rollback()
    rebasing.rebase(draft, draft.proposer)
    db.session.commit()
    assert draft.base_version == v2 and draft.proposed_text == expected
    assert draft.events[-1].event == "rebased"
    assert draft.events[-1].note == "From version 1 to version 2"
    services.submit(draft, draft.proposer)
    assert draft.state == State.SUBMITTED


def test_a_change_to_the_same_passage_conflicts_and_blocks_the_proposal(draft, document, clock):
    v2 = new_version(document, clock, V2_SAME_PLACE)
    status = rebasing.base_status(draft)
    assert status.has_conflicts and status.merge.text is None
    conflict = status.merge.conflicts[0]
    assert (conflict.ours, conflict.theirs) == ("Be kind and patient.", "Be kind to everyone.")
    for action in (rebasing.rebase, services.submit):
        with pytest.raises(AmendmentError, match="conflict"):
            action(draft, draft.proposer)
        assert not db.session.dirty and not db.session.new
        db.session.rollback()
    assert draft.base_version.number == 1 and draft.proposed_text == PROPOSED
    resolved = V1.replace("Be kind.", "Be kind to everyone, and patient.")
    rebasing.rebase(draft, draft.proposer, resolved_text=resolved)
    db.session.commit()
    assert draft.base_version == v2 and draft.proposed_text == resolved


def test_a_submitted_proposal_can_be_rebased_until_voting_starts(draft, document, clock):
    services.submit(draft, draft.proposer)
    db.session.commit()
    new_version(document, clock, V2_ELSEWHERE)
    draft.state = State.MEETING_VOTE_OPEN
    draft.freeze()
    db.session.commit()
    with pytest.raises(AmendmentError, match="cannot change"):
        rebasing.rebase(draft, draft.proposer)
    db.session.rollback()
    assert draft.frozen_text == PROPOSED and draft.frozen_base_text == V1
    assert draft.base_version.number == 1


def test_only_the_proposer_rebases(draft, document, clock, make_member):
    new_version(document, clock, V2_ELSEWHERE)
    with pytest.raises(AmendmentError, match="proposer"):
        rebasing.rebase(draft, make_member(roles=["receiver", "admin"]))
    db.session.rollback()
    assert db.session.query(AmendmentEvent).count() == 1


def test_a_revision_of_an_old_proposal_starts_stale_and_is_rebased(draft, document, clock):
    services.withdraw(draft, draft.proposer)
    new_version(document, clock, V2_ELSEWHERE)
    revision = services.revise(draft, draft.proposer)
    db.session.commit()
    assert rebasing.base_status(revision).is_stale
    rebasing.rebase(revision, revision.proposer)
    assert revision.base_version.number == 2


def test_a_clean_rebase_takes_the_merged_text_and_no_other(draft, document, clock):
    services.submit(draft, draft.proposer)
    db.session.commit()
    new_version(document, clock, V2_ELSEWHERE)
    rewritten = V2_ELSEWHERE.replace("No harassment.", "Anything goes.")
    with pytest.raises(AmendmentError, match="merges cleanly onto version 2"):
        rebasing.rebase(draft, draft.proposer, resolved_text=rewritten)
    db.session.rollback()
    assert draft.base_version.number == 1 and draft.proposed_text == PROPOSED


@pytest.mark.parametrize("state", [State.FAILED, State.WITHDRAWN])
def test_a_closed_proposal_is_not_rebased_and_is_told_so(draft, document, clock, state):
    services.submit(draft, draft.proposer)
    draft.state = state
    if state == State.FAILED:
        draft.freeze()
    db.session.commit()
    new_version(document, clock, V2_ELSEWHERE)
    with pytest.raises(AmendmentError, match="This proposal is closed; revise and resubmit"):
        rebasing.rebase(draft, draft.proposer)
