"""The chair's vote page, the member's ballot and the result page."""

# The vote fixtures come from test_votes; as parameters they shadow the import.

import pytest
from sqlalchemy import func, select

from govern.amendments.models import Amendment
from govern.extensions import db
from govern.meetings import votes
from govern.meetings.models import MeetingVote, MeetingVoter, VoteMode
from govern.procedures.states import State


def snapshot(amendment_id: int) -> tuple:
    db.session.expire_all()
    state = db.session.get(Amendment, amendment_id).state
    vote = db.session.scalar(select(MeetingVote))
    counts = None if vote is None else (vote.yes, vote.no, vote.abstain, vote.closed_at)
    return state, counts, db.session.scalar(select(func.count()).select_from(MeetingVoter))


def open_by_hand(item, chair) -> MeetingVote:
    vote = votes.open_vote(item, chair, VoteMode.HAND_COUNT)
    db.session.commit()
    return vote


def open_electronic(item, chair) -> MeetingVote:
    vote = votes.open_vote(item, chair, VoteMode.ELECTRONIC)
    db.session.commit()
    return vote


def test_anonymous_visitors_are_sent_to_sign_in(client, item, chair):
    vote = open_electronic(item, chair)
    for url in (
        f"/meetings/items/{item.id}/vote",
        f"/meeting-votes/{vote.id}",
        f"/meeting-votes/{vote.id}/ballot",
    ):
        response = client.get(url)
        assert response.status_code == 302 and "/auth/sign-in" in response.location
    response = client.post(f"/meeting-votes/{vote.id}/ballot", data={"choice": "yes"})
    assert "/auth/sign-in" in response.location


def test_unknown_items_and_votes_are_404(client, sign_in, chair, item):
    sign_in(chair)
    for url in ("/meetings/items/999/vote", "/meeting-votes/999", "/meeting-votes/999/ballot"):
        assert client.get(url).status_code == 404, url
    assert (
        client.post("/meetings/items/999/vote/open", data={"mode": "hand_count"}).status_code == 404
    )


def test_chair_opens_a_hand_count_and_records_it(client, sign_in, chair, item, check_in):
    check_in(item, 25)
    sign_in(chair)
    page = client.get(f"/meetings/items/{item.id}/vote").get_data(as_text=True)
    assert "Open the vote" in page and "Voting-eligible members present now: 25" in page
    response = client.post(f"/meetings/items/{item.id}/vote/open", data={"mode": "hand_count"})
    assert response.status_code == 302
    page = client.get(response.location).get_data(as_text=True)
    assert "Record the hand count" in page
    vote = db.session.scalar(select(MeetingVote))
    over = {"yes": "20", "no": "5", "abstain": "1"}
    response = client.post(f"/meeting-votes/{vote.id}/hand-count", data=over)
    assert response.status_code == 400
    assert "more than the 25 eligible members present" in response.get_data(as_text=True)
    assert snapshot(item.amendment_id) == (State.MEETING_VOTE_OPEN, (0, 0, 0, None), 0)
    counts = {"yes": "14", "no": "10", "abstain": "1"}
    response = client.post(f"/meeting-votes/{vote.id}/hand-count", data=counts)
    assert response.status_code == 302 and response.location == f"/meeting-votes/{vote.id}"
    page = client.get(response.location).get_data(as_text=True)
    assert "14 yes of 25 eligible members present: 14 &gt; 12.5, passes" in page
    assert "more than half of the voting-eligible members present" in page
    assert snapshot(item.amendment_id)[0] == State.MEETING_VOTE_PASSED
    # A double click records once.
    again = client.post(f"/meeting-votes/{vote.id}/hand-count", data=counts)
    assert again.status_code == 400


