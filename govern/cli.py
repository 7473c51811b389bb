"""Command-line commands: `flask --app govern demo | worker | members ... | documents ...`."""

import signal
import time
from datetime import date, datetime
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup

from govern.extensions import db

members_cli = AppGroup("members", help="Manage the member roll.")
documents_cli = AppGroup("documents", help="Import governing documents.")
STOP_SIGNALS = (signal.SIGTERM, signal.SIGINT)


@members_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check every row and report; change nothing.")
@click.option("--invite", is_flag=True, help="Email an invitation to each new member.")
def import_members(file: Path, dry_run: bool, invite: bool) -> None:
    """Import the member roll from a CSV file (name, email, roles, standing).

    All or nothing: a file with one bad row changes nothing. Re-importing the same
    file changes nothing.
    """
    from flask_babel import gettext, ngettext

    from govern.members.roll import RollFileError, apply_roll, check_roll, decode

    try:
        report = check_roll(decode(file.read_bytes()), actor=None)
    except RollFileError as error:
        raise click.ClickException(
            gettext("%(error)s Nothing was imported.", error=error)
        ) from None
    for error in report.errors:
        message = gettext("line %(line)s: %(message)s", line=error.line, message=error.message)
        click.echo(message, err=True)
    summary = gettext(
        "%(rows)s rows: %(added)s to add, %(updated)s to update, %(unchanged)s unchanged",
        rows=report.rows,
        added=report.added,
        updated=report.updated,
        unchanged=report.unchanged,
    )
    if not report.ok:
        raise click.ClickException(
            ngettext(
                "%(num)s problem; nothing was imported. (%(summary)s)",
                "%(num)s problems; nothing was imported. (%(summary)s)",
                len(report.errors),
                summary=summary,
            )
        )
    if dry_run:
        click.echo(gettext("Dry run, nothing changed. %(summary)s.", summary=summary))
        return
    with click.progressbar(length=report.added + report.updated, label=gettext("Importing")) as bar:
        apply_roll(report, actor=None, invite=invite, progress=bar.update)
    db.session.commit()
    click.echo(
        gettext(
            "Imported. %(rows)s rows: %(added)s added, %(updated)s updated, "
            "%(unchanged)s unchanged.",
            rows=report.rows,
            added=report.added,
            updated=report.updated,
            unchanged=report.unchanged,
        )
    )
    if invite:
        click.echo(gettext("Invitations queued: %(count)s.", count=len(report.new_member_ids)))


def _parse_date(value: str) -> datetime:
    from govern.documents.services import start_of_day

    try:
        day = date.fromisoformat(value)
    except ValueError:
        raise click.BadParameter(f"{value!r} is not a date like 2024-03-31") from None
    return start_of_day(day)


