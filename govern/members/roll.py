"""Importing the member roll from CSV: every row checked, then all applied or none."""

import csv
import io
import re
import unicodedata
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TypeVar

from email_validator import EmailNotValidError, validate_email
from flask_babel import gettext
from sqlalchemy import select

from govern.extensions import db
from govern.members import services
from govern.members.models import Member, Role, Standing

COLUMNS = ("name", "email", "roles", "standing")
REQUIRED_COLUMNS = ("name", "email")
MAX_ROWS = 50_000
# Rows per query and per progress report: far below SQLite's limit on bound parameters.
BATCH_SIZE = 500

T = TypeVar("T")


class RollFileError(ValueError):
    """The file as a whole cannot be read (encoding, header, size)."""


@dataclass(frozen=True)
class RowError:
    line: int
    message: str


@dataclass(frozen=True)
class RollRow:
    """A row without errors. `roles` or `standing` is None where the file leaves it unsaid."""

    line: int
    name: str
    email: str
    roles: frozenset[Role] | None
    standing: Standing | None

    def differs_from(self, member: Member) -> bool:
        return (
            self.name != member.name
            or (self.roles is not None and self.roles != member.roles)
            or (self.standing is not None and self.standing != member.standing)
        )

    def as_new_member(self) -> services.NewMember:
        roles, standing = self.roles or frozenset(), self.standing or Standing.ACTIVE
        return services.NewMember(self.name, self.email, roles, standing)


@dataclass
class ImportReport:
    """What a file would change (after `check_roll`) and, once applied, did change."""

    rows: int = 0
    errors: list[RowError] = field(default_factory=list)
    to_add: list[RollRow] = field(default_factory=list)
    to_update: list[tuple[Member, RollRow]] = field(default_factory=list)
    unchanged: int = 0
    applied: bool = False
    new_member_ids: list[int] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.errors

    @property
    def added(self) -> int:
        return len(self.to_add)

    @property
    def updated(self) -> int:
        return len(self.to_update)


def decode(data: bytes) -> str:
    """UTF-8 text, with or without the byte order mark spreadsheets write."""
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


def check_roll(text: str, *, actor: Member | None) -> ImportReport:
    """Check every row and compare it with the roll; change nothing."""
    rows, errors = parse_roll(text)
    report = ImportReport(rows=len(rows) + len({error.line for error in errors}), errors=errors)
    existing = _members_by_email([row.email for row in rows])
    for row in rows:
        member = existing.get(row.email)
        if member is None:
            report.to_add.append(row)
        elif not row.differs_from(member):
            report.unchanged += 1
        elif row.roles is not None and services.removes_own_admin_role(
            member, set(row.roles), actor
        ):
            message = gettext("this row removes your own admin role; ask another admin")
            report.errors.append(RowError(row.line, message))
        else:
            report.to_update.append((member, row))
    report.errors.sort(key=lambda error: error.line)
    return report


def apply_roll(
    report: ImportReport,
    *,
    actor: Member | None,
    invite: bool = False,
    progress: Callable[[int], None] | None = None,
) -> None:
    """Add and update what `check_roll` found; `progress` hears how many rows were done.

    Members missing from the file are left as they are: standing changes are explicit.
    """
    if not report.ok:
        raise ValueError("a roll with errors is never applied")
    for batch in _batches(report.to_add, BATCH_SIZE):
        new = [row.as_new_member() for row in batch]
        report.new_member_ids += services.add_members_in_bulk(new, actor)
        if progress:
            progress(len(batch))
    for batch in _batches(report.to_update, BATCH_SIZE):
        for member, row in batch:
            services.rename(member, row.name, actor)
            if row.roles is not None:
                services.change_roles(member, set(row.roles), actor)
            if row.standing is not None:
                services.change_standing(member, row.standing, actor)
        db.session.flush()
        if progress:
            progress(len(batch))
    if invite:
        services.invite_members(report.new_member_ids)
    report.applied = True


def import_roll(
    data: bytes, *, actor: Member | None, dry_run: bool = False, invite: bool = False
) -> ImportReport:
    """Check the file, then apply it when no row has an error and this is no dry run."""
    report = check_roll(decode(data), actor=actor)
    if report.ok and not dry_run:
        apply_roll(report, actor=actor, invite=invite)
    return report


