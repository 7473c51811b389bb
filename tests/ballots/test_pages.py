"""The ballot's pages for each role: opening it, reading it, turnout, reminders, new links."""

import re

import pytest
from sqlalchemy import func, select

from govern.amendments.models import Amendment, AmendmentEvent
from govern.ballots import services as ballots
from govern.ballots.models import Ballot, BallotMailing, MailStatus, RollEntry
from govern.extensions import db
from govern.mail.models import OutboxMessage
from govern.members.models import Member
from govern.procedures.states import State
from tests.ballots.conftest import entry_of


def text(response) -> str:
    return response.get_data(as_text=True)


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def snapshot(amendment_id: int) -> tuple:
    """What opening would change: the amendment, its timeline, ballots, rolls and mail."""
    db.session.expire_all()
    amendment = db.session.get(Amendment, amendment_id)
    return (
        amendment.state,
        amendment.frozen_text,
        count(AmendmentEvent),
        count(Ballot),
        count(RollEntry),
        count(OutboxMessage),
    )


@pytest.fixture
def people(membership_vote, make_member, receiver, proposer, voters) -> dict:
    """One member of each kind the pages tell apart, made before any ballot opens."""
    ada = db.session.scalar(select(Member).filter_by(email="ada@example.org"))
    return {
        "anonymous": None,
        "member": voters[0],
        "suspended": make_member(name="Sam Suspended", standing="suspended"),
        "proposer": proposer,
        "receiver": receiver,
        "admin": ada,
    }


# Opening ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "status"),
    [
        ("anonymous", 302),
        ("member", 403),
        ("suspended", 403),
        ("proposer", 403),
        ("admin", 403),
        ("receiver", 200),
    ],
)
def test_only_a_receiver_may_open_the_ballot(client, sign_in, ready, people, role, status):
    if people[role]:
        sign_in(people[role])
    before = snapshot(ready.id)
    for method in (client.get, client.post):
        response = method(f"/amendments/{ready.id}/ballot/open")
        if role == "receiver" and method == client.post:
            break
        assert response.status_code == status, (role, method)
        if status == 302:
            assert "/auth/sign-in" in response.location
        assert snapshot(ready.id) == before


def test_opening_an_unknown_amendment_is_404(client, sign_in, receiver, ready):
    sign_in(receiver)
    assert client.get("/amendments/999/ballot/open").status_code == 404


def test_the_opening_page_previews_the_mail_roll_and_closing_time_and_writes_nothing(
    client, sign_in, receiver, ready, voters
):
    sign_in(receiver)
    before = snapshot(ready.id)
    response = client.get(f"/amendments/{ready.id}/ballot/open")
    assert response.status_code == 200
    page = text(response)
    # 5 voters, the proposer, the receiver and the admin are in good standing.
    assert "8 members in good standing will be on the roll" in page
    assert "Subject:</strong> Ballot: Patience" in page
    assert "[your personal voting link]" in page and "[your personal voting code]" in page
    # The text members will vote on, though it is frozen only when the ballot opens.
    assert "Be kind[+ and patient+]." in page
    # Clock at 2026-03-01 12:00 UTC; one week; Berlin is an hour ahead in March.
    assert "2026-03-08 12:00 UTC" in page
    assert "March 8, 2026" in page and "1:00:00" in page
    assert "more than half of the votes cast" in page
    assert "Secret: nobody can find out how a member voted." in page
    assert "Open the ballot and mail 8 members" in page
    assert snapshot(ready.id) == before
    assert not ready.is_frozen


def test_posting_the_opening_form_opens_the_ballot_and_goes_to_its_page(
    client, sign_in, receiver, ready, voters
):
    sign_in(receiver)
    response = client.post(f"/amendments/{ready.id}/ballot/open")
    ballot = db.session.scalar(select(Ballot))
    assert response.status_code == 302 and response.location == f"/ballots/{ballot.id}"
    assert ballot.roll_size == 8
    assert db.session.get(Amendment, ready.id).state == State.BALLOT_OPEN
    page = text(client.get(response.location))
    assert "The ballot is open: 8 members are on the roll" in page
    assert f"The roll was frozen at opening: 8 members, fingerprint {ballot.roll_fingerprint}" in (
        page
    )


def test_opening_is_refused_once_open_or_when_the_amendment_is_not_waiting_for_it(
    client, sign_in, receiver, ballot, submitted
):
    sign_in(receiver)
    before = snapshot(ballot.amendment_id)
    for method in (client.get, client.post):
        response = method(f"/amendments/{ballot.amendment_id}/ballot/open")
        assert response.status_code == 409
        assert "not waiting for its ballot: it is ballot open" in text(response)
        assert f"/ballots/{ballot.id}" in text(response)
    assert snapshot(ballot.amendment_id) == before


def test_a_submitted_amendment_cannot_have_its_ballot_opened_yet(
    client, sign_in, membership_vote, submitted, receivers
):
    sign_in(receivers[0])
    before = snapshot(submitted.id)
    response = client.post(f"/amendments/{submitted.id}/ballot/open")
    assert response.status_code == 409
    assert "it is submitted" in text(response)
    assert snapshot(submitted.id) == before


