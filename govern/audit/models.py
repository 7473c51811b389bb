"""The audit trail: every governance action, in a hash chain that `audit verify` checks."""

from datetime import datetime

from sqlalchemy import CheckConstraint, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from govern.extensions import db
from govern.types import UTCDateTime

HASH_LENGTH = 64
GENESIS_HASH = "0" * HASH_LENGTH


class AuditEvent(db.Model):
    """One governance action. Never updated or deleted: the database refuses it, and
    `hash` covers every column with `prev_hash`, so an edited, removed or reordered row
    breaks the chain."""

    __tablename__ = "audit_events"
    __table_args__ = (
        CheckConstraint("seq >= 1", name="seq_positive"),
        Index("ix_audit_events_subject", "subject_type", "subject_id"),
        Index("ix_audit_events_action", "action"),
    )

    # The position in the chain, 1, 2, 3...: given in commit order under the head's lock.
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    # None: the system (the worker, a command) or a member since removed.
    actor_id: Mapped[int | None] = mapped_column(Integer)
    # The actor's name at the time, kept: members rename, the trail does not.
    actor_name: Mapped[str] = mapped_column(String(200), default="")
    action: Mapped[str] = mapped_column(String(64))
    subject_type: Mapped[str] = mapped_column(String(32))
    subject_id: Mapped[int | None] = mapped_column(Integer)
    # Canonical JSON (sorted keys, no spaces): what the action changed and why.
    data: Mapped[str] = mapped_column(Text, default="{}")
    prev_hash: Mapped[str] = mapped_column(String(HASH_LENGTH))
    hash: Mapped[str] = mapped_column(String(HASH_LENGTH), unique=True)

    def __repr__(self) -> str:
        return f"<AuditEvent {self.seq} {self.action}>"


class AuditHead(db.Model):
    """One row: the last event's position and hash. Appending takes its lock first, so
    events chain in commit order; and deleting the last events shows against it."""

    __tablename__ = "audit_head"
    __table_args__ = (CheckConstraint("id = 1", name="single_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    seq: Mapped[int] = mapped_column(Integer, default=0)
    hash: Mapped[str] = mapped_column(String(HASH_LENGTH), default=GENESIS_HASH)