def parse_roll(text: str) -> tuple[list[RollRow], list[RowError]]:
    """The rows without errors, and every problem with the line its row starts on."""
    reader = csv.reader(io.StringIO(text, newline=""))
    columns = _read_header(reader)
    rows: list[RollRow] = []
    errors: list[RowError] = []
    first_line_of: dict[str, int] = {}
    records = 0
    while True:
        line = reader.line_num + 1
        try:
            record = next(reader)
        except StopIteration:
            break
        except csv.Error as error:
            message = gettext(
                "not valid CSV (%(error)s); the rest of the file was not checked", error=error
            )
            errors.append(RowError(line, message))
            break
        if not any(cell.strip() for cell in record):
            continue
        records += 1
        if records > MAX_ROWS:
            raise RollFileError(
                gettext("The file has more than %(max)s rows; split it.", max=MAX_ROWS)
            )
        row, problems = _check_row(line, columns, record, first_line_of)
        errors.extend(RowError(line, problem) for problem in problems)
        if row:
            rows.append(row)
    return rows, errors


def _read_header(reader: Iterator[list[str]]) -> list[str]:
    try:
        header = next(record for record in reader if any(cell.strip() for cell in record))
    except StopIteration:
        raise RollFileError(gettext("The file is empty.")) from None
    except csv.Error as error:
        raise RollFileError(gettext("The file is not valid CSV: %(error)s", error=error)) from None
    columns = [cell.strip().lower() for cell in header]
    problems = [
        gettext("the column “%(column)s” is missing", column=name)
        for name in REQUIRED_COLUMNS
        if name not in columns
    ]
    problems += [
        gettext("“%(column)s” is not a known column", column=name)
        for name in columns
        if name not in COLUMNS
    ]
    problems += [
        gettext("the column “%(column)s” appears twice", column=name)
        for name in COLUMNS
        if columns.count(name) > 1
    ]
    if problems:
        raise RollFileError(
            gettext(
                "The first line must name the columns: name, email, roles, standing (roles "
                "and standing may be left out). It reads “%(header)s”: %(problems)s.",
                header=",".join(header),
                problems="; ".join(problems),
            )
        )
    return columns


def _check_row(
    line: int, columns: list[str], record: list[str], first_line_of: dict[str, int]
) -> tuple[RollRow | None, list[str]]:
    if len(record) != len(columns):
        message = gettext(
            "expected %(expected)s columns, found %(found)s",
            expected=len(columns),
            found=len(record),
        )
        return None, [message]
    cells = {name: cell.strip() for name, cell in zip(columns, record, strict=True)}
    name = unicodedata.normalize("NFC", cells["name"])
    problems = [problem for problem in [services.name_problem(name)] if problem]
    email = _check_email(cells["email"], line, first_line_of, problems)
    roles = _check_roles(cells["roles"], problems) if "roles" in cells else None
    standing = _check_standing(cells["standing"], problems) if "standing" in cells else None
    if problems:
        return None, problems
    return RollRow(line, name, email, roles, standing), []


def _check_email(cell: str, line: int, first_line_of: dict[str, int], problems: list[str]) -> str:
    if not cell:
        problems.append(gettext("the email is empty"))
        return ""
    try:
        email = services.normalize_email(
            validate_email(cell, check_deliverability=False).normalized
        )
    except EmailNotValidError as error:
        problems.append(
            gettext("“%(email)s” is not an email address: %(reason)s", email=cell, reason=error)
        )
        return ""
    first_line = first_line_of.setdefault(email, line)
    if first_line != line:
        problems.append(
            gettext(
                "%(email)s appears again (first on line %(line)s)", email=email, line=first_line
            )
        )
    return email


def _check_roles(cell: str, problems: list[str]) -> frozenset[Role]:
    roles = set()
    for name in re.split(r"[;,|/\s]+", cell.lower()):
        if name in ("", "member"):
            continue
        try:
            roles.add(Role(name))
        except ValueError:
            problems.append(
                gettext("unknown role “%(role)s” (use member, receiver, chair, admin)", role=name)
            )
    return frozenset(roles)


def _check_standing(cell: str, problems: list[str]) -> Standing | None:
    """An empty cell keeps a member's standing; new members are active."""
    if not cell:
        return None
    try:
        return Standing(cell.lower())
    except ValueError:
        problems.append(
            gettext(
                "unknown standing “%(standing)s” (use active, suspended, lapsed)", standing=cell
            )
        )
        return None


def _members_by_email(emails: list[str]) -> dict[str, Member]:
    found: dict[str, Member] = {}
    for batch in _batches(emails, BATCH_SIZE):
        statement = select(Member).where(Member.email.in_(batch))
        found.update((member.email, member) for member in db.session.scalars(statement))
    return found


def _batches(items: Sequence[T], size: int) -> Iterator[Sequence[T]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
