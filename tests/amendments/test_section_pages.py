"""Drafting one section at a time, and the live redline preview the form asks for."""

import html
import re

import pytest
from sqlalchemy import func, select

from govern.amendments import services
from govern.amendments.models import Amendment
from govern.amendments.sections import fingerprint
from govern.documents import services as documents
from govern.documents.models import TextFormat
from govern.extensions import db
from govern.procedures.states import State
from tests.conftest import PASSWORD

RULES = (
    "# House Rules\n\nAdopted in 2020.\n\n"
    "## Meetings\n\nMembers meet monthly.\n\n"
    "## Dues\n\nDues are paid yearly.\n"
)
MEETINGS = "## Meetings\n\nMembers meet monthly."
SCRIPT = "<script>alert(1)</script>"


@pytest.fixture
def app_config(request, tmp_path) -> dict:
    """A test may add settings with `indirect` parametrization."""
    return {"MAIL_DIRECTORY": str(tmp_path / "mail"), **getattr(request, "param", {})}


@pytest.fixture
def rules(app, clock):
    versions = documents.import_versions(
        [documents.VersionFile(data=RULES.encode())], title="House Rules", slug="rules"
    )
    db.session.commit()
    return versions[0].document


@pytest.fixture
def plain(app, clock):
    versions = documents.import_versions(
        [documents.VersionFile(data=b"RULES\n\nBe kind.\n")],
        title="Plain Rules",
        slug="plain",
        format=TextFormat.PLAIN,
    )
    db.session.commit()
    return versions[0].document


@pytest.fixture
def proposer(make_member):
    return make_member(name="Pat Proposer")


@pytest.fixture
def draft(rules, proposer):
    """A draft that already changed the dues."""
    text = RULES.replace("yearly", "quarterly")
    amendment = services.start_draft(proposer, rules, "Dues", "Because.", text)
    db.session.commit()
    return amendment


def shown_form(client, url: str) -> dict:
    """The fields of the draft form as the page shows them, ready to post back."""
    response = client.get(url)
    assert response.status_code == 200, response.status_code
    page = response.get_data(as_text=True)
    fields = {}
    for name in ("section", "fingerprint", "title"):
        found = re.search(rf'name="{name}" type="[a-z]+" value="([^"]*)"', page)
        if found:
            fields[name] = html.unescape(found[1])
    found = re.search(r'name="proposed_text"[^>]*>\r?\n?(.*?)</textarea>', page, re.DOTALL)
    fields["proposed_text"] = html.unescape(found[1])
    found = re.search(r'name="rationale"[^>]*>\r?\n?(.*?)</textarea>', page, re.DOTALL)
    fields["rationale"] = html.unescape(found[1])
    return fields


def saved(fields: dict, **changes) -> dict:
    return {**fields, **changes, "save": "Save draft"}


def amendment_count() -> int:
    return db.session.scalar(select(func.count()).select_from(Amendment))


def reloaded(amendment: Amendment) -> Amendment:
    db.session.expire_all()
    return db.session.get(Amendment, amendment.id)


# The pages --------------------------------------------------------------------------------


def test_the_draft_page_lists_the_sections_beside_the_whole_document(
    client, rules, proposer, sign_in
):
    sign_in(proposer)
    page = client.get("/documents/rules/amendments/new").get_data(as_text=True)
    assert "Edit one section" in page
    for number, title in [(1, "House Rules"), (2, "Meetings"), (3, "Dues")]:
        assert f'href="/documents/rules/amendments/new?section={number}">{title}</a>' in page
    assert 'name="section"' not in page and "Adopted in 2020." in page
    assert "Edit the whole document" not in page
    script = '<script src="/static/redline-preview.js" defer></script>'
    assert script in page and 'data-preview-url="/documents/rules/amendments/preview"' in page
    # A short status is announced, not the whole redline after every pause in typing.
    assert '<p id="redline-status" class="visually-hidden" role="status"' in page
    assert "aria-live" not in page


