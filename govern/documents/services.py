"""Importing documents and versions, and reading their history."""

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import format_date, gettext
from flask_login import current_user
from sqlalchemy import Row, func, select
from sqlalchemy.exc import IntegrityError

from govern import audit, clock
from govern.audit.hashing import timestamp as audit_time
from govern.documents.caching import SizedCache, size_of_strings
from govern.documents.diff import DocumentDiff, diff_texts
from govern.documents.models import (
    MAX_VERSION_NUMBER,
    Document,
    TextFormat,
    Version,
    VersionSource,
)
from govern.documents.slugs import FALLBACK_SLUG, is_valid_slug, slugify
from govern.extensions import db
from govern.members.models import Member

TITLE_MAX = 200
SUMMARY_MAX = 500
# Earlier dates are typing mistakes (0001-01-01), and near year 1 a date cannot even be
# converted to UTC east of Greenwich.
MIN_YEAR = 1800


class DocumentError(ValueError):
    """Why a document or version cannot be imported, in words for the admin.

    `field` names the import form field the message belongs to.
    """

    def __init__(self, message: str, field: str = "file") -> None:
        super().__init__(message)
        self.field = field


@dataclass(frozen=True)
class VersionFile:
    """One version to import: the uploaded bytes, when it took effect (None: now), why."""

    data: bytes
    name: str = ""
    effective_at: datetime | None = None
    summary: str = ""
    ratified_at: datetime | None = None


def human_size(size: int) -> str:
    """A byte count as the admin reads it: 1 MB, 512 KB."""
    if size >= 1_000_000:
        return f"{size / 1_000_000:g} MB"
    return f"{size / 1000:g} KB"


def decode_text(data: bytes) -> str:
    """Check an uploaded text: UTF-8, not empty, within the size limit."""
    limit = current_app.config["MAX_DOCUMENT_BYTES"]
    if len(data) > limit:
        raise DocumentError(
            gettext(
                "The document is too large (%(size)s); the limit is %(limit)s.",
                size=human_size(len(data)),
                limit=human_size(limit),
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
    """One spelling of a text: LF line ends, no trailing spaces, NFC, one final newline."""
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


def find_document(slug: str) -> Document | None:
    return db.session.scalar(select(Document).filter_by(slug=slug))


def all_documents() -> list[Document]:
    return list(db.session.scalars(select(Document).order_by(Document.title)))


def visible_documents() -> list[Document]:
    if not current_app.config["DOCUMENTS_PUBLIC"] and not current_user.is_authenticated:
        return []
    return all_documents()


def create_document(title: str, slug: str, format: TextFormat) -> Document:
    title = title.strip()
    if not title:
        raise DocumentError(gettext("A new document needs a title."), "title")
    if len(title) > TITLE_MAX:
        raise DocumentError(
            gettext("The title is longer than %(max)s characters.", max=TITLE_MAX), "title"
        )
    if not is_valid_slug(slug):
        raise DocumentError(
            gettext("Use lowercase letters, digits and dashes for the web address."), "slug"
        )
    if find_document(slug):
        raise DocumentError(
            gettext(
                "A document with the web address “%(slug)s” exists already. "
                "Choose another address, or import a new version of that document.",
                slug=slug,
            ),
            "slug",
        )
    document = Document(title=title, slug=slug, format=format)
    db.session.add(document)
    _flush_or_refuse(
        gettext(
            "Another document with the web address “%(slug)s” was created at the same "
            "moment; reload and try again.",
            slug=slug,
        ),
        "slug",
    )
    return document


def _slug_for_title(title: str) -> str:
    slug = slugify(title)
    return _unused_fallback_slug() if slug == FALLBACK_SLUG else slug


def _unused_fallback_slug() -> str:
    """document, document-2, document-3...: titles without letters or digits have nothing
    better, and should not collide. (Two documents of the same title do: the admin
    probably meant a new version of the first.)"""
    taken = set(
        db.session.scalars(
            select(Document.slug).where(
                (Document.slug == FALLBACK_SLUG) | Document.slug.like(f"{FALLBACK_SLUG}-%")
            )
        )
    )
    number = 1
    slug = FALLBACK_SLUG
    while slug in taken:
        number += 1
        slug = f"{FALLBACK_SLUG}-{number}"
    return slug


def _flush_or_refuse(message: str, field: str = "file") -> None:
    """Flush, turning a unique constraint that a concurrent import got to first into
    DocumentError. The caller rolls back, as for any DocumentError.

    No SAVEPOINT: with pysqlite's default transaction handling, a SAVEPOINT that opens
    the transaction commits it when released, which would break all-or-nothing imports.
    """
    try:
        db.session.flush()
    except IntegrityError:
        raise DocumentError(message, field) from None


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
                    "The date given (%(date)s) is before version %(number)s took effect "
                    "(%(previous)s); import versions oldest first.",
                    date=format_date(effective_at, "long"),
                    number=previous.number,
                    previous=format_date(previous.effective_at, "long"),
                ),
                "effective_on",
            )
    version = Version(
        document_id=document.id,
        number=previous.number + 1 if previous else 1,
        text=text,
        summary=summary.strip()[:SUMMARY_MAX],
        source=source,
        effective_at=effective_at,
        ratified_at=ratified_at,
        created_by_id=actor.id if actor else None,
    )
    db.session.add(version)
    # The number comes from a SELECT: two imports at once both choose it.
    _flush_or_refuse(
        gettext("Another version was imported at the same moment; reload and try again.")
    )
    # `audit verify` compares every version's text with the hash recorded here.
    audit.record(
        "version.added",
        actor,
        version,
        document=document.slug,
        number=version.number,
        source=str(source),
        text_sha256=version.text_sha256,
        effective_at=audit_time(effective_at),
        ratified_at=audit_time(ratified_at) if ratified_at else None,
        summary=version.summary,
    )
    return version


