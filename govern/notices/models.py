"""A ratification notice: sent once per amendment, it gives the document its new version."""

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from govern import clock
from govern.amendments.models import Amendment
from govern.documents.models import Document, Version
from govern.extensions import db
from govern.members.models import Member
from govern.types import UTCDateTime

SUBJECT_MAX = 200
BODY_MAX = 100_000


class Notice(db.Model):
    """What the receiver sent to the membership, as sent. Sending moves the amendment to
    in effect and adds the version, effective now or on the later date chosen; only
    `applied_at` is written afterwards, when the worker notes that date has come."""

    __tablename__ = "notices"
    __table_args__ = (
        CheckConstraint("effective_at >= sent_at", name="effective_not_before_sending"),
        Index("ix_notices_sent_at", "sent_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # One notice per amendment, and one per version it made.
    amendment_id: Mapped[int] = mapped_column(ForeignKey("amendments.id"), unique=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"), index=True)
    version_id: Mapped[int] = mapped_column(ForeignKey("versions.id"), unique=True)
    subject: Mapped[str] = mapped_column(String(SUBJECT_MAX))
    # Markdown, rendered sanitized (raw HTML off) like comments.
    body: Mapped[str] = mapped_column(Text)
    sent_by_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    # When the amendment passed its last vote.
    ratified_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The version's effective_at: now, or the later date the receiver chose.
    effective_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # When the version took effect was noted (at once for "now", else by the worker).
    applied_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    amendment: Mapped[Amendment] = relationship()
    document: Mapped[Document] = relationship()
    version: Mapped[Version] = relationship()
    sent_by: Mapped[Member | None] = relationship()

    def __repr__(self) -> str:
        return f"<Notice #{self.id} for amendment #{self.amendment_id}>"
