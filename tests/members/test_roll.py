"""Importing the member roll from CSV: every row checked, all applied or none."""

import html
import io
import re
import unicodedata

import pytest
from sqlalchemy import func, select

from govern.extensions import db
from govern.mail.models import OutboxMessage
from govern.members import roll
from govern.members.models import Member, MemberChange, Role, Standing
from govern.members.roll import RollFileError, import_roll
from tests.members.conftest import big_roll, member_by_email, roll_counts, roll_csv

GOOD = "Good Member,good@example.org,,"

# (rows after the header, then the (line, part of the message) each must produce)
MALFORMED = {
    "bad email": (["Kim,kim-at-example.org,,"], [(2, "is not an email address")]),
    "empty email": (["Kim,,,"], [(2, "the email is empty")]),
    "empty name": ([" ,kim@example.org,,"], [(2, "the name is empty")]),
    "too long name": ([f"{'가' * 201},kim@example.org,,"], [(2, "longer than 200 characters")]),
    "unknown role": (["Kim,kim@example.org,chair;king,"], [(2, "unknown role “king”")]),
    "unknown standing": (["Kim,kim@example.org,,boss"], [(2, "unknown standing “boss”")]),
    "too few columns": (["Kim,kim@example.org"], [(2, "expected 4 columns, found 2")]),
    "too many columns": (["Kim,kim@example.org,,active,x"], [(2, "expected 4 columns, found 5")]),
    "duplicate email": (
        ["Kim,kim@example.org,,", "Kim Again,KIM@example.org,,"],
        [(3, "kim@example.org appears again (first on line 2)")],
    ),
    "line break in a quoted name": (
        ['"Kim\nMinji",kim@example.org,,', "Lee,lee-at-example.org,,"],
        [(2, "line break"), (4, "is not an email address")],
    ),
    "comma in a quoted name is fine": (
        ['"Kim, Minji",kim@example.org,"receiver, chair",', "Lee,,,"],
        [(3, "the email is empty")],
    ),
    "quoted line break then a blank line": (
        ['Kim,kim@example.org,"chair;\nreceiver",', "", "Lee,lee@example.org,,boss"],
        [(5, "unknown standing “boss”")],
    ),
    "control character in a name": (["Kim\x00,kim@example.org,,"], [(2, "control character")]),
    "unclosed quote": (['"Kim,kim@example.org,,', "Lee,lee@example.org,,"], [(2, "columns")]),
    "several problems in one row": (
        [",bad,king,boss"],
        [(2, "name is empty"), (2, "not an email"), (2, "“king”"), (2, "“boss”")],
    ),
}


@pytest.mark.parametrize("lines, expected", MALFORMED.values(), ids=MALFORMED.keys())
def test_each_malformed_row_is_reported_with_its_line_and_the_file_changes_nothing(
    app, admin, lines, expected
):
    before = roll_counts()
    report = import_roll(roll_csv(*lines, GOOD), actor=admin)
    db.session.commit()
    found = [(error.line, error.message) for error in report.errors]
    assert len(found) == len(expected), found
    for (line, message), (expected_line, part) in zip(found, expected, strict=True):
        assert line == expected_line and part in message, found
    assert not report.applied
    assert roll_counts() == before
    assert member_by_email("good@example.org") is None


def test_one_bad_row_among_good_ones_changes_nothing(app, admin, make_member):
    make_member(name="Old Name", email="old@example.org")
    before = roll_counts()
    lines = [f"New {n},new{n}@example.org,,active" for n in range(50)]
    data = roll_csv("New Name,old@example.org,chair,lapsed", *lines, "Bad,bad@,,")
    report = import_roll(data, actor=admin)
    db.session.commit()
    assert (report.added, report.updated, len(report.errors)) == (50, 1, 1)
    assert report.errors[0].line == 53
    assert roll_counts() == before
    old = member_by_email("old@example.org")
    assert (old.name, old.roles, old.standing) == ("Old Name", set(), Standing.ACTIVE)


def test_a_checked_roll_with_errors_is_never_applied(app, admin):
    report = roll.check_roll(roll_csv("Kim,kim@example.org,,", "Lee,,,").decode(), actor=admin)
    with pytest.raises(ValueError, match="never applied"):
        roll.apply_roll(report, actor=admin)
    assert member_by_email("kim@example.org") is None


