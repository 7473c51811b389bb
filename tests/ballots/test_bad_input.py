"""Bad voting links, codes and choices get a clear answer and change nothing; guessing
tokens is slowed down, voting from one shared address is not."""

import html

import pytest
from sqlalchemy import func, select

from govern.amendments import services as amendments
from govern.ballots import running
from govern.ballots import services as ballots
from govern.ballots.models import BallotCount, MailStatus, Receipt, RollEntry
from govern.extensions import db
from govern.mail.models import OutboxMessage
from tests.ballots.conftest import entry_of, give_token

NOT_WORKING = "This voting link or code does not work (it may have been replaced by a newer one)"


def text(response) -> str:
    return html.unescape(response.get_data(as_text=True))


def everything() -> tuple:
    """What any vote or link request could change, on every ballot."""
    db.session.expire_all()
    counts = sorted(db.session.execute(select(BallotCount.choice, BallotCount.count)).all())
    roll = sorted(
        db.session.execute(
            select(RollEntry.id, RollEntry.voted, RollEntry.token_hash, RollEntry.mail_status)
        ).all()
    )
    receipts = db.session.scalar(select(func.count()).select_from(Receipt))
    mail = db.session.scalar(select(func.count()).select_from(OutboxMessage))
    return counts, roll, receipts, mail


@pytest.fixture
def other_ballot(membership_vote, ballot, receiver, voters):
    """A second ballot open at the same time, on another amendment, with the same voters."""
    draft = amendments.start_draft(voters[4], membership_vote, "Kindness", "Why.", "Be good.\n")
    amendments.submit(draft, voters[4])
    amendments.acknowledge(draft, receiver)
    opened = ballots.open_ballot(draft, receiver)
    db.session.commit()
    return opened


def bad_tokens(ballot, other_ballot, voters) -> dict[str, str]:
    token = give_token(entry_of(ballot, voters[0]))
    replaced = give_token(entry_of(ballot, voters[1]))
    give_token(entry_of(ballot, voters[1]))  # a new link: the old one stops working
    return {
        "forged": "A" * len(token),
        "truncated": token[:-1],
        "extended": token + "x",
        "replaced": replaced,
        "other ballot": give_token(entry_of(other_ballot, voters[2])),
        "far too long": "x" * 5000,
        "not a token at all": "'; DROP TABLE ballot_roll; --",
    }


def test_bad_tokens_get_a_clear_error_and_change_nothing(client, ballot, other_ballot, voters):
    tokens = bad_tokens(ballot, other_ballot, voters)
    before = everything()
    for name, token in tokens.items():
        responses = [
            client.post(f"/ballots/{ballot.id}/confirm", data={"token": token, "choice": "yes"}),
            client.post(f"/ballots/{ballot.id}/cast", data={"token": token, "choice": "yes"}),
        ]
        if name != "other ballot":  # a link of the other ballot opens that ballot
            responses.append(client.post("/ballots/vote", data={"token": token}))
        for response in responses:
            assert response.status_code == 404, (name, response.request.path)
            page = text(response)
            assert NOT_WORKING in page, name
            assert "Sign in and open the ballot" in page and "/auth/sign-in" in page
            assert token not in page or len(token) < 8, name
    assert everything() == before


def test_an_empty_voting_code_is_asked_for_again(client, ballot):
    before = everything()
    for data in ({"token": "  "}, {}):
        response = client.post("/ballots/vote", data=data)
        assert response.status_code == 400
        assert "Enter the voting code from your ballot mail." in text(response)
    assert everything() == before


@pytest.mark.parametrize("choice", ["maybe", "", "YES", "yes ", "no,yes", "0"])
def test_a_choice_not_on_the_ballot_is_refused_with_the_form_again(client, ballot, voters, choice):
    token = give_token(entry_of(ballot, voters[0]))
    before = everything()
    for url in (f"/ballots/{ballot.id}/confirm", f"/ballots/{ballot.id}/cast"):
        response = client.post(url, data={"token": token, "choice": choice})
        assert response.status_code == 400, url
        page = text(response)
        assert "Choose yes, no or abstain." in page
        assert 'name="choice"' in page and f'value="{token}"' in page
    assert everything() == before


