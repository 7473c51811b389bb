"""`flask --app govern audit verify`: check the hash chain and every version's text."""

import click
from flask.cli import AppGroup

from govern.audit.chain import verify

audit_cli = AppGroup("audit", help="Check the audit trail.")


@audit_cli.command("verify")
def verify_command() -> None:
    """Check every event's hash and link, the head, and every version's text.

    Exits 1 and names the first broken event when anything was changed, deleted,
    inserted or reordered.
    """
    report = verify()
    if report.ok:
        click.echo(
            f"The audit trail is intact: {report.events} events, "
            f"{report.versions} versions checked; head #{report.head_seq} {report.head_hash}."
        )
        return
    for problem in report.problems:
        click.echo(problem, err=True)
    raise SystemExit(1)
