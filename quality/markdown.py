"""HTML from the report's Markdown, by markdown-it-py (CommonMark with tables).

Raw HTML in the Markdown is escaped (`html: False`), and links, images and autolinks are not
parsed: the report writes none, and a tool's text (a finding, a reason) must not become a link
on the page. So the output is safe to mark safe. Tables get the pages' classes: `data compact`
on the table, `num` on right-aligned cells (`---:`), instead of inline styles.
"""

from __future__ import annotations

from functools import cache

from markdown_it import MarkdownIt
from markdown_it.rules_core import StateCore

RIGHT = "text-align:right"


def _page_markup(state: StateCore) -> None:
    """Headings demoted by `heading_offset`; tables with the pages' classes, cells on one line."""
    offset = state.env.get("heading_offset", 0)
    for token in state.tokens:
        if token.type in ("heading_open", "heading_close"):
            token.tag = f"h{min(6, int(token.tag[1:]) + offset)}"
        elif token.type == "table_open":
            token.attrSet("class", "data compact")
        elif token.type in ("th_open", "td_open", "th_close", "td_close"):
            # No line break between the cells of a row, as the hand-written renderer wrote them.
            token.block = False
            if token.attrGet("style") == RIGHT:
                del token.attrs["style"]
                if token.type == "td_open":
                    token.attrSet("class", "num")


@cache
def _parser() -> MarkdownIt:
    md = MarkdownIt("commonmark", {"html": False, "breaks": True, "xhtmlOut": False})
    md.enable("table").disable(["link", "image", "autolink"])
    md.core.ruler.push("page_markup", _page_markup)
    return md


def to_html(md: str, *, heading_offset: int = 0) -> str:
    """The HTML of a report; `heading_offset` demotes headings (# → h2 with offset 1)."""
    return _parser().render(md, {"heading_offset": heading_offset})
