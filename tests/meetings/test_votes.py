"""The in-meeting vote: thresholds through the service, hand counts, electronic votes and
their concurrency."""

import threading
from datetime import timedelta

import pytest
from flask_login.utils import _create_identifier
from sqlalchemy import func, select

from govern.amendments.errors import AmendmentError
from govern.amendments.models import Amendment
from govern.extensions import db
from govern.meetings import votes
from govern.meetings.models import Attendance, MeetingVote, MeetingVoter, VoteMode
from govern.members.models import Member
from govern.procedures.states import IllegalTransition, State
from tests.governance import PROPOSED, V1
from tests.meetings.conftest import EVENING, EVENING_END


def state_of(amendment: Amendment) -> str:
    db.session.expire_all()
    return db.session.get(Amendment, amendment.id).state


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def opened(item, chair, mode=VoteMode.HAND_COUNT) -> MeetingVote:
    vote = votes.open_vote(item, chair, mode)
    db.session.commit()
    return vote


# Thresholds, as the two-stage procedure's meeting vote decides them ---------------------


@pytest.mark.parametrize(
    ("present", "yes", "no", "abstain", "passed", "arithmetic"),
    [
        (25, 12, 13, 0, False, "12 yes of 25 eligible members present: 12 is not more than 12.5"),
        (25, 13, 12, 0, True, "13 yes of 25 eligible members present: 13 > 12.5, passes"),
        (24, 12, 12, 0, False, "12 yes of 24 eligible members present: 12 is not more than 12"),
        (24, 13, 11, 0, True, "13 yes of 24 eligible members present: 13 > 12, passes"),
        # Abstentions count against: more yes than no is not enough.
        (25, 12, 2, 11, False, "12 is not more than 12.5, fails"),
        # So do members present who do not vote at all.
        (25, 10, 5, 0, False, "10 is not more than 12.5, fails"),
        (0, 0, 0, 0, False, "No eligible members present: fails"),
    ],
)
def test_meeting_vote_needs_more_than_half_of_eligible_members_present(
    item, chair, check_in, present, yes, no, abstain, passed, arithmetic
):
    check_in(item, present)
    vote = opened(item, chair)
    votes.record_hand_count(vote, chair, yes, no, abstain)
    db.session.commit()
    db.session.expire_all()
    vote = db.session.get(MeetingVote, vote.id)
    assert (vote.passed, vote.eligible_present, vote.rule) == (
        passed,
        present,
        "majority_of_present",
    )
    assert arithmetic in vote.arithmetic
    assert vote.closed_at is not None and vote.closed_by_id == chair.id


def test_suspended_and_checked_out_members_are_not_counted_present(item, chair, check_in):
    check_in(item, 3)
    check_in(item, 2, standing="suspended")
    left = check_in(item, 1)[0]
    db.session.execute(
        Attendance.__table__.update()
        .where(Attendance.member_id == left.id)
        .values(checked_out_at=Attendance.checked_in_at)
    )
    db.session.commit()
    vote = opened(item, chair)
    votes.record_hand_count(vote, chair, 2, 1, 0)
    db.session.commit()
    assert (vote.eligible_present, vote.passed) == (3, True)


def test_hand_count_above_the_members_present_is_refused(item, chair, check_in):
    check_in(item, 10)
    vote = opened(item, chair)
    with pytest.raises(votes.MeetingVoteError, match="more than the 10 eligible members present"):
        votes.record_hand_count(vote, chair, 6, 4, 1)
    db.session.rollback()
    db.session.expire_all()
    vote = db.session.get(MeetingVote, vote.id)
    assert (vote.closed_at, vote.yes, vote.eligible_present) == (None, 0, None)
    assert state_of(item.amendment) == State.MEETING_VOTE_OPEN


def test_passed_vote_makes_the_amendment_ready_for_the_ballot(item, chair, check_in):
    check_in(item, 3)
    vote = opened(item, chair)
    votes.record_hand_count(vote, chair, 2, 0, 1)
    db.session.commit()
    assert state_of(item.amendment) == State.MEETING_VOTE_PASSED


def test_failed_vote_ends_the_amendment_as_failed_open_to_revision(item, chair, check_in):
    from govern.amendments import services as amendments

    check_in(item, 3)
    vote = opened(item, chair)
    votes.record_hand_count(vote, chair, 1, 2, 0)
    db.session.commit()
    assert state_of(item.amendment) == State.FAILED
    amendment = db.session.get(Amendment, item.amendment_id)
    draft = amendments.revise(amendment, amendment.proposer)
    assert draft.state == State.DRAFT and draft.revises_id == amendment.id


def test_opening_the_vote_freezes_the_text(item, chair):
    amendment = item.amendment
    assert not amendment.is_frozen
    opened(item, chair)
    db.session.expire_all()
    amendment = db.session.get(Amendment, amendment.id)
    assert (amendment.state, amendment.frozen_text, amendment.frozen_base_text) == (
        State.MEETING_VOTE_OPEN,
        PROPOSED,
        V1,
    )


