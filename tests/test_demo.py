"""`flask --app govern demo`: a demo organization, safe to load twice."""

from sqlalchemy import func, select

from govern import clock
from govern.amendments.models import Amendment, Comment
from govern.demo import BALLOT_TITLE, PROPOSAL_TITLE
from govern.documents import services
from govern.documents.models import Document, Version
from govern.extensions import db
from govern.mail.models import OutboxMessage
from govern.meetings.models import AgendaItem, Meeting
from govern.members.models import Member, MemberChange, MemberRole
from govern.members.services import authenticate

COUNTED = (
    Member,
    MemberRole,
    MemberChange,
    Document,
    Version,
    OutboxMessage,
    Amendment,
    Comment,
    Meeting,
    AgendaItem,
)


def row_counts() -> dict[str, int]:
    db.session.rollback()
    return {
        model.__name__: db.session.scalar(select(func.count()).select_from(model))
        for model in COUNTED
    }


def run_demo(app):
    result = app.test_cli_runner().invoke(args=["demo"])
    assert result.exit_code == 0, result.output
    return result


def test_demo_creates_members_and_a_code_of_conduct_with_three_versions(app, client):
    result = run_demo(app)
    assert "admin@example.org" in result.output and "demo-admin" in result.output
    db.session.rollback()
    document = services.find_document("code-of-conduct")
    history = services.versions_newest_first(document)
    assert [v.number for v in history] == [3, 2, 1]
    assert all(v.summary for v in history)
    assert authenticate("admin@example.org", "demo-admin").is_admin
    page = client.get("/documents/code-of-conduct").get_data(as_text=True)
    assert "Last updated on June 20, 2025 (version 3)." in page
    compare = client.get("/documents/code-of-conduct/compare?old=1&new=3")
    assert compare.status_code == 200 and "<ins>" in compare.get_data(as_text=True)


def test_demo_run_twice_changes_nothing(app):
    run_demo(app)
    first = row_counts()
    assert first["Member"] >= 5 and first["Document"] == 1 and first["Version"] == 3
    result = run_demo(app)
    assert row_counts() == first
    assert "Demo organization ready." in result.output


def test_demo_refuses_to_run_outside_development_unless_forced(app):
    app.config["IS_DEVELOPMENT"] = False
    before = row_counts()
    refused = app.test_cli_runner().invoke(args=["demo"])
    assert refused.exit_code != 0
    assert "GOVERN_ENV=development" in refused.output
    assert row_counts() == before
    forced = app.test_cli_runner().invoke(args=["demo", "--force"])
    assert forced.exit_code == 0, forced.output
    assert row_counts()["Document"] == 1


def test_demo_has_a_proposal_scheduled_for_discussion_with_a_comment(app, client):
    run_demo(app)
    db.session.rollback()
    proposal = db.session.scalars(select(Amendment).filter_by(title=PROPOSAL_TITLE)).one()
    assert proposal.state == "discussion_scheduled"
    assert proposal.agenda_items[0].meeting.title == "Monthly general meeting"
    assert len(proposal.comments) == 1
    client.post("/auth/sign-in", data={"email": "member@example.org", "password": "demo-member"})
    page = client.get(f"/amendments/{proposal.id}").get_data(as_text=True)
    assert "Say oops when you hurt someone" in page and "<ins>" in page
    assert "Monthly general meeting" in page
    assert "<strong>who</strong>" in page


def test_demo_has_a_ballot_open_that_mina_can_still_vote_on(app, client):
    from govern.ballots import running
    from govern.ballots import services as ballots
    from govern.members.services import find_member_by_email

    run_demo(app)
    db.session.rollback()
    proposal = db.session.scalars(select(Amendment).filter_by(title=BALLOT_TITLE)).one()
    assert proposal.state == "ballot_open"
    ballot = ballots.ballot_of(proposal)
    assert ballot.is_open_at(clock.now())
    assert running.turnout(ballot).voted == 1  # Jun
    mina = ballots.entry_for_member(ballot, find_member_by_email("member@example.org"))
    assert mina is not None and not mina.voted
    assert "anonymously" in proposal.frozen_text