def test_a_section_form_shows_only_that_section_with_its_fingerprint(
    client, rules, proposer, sign_in
):
    sign_in(proposer)
    fields = shown_form(client, "/documents/rules/amendments/new?section=2")
    assert fields["proposed_text"] == MEETINGS
    assert fields["section"] == "2" and fields["fingerprint"] == fingerprint(MEETINGS)
    page = client.get("/documents/rules/amendments/new?section=2").get_data(as_text=True)
    assert "Proposed text of this section" in page and "Section: Meetings" in page
    assert '<a href="/documents/rules/amendments/new">Edit the whole document</a>' in page
    assert 'href="/documents/rules/amendments/new?section=2" aria-current="page"' in page


def test_a_new_draft_saves_the_section_back_into_the_whole_text(client, rules, proposer, sign_in):
    sign_in(proposer)
    fields = shown_form(client, "/documents/rules/amendments/new?section=2")
    changed = "## Meetings\r\n\r\nMembers meet weekly.\r\n"
    response = client.post(
        "/documents/rules/amendments/new",
        data=saved(fields, title="Weekly", rationale="More often.", proposed_text=changed),
    )
    assert response.status_code == 302
    amendment = db.session.scalars(select(Amendment)).one()
    assert amendment.proposed_text == RULES.replace("monthly", "weekly")
    assert amendment.title == "Weekly" and amendment.state == State.DRAFT


def test_editing_a_section_starts_from_the_draft_and_keeps_its_other_changes(
    client, draft, proposer, sign_in
):
    sign_in(proposer)
    url = f"/amendments/{draft.id}/edit"
    fields = shown_form(client, f"{url}?section=3")
    assert fields["proposed_text"] == "## Dues\n\nDues are paid quarterly."
    assert fields["title"] == "Dues" and fields["rationale"] == "Because."
    fields = shown_form(client, f"{url}?section=2")
    response = client.post(
        url, data=saved(fields, proposed_text="## Meetings\n\nMembers meet weekly.")
    )
    assert response.status_code == 302
    expected = RULES.replace("yearly", "quarterly").replace("monthly", "weekly")
    assert reloaded(draft).proposed_text == expected


def test_a_section_may_add_a_heading(client, draft, proposer, sign_in):
    sign_in(proposer)
    url = f"/amendments/{draft.id}/edit"
    fields = shown_form(client, f"{url}?section=2")
    text = MEETINGS + "\n\n## Elections\n\nEvery two years."
    assert client.post(url, data=saved(fields, proposed_text=text)).status_code == 302
    page = client.get(url).get_data(as_text=True)
    assert f'href="{url}?section=3">Elections</a>' in page
    assert f'href="{url}?section=4">Dues</a>' in page


def test_a_stale_section_form_is_refused_and_changes_nothing(client, draft, proposer, sign_in):
    sign_in(proposer)
    url = f"/amendments/{draft.id}/edit"
    fields = shown_form(client, f"{url}?section=2")
    # Meanwhile, in another tab, the same section changes.
    other_tab = shown_form(client, f"{url}?section=2")
    response = client.post(url, data=saved(other_tab, proposed_text=MEETINGS + " Online too."))
    assert response.status_code == 302
    before = reloaded(draft).proposed_text
    response = client.post(
        url, data=saved(fields, title="Lost?", proposed_text="## Meetings\n\nNever.")
    )
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert "This section changed since you opened it" in page
    assert "Never." in page  # the proposer's text is still there to copy
    amendment = reloaded(draft)
    assert amendment.proposed_text == before and amendment.title == "Dues"


def test_a_change_elsewhere_meanwhile_is_kept(client, draft, proposer, sign_in):
    sign_in(proposer)
    url = f"/amendments/{draft.id}/edit"
    fields = shown_form(client, f"{url}?section=2")
    dues = shown_form(client, f"{url}?section=3")
    client.post(url, data=saved(dues, proposed_text="## Dues\n\nNo dues."))
    response = client.post(url, data=saved(fields, proposed_text=MEETINGS + " Or more."))
    assert response.status_code == 302
    assert reloaded(draft).proposed_text == RULES.replace("monthly.", "monthly. Or more.").replace(
        "Dues are paid yearly.", "No dues."
    )


