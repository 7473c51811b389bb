"""User text is always shown as text: no HTML, script or javascript: link from a document."""

import re
from datetime import UTC, datetime

import pytest

from govern.documents.models import TextFormat

HOSTILE = """# Rules <script>alert("title")</script>

## Safety <img src=x onerror=alert(1)>

Members <b onmouseover="alert(2)">agree</b> to this.

<script>alert("block")</script>

[Click me](javascript:alert(3)) and [also](JAVASCRIPT:alert(4))
and <a href="javascript:alert(5)">raw</a>.
"""
EDITED = HOSTILE.replace("to this.", "to this <script>alert('new')</script>.")
DATES = [datetime(2024, 1, 1, tzinfo=UTC), datetime(2025, 1, 1, tzinfo=UTC)]
LIVE_JAVASCRIPT = re.compile(r"""<a\s[^>]*href\s*=\s*["']?\s*javascript:""", re.IGNORECASE)


def assert_nothing_live(html: str) -> None:
    assert "<script" not in html
    assert "<img" not in html
    assert "<b " not in html
    assert not re.search(r"<[^>]+\son\w+\s*=", html), "event handler attribute"
    assert not LIVE_JAVASCRIPT.search(html)


@pytest.fixture(params=[TextFormat.MARKDOWN, TextFormat.PLAIN])
def hostile(request, make_document, clock):
    return make_document([HOSTILE, EDITED], dates=DATES, format=request.param)


@pytest.mark.parametrize(
    "url",
    [
        "/documents/code-of-conduct",
        "/documents/code-of-conduct/versions/1",
        "/documents/code-of-conduct/compare?old=1&new=2&view=redline",
        "/documents/code-of-conduct/compare?old=1&new=2&view=side",
        "/documents/code-of-conduct/compare?old=2&new=1&view=side",
    ],
)
def test_html_and_script_in_document_text_are_shown_escaped(client, hostile, url):
    html = client.get(url).get_data(as_text=True)
    assert_nothing_live(html)
    assert "&lt;script&gt;alert(" in html
    assert "&lt;b onmouseover=" in html


def test_changed_script_in_the_diff_is_escaped_inside_the_redline(client, hostile):
    html = client.get("/documents/code-of-conduct/compare?old=1&new=2").get_data(as_text=True)
    assert "<ins> &lt;script&gt;alert(&#39;new&#39;)&lt;/script&gt;</ins>" in html


def test_markdown_javascript_link_is_not_a_live_link(client, make_document, clock):
    make_document(["[Click me](javascript:alert(3)) and [fine](https://example.org)\n"])
    html = client.get("/documents/code-of-conduct").get_data(as_text=True)
    assert not LIVE_JAVASCRIPT.search(html)
    assert '<a href="https://example.org" rel="nofollow noopener">fine</a>' in html


def test_document_title_with_html_is_escaped(client, make_document, clock):
    make_document(["Text.\n"], title="<script>alert(1)</script> Rules", slug="rules")
    html = client.get("/documents/rules").get_data(as_text=True)
    assert "<h1>&lt;script&gt;alert(1)&lt;/script&gt; Rules</h1>" in html
    assert_nothing_live(html)
    assert_nothing_live(client.get("/documents/").get_data(as_text=True))
    assert_nothing_live(client.get("/").get_data(as_text=True))
