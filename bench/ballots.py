"""The ballot a benchmark opens: a document, an amendment to it under the membership vote,
submitted and acknowledged, and the three members who did that."""

from dataclasses import dataclass

from govern.amendments import services as amendments
from govern.amendments.models import Amendment
from govern.documents import services as documents
from govern.extensions import db
from govern.members.models import Member, MemberRole


@dataclass(frozen=True)
class Proposal:
    """An acknowledged amendment: opening its ballot is the receiver's next step."""

    amendment: Amendment
    admin: Member
    receiver: Member
    proposer: Member

    @property
    def members(self) -> list[Member]:
        return [self.admin, self.receiver, self.proposer]


def acknowledged_amendment(
    text: str,
    proposed: str,
    *,
    document: str = "Code of Conduct",
    slug: str = "coc",
    title: str = "Patience",
    reason: str = "Because.",
) -> Proposal:
    """`text` imported as the document, and an amendment to `proposed` that an admin put
    under the membership vote, then submitted and acknowledged. Nothing is committed; the
    three members are the only ones added, so the caller adds the rest of the roll."""
    admin = Member(name="Ada Admin", email="admin@example.org")
    admin.role_rows = [MemberRole(role="admin")]
    receiver = Member(name="Rae Receiver", email="rae@example.org")
    receiver.role_rows = [MemberRole(role="receiver")]
    proposer = Member(name="Pat Proposer", email="pat@example.org")
    db.session.add_all([admin, receiver, proposer])
    [version] = documents.import_versions(
        [documents.VersionFile(data=text.encode())], title=document, slug=slug
    )
    amendments.set_procedure(version.document, "membership-vote", admin)
    amendment = amendments.start_draft(proposer, version.document, title, reason, proposed)
    amendments.submit(amendment, proposer)
    amendments.acknowledge(amendment, receiver)
    return Proposal(amendment, admin, receiver, proposer)
