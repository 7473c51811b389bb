"""Appending to the audit trail, and verifying it.

A service calls `record(...)` beside the change it makes. The event waits in the session
and is written just before the commit, as the transaction's last step: it takes the
head's row lock (PostgreSQL) or SQLite's write lock, numbers the event, chains it to the
head's hash and moves the head. So events chain in commit order, a rolled back action
leaves no event, and the lock is held only for the moment before the commit.
"""

import hashlib
import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import event, insert, select, update
from sqlalchemy.orm import Session, SessionTransaction

from govern import clock
from govern.audit.hashing import canonical_json, event_hash
from govern.audit.models import GENESIS_HASH, AuditEvent, AuditHead
from govern.extensions import db

PENDING = "audit_pending"
SYSTEM = "system"


@dataclass
class _Pending:
    action: str
    actor: object | None  # a Member, resolved at the commit (after the flush gives ids)
    subject: object | tuple[str, int | None]
    data: dict
    at: datetime


def subject_type(subject: object) -> str:
    """A model's name in the trail: Amendment → "amendment", MeetingVote → "meeting_vote"."""
    return re.sub(r"(?<!^)(?=[A-Z])", "_", type(subject).__name__).lower()


def record(action: str, actor, subject, **data) -> None:
    """Add an event to the current transaction: written at its commit, gone at its rollback.

    `subject` is a model object (its id is read at the commit, so a new object may have
    none yet) or a (type, id) pair; `data` must be JSON: what changed, in plain values.
    """
    pending = db.session.info.setdefault(PENDING, [])
    pending.append(_Pending(action, actor, subject, data, clock.now()))


def _subject_of(subject) -> tuple[str, int | None]:
    if isinstance(subject, tuple):
        return subject
    return subject_type(subject), subject.id


def _write_pending(session: Session) -> None:
    pending: list[_Pending] = session.info.pop(PENDING, None) or []
    if not pending:
        return
    session.flush()  # ids for new subjects
    head = session.execute(
        update(AuditHead)
        .where(AuditHead.id == 1)
        .values(seq=AuditHead.seq + len(pending))
        .returning(AuditHead.seq, AuditHead.hash)
    ).first()
    if head is None:
        # A database made without the migration (which adds the head row).
        session.execute(insert(AuditHead).values(id=1, seq=len(pending), hash=GENESIS_HASH))
        last_seq, prev_hash = len(pending), GENESIS_HASH
    else:
        last_seq, prev_hash = head
    seq = last_seq - len(pending)
    rows = []
    for item in pending:
        seq += 1
        kind, subject_id = _subject_of(item.subject)
        actor = item.actor
        row = {
            "seq": seq,
            "at": item.at,
            "actor_id": actor.id if actor is not None else None,
            "actor_name": actor.name if actor is not None else "",
            "action": item.action,
            "subject_type": kind,
            "subject_id": subject_id,
            "data": canonical_json(item.data),
            "prev_hash": prev_hash,
        }
        row["hash"] = prev_hash = event_hash(**row)
        rows.append(row)
    session.execute(insert(AuditEvent), rows)
    session.execute(update(AuditHead).where(AuditHead.id == 1).values(hash=prev_hash))


def _forget_pending(session: Session, previous: SessionTransaction) -> None:
    if previous.parent is None:
        session.info.pop(PENDING, None)


event.listen(Session, "before_commit", _write_pending)
event.listen(Session, "after_soft_rollback", _forget_pending)


# Reading ---------------------------------------------------------------------------------


def head() -> tuple[int, str]:
    row = db.session.execute(select(AuditHead.seq, AuditHead.hash)).first()
    return (row.seq, row.hash) if row else (0, GENESIS_HASH)


def event_about(subject, action: str) -> AuditEvent | None:
    """The latest event `action` about `subject` (a model object or a (type, id) pair)."""
    kind, subject_id = _subject_of(subject)
    return db.session.scalar(
        select(AuditEvent)
        .where(
            AuditEvent.subject_type == kind,
            AuditEvent.subject_id == subject_id,
            AuditEvent.action == action,
        )
        .order_by(AuditEvent.seq.desc())
        .limit(1)
    )


# Verifying -------------------------------------------------------------------------------


