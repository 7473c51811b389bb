"""The personal ballot mail: rendered as it is sent, so the link in it is never stored."""

from functools import lru_cache

from flask import current_app, render_template
from flask_babel import force_locale, gettext

from govern.amendments.models import Amendment
from govern.ballots.models import Ballot
from govern.documents.diff import EQUAL, INSERT, Fold, diff_texts
from govern.members.models import Member
from govern.procedures.stages import StageKind
from govern.procedures.states import describe_stage

# Shown in the preview a receiver reviews before opening: the real link is made per member.
LINK_PLACEHOLDER = "[your personal voting link]"
CODE_PLACEHOLDER = "[your personal voting code]"


@lru_cache(maxsize=32)
def plain_redline(old: str, new: str) -> str:
    """The change as plain text for mail: [+added+] and [-removed-], long unchanged runs
    folded. Computed once per text pair, not once per member."""
    paragraphs = []
    for block in diff_texts(old, new).folded(context=1):
        if isinstance(block, Fold):
            paragraphs.append(
                gettext("[… %(count)s unchanged paragraphs …]", count=len(block.blocks))
            )
            continue
        parts = []
        for segment in block.segments:
            if segment.kind == EQUAL:
                parts.append(segment.text)
            elif segment.kind == INSERT:
                parts.append(f"[+{segment.text}+]")
            else:
                parts.append(f"[-{segment.text}-]")
        paragraphs.append("".join(parts))
    return "\n\n".join(paragraphs)


def texts_voted_on(amendment: Amendment) -> tuple[str, str]:
    """The base and proposed texts members vote on: frozen when the ballot opens, so the
    preview before opening shows what opening will freeze."""
    if amendment.is_frozen:
        return amendment.frozen_base_text, amendment.frozen_text
    return amendment.base_version.text, amendment.proposed_text


def voting_link(token: str | None) -> str:
    """The token travels after "#": browsers never send it to the server, so it is in no
    access log and no Referer; the page's script posts it."""
    if token is None:
        return LINK_PLACEHOLDER
    return f"{current_app.config['PUBLIC_URL'].rstrip('/')}/ballots/vote#{token}"


def ballot_mail(ballot: Ballot, member: Member | None, token: str | None) -> tuple[str, str]:
    """Subject and text of the ballot mail to `member`; without a token (the preview), the
    link and code are placeholders. `ballot` may be an unsaved one, for the preview."""
    amendment = ballot.amendment
    procedure = amendment.procedure
    with force_locale(current_app.config["ORGANIZATION_LOCALE"]):
        subject = gettext("Ballot: %(title)s", title=amendment.title)
        body = render_template(
            "mail/ballot.txt",
            member=member,
            ballot=ballot,
            amendment=amendment,
            redline=plain_redline(*texts_voted_on(amendment)),
            rule=describe_stage(procedure, procedure.stage(StageKind.BALLOT)),
            link=voting_link(token),
            code=token or CODE_PLACEHOLDER,
            organization_name=current_app.config["ORGANIZATION_NAME"],
            public_url=current_app.config["PUBLIC_URL"].rstrip("/"),
        )
    return subject, body
