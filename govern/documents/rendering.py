"""Turning a version's text into safe HTML with heading anchors and a table of contents."""

import re
from dataclasses import dataclass

import nh3
from markdown_it import MarkdownIt
from markupsafe import Markup, escape

from govern.documents.models import TextFormat

ALLOWED_TAGS = {
    "a", "blockquote", "br", "code", "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "li",
    "ol", "p", "pre", "strong", "table", "tbody", "td", "th", "thead", "tr", "ul", "del", "s",
}  # fmt: skip
ALLOWED_ATTRIBUTES = {"a": {"href", "title"}, "ol": {"start"}}
HEADING_ATTRIBUTES = {f"h{level}": {"id"} for level in range(1, 7)}

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


def _slug(title: str) -> str:
    # Unicode-aware, so Korean headings get readable anchors too.
    slug = re.sub(r"[^\w\- ]", "", title.strip().lower())
    return re.sub(r"[\s]+", "-", slug).strip("-") or "section"


def _unique(slug: str, seen: dict[str, int]) -> str:
    count = seen.get(slug, 0)
    seen[slug] = count + 1
    return slug if count == 0 else f"{slug}-{count}"


def render_markdown(text: str) -> RenderedText:
    env: dict = {}
    tokens = _markdown.parse(text, env)
    headings = []
    seen: dict[str, int] = {}
    for index, token in enumerate(tokens):
        if token.type == "heading_open":
            title = tokens[index + 1].content
            anchor = _unique(_slug(title), seen)
            token.attrSet("id", anchor)
            headings.append(Heading(int(token.tag[1]), anchor, title))
    html = _markdown.renderer.render(tokens, _markdown.options, env)
    clean = nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes={**ALLOWED_ATTRIBUTES, **HEADING_ATTRIBUTES},
        url_schemes={"http", "https", "mailto"},
        link_rel="nofollow noopener",
    )
    return RenderedText(Markup(clean), tuple(headings))


def _is_plain_heading(paragraph: str) -> bool:
    """Plain-text codes mark sections with a short line in capitals ("PROCESS FOR REVISION")."""
    if "\n" in paragraph or len(paragraph) > 80:
        return False
    letters = [c for c in paragraph if c.isalpha()]
    latin = [c for c in letters if c.isascii()]
    return len(latin) >= 3 and len(latin) == len(letters) and all(c.isupper() for c in latin)


def render_plain(text: str) -> RenderedText:
    parts = []
    headings = []
    seen: dict[str, int] = {}
    for paragraph in re.split(r"\n\s*\n", text.strip()):
        paragraph = paragraph.strip("\n")
        if not paragraph.strip():
            continue
        if _is_plain_heading(paragraph.strip()):
            title = paragraph.strip()
            anchor = _unique(_slug(title), seen)
            headings.append(Heading(2, anchor, title))
            parts.append(Markup('<h2 id="{}">{}</h2>').format(anchor, title))
        else:
            lines = [escape(line) for line in paragraph.split("\n")]
            parts.append(Markup("<p>{}</p>").format(Markup("<br>\n").join(lines)))
    return RenderedText(Markup("\n").join(parts), tuple(headings))


def render_text(text: str, format: str) -> RenderedText:
    if format == TextFormat.PLAIN:
        return render_plain(text)
    return render_markdown(text)
