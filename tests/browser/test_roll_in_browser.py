"""An admin checks a member roll in the browser, sees its bad rows, fixes it and imports it."""

import pytest
from playwright.sync_api import expect
from sqlalchemy import func, select

from govern.extensions import db
from govern.members.models import Member
from tests.browser.conftest import check_accessibility, sign_in

pytestmark = pytest.mark.browser


def roll(rows: int, bad_line: int | None = None) -> str:
    lines = ["name,email,roles,standing"]
    for number in range(1, rows + 1):
        email = f"member{number}@example.org"
        if bad_line is not None and len(lines) + 1 == bad_line:
            email = "not-an-address"
        lines.append(f"Member {number},{email},member,active")
    return "\n".join(lines) + "\n"


def member_count(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Member))


def test_admin_sees_bad_rows_then_imports_2000_members(page, live_app, admin_account, tmp_path):
    sign_in(page, admin_account)
    bad = tmp_path / "roll-bad.csv"
    bad.write_text(roll(2000, bad_line=1234), encoding="utf-8")
    page.goto("/admin/members/import")
    page.get_by_label("Member roll (CSV file)").set_input_files(str(bad))
    page.get_by_role("button", name="Check the file").click()
    problems = page.get_by_role("table", name="Problems by line")
    expect(problems).to_contain_text("1234")
    expect(page.get_by_text("nothing will be imported")).to_be_visible()
    check_accessibility(page)
    assert member_count(live_app) == 1
    # The report of a bad file is answered 400, which Chromium logs; nothing else may be.
    assert all("status of 400" in error for error in page.console_errors)
    page.console_errors.clear()

    good = tmp_path / "roll.csv"
    good.write_text(roll(2000), encoding="utf-8")
    page.get_by_label("Member roll (CSV file)").set_input_files(str(good))
    with page.expect_request(lambda request: request.method == "POST") as upload:
        page.get_by_role("button", name="Check the file").click()
    # Sent by upload.js, which shows the upload's progress; without JavaScript a plain post.
    assert upload.value.resource_type == "xhr"
    expect(page.get_by_text("2000 rows: 2000 to add, 0 to update, 0 unchanged.")).to_be_visible()
    assert member_count(live_app) == 1
    page.get_by_label("Email an invitation to each new member").uncheck()
    page.get_by_role("button", name="Import the roll").click()
    expect(page.get_by_text("2000 added")).to_be_visible()
    assert member_count(live_app) == 2001
    assert page.console_errors == [], page.console_errors
