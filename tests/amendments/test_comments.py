"""The written discussion: members comment in Markdown before the first vote; it is sanitized."""

import re

import pytest
from sqlalchemy import func, select

from govern.amendments.comments import add_comment, render_comment
from govern.amendments.models import COMMENT_MAX, Amendment, Comment
from govern.extensions import db
from govern.procedures.states import State
from tests.governance import TOKEN, at_once


@pytest.fixture
def member(make_member):
    return make_member(name="Mo Member")


def comment_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Comment))


def post(client, amendment: Amendment, body: str):
    return client.post(f"/amendments/{amendment.id}/comments", data={"body": body})


def test_a_member_comments_and_everyone_signed_in_reads_it(
    client, submitted, member, receiver, sign_in
):
    sign_in(member)
    response = post(client, submitted, "I *agree*, with **one** caveat:\n\n- patience is earned")
    comment = db.session.scalars(select(Comment)).one()
    assert response.status_code == 302
    assert response.location.endswith(f"/amendments/{submitted.id}#comment-{comment.id}")
    client.post("/auth/sign-out")
    sign_in(receiver)
    page = client.get(f"/amendments/{submitted.id}").get_data(as_text=True)
    assert f'id="comment-{comment.id}"' in page
    assert "Mo Member" in page
    assert "<em>agree</em>" in page and "<strong>one</strong>" in page
    assert "<li>patience is earned</li>" in page


def test_the_proposer_is_marked_as_such(client, submitted, proposer, sign_in):
    sign_in(proposer)
    post(client, submitted, "Happy to answer questions.")
    page = client.get(f"/amendments/{submitted.id}").get_data(as_text=True)
    assert "Pat Proposer (proposer)" in page


@pytest.mark.parametrize(
    "body, forbidden",
    [
        ("<script>alert(1)</script>", "<script"),
        ('<img src=x onerror="alert(1)">', "<img"),
        ("[click](javascript:alert(1))", "javascript:"),
        ("[click](JaVaScRiPt:alert(1))", "alert"),
        ('<a href="https://example.org" onclick="alert(1)">x</a>', "onclick"),
        ("# Shouting heading", "<h1"),
    ],
)
def test_comments_are_rendered_sanitized(client, submitted, member, sign_in, body, forbidden):
    sign_in(member)
    assert post(client, submitted, body).status_code == 302
    page = client.get(f"/amendments/{submitted.id}").get_data(as_text=True)
    discussion = page[page.index('id="discussion-heading"') : page.index('id="timeline-heading"')]
    # The text may show up escaped; no tag carries it.
    assert not [tag for tag in re.findall(r"<[^>]*>", discussion) if forbidden in tag]
    assert db.session.scalars(select(Comment.body)).one() == body  # stored as written


def test_links_in_comments_cannot_act_for_the_reader():
    html = render_comment("See [the seeds](https://example.org/a?b=1) and <https://example.org>.")
    assert 'href="https://example.org/a?b=1"' in html
    assert 'rel="nofollow noopener noreferrer"' in html


@pytest.mark.parametrize(
    "body, message",
    [
        ("", "Write your comment first."),
        ("   \n\n  ", "Write your comment first."),
        ("x" * (COMMENT_MAX + 1), "The comment is longer than 20,000 characters"),
        ("nul \x00 byte", "The text contains a null character."),
    ],
)
def test_a_bad_comment_is_refused_next_to_its_field(
    client, submitted, member, sign_in, body, message
):
    sign_in(member)
    response = post(client, submitted, body)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert comment_count() == 0


def test_the_comment_form_carries_a_token_and_a_double_click_posts_once(
    client, submitted, member, sign_in
):
    sign_in(member)
    page = client.get(f"/amendments/{submitted.id}").get_data(as_text=True)
    token = re.search(r'name="form_token" type="hidden" value="([\w-]+)"', page).group(1)
    data = {"body": "Agreed.", "form_token": token}
    first = client.post(f"/amendments/{submitted.id}/comments", data=data)
    second = client.post(f"/amendments/{submitted.id}/comments", data=data)
    assert first.status_code == second.status_code == 302
    assert first.location == second.location
    assert comment_count() == 1


def test_a_double_click_whose_requests_run_at_once_posts_once(
    app, client, submitted, member, sign_in
):
    sign_in(member)
    data = {"body": "Agreed.", "form_token": TOKEN}
    responses = at_once(app, client, f"/amendments/{submitted.id}/comments", data)
    assert {response.status_code for response in responses} == {302}
    assert len({response.location for response in responses}) == 1
    assert comment_count() == 1


def test_another_form_or_changed_words_make_another_comment(submitted, member):
    first = add_comment(submitted, member, "Agreed.", TOKEN)
    assert add_comment(submitted, member, "Agreed.", TOKEN) is first
    assert add_comment(submitted, member, "Agreed.", TOKEN.upper()) is not first
    assert add_comment(submitted, member, "Agreed, mostly.", TOKEN) is not first
    assert add_comment(submitted, member, "Agreed.") is not first
    assert comment_count() == 4


def test_a_suspended_member_reads_but_cannot_comment(client, submitted, make_member, sign_in):
    suspended = make_member(name="Sus Pended", standing="suspended")
    sign_in(suspended)
    page = client.get(f"/amendments/{submitted.id}").get_data(as_text=True)
    assert "Only members in good standing can comment." in page
    assert 'name="body"' not in page
    response = post(client, submitted, "Let me in.")
    assert response.status_code == 400
    assert "Only a member in good standing can comment." in response.get_data(as_text=True)
    assert comment_count() == 0


def test_drafts_have_no_discussion(client, draft, proposer, member, sign_in):
    sign_in(member)
    assert post(client, draft, "Peeking.").status_code == 404
    client.post("/auth/sign-out")
    sign_in(proposer)
    page = client.get(f"/amendments/{draft.id}").get_data(as_text=True)
    assert 'id="discussion-heading"' not in page
    response = post(client, draft, "Note to self.")
    assert response.status_code == 400
    assert "A draft is private" in response.get_data(as_text=True)
    assert comment_count() == 0


@pytest.mark.parametrize(
    "state, message",
    [
        (State.MEETING_VOTE_OPEN, "The written discussion closed when voting started."),
        (State.BALLOT_OPEN, "The written discussion closed when voting started."),
        (State.WITHDRAWN, "This proposal is closed, and so is its written discussion."),
        (State.FAILED, "This proposal is closed, and so is its written discussion."),
    ],
)
def test_the_discussion_closes_when_voting_starts_and_stays_readable(
    client, submitted, member, sign_in, state, message
):
    add_comment(submitted, member, "Before the vote.")
    submitted.state = state
    if state in (State.MEETING_VOTE_OPEN, State.BALLOT_OPEN):
        submitted.freeze()
    db.session.commit()
    sign_in(member)
    response = post(client, submitted, "After the vote.")
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert message in page
    assert "Before the vote." in page
    assert 'name="body"' not in page
    assert comment_count() == 1


def test_anonymous_visitors_cannot_comment(client, submitted):
    response = post(client, submitted, "Hello?")
    assert response.status_code == 302 and "/auth/sign-in" in response.location
    assert comment_count() == 0
