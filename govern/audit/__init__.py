"""The hash-chained audit trail of governance actions."""

from govern.audit.chain import event_about, head, record, verify

__all__ = ["event_about", "head", "record", "verify"]
