"""Turning a version's text into safe HTML with heading anchors and a table of contents;
the generated DOCUMENT HISTORY list."""

import hashlib
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from functools import lru_cache

import nh3
from babel.dates import format_date
from flask import get_template_attribute, request, url_for
from flask_babel import get_locale, get_timezone, gettext
from markdown_it import MarkdownIt
from markdown_it.token import Token
from markupsafe import Markup, escape
from sqlalchemy import Row

from govern.documents.caching import SizedCache, size_of_strings
from govern.documents.models import TextFormat

ALLOWED_TAGS = {
    "a", "blockquote", "br", "code", "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "li",
    "ol", "p", "pre", "strong", "table", "tbody", "td", "th", "thead", "tr", "ul", "del", "s",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}}
HEADING_ATTRIBUTES = {f"h{level}": {"id"} for level in range(1, 7)}
# Ids the page around the text already uses; a heading "Main" must not take #main.
RESERVED_IDS = ("main", "contents-heading", "history-heading")
# Sections of the text sit under the page's <h1>.
TOP_LEVEL = 2

# Raw HTML in a document is shown as text, never interpreted.
_markdown = (
    MarkdownIt("commonmark", {"html": False, "linkify": False, "typographer": False})
    .enable("table")
    .enable("strikethrough")
)


@dataclass(frozen=True)
class Heading:
    level: int
    anchor: str
    title: str


@dataclass(frozen=True)
class RenderedText:
    html: Markup
    headings: tuple[Heading, ...]
    # The text's own opening level-1 heading, shown as the page's <h1> instead.
    title: str | None = None


class _Anchors:
    """Readable, unique ids for headings; Unicode-aware, so Korean headings get them too."""

    def __init__(self) -> None:
        self._used = set(RESERVED_IDS)
        self._next_number: dict[str, int] = {}

    def __call__(self, title: str) -> str:
        slug = re.sub(r"[^\w\- ]", "", title.strip().lower())
        slug = re.sub(r"\s+", "-", slug).strip("-") or "section"
        anchor = slug
        # "Purpose", "Purpose", "Purpose 1": the third must not take the second's purpose-1.
        while anchor in self._used:
            number = self._next_number.get(slug, 1)
            self._next_number[slug] = number + 1
            anchor = f"{slug}-{number}"
        self._used.add(anchor)
        return anchor


def _plain_title(inline: Token) -> str:
    parts = []
    for child in inline.children or ():
        if child.type in {"text", "code_inline"}:
            parts.append(child.content)
        elif child.type in {"softbreak", "hardbreak"}:
            parts.append(" ")
    return "".join(parts).strip()


def _page_levels(levels: list[int]) -> list[int]:
    """Heading levels under the page's <h1>: the text's top level becomes <h2>, and no
    level is skipped (h2 then h4 becomes h2 then h3), so the outline reads in order."""
    if not levels:
        return []
    shift = TOP_LEVEL - min(levels)
    result = []
    previous = TOP_LEVEL - 1
    for level in levels:
        level = min(level + shift, previous + 1, 6)
        result.append(level)
        previous = level
    return result


def render_markdown(text: str) -> RenderedText:
    env: dict = {}
    tokens = _markdown.parse(text, env)
    title = None
    if tokens and tokens[0].type == "heading_open" and tokens[0].tag == "h1":
        title = _plain_title(tokens[1]) or None
        tokens = tokens[3:]
    openings = [i for i, token in enumerate(tokens) if token.type == "heading_open"]
    levels = _page_levels([int(tokens[i].tag[1]) for i in openings])
    anchors = _Anchors()
    headings = []
    for index, level in zip(openings, levels, strict=True):
        heading_title = _plain_title(tokens[index + 1])
        anchor = anchors(heading_title)
        tokens[index].tag = tokens[index + 2].tag = f"h{level}"
        tokens[index].attrSet("id", anchor)
        headings.append(Heading(level, anchor, heading_title))
    html = _markdown.renderer.render(tokens, _markdown.options, env)
    clean = nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes={**ALLOWED_ATTRIBUTES, **HEADING_ATTRIBUTES},
        url_schemes={"http", "https", "mailto"},
        link_rel="nofollow noopener",
    )
    return RenderedText(Markup(clean), tuple(headings), title)


def is_plain_heading(line: str) -> bool:
    """Plain-text codes mark sections with a short line in capitals ("PROCESS FOR REVISION")."""
    if len(line) > 80:
        return False
    letters = [c for c in line if c.isalpha()]
    latin = [c for c in letters if c.isascii()]
    return len(latin) >= 3 and len(latin) == len(letters) and all(c.isupper() for c in latin)


