"""Importing the member roll from CSV: every row checked, then all applied or none."""

import csv
import io
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field

from email_validator import EmailNotValidError, validate_email
from flask_babel import gettext
from sqlalchemy import select

from govern.extensions import db
from govern.members import services
from govern.members.models import Member, MemberRole, Role, Standing

COLUMNS = ("name", "email", "roles", "standing")
REQUIRED_COLUMNS = {"name", "email"}
MAX_ROWS = 50_000
MAX_NAME_LENGTH = 200
ROLE_NAMES = {"member", *(role.value for role in Role)}


class RollFileError(ValueError):
    """The file as a whole cannot be read (encoding, header, size)."""


@dataclass(frozen=True)
class RowError:
    line: int
    message: str


@dataclass(frozen=True)
class RollRow:
    line: int
    name: str
    email: str
    roles: frozenset[Role]
    standing: Standing


@dataclass
class ImportReport:
    rows: int = 0
    errors: list[RowError] = field(default_factory=list)
    added: int = 0
    updated: int = 0
    unchanged: int = 0
    applied: bool = False
    new_members: list[Member] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors


def decode(data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        raise RollFileError(
            gettext(
                "The file is not UTF-8 text (unreadable byte at position %(position)s). "
                "Save it as “CSV UTF-8” and try again.",
                position=error.start,
            )
        ) from None


def parse_roll(text: str) -> tuple[list[RollRow], list[RowError]]:
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = next(reader)
    except StopIteration:
        raise RollFileError(gettext("The file is empty.")) from None
    except csv.Error as error:
        raise RollFileError(gettext("The file is not valid CSV: %(error)s", error=error)) from None
    columns = [name.strip().lower() for name in header]
    missing = REQUIRED_COLUMNS - set(columns)
    unknown = [name for name in columns if name not in COLUMNS]
    if missing or unknown or len(set(columns)) != len(columns):
        raise RollFileError(
            gettext(
                "The first line must name the columns: name, email, roles, standing "
                "(roles and standing may be left out). Found: %(found)s",
                found=", ".join(header) or gettext("nothing"),
            )
        )
    rows: list[RollRow] = []
    errors: list[RowError] = []
    first_line_of: dict[str, int] = {}
    line = reader.line_num + 1
    while True:
        try:
            record = next(reader)
        except StopIteration:
            break
        except csv.Error as error:
            errors.append(RowError(line, gettext("not valid CSV: %(error)s", error=error)))
            break
        if len(rows) + len(errors) >= MAX_ROWS:
            raise RollFileError(
                gettext("The file has more than %(max)s rows; split it.", max=MAX_ROWS)
            )
        if any(cell.strip() for cell in record):
            row, problems = _check_row(line, columns, record, first_line_of)
            if problems:
                errors.extend(RowError(line, problem) for problem in problems)
            else:
                rows.append(row)
        line = reader.line_num + 1
    return rows, errors


def _check_row(
    line: int, columns: list[str], record: list[str], first_line_of: dict[str, int]
) -> tuple[RollRow | None, list[str]]:
    if len(record) != len(columns):
        return None, [
            gettext(
                "expected %(expected)s columns, found %(found)s",
                expected=len(columns),
                found=len(record),
            )
        ]
    values = {name: cell.strip() for name, cell in zip(columns, record, strict=True)}
    problems = []
    name = values["name"]
    if not name:
        problems.append(gettext("the name is empty"))
    elif len(name) > MAX_NAME_LENGTH:
        problems.append(gettext("the name is longer than %(max)s characters", max=MAX_NAME_LENGTH))
    email = values["email"]
    try:
        email = validate_email(email, check_deliverability=False).normalized.lower()
    except EmailNotValidError as error:
        problems.append(gettext("“%(email)s” is not an email address: %(reason)s", email=email, reason=error))
    else:
        if email in first_line_of:
            problems.append(
                gettext(
                    "%(email)s appears again (first on line %(line)s)",
                    email=email,
                    line=first_line_of[email],
                )
            )
        else:
            first_line_of[email] = line
    roles: set[Role] = set()
    for role in _split_roles(values.get("roles", "")):
        if role not in ROLE_NAMES:
            problems.append(
                gettext(
                    "unknown role “%(role)s” (use member, receiver, chair, admin)", role=role
                )
            )
        elif role != "member":
            roles.add(Role(role))
    standing = values.get("standing", "").lower() or Standing.ACTIVE.value
    if standing not in {s.value for s in Standing}:
        problems.append(
            gettext(
                "unknown standing “%(standing)s” (use active, suspended, lapsed)",
                standing=standing,
            )
        )
        standing = Standing.ACTIVE.value
    if problems:
        return None, problems
    return RollRow(line, name, email, frozenset(roles), Standing(standing)), []


def _split_roles(cell: str) -> Iterable[str]:
    for separator in ",|/ ":
        cell = cell.replace(separator, ";")
    return [part.lower() for part in cell.split(";") if part]


def import_roll(
    data: bytes,
    *,
    actor: Member | None,
    dry_run: bool = False,
    progress: Callable[[int], None] | None = None,
) -> ImportReport:
    """Check every row; apply them only when none has an error and this is no dry run.

    Re-importing the same file changes nothing. Members missing from the file are
    left as they are: standing changes are explicit.
    """
    rows, errors = parse_roll(decode(data))
    report = ImportReport(rows=len(rows) + len(errors), errors=errors)
    existing = {
        member.email: member
        for member in db.session.scalars(select(Member).where(Member.email.in_([r.email for r in rows])))
    } if len(rows) <= 1000 else {member.email: member for member in db.session.scalars(select(Member))}
    for row in rows:
        member = existing.get(row.email)
        if member is None:
            report.added += 1
        elif _differs(member, row):
            report.updated += 1
        else:
            report.unchanged += 1
    if errors or dry_run:
        return report
    for done, row in enumerate(rows, start=1):
        member = existing.get(row.email)
        if member is None:
            member = Member(name=row.name, email=row.email, standing=row.standing)
            member.role_rows = [MemberRole(role=role) for role in sorted(row.roles)]
            db.session.add(member)
            report.new_members.append(member)
            services.record_creation(member, actor)
        elif _differs(member, row):
            if member.name != row.name:
                services.rename(member, row.name, actor)
            services.change_roles(member, set(row.roles), actor)
            services.change_standing(member, row.standing, actor)
        if progress:
            progress(done)
    db.session.flush()
    report.applied = True
    return report


def _differs(member: Member, row: RollRow) -> bool:
    return (member.name, member.roles, member.standing) != (row.name, set(row.roles), row.standing)
