"""Command-line commands: `flask --app govern demo | worker | members ... | documents ...`."""

import time
from datetime import date, datetime
from pathlib import Path

import click
from flask import Flask
from flask.cli import AppGroup

from govern.extensions import db

members_cli = AppGroup("members", help="Manage the member roll.")
documents_cli = AppGroup("documents", help="Import governing documents.")


@members_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check every row and report; change nothing.")
@click.option("--invite", is_flag=True, help="Email an invitation to each new member.")
def import_members(file: Path, dry_run: bool, invite: bool) -> None:
    """Import the member roll from a CSV file (name, email, roles, standing).

    All or nothing: a file with one bad row changes nothing.
    """
    from govern.members.roll import RollFileError, import_roll
    from govern.members.services import invite_member

    data = file.read_bytes()
    try:
        with click.progressbar(length=1, label="Checking") as bar:
            report = import_roll(data, actor=None, dry_run=True)
            bar.update(1)
        if report.ok and not dry_run:
            with click.progressbar(length=report.rows, label="Importing") as bar:
                last = 0

                def advance(done: int) -> None:
                    nonlocal last
                    bar.update(done - last)
                    last = done

                report = import_roll(data, actor=None, progress=advance)
            if invite:
                for member in report.new_members:
                    invite_member(member)
    except RollFileError as error:
        db.session.rollback()
        raise click.ClickException(str(error)) from None
    for error in report.errors:
        click.echo(f"line {error.line}: {error.message}", err=True)
    summary = (
        f"{report.rows} rows: {report.added} to add, {report.updated} to update, "
        f"{report.unchanged} unchanged"
    )
    if not report.ok:
        db.session.rollback()
        raise click.ClickException(
            f"{len(report.errors)} bad rows; nothing was imported. ({summary})"
        )
    if dry_run:
        click.echo(f"Dry run, nothing changed. {summary}.")
        return
    db.session.commit()
    invited = f"; {len(report.new_members)} invitations queued" if invite else ""
    click.echo(f"Imported. {summary}{invited}.")


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
def import_document(
    files: tuple[Path, ...], title: str | None, slug: str | None, dates, summaries
) -> None:
    """Import FILES as the versions of a document, oldest first.

    Markdown (.md) or plain text (.txt). Without --date the only file takes effect now.
    """
    from govern.documents import services

    if dates and len(dates) != len(files):
        raise click.UsageError(f"give one --date per file ({len(files)} files, {len(dates)} dates)")
    if len(files) > 1 and not dates:
        raise click.UsageError("importing several versions needs one --date per file")
    effective = [_parse_date(value) for value in dates] or [None]
    try:
        document = services.find_document(slug) if slug else None
        if document is None:
            if not title:
                raise click.UsageError("a new document needs --title")
            document = services.create_document(
                title, slug or services.slugify(title), services.format_for_filename(files[0].name)
            )
        for index, path in enumerate(files):
            text = services.decode_text(path.read_bytes())
            version = services.add_version(
                document,
                text,
                effective_at=effective[index] if dates else None,
                summary=summaries[index] if index < len(summaries) else "",
            )
            click.echo(f"{path.name}: version {version.number} of {document.title}")
    except services.DocumentError as error:
        db.session.rollback()
        raise click.ClickException(f"{error} Nothing was imported.") from None
    db.session.commit()


@click.command("worker")
@click.option("--once", is_flag=True, help="Deliver what is due, then exit.")
@click.option("--interval", default=5.0, show_default=True, help="Seconds between passes.")
def worker(once: bool, interval: float) -> None:
    """Deliver queued mail (and, later, open and close due ballots)."""
    from govern.mail.delivery import deliver_due

    while True:
        delivered = deliver_due()
        if delivered or once:
            click.echo(f"delivered {delivered} messages")
        if once:
            return
        time.sleep(interval)


@click.command("demo")
def demo() -> None:
    """Load a demo organization: members and a code of conduct with its history."""
    from govern.demo import load_demo

    for line in load_demo():
        click.echo(line)


def init_app(app: Flask) -> None:
    app.cli.add_command(members_cli)
    app.cli.add_command(documents_cli)
    app.cli.add_command(worker)
    app.cli.add_command(demo)
