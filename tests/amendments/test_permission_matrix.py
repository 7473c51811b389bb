"""Who may do what to an amendment, and when: every route x actor x state.

Each row of ROUTES is one route: its method and URL, the states that matter to it, and
its rule, which says for an actor and a state what must happen. `expected` applies what
holds for every route first (sign in; a draft is its proposer's alone), then the row's
rule. Unless the outcome is an action carried out, nothing may change: not the amendment,
its timeline, the outbox, the number of amendments.

One test per route: it builds an amendment in each state, tries the route as each actor
on each, and lists every cell of the route's actor x state table that went wrong. (A
test per cell would build an app and a database per cell: minutes instead of seconds.)

A new route is one more row in ROUTES, and its rule.
"""

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from enum import StrEnum

import pytest
from markupsafe import escape
from sqlalchemy import exists, func, select
from sqlalchemy.orm import aliased
from werkzeug.security import generate_password_hash

from govern.amendments import services
from govern.amendments.models import Amendment, AmendmentEvent, Comment
from govern.documents import services as documents
from govern.documents.models import Document, Version
from govern.extensions import db
from govern.mail.models import OutboxMessage
from govern.meetings.models import AgendaItem
from govern.members.models import Member
from govern.procedures.states import STATE_LABELS, State
from tests.conftest import PASSWORD
from tests.governance import PROPOSED, V1

EDITED_TITLE = "Patience with everyone"
RATIONALE = "Kindness takes time."
CARRIED_OVER = PROPOSED.replace("to the IGO", "to the IGOs")  # onto version 2
# Signing in checks a password hash; the app's is slow on purpose, these members' is not.
CHEAP_HASH = generate_password_hash(PASSWORD, method="pbkdf2:sha256:1")


class Actor(StrEnum):
    ANONYMOUS = "anonymous"
    SUSPENDED = "suspended-member"
    MEMBER = "member"
    PROPOSER = "proposer"
    RECEIVER = "receiver"  # not the proposer
    ADMIN = "admin"  # not a receiver
    SUSPENDED_PROPOSER = "suspended-proposer"  # suspended after proposing


PROPOSERS = {Actor.PROPOSER, Actor.SUSPENDED_PROPOSER}
NOT_IN_GOOD_STANDING = {Actor.SUSPENDED, Actor.SUSPENDED_PROPOSER}
STATES = (
    State.DRAFT,
    State.SUBMITTED,
    State.ACKNOWLEDGED,
    State.DISCUSSION_SCHEDULED,
    State.MEETING_VOTE_OPEN,
    State.FAILED,
    State.WITHDRAWN,
)
# For the routes that do not act on an existing amendment.
ANY_STATE = (State.SUBMITTED,)
VOTED_ON = (State.MEETING_VOTE_OPEN, State.FAILED)
WITHDRAWABLE = {State.DRAFT, State.SUBMITTED, State.ACKNOWLEDGED, State.DISCUSSION_SCHEDULED}

GOOD_STANDING = "Only a member in good standing can propose amendments."
ONLY_DRAFTS = "Only a draft can be edited; this proposal was submitted."


def title(state: State) -> str:
    """Each amendment of the world has its own title, so a list shows which it holds."""
    return f"Patience ({state})"


def cannot(event: str, state: State) -> str:
    return f'Cannot "{event}": the amendment is {STATE_LABELS[state]}.'


# What must happen ------------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    status: int
    shows: str = ""  # on the page: the page's point, or why the action was refused
    hides: str = ""  # must not be on the page
    location: str = ""  # a redirect's target, a pattern; {id} is the amendment's id
    # An action carried out: how the snapshot changes. None: nothing may change.
    change: dict | None = None


SIGN_IN = Outcome(302, location=r"/auth/sign-in\?next=")
NOT_FOUND = Outcome(404, "There is no such page.")
FORBIDDEN = Outcome(403, "You do not have permission to do this.")


def page(shows: str = "", hides: str = "") -> Outcome:
    return Outcome(200, shows, hides)


def refused(message: str) -> Outcome:
    return Outcome(400, message)


def done(
    location: str = r"/amendments/{id}$",
    *,
    events: int = 1,
    mails: int = 0,
    amendments: int = 0,
    **fields: object,
) -> Outcome:
    """An action carried out: `events`, `mails`, `amendments` say how many more there are,
    `fields` the amendment's new values; the rest of the snapshot stays as it was."""
    change = {"+events": events, "+mails": mails, "+amendments": amendments, **fields}
    return Outcome(302, location=location, change=change)


