"""A Markdown text as sections: a heading and its body, edited alone and put back."""

import pytest

from govern.amendments.sections import (
    SectionNotFound,
    StaleSection,
    editable_sections,
    find_section,
    list_sections,
    put_back,
    replace_section,
)
from govern.documents.models import TextFormat

RULES = "# Rules\n\nBe kind.\n\n## Meetings\n\nMonthly.\n\n### Quorum\n\nTen members.\n"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        pytest.param(
            RULES,
            [
                (1, "Rules", 1, "# Rules\n\nBe kind."),
                (2, "Meetings", 2, "## Meetings\n\nMonthly."),
                (3, "Quorum", 3, "### Quorum\n\nTen members."),
            ],
            id="nested-levels",
        ),
        pytest.param(
            "Adopted 2020.\n\n# Rules\n\nBe kind.\n",
            [(0, "", 0, "Adopted 2020."), (1, "Rules", 1, "# Rules\n\nBe kind.")],
            id="preamble",
        ),
        pytest.param(
            "\n\n# Rules\n\nBe kind.\n",
            [(1, "Rules", 1, "# Rules\n\nBe kind.")],
            id="blank-preamble-is-no-section",
        ),
        pytest.param(
            "# Code\n\n```sh\n# not a heading\n```\n\n~~~~\n## nor this\n~~~\n~~~~~\n\n## Next\n",
            [
                (
                    1,
                    "Code",
                    1,
                    "# Code\n\n```sh\n# not a heading\n```\n\n~~~~\n## nor this\n~~~\n~~~~~",
                ),
                (2, "Next", 2, "## Next"),
            ],
            id="headings-in-code-fences",
        ),
        pytest.param(
            "# A\n\n```\n# inside an unclosed fence\n",
            [(1, "A", 1, "# A\n\n```\n# inside an unclosed fence")],
            id="unclosed-fence-runs-to-the-end",
        ),
        pytest.param(
            "# 회칙\n\n회원은 투표할 수 있다.\n\n## 회의 ##\n\n매달.\n",
            [
                (1, "회칙", 1, "# 회칙\n\n회원은 투표할 수 있다."),
                (2, "회의", 2, "## 회의 ##\n\n매달."),
            ],
            id="korean-headings-and-closing-hashes",
        ),
        pytest.param(
            "# A\n\nOne.\n\n## B\n\nLast, no newline",
            [(1, "A", 1, "# A\n\nOne."), (2, "B", 2, "## B\n\nLast, no newline")],
            id="last-section-without-trailing-newline",
        ),
        pytest.param(
            "#hashtag\n    # indented code\n####### seven\n   ### three spaces\n#\n",
            [
                (0, "", 0, "#hashtag\n    # indented code\n####### seven"),
                (1, "three spaces", 3, "   ### three spaces"),
                (2, "", 1, "#"),
            ],
            id="what-is-not-a-heading",
        ),
        pytest.param(
            "# A\r\n\r\nWindows.\r\n## B\r\n",
            [(1, "A", 1, "# A\r\n\r\nWindows."), (2, "B", 2, "## B")],
            id="crlf-line-ends",
        ),
    ],
)
def test_sections_are_headings_with_their_bodies(text, expected):
    sections = list_sections(text)
    assert [(s.number, s.title, s.level, s.body) for s in sections] == expected
    # The sections and their separations are the whole text, in order.
    assert "".join(text[s.start : s.end] for s in sections) == text[sections[0].start :]


@pytest.mark.parametrize(
    ("text", "format"),
    [
        pytest.param(RULES, TextFormat.PLAIN, id="plain-text-document"),
        pytest.param(
            "Just one paragraph.\n\nAnd another.\n", TextFormat.MARKDOWN, id="no-headings"
        ),
        pytest.param("```\n# only in code\n```\n", TextFormat.MARKDOWN, id="headings-only-in-code"),
    ],
)
def test_some_texts_are_edited_only_whole(text, format):
    assert editable_sections(text, format) == []
    assert find_section(text, format, "0") is None


@pytest.mark.parametrize("number", ["4", "-1", "x", "", " 1", "+1", "1.0", "١", "9999999", None])
def test_a_section_number_is_digits_of_an_existing_section(number):
    assert find_section(RULES, TextFormat.MARKDOWN, number) is None


