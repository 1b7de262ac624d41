"""Minutes are written in Markdown and shown as sanitised HTML.

Two locks, one behind the other: Python-Markdown is told to treat raw HTML as text (its HTML block and
inline HTML patterns are removed, so a typed `<script>` comes out as the visible text "<script>"), and
nh3 (ammonia, in Rust) then keeps only the tags, attributes and link schemes a procès-verbal needs.
"""

from __future__ import annotations

import markdown as md
import nh3
from markupsafe import Markup

ALLOWED_TAGS = {
    "p",
    "br",
    "hr",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "strong",
    "em",
    "code",
    "pre",
    "blockquote",
    "ul",
    "ol",
    "li",
    "a",
    "table",
    "thead",
    "tbody",
    "tr",
    "th",
    "td",
    "dl",
    "dt",
    "dd",
    "abbr",
    "sup",
    "sub",
}
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "abbr": {"title"},
    "th": {"align"},
    "td": {"align"},
    "ol": {"start"},
}
URL_SCHEMES = {"http", "https", "mailto"}
HEADING_BASE = 3


def _converter() -> md.Markdown:
    converter = md.Markdown(
        extensions=["tables", "sane_lists", "abbr", "def_list", "toc"],
        # A "# title" in the minutes is a level-3 heading: the page has its h1 and the minutes' h2.
        extension_configs={"toc": {"baselevel": HEADING_BASE, "marker": ""}},
        output_format="html",
    )
    # Raw HTML is text, not markup: without these two, Python-Markdown passes it through untouched.
    converter.preprocessors.deregister("html_block")
    converter.inlinePatterns.deregister("html")
    return converter


def render_markdown(text: str | None) -> Markup:
    """The Markdown as HTML that is safe to put in a page: no raw HTML, no script, no unsafe link."""
    if not text:
        return Markup("")
    html = _converter().convert(text)
    clean = nh3.clean(
        html,
        tags=ALLOWED_TAGS,
        attributes=ALLOWED_ATTRIBUTES,
        url_schemes=URL_SCHEMES,
        link_rel="noopener noreferrer nofollow",
        strip_comments=True,
    )
    return Markup(clean)  # noqa: S704  (sanitised by nh3 just above)