def import_versions(
    files: Sequence[VersionFile],
    *,
    document: Document | None = None,
    title: str = "",
    slug: str = "",
    format: TextFormat | None = None,
    actor: Member | None = None,
) -> list[Version]:
    """Import `files`, oldest first, as the next versions of `document`, or as the
    versions of a new document when `document` is None.

    Raises DocumentError for the first problem; the caller rolls back, so a bad file
    anywhere imports nothing.
    """
    if document is None and not title.strip():
        raise DocumentError(gettext("A new document needs a title."), "title")
    texts = [_checked(file, len(files) > 1) for file in files]
    if document is None:
        document = create_document(
            title,
            slug or _slug_for_title(title),
            format or format_for_filename(files[0].name if files else ""),
        )
    versions = []
    for file, text in zip(files, texts, strict=True):
        try:
            versions.append(
                add_version(
                    document,
                    text,
                    effective_at=file.effective_at,
                    summary=file.summary,
                    ratified_at=file.ratified_at,
                    actor=actor,
                )
            )
        except DocumentError as error:
            raise _about(file, error, len(files) > 1) from None
    return versions


def _checked(file: VersionFile, name_it: bool) -> str:
    try:
        _check_date(
            file.effective_at,
            "effective_on",
            gettext(
                "The date %(date)s is in the future; import a version with the date it took effect."
            ),
        )
        _check_date(
            file.ratified_at,
            "ratified_on",
            gettext("The date %(date)s is in the future; give the date the version was ratified."),
        )
        return decode_text(file.data)
    except DocumentError as error:
        raise _about(file, error, name_it) from None


def _check_date(moment: datetime | None, field: str, in_the_future: str) -> None:
    """Refuse a date before MIN_YEAR or after now; `in_the_future` says why, with %(date)s."""
    if moment is None:
        return
    # The day as given, in the organization's zone (from the form or the CLI): near
    # year 1, converting it to another zone would overflow.
    day = format_date(moment.date(), "long")
    if moment.year < MIN_YEAR:
        raise DocumentError(
            gettext(
                "The date %(date)s is too far in the past; give a date from %(year)s on.",
                date=day,
                year=MIN_YEAR,
            ),
            field,
        )
    if moment > clock.now():
        raise DocumentError(in_the_future % {"date": day}, field)


def _about(file: VersionFile, error: DocumentError, name_it: bool) -> DocumentError:
    """With several files, say which one the message is about."""
    if not name_it or not file.name:
        return error
    return DocumentError(f"{file.name}: {error}", error.field)


def get_version(document: Document, number: int) -> Version | None:
    return db.session.scalar(select(Version).filter_by(document_id=document.id, number=number))


def versions_newest_first(document: Document) -> list[Row]:
    """The history list: one query for plain rows (number, dates, summary), no texts and
    no ORM objects, as a document may have hundreds of versions."""
    return list(
        db.session.execute(
            select(
                Version.id,
                Version.number,
                Version.summary,
                Version.effective_at,
                Version.ratified_at,
            )
            .where(Version.document_id == document.id)
            .order_by(Version.number.desc())
        )
    )


def diff_versions(old: Version, new: Version) -> DocumentDiff:
    # Versions never change, so a comparison just made is kept for the next visitor.
    return _diffs.get_or_make(
        (old.text_sha256, new.text_sha256), lambda: diff_texts(old.text, new.text)
    )


def _diff_size(diff: DocumentDiff) -> int:
    strings = {}  # by identity: an unchanged paragraph's segment is its text
    segments = 0
    for block in diff.blocks:
        strings.update((id(text), text) for text in (block.old, block.new) if text is not None)
        strings.update((id(segment.text), segment.text) for segment in block.segments)
        segments += len(block.segments)
    # Bytes per block and segment object as measured with tracemalloc.
    return size_of_strings(strings.values(), overhead=150 * len(diff.blocks) + 100 * segments)


# A diff takes 3-7 times its texts (270 KB for two 40 KB versions far apart) and is the
# slowest thing to make again (~200 ms for those, seconds for 1 MB texts): dozens of
# diffs of ordinary documents, a few of the largest.
_diffs: SizedCache[DocumentDiff] = SizedCache(16_000_000, _diff_size)


def version_count(document: Document) -> int:
    return db.session.scalar(
        select(func.count()).select_from(Version).filter_by(document_id=document.id)
    )


def versions_to_compare(
    document: Document, old: str | None, new: str | None
) -> tuple[Version, Version]:
    """The two versions named by the numbers a visitor chose (from query arguments)."""
    if not old or not new:
        raise DocumentError(gettext("Choose two versions to compare."))
    versions = []
    for value in (old, new):
        if not (value.isascii() and value.isdigit()):
            raise DocumentError(gettext("“%(value)s” is not a version number.", value=value))
        digits = value.lstrip("0") or "0"
        # No int() of a 5,000-digit value (Python refuses it), no number the database
        # column cannot hold.
        in_range = len(digits) <= len(str(MAX_VERSION_NUMBER)) and int(digits) <= MAX_VERSION_NUMBER
        version = get_version(document, int(digits)) if in_range else None
        if version is None:
            raise DocumentError(
                gettext(
                    "%(title)s has no version %(number)s; its versions are 1 to %(last)s.",
                    title=document.title,
                    number=digits,
                    last=version_count(document),
                )
            )
        versions.append(version)
    return versions[0], versions[1]
