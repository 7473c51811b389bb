"""Importing documents and versions, and reading their history."""

import re
import unicodedata
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import gettext
from flask_login import current_user
from sqlalchemy import func, select
from sqlalchemy.orm import defer

from govern import clock
from govern.documents.models import Document, TextFormat, Version, VersionSource
from govern.extensions import db
from govern.members.models import Member


class DocumentError(ValueError):
    """Why a document or version cannot be imported, in words for the admin."""


def decode_text(data: bytes) -> str:
    """Check an uploaded text: UTF-8, not empty, within the size limit."""
    limit = current_app.config["MAX_DOCUMENT_BYTES"]
    if len(data) > limit:
        raise DocumentError(
            gettext(
                "The document is too large (%(size)s KB); the limit is %(limit)s KB.",
                size=len(data) // 1000,
                limit=limit // 1000,
            )
        )
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise DocumentError(
            gettext(
                "The file is not UTF-8 text (unreadable byte at position %(position)s). "
                "Save it as UTF-8 and try again.",
                position=error.start,
            )
        ) from None
    return normalize_text(text)


def normalize_text(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = "\n".join(line.rstrip() for line in text.split("\n")).strip("\n")
    if not text.strip():
        raise DocumentError(gettext("The document is empty."))
    if "\x00" in text:
        raise DocumentError(gettext("The file is not a text file."))
    return unicodedata.normalize("NFC", text) + "\n"


def start_of_day(day: date) -> datetime:
    """Midnight of `day` in the organization's time zone, as an aware datetime."""
    zone = ZoneInfo(current_app.config["ORGANIZATION_TIMEZONE"])
    return datetime.combine(day, time(0, 0), tzinfo=zone)


def format_for_filename(filename: str) -> TextFormat:
    return TextFormat.PLAIN if filename.lower().endswith(".txt") else TextFormat.MARKDOWN


def slugify(title: str) -> str:
    ascii_title = unicodedata.normalize("NFKD", title).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_title.lower()).strip("-")
    return slug[:80] or "document"


def find_document(slug: str) -> Document | None:
    return db.session.scalar(select(Document).filter_by(slug=slug))


def visible_documents() -> list[Document]:
    if not current_app.config["DOCUMENTS_PUBLIC"] and not current_user.is_authenticated:
        return []
    return list(db.session.scalars(select(Document).order_by(Document.title)))


def create_document(title: str, slug: str, format: TextFormat) -> Document:
    title = title.strip()
    if not title:
        raise DocumentError(gettext("The document needs a title."))
    if find_document(slug):
        raise DocumentError(gettext("A document with the address “%(slug)s” exists.", slug=slug))
    document = Document(title=title, slug=slug, format=format)
    db.session.add(document)
    db.session.flush()
    return document


def latest_version(document: Document) -> Version | None:
    return db.session.scalar(
        select(Version).filter_by(document_id=document.id).order_by(Version.number.desc()).limit(1)
    )


def add_version(
    document: Document,
    text: str,
    *,
    effective_at: datetime | None = None,
    summary: str = "",
    source: VersionSource = VersionSource.IMPORTED,
    ratified_at: datetime | None = None,
    actor: Member | None = None,
) -> Version:
    """Append the next version; history only moves forward in time."""
    effective_at = effective_at or clock.now()
    previous = latest_version(document)
    if previous is not None:
        if previous.text == text:
            raise DocumentError(
                gettext("The text is the same as version %(number)s.", number=previous.number)
            )
        if effective_at < previous.effective_at:
            raise DocumentError(
                gettext(
                    "Version %(number)s took effect later than the date given; "
                    "import versions oldest first.",
                    number=previous.number,
                )
            )
    version = Version(
        document_id=document.id,
        number=previous.number + 1 if previous else 1,
        text=text,
        summary=summary.strip()[:500],
        source=source,
        effective_at=effective_at,
        ratified_at=ratified_at,
        created_by_id=actor.id if actor else None,
    )
    db.session.add(version)
    db.session.flush()
    return version


def get_version(document: Document, number: int) -> Version | None:
    return db.session.scalar(select(Version).filter_by(document_id=document.id, number=number))


def versions_newest_first(document: Document) -> list[Version]:
    return list(
        db.session.scalars(
            select(Version)
            .filter_by(document_id=document.id)
            .options(defer(Version.text))
            .order_by(Version.number.desc())
        )
    )


def version_count(document: Document) -> int:
    return db.session.scalar(
        select(func.count()).select_from(Version).filter_by(document_id=document.id)
    )
