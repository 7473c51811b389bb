"""Voting through the pages: by the mailed link without signing in, or signed in; the
confirmation, the receipt, and what happens once voted, after closing, or after suspension."""

import html
import re

import pytest
from sqlalchemy import func, select

from govern.amendments import services as amendments
from govern.ballots import services as ballots
from govern.ballots.models import Ballot, BallotCount, MailStatus, Receipt, RollEntry
from govern.extensions import db
from govern.mail.models import OutboxMessage
from govern.members.models import Standing
from tests.ballots.conftest import entry_of, give_token


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def tally(ballot: Ballot) -> tuple:
    """Everything a vote changes: counts, receipts, who voted."""
    db.session.expire_all()
    counts = dict(
        db.session.execute(
            select(BallotCount.choice, BallotCount.count).filter_by(ballot_id=ballot.id)
        ).all()
    )
    receipts = db.session.scalar(select(func.count()).select_from(Receipt))
    voted = db.session.scalar(
        select(func.count()).select_from(RollEntry).filter_by(ballot_id=ballot.id, voted=True)
    )
    return counts, receipts, voted


NOTHING = ({"yes": 0, "no": 0, "abstain": 0}, 0, 0)


def receipt_of(response) -> str:
    match = re.search(r'<output id="receipt">([A-Z0-9-]+)</output>', text(response))
    assert match, text(response)
    return match.group(1)


def test_the_mailed_link_page_carries_no_token_and_loads_the_script(client, ballot):
    response = client.get("/ballots/vote")
    assert response.status_code == 200
    page = text(response)
    assert '<script src="/static/ballot-link.js" defer></script>' in page
    assert 'id="voting-code-form"' in page and 'action="/ballots/vote"' in page
    assert re.search(r'<label for="token">Voting code</label>', page)
    assert 'value=""' in page or 'name="token" type="text"' in page
    script = client.get("/static/ballot-link.js")
    assert "history.replaceState" in text(script) and "location.hash" in text(script)


def test_a_member_votes_by_link_and_finds_the_receipt_on_the_result_after_closing(
    client, ballot, voters, clock
):
    token = give_token(entry_of(ballot, voters[0]))
    opened = client.post("/ballots/vote", data={"token": token})
    assert opened.status_code == 200
    page = text(opened)
    assert "Voting as Voter 0." in page
    assert f'action="/ballots/{ballot.id}/confirm"' in page
    assert f'name="token" type="hidden" value="{token}"' in page
    assert "Turnout so far" not in page
    confirm = client.post(f"/ballots/{ballot.id}/confirm", data={"token": token, "choice": "yes"})
    assert confirm.status_code == 200
    page = text(confirm)
    assert "You are about to vote: Yes." in page and "A vote cannot be changed." in page
    assert "Cast my vote" in page and "Change my choice" in page
    assert tally(ballot) == NOTHING
    cast = client.post(f"/ballots/{ballot.id}/cast", data={"token": token, "choice": "yes"})
    assert cast.status_code == 200 and "Your vote was recorded" in text(cast)
    receipt = receipt_of(cast)
    assert "We have mailed you this code too." in text(cast)
    assert token not in text(cast)
    assert tally(ballot) == ({"yes": 1, "no": 0, "abstain": 0}, 1, 1)
    mail = db.session.scalar(select(OutboxMessage).filter_by(recipient="voter0@example.org"))
    assert receipt in mail.body_text
    clock.advance(days=7)
    result = text(client.get(f"/ballots/{ballot.id}"))
    assert f"<code>{receipt}</code>" in result and "1 of 8 members voted" in result


def test_change_my_choice_goes_back_to_the_ballot_with_the_choice_ticked(client, ballot, voters):
    token = give_token(entry_of(ballot, voters[0]))
    confirm = text(
        client.post(f"/ballots/{ballot.id}/confirm", data={"token": token, "choice": "no"})
    )
    assert 'action="/ballots/vote"' in confirm
    back = client.post("/ballots/vote", data={"token": token, "choice": "no"})
    assert back.status_code == 200
    assert '<input checked id="choice-1" name="choice" required type="radio" value="no">' in (
        text(back)
    )
    assert tally(ballot) == NOTHING