def section(text: str, number: int):
    return find_section(text, TextFormat.MARKDOWN, str(number))


@pytest.mark.parametrize(
    ("text", "number", "new_body", "expected"),
    [
        pytest.param(
            RULES,
            2,
            "## Meetings\n\nWeekly.",
            RULES.replace("Monthly.", "Weekly."),
            id="middle-section",
        ),
        pytest.param(
            "# A\n\nOne.\n\n\n\n# B\n\nTwo.\n",
            1,
            "# A\n\nUno.",
            "# A\n\nUno.\n\n\n\n# B\n\nTwo.\n",
            id="keeps-the-blank-lines-after-it",
        ),
        pytest.param(
            "# A\n\nOne.\n\n## B\n\nLast",
            2,
            "## B\n\nFinal",
            "# A\n\nOne.\n\n## B\n\nFinal",
            id="last-section-without-trailing-newline",
        ),
        pytest.param(
            RULES,
            2,
            "## Meetings\r\n\r\nWeekly.\r\n\r\n\r\n",
            RULES.replace("Monthly.", "Weekly."),
            id="browser-line-ends-and-trailing-blank-lines",
        ),
        pytest.param(
            RULES,
            2,
            "\n\n## Meetings\n\nWeekly.",
            RULES.replace("Monthly.", "Weekly."),
            id="leading-blank-lines",
        ),
        pytest.param(
            RULES,
            2,
            "## Meetings\n\nMonthly.\n\n## Dues\n\nYearly.",
            RULES.replace("Monthly.\n", "Monthly.\n\n## Dues\n\nYearly.\n"),
            id="adds-a-new-heading",
        ),
        pytest.param(
            RULES,
            2,
            "  \n",
            "# Rules\n\nBe kind.\n\n### Quorum\n\nTen members.\n",
            id="empty-removes-the-section",
        ),
        pytest.param(
            "Preamble.\n\n# 회칙\n\n회원.\n",
            0,
            "새 전문.",
            "새 전문.\n\n# 회칙\n\n회원.\n",
            id="preamble-in-korean",
        ),
    ],
)
def test_replacing_a_section_changes_only_that_section(text, number, new_body, expected):
    assert replace_section(text, section(text, number), new_body) == expected


@pytest.mark.parametrize(
    "text",
    [
        RULES,
        "Intro  \n\n# A\t\n\nx  \n\n\n## B\n\ny",
        "# 회칙\n\n회원.\n",
    ],
)
def test_putting_a_section_back_unchanged_gives_the_same_bytes(text):
    for item in list_sections(text):
        assert replace_section(text, item, item.body) == text


def test_replacing_with_a_new_heading_makes_one_more_section():
    replaced = replace_section(
        RULES, section(RULES, 2), "## Meetings\n\nMonthly.\n\n## Dues\n\nYes."
    )
    assert [s.title for s in list_sections(replaced)] == ["Rules", "Meetings", "Dues", "Quorum"]


def test_put_back_refuses_a_section_that_changed_since_the_form_showed_it():
    shown = section(RULES, 2)
    assert put_back(RULES, TextFormat.MARKDOWN, "2", shown.fingerprint, "## Meetings\n\nWeekly.")
    changed = RULES.replace("Monthly.", "Every other month.")
    with pytest.raises(StaleSection) as refused:
        put_back(changed, TextFormat.MARKDOWN, "2", shown.fingerprint, "## Meetings\n\nWeekly.")
    assert refused.value.field == "proposed_text"
    # Another section changed: this one still reads as shown, so the change is kept.
    elsewhere = RULES.replace("Be kind.", "Be kind and patient.")
    result = put_back(
        elsewhere, TextFormat.MARKDOWN, "2", shown.fingerprint, "## Meetings\n\nWeekly."
    )
    assert result == elsewhere.replace("Monthly.", "Weekly.")


def test_put_back_refuses_a_section_no_longer_there():
    with pytest.raises(SectionNotFound):
        put_back(RULES, TextFormat.MARKDOWN, "7", "0" * 64, "## Seven")