def test_dry_run_reports_what_would_change_and_changes_nothing(app, admin, make_member):
    make_member(name="Old Name", email="old@example.org")
    before = roll_counts()
    data = roll_csv("New Name,old@example.org,,", "Kim,kim@example.org,admin,")
    report = import_roll(data, actor=admin, dry_run=True)
    db.session.commit()
    assert (report.ok, report.applied, report.added, report.updated) == (True, False, 1, 1)
    assert roll_counts() == before
    assert member_by_email("old@example.org").name == "Old Name"


def test_reimporting_the_same_file_changes_nothing(app, admin):
    data = roll_csv("Kim,kim@example.org,chair,", "Lee,lee@example.org,,suspended")
    first = import_roll(data, actor=admin)
    db.session.commit()
    assert (first.added, first.applied) == (2, True)
    before = roll_counts()
    again = import_roll(data, actor=admin)
    db.session.commit()
    assert (again.rows, again.added, again.updated, again.unchanged) == (2, 0, 0, 2)
    assert roll_counts() == before


def test_updated_file_changes_exactly_the_changed_members_and_records_who_and_when(
    app, admin, clock
):
    import_roll(
        roll_csv("Kim,kim@example.org,,", "Lee,lee@example.org,chair,", "Park,park@example.org,,"),
        actor=None,
    )
    db.session.commit()
    changed_at = clock.advance(days=3)
    before = roll_counts()
    report = import_roll(
        roll_csv(
            "Kim Minji,kim@example.org,,",
            "Lee,lee@example.org,receiver,lapsed",
            "Park,park@example.org,,",
        ),
        actor=admin,
    )
    db.session.commit()
    assert (report.added, report.updated, report.unchanged) == (0, 2, 1)
    assert roll_counts()["member_changes"] == before["member_changes"] + 3
    changes = db.session.scalars(
        select(MemberChange).where(MemberChange.changed_at == changed_at)
    ).all()
    assert {(c.member.email, c.field, c.old_value, c.new_value) for c in changes} == {
        ("kim@example.org", "name", "Kim", "Kim Minji"),
        ("lee@example.org", "roles", "chair", "receiver"),
        ("lee@example.org", "standing", "active", "lapsed"),
    }
    assert {(c.actor_id, c.actor_label) for c in changes} == {(admin.id, admin.email)}
    lee = member_by_email("lee@example.org")
    assert (lee.roles, lee.standing, lee.is_eligible) == ({Role.RECEIVER}, "lapsed", False)


def test_new_members_are_recorded_as_added_by_the_importer(app, admin):
    import_roll(roll_csv("Kim,kim@example.org,chair;receiver,"), actor=admin)
    db.session.commit()
    kim = member_by_email("kim@example.org")
    change = db.session.scalar(select(MemberChange).filter_by(member_id=kim.id))
    assert (change.field, change.new_value, change.actor_id) == (
        "created",
        "active; chair;receiver",
        admin.id,
    )
    assert kim.login_id and kim.created_at.tzinfo is not None


def test_columns_left_out_or_empty_standing_keep_what_members_have(app, admin, make_member):
    make_member(name="Kim", email="kim@example.org", roles=["chair"], standing="suspended")
    make_member(name="Lee", email="lee@example.org", roles=["receiver"], standing="lapsed")
    report = import_roll(roll_csv("Kim,kim@example.org", header="name,email"), actor=admin)
    db.session.commit()
    assert report.unchanged == 1
    report = import_roll(roll_csv("Lee,lee@example.org,,"), actor=admin)
    db.session.commit()
    lee = member_by_email("lee@example.org")
    assert (report.updated, lee.roles, lee.standing) == (1, set(), "lapsed")
    assert member_by_email("kim@example.org").standing == "suspended"


def test_members_missing_from_the_file_are_left_as_they_are(app, admin, make_member):
    make_member(name="Kim", email="kim@example.org", roles=["chair"])
    import_roll(roll_csv("Lee,lee@example.org,,"), actor=admin)
    db.session.commit()
    kim = member_by_email("kim@example.org")
    assert (kim.roles, kim.standing) == ({Role.CHAIR}, "active")