def test_members_cannot_run_the_vote(client, sign_in, make_member, item, chair):
    sign_in(make_member())
    assert client.get(f"/meetings/items/{item.id}/vote").status_code == 403
    response = client.post(f"/meetings/items/{item.id}/vote/open", data={"mode": "electronic"})
    assert response.status_code == 403
    assert snapshot(item.amendment_id) == (State.DISCUSSION_SCHEDULED, None, 0)
    vote = open_electronic(item, chair)
    assert client.get(f"/meeting-votes/{vote.id}/close").status_code == 403
    assert client.post(f"/meeting-votes/{vote.id}/close").status_code == 403
    hand = {"yes": "0", "no": "0", "abstain": "0"}
    assert client.post(f"/meeting-votes/{vote.id}/hand-count", data=hand).status_code == 403
    assert snapshot(item.amendment_id) == (State.MEETING_VOTE_OPEN, (0, 0, 0, None), 0)


def test_opening_twice_is_refused_with_a_message(client, sign_in, chair, item):
    sign_in(chair)
    client.post(f"/meetings/items/{item.id}/vote/open", data={"mode": "hand_count"})
    response = client.post(f"/meetings/items/{item.id}/vote/open", data={"mode": "electronic"})
    assert response.status_code == 400
    assert db.session.scalar(select(func.count()).select_from(MeetingVote)) == 1


def test_member_votes_electronically_once(client, sign_in, chair, item, check_in):
    member = check_in(item, 3)[0]
    vote = open_electronic(item, chair)
    sign_in(member)
    page = client.get(f"/meetings/{item.meeting_id}").get_data(as_text=True)
    assert f"/meeting-votes/{vote.id}/ballot" in page and "Vote now" in page
    page = client.get(f"/meeting-votes/{vote.id}/ballot").get_data(as_text=True)
    assert "Cast my vote" in page and 'value="abstain"' in page
    response = client.post(f"/meeting-votes/{vote.id}/ballot", data={"choice": "no"})
    assert response.status_code == 302
    page = client.get(response.location).get_data(as_text=True)
    assert "Your vote was recorded." in page and "You have voted" in page
    again = client.post(f"/meeting-votes/{vote.id}/ballot", data={"choice": "yes"})
    assert again.status_code == 400 and "You have voted" in again.get_data(as_text=True)
    assert snapshot(item.amendment_id)[1:] == ((0, 1, 0, None), 1)


@pytest.mark.parametrize("standing", ["active", "suspended"])
def test_members_not_checked_in_or_suspended_cannot_vote(
    client,
    sign_in,
    make_member,
    chair,
    item,
    check_in,
    standing,
):
    member = make_member() if standing == "active" else check_in(item, 1, "suspended")[0]
    vote = open_electronic(item, chair)
    sign_in(member)
    response = client.post(f"/meeting-votes/{vote.id}/ballot", data={"choice": "yes"})
    assert response.status_code == 403
    message = "checked in" if standing == "active" else "good standing"
    assert message in response.get_data(as_text=True)
    assert snapshot(item.amendment_id)[1:] == ((0, 0, 0, None), 0)


def test_chair_sees_how_many_voted_and_closes_after_confirming(
    client,
    sign_in,
    chair,
    item,
    check_in,
):
    members = check_in(item, 4)
    vote = open_electronic(item, chair)
    for member in members[:3]:
        votes.cast_vote(vote, member, "yes")
    db.session.commit()
    sign_in(chair)
    page = client.get(f"/meetings/items/{item.id}/vote").get_data(as_text=True)
    assert "3 members have voted." in page
    assert "Close the vote" in page
    confirm = client.get(f"/meeting-votes/{vote.id}/close").get_data(as_text=True)
    assert "This cannot be undone" in confirm
    assert snapshot(item.amendment_id)[1][3] is None
    response = client.post(f"/meeting-votes/{vote.id}/close")
    assert response.status_code == 302
    page = client.get(response.location).get_data(as_text=True)
    assert "3 yes of 4 eligible members present: 3 &gt; 2, passes" in page
    assert snapshot(item.amendment_id)[0] == State.MEETING_VOTE_PASSED
    meeting_page = client.get(f"/meetings/{item.meeting_id}").get_data(as_text=True)
    assert "Vote passed." in meeting_page


def test_meeting_page_offers_the_chair_to_open_the_vote(client, sign_in, chair, item):
    sign_in(chair)
    page = client.get(f"/meetings/{item.meeting_id}").get_data(as_text=True)
    assert f"/meetings/items/{item.id}/vote" in page and "Open the vote on this item" in page