def test_a_recorded_vote_is_recorded_once(item, chair, check_in):
    check_in(item, 3)
    vote = opened(item, chair)
    votes.record_hand_count(vote, chair, 2, 1, 0)
    db.session.commit()
    with pytest.raises(votes.MeetingVoteError, match="closed already"):
        votes.record_hand_count(vote, chair, 0, 3, 0)
    db.session.rollback()
    assert (db.session.get(MeetingVote, vote.id).yes, state_of(item.amendment)) == (
        2,
        State.MEETING_VOTE_PASSED,
    )


@pytest.mark.parametrize("who", ["proposer", "receiver", "member", "suspended_chair"])
def test_only_a_chair_in_good_standing_opens_and_records(
    item, chair, proposer, receiver, make_member, check_in, who
):
    actor = {
        "proposer": proposer,
        "receiver": receiver,
        "member": make_member(),
        "suspended_chair": make_member(roles=["chair"], standing="suspended"),
    }[who]
    assert not votes.may_run_vote(item, actor)
    with pytest.raises(AmendmentError, match="meeting chair"):
        votes.open_vote(item, actor, VoteMode.HAND_COUNT)
    db.session.rollback()
    assert (state_of(item.amendment), count(MeetingVote)) == (State.DISCUSSION_SCHEDULED, 0)
    check_in(item, 3)
    vote = opened(item, chair)
    with pytest.raises(votes.MeetingVoteError, match="Only a meeting chair"):
        votes.record_hand_count(vote, actor, 3, 0, 0)
    db.session.rollback()
    assert state_of(item.amendment) == State.MEETING_VOTE_OPEN


def test_a_second_vote_cannot_be_opened_while_one_is_open(item, chair):
    opened(item, chair)
    with pytest.raises(IllegalTransition):
        votes.open_vote(item, chair, VoteMode.ELECTRONIC)
    db.session.rollback()
    assert count(MeetingVote) == 1


def test_no_vote_before_the_amendment_is_scheduled_nor_at_a_cancelled_meeting(item, chair, clock):
    meeting = item.meeting
    meeting.cancelled_at = clock()
    db.session.commit()
    with pytest.raises(votes.MeetingVoteError, match="cancelled"):
        votes.open_vote(item, chair, VoteMode.HAND_COUNT)
    db.session.rollback()
    assert (state_of(item.amendment), count(MeetingVote)) == (State.DISCUSSION_SCHEDULED, 0)


def test_unknown_mode_is_refused(item, chair):
    with pytest.raises(votes.MeetingVoteError, match="hand count or an electronic"):
        votes.open_vote(item, chair, "acclamation")
    db.session.rollback()
    assert state_of(item.amendment) == State.DISCUSSION_SCHEDULED


# Electronic votes -------------------------------------------------------------------------


def test_electronic_vote_counts_checked_in_eligible_members_once(item, chair, check_in):
    voters = check_in(item, 4)
    vote = opened(item, chair, VoteMode.ELECTRONIC)
    for member, choice in zip(voters[:3], ["yes", "yes", "abstain"], strict=True):
        votes.cast_vote(vote, member, choice)
        db.session.commit()
    with pytest.raises(votes.MeetingVoteError, match="already voted"):
        votes.cast_vote(vote, voters[0], "no")
    db.session.rollback()
    votes.close_vote(vote, chair)
    db.session.commit()
    assert (vote.yes, vote.no, vote.abstain, vote.eligible_present) == (2, 0, 1, 4)
    assert vote.arithmetic.startswith("2 yes of 4 eligible members present: 2 is not more than 2")
    assert not vote.passed and state_of(item.amendment) == State.FAILED
    # Who voted is known, how is not.
    assert set(db.session.scalars(select(MeetingVoter.member_id))) == {v.id for v in voters[:3]}
    assert not hasattr(MeetingVoter, "choice")


def test_only_checked_in_eligible_members_vote(item, chair, check_in, make_member):
    suspended = check_in(item, 1, standing="suspended")[0]
    absent = make_member()
    left = check_in(item, 1)[0]
    attendance = db.session.scalar(select(Attendance).where(Attendance.member_id == left.id))
    attendance.checked_out_at = attendance.checked_in_at
    db.session.commit()
    vote = opened(item, chair, VoteMode.ELECTRONIC)
    for member, message in (
        (suspended, "good standing"),
        (absent, "checked in"),
        (left, "checked in"),
    ):
        with pytest.raises(votes.MeetingVoteError, match=message):
            votes.cast_vote(vote, member, "yes")
        db.session.rollback()
    assert (count(MeetingVoter), db.session.get(MeetingVote, vote.id).yes) == (0, 0)


def test_no_vote_after_close_and_no_electronic_vote_on_a_hand_count(item, chair, check_in):
    member = check_in(item, 2)[0]
    hand_count = opened(item, chair)
    with pytest.raises(votes.MeetingVoteError, match="hand count"):
        votes.cast_vote(hand_count, member, "yes")
    db.session.rollback()
    with pytest.raises(votes.MeetingVoteError, match="taken as"):
        votes.close_vote(hand_count, chair)
    db.session.rollback()
    assert count(MeetingVoter) == 0