def render_plain(text: str) -> RenderedText:
    """Paragraphs split at blank lines; a paragraph's first line in capitals is a heading."""
    parts = []
    headings = []
    anchors = _Anchors()
    for paragraph in re.split(r"\n\s*\n", text.strip()):
        lines = [line.strip() for line in paragraph.strip().split("\n")]
        if not lines[0]:
            continue
        if is_plain_heading(lines[0]):
            title = lines.pop(0)
            anchor = anchors(title)
            headings.append(Heading(TOP_LEVEL, anchor, title))
            parts.append(Markup('<h2 id="{}">{}</h2>').format(anchor, title))
        if lines:
            body = Markup("<br>\n").join(escape(line) for line in lines)
            parts.append(Markup("<p>{}</p>").format(body))
    return RenderedText(Markup("\n").join(parts), tuple(headings))


def render_text(text: str, format: str) -> RenderedText:
    """Versions never change, so the rendering of a text is kept for the next request."""
    key = (format, hashlib.sha256(text.encode()).digest())
    return _renderings.get_or_make(key, lambda: _render(text, format))


def _render(text: str, format: str) -> RenderedText:
    if format == TextFormat.PLAIN:
        return render_plain(text)
    return render_markdown(text)


def _rendering_size(rendered: RenderedText) -> int:
    strings = [rendered.html, *(h.title for h in rendered.headings)]
    # Bytes per heading object as measured with tracemalloc.
    return size_of_strings(strings, overhead=400 * len(rendered.headings))


# A rendering takes a little more than its text: ~8 of the largest (1 MB) documents, or
# hundreds of ordinary ones.
_renderings: SizedCache[RenderedText] = SizedCache(8_000_000, _rendering_size)


@dataclass(frozen=True)
class HistoryEntry:
    """One line of the DOCUMENT HISTORY list, ready to print."""

    label: str
    url: str
    dates: str
    summary: str
    changes_url: str | None
    changes_hint: str
    is_current: bool


def history_list(slug: str, history: Sequence[Row], current: object | None = None) -> Markup:
    """The DOCUMENT HISTORY of `history` (rows of services.versions_newest_first) as HTML,
    with `current` (a version) marked.

    A document may have hundreds of versions, and its history only changes by a new row,
    so the HTML is kept keyed by the rows themselves and what else it depends on.
    """
    context = (request.script_root, str(get_locale()), str(get_timezone()))
    current_id = getattr(current, "id", None)
    history = tuple(history)
    # The key holds a digest of the rows rather than the rows (their summaries).
    rows = hashlib.sha256(repr(history).encode()).digest()
    return _history_lists.get_or_make(
        (slug, rows, current_id, context), lambda: _history_list(slug, history, current_id)
    )


def _history_list(slug: str, history: tuple[Row, ...], current_id: int | None) -> Markup:
    entries = _history_entries(slug, history, current_id)
    return get_template_attribute("documents/_history.html", "history_list")(entries)


# ~300 bytes a version: the lists of a few dozen pages of a 500-version document.
_history_lists: SizedCache[Markup] = SizedCache(4_000_000, lambda html: size_of_strings([html]))


def _history_entries(
    slug: str, history: tuple[Row, ...], current_id: int | None
) -> list[HistoryEntry]:
    # Each message translated once and each URL built from one url_for, not per version.
    version_url = url_for("documents.version", slug=slug, number=0).removesuffix("0")
    compare_url = url_for("documents.compare", slug=slug)
    label, hint = gettext("Version %(number)s"), gettext("in version %(number)s")
    effective, ratified = gettext("in effect from %(date)s"), gettext("ratified %(date)s")
    day = _date_formatter()
    entries = []
    for index, version in enumerate(history):
        dates = effective % {"date": day(version.effective_at)}
        if version.ratified_at:
            dates += ", " + ratified % {"date": day(version.ratified_at)}
        previous = history[index + 1] if index + 1 < len(history) else None
        entries.append(
            HistoryEntry(
                label=label % {"number": version.number},
                url=f"{version_url}{version.number}",
                dates=dates,
                summary=version.summary,
                changes_url=(
                    f"{compare_url}?old={previous.number}&new={version.number}"
                    if previous
                    else None
                ),
                changes_hint=hint % {"number": version.number},
                is_current=version.id == current_id,
            )
        )
    return entries


def _date_formatter() -> Callable[[datetime], str]:
    """Babel's long date in the organization's zone, as the `date` template filter shows
    it, with the locale and zone looked up once per list rather than once per date."""
    locale, zone = str(get_locale()), get_timezone()
    return lambda value: _long_date(value.astimezone(zone).date(), locale)


@lru_cache(maxsize=4096)
def _long_date(day: date, locale: str) -> str:
    return format_date(day, "long", locale=locale)
