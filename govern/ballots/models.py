"""A ballot, its frozen roll and its counts.

Who voted (`ballot_roll`) and what was chosen (`ballot_counts`) share no key, no time and
no order: the choice side holds only a counter per choice, so there is no row per vote to
link to anyone. Receipts (`ballot_receipts`) say that a ballot was counted, never how; on
SQLite they have no rowid, so not even their storage order follows the order of voting.
Only a roll-call ballot, set so by the procedure, writes the choice on the roll.
"""

from datetime import datetime
from enum import StrEnum

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from govern import clock
from govern.amendments.models import Amendment
from govern.extensions import db
from govern.members.models import Member
from govern.types import UTCDateTime, one_of

FINGERPRINT_LENGTH = 64  # sha256 in hex


class Choice(StrEnum):
    YES = "yes"
    NO = "no"
    ABSTAIN = "abstain"


class MailStatus(StrEnum):
    """The personal ballot mail of one member on the roll.

    `sending` is committed before the mail leaves. A worker that dies before it records
    `sent` leaves the row `sending`; once the lease has run out it becomes `uncertain` and
    is not sent again by itself, so no member gets two ballot mails. A receiver (or the
    member) asks for a new link, which makes the old one stop working.
    """

    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    UNCERTAIN = "uncertain"
    FAILED = "failed"


class MailingKind(StrEnum):
    REMINDER = "reminder"
    RESULT = "result"


class Ballot(db.Model):
    __tablename__ = "ballots"
    __table_args__ = (
        CheckConstraint("closes_at > opened_at", name="closes_after_opening"),
        CheckConstraint("roll_size >= 0", name="roll_size_not_negative"),
        CheckConstraint("(closed_at IS NULL) = (passed IS NULL)", name="decided_when_closed"),
        CheckConstraint(
            "closed_at IS NULL OR (yes + no + abstain = voters AND voters <= roll_size)",
            name="tally_adds_up",
        ),
        Index("ix_ballots_open_closes_at", "closed_at", "closes_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # One ballot per amendment: a failed one is revised as a new amendment.
    amendment_id: Mapped[int] = mapped_column(ForeignKey("amendments.id"), unique=True)
    opened_by_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # Exactly the procedure's duration after opening; never changed.
    closes_at: Mapped[datetime] = mapped_column(UTCDateTime)
    roll_call: Mapped[bool] = mapped_column(default=False)
    roll_size: Mapped[int]
    # sha256 of the sorted member ids on the roll, joined by commas: published at opening.
    roll_fingerprint: Mapped[str] = mapped_column(String(FINGERPRINT_LENGTH))
    # When the automatic reminder goes; None for none.
    remind_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    reminded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The result, written once when the ballot closes.
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    yes: Mapped[int | None]
    no: Mapped[int | None]
    abstain: Mapped[int | None]
    voters: Mapped[int | None]
    passed: Mapped[bool | None]
    rule: Mapped[str | None] = mapped_column(Text)
    arithmetic: Mapped[str | None] = mapped_column(Text)
    # When the database's own traces of the order of votes were cleared after closing
    # (closing.forget_vote_order); the worker tries again until they are.
    vote_order_cleared_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    amendment: Mapped[Amendment] = relationship()
    opened_by: Mapped[Member | None] = relationship()

    @property
    def is_closed(self) -> bool:
        return self.closed_at is not None

    def is_open_at(self, moment: datetime) -> bool:
        return self.closed_at is None and moment < self.closes_at

    def __repr__(self) -> str:
        return f"<Ballot {self.id} of amendment #{self.amendment_id}>"


class RollEntry(db.Model):
    """A member on a ballot's roll, frozen at opening: their link, its mail, whether they
    voted (and, on a roll-call ballot only, how)."""

    __tablename__ = "ballot_roll"
    __table_args__ = (
        # One member, one vote: one roll row per member, marked voted at most once.
        UniqueConstraint("ballot_id", "member_id"),
        CheckConstraint(f"mail_status IN {one_of(MailStatus)}", name="mail_status"),
        CheckConstraint(f"choice IS NULL OR choice IN {one_of(Choice)}", name="choice"),
        CheckConstraint("choice IS NULL OR voted", name="choice_only_when_voted"),
        CheckConstraint("(voted_at IS NULL) = (NOT voted)", name="voted_at_when_voted"),
        Index("ix_ballot_roll_mail", "mail_status", "ballot_id"),
        Index("ix_ballot_roll_ballot_voted", "ballot_id", "voted"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ballot_id: Mapped[int] = mapped_column(ForeignKey("ballots.id"))
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id"), index=True)
    # sha256 of the member's voting token; None until a link is sent, and after a new
    # link was asked for (the old one stops working at once).
    token_hash: Mapped[str | None] = mapped_column(String(64), unique=True)
    mail_status: Mapped[str] = mapped_column(String(16), default=MailStatus.PENDING)
    mail_claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    mail_sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    mail_error: Mapped[str | None] = mapped_column(Text)
    voted: Mapped[bool] = mapped_column(default=False)
    # For turnout over time; there is no time on the choice side to match it with.
    voted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Roll-call ballots only.
    choice: Mapped[str | None] = mapped_column(String(8))

    ballot: Mapped[Ballot] = relationship()
    member: Mapped[Member] = relationship()


class BallotCount(db.Model):
    """How many chose one option: the whole record of what was voted on a secret ballot."""

    __tablename__ = "ballot_counts"
    __table_args__ = (
        CheckConstraint(f"choice IN {one_of(Choice)}", name="choice"),
        CheckConstraint("count >= 0", name="count_not_negative"),
    )

    ballot_id: Mapped[int] = mapped_column(ForeignKey("ballots.id"), primary_key=True)
    choice: Mapped[str] = mapped_column(String(8), primary_key=True)
    count: Mapped[int] = mapped_column(default=0)


class Receipt(db.Model):
    """That one ballot was counted: a random code given to its voter, listed with the result."""

    __tablename__ = "ballot_receipts"
    __table_args__ = {"sqlite_with_rowid": False}

    ballot_id: Mapped[int] = mapped_column(ForeignKey("ballots.id"), primary_key=True)
    code: Mapped[str] = mapped_column(String(16), primary_key=True)


class BallotMailing(db.Model):
    """A mail to many members about a ballot (a reminder, the result), queued by the worker
    in batches: `after_member_id` is how far it got, committed with each batch."""

    __tablename__ = "ballot_mailings"
    __table_args__ = (
        CheckConstraint(f"kind IN {one_of(MailingKind)}", name="kind"),
        Index("ix_ballot_mailings_done", "done_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    ballot_id: Mapped[int] = mapped_column(ForeignKey("ballots.id"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    # None: the system (the automatic reminder, the result).
    requested_by_id: Mapped[int | None] = mapped_column(ForeignKey("members.id"))
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    after_member_id: Mapped[int] = mapped_column(default=0)
    queued: Mapped[int] = mapped_column(default=0)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    ballot: Mapped[Ballot] = relationship()