def test_a_signed_in_member_votes_without_a_token(client, sign_in, ballot, voters):
    sign_in(voters[1])
    page = text(client.get(f"/ballots/{ballot.id}"))
    assert 'name="choice"' in page and "Your ballot mail with your personal link is on" in page
    assert "Mail me a new link" not in page  # nothing to replace before the mail is sent
    confirm = client.post(f"/ballots/{ballot.id}/confirm", data={"choice": "no"})
    assert "You are about to vote: No." in text(confirm)
    assert 'name="token"' not in text(confirm)
    cast = client.post(f"/ballots/{ballot.id}/cast", data={"choice": "no"})
    assert cast.status_code == 200
    assert len(receipt_of(cast)) == 14
    assert tally(ballot) == ({"yes": 0, "no": 1, "abstain": 0}, 1, 1)
    page = text(client.get(f"/ballots/{ballot.id}"))
    assert "You have voted on this ballot; each member votes once." in page
    assert "How you voted is not stored with your name." in page
    assert 'name="choice"' not in page and "Your voting link" not in page


@pytest.mark.parametrize("signed_in", [False, True], ids=["by-link", "signed-in"])
def test_a_second_vote_is_refused_and_changes_nothing(client, sign_in, ballot, voters, signed_in):
    token = give_token(entry_of(ballot, voters[0]))
    data = {"choice": "yes"} if signed_in else {"token": token, "choice": "yes"}
    if signed_in:
        sign_in(voters[0])
    assert client.post(f"/ballots/{ballot.id}/cast", data=data).status_code == 200
    before = tally(ballot)
    for url in (f"/ballots/{ballot.id}/cast", f"/ballots/{ballot.id}/confirm"):
        again = client.post(url, data={**data, "choice": "no"})
        assert again.status_code == 409, url
        assert "already voted" in text(again)
    if not signed_in:
        again = client.post("/ballots/vote", data={"token": token})
        assert again.status_code == 409 and "already voted" in text(again)
    assert tally(ballot) == before == ({"yes": 1, "no": 0, "abstain": 0}, 1, 1)


def test_a_vote_after_the_closing_time_is_refused_even_from_a_page_loaded_before(
    client, ballot, voters, clock
):
    token = give_token(entry_of(ballot, voters[0]))
    confirm = client.post(f"/ballots/{ballot.id}/confirm", data={"token": token, "choice": "yes"})
    assert "Cast my vote" in text(confirm)
    clock.advance(days=7)
    cast = client.post(f"/ballots/{ballot.id}/cast", data={"token": token, "choice": "yes"})
    assert cast.status_code == 409 and "closed" in text(cast)
    assert tally(ballot) == NOTHING
    # The link opened now says so too, before and after the ballot is counted.
    for _ in range(2):
        late = client.post("/ballots/vote", data={"token": token})
        assert late.status_code == 409 and "This ballot has closed" in text(late)
        client.get(f"/ballots/{ballot.id}")
    assert db.session.get(Ballot, ballot.id).voters == 0


def test_a_failed_ballot_takes_no_more_votes(client, sign_in, ballot, voters, clock):
    for member in voters[:2]:
        ballots.cast(entry_of(ballot, member), "no")
        db.session.commit()
    clock.advance(days=7)
    assert "Failed" in text(client.get(f"/ballots/{ballot.id}"))
    sign_in(voters[2])
    page = text(client.get(f"/ballots/{ballot.id}"))
    assert 'name="choice"' not in page
    cast = client.post(f"/ballots/{ballot.id}/cast", data={"choice": "yes"})
    assert cast.status_code == 409 and "closed" in text(cast)
    assert tally(ballot)[0] == {"yes": 0, "no": 2, "abstain": 0}


def test_there_is_no_ballot_to_vote_on_before_it_opens(client, sign_in, ready, voters):
    sign_in(voters[0])
    assert client.get("/ballots/1").status_code == 404
    assert client.post("/ballots/1/cast", data={"choice": "yes"}).status_code == 404
    assert db.session.scalar(select(func.count()).select_from(Ballot)) == 0


