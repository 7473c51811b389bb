"""A member drafts a change to one section and watches the redline follow as they type."""

import pytest
from playwright.sync_api import expect

from govern.documents import services as documents
from govern.extensions import db
from tests.browser.conftest import check_accessibility, sign_in

pytestmark = pytest.mark.browser

RULES = """# House Rules

Adopted in 2020.

## Meetings

Members meet monthly.

## Dues

Dues are paid yearly.
"""


@pytest.fixture
def rules(live_app):
    with live_app.app_context():
        documents.import_versions(
            [documents.VersionFile(data=RULES.encode())], title="House Rules", slug="rules"
        )
        db.session.commit()


def test_the_redline_follows_the_typing_in_one_section(page, rules, admin_account):
    sign_in(page, admin_account)
    page.goto("/documents/rules/amendments/new")
    page.locator("#main").get_by_role("link", name="Meetings", exact=True).click()
    section_url = page.url
    text = page.get_by_label("Proposed text of this section")
    expect(text).to_have_value("## Meetings\n\nMembers meet monthly.")
    check_accessibility(page)

    previews = []
    page.on("request", lambda request: request.url.endswith("/preview") and previews.append(1))
    page.get_by_label("Title", exact=True).fill("Meet every week")
    page.get_by_label("Rationale").fill("Once a month is too rare.")
    text.fill("## Meetings\n\nMembers meet weekly.")
    text.press("End")
    text.press_sequentially(" Online too.", delay=40)

    preview = page.locator("#redline-preview")
    expect(preview.locator("ins").filter(has_text="weekly. Online too")).to_be_visible()
    expect(preview.locator("del").filter(has_text="monthly")).to_be_visible()
    expect(preview.get_by_text("This preview is not saved yet.")).to_be_visible()
    status = page.get_by_role("status")
    expect(status).to_have_text("The redline preview below the form is up to date.")
    assert page.url == section_url  # no round trip: the preview button was not pressed
    assert 1 <= len(previews) < 5  # one request a pause in typing, not one a keystroke
    check_accessibility(page)

    # Choosing another section before saving asks first; staying keeps what was typed.
    dialogs = []
    page.once("dialog", lambda dialog: (dialogs.append(dialog.type), dialog.dismiss()))
    page.get_by_role("link", name="Dues", exact=True).click()
    expect(text).to_have_value("## Meetings\n\nMembers meet weekly. Online too.")
    assert dialogs == ["beforeunload"] and page.url == section_url

    page.get_by_role("button", name="Save draft").click()
    expect(page.get_by_text("Your draft is saved. Only you can see it.")).to_be_visible()
    expect(page.locator("ins").filter(has_text="weekly. Online too")).to_be_visible()
    expect(page.get_by_text("Dues are paid yearly.")).to_be_attached()
    assert page.console_errors == []
