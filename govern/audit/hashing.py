"""How an audit event is hashed. Part of the chain's format: changing it breaks every
chain already stored, so it never changes (migrations use it too)."""

import hashlib
import json
from datetime import UTC, datetime


def canonical_json(data: object) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def timestamp(moment: datetime) -> str:
    """The time as hashed: UTC, to the microsecond."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def event_hash(
    *,
    seq: int,
    at: datetime,
    actor_id: int | None,
    actor_name: str,
    action: str,
    subject_type: str,
    subject_id: int | None,
    data: str,
    prev_hash: str,
) -> str:
    fields = [
        seq,
        timestamp(at),
        actor_id,
        actor_name,
        action,
        subject_type,
        subject_id,
        data,
        prev_hash,
    ]
    return hashlib.sha256(canonical_json(fields).encode()).hexdigest()