def test_the_amendment_page_and_inbox_lead_a_receiver_to_open_the_ballot(
    client, sign_in, receiver, ready, voters
):
    open_link = f"/amendments/{ready.id}/ballot/open"
    sign_in(voters[0])
    assert open_link not in text(client.get(f"/amendments/{ready.id}"))
    client.post("/auth/sign-out")
    sign_in(receiver)
    assert open_link in text(client.get(f"/amendments/{ready.id}"))
    inbox = text(client.get("/amendments/inbox"))
    assert open_link in inbox[inbox.index("Waiting for the ballot") :]
    client.post(open_link)
    ballot = db.session.scalar(select(Ballot))
    page = text(client.get(f"/amendments/{ready.id}"))
    assert open_link not in page and f"/ballots/{ballot.id}" in page
    inbox = text(client.get("/amendments/inbox"))
    assert "No proposal is waiting for its ballot." in inbox


# The ballot page -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("role", "sees"),
    [
        ("anonymous", "Sign in to vote"),
        ("suspended", "not on this ballot's roll"),
        ("late joiner", "not on this ballot's roll"),
        ("member", 'action="/ballots/{id}/confirm"'),
        ("admin", 'action="/ballots/{id}/confirm"'),
        ("receiver", "Turnout so far"),
    ],
)
def test_the_ballot_page_for_each_role(client, sign_in, make_member, people, ballot, role, sees):
    member = make_member(name="Late Joiner") if role == "late joiner" else people[role]
    if member:
        sign_in(member)
    response = client.get(f"/ballots/{ballot.id}")
    assert response.status_code == 200
    page = text(response)
    assert sees.format(id=ballot.id) in page
    assert "Question: should amendment #" in page and "Be kind<ins> and patient</ins>." in page
    assert ("Turnout so far" in page) == (role == "receiver")
    has_form = 'name="choice"' in page
    assert has_form == (role in ("member", "admin", "receiver"))


def test_anonymous_visitors_sign_in_first_when_documents_are_private(app, client, ballot):
    app.config["DOCUMENTS_PUBLIC"] = False
    response = client.get(f"/ballots/{ballot.id}")
    assert response.status_code == 302 and "/auth/sign-in" in response.location


def test_an_unknown_ballot_is_404(client, ballot, sign_in, receiver):
    assert client.get("/ballots/999").status_code == 404
    sign_in(receiver)
    for url in ("/ballots/999", "/ballots/999/remind", "/ballots/0"):
        assert client.get(url).status_code == 404, url
    for url in ("/ballots/999/cast", "/ballots/999/resend", "/ballots/999/new-link"):
        assert client.post(url, data={"choice": "yes"}).status_code == 404, url


def test_nobody_sees_how_the_votes_stand_while_the_ballot_is_open(
    client, sign_in, ballot, voters, receiver, people
):
    for member, choice in zip(voters[:4], ["yes", "yes", "yes", "no"], strict=True):
        ballots.cast(entry_of(ballot, member), choice)
        db.session.commit()
    for role in ("receiver", "member", "admin", "anonymous"):
        client.post("/auth/sign-out")
        if people[role]:
            sign_in(people[role])
        page = text(client.get(f"/ballots/{ballot.id}"))
        assert "The result" not in page and "ballot-counts" not in page, role
        assert "data-choice" not in page and "The arithmetic" not in page, role
        assert "Receipt codes counted" not in page, role
        assert "<dt>Yes</dt>" not in page and "3 yes" not in page, role
    # Receivers see turnout only: 4 of 8 voted, as a bar and a chart with a table.
    client.post("/auth/sign-out")
    sign_in(receiver)
    page = text(client.get(f"/ballots/{ballot.id}"))
    assert "Voted so far: 4 of 8 members (50%)." in page
    assert '<progress id="turnout-progress" class="turnout-progress" max="8" value="4">' in page
    assert '<svg viewBox="0 0 600 240"' in page and "<polyline" in page
    assert "Turnout over time as a table" in page
    assert "style=" not in page


def test_after_closing_the_page_shows_the_result_its_arithmetic_and_every_receipt(
    client, ballot, voters, clock
):
    codes = [
        ballots.cast(entry_of(ballot, member), choice).receipt
        for member, choice in zip(voters, ["yes", "yes", "yes", "no", "abstain"], strict=True)
    ]
    db.session.commit()
    clock.advance(days=7)
    # No worker came by: opening the page closes the ballot.
    page = text(client.get(f"/ballots/{ballot.id}"))
    assert "Passed" in page
    assert '<dd data-choice="yes">3</dd>' in page and '<dd data-choice="no">1</dd>' in page
    assert '<dd data-choice="abstain">1</dd>' in page
    assert "5 of 8 members voted" in page
    assert db.session.get(Ballot, ballot.id).arithmetic in page.replace("&gt;", ">")
    assert "more than half of the votes cast" in page
    for code in codes:
        assert f"<code>{code}</code>" in page
    assert "<rect" in page and "style=" not in page
    assert db.session.get(Amendment, ballot.amendment_id).state == State.RATIFIED