def test_casting_without_token_or_sign_in_goes_to_sign_in(client, ballot):
    before = everything()
    for url in (f"/ballots/{ballot.id}/confirm", f"/ballots/{ballot.id}/cast"):
        response = client.post(url, data={"choice": "yes"})
        assert response.status_code == 302 and "/auth/sign-in" in response.location
    assert everything() == before


def test_a_link_works_once_its_vote_is_cast_only_to_say_so(client, ballot, voters):
    token = give_token(entry_of(ballot, voters[0]))
    first = client.post(f"/ballots/{ballot.id}/cast", data={"token": token, "choice": "no"})
    assert first.status_code == 200
    before = everything()
    response = client.post(f"/ballots/{ballot.id}/cast", data={"token": token, "choice": "yes"})
    assert response.status_code == 409
    assert "You have already voted on this ballot; each member votes once." in text(response)
    assert everything() == before


def test_a_token_is_never_put_in_an_address_or_a_flash(client, sign_in, ballot, voters):
    entry = entry_of(ballot, voters[0])
    token = give_token(entry)
    entry.mail_status = MailStatus.SENT
    db.session.commit()
    responses = [
        client.post("/ballots/vote", data={"token": token}),
        client.post(f"/ballots/{ballot.id}/confirm", data={"token": token, "choice": "yes"}),
        client.post(f"/ballots/{ballot.id}/cast", data={"token": token, "choice": "yes"}),
    ]
    sign_in(voters[0])
    responses.append(client.get(f"/ballots/{ballot.id}"))
    for response in responses:
        assert token not in (response.location or "")
        assert token not in response.headers.get("Set-Cookie", "")
    page = text(client.get(f"/ballots/{ballot.id}"))
    assert token not in page


# Rate limits -------------------------------------------------------------------------------


@pytest.fixture
def app_config(request, tmp_path) -> dict:
    """Rate limits stay off but where a test turns them on with `indirect`."""
    return {"MAIL_DIRECTORY": str(tmp_path / "mail"), **getattr(request, "param", {})}


LIMITED = {"RATELIMIT_ENABLED": True, "TOKEN_RATE_LIMIT": "3 per minute"}


@pytest.mark.parametrize("app_config", [LIMITED], indirect=True, ids=["limited"])
def test_only_failed_token_lookups_count_against_a_shared_address(client, ballot, voters):
    """An office network: many members vote from one address, and one mistypes."""
    tokens = [give_token(entry_of(ballot, member)) for member in voters]
    for token in tokens:
        assert client.post("/ballots/vote", data={"token": token}).status_code == 200
        cast = client.post(f"/ballots/{ballot.id}/cast", data={"token": token, "choice": "yes"})
        assert cast.status_code == 200
    for _ in range(3):
        assert client.post("/ballots/vote", data={"token": "guess"}).status_code == 404
    assert client.post("/ballots/vote", data={"token": "guess"}).status_code == 429
    cast = client.post(f"/ballots/{ballot.id}/cast", data={"token": "guess", "choice": "yes"})
    assert cast.status_code == 429
    # Another address is not held up by this one's guesses.
    other = client.post(
        "/ballots/vote", data={"token": "x"}, environ_base={"REMOTE_ADDR": "10.9.9.9"}
    )
    assert other.status_code == 404
    assert running.turnout(ballot).voted == len(voters)


@pytest.mark.parametrize("app_config", [LIMITED], indirect=True, ids=["limited"])
def test_a_member_asks_for_new_links_a_few_times_an_hour_at_most(client, sign_in, ballot, voters):
    entry = entry_of(ballot, voters[0])
    sign_in(voters[0])
    statuses = []
    for _ in range(4):
        entry.mail_status = MailStatus.SENT
        db.session.commit()
        statuses.append(client.post(f"/ballots/{ballot.id}/new-link").status_code)
    assert statuses == [302, 302, 302, 429]
    db.session.expire_all()
    assert entry.mail_status == MailStatus.SENT
