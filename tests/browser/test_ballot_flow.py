"""Voting by the mailed link in Chromium: the page's script takes the token out of the
address bar and opens the ballot; the member votes Yes through the confirmation, reads the
receipt, and finds it on the result page once the ballot has closed."""

import re
from datetime import timedelta

import pytest
from playwright.sync_api import expect

from govern.ballots import services as ballots
from govern.ballots.models import Ballot, Receipt
from govern.extensions import db
from govern.members.models import Member, hash_token
from tests.browser.conftest import check_accessibility, propose_to_the_code_of_conduct, sign_in

pytestmark = pytest.mark.browser


@pytest.fixture
def open_ballot(live_app):
    """Mina's proposal under a vote of the membership, its ballot open; Jun's link."""
    with live_app.app_context():
        proposal, people = propose_to_the_code_of_conduct(
            [
                ("Ada Admin", "admin@example.org", ["admin"]),
                ("Mina Member", "mina@example.org", []),
                ("Jun Park", "jun@example.org", []),
                ("Rosa Receiver", "rosa@example.org", ["receiver"]),
            ],
            procedure="membership-vote",
        )
        rosa = people["rosa@example.org"]
        ballot = ballots.open_ballot(proposal, rosa)
        # What the worker does before mailing Jun his link.
        token = ballots.new_token()
        ballots.entry_for_member(ballot, people["jun@example.org"]).token_hash = hash_token(token)
        db.session.commit()
        return {"ballot": ballot.id, "token": token}


def test_a_member_votes_by_the_mailed_link_and_checks_the_receipt(
    browser, live_server, live_app, open_ballot, caplog
):
    page = browser.new_context(base_url=live_server.url).new_page()
    errors: list[str] = []
    page.on("console", lambda message: message.type == "error" and errors.append(message.text))
    token, ballot_id = open_ballot["token"], open_ballot["ballot"]

    # Answer the form the script posts with "204 No Content", which leaves the page as the
    # script left it, to see that.
    page.route(
        "**/ballots/vote",
        lambda route: (
            route.fulfill(status=204) if route.request.method == "POST" else route.continue_()
        ),
    )
    with page.expect_request(lambda request: request.method == "POST"):
        page.goto(f"/ballots/vote#{token}", wait_until="commit")
    assert page.url == f"{live_server.url}/ballots/vote"
    assert page.evaluate("window.location.hash") == ""
    expect(page.get_by_label("Voting code")).to_have_value(token)
    page.unroute("**/ballots/vote")
    page.get_by_role("button", name="Open my ballot").click()

    expect(page.get_by_role("heading", name="Ballot on #1 Patience")).to_be_visible()
    expect(page.get_by_text("Voting as Jun Park.")).to_be_visible()
    assert token not in page.url
    check_accessibility(page)
    page.get_by_label("Yes").check()
    page.get_by_role("button", name="Continue").click()
    expect(page.get_by_text("You are about to vote: Yes.")).to_be_visible()
    check_accessibility(page)
    page.get_by_role("button", name="Cast my vote").click()

    expect(page.get_by_role("heading", name="Your vote was recorded")).to_be_visible()
    receipt = page.locator("output#receipt").inner_text().strip()
    assert re.fullmatch(r"[2-9A-Z]{4}-[2-9A-Z]{4}-[2-9A-Z]{4}", receipt)
    check_accessibility(page)
    with live_app.app_context():
        assert db.session.get(Receipt, (ballot_id, receipt)) is not None
        # A week later (the live server keeps the real clock, so the ballot moves instead).
        ballot = db.session.get(Ballot, ballot_id)
        ballot.opened_at -= timedelta(days=7, minutes=1)
        ballot.closes_at -= timedelta(days=7, minutes=1)
        db.session.commit()

    page.goto(f"/ballots/{ballot_id}")
    expect(page.get_by_text("Passed", exact=True)).to_be_visible()
    expect(page.locator("ul.receipt-codes")).to_contain_text(receipt)
    check_accessibility(page)
    assert errors == []
    # The server never saw the token in an address, so no access log line holds it.
    assert "GET /ballots/vote HTTP" in caplog.text and token not in caplog.text


def test_a_receiver_sees_turnout_but_no_counts_while_the_ballot_is_open(
    page, live_app, open_ballot
):
    with live_app.app_context():
        ballot = db.session.get(Ballot, open_ballot["ballot"])
        mina = db.session.scalar(db.select(Member).filter_by(email="mina@example.org"))
        ballots.cast(ballots.entry_for_member(ballot, mina), "no")
        db.session.commit()
    sign_in(page, "rosa@example.org", "Rosa Receiver")
    page.goto(f"/ballots/{open_ballot['ballot']}")
    expect(page.get_by_label("Voted so far: 1 of 4 members (25%).")).to_have_attribute("value", "1")
    expect(page.get_by_role("img", name=re.compile("Turnout over time"))).to_be_visible()
    expect(page.get_by_text("The arithmetic")).to_have_count(0)
    check_accessibility(page)
    page.get_by_role("link", name="Send a reminder…").click()
    expect(page.get_by_text("3 members who have not voted will get a reminder.")).to_be_visible()
    page.get_by_role("button", name="Send the reminder").click()
    expect(page.get_by_text("The reminder is on its way")).to_be_visible()
    assert page.console_errors == []
