"""Reading a document in force, its history, old versions."""

import re
from datetime import UTC, datetime

import pytest
from flask import url_for

from govern.documents.models import TextFormat
from tests.documents.pages import assert_well_formed_page, parse

V1 = """# Code of Conduct

## Purpose

We organize together for safe housing.

## Reporting

Report a breach to the Steering Committee.
"""
V2 = V1.replace("safe housing", "safe, affordable housing")
V3 = V2 + "\n### Confidentiality\n\nReports are handled confidentially.\n"
DATES = [datetime(2023, 1, 15, 9, tzinfo=UTC), datetime(2024, 3, 2, 9, tzinfo=UTC)]


@pytest.fixture
def coc(make_document, clock):
    return make_document([V1, V2, V3], dates=[*DATES, datetime(2025, 6, 19, 23, 30, tzinfo=UTC)])


def test_documents_are_public_by_default(client, coc):
    assert client.get("/documents/code-of-conduct").status_code == 200
    assert "Code of Conduct" in client.get("/documents/").get_data(as_text=True)


def test_document_page_renders_markdown_with_heading_anchors_and_contents(client, coc):
    html = client.get("/documents/code-of-conduct").get_data(as_text=True)
    page = parse(html)
    assert (1, "Code of Conduct") in page.headings
    assert '<h2 id="purpose">Purpose</h2>' in html
    assert '<h3 id="confidentiality">Confidentiality</h3>' in html
    contents = [href for href, _text in page.links if href.startswith("#")]
    assert contents[-3:] == ["#purpose", "#reporting", "#confidentiality"]
    assert "<p>We organize together for safe, affordable housing.</p>" in html
    assert_well_formed_page(html)


def test_last_updated_is_the_date_in_the_organizations_time_zone(client, coc):
    # 23:30 UTC on 19 June is 01:30 on 20 June in Europe/Berlin.
    html = client.get("/documents/code-of-conduct").get_data(as_text=True)
    assert "Last updated on June 20, 2025 (version 3)." in html
    assert "June 19, 2025" not in html


def test_document_history_lists_versions_newest_first_with_changes_links(client, coc):
    page = parse(client.get("/documents/code-of-conduct").get_data(as_text=True))
    history = [(href, text) for href, text in page.links if "/versions/" in href]
    assert [href for href, _text in history if not href.endswith("/versions/")] == [
        "/documents/code-of-conduct/versions/3",
        "/documents/code-of-conduct/versions/2",
        "/documents/code-of-conduct/versions/1",
    ]
    changes = [href for href, text in page.links if text.startswith("changes")]
    assert changes == [
        "/documents/code-of-conduct/compare?old=2&new=3",
        "/documents/code-of-conduct/compare?old=1&new=2",
    ]
    html = client.get("/documents/code-of-conduct").get_data(as_text=True)
    assert "in effect from March 2, 2024: Summary of version 2" in html


def test_version_in_force_is_the_newest_whose_date_has_come(client, make_document, clock):
    make_document([V1, V2], dates=[DATES[0], datetime(2026, 3, 1, 11, tzinfo=UTC)])
    assert "(version 2)" in client.get("/documents/code-of-conduct").get_data(as_text=True)


def test_old_version_page_says_it_is_not_the_version_in_force(client, coc):
    html = client.get("/documents/code-of-conduct/versions/1").get_data(as_text=True)
    assert (
        "This is version 1, in effect from January 15, 2023. It is not the version in force."
        in html
    )
    assert "safe housing" in html and "affordable" not in html.split("Document history")[0]
    assert_well_formed_page(html)
    current = client.get("/documents/code-of-conduct/versions/3").get_data(as_text=True)
    assert "not the version in force" not in current
    assert "Last updated on June 20, 2025" in current


def test_versions_page_lists_every_version_and_offers_a_comparison(client, coc):
    html = client.get("/documents/code-of-conduct/versions/").get_data(as_text=True)
    page = parse(html)
    assert (1, "Versions of Code of Conduct") in page.headings
    assert [href for href, _t in page.links if "/versions/" in href and href[-1].isdigit()] == [
        f"/documents/code-of-conduct/versions/{n}" for n in (3, 2, 1)
    ]
    assert '<label for="old">From version</label>' in html
    assert 'max="3" min="1" name="old" type="number" value="2"' in html  # the latest change
    assert "A number from 1 to 3." in html
    assert_well_formed_page(html)


@pytest.mark.parametrize(
    "url",
    [
        "/documents/nothing",
        "/documents/nothing/versions/",
        "/documents/nothing/versions/1",
        "/documents/nothing/compare?old=1&new=2",
        "/documents/code-of-conduct/versions/4",
        "/documents/code-of-conduct/versions/0",
        "/documents/code-of-conduct/versions/2147483648",
        "/documents/code-of-conduct/versions/99999999999999999999999",
    ],
)
def test_unknown_document_or_version_is_not_found(client, coc, url):
    response = client.get(url)
    assert response.status_code == 404
    assert "There is no such page." in response.get_data(as_text=True)


def test_document_without_a_version_in_force_yet_is_not_found(client, make_document, clock):
    make_document([V1], dates=[datetime(2026, 3, 1, 12, tzinfo=UTC)])
    clock.advance(hours=-1)
    assert client.get("/documents/code-of-conduct").status_code == 404