# The rule of each route, for a signed-in actor who may see the amendment ------------------


def list_rule(actor: Actor, state: State) -> Outcome:
    if state == State.DRAFT and actor not in PROPOSERS:
        return page(hides=title(state))
    return page(title(state))


def inbox_rule(actor: Actor, state: State) -> Outcome:
    if actor != Actor.RECEIVER:
        return FORBIDDEN
    # Submissions to acknowledge, then proposals whose discussion to schedule: acknowledged
    # ones, and scheduled ones without a meeting to come (the world's has no meeting).
    if state in (State.SUBMITTED, State.ACKNOWLEDGED, State.DISCUSSION_SCHEDULED):
        return page(title(state))
    return page(hides=title(state))


def new_form_rule(actor: Actor, state: State) -> Outcome:
    if actor in NOT_IN_GOOD_STANDING:
        return page(GOOD_STANDING)  # the form says so before anything is typed
    return page("Propose an amendment to Code of Conduct", hides=GOOD_STANDING)


def new_rule(actor: Actor, state: State) -> Outcome:
    if actor in NOT_IN_GOOD_STANDING:
        return refused(GOOD_STANDING)
    return done(r"/amendments/\d+$", events=0, amendments=1)


def edit_form_rule(actor: Actor, state: State) -> Outcome:
    if actor not in PROPOSERS:
        return FORBIDDEN
    if state != State.DRAFT:
        return refused(ONLY_DRAFTS)
    # Editing a private draft proposes nothing: a suspended proposer may, but not submit it.
    return page("Edit draft #")


def edit_rule(actor: Actor, state: State) -> Outcome:
    outcome = edit_form_rule(actor, state)
    return done(title=EDITED_TITLE, rationale=RATIONALE) if outcome.status == 200 else outcome


def show_rule(actor: Actor, state: State) -> Outcome:
    return page(title(state))


def submit_rule(actor: Actor, state: State) -> Outcome:
    if state != State.DRAFT:
        return refused(cannot("Submit", state))
    if actor == Actor.SUSPENDED_PROPOSER:
        return refused(GOOD_STANDING)
    return done(state=State.SUBMITTED, mails=1)  # to the one receiver


def withdraw_form_rule(actor: Actor, state: State) -> Outcome:
    if actor not in PROPOSERS:
        return FORBIDDEN
    if state not in WITHDRAWABLE:
        return refused(cannot("Withdraw", state))
    return page("Withdraw this proposal? This cannot be undone.")


def withdraw_rule(actor: Actor, state: State) -> Outcome:
    if state not in WITHDRAWABLE:
        return refused(cannot("Withdraw", state))
    if actor not in PROPOSERS:
        return refused("Only its proposer can do this.")
    # Withdrawing proposes nothing: a suspended proposer may. The receiver heard of it once
    # it was submitted, and hears of the withdrawal.
    return done(state=State.WITHDRAWN, mails=0 if state == State.DRAFT else 1)


def acknowledge_rule(actor: Actor, state: State) -> Outcome:
    if state != State.SUBMITTED:
        return refused(cannot("Acknowledge", state))
    if actor != Actor.RECEIVER:
        return refused("Only a receiver in good standing can do this.")
    return done(state=State.ACKNOWLEDGED, mails=2)  # to the proposer and the receiver


def rebase_rule(actor: Actor, state: State) -> Outcome:
    if actor not in PROPOSERS:
        return refused("Only its proposer can update a proposal's base.")
    if state in (State.WITHDRAWN, State.FAILED):
        return refused("This proposal is closed; revise and resubmit it to change it.")
    if state in VOTED_ON:
        return refused("Voting on this proposal has started: the text voted on cannot change.")
    return done(base=2, proposed_text=CARRIED_OVER)


def revise_rule(actor: Actor, state: State) -> Outcome:
    if actor not in PROPOSERS:
        return refused("Only its proposer can revise a proposal.")
    if actor == Actor.SUSPENDED_PROPOSER:
        return refused(GOOD_STANDING)
    if state not in (State.FAILED, State.WITHDRAWN):
        return refused(
            "Only a proposal that failed or was withdrawn can be revised and resubmitted."
        )
    # A new draft; the old proposal's timeline says "revised".
    return done(r"/amendments/\d+/edit$", amendments=1, is_revised=True)


