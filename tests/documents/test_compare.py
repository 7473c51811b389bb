"""Comparing any two versions: redline and side by side."""

from datetime import UTC, datetime

import pytest

from tests.documents.pages import assert_well_formed_page, parse

PARAGRAPHS = [f"Paragraph {n} stays as it was in every version." for n in range(1, 9)]
V1 = "# Bylaws\n\n## Meetings\n\n" + "\n\n".join(PARAGRAPHS) + "\n\nMembers meet yearly.\n"
V2 = V1.replace("meet yearly", "meet twice a year")
V3 = V2.replace("## Meetings", "## General meetings")
URL = "/documents/bylaws/compare"


@pytest.fixture
def bylaws(make_document, clock):
    dates = [datetime(year, 1, 10, tzinfo=UTC) for year in (2021, 2022, 2023)]
    return make_document([V1, V2, V3], title="Bylaws", slug="bylaws", dates=dates)


def compare_page(client, url: str = URL, **query) -> str:
    """The HTML of a compare page that must load."""
    response = client.get(url, query_string=query)
    assert response.status_code == 200, response.status
    return response.get_data(as_text=True)


def test_redline_marks_inserted_and_deleted_words(client, bylaws):
    html = compare_page(client, old=1, new=2)
    assert (1, "Bylaws: version 1 to 2") in parse(html).headings
    assert "<del>yearly</del>" in html
    assert "<ins>twice a year</ins>" in html
    assert "Show 9 unchanged paragraphs" in html  # folded by the diff macros
    assert_well_formed_page(html)


def test_side_by_side_shows_both_versions_in_columns(client, bylaws):
    html = compare_page(client, old=1, new=3, view="side")
    assert '<th scope="col">Version 1</th>' in html
    assert '<th scope="col">Version 3</th>' in html
    assert "<caption>Changes from version 1 to version 3</caption>" in html
    assert "<del>yearly</del>" in html and "<ins>twice a year</ins>" in html
    assert "<del>Meetings</del>" in html and "<ins>General meetings</ins>" in html
    assert_well_formed_page(html)


def test_any_two_versions_can_be_compared(client, bylaws):
    html = compare_page(client, old=1, new=3)
    assert "<ins>twice a year</ins>" in html
    assert "General" in html


def test_comparing_newer_with_older_says_it_goes_back_in_time(client, bylaws):
    html = compare_page(client, old=2, new=1)
    assert "Version 2 is newer than version 1, so this shows the changes going back" in html
    assert "<del>twice a year</del>" in html and "<ins>yearly</ins>" in html
    assert 'href="/documents/bylaws/compare?old=1&amp;new=2&amp;view=redline"' in html


def test_comparing_a_version_with_itself_says_there_is_nothing_to_compare(client, bylaws):
    html = compare_page(client, old=2, new=2)
    assert "Both sides are version 2, so there is nothing to compare." in html
    assert "<ins>" not in html and "<del>" not in html


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ({"old": "x", "new": "2"}, "“x” is not a version number."),
        ({"old": "1", "new": "-2"}, "“-2” is not a version number."),
        ({"old": "1", "new": "4"}, "Bylaws has no version 4; its versions are 1 to 3."),
        ({"old": "0", "new": "1"}, "Bylaws has no version 0; its versions are 1 to 3."),
        ({"old": "1", "new": "2147483648"}, "Bylaws has no version 2147483648; its"),
        (
            {"old": "1", "new": "99999999999999999999"},
            "Bylaws has no version 99999999999999999999; its versions are 1 to 3.",
        ),
        ({"old": "9" * 5000, "new": "1"}, "Bylaws has no version 99999"),
        ({"old": "1"}, "Choose two versions to compare."),
        ({}, "Choose two versions to compare."),
    ],
)
def test_invalid_version_numbers_get_400_with_a_clear_message(client, bylaws, query, message):
    response = client.get(URL, query_string=query)
    html = response.get_data(as_text=True)
    assert response.status_code == 400
    assert message in html
    assert "Compare two versions" in html  # the form to choose again
    assert_well_formed_page(html)


def test_korean_particle_change_shows_as_a_change(client, make_document, clock):
    old = "# 행동 강령\n\n## 목적\n\n회원은 총회에서 투표한다.\n"
    new = "# 행동 강령\n\n## 목적\n\n회원이 총회에서 투표한다.\n"
    dates = [datetime(2024, 1, 1, tzinfo=UTC), datetime(2025, 1, 1, tzinfo=UTC)]
    make_document([old, new], title="행동 강령", slug="coc-ko", dates=dates)
    for view in ("redline", "side"):
        html = compare_page(client, "/documents/coc-ko/compare", old=1, new=2, view=view)
        assert "<del>은</del>" in html and "<ins>이</ins>" in html
        assert "총회에서 투표한다." in html