def test_a_voter_who_left_before_the_close_still_counts_as_present(item, chair, check_in):
    first, second = check_in(item, 2)
    vote = opened(item, chair, VoteMode.ELECTRONIC)
    votes.cast_vote(vote, first, "yes")
    votes.cast_vote(vote, second, "yes")
    attendance = db.session.scalar(select(Attendance).where(Attendance.member_id == first.id))
    attendance.checked_out_at = attendance.checked_in_at
    db.session.commit()
    votes.close_vote(vote, chair)
    db.session.commit()
    assert (vote.eligible_present, vote.yes, vote.passed) == (2, 2, True)
    with pytest.raises(votes.MeetingVoteError, match="closed already"):
        votes.cast_vote(vote, second, "no")


# Concurrency --------------------------------------------------------------------------------


def signed_in_client(app, member: Member):
    """A test client signed in as `member` without the password round trip (~50 ms each)."""
    client = app.test_client()
    # Flask-Login's strong session protection ties the session to the client's address
    # and browser, so the identifier is made as the client's request would make it.
    with app.test_request_context(environ_base=client.environ_base):
        identifier = _create_identifier()
    with client.session_transaction() as session:
        session["_user_id"] = member.login_id
        session["_fresh"] = True
        session["_id"] = identifier
    return client


def post_at_once(clients_and_data: list[tuple], url: str) -> list:
    start = threading.Barrier(len(clients_and_data))
    responses = [None] * len(clients_and_data)

    def post(number: int, client, data) -> None:
        start.wait()
        responses[number] = client.post(url, data=data)

    threads = [
        threading.Thread(target=post, args=(number, client, data))
        for number, (client, data) in enumerate(clients_and_data)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    return responses


def test_two_hundred_members_voting_at_once_are_each_counted_once(app, item, chair, check_in):
    members = check_in(item, 200)
    vote = opened(item, chair, VoteMode.ELECTRONIC)
    choices = ["yes", "no", "abstain", "yes"]
    posts = [
        (signed_in_client(app, member), {"choice": choices[number % 4]})
        for number, member in enumerate(members)
    ]
    responses = post_at_once(posts, f"/meeting-votes/{vote.id}/ballot")
    assert [r.status_code for r in responses] == [302] * 200
    assert {r.location for r in responses} == {f"/meeting-votes/{vote.id}/ballot"}
    db.session.expire_all()
    vote = db.session.get(MeetingVote, vote.id)
    assert (vote.yes, vote.no, vote.abstain) == (100, 50, 50)
    assert vote.yes + vote.no + vote.abstain == count(MeetingVoter) == 200


def test_the_same_member_voting_from_two_devices_at_once_counts_once(app, item, chair, check_in):
    member = check_in(item, 1)[0]
    vote = opened(item, chair, VoteMode.ELECTRONIC)
    # Six devices, each with its own session, sending yes or no at the same moment.
    posts = [(signed_in_client(app, member), {"choice": c}) for c in ("yes", "no") * 3]
    responses = post_at_once(posts, f"/meeting-votes/{vote.id}/ballot")
    assert sorted(r.status_code for r in responses) == [302] + [400] * 5
    db.session.expire_all()
    vote = db.session.get(MeetingVote, vote.id)
    assert vote.yes + vote.no + vote.abstain == count(MeetingVoter) == 1


# When a meeting votes, and what nobody sees meanwhile ------------------------------------


@pytest.mark.parametrize(
    ("moment", "message"),
    [
        (EVENING - timedelta(minutes=16), "The meeting votes once it has begun."),
        (EVENING_END + timedelta(hours=6, minutes=1), "This meeting is over"),
    ],
)
def test_a_meeting_votes_only_while_it_meets(item, chair, clock, moment, message):
    clock.current = moment
    with pytest.raises(votes.MeetingVoteError, match=message):
        votes.open_vote(item, chair, VoteMode.HAND_COUNT)
    db.session.rollback()
    assert state_of(item.amendment) == State.DISCUSSION_SCHEDULED
    assert count(MeetingVote) == 0
    clock.current = EVENING - timedelta(minutes=10)  # the chair sets up a little early
    assert opened(item, chair).closed_at is None


def test_no_page_shows_the_counts_of_an_open_electronic_vote(
    client, item, chair, check_in, sign_in
):
    vote = opened(item, chair, VoteMode.ELECTRONIC)
    voter, _other = check_in(item, 2)
    votes.cast_vote(vote, voter, "no")
    db.session.commit()
    sign_in(chair)
    meeting_id = item.meeting_id
    for url in (f"/meetings/{meeting_id}", f"/meetings/{meeting_id}/minutes"):
        page = client.get(url).get_data(as_text=True)
        assert "1 no" not in page and "0 yes" not in page, url
    client.post(f"/meetings/{meeting_id}/minutes", data={"body": "Met.", "save": "Save"})
    response = client.post(f"/meetings/{meeting_id}/minutes/approve")
    assert response.status_code == 400
    assert "A vote of this meeting is still open" in response.get_data(as_text=True)