def test_every_ballot_page_is_kept_from_caches_and_referrers(
    client, sign_in, ballot, receiver, voters
):
    sign_in(receiver)
    responses = [
        client.get(f"/amendments/{ballot.amendment_id}/ballot/open"),
        client.get(f"/ballots/{ballot.id}"),
        client.get(f"/ballots/{ballot.id}/remind"),
        client.get("/ballots/vote"),
        client.post("/ballots/vote", data={"token": "forged"}),
        client.post(f"/ballots/{ballot.id}/confirm", data={"choice": "yes"}),
        client.post(f"/ballots/{ballot.id}/cast", data={"choice": "maybe"}),
        client.post(f"/ballots/{ballot.id}/cast", data={"choice": "yes"}),
        client.post(f"/ballots/{ballot.id}/resend"),
        client.get("/ballots/999"),
    ]
    client.post("/auth/sign-out")
    responses.append(client.post(f"/ballots/{ballot.id}/cast", data={"choice": "yes"}))
    for response in responses:
        assert response.headers["Referrer-Policy"] == "no-referrer", response.request.path
        assert response.headers["Cache-Control"] == "no-store", response.request.path


# Reminders and new links -------------------------------------------------------------------


def test_a_receiver_confirms_a_reminder_and_a_second_within_a_day_is_refused(
    client, sign_in, ballot, receiver, voters, clock
):
    ballots.cast(entry_of(ballot, voters[0]), "yes")
    db.session.commit()
    sign_in(receiver)
    assert f"/ballots/{ballot.id}/remind" in text(client.get(f"/ballots/{ballot.id}"))
    confirmation = text(client.get(f"/ballots/{ballot.id}/remind"))
    assert "7 members who have not voted will get a reminder." in confirmation
    assert count(BallotMailing) == 0
    response = client.post(f"/ballots/{ballot.id}/remind")
    assert response.status_code == 302 and response.location == f"/ballots/{ballot.id}"
    mailing = db.session.scalar(select(BallotMailing))
    assert (mailing.kind, mailing.requested_by_id) == ("reminder", receiver.id)
    clock.advance(hours=23)
    again = client.post(f"/ballots/{ballot.id}/remind")
    assert again.status_code == 409 and "less than 24 hours ago" in text(again)
    assert count(BallotMailing) == 1
    clock.advance(hours=2)
    assert client.post(f"/ballots/{ballot.id}/remind").status_code == 302
    assert count(BallotMailing) == 2


def test_only_receivers_remind_or_resend_and_only_while_open(
    client, sign_in, ballot, receiver, voters, clock
):
    sign_in(voters[0])
    assert client.get(f"/ballots/{ballot.id}/remind").status_code == 403
    assert client.post(f"/ballots/{ballot.id}/remind").status_code == 403
    assert client.post(f"/ballots/{ballot.id}/resend").status_code == 403
    client.post("/auth/sign-out")
    assert "/auth/sign-in" in client.post(f"/ballots/{ballot.id}/remind").location
    sign_in(receiver)
    clock.advance(days=7)
    for response in (
        client.get(f"/ballots/{ballot.id}/remind"),
        client.post(f"/ballots/{ballot.id}/remind"),
        client.post(f"/ballots/{ballot.id}/resend"),
    ):
        assert response.status_code == 409 and "has closed" in text(response)
    assert count(BallotMailing) == 0


def test_new_links_go_to_those_whose_mail_failed_or_may_not_have_arrived(
    client, sign_in, ballot, receiver, voters
):
    statuses = [MailStatus.SENT, MailStatus.UNCERTAIN, MailStatus.FAILED, MailStatus.FAILED]
    for member, status in zip(voters, statuses, strict=False):
        entry = entry_of(ballot, member)
        entry.mail_status, entry.token_hash = status, f"{member.id:064d}"
    db.session.commit()
    # Voter 3's mail failed, but a link reached them another way and they voted.
    ballots.cast(entry_of(ballot, voters[3]), "no")
    db.session.commit()
    sign_in(receiver)
    page = text(client.get(f"/ballots/{ballot.id}"))
    assert "Send new links to the 2 members whose mail failed or may not have arrived" in page
    assert re.search(r"<dt>Failed</dt><dd>2</dd>", page)
    assert re.search(r"<dt>May not have arrived</dt><dd>1</dd>", page)
    response = client.post(f"/ballots/{ballot.id}/resend")
    assert response.status_code == 302
    assert "New links are on their way to 2 members." in text(client.get(response.location))
    db.session.expire_all()
    rows = {m.name: entry_of(ballot, m) for m in voters[:4]}
    assert [(rows[m.name].mail_status, rows[m.name].token_hash) for m in voters[1:3]] == [
        (MailStatus.PENDING, None),
        (MailStatus.PENDING, None),
    ]
    assert rows["Voter 0"].mail_status == MailStatus.SENT
    assert rows["Voter 3"].mail_status == MailStatus.FAILED
    page = text(client.get(f"/ballots/{ballot.id}"))
    assert "whose mail failed or may not have arrived" not in page