@documents_cli.command("import")
@click.argument(
    "files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
@click.option("--title", help="Title of a new document.")
@click.option("--slug", help="Web address of the document; an existing one gets new versions.")
@click.option(
    "--date",
    "dates",
    multiple=True,
    help="YYYY-MM-DD the version took effect; give one per FILE, oldest first.",
)
@click.option("--summary", "summaries", multiple=True, help="What changed, one per FILE.")
@click.option(
    "--ratified",
    "ratified",
    multiple=True,
    help="YYYY-MM-DD the version was ratified; one per FILE, or none.",
)
@click.option(
    "--format",
    "text_format",
    type=click.Choice(["markdown", "text"]),
    help="Format of a new document [default: text for .txt files, else markdown].",
)
def import_document(
    files: tuple[Path, ...],
    title: str | None,
    slug: str | None,
    dates: tuple[str, ...],
    summaries: tuple[str, ...],
    ratified: tuple[str, ...],
    text_format: str | None,
) -> None:
    """Import FILES as the next versions of a document, oldest first.

    Markdown (.md) or plain text (.txt). Without --date the only file takes effect now.
    All or nothing: a bad file imports nothing.
    """
    from govern.documents import services
    from govern.documents.models import TextFormat

    if dates and len(dates) != len(files):
        raise click.UsageError(f"give one --date per file ({len(files)} files, {len(dates)} dates)")
    if len(files) > 1 and not dates:
        raise click.UsageError("importing several versions needs one --date per file")
    if len(summaries) > len(files):
        raise click.UsageError(f"more --summary options ({len(summaries)}) than files")
    if ratified and len(ratified) != len(files):
        raise click.UsageError(
            f"give one --ratified per file ({len(files)} files, {len(ratified)} dates)"
        )
    effective = [_parse_date(value) for value in dates] or [None]
    ratified_at = [_parse_date(value) for value in ratified]
    document = services.find_document(slug) if slug else None
    if document is None and not title:
        raise click.UsageError(
            f"there is no document at {slug!r}; a new document needs --title"
            if slug
            else "a new document needs --title (or give --slug of an existing document)"
        )
    versions = [
        services.VersionFile(
            data=path.read_bytes(),
            name=path.name,
            effective_at=effective[index] if dates else None,
            summary=summaries[index] if index < len(summaries) else "",
            ratified_at=ratified_at[index] if ratified else None,
        )
        for index, path in enumerate(files)
    ]
    try:
        imported = services.import_versions(
            versions,
            document=document,
            title=title or "",
            slug=slug or "",
            format=TextFormat(text_format) if text_format else None,
        )
    except services.DocumentError as error:
        db.session.rollback()
        raise click.ClickException(f"{error} Nothing was imported.") from None
    db.session.commit()
    for path, version in zip(files, imported, strict=True):
        click.echo(f"{path.name}: version {version.number} of {version.document.title}")


# Ballot mails sent in one pass at most, so that the outbox is not held up behind a
# large roll: the next pass follows at once.
BALLOT_MAILS_PER_PASS = 1_000


@click.command("worker")
@click.option("--once", is_flag=True, help="Do one pass over what is due, then exit.")
@click.option("--interval", default=5.0, show_default=True, help="Seconds between passes.")
def worker(once: bool, interval: float) -> None:
    """Close due ballots, mail ballots, reminders and results, and deliver queued mail.

    Each pass closes the ballots whose time is up, starts due reminders, sends each
    member of an open ballot their ballot mail, queues reminders and results into the
    outbox, and delivers the outbox. Several workers may run at once against PostgreSQL.
    SIGTERM or Ctrl-C stops the worker after the message in hand, so a restart sends
    nothing twice.
    """
    from sqlalchemy.exc import SQLAlchemyError

    from govern.mail.transports import describe_transport

    stopping = False

    def request_stop(*_) -> None:
        nonlocal stopping
        stopping = True

    previous = {number: signal.signal(number, request_stop) for number in STOP_SIGNALS}
    click.echo("Closing due ballots; sending ballot mail, reminders and results.")
    click.echo(f"Delivering mail to {describe_transport()}.")
    try:
        while not stopping:
            is_busy = False
            try:
                lines, is_busy = _work_once(lambda: stopping, report_delivery=once)
            except SQLAlchemyError as error:
                if once:
                    raise
                # The database may be restarting: stay up and try again.
                db.session.rollback()
                click.echo(f"Database error, trying again in {interval:g} s: {error}", err=True)
            else:
                for line in lines:
                    click.echo(line)
            finally:
                db.session.remove()
            if once:
                return
            resume_at = time.monotonic() + (0 if is_busy else interval)
            while not stopping and time.monotonic() < resume_at:
                time.sleep(0.1)
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def _work_once(should_stop, report_delivery: bool) -> tuple[list[str], bool]:
    """One pass of the worker, in order: what it did, and whether it left ballot mail for
    the next pass (which then follows at once)."""
    from sqlalchemy.exc import SQLAlchemyError

    from govern.ballots import closing, running
    from govern.ballots.distribution import distribute_ballots
    from govern.ballots.mailings import queue_mailings
    from govern.mail.delivery import deliver_due

    lines: list[str] = []

    def step(name: str, job):
        """One step; a failure other than the database's is logged and the pass goes on,
        so one bad ballot never stops the mail of all the others."""
        try:
            return job()
        except SQLAlchemyError:
            raise  # the database may be restarting: the whole pass waits and tries again
        except Exception as error:
            db.session.rollback()
            current_app.logger.exception("worker step %r failed", name)
            lines.append(f"{name} failed, trying again next pass: {type(error).__name__}")
            return None

    if closed := step("closing ballots", closing.close_due_ballots):
        lines.append(f"ballots closed: {closed}")
    if cleared := step("clearing the order of votes", closing.forget_vote_order):
        lines.append(f"order of votes cleared from the database: {cleared} ballots")
    if reminders := step("starting reminders", running.start_due_reminders):
        lines.append(f"reminders started: {reminders}")
    mails = step(
        "ballot mail",
        lambda: distribute_ballots(limit=BALLOT_MAILS_PER_PASS, should_stop=should_stop),
    )
    if mails is not None and mails.changed:
        lines.append(
            f"ballot mail: {mails.sent} sent, {mails.retrying} to retry, "
            f"{mails.failed} failed, {mails.uncertain} uncertain"
        )
    mailings = step("queueing reminders and results", queue_mailings)
    if mailings is not None and mailings.queued:
        lines.append(f"reminders and results queued: {mailings.queued}")
    if should_stop():
        return lines, False
    report = deliver_due(should_stop=should_stop)
    if report.attempted or report_delivery:
        lines.append(
            f"outbox: {report.sent} sent, {report.retrying} to retry, {report.failed} failed"
        )
    return lines, mails is not None and mails.claimed >= BALLOT_MAILS_PER_PASS


@click.command("demo")
@click.option("--force", is_flag=True, help="Load it even outside development.")
def demo(force: bool) -> None:
    """Load a demo organization: members and a code of conduct with its history."""
    from govern.demo import load_demo

    # The demo accounts have published passwords: never on a real roll by accident.
    if not current_app.config["IS_DEVELOPMENT"] and not force:
        raise click.ClickException(
            "The demo adds accounts with published passwords, so it runs only with "
            "GOVERN_ENV=development (or --force, on a database you can throw away)."
        )
    lines = load_demo()
    db.session.commit()
    for line in lines:
        click.echo(line)


def init_app(app: Flask) -> None:
    from govern.audit.cli import audit_cli

    app.cli.add_command(audit_cli)
    app.cli.add_command(members_cli)
    app.cli.add_command(documents_cli)
    app.cli.add_command(worker)
    app.cli.add_command(demo)
