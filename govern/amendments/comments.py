"""The written discussion of an amendment: members' comments, in Markdown, before it is voted on.

Comments are open from submission until the first vote starts (SCORE: "written comments
are possible before the meeting"); after that they stay readable. Only members see them.
"""

import nh3
from flask_babel import gettext
from markdown_it import MarkdownIt
from markupsafe import Markup
from sqlalchemy import select

from govern import clock
from govern.amendments.models import COMMENT_MAX, Amendment, Comment
from govern.amendments.services import REPEAT_WINDOW, AmendmentError, plain_or_refused
from govern.documents.rendering import ALLOWED_ATTRIBUTES, ALLOWED_TAGS
from govern.extensions import db
from govern.members.models import Member
from govern.procedures.states import State, has_voting_started, is_final

# Headings would compete with the page's own; their text stays, as a paragraph.
COMMENT_TAGS = ALLOWED_TAGS - {f"h{level}" for level in range(1, 7)}

# Raw HTML in a comment is shown as text, never interpreted.
_markdown = MarkdownIt("commonmark", {"html": False}).enable("strikethrough")


def why_comments_are_closed(amendment: Amendment) -> str | None:
    """None while members may comment; otherwise the reason, for the page and the error."""
    if amendment.state == State.DRAFT:
        return gettext("A draft is private: it can be discussed once it is submitted.")
    if is_final(amendment.state):
        return gettext("This proposal is closed, and so is its written discussion.")
    if has_voting_started(amendment.state):
        return gettext("The written discussion closed when voting started.")
    return None


def add_comment(amendment: Amendment, author: Member, body: str) -> Comment | None:
    """The new comment; None when the same author just posted the same text (a double click)."""
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
    if _is_repeat(amendment, author, body):
        return None
    comment = Comment(amendment=amendment, author=author, body=body, created_at=clock.now())
    db.session.add(comment)
    db.session.flush()
    return comment


def _is_repeat(amendment: Amendment, author: Member, body: str) -> bool:
    latest = db.session.scalar(
        select(Comment)
        .where(Comment.amendment_id == amendment.id, Comment.author_id == author.id)
        .order_by(Comment.created_at.desc(), Comment.id.desc())
        .limit(1)
    )
    return (
        latest is not None
        and latest.body == body
        and clock.now() - latest.created_at < REPEAT_WINDOW
    )


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
