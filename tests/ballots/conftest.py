"""A proposal under the membership-vote procedure, acknowledged and ready for its ballot,
the ballot opened on it with a roll of voters, and helpers the ballot tests share."""

import re

import pytest

from govern.amendments import services as amendments
from govern.ballots import services as ballots
from govern.ballots.models import Ballot, RollEntry
from govern.extensions import db
from govern.members.models import Member
from govern.procedures.states import State

LINK = re.compile(r"http://govern\.test/ballots/vote#([A-Za-z0-9_-]+)")


@pytest.fixture
def membership_vote(document, make_member):
    """The document amended by a ballot of the membership alone; an admin chose so."""
    admin = make_member(name="Ada Admin", email="ada@example.org", roles=["admin"])
    amendments.set_procedure(document, "membership-vote", admin)
    db.session.commit()
    return document


@pytest.fixture
def ready(membership_vote, submitted, receiver):
    """Acknowledged: the next step is opening the ballot."""
    amendments.acknowledge(submitted, receiver)
    db.session.commit()
    assert submitted.state == State.ACKNOWLEDGED
    return submitted


@pytest.fixture
def voters(make_member) -> list[Member]:
    return [make_member(name=f"Voter {n}", email=f"voter{n}@example.org") for n in range(5)]


@pytest.fixture
def ballot(ready, receiver, voters) -> Ballot:
    opened = ballots.open_ballot(ready, receiver)
    db.session.commit()
    return opened


def entry_of(ballot: Ballot, member: Member) -> RollEntry:
    entry = ballots.entry_for_member(ballot, member)
    assert entry is not None
    return entry


def give_token(entry: RollEntry) -> str:
    """What the worker does before mailing a link: a new token, only its hash kept."""
    token = ballots.new_token()
    entry.token_hash = ballots.hash_token(token)
    db.session.commit()
    return token


def token_in(email) -> str:
    """The voting token a ballot mail carries, in its link and as a code to paste."""
    body = email.get_content()
    [token] = LINK.findall(body)
    assert body.count(token) == 2, "the link and the code carry the same token"
    return token