@dataclass
class Report:
    events: int = 0
    versions: int = 0
    head_seq: int = 0
    head_hash: str = GENESIS_HASH
    problems: list[str] = field(default_factory=list)
    first_broken: int | None = None  # the seq of the first broken event, if any

    @property
    def ok(self) -> bool:
        return not self.problems


def _events(batch: int) -> Iterator[AuditEvent]:
    after = 0
    while True:
        rows = list(
            db.session.scalars(
                select(AuditEvent)
                .where(AuditEvent.seq > after)
                .order_by(AuditEvent.seq)
                .limit(batch)
            )
        )
        yield from rows
        if len(rows) < batch:
            return
        after = rows[-1].seq
        db.session.expunge_all()


def verify(batch: int = 2000) -> Report:
    """Check the chain event by event, its head, and every version's text against it.

    The chain check stops at the first broken event (everything after it is unproven);
    the version checks all run.
    """
    report = Report()
    version_hashes: dict[int, str] = {}
    expected_seq, prev_hash = 1, GENESIS_HASH
    for audit_event in _events(batch):
        problem = _chain_problem(audit_event, expected_seq, prev_hash)
        if problem:
            report.problems.append(problem)
            report.first_broken = expected_seq
            break
        if audit_event.action == "version.added" and audit_event.subject_id is not None:
            version_hashes[audit_event.subject_id] = _json_field(audit_event.data, "text_sha256")
        report.events += 1
        expected_seq, prev_hash = audit_event.seq + 1, audit_event.hash
    seq, head_hash = head()
    report.head_seq, report.head_hash = seq, head_hash
    if report.first_broken is None and (seq, head_hash) != (expected_seq - 1, prev_hash):
        report.first_broken = expected_seq
        report.problems.append(
            f"The chain ends at event #{expected_seq - 1}, but its head records event #{seq} "
            f"with hash {head_hash[:12]}…: events after #{expected_seq - 1} were deleted, "
            "or the head was changed."
        )
    report.problems.extend(_version_problems(version_hashes, report))
    return report


def _chain_problem(audit_event: AuditEvent, expected_seq: int, prev_hash: str) -> str | None:
    name = (
        f"event #{audit_event.seq} ({audit_event.action}, {audit_event.at:%Y-%m-%d %H:%M:%S} UTC)"
    )
    if audit_event.seq != expected_seq:
        return f"Event #{expected_seq} is missing: the chain jumps to {name}. An event was deleted."
    if audit_event.prev_hash != prev_hash:
        return (
            f"The first broken event is {name}: it does not follow event #{expected_seq - 1} "
            "(its previous hash differs). Events were deleted, inserted or reordered."
        )
    recomputed = event_hash(
        seq=audit_event.seq,
        at=audit_event.at,
        actor_id=audit_event.actor_id,
        actor_name=audit_event.actor_name,
        action=audit_event.action,
        subject_type=audit_event.subject_type,
        subject_id=audit_event.subject_id,
        data=audit_event.data,
        prev_hash=audit_event.prev_hash,
    )
    if recomputed != audit_event.hash:
        return (
            f"The first broken event is {name}: its contents do not match its hash. "
            "It was edited, or rows were reordered."
        )
    return None


def _json_field(data: str, key: str) -> str | None:
    try:
        return json.loads(data).get(key)
    except (ValueError, AttributeError):
        return None


def _version_problems(recorded: dict[int, str], report: Report) -> Iterator[str]:
    from govern.documents.models import Document, Version

    rows = db.session.execute(
        select(Version.id, Version.number, Version.text, Version.text_sha256, Document.slug)
        .join(Document, Document.id == Version.document_id)
        .order_by(Version.document_id, Version.number)
        .execution_options(yield_per=200)
    )
    for version_id, number, text, stored, slug in rows:
        report.versions += 1
        name = f"Version {number} of {slug}"
        actual = hashlib.sha256(text.encode()).hexdigest()
        if actual != stored:
            yield f"{name}: its text does not match the hash recorded with it; it was edited."
        elif report.first_broken is None and recorded.get(version_id) != actual:
            if version_id not in recorded:
                yield f"{name}: the audit trail has no event recording it."
            else:
                yield (
                    f"{name}: its text differs from the one the audit trail recorded; "
                    "it was edited."
                )
