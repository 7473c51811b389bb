"""Importing documents: the admin form and `flask documents import`."""

import io
from datetime import UTC, datetime

import pytest

from govern.documents import services
from govern.documents.models import TextFormat
from govern.extensions import db
from govern.web import human_size

URL = "/admin/documents/import"
V1 = "# Code of Conduct\n\n## Purpose\n\nWe organize together.\n"
V2 = "# Code of Conduct\n\n## Purpose\n\nWe organize together, with care.\n"
V3 = "# Code of Conduct\n\n## Purpose\n\nWe organize together, with care and joy.\n"
FIVE_MB = ("All members are welcome. " * 210_000).encode()


def form(data: bytes = V1.encode(), filename: str = "coc.md", **fields) -> dict:
    return {
        "document": "__new__",
        "title": "Code of Conduct",
        "slug": "",
        "format": "auto",
        "effective_on": "",
        "summary": "",
        "file": (io.BytesIO(data), filename),
        **fields,
    }


def test_admin_imports_markdown_as_version_1(admin_client, clock):
    response = admin_client.post(URL, data=form(summary="Adopted."))
    assert response.status_code == 302
    assert response.headers["Location"].endswith("/documents/code-of-conduct/versions/")
    document = services.find_document("code-of-conduct")
    (version,) = services.versions_newest_first(document)
    assert (document.title, document.format) == ("Code of Conduct", TextFormat.MARKDOWN)
    assert (version.number, version.summary, version.effective_at) == (1, "Adopted.", clock())
    assert services.get_version(document, 1).text == V1
    page = admin_client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Imported version 1 of Code of Conduct." in page


def test_txt_file_is_imported_as_plain_text(admin_client, clock):
    data = b"PURPOSE\n\nWe organize.\n"
    response = admin_client.post(URL, data=form(data, "coc.txt", slug="coc"))
    assert response.status_code == 302
    assert services.find_document("coc").format == TextFormat.PLAIN


def test_admin_brings_an_existing_history_oldest_first(admin_client, clock):
    for text, day in [(V1, "2023-01-15"), (V2, "2024-03-02"), (V3, "2025-06-20")]:
        data = form(text.encode(), effective_on=day)
        if text != V1:
            data["document"] = "code-of-conduct"
        assert admin_client.post(URL, data=data).status_code == 302
    document = services.find_document("code-of-conduct")
    history = services.versions_newest_first(document)
    assert [v.number for v in history] == [3, 2, 1]
    # Midnight in the organization's time zone (Europe/Berlin), stored in UTC.
    assert history[0].effective_at == datetime(2025, 6, 19, 22, 0, tzinfo=UTC)
    assert history[2].effective_at == datetime(2023, 1, 14, 23, 0, tzinfo=UTC)
    assert services.get_version(document, 2).text == V2


def test_import_form_shows_the_size_limit(admin_client):
    page = admin_client.get(URL).get_data(as_text=True)
    assert "at most 1 MB" in page


def test_members_who_are_not_admins_cannot_import(client, make_member, sign_in, row_counts):
    sign_in(make_member())
    assert client.get(URL).status_code == 403
    assert client.post(URL, data=form()).status_code == 403
    assert row_counts() == (0, 0)


def test_anonymous_visitors_are_sent_to_sign_in_to_import(client):
    response = client.get(URL)
    assert response.status_code == 302
    assert "/auth/sign-in" in response.headers["Location"]


# (case, form fields, message); each runs against a database holding version 1 of V1.
BAD_UPLOADS = [
    ("empty", {"data": b""}, "The document is empty."),
    ("whitespace only", {"data": b" \n\t\n  \r\n"}, "The document is empty."),
    ("not UTF-8", {"data": "Règles".encode("latin-1")}, "not UTF-8 text"),
    ("5 MB", {"data": FIVE_MB}, "the limit is 1 MB"),
    (
        "dates out of order",
        {"data": V2.encode(), "document": "code-of-conduct", "effective_on": "2022-12-31"},
        "import versions oldest first",
    ),
    ("future date", {"slug": "future", "effective_on": "2026-03-02"}, "is in the future"),
    ("duplicate slug", {"data": V2.encode(), "slug": "code-of-conduct"}, "exists already"),
    (
        "same text as before",
        {"document": "code-of-conduct", "effective_on": "2024-01-01"},
        "The text is the same as version 1.",
    ),
    ("missing title", {"title": "  ", "slug": "other"}, "A new document needs a title."),
]


@pytest.mark.parametrize(
    ("fields", "message"),
    [case[1:] for case in BAD_UPLOADS],
    ids=[case[0] for case in BAD_UPLOADS],
)
def test_bad_upload_is_refused_with_a_clear_message_and_changes_nothing(
    admin_client, make_document, row_counts, clock, fields, message
):
    make_document([V1], dates=[datetime(2023, 1, 15, tzinfo=UTC)])
    before = row_counts()
    fields = dict(fields)
    response = admin_client.post(URL, data=form(fields.pop("data", V1.encode()), **fields))
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert row_counts() == before == (1, 1)


def test_upload_over_the_request_limit_gets_the_413_page(admin_client, app, row_counts):
    data = b"a" * (app.config["MAX_CONTENT_LENGTH"] + 1)
    response = admin_client.post(URL, data=form(data))
    assert response.status_code == 413
    page = response.get_data(as_text=True)
    assert "The upload is too large" in page
    assert human_size(app.config["MAX_CONTENT_LENGTH"]) in page
    assert row_counts() == (0, 0)


def test_import_records_who_imported(admin_client, admin, clock):
    admin_client.post(URL, data=form())
    version = services.get_version(services.find_document("code-of-conduct"), 1)
    db.session.refresh(version)
    assert version.created_by_id == admin.id
