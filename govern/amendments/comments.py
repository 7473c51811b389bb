"""The written discussion of an amendment: members' comments, in Markdown, before it is voted on.

Comments are open from submission until the first vote starts (SCORE: "written comments
are possible before the meeting"); after that they stay readable. Only members see them.
"""

import nh3
from flask_babel import gettext
from markdown_it import MarkdownIt
from markupsafe import Markup

from govern import clock
from govern.amendments.checks import (
    checked_form_token,
    flush_once,
    made_by_form,
    plain_or_refused,
)
from govern.amendments.errors import AmendmentError
from govern.amendments.models import COMMENT_MAX, Amendment, Comment
from govern.documents.rendering import ALLOWED_ATTRIBUTES, ALLOWED_TAGS
from govern.extensions import db
from govern.members.models import Member
from govern.procedures.states import State, has_voting_started, is_final

# Headings would compete with the page's own, and images would load from anywhere: a
# "# line" stays a paragraph, an image stays text. Raw HTML is shown as text.
COMMENT_TAGS = ALLOWED_TAGS - {f"h{level}" for level in range(1, 7)}
_markdown = (
    MarkdownIt("commonmark", {"html": False})
    .enable("strikethrough")
    .disable(["heading", "lheading", "image"])
)


def why_comments_are_closed(amendment: Amendment) -> str | None:
    """None while members may comment; otherwise the reason, for the page and the error."""
    if amendment.state == State.DRAFT:
        return gettext("A draft is private: it can be discussed once it is submitted.")
    if is_final(amendment.state):
        return gettext("This proposal is closed, and so is its written discussion.")
    if has_voting_started(amendment.state):
        return gettext("The written discussion closed when voting started.")
    return None


def add_comment(
    amendment: Amendment, author: Member, body: str, form_token: str | None = None
) -> Comment:
    """The new comment. `form_token` comes from the comment form: the same form sent twice
    (a double click, even two requests at once) posts one comment, returned to both."""
    if not author.is_eligible:
        raise AmendmentError(gettext("Only a member in good standing can comment."))
    closed = why_comments_are_closed(amendment)
    if closed is not None:
        raise AmendmentError(closed)
    body = plain_or_refused(body.replace("\r\n", "\n").strip(), "body")
    if not body:
        raise AmendmentError(gettext("Write your comment first."), "body")
    if len(body) > COMMENT_MAX:
        raise AmendmentError(
            gettext(
                "The comment is longer than %(max)s characters (it has %(length)s).",
                max=f"{COMMENT_MAX:,}",
                length=f"{len(body):,}",
            ),
            "body",
        )
    form_token = checked_form_token(form_token)
    done = made_by_form(Comment, Comment.author_id, author, form_token)
    if done is not None:
        if done.body == body and done.amendment_id == amendment.id:
            return done
        form_token = None  # the same form, changed and sent again: a new comment
    comment = Comment(
        amendment=amendment,
        author=author,
        body=body,
        created_at=clock.now(),
        form_token=form_token,
    )
    db.session.add(comment)
    return flush_once(comment, Comment.author_id, author)


def render_comment(body: str) -> Markup:
    html = _markdown.render(body)
    return Markup(
        nh3.clean(
            html,
            tags=COMMENT_TAGS,
            attributes=ALLOWED_ATTRIBUTES,
            url_schemes={"http", "https", "mailto"},
            link_rel="nofollow noopener noreferrer",
        )
    )
