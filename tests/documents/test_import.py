"""Importing documents: the admin form and `flask documents import`."""

import io
from datetime import UTC, datetime

import pytest
import sqlalchemy as sa

from govern.documents import services
from govern.documents.models import Document, TextFormat, Version
from govern.documents.slugs import is_valid_slug, slugify
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
    (
        "date before 1800",
        {"slug": "old", "effective_on": "1799-12-31"},
        "The date December 31, 1799 is too far in the past; give a date from 1800 on.",
    ),
    (
        "ratified in the future",
        {"slug": "future", "ratified_on": "2026-03-02"},
        "is in the future; give the date the version was ratified.",
    ),
    ("ratified before 1800", {"slug": "old", "ratified_on": "1066-10-14"}, "too far in the past"),
    ("slug in capitals", {"slug": "Code"}, "Use lowercase letters, digits and dashes."),
    ("slug with underscore", {"slug": "code_of"}, "Use lowercase letters, digits and dashes."),
    ("slug with two dashes", {"slug": "code--of"}, "Use lowercase letters, digits and dashes."),
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


@pytest.fixture
def organization_timezone(request, app_config):
    """Set ORGANIZATION_TIMEZONE before the app is made (request this fixture first)."""
    app_config["ORGANIZATION_TIMEZONE"] = request.param


@pytest.mark.parametrize(
    ("organization_timezone", "day", "message"),
    [
        ("Asia/Seoul", "0001-01-01", "The date January 1, 1 is too far in the past"),
        ("America/Los_Angeles", "0001-01-01", "give a date from 1800 on"),
        ("Asia/Seoul", "9999-12-31", "The date December 31, 9999 is in the future"),
        ("America/Los_Angeles", "9999-12-31", "The date December 31, 9999 is in the future"),
    ],
    indirect=["organization_timezone"],
)
@pytest.mark.parametrize("field", ["effective_on", "ratified_on"])
def test_dates_out_of_range_are_refused_in_any_time_zone(
    organization_timezone, admin_client, row_counts, clock, field, day, message
):
    response = admin_client.post(URL, data=form(**{field: day}))
    assert response.status_code == 400
    assert message in response.get_data(as_text=True)
    assert row_counts() == (0, 0)


def test_ratified_date_is_recorded_and_shown_in_the_history(admin_client, clock):
    data = form(effective_on="2024-03-02", ratified_on="2024-02-10", summary="Adopted.")
    assert admin_client.post(URL, data=data).status_code == 302
    (version,) = services.versions_newest_first(services.find_document("code-of-conduct"))
    # Midnight in the organization's time zone (Europe/Berlin), stored in UTC.
    assert version.ratified_at == datetime(2024, 2, 9, 23, 0, tzinfo=UTC)
    html = admin_client.get("/documents/code-of-conduct").get_data(as_text=True)
    assert "in effect from March 2, 2024, ratified February 10, 2024: Adopted." in html


def test_import_form_offers_the_ratified_date(admin_client):
    html = admin_client.get(URL).get_data(as_text=True)
    assert '<label for="ratified_on">Ratified on (optional)</label>' in html


@pytest.mark.parametrize(
    ("title", "slug"),
    [
        ("Code of Conduct", "code-of-conduct"),
        ("Règles de vie", "regles-de-vie"),
        ("행동 강령", "행동-강령"),
        ("회비 규정 (2024)", "회비-규정-2024"),
        ("ＣＯＤＥ ２", "code-2"),
        ("सदस्यता नियमावली", "सदस्यता-नियमावली"),
        ("snake_case title", "snake-case-title"),
        ("★ ★ ★", "document"),
    ],
)
def test_web_address_is_made_from_a_title_in_any_script(title, slug):
    assert slugify(title) == slug
    assert is_valid_slug(slug)


def test_korean_titles_get_their_own_web_addresses(admin_client, clock):
    locations = []
    for title in ("행동 강령", "회비 규정"):
        response = admin_client.post(URL, data=form(title=title))
        assert response.status_code == 302, response.get_data(as_text=True)
        locations.append(response.headers["Location"])
    assert locations == [
        "/documents/%ED%96%89%EB%8F%99-%EA%B0%95%EB%A0%B9/versions/",
        "/documents/%ED%9A%8C%EB%B9%84-%EA%B7%9C%EC%A0%95/versions/",
    ]
    assert services.find_document("행동-강령").title == "행동 강령"
    assert services.find_document("회비-규정").title == "회비 규정"
    page = admin_client.get(locations[1]).get_data(as_text=True)
    assert "Imported version 1 of 회비 규정." in page


def test_admin_may_give_a_korean_web_address(admin_client, clock):
    response = admin_client.post(URL, data=form(title="Code of Conduct", slug="행동-강령"))
    assert response.status_code == 302
    assert services.find_document("행동-강령").title == "Code of Conduct"


def test_titles_without_letters_get_numbered_web_addresses(admin_client, clock):
    for title in ("★★★", "***"):
        assert admin_client.post(URL, data=form(title=title)).status_code == 302
    assert [document.slug for document in services.all_documents()] == ["document-2", "document"]


def _insert_elsewhere(table, **values) -> None:
    """Commit a row through another connection, as a concurrent request would."""
    with db.engine.begin() as connection:
        connection.execute(sa.insert(table), values)


def test_version_imported_by_someone_else_at_the_same_moment_is_refused(
    admin_client, make_document, row_counts, clock, monkeypatch
):
    document = make_document([V1], dates=[datetime(2023, 1, 15, tzinfo=UTC)])
    document_id = document.id
    latest_version = services.latest_version

    def latest_then_another_import(document):
        previous = latest_version(document)
        _insert_elsewhere(
            Version,
            document_id=document_id,
            number=2,
            text=V3,
            text_sha256="0" * 64,
            summary="",
            source="imported",
            effective_at=clock(),
            created_at=clock(),
        )
        return previous

    monkeypatch.setattr(services, "latest_version", latest_then_another_import)
    response = admin_client.post(URL, data=form(V2.encode(), document="code-of-conduct"))
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Another version was imported at the same moment; reload and try again." in page
    assert row_counts() == (1, 2)
    assert services.get_version(services.find_document("code-of-conduct"), 2).text == V3


def test_document_created_by_someone_else_at_the_same_moment_is_refused(
    admin_client, row_counts, clock, monkeypatch
):
    find_document = services.find_document

    def find_then_another_import(slug):
        found = find_document(slug)
        _insert_elsewhere(Document, slug=slug, title="Other", format="markdown", created_at=clock())
        return found

    monkeypatch.setattr(services, "find_document", find_then_another_import)
    response = admin_client.post(URL, data=form(slug="coc"))
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Another document with the web address “coc” was created at the same moment" in page
    assert row_counts() == (1, 0)
    monkeypatch.undo()
    assert services.find_document("coc").title == "Other"


def test_a_new_document_whose_second_file_is_refused_leaves_nothing(app, row_counts, clock):
    files = [
        services.VersionFile(V1.encode(), "a.md", datetime(2021, 1, 1, tzinfo=UTC)),
        services.VersionFile(V1.encode(), "b.md", datetime(2022, 1, 1, tzinfo=UTC)),
    ]
    with pytest.raises(services.DocumentError, match="b.md: The text is the same"):
        services.import_versions(files, title="Code of Conduct")
    db.session.rollback()
    assert row_counts() == (0, 0)
