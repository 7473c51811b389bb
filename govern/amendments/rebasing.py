"""Proposals on a stale base: their merge onto the version in force, and the rebase (no commit)."""

from dataclasses import dataclass

from flask_babel import gettext, ngettext

from govern.amendments.checks import check_proposer, checked_text
from govern.amendments.errors import AmendmentError
from govern.amendments.merge import MergeResult, merge_texts
from govern.amendments.models import Amendment, TimelineEntry
from govern.amendments.timeline import record_event
from govern.documents.models import Version
from govern.extensions import db
from govern.members.models import Member
from govern.procedures.states import has_voting_started, is_final


@dataclass(frozen=True)
class BaseStatus:
    """Whether a newer version than the proposal's base is in force, and the merge onto it."""

    base: Version
    in_force: Version
    merge: MergeResult | None  # None while the base is the version in force

    @property
    def is_stale(self) -> bool:
        return self.base.id != self.in_force.id

    @property
    def has_conflicts(self) -> bool:
        return self.merge is not None and not self.merge.is_clean


def base_status(amendment: Amendment) -> BaseStatus:
    base = amendment.base_version
    in_force = amendment.document.version_in_force() or base
    merge = None
    if in_force.id != base.id:
        merge = merge_texts(base.text, amendment.proposed_text, in_force.text)
    return BaseStatus(base, in_force, merge)


def rebase(amendment: Amendment, actor: Member, resolved_text: str | None = None) -> None:
    """Carry the proposal over to the version in force, as the proposer confirmed.

    A clean merge is applied as it is. Where the merge conflicts, the proposer resolves it
    by giving the whole text against the new version (`resolved_text`).
    """
    check_proposer(amendment, actor, gettext("Only its proposer can update a proposal's base."))
    if is_final(amendment.state):
        raise AmendmentError(
            gettext("This proposal is closed; revise and resubmit it to change it.")
        )
    if amendment.is_frozen or has_voting_started(amendment.state):
        raise AmendmentError(
            gettext("Voting on this proposal has started: the text voted on cannot change.")
        )
    status = base_status(amendment)
    if not status.is_stale:
        raise AmendmentError(gettext("The proposal is already based on the version in force."))
    if status.merge.is_clean:
        # The merged text and nothing else: rebasing is no way to rewrite a submitted proposal.
        if resolved_text is not None:
            raise AmendmentError(
                gettext(
                    "The proposal merges cleanly onto version %(number)s: confirm the "
                    "carried-over text as it is.",
                    number=status.in_force.number,
                ),
                "proposed_text",
            )
        text = status.merge.text
    elif resolved_text is not None:
        text = checked_text(resolved_text)
    else:
        raise AmendmentError(
            ngettext(
                "Version %(number)s changed the same passage as this proposal "
                "(%(num)s conflict): resolve it before the proposal can go on.",
                "Version %(number)s changed the same passages as this proposal "
                "(%(num)s conflicts): resolve them before the proposal can go on.",
                len(status.merge.conflicts),
                number=status.in_force.number,
            ),
            "proposed_text",
        )
    old_number = amendment.base_version.number
    amendment.base_version = status.in_force
    amendment.proposed_text = text
    note = f"From version {old_number} to version {status.in_force.number}"
    record_event(amendment, actor, TimelineEntry.REBASED, amendment.state, amendment.state, note)
    db.session.flush()


def check_base_in_force(amendment: Amendment) -> None:
    """Refuse to go on from a stale base until the proposer confirmed the carried-over text."""
    status = base_status(amendment)
    if not status.is_stale:
        return
    if status.has_conflicts:
        message = gettext(
            "This proposal is based on version %(base)s; version %(current)s is in force and "
            "changed the same passages. Resolve the conflicts first.",
            base=status.base.number,
            current=status.in_force.number,
        )
    else:
        message = gettext(
            "This proposal is based on version %(base)s; version %(current)s is in force. "
            "Review the proposal carried over to it and confirm it first.",
            base=status.base.number,
            current=status.in_force.number,
        )
    raise AmendmentError(message, "proposed_text")