def schedule_form_rule(actor: Actor, state: State) -> Outcome:
    if actor != Actor.RECEIVER:
        return FORBIDDEN
    # Scheduled already: the discussion may move to another meeting.
    if state not in (State.ACKNOWLEDGED, State.DISCUSSION_SCHEDULED):
        return refused(cannot("Schedule the discussion", state))
    return page("Schedule the discussion of amendment #")


def schedule_rule(actor: Actor, state: State) -> Outcome:
    outcome = schedule_form_rule(actor, state)
    if outcome.status != 200:
        return outcome
    # Every member in good standing is told: the member, the proposer, the receiver, the admin.
    return done(state=State.DISCUSSION_SCHEDULED, mails=4, agenda_items=1)


def comment_rule(actor: Actor, state: State) -> Outcome:
    if actor in NOT_IN_GOOD_STANDING:
        return refused("Only a member in good standing can comment.")
    if state == State.DRAFT:
        return refused("A draft is private: it can be discussed once it is submitted.")
    if state in (State.FAILED, State.WITHDRAWN):
        return refused("This proposal is closed, and so is its written discussion.")
    if state == State.MEETING_VOTE_OPEN:
        return refused("The written discussion closed when voting started.")
    return done(r"/amendments/{id}#comment-\d+$", events=0, comments=1)


def preview_rule(actor: Actor, state: State) -> Outcome:
    if actor not in PROPOSERS:
        return FORBIDDEN
    if state != State.DRAFT:
        return refused("Only a draft can be edited")
    # The redline of the text typed, saved nowhere.
    return page("Smile.")


# The routes ------------------------------------------------------------------------------


def put_a_new_version_in_force(document, clock) -> None:
    """Version 2 changes another passage: every base is stale, and merges cleanly."""
    clock.advance(days=1)
    documents.add_version(document, V1.replace("to the IGO", "to the IGOs"))
    db.session.commit()


def draft_form(title: str) -> dict:
    return {"title": title, "rationale": RATIONALE, "proposed_text": PROPOSED, "save": "Save"}


@dataclass(frozen=True)
class Route:
    name: str
    method: str
    path: str  # {id}: the amendment's id
    rule: Callable[[Actor, State], Outcome]
    states: tuple[State, ...] = STATES
    data: dict = field(default_factory=dict)
    # Called with (document, clock) once the amendments are in their states.
    prepare: Callable | None = None
    # How the amendment page offers the action, if it does: offered exactly when allowed.
    offered: str = ""

    @property
    def is_about_the_amendment(self) -> bool:
        return "{id}" in self.path


NEW = "/documents/coc/amendments/new"
ROUTES = [
    Route("list", "GET", "/amendments/", list_rule),
    Route("inbox", "GET", "/amendments/inbox", inbox_rule),
    Route("new-form", "GET", NEW, new_form_rule, ANY_STATE),
    Route("new", "POST", NEW, new_rule, ANY_STATE, data=draft_form("A second thought")),
    Route("show", "GET", "/amendments/{id}", show_rule),
    Route("edit-form", "GET", "/amendments/{id}/edit", edit_form_rule),
    Route(
        "edit",
        "POST",
        "/amendments/{id}/edit",
        edit_rule,
        data=draft_form(EDITED_TITLE),
        offered='href="/amendments/{id}/edit"',
    ),
    Route(
        "submit",
        "POST",
        "/amendments/{id}/submit",
        submit_rule,
        data={"addressed_to": "0"},
        offered='action="/amendments/{id}/submit"',
    ),
    Route("withdraw-form", "GET", "/amendments/{id}/withdraw", withdraw_form_rule),
    Route(
        "withdraw",
        "POST",
        "/amendments/{id}/withdraw",
        withdraw_rule,
        offered='href="/amendments/{id}/withdraw"',
    ),
    Route(
        "acknowledge",
        "POST",
        "/amendments/{id}/acknowledge",
        acknowledge_rule,
        offered='action="/amendments/{id}/acknowledge"',
    ),
    # Offered only while the base is stale: the stale-base tests in test_pages.py.
    Route(
        "rebase", "POST", "/amendments/{id}/rebase", rebase_rule, prepare=put_a_new_version_in_force
    ),
    Route(
        "revise",
        "POST",
        "/amendments/{id}/revise",
        revise_rule,
        offered='action="/amendments/{id}/revise"',
    ),
    Route("schedule-form", "GET", "/amendments/{id}/schedule", schedule_form_rule),
    Route(
        "schedule",
        "POST",
        "/amendments/{id}/schedule",
        schedule_rule,
        data={
            "where": "new",
            "title": "Discussion of patience",
            "day": "2026-03-20",
            "start_time": "18:00",
            "end_time": "20:00",
            "place": "Union hall",
        },
        offered='href="/amendments/{id}/schedule"',
    ),
    Route(
        "comment",
        "POST",
        "/amendments/{id}/comments",
        comment_rule,
        data={"body": "Patience is *earned*."},
        offered='action="/amendments/{id}/comments"',
    ),
    Route(
        "preview",
        "POST",
        "/amendments/{id}/preview",
        preview_rule,
        data={"title": "Patience", "rationale": RATIONALE, "proposed_text": PROPOSED + "Smile.\n"},
    ),
]


