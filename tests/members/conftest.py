"""Fixtures for the member roll tests: CSV files, row counts, clients signed in by role."""

from collections.abc import Callable

import pytest
from flask.testing import FlaskClient
from sqlalchemy import func, select

from govern.extensions import db
from govern.mail.models import OutboxMessage
from govern.members.models import Member, MemberChange, MemberRole


def roll_csv(*lines: str, header: str = "name,email,roles,standing") -> bytes:
    """A UTF-8 CSV file: the header, then `lines`, each ending in CRLF as spreadsheets write."""
    return "".join(f"{line}\r\n" for line in (header, *lines)).encode()


def roll_counts() -> dict[str, int]:
    """Rows in every table a roll import may touch."""
    return {
        model.__tablename__: db.session.scalar(select(func.count()).select_from(model))
        for model in (Member, MemberRole, MemberChange, OutboxMessage)
    }


def member_by_email(email: str) -> Member | None:
    db.session.expire_all()
    return db.session.scalar(select(Member).filter_by(email=email))


def big_roll(count: int) -> bytes:
    lines = [
        f"Member {number:05d},member{number:05d}@example.org,"
        f"{'chair' if number % 100 == 0 else ''},{'lapsed' if number % 7 == 0 else 'active'}"
        for number in range(count)
    ]
    return roll_csv(*lines)


@pytest.fixture
def client_as(client, make_member, sign_in) -> Callable[[str], FlaskClient]:
    """The test client signed in as a member with `role` ("anonymous": not signed in)."""

    def sign_in_as(role: str) -> FlaskClient:
        if role != "anonymous":
            roles = [] if role == "member" else [role]
            sign_in(make_member(name=f"A {role}", email=f"{role}@example.org", roles=roles))
        return client

    return sign_in_as