@pytest.mark.parametrize("number", ["0", "4", "-1", "two", "", "1.5", "99999999999"])
def test_a_section_that_is_not_there_is_404(client, draft, proposer, sign_in, number):
    sign_in(proposer)
    assert client.get(f"/documents/rules/amendments/new?section={number}").status_code == 404
    assert client.get(f"/amendments/{draft.id}/edit?section={number}").status_code == 404


@pytest.mark.parametrize("number", ["4", "two", ""])
def test_posting_a_section_that_is_not_there_is_a_clear_400(
    client, draft, proposer, sign_in, number
):
    sign_in(proposer)
    url = f"/amendments/{draft.id}/edit"
    fields = saved(shown_form(client, f"{url}?section=2"), section=number)
    for post_url in (url, "/documents/rules/amendments/new"):
        response = client.post(post_url, data=fields)
        assert response.status_code == 400
        assert "This section is not in the text any more" in response.get_data(as_text=True)
    assert reloaded(draft).proposed_text == RULES.replace("yearly", "quarterly")
    assert amendment_count() == 1


def test_a_plain_text_document_is_edited_only_whole(client, plain, proposer, sign_in):
    sign_in(proposer)
    page = client.get("/documents/plain/amendments/new").get_data(as_text=True)
    assert "Edit one section" not in page and "Be kind." in page
    assert client.get("/documents/plain/amendments/new?section=1").status_code == 404


def test_the_preview_button_shows_the_whole_redline_in_section_mode(
    client, rules, proposer, sign_in
):
    sign_in(proposer)
    fields = shown_form(client, "/documents/rules/amendments/new?section=2")
    fields.update(proposed_text="## Meetings\n\nMembers meet weekly.", preview="Preview")
    response = client.post("/documents/rules/amendments/new", data=fields)
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and amendment_count() == 0
    assert "<del>monthly</del><ins>weekly</ins>" in page
    assert "Adopted in 2020." in page and "Dues are paid yearly." in page  # the whole text
    assert 'name="section"' in page and "Section: Meetings" in page


# The live preview -------------------------------------------------------------------------


def test_the_preview_is_the_redline_of_the_whole_document_and_saves_nothing(
    client, rules, proposer, sign_in
):
    sign_in(proposer)
    fields = shown_form(client, "/documents/rules/amendments/new?section=2")
    fields["proposed_text"] = f"## Meetings\n\nMembers meet weekly. {SCRIPT}"
    response = client.post("/documents/rules/amendments/preview", data=fields)
    fragment = response.get_data(as_text=True)
    assert response.status_code == 200
    assert "data-preview-fragment" in fragment and "<html" not in fragment
    assert "<del>monthly.</del><ins>weekly. &lt;script&gt;alert(1)&lt;/script&gt;</ins>" in fragment
    assert SCRIPT not in fragment
    assert "Dues are paid yearly." in fragment
    assert amendment_count() == 0


def test_the_preview_of_a_draft_starts_from_its_base(client, draft, proposer, sign_in):
    sign_in(proposer)
    fields = shown_form(client, f"/amendments/{draft.id}/edit")
    response = client.post(f"/amendments/{draft.id}/preview", data=fields)
    assert response.status_code == 200
    assert "<del>yearly</del><ins>quarterly</ins>" in response.get_data(as_text=True)
    fields["proposed_text"] = RULES.replace("monthly", "weekly")
    fields["title"] = "Changed"
    fragment = client.post(f"/amendments/{draft.id}/preview", data=fields).get_data(as_text=True)
    assert "<ins>weekly</ins>" in fragment and "quarterly" not in fragment
    amendment = reloaded(draft)
    assert amendment.title == "Dues" and "quarterly" in amendment.proposed_text