def test_import_cannot_remove_the_importing_admins_own_admin_role(app, admin):
    before = roll_counts()
    report = import_roll(roll_csv(f"Ada Admin,{admin.email},chair,"), actor=admin)
    db.session.commit()
    assert [(e.line, "your own admin role" in e.message) for e in report.errors] == [(2, True)]
    assert roll_counts() == before
    assert member_by_email(admin.email).is_admin


def test_korean_names_and_emails_in_any_case_import(app, admin):
    report = import_roll(roll_csv("김민지,MinJi.Kim@Example.ORG,receiver,"), actor=admin)
    db.session.commit()
    minji = member_by_email("minji.kim@example.org")
    assert (report.added, minji.name, minji.roles) == (1, "김민지", {Role.RECEIVER})
    decomposed = unicodedata.normalize("NFD", "김민지")  # as macOS may write it
    again = import_roll(roll_csv(f"{decomposed},minji.kim@example.org,receiver,"), actor=admin)
    assert again.unchanged == 1


def test_utf8_with_byte_order_mark_imports(app, admin):
    report = import_roll(b"\xef\xbb\xbf" + roll_csv("김민지,minji@example.org,,"), actor=admin)
    assert (report.ok, report.added) == (True, 1)


@pytest.mark.parametrize(
    "data, message",
    [
        ("name,email\r\nJosé,jose@example.org\r\n".encode("latin-1"), "not UTF-8"),
        (b"", "The file is empty."),
        (b"\r\n  \r\n", "The file is empty."),
        (b"Kim,kim@example.org\r\n", "“kim” is not a known column"),
        (b"name,mail\r\nKim,kim@example.org\r\n", "the column “email” is missing"),
        (b"name,email,role\r\nKim,kim@example.org,chair\r\n", "“role” is not a known column"),
        (b"name,email,name\r\n", "the column “name” appears twice"),
    ],
    ids=["latin-1", "empty", "blank lines", "no header", "missing", "unknown", "repeated"],
)
def test_unreadable_file_is_refused_with_a_clear_error_and_changes_nothing(
    app, admin, data, message
):
    before = roll_counts()
    with pytest.raises(RollFileError, match=message):
        import_roll(data, actor=admin)
    db.session.commit()
    assert roll_counts() == before


def test_file_with_more_rows_than_the_limit_is_refused(app, admin, monkeypatch):
    monkeypatch.setattr(roll, "MAX_ROWS", 3)
    data = roll_csv(*(f"M {n},m{n}@example.org,," for n in range(4)))
    with pytest.raises(RollFileError, match="more than 3 rows"):
        import_roll(data, actor=admin)


@pytest.mark.slow
def test_ten_thousand_rows_import_correctly(app, admin):
    """Correctness at size; bench/roll_import.py measures the time."""
    data = big_roll(10_000)
    report = import_roll(data, actor=admin)
    db.session.commit()
    assert (report.added, report.applied) == (10_000, True)
    counts = roll_counts()
    assert counts["members"] == 10_001 and counts["member_changes"] == 10_000
    assert counts["member_roles"] == 1 + 100
    lapsed = db.session.scalar(select(func.count()).where(Member.standing == Standing.LAPSED))
    assert lapsed == len(range(0, 10_000, 7))
    assert member_by_email("member09999@example.org").name == "Member 09999"
    again = import_roll(data, actor=admin)
    assert (again.unchanged, again.added, again.updated) == (10_000, 0, 0)


# The browser flow: upload -> check report -> confirm.


def _upload(client, data: bytes):
    files = {"file": (io.BytesIO(data), "roll.csv"), "submit": "Check the file"}
    return client.post("/admin/members/import", data=files)


