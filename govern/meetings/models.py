"""Meetings and their agendas; an amendment's discussion slot is one agenda item."""

from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from govern import clock
from govern.extensions import db
from govern.members.models import Member
from govern.types import UTCDateTime

if TYPE_CHECKING:
    from govern.amendments.models import Amendment

MEETING_TITLE_MAX = 200
PLACE_MAX = 300
LINK_MAX = 500
ITEM_TITLE_MAX = 300


class MeetingKind(StrEnum):
    REGULAR = "regular"
    # Created for one amendment's discussion.
    STANDALONE = "standalone"


class Meeting(db.Model):
    __tablename__ = "meetings"
    __table_args__ = (
        CheckConstraint("kind IN ('regular', 'standalone')", name="kind"),
        CheckConstraint("ends_at > starts_at", name="ends_after_start"),
        CheckConstraint("place <> '' OR online_link <> ''", name="place_or_link"),
        Index("ix_meetings_starts_at", "starts_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    title: Mapped[str] = mapped_column(String(MEETING_TITLE_MAX))
    kind: Mapped[str] = mapped_column(String(16), default=MeetingKind.REGULAR)
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    place: Mapped[str] = mapped_column(String(PLACE_MAX), default="")
    online_link: Mapped[str] = mapped_column(String(LINK_MAX), default="")
    # The calendar event's UID, fixed at creation: a calendar updates the event it has
    # instead of adding a second one. SEQUENCE goes up whenever the time or place change.
    uid: Mapped[str] = mapped_column(String(255), unique=True)
    sequence: Mapped[int] = mapped_column(default=0)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    created_by: Mapped[Member | None] = relationship()
    items: Mapped[list["AgendaItem"]] = relationship(
        back_populates="meeting", order_by="AgendaItem.position"
    )

    def __repr__(self) -> str:
        return f"<Meeting #{self.id} {self.starts_at:%Y-%m-%d %H:%M}>"


class AgendaItem(db.Model):
    __tablename__ = "agenda_items"
    __table_args__ = (
        UniqueConstraint("meeting_id", "position"),
        # An amendment is discussed once per meeting.
        UniqueConstraint("meeting_id", "amendment_id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id"))
    position: Mapped[int]
    title: Mapped[str] = mapped_column(String(ITEM_TITLE_MAX))
    # The amendment whose discussion slot this is; None for any other item.
    amendment_id: Mapped[int | None] = mapped_column(ForeignKey("amendments.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    meeting: Mapped[Meeting] = relationship(back_populates="items")
    amendment: Mapped["Amendment | None"] = relationship(back_populates="agenda_items")

    def __repr__(self) -> str:
        return f"<AgendaItem {self.meeting_id}.{self.position}>"
