"""A Markdown text as sections, so a proposer can change one section and leave the rest.

A section is an ATX heading line (`#` to `######`, not inside a fenced code block) and
the body up to the next heading of any level. Text before the first heading, when it is
not blank, is the preamble, section 0; the headings are sections 1, 2, ... in order.
"""

import hashlib
import re
from dataclasses import dataclass

from flask_babel import gettext

from govern.amendments.errors import AmendmentError
from govern.documents.models import TextFormat

_ATX_HEADING = re.compile(r" {0,3}(#{1,6})(?:[ \t]+(.*))?$")
_CLOSING_HASHES = re.compile(r"(?:^|[ \t]+)#+$")
_FENCE = re.compile(r" {0,3}(`{3,}|~{3,})(.*)$")
_SECTION_NUMBER = re.compile(r"[0-9]{1,6}")
_LEADING_BLANK_LINES = re.compile(r"\A(?:[ \t]*\n)+")


class SectionNotFound(AmendmentError):
    """No section by that number in the text (any more)."""


class StaleSection(AmendmentError):
    """The section changed since the form was rendered: saving would undo that change."""


@dataclass(frozen=True)
class Section:
    number: int  # 0 for the preamble
    title: str  # "" for the preamble
    level: int  # 1 to 6; 0 for the preamble
    start: int  # offsets of the section in the whole text
    end: int
    body: str  # what the proposer edits: the section without its trailing blank lines

    @property
    def fingerprint(self) -> str:
        return fingerprint(self.body)


def fingerprint(body: str) -> str:
    return hashlib.sha256(body.encode("utf-8", "surrogatepass")).hexdigest()


def _lines(text: str):
    """(offset, line without its line end) of each line."""
    start = 0
    while start < len(text):
        end = text.find("\n", start)
        end = len(text) if end == -1 else end + 1
        yield start, text[start:end].rstrip("\n").rstrip("\r")
        start = end


def _heading_title(content: str | None) -> str:
    return _CLOSING_HASHES.sub("", (content or "").strip()).strip()


def _headings(text: str) -> list[tuple[int, int, str]]:
    """(offset, level, title) of each heading line outside fenced code blocks."""
    headings = []
    fence: str | None = None  # the opening fence of the code block we are in
    for offset, line in _lines(text):
        opening = _FENCE.match(line)
        if fence is not None:
            is_closing = opening and not opening[2].strip()
            if is_closing and opening[1][0] == fence[0] and len(opening[1]) >= len(fence):
                fence = None
            continue
        if opening and not (opening[1][0] == "`" and "`" in opening[2]):
            fence = opening[1]
            continue
        heading = _ATX_HEADING.match(line)
        if heading:
            headings.append((offset, len(heading[1]), _heading_title(heading[2])))
    return headings


def list_sections(text: str) -> list[Section]:
    """Every section of a Markdown text: the preamble (when not blank), then the headings."""
    headings = _headings(text)
    starts = [offset for offset, _, _ in headings]
    sections = []
    first = starts[0] if starts else len(text)
    if text[:first].strip():
        sections.append(_section(text, 0, "", 0, 0, first))
    for number, (offset, level, title) in enumerate(headings, start=1):
        end = starts[number] if number < len(starts) else len(text)
        sections.append(_section(text, number, title, level, offset, end))
    return sections


def _section(text: str, number: int, title: str, level: int, start: int, end: int) -> Section:
    return Section(number, title, level, start, end, text[start:end].rstrip())


def editable_sections(text: str, format: str) -> list[Section]:
    """The sections a proposer may edit one by one; none for a plain-text document or a
    text without headings, which are edited whole."""
    if format == TextFormat.PLAIN:
        return []
    sections = list_sections(text)
    return sections if any(section.level for section in sections) else []


def find_section(text: str, format: str, number: object) -> Section | None:
    """Section `number` (as it comes in a URL or a form: digits) of the text, if any."""
    if not isinstance(number, str | int) or not _SECTION_NUMBER.fullmatch(str(number)):
        return None
    wanted = int(number)
    return next((s for s in editable_sections(text, format) if s.number == wanted), None)


def replace_section(text: str, section: Section, new_body: str) -> str:
    """The text with the section's body replaced; everything else stays byte for byte.

    The section keeps the line end and blank lines that separated it from the next one.
    An empty new body removes the section, separation included. The new body's line ends
    become LF, as in every stored text.
    """
    new_body = new_body.replace("\r\n", "\n").replace("\r", "\n")
    new_body = _LEADING_BLANK_LINES.sub("", new_body, count=1).rstrip()
    separation = text[section.start + len(section.body) : section.end]
    replaced = new_body + separation if new_body else ""
    return text[: section.start] + replaced + text[section.end :]


def put_back(text: str, format: str, number: object, expected_fingerprint: str, body: str) -> str:
    """The whole text with section `number` replaced by `body`, provided that section still
    reads as it did when the form showed it (`expected_fingerprint`).

    Raises SectionNotFound or StaleSection, for the proposed text field.
    """
    section = find_section(text, format, number)
    if section is None:
        raise SectionNotFound(
            gettext("This section is not in the text any more; open it again from the list."),
            "proposed_text",
        )
    if section.fingerprint != expected_fingerprint:
        raise StaleSection(
            gettext(
                "This section changed since you opened it, perhaps in another tab, so "
                "nothing was saved. Copy your text, open the section again and apply "
                "your change there."
            ),
            "proposed_text",
        )
    return replace_section(text, section, body)
