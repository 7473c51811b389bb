"""An admin signs in, imports a document and a second version, and reads the diff."""

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import check_accessibility, sign_in

pytestmark = pytest.mark.browser

VERSION_1 = """# House Rules

## Meetings

Members speak in turn and listen to one another.

## Dues

Dues are paid monthly.

Text with <script>alert("x")</script> stays text.
"""

VERSION_2 = """# House Rules

## Meetings

Members speak in turn, keep it short and listen to one another.

## Dues

Dues are paid quarterly.

Text with <script>alert("x")</script> stays text.

## 회의

회원은 투표할 수 있다.
"""


def import_version(page, tmp_path, name: str, text: str, document: str, date: str) -> None:
    page.goto("/admin/documents/import")
    page.get_by_label("Document", exact=True).select_option(label=document)
    if document == "A new document":
        page.get_by_label("Title of the new document").fill("House Rules")
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    page.get_by_label("Text file").set_input_files(str(path))
    page.get_by_label("In effect since").fill(date)
    page.get_by_role("button", name="Import").click()


def test_admin_imports_two_versions_and_reads_the_redline(page, admin_account, tmp_path):
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.goto("/auth/sign-in")
    check_accessibility(page)
    sign_in(page, admin_account)

    page.goto("/admin/documents/import")
    check_accessibility(page)
    import_version(page, tmp_path, "v1.md", VERSION_1, "A new document", "2024-01-15")
    expect(page.get_by_text("Imported version 1 of House Rules.")).to_be_visible()
    import_version(page, tmp_path, "v2.md", VERSION_2, "New version of House Rules", "2025-02-01")
    expect(page.get_by_text("Imported version 2 of House Rules.")).to_be_visible()
    check_accessibility(page)

    page.get_by_role("button", name="Compare").click()
    expect(page.get_by_role("heading", level=1)).to_contain_text("version 1 to 2")
    expect(page.locator("ins").filter(has_text="quarterly")).to_be_visible()
    expect(page.locator("del").filter(has_text="monthly")).to_be_visible()
    expect(page.locator("ins").filter(has_text="keep it short")).to_be_visible()
    check_accessibility(page)

    page.get_by_role("link", name="Side by side").click()
    table = page.locator("table.diff-side")
    expect(table.locator("del").filter(has_text="monthly")).to_be_visible()
    expect(table.locator("ins").filter(has_text="quarterly")).to_be_visible()
    check_accessibility(page)

    page.goto("/documents/house-rules")
    expect(page.get_by_text("Last updated on February 1, 2025")).to_be_visible()
    expect(
        page.get_by_role("navigation", name="Contents").get_by_role("link", name="Dues")
    ).to_be_visible()
    expect(page.get_by_text('Text with <script>alert("x")</script> stays text.')).to_be_visible()
    expect(page.get_by_role("heading", name="Document history")).to_be_visible()
    check_accessibility(page)

    page.goto("/documents/house-rules/amendments/new")
    page.get_by_label("Title").fill("Shorter meetings")
    page.get_by_role("button", name="Preview the redline").click()
    check_accessibility(page)

    page.goto("/admin/documents/house-rules/procedure")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    check_accessibility(page)

    assert dialogs == [], "user text was executed as script"
    assert page.console_errors == [], page.console_errors


def test_member_admin_pages_are_accessible(page, admin_account):
    sign_in(page, admin_account)
    for path in (
        "/admin/members/",
        "/admin/members/new",
        "/admin/members/import",
        "/documents/",
        "/amendments/",
    ):
        page.goto(path)
        check_accessibility(page)
    assert page.console_errors == [], page.console_errors
