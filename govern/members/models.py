"""Members, their roles and standing, the log of changes, and sign-in tokens."""

import hashlib
import secrets
from datetime import datetime
from enum import StrEnum

from flask_login import UserMixin
from sqlalchemy import CheckConstraint, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from govern import clock
from govern.extensions import db
from govern.types import UTCDateTime, one_of


class Role(StrEnum):
    """Roles beyond membership itself: every member on the roll is a member."""

    RECEIVER = "receiver"
    CHAIR = "chair"
    ADMIN = "admin"


class Standing(StrEnum):
    ACTIVE = "active"
    SUSPENDED = "suspended"
    LAPSED = "lapsed"


class TokenPurpose(StrEnum):
    INVITATION = "invitation"
    PASSWORD_RESET = "password_reset"


def new_login_id() -> str:
    return secrets.token_urlsafe(24)


class Member(UserMixin, db.Model):
    __tablename__ = "members"
    __table_args__ = (CheckConstraint(f"standing IN {one_of(Standing)}", name="standing"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str] = mapped_column(String(254), unique=True)
    standing: Mapped[str] = mapped_column(String(16), default=Standing.ACTIVE)
    password_hash: Mapped[str | None] = mapped_column(String(255))
    # Flask-Login keeps this in the session; changing it signs the member out everywhere.
    login_id: Mapped[str] = mapped_column(String(64), unique=True, default=new_login_id)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    role_rows: Mapped[list["MemberRole"]] = relationship(
        back_populates="member", cascade="all, delete-orphan", lazy="selectin"
    )

    def get_id(self) -> str:
        return self.login_id

    @property
    def roles(self) -> set[Role]:
        return {Role(row.role) for row in self.role_rows}

    def has_role(self, role: Role) -> bool:
        return role in self.roles

    @property
    def is_admin(self) -> bool:
        return self.has_role(Role.ADMIN)

    @property
    def is_eligible(self) -> bool:
        """Only members in good standing vote."""
        return self.standing == Standing.ACTIVE

    @property
    def is_active(self) -> bool:
        # Suspended and lapsed members may still sign in to read; eligibility is separate.
        return True

    @property
    def has_password(self) -> bool:
        return self.password_hash is not None

    def __repr__(self) -> str:
        return f"<Member {self.id} {self.email}>"


class MemberRole(db.Model):
    __tablename__ = "member_roles"
    __table_args__ = (CheckConstraint(f"role IN {one_of(Role)}", name="role"),)

    member_id: Mapped[int] = mapped_column(
        ForeignKey("members.id", ondelete="CASCADE"), primary_key=True
    )
    role: Mapped[str] = mapped_column(String(16), primary_key=True)

    member: Mapped[Member] = relationship(back_populates="role_rows")


class MemberChange(db.Model):
    """Who changed a member's roles or standing, and when."""

    __tablename__ = "member_changes"

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"), index=True)
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("members.id", ondelete="SET NULL"))
    # Kept as text too, so the record still says who acted from the command line.
    actor_label: Mapped[str] = mapped_column(String(254))
    field: Mapped[str] = mapped_column(String(32))
    old_value: Mapped[str | None] = mapped_column(String(200))
    new_value: Mapped[str | None] = mapped_column(String(200))
    changed_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)

    member: Mapped[Member] = relationship(foreign_keys=[member_id])
    actor: Mapped[Member | None] = relationship(foreign_keys=[actor_id])


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


class AuthToken(db.Model):
    """A single-use, expiring link token; only its hash is stored."""

    __tablename__ = "auth_tokens"
    __table_args__ = (
        CheckConstraint(f"purpose IN {one_of(TokenPurpose)}", name="purpose"),
        CheckConstraint("expires_at > created_at", name="expires_after_creation"),
        Index("ix_auth_tokens_member_purpose", "member_id", "purpose"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    member_id: Mapped[int] = mapped_column(ForeignKey("members.id", ondelete="CASCADE"))
    purpose: Mapped[str] = mapped_column(String(32))
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=clock.now)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    member: Mapped[Member] = relationship()

    def is_usable(self, at: datetime) -> bool:
        return self.used_at is None and at < self.expires_at