def expected(route: Route, actor: Actor, state: State) -> Outcome:
    if actor == Actor.ANONYMOUS:
        return SIGN_IN
    if route.is_about_the_amendment and state == State.DRAFT and actor not in PROPOSERS:
        return NOT_FOUND
    return route.rule(actor, state)


# The world: one member of each kind, and an amendment in each state -----------------------


@pytest.fixture
def app_config(app_config):
    # A crash is one wrong cell, a 500 as a member would see it, not the end of the test.
    return {**app_config, "PROPAGATE_EXCEPTIONS": False}


@dataclass
class World:
    document: Document
    members: dict[Actor, Member]
    made: int = 0

    def amendment_in(self, state: State) -> Amendment:
        """Through the services as far as they go; further on, as the meeting would set it."""
        proposer, receiver = self.members[Actor.PROPOSER], self.members[Actor.RECEIVER]
        # Each its own rationale: the same draft saved twice in a row would be one draft.
        self.made += 1
        rationale = f"{RATIONALE} ({self.made})"
        amendment = services.start_draft(proposer, self.document, title(state), rationale, PROPOSED)
        if state != State.DRAFT:
            services.submit(amendment, proposer)
        if state == State.WITHDRAWN:
            services.withdraw(amendment, proposer)
        if state in (State.ACKNOWLEDGED, State.DISCUSSION_SCHEDULED, *VOTED_ON):
            services.acknowledge(amendment, receiver)
        if state in (State.DISCUSSION_SCHEDULED, *VOTED_ON):
            amendment.state = State.DISCUSSION_SCHEDULED
        if state in VOTED_ON:
            amendment.state = State.MEETING_VOTE_OPEN
            amendment.freeze()
        if state == State.FAILED:
            amendment.state = State.FAILED
        db.session.flush()
        assert amendment.state == state
        return amendment

    def signed_in_client(self, app, actor: Actor):
        client = app.test_client()
        if actor == Actor.SUSPENDED_PROPOSER:
            self.members[actor].standing = "suspended"
            db.session.commit()
        if actor != Actor.ANONYMOUS:
            email = self.members[actor].email
            response = client.post("/auth/sign-in", data={"email": email, "password": PASSWORD})
            assert response.status_code == 302
        return client


@pytest.fixture
def world(document, make_member) -> World:
    members = {
        Actor.SUSPENDED: make_member(name="Sam Suspended", standing="suspended"),
        Actor.MEMBER: make_member(name="Mo Member"),
        Actor.PROPOSER: make_member(name="Pat Proposer"),
        Actor.RECEIVER: make_member(name="Rae Receiver", roles=["receiver"]),
        Actor.ADMIN: make_member(name="Ada Admin", roles=["admin"]),
    }
    members[Actor.SUSPENDED_PROPOSER] = members[Actor.PROPOSER]
    for member in members.values():
        member.password_hash = CHEAP_HASH
    db.session.commit()
    return World(document, members)


