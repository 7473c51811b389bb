"""Meetings and their agendas; an amendment's discussion slot is one agenda item."""

from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, text
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
NOTE_MAX = 500
CHECK_IN_CODE_LENGTH = 6


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
    # Shown on the screen in the room or the call: members check themselves in with it
    # while check-in is open. None until a chair opens check-in.
    check_in_code: Mapped[str | None] = mapped_column(String(CHECK_IN_CODE_LENGTH))
    check_in_open: Mapped[bool] = mapped_column(default=False)
    cancelled_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
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


# Running a meeting: attendance, the speakers queue, ouches, votes and minutes -----------


class Attendance(db.Model):
    """A member's presence at a meeting: checked in by a chair or with the meeting's code,
    present until checked out. One row per member and meeting; checking in again after
    leaving clears `checked_out_at`."""

    __tablename__ = "attendances"
    __table_args__ = (
        UniqueConstraint("meeting_id", "member_id"),
        CheckConstraint(
            "checked_out_at IS NULL OR checked_out_at >= checked_in_at", name="out_after_in"
        ),
        Index("ix_attendances_meeting_present", "meeting_id", "checked_out_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    checked_in_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    checked_out_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # None: the member checked in with the meeting's code.
    recorded_by_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))

    meeting: Mapped[Meeting] = relationship()
    member: Mapped[Member] = relationship(foreign_keys=[member_id])
    recorded_by: Mapped[Member | None] = relationship(foreign_keys=[recorded_by_id])


class SpeakerStatus(StrEnum):
    WAITING = "waiting"
    SPEAKING = "speaking"
    DONE = "done"
    WITHDRAWN = "withdrawn"


class SpeakerRequest(db.Model):
    """A member's turn to speak on an agenda item (SCORE's Modified Progressive Stack).

    The facilitator's priority is a number and nothing else: the tool never asks why.
    """

    __tablename__ = "speaker_requests"
    __table_args__ = (
        CheckConstraint("status IN ('waiting', 'speaking', 'done', 'withdrawn')", name="status"),
        CheckConstraint("ended_at IS NULL OR started_at IS NOT NULL", name="ends_after_start"),
        # One turn waiting or speaking per member and item: asking twice changes nothing.
        Index(
            "uq_speaker_requests_open",
            "agenda_item_id",
            "member_id",
            unique=True,
            sqlite_where=text("status IN ('waiting', 'speaking')"),
            postgresql_where=text("status IN ('waiting', 'speaking')"),
        ),
        Index("ix_speaker_requests_item_status", "agenda_item_id", "status"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    agenda_item_id: Mapped[int] = mapped_column(ForeignKey("agenda_items.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    # None: the member asked from their own device.
    added_by_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    priority: Mapped[int] = mapped_column(default=0)
    status: Mapped[str] = mapped_column(String(16), default=SpeakerStatus.WAITING)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    agenda_item: Mapped[AgendaItem] = relationship()
    member: Mapped[Member] = relationship(foreign_keys=[member_id])


class OuchNote(db.Model):
    """An "ouch" noted against the moment it was said, and the "oops" that answered it.
    It records the moment and what the facilitator writes, never who was hurt."""

    __tablename__ = "ouch_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id"), index=True)
    agenda_item_id: Mapped[int | None] = mapped_column(ForeignKey("agenda_items.id"))
    noted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    noted_by_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    note: Mapped[str] = mapped_column(String(NOTE_MAX), default="")
    oops_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    meeting: Mapped[Meeting] = relationship()
    agenda_item: Mapped[AgendaItem | None] = relationship()


class VoteMode(StrEnum):
    HAND_COUNT = "hand_count"
    ELECTRONIC = "electronic"


class MeetingVote(db.Model):
    """The vote of a meeting on an amendment's agenda item, by hand count or electronically.

    The counts, the number of eligible members present and the decision are written once,
    when the vote closes. An electronic vote's choices are counted here and who voted is
    kept apart (MeetingVoter), so the record does not say who voted how.
    """

    __tablename__ = "meeting_votes"
    __table_args__ = (
        CheckConstraint("mode IN ('hand_count', 'electronic')", name="mode"),
        CheckConstraint("yes >= 0 AND no >= 0 AND abstain >= 0", name="counts_not_negative"),
        CheckConstraint(
            "eligible_present IS NULL OR yes + no + abstain <= eligible_present",
            name="no_more_votes_than_present",
        ),
        CheckConstraint("(closed_at IS NULL) = (passed IS NULL)", name="decided_when_closed"),
        # One open vote per amendment.
        Index(
            "uq_meeting_votes_open",
            "amendment_id",
            unique=True,
            sqlite_where=text("closed_at IS NULL"),
            postgresql_where=text("closed_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    agenda_item_id: Mapped[int] = mapped_column(ForeignKey("agenda_items.id"), index=True)
    amendment_id: Mapped[int] = mapped_column(ForeignKey("amendments.id"), index=True)
    mode: Mapped[str] = mapped_column(String(16))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    opened_by_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_by_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    yes: Mapped[int] = mapped_column(default=0)
    no: Mapped[int] = mapped_column(default=0)
    abstain: Mapped[int] = mapped_column(default=0)
    # Voting-eligible members checked in when the vote closed.
    eligible_present: Mapped[int | None]
    passed: Mapped[bool | None]
    rule: Mapped[str] = mapped_column(Text, default="")
    arithmetic: Mapped[str] = mapped_column(Text, default="")

    agenda_item: Mapped[AgendaItem] = relationship()
    amendment: Mapped["Amendment"] = relationship()


class MeetingVoter(db.Model):
    """That a member voted in an electronic meeting vote, not how: one row each, ever."""

    __tablename__ = "meeting_voters"
    __table_args__ = (UniqueConstraint("vote_id", "member_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    vote_id: Mapped[int] = mapped_column(ForeignKey("meeting_votes.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"))
    voted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)


class Minutes(db.Model):
    """The secretary's minutes of a meeting, in Markdown; read-only once approved."""

    __tablename__ = "minutes"

    id: Mapped[int] = mapped_column(primary_key=True)
    meeting_id: Mapped[int] = mapped_column(ForeignKey("meetings.id"), unique=True)
    body: Mapped[str] = mapped_column(Text, default="")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))

    meeting: Mapped[Meeting] = relationship()
