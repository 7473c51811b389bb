"""What the amendment services check before they change anything: input, proposer, form."""

import re
from typing import TypeVar

from flask import current_app
from flask_babel import gettext
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import InstrumentedAttribute

from govern.amendments.errors import AmendmentError
from govern.amendments.models import FORM_TOKEN_MAX, RATIONALE_MAX, TITLE_MAX, Amendment, Comment
from govern.documents.services import DocumentError, human_size, normalize_text
from govern.extensions import db
from govern.members.models import Member

R = TypeVar("R", Amendment, Comment)
FORM_TOKEN = re.compile(rf"[A-Za-z0-9_-]{{16,{FORM_TOKEN_MAX}}}")


# The actor --------------------------------------------------------------------------------


def check_proposer(amendment: Amendment, actor: Member, message: str) -> None:
    if actor.id != amendment.proposer_id:
        raise AmendmentError(message)


# The input --------------------------------------------------------------------------------


def checked_title(title: str) -> str:
    title = plain_or_refused(" ".join(title.split()), "title")
    if not title:
        raise AmendmentError(gettext("A proposal needs a title."), "title")
    if len(title) > TITLE_MAX:
        raise AmendmentError(
            gettext("The title is longer than %(max)s characters.", max=TITLE_MAX), "title"
        )
    return title


def checked_rationale(rationale: str) -> str:
    rationale = rationale.replace("\r\n", "\n").strip()
    if len(rationale) > RATIONALE_MAX:
        raise AmendmentError(
            gettext(
                "The rationale is longer than %(max)s characters (it has %(length)s).",
                max=f"{RATIONALE_MAX:,}",
                length=f"{len(rationale):,}",
            ),
            "rationale",
        )
    return plain_or_refused(rationale, "rationale")


def checked_text(text: str) -> str:
    check_text_size(plain_or_refused(text, "proposed_text"))
    try:
        return normalize_text(text)
    except DocumentError as error:
        raise AmendmentError(str(error), "proposed_text") from None


def check_text_size(text: str) -> None:
    """Refuse a proposed text over MAX_DOCUMENT_BYTES; lone surrogates count, not crash."""
    limit = current_app.config["MAX_DOCUMENT_BYTES"]
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > limit:
        raise AmendmentError(
            gettext(
                "The proposed text is too large (%(size)s); the limit is %(limit)s.",
                size=human_size(size),
                limit=human_size(limit),
            ),
            "proposed_text",
        )


def plain_or_refused(value: str, field: str) -> str:
    """Refuse what no database stores as text: null characters, lone surrogates."""
    try:
        value.encode()
    except UnicodeEncodeError:
        raise AmendmentError(
            gettext("The text contains characters that are not valid."), field
        ) from None
    if "\x00" in value:
        raise AmendmentError(gettext("The text contains a null character."), field)
    return value


# A form sent twice ------------------------------------------------------------------------


def flush_once(row: R, owner: InstrumentedAttribute, member: Member) -> R:
    """Flush `row`; if the same form (its `form_token`) got there first, a double click whose
    two requests ran at once, roll back and return the row the first one made."""
    try:
        db.session.flush()
    except IntegrityError:
        db.session.rollback()
        done = made_by_form(type(row), owner, member, row.form_token)
        if done is None:
            raise
        return done
    return row


def checked_form_token(form_token: str | None) -> str | None:
    """The form's token, or None for anything no form of ours sends (no protection then)."""
    if form_token and FORM_TOKEN.fullmatch(form_token):
        return form_token
    return None


def made_by_form(model: type[R], owner, member: Member, form_token: str | None) -> R | None:
    if not form_token:
        return None
    return db.session.scalar(
        select(model).where(owner == member.id, model.form_token == form_token)
    )
