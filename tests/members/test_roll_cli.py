"""`flask --app govern members import FILE.csv [--dry-run] [--invite]`."""

import pytest
from sqlalchemy import func, select

from govern.extensions import db
from govern.mail.models import OutboxMessage
from govern.members.models import MemberChange
from tests.members.conftest import big_roll, member_by_email, roll_counts, roll_csv


@pytest.fixture
def run_import(app, tmp_path):
    """Write `data` to a CSV file and run the import command on it."""

    def run(data: bytes, *options: str):
        path = tmp_path / "roll.csv"
        path.write_bytes(data)
        result = app.test_cli_runner().invoke(args=["members", "import", str(path), *options])
        db.session.remove()
        return result

    return run


def test_import_adds_members_and_records_the_command_line_as_actor(app, run_import):
    result = run_import(
        roll_csv("김민지,minji@example.org,receiver;chair,", "Lee,lee@example.org,,")
    )
    assert result.exit_code == 0, result.output
    assert "Imported. 2 rows: 2 added, 0 updated, 0 unchanged." in result.output
    minji = member_by_email("minji@example.org")
    assert (minji.name, sorted(minji.roles)) == ("김민지", ["chair", "receiver"])
    change = db.session.scalar(select(MemberChange).filter_by(member_id=minji.id))
    assert (change.actor_id, change.actor_label) == (None, "command line")


def test_import_shows_a_progress_bar(app, run_import):
    result = run_import(roll_csv("Kim,kim@example.org,,"))
    assert "Importing" in result.output


def test_every_bad_row_is_reported_by_line_and_nothing_is_imported(app, run_import):
    before = roll_counts()
    result = run_import(
        roll_csv(
            "Kim,kim@example.org,,",
            "Lee,not-an-email,,",
            '"Park, Jun",park@example.org,king,',
            "Choi,choi@example.org,,boss",
            "Kim Again,kim@example.org,,",
        )
    )
    assert result.exit_code == 1
    for line, part in [
        (3, "not an email address"),
        (4, "unknown role “king”"),
        (5, "unknown standing “boss”"),
        (6, "appears again (first on line 2)"),
    ]:
        assert f"line {line}: " in result.output and part in result.output
    assert "4 problems; nothing was imported." in result.output
    assert roll_counts() == before


def test_dry_run_reports_and_changes_nothing(app, run_import):
    before = roll_counts()
    result = run_import(roll_csv("Kim,kim@example.org,,", "Lee,lee@example.org,,"), "--dry-run")
    assert result.exit_code == 0, result.output
    assert "Dry run, nothing changed. 2 rows: 2 to add, 0 to update, 0 unchanged." in result.output
    assert roll_counts() == before


def test_reimporting_the_same_file_changes_nothing(app, run_import):
    data = roll_csv("Kim,kim@example.org,chair,", "Lee,lee@example.org,,lapsed")
    assert run_import(data).exit_code == 0
    before = roll_counts()
    result = run_import(data)
    assert "2 rows: 0 added, 0 updated, 2 unchanged." in result.output
    assert roll_counts() == before


def test_invite_queues_invitations_for_new_members_only(app, run_import, make_member):
    make_member(email="old@example.org", password=None)
    result = run_import(roll_csv("Old,old@example.org,,", "New,new@example.org,,"), "--invite")
    assert result.exit_code == 0, result.output
    assert "Invitations queued: 1." in result.output
    messages = db.session.scalars(select(OutboxMessage)).all()
    assert [message.recipient for message in messages] == ["new@example.org"]
    assert "http://govern.test/auth/" in messages[0].body_text


def test_non_utf8_file_is_refused_with_a_clear_error(app, run_import):
    before = roll_counts()
    result = run_import("name,email\nJosé,jose@example.org\n".encode("latin-1"))
    assert result.exit_code == 1
    assert "not UTF-8" in result.output and "Nothing was imported." in result.output
    assert roll_counts() == before


@pytest.mark.parametrize(
    "data, message",
    [
        (b"", "The file is empty."),
        (b"name,mail\nKim,kim@example.org\n", "the column “email” is missing"),
        (b"name,email,phone\nKim,kim@example.org,1\n", "“phone” is not a known column"),
    ],
    ids=["empty", "missing column", "unknown column"],
)
def test_unreadable_file_is_refused_with_a_clear_error(app, run_import, data, message):
    result = run_import(data)
    assert result.exit_code == 1
    assert message in result.output and "Nothing was imported." in result.output


def test_utf8_file_with_byte_order_mark_imports(app, run_import):
    result = run_import(b"\xef\xbb\xbf" + roll_csv("김민지,minji@example.org,,"))
    assert result.exit_code == 0, result.output
    assert member_by_email("minji@example.org").name == "김민지"


@pytest.mark.slow
def test_ten_thousand_rows_import_from_the_command_line(app, run_import):
    """Correctness at size; bench/roll_import.py measures the time."""
    result = run_import(big_roll(10_000))
    assert result.exit_code == 0, result.output
    assert "10000 rows: 10000 added" in result.output
    assert db.session.scalar(select(func.count(MemberChange.id))) == 10_000
