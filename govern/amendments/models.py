"""Amendments: a proposed text against one version of a document, and its timeline."""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from govern import clock
from govern.documents.models import Document, Version, procedure_of_snapshot
from govern.extensions import db
from govern.meetings.models import AgendaItem
from govern.members.models import Member
from govern.procedures.stages import Event, Procedure
from govern.procedures.states import State
from govern.types import UTCDateTime, one_of

TITLE_MAX = 200
RATIONALE_MAX = 50_000
NOTE_MAX = 500
COMMENT_MAX = 20_000
FORM_TOKEN_MAX = 64


class TimelineEntry(StrEnum):
    """What an amendment event records: the procedure's events and the proposer's edits."""

    STARTED = "started"
    UPDATED = "updated"
    REBASED = "rebased"
    REVISED = "revised"
    BALLOT_REMINDER = "ballot_reminder"
    BALLOT_LINKS = "ballot_links"
    # The version its notice made reached its effective date (noted by the worker).
    TOOK_EFFECT = "took_effect"


STATE_VALUES = one_of([state.value for state in State])
EVENT_VALUES = one_of([event.value for event in (*TimelineEntry, *Event)])


class Amendment(db.Model):
    __tablename__ = "amendments"
    __table_args__ = (
        CheckConstraint(f"state IN {STATE_VALUES}", name="state"),
        # Only a draft (or a draft withdrawn before submission) has no procedure of its own.
        CheckConstraint(
            "procedure_snapshot IS NOT NULL OR state IN ('draft', 'withdrawn')",
            name="procedure_once_submitted",
        ),
        CheckConstraint(
            "(frozen_text IS NULL) = (frozen_base_text IS NULL)", name="frozen_together"
        ),
        CheckConstraint("revises_id <> id", name="revises_another"),
        Index("ix_amendments_document_state", "document_id", "state"),
        Index("ix_amendments_state_updated", "state", "updated_at"),
        # A form sent twice (a double click) makes one draft.
        UniqueConstraint("proposer_id", "form_token"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    document_id: Mapped[int] = mapped_column(ForeignKey("documents.id"))
    base_version_id: Mapped[int] = mapped_column(ForeignKey("versions.id"))
    proposer_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    title: Mapped[str] = mapped_column(String(TITLE_MAX))
    rationale: Mapped[str] = mapped_column(Text, default="")
    proposed_text: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(32), default=State.DRAFT)
    # catalog.to_dict of the document's procedure, copied at submission: a running
    # amendment keeps the procedure it started under.
    procedure_snapshot: Mapped[str | None] = mapped_column(Text)
    # None: addressed to all receivers.
    addressed_to_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"), index=True)
    # One revision per amendment, so "revised by #15" names exactly one.
    revises_id: Mapped[int | None] = mapped_column(ForeignKey("amendments.id"), unique=True)
    # Set when the first vote starts; the text voted on never changes afterwards.
    frozen_base_text: Mapped[str | None] = mapped_column(Text)
    frozen_text: Mapped[str | None] = mapped_column(Text)
    # The random token of the form that started the draft; None when not from a form.
    form_token: Mapped[str | None] = mapped_column(String(FORM_TOKEN_MAX))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now, onupdate=clock.now)

    document: Mapped[Document] = relationship()
    base_version: Mapped[Version] = relationship()
    proposer: Mapped[Member] = relationship(foreign_keys=[proposer_id])
    addressed_to: Mapped[Member | None] = relationship(foreign_keys=[addressed_to_id])
    revises: Mapped["Amendment | None"] = relationship(
        remote_side=[id], back_populates="revised_by"
    )
    revised_by: Mapped["Amendment | None"] = relationship(back_populates="revises")
    events: Mapped[list["AmendmentEvent"]] = relationship(
        back_populates="amendment", order_by="(AmendmentEvent.at, AmendmentEvent.id)"
    )
    # Its discussion slots; more than one only when the discussion was moved to another meeting.
    agenda_items: Mapped[list[AgendaItem]] = relationship(
        back_populates="amendment", order_by="AgendaItem.id"
    )
    comments: Mapped[list["Comment"]] = relationship(
        back_populates="amendment", order_by="(Comment.created_at, Comment.id)"
    )

    @property
    def procedure(self) -> Procedure:
        """Its own procedure once submitted; a draft follows its document's."""
        if self.procedure_snapshot is None:
            return self.document.procedure
        return procedure_of_snapshot(self.procedure_snapshot)

    @property
    def is_frozen(self) -> bool:
        return self.frozen_text is not None

    def freeze(self) -> None:
        """Fix the text to vote on; called when the first vote starts, and only once."""
        if not self.is_frozen:
            self.frozen_base_text = self.base_version.text
            self.frozen_text = self.proposed_text

    def __repr__(self) -> str:
        return f"<Amendment #{self.id} {self.state}>"


class AmendmentEvent(db.Model):
    """One entry of an amendment's timeline: who did what, from which state to which."""

    __tablename__ = "amendment_events"
    __table_args__ = (
        CheckConstraint(f"event IN {EVENT_VALUES}", name="event"),
        CheckConstraint(f"to_state IN {STATE_VALUES}", name="to_state"),
        CheckConstraint(f"from_state IS NULL OR from_state IN {STATE_VALUES}", name="from_state"),
        Index("ix_amendment_events_amendment_at", "amendment_id", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    amendment_id: Mapped[int] = mapped_column(ForeignKey("amendments.id"))
    # None: the system (the worker closing a ballot) or a deleted member.
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    event: Mapped[str] = mapped_column(String(32))
    from_state: Mapped[str | None] = mapped_column(String(32))
    to_state: Mapped[str] = mapped_column(String(32))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    note: Mapped[str] = mapped_column(String(NOTE_MAX), default="")

    amendment: Mapped[Amendment] = relationship(back_populates="events")
    actor: Mapped[Member | None] = relationship()


class Comment(db.Model):
    """A member's written contribution to the discussion, in Markdown (rendered sanitized)."""

    __tablename__ = "amendment_comments"
    __table_args__ = (
        Index("ix_amendment_comments_amendment_created", "amendment_id", "created_at"),
        # A form sent twice (a double click) posts one comment.
        UniqueConstraint("author_id", "form_token"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    amendment_id: Mapped[int] = mapped_column(ForeignKey("amendments.id"))
    author_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    body: Mapped[str] = mapped_column(Text)
    form_token: Mapped[str | None] = mapped_column(String(FORM_TOKEN_MAX))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    amendment: Mapped[Amendment] = relationship(back_populates="comments")
    author: Mapped[Member] = relationship()