def test_plain_text_lines_in_capitals_become_headings(client, make_document, clock):
    text = (
        "CODE OF CONDUCT\n\nPURPOSE AND SCOPE\n\nWe organize.\nTogether.\n\n"
        "PROCESS FOR REVISION\nAny member can submit a revision.\n\nUse “I” Statements.\n"
    )
    make_document([text], format=TextFormat.PLAIN)
    html = client.get("/documents/code-of-conduct").get_data(as_text=True)
    assert '<h2 id="purpose-and-scope">PURPOSE AND SCOPE</h2>' in html
    assert '<h2 id="process-for-revision">PROCESS FOR REVISION</h2>' in html
    assert "<p>Any member can submit a revision.</p>" in html
    assert "<p>We organize.<br>\nTogether.</p>" in html
    assert "<p>Use “I” Statements.</p>" in html
    assert 'href="#process-for-revision"' in html
    assert_well_formed_page(html)


def test_heading_named_like_a_page_landmark_gets_its_own_id(client, make_document, clock):
    make_document(["## Main\n\nText.\n\n## Contents\n\nMore.\n"])
    html = client.get("/documents/code-of-conduct").get_data(as_text=True)
    assert '<h2 id="main-1">Main</h2>' in html
    assert_well_formed_page(html)


def test_documents_title_is_the_page_heading_when_the_text_has_none(client, make_document, clock):
    make_document(["#### Article 1\n\nText.\n\n###### Detail\n\nMore.\n"], title="Bylaws")
    html = client.get("/documents/code-of-conduct").get_data(as_text=True)
    assert parse(html).headings == [
        (1, "Bylaws"),
        (2, "Contents"),
        (2, "Article 1"),
        (3, "Detail"),
        (2, "Document history"),
    ]
    assert_well_formed_page(html)


def test_korean_document_renders(client, make_document, clock):
    text = (
        "# 행동 강령\n\n## 목적\n\n회원은 서로를 존중한다.\n\n"
        "## 신고\n\n위반은 운영위원회에 신고한다.\n"
    )
    make_document([text], title="행동 강령", slug="haengdong-gangnyeong")
    html = client.get("/documents/haengdong-gangnyeong").get_data(as_text=True)
    assert '<h2 id="목적">목적</h2>' in html
    assert "<p>회원은 서로를 존중한다.</p>" in html
    assert 'href="#신고"' in html
    assert_well_formed_page(html)


@pytest.mark.parametrize(
    ("format", "text"),
    [
        (TextFormat.MARKDOWN, "## Purpose\n\nA.\n\n## Purpose\n\nB.\n\n## Purpose 1\n\nC.\n"),
        (TextFormat.PLAIN, "PURPOSE\nA.\n\nPURPOSE\nB.\n\nPURPOSE 1\nC.\n"),
    ],
)
def test_repeated_headings_get_distinct_ids_that_the_contents_link_to(
    client, make_document, clock, format, text
):
    make_document([text], format=format)
    html = client.get("/documents/code-of-conduct").get_data(as_text=True)
    text = html.split('class="document-text"')[1].split('class="document-history"')[0]
    ids = re.findall(r'<h2 id="([^"]+)">', text)
    assert ids == ["purpose", "purpose-1", "purpose-1-1"]
    contents = [href for href, _text in parse(html).links if href.startswith("#")]
    assert contents[-3:] == [f"#{anchor}" for anchor in ids]  # after the skip link
    for anchor, paragraph in zip(ids, "ABC", strict=True):
        assert re.search(rf'<h2 id="{anchor}">[^<]+</h2>\s*<p>{paragraph}\.</p>', html)
    assert_well_formed_page(html)


def test_document_at_a_korean_web_address_is_read_through_its_links(
    app, client, make_document, clock
):
    texts = [
        "# 행동 강령\n\n회원은 서로를 존중한다.\n",
        "# 행동 강령\n\n회원은 서로를 늘 존중한다.\n",
    ]
    make_document(texts, title="행동 강령", slug="행동-강령", dates=DATES)
    with app.test_request_context():
        url = url_for("documents.show", slug="행동-강령")
    assert url == "/documents/%ED%96%89%EB%8F%99-%EA%B0%95%EB%A0%B9"
    html = client.get(url).get_data(as_text=True)
    assert "회원은 서로를 늘 존중한다." in html
    links = [href for href, _text in parse(html).links if href.startswith("/documents/%ED")]
    assert len(links) >= 5  # all versions, what changed, each version, changes
    for link in links:
        assert client.get(link).status_code == 200, link
    compare = client.get(url + "/compare?old=1&new=2").get_data(as_text=True)
    assert "<ins>늘 </ins>" in compare


@pytest.fixture
def statements(app):
    """The SQL statements run while the block runs."""
    from sqlalchemy import event

    from govern.extensions import db

    seen: list[str] = []

    def record(_connection, _cursor, statement, *_args) -> None:
        seen.append(statement)

    event.listen(db.engine, "before_cursor_execute", record)
    yield seen
    event.remove(db.engine, "before_cursor_execute", record)


@pytest.mark.parametrize("url", ["/documents/long", "/documents/long/versions/"])
def test_history_of_many_versions_is_one_query_without_their_texts(
    client, make_document, clock, statements, url
):
    texts = [f"# Long\n\nVersion {n} of the text.\n" for n in range(1, 41)]
    make_document(texts, title="Long", slug="long")
    statements.clear()
    html = client.get(url).get_data(as_text=True)
    assert html.count("/documents/long/versions/") >= 40
    history = [s for s in statements if "FROM versions" in s and "versions.number DESC" in s]
    with_text = [s for s in statements if "versions.text" in s]
    assert len(history) <= 2  # the history, and on the document page the version in force
    assert len(with_text) == (1 if url == "/documents/long" else 0)
    assert len(statements) <= 6
