"""Governing documents and their immutable versions."""

import hashlib
import json
from datetime import datetime
from enum import StrEnum
from functools import lru_cache

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, select
from sqlalchemy.orm import Mapped, mapped_column, relationship

from govern import clock
from govern.extensions import db
from govern.procedures import catalog
from govern.procedures.stages import Procedure
from govern.types import UTCDateTime

# The largest number PostgreSQL's INTEGER holds (SQLite's driver overflows past 2**63):
# a larger one in an address or a form is no version of any document, and never a query.
MAX_VERSION_NUMBER = 2**31 - 1


class TextFormat(StrEnum):
    MARKDOWN = "markdown"
    PLAIN = "text"


class VersionSource(StrEnum):
    IMPORTED = "imported"
    AMENDMENT = "amendment"


def procedure_snapshot_json(procedure: Procedure) -> str:
    """The stored form of a procedure: `catalog.to_dict` as JSON, keys sorted."""
    return json.dumps(catalog.to_dict(procedure), sort_keys=True)


def default_procedure_snapshot() -> str:
    return procedure_snapshot_json(catalog.get_template(catalog.DEFAULT_PROCEDURE_KEY))


@lru_cache(maxsize=256)
def procedure_of_snapshot(snapshot: str) -> Procedure:
    """Procedures are immutable, so each stored snapshot is read once per process (a
    ballot's thousands of mails all ask for it)."""
    return catalog.from_dict(json.loads(snapshot))


class Document(db.Model):
    __tablename__ = "documents"
    __table_args__ = (CheckConstraint("format IN ('markdown', 'text')", name="format"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    title: Mapped[str] = mapped_column(String(200))
    format: Mapped[str] = mapped_column(String(16), default=TextFormat.MARKDOWN)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    # The procedure its amendments follow; each amendment copies it when submitted.
    procedure_snapshot: Mapped[str] = mapped_column(Text, default=default_procedure_snapshot)

    versions: Mapped[list["Version"]] = relationship(
        back_populates="document", order_by="Version.number"
    )

    @property
    def procedure(self) -> Procedure:
        return procedure_of_snapshot(self.procedure_snapshot or default_procedure_snapshot())

    def version_in_force(self, at: datetime | None = None) -> "Version | None":
        """The newest version whose effective date has come."""
        at = at or clock.now()
        return db.session.scalar(
            select(Version)
            .where(Version.document_id == self.id, Version.effective_at <= at)
            .order_by(Version.number.desc())
            .limit(1)
        )

    def __repr__(self) -> str:
        return f"<Document {self.slug}>"


class Version(db.Model):
    """One version of a document's text. Never updated: the database refuses it."""

    __tablename__ = "versions"
    __table_args__ = (
        UniqueConstraint("document_id", "number"),
        CheckConstraint("number >= 1", name="number_positive"),
        CheckConstraint("source IN ('imported', 'amendment')", name="source"),
        # Covers the history list, so it never reads through the texts.
        Index(
            "ix_versions_history", "document_id", "number", "effective_at", "ratified_at", "summary"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"), index=True)
    number: Mapped[int]
    text: Mapped[str] = mapped_column(Text)
    text_sha256: Mapped[str] = mapped_column(String(64))
    summary: Mapped[str] = mapped_column(String(500), default="")
    source: Mapped[str] = mapped_column(String(16), default=VersionSource.IMPORTED)
    effective_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ratified_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))

    document: Mapped[Document] = relationship(back_populates="versions")

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        self.text_sha256 = hashlib.sha256(self.text.encode()).hexdigest()

    def __repr__(self) -> str:
        return f"<Version {self.document_id}#{self.number}>"