def test_a_stale_section_preview_says_so(client, draft, proposer, sign_in):
    sign_in(proposer)
    url = f"/amendments/{draft.id}/edit"
    fields = shown_form(client, f"{url}?section=3")
    client.post(url, data=saved(fields, proposed_text="## Dues\n\nNo dues."))
    response = client.post(f"/amendments/{draft.id}/preview", data=fields)
    assert response.status_code == 409
    assert "This section changed since you opened it" in response.get_data(as_text=True)


def test_a_preview_of_a_section_that_is_not_there_is_400(client, draft, proposer, sign_in):
    sign_in(proposer)
    fields = {**shown_form(client, f"/amendments/{draft.id}/edit?section=2"), "section": "9"}
    response = client.post(f"/amendments/{draft.id}/preview", data=fields)
    assert response.status_code == 400
    fragment = response.get_data(as_text=True)
    assert "data-preview-fragment" in fragment and "not in the text any more" in fragment


@pytest.mark.parametrize("app_config", [{"MAX_DOCUMENT_BYTES": 1000}], indirect=True)
def test_a_preview_of_a_text_too_large_is_refused(client, rules, proposer, sign_in):
    sign_in(proposer)
    response = client.post(
        "/documents/rules/amendments/preview", data={"proposed_text": RULES + "x" * 1000}
    )
    assert response.status_code == 413
    assert "The proposed text is too large" in response.get_data(as_text=True)


def test_the_preview_of_another_members_draft_is_404(client, draft, make_member, sign_in):
    sign_in(make_member())
    response = client.post(f"/amendments/{draft.id}/preview", data={"proposed_text": RULES})
    assert response.status_code == 404


def test_the_preview_of_another_members_submitted_proposal_is_403(
    client, draft, proposer, make_member, sign_in
):
    make_member(roles=["receiver"])
    services.submit(draft, proposer)
    db.session.commit()
    sign_in(make_member())
    response = client.post(f"/amendments/{draft.id}/preview", data={"proposed_text": RULES})
    assert response.status_code == 403


def test_the_preview_of_a_submitted_proposal_is_refused(
    client, draft, proposer, make_member, sign_in
):
    make_member(roles=["receiver"])
    services.submit(draft, proposer)
    db.session.commit()
    sign_in(proposer)
    response = client.post(f"/amendments/{draft.id}/preview", data={"proposed_text": RULES})
    assert response.status_code == 400
    assert "Only a draft can be edited" in response.get_data(as_text=True)


def test_anonymous_visitors_get_no_preview(client, draft):
    for url in ("/documents/rules/amendments/preview", f"/amendments/{draft.id}/preview"):
        response = client.post(url, data={"proposed_text": RULES})
        assert response.status_code == 302 and "/auth/sign-in" in response.location


def test_the_preview_of_an_unknown_document_is_404(client, proposer, sign_in):
    sign_in(proposer)
    response = client.post("/documents/none/amendments/preview", data={"proposed_text": "x"})
    assert response.status_code == 404


@pytest.mark.parametrize(
    "app_config",
    [{"RATELIMIT_ENABLED": True, "PREVIEW_RATE_LIMIT": "3 per minute"}],
    indirect=True,
)
def test_previews_are_limited_per_member(app, client, draft, proposer, make_member, sign_in):
    sign_in(proposer)
    urls = ["/documents/rules/amendments/preview", f"/amendments/{draft.id}/preview"] * 2
    statuses = [client.post(url, data={"proposed_text": RULES}).status_code for url in urls]
    assert statuses == [200, 200, 200, 429]
    other = app.test_client()  # from the same address, another member
    credentials = {"email": make_member().email, "password": PASSWORD}
    assert other.post("/auth/sign-in", data=credentials).status_code == 302
    response = other.post("/documents/rules/amendments/preview", data={"proposed_text": RULES})
    assert response.status_code == 200