def test_a_member_suspended_after_the_roll_froze_still_votes_and_is_told_why(
    client, sign_in, ballot, voters
):
    voters[2].standing = Standing.SUSPENDED
    db.session.commit()
    sign_in(voters[2])
    page = text(client.get(f"/ballots/{ballot.id}"))
    assert "you were on the roll when it froze, so you still vote on it" in page
    assert "a member suspended after the roll froze still votes" in page
    assert client.post(f"/ballots/{ballot.id}/cast", data={"choice": "abstain"}).status_code == 200
    assert tally(ballot) == ({"yes": 0, "no": 0, "abstain": 1}, 1, 1)


def test_a_member_not_on_the_roll_cannot_vote(client, sign_in, make_member, ballot):
    sign_in(make_member(name="Late Joiner"))
    for url in (f"/ballots/{ballot.id}/confirm", f"/ballots/{ballot.id}/cast"):
        response = client.post(url, data={"choice": "yes"})
        assert response.status_code == 403
        assert "You are not on this ballot's roll" in text(response)
    assert tally(ballot) == NOTHING


def test_a_roll_call_ballot_says_so_and_publishes_each_vote_after_closing(
    client, membership_vote, submitted, receiver, voters, make_member, clock
):
    admin = make_member(name="Ida Admin", roles=["admin"])
    amendments.set_procedure(membership_vote, "membership-vote", admin, ballot_roll_call=True)
    # Submitted before the change: the amendment keeps its procedure, so a new one.
    draft = amendments.start_draft(voters[4], membership_vote, "Named", "Why.", "New text.\n")
    amendments.submit(draft, voters[4])
    amendments.acknowledge(draft, receiver)
    ballot = ballots.open_ballot(draft, receiver)
    db.session.commit()
    page = text(client.get(f"/ballots/{ballot.id}"))
    assert "This is a roll-call ballot: how each member votes is recorded" in page
    ballots.cast(entry_of(ballot, voters[0]), "yes")
    ballots.cast(entry_of(ballot, voters[1]), "no")
    db.session.commit()
    clock.advance(days=7)
    result = text(client.get(f"/ballots/{ballot.id}"))
    assert "<tr><td>Voter 0</td><td>Yes</td></tr>" in result
    assert "<tr><td>Voter 1</td><td>No</td></tr>" in result
    assert "<tr><td>Voter 2</td><td>did not vote</td></tr>" in result


# New links -------------------------------------------------------------------------------


def test_a_member_asks_for_a_new_link_and_the_old_one_stops_working(
    client, sign_in, ballot, voters
):
    entry = entry_of(ballot, voters[0])
    old = give_token(entry)
    entry.mail_status = MailStatus.SENT
    db.session.commit()
    sign_in(voters[0])
    assert "Mail me a new link" in text(client.get(f"/ballots/{ballot.id}"))
    response = client.post(f"/ballots/{ballot.id}/new-link")
    assert response.status_code == 302 and old not in response.location
    page = text(client.get(response.location))
    assert "A new link is on its way; the old one no longer works." in page
    db.session.expire_all()
    assert (entry.mail_status, entry.token_hash) == (MailStatus.PENDING, None)
    replaced = client.post("/ballots/vote", data={"token": old})
    assert replaced.status_code == 404 and "replaced by a newer one" in text(replaced)
    again = client.post(f"/ballots/{ballot.id}/new-link")
    assert again.status_code == 409 and "on its way already" in text(again)


def test_only_members_on_the_roll_who_have_not_voted_get_new_links(
    client, sign_in, make_member, ballot, voters
):
    assert "/auth/sign-in" in client.post(f"/ballots/{ballot.id}/new-link").location
    sign_in(make_member(name="Late Joiner"))
    assert client.post(f"/ballots/{ballot.id}/new-link").status_code == 403
    client.post("/auth/sign-out")
    entry = entry_of(ballot, voters[0])
    entry.mail_status = MailStatus.SENT
    db.session.commit()
    ballots.cast(entry, "yes")
    db.session.commit()
    sign_in(voters[0])
    response = client.post(f"/ballots/{ballot.id}/new-link")
    assert response.status_code == 409 and "already voted" in text(response)
    assert entry_of(ballot, voters[0]).mail_status == MailStatus.SENT
