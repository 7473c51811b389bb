"""Reading the HTML of a page in tests: headings, links, text."""

from html.parser import HTMLParser


class PageParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.headings: list[tuple[int, str]] = []
        self.links: list[tuple[str, str]] = []
        self.ids: list[str] = []
        self.tags: list[tuple[str, dict]] = []
        self._heading: list[str] | None = None
        self._link: tuple[str, list[str]] | None = None

    def handle_starttag(self, tag: str, attrs) -> None:
        attributes = dict(attrs)
        self.tags.append((tag, attributes))
        if "id" in attributes:
            self.ids.append(attributes["id"])
        if tag in {"h1", "h2", "h3", "h4", "h5", "h6"}:
            self._heading = [tag]
        if tag == "a" and "href" in attributes:
            self._link = (attributes["href"], [])

    def handle_endtag(self, tag: str) -> None:
        if tag.startswith("h") and self._heading and self._heading[0] == tag:
            self.headings.append((int(tag[1]), "".join(self._heading[1:]).strip()))
            self._heading = None
        if tag == "a" and self._link:
            self.links.append((self._link[0], "".join(self._link[1]).strip()))
            self._link = None

    def handle_data(self, data: str) -> None:
        if self._heading is not None:
            self._heading.append(data)
        if self._link is not None:
            self._link[1].append(data)


def parse(html: str) -> PageParser:
    parser = PageParser()
    parser.feed(html)
    return parser


def assert_well_formed_page(html: str) -> None:
    """One <h1>, headings never skip a level, ids unique, no inline script or style."""
    page = parse(html)
    levels = [level for level, _title in page.headings]
    assert levels and levels[0] == 1 and levels.count(1) == 1, page.headings
    for before, after in zip(levels, levels[1:], strict=False):
        assert after <= before + 1, page.headings
    assert len(page.ids) == len(set(page.ids)), sorted(page.ids)
    for tag, attributes in page.tags:
        assert "style" not in attributes and tag != "style", (tag, attributes)
        assert tag != "script" or attributes.get("src"), "inline script"
        assert not any(name.startswith("on") for name in attributes), (tag, attributes)