def test_upload_shows_counts_then_confirm_imports_and_invites_only_new_members(
    admin_client, make_member
):
    make_member(name="Old", email="old@example.org", password=None)
    data = roll_csv("Old New Name,old@example.org,,", "김민지,minji@example.org,chair,")
    before = roll_counts()
    checked = _upload(admin_client, data)
    page = checked.get_data(as_text=True)
    assert checked.status_code == 200
    assert "2 rows: 1 to add, 1 to update, 0 unchanged." in page
    assert roll_counts() == before
    csv_text = html.unescape(re.search(r'name="csv_text" type="hidden" value="([^"]*)"', page)[1])
    assert csv_text == data.decode()
    response = admin_client.post(
        "/admin/members/import", data={"csv_text": csv_text, "send_invitations": "y"}
    )
    assert response.status_code == 302
    assert member_by_email("old@example.org").name == "Old New Name"
    assert member_by_email("minji@example.org").roles == {Role.CHAIR}
    outbox = db.session.scalars(select(OutboxMessage.recipient)).all()
    assert outbox == ["minji@example.org"]
    index = admin_client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Roll imported: 1 added, 1 updated, 0 unchanged." in index


def test_confirm_without_invitations_queues_no_mail(admin_client):
    response = admin_client.post(
        "/admin/members/import", data={"csv_text": "name,email\r\nKim,kim@example.org\r\n"}
    )
    assert response.status_code == 302
    assert roll_counts()["outbox_messages"] == 0 and member_by_email("kim@example.org")


def test_upload_with_bad_rows_lists_each_line_and_offers_no_import(admin_client):
    before = roll_counts()
    response = _upload(admin_client, roll_csv("Kim,kim@example.org,,", "Lee,lee@,,", ",x@y.org,,"))
    page = response.get_data(as_text=True)
    assert response.status_code == 400
    assert "<tr><td>3</td><td>“lee@” is not an email address" in page
    assert "<tr><td>4</td><td>the name is empty</td></tr>" in page
    assert "2 problems were found, so nothing will be imported." in page
    assert 'name="csv_text"' not in page
    assert roll_counts() == before


@pytest.mark.parametrize(
    "data, message",
    [
        ("name,email\nJosé,jose@example.org\n".encode("latin-1"), "The file is not UTF-8 text"),
        (b"", "The file is empty."),
        (b"name,mail\n", "the column “email” is missing"),
    ],
    ids=["latin-1", "empty", "bad header"],
)
def test_unreadable_upload_gets_a_clear_error(admin_client, data, message):
    response = _upload(admin_client, data)
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)


def test_upload_without_a_file_asks_for_one(admin_client):
    response = admin_client.post("/admin/members/import", data={"submit": "Check the file"})
    assert response.status_code == 400
    assert "Choose a CSV file." in response.get_data(as_text=True)


@pytest.mark.parametrize(
    "csv_text, message",
    [
        ("", "The checked file was not sent back"),
        ("name,mail\nKim,kim@example.org\n", "the column “email” is missing"),
        ("name,email,standing\nKim,kim@example.org,boss\n", "unknown standing “boss”"),
    ],
    ids=["empty", "bad header", "bad row"],
)
def test_confirm_checks_the_file_again_and_changes_nothing_when_it_is_bad(
    admin_client, csv_text, message
):
    before = roll_counts()
    response = admin_client.post("/admin/members/import", data={"csv_text": csv_text})
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert roll_counts() == before


def test_upload_of_a_roll_already_imported_says_nothing_would_change(admin_client, admin):
    data = roll_csv("Kim,kim@example.org,,")
    import_roll(data, actor=admin)
    db.session.commit()
    page = _upload(admin_client, data).get_data(as_text=True)
    assert "1 rows: 0 to add, 0 to update, 1 unchanged." in page
    assert "importing it would change nothing" in page and 'name="csv_text"' not in page


def test_upload_form_keeps_the_progress_bar_markup(admin_client):
    page = admin_client.get("/admin/members/import").get_data(as_text=True)
    assert re.search(r'<form [^>]*enctype="multipart/form-data"[^>]* data-progress>', page)
    assert '<progress class="upload-progress"' in page and "upload.js" in page


@pytest.mark.slow
def test_ten_thousand_rows_import_through_the_browser_forms(admin_client):
    data = big_roll(10_000)
    assert _upload(admin_client, data).status_code == 200
    response = admin_client.post("/admin/members/import", data={"csv_text": data.decode()})
    assert response.status_code == 302
    assert roll_counts()["members"] == 10_001