def snapshot(amendment_id: int) -> dict:
    """The amendment as stored, its timeline's length, and how many mails and amendments
    there are: one query, as it runs twice for every cell."""
    other = aliased(Amendment)  # not correlated with the amendment of the row
    row = db.session.execute(
        select(
            Amendment.state,
            Amendment.title,
            Amendment.rationale,
            Amendment.proposed_text,
            Amendment.frozen_text,
            Version.number.label("base"),
            Amendment.addressed_to_id,
            exists().where(other.revises_id == Amendment.id).label("is_revised"),
            select(func.count())
            .where(AmendmentEvent.amendment_id == Amendment.id)
            .scalar_subquery()
            .label("events"),
            select(func.count()).select_from(OutboxMessage).scalar_subquery().label("mails"),
            select(func.count()).select_from(other).scalar_subquery().label("amendments"),
            select(func.count())
            .where(Comment.amendment_id == Amendment.id)
            .scalar_subquery()
            .label("comments"),
            select(func.count())
            .where(AgendaItem.amendment_id == Amendment.id)
            .scalar_subquery()
            .label("agenda_items"),
        )
        .join(Version, Version.id == Amendment.base_version_id)
        .where(Amendment.id == amendment_id)
    ).one()
    return dict(row._mapping)


def changed(before: dict, change: dict | None) -> dict:
    after = dict(before)
    for key, value in (change or {}).items():
        if key.startswith("+"):
            after[key[1:]] += value
        else:
            after[key] = value
    return after


def mismatches(response, outcome: Outcome, amendment_id: int, before: dict) -> list[str]:
    """What differs from `outcome`: the response, then the database."""
    found = []
    html = response.get_data(as_text=True)
    if response.status_code != outcome.status:
        found.append(f"status {response.status_code}, not {outcome.status}")
    if outcome.shows and escape(outcome.shows) not in html:
        found.append(f"the page does not say {outcome.shows!r}")
    if outcome.hides and escape(outcome.hides) in html:
        found.append(f"the page shows {outcome.hides!r}")
    target = outcome.location.format(id=amendment_id)
    if outcome.location and not re.search(target, response.location or ""):
        found.append(f"redirects to {response.location!r}, not {target!r}")
    after, wanted = snapshot(amendment_id), changed(before, outcome.change)
    found += [
        f"{key} is {after[key]!r}, not {wanted[key]!r}"
        for key in after
        if after[key] != wanted[key]
    ]
    return found


@pytest.mark.parametrize("route", [pytest.param(route, id=route.name) for route in ROUTES])
def test_only_the_right_actor_acts_and_only_in_the_right_state(app, clock, world, route):
    # Pages and refusals change nothing (that is what they assert), so they share one
    # amendment per state; an action carried out gets an amendment of its own.
    cells = [(actor, state) for actor in Actor for state in route.states]
    outcomes = {cell: expected(route, *cell) for cell in cells}
    shared = {state: world.amendment_in(state) for state in route.states}
    amendments = {
        (actor, state): world.amendment_in(state)
        if outcomes[actor, state].change
        else shared[state]
        for actor, state in cells
    }
    db.session.commit()
    if route.prepare is not None:
        route.prepare(world.document, clock)

    wrong = []
    for actor in Actor:  # the suspended proposer comes last: suspending is for good
        client = world.signed_in_client(app, actor)
        for state in route.states:
            amendment, outcome = amendments[actor, state], outcomes[actor, state]
            before = snapshot(amendment.id)
            url = route.path.format(id=amendment.id)
            response = client.open(url, method=route.method, data=route.data)
            found = mismatches(response, outcome, amendment.id, before)
            wrong += [f"{route.method} {route.path} as {actor}, {state}: {what}" for what in found]
    if wrong:
        pytest.fail("\n".join(wrong), pytrace=False)


def test_the_amendment_page_offers_exactly_the_actions_allowed(app, world):
    amendments = {state: world.amendment_in(state) for state in STATES}
    db.session.commit()
    show = next(route for route in ROUTES if route.name == "show")
    wrong = []
    for actor in Actor:
        client = world.signed_in_client(app, actor)
        for state, amendment in amendments.items():
            if expected(show, actor, state).status != 200:
                continue
            html = client.get(f"/amendments/{amendment.id}").get_data(as_text=True)
            for route in ROUTES:
                if not route.offered:
                    continue
                is_allowed = expected(route, actor, state).change is not None
                is_offered = route.offered.format(id=amendment.id) in html
                if is_offered != is_allowed:
                    verb = "offers" if is_offered else "does not offer"
                    wrong.append(f"as {actor}, {state}: the page {verb} {route.name}")
    if wrong:
        pytest.fail("\n".join(wrong), pytrace=False)
