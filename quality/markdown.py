"""HTML from the report's Markdown: the one subset `quality.report` writes, nothing more.

Headings, paragraphs, bullet lists (one nesting level), numbered lists, tables, rules, and inline
**bold**, `code` and _emphasis_. Everything is escaped first, so the output is safe to mark safe.
"""

from __future__ import annotations

import re
from html import escape

INLINE = [
    (re.compile(r"`([^`]+)`"), r"<code>\1</code>"),
    (re.compile(r"\*\*([^*]+)\*\*"), r"<strong>\1</strong>"),
    (re.compile(r"(?<![\w/])_([^_]+)_(?![\w/])"), r"<em>\1</em>"),
]


BLOCK_START = re.compile(r"^(#|\||- |\d+\. |---)")


def inline(text: str) -> str:
    # Code spans first, kept out of the other replacements by splitting on them.
    parts = re.split(r"(`[^`]+`)", escape(text, quote=False))
    out = []
    for part in parts:
        if part.startswith("`") and part.endswith("`") and len(part) > 1:
            out.append(f"<code>{part[1:-1]}</code>")
        else:
            for pattern, repl in INLINE[1:]:
                part = pattern.sub(repl, part)
            out.append(part)
    return "".join(out)


def _cells(line: str) -> list[str]:
    cells = re.split(r"(?<!\\)\|", line.strip()[1:-1])
    return [c.strip().replace("\\|", "|") for c in cells]


def to_html(md: str, *, heading_offset: int = 0) -> str:
    """The HTML of a report; `heading_offset` demotes headings (# → h2 with offset 1)."""
    html: list[str] = []
    lines = md.splitlines()
    i = 0
    while i < len(lines):
        line = lines[i]
        if not line.strip():
            i += 1
        elif line.startswith("#"):
            level = min(6, len(line) - len(line.lstrip("#")) + heading_offset)
            html.append(f"<h{level}>{inline(line.lstrip('#').strip())}</h{level}>")
            i += 1
        elif line.strip() == "---":
            html.append("<hr>")
            i += 1
        elif line.startswith("|"):
            rows = []
            while i < len(lines) and lines[i].startswith("|"):
                rows.append(lines[i])
                i += 1
            head, align = _cells(rows[0]), _cells(rows[1]) if len(rows) > 1 else []
            nums = [a.endswith(":") for a in align]
            html.append('<table class="data compact"><thead><tr>')
            html += [f"<th>{inline(c)}</th>" for c in head]
            html.append("</tr></thead><tbody>")
            for row in rows[2:]:
                cells = _cells(row)
                html.append(
                    "<tr>"
                    + "".join(
                        f'<td class="num">{inline(c)}</td>'
                        if j < len(nums) and nums[j]
                        else f"<td>{inline(c)}</td>"
                        for j, c in enumerate(cells)
                    )
                    + "</tr>"
                )
            html.append("</tbody></table>")
        elif re.match(r"^(- |\d+\. )", line):
            tag = "ul" if line.startswith("- ") else "ol"
            html.append(f"<{tag}>")
            while i < len(lines) and re.match(r"^(- |\d+\. |  - )", lines[i]):
                item = lines[i]
                if item.startswith("  - "):
                    nested = []
                    while i < len(lines) and lines[i].startswith("  - "):
                        nested.append(f"<li>{inline(lines[i][4:])}</li>")
                        i += 1
                    html[-1] = (
                        html[-1].removesuffix("</li>") + "<ul>" + "".join(nested) + "</ul></li>"
                    )
                    continue
                text = item[2:] if item.startswith("- ") else item.split(". ", 1)[1]
                html.append(f"<li>{inline(text)}</li>")
                i += 1
            html.append(f"</{tag}>")
        else:
            para = []
            while (
                i < len(lines)
                and lines[i].strip()
                and not re.match(r"^(#|\||- |\d+\. |---)", lines[i])
            ):
                para.append(lines[i])
                i += 1
            html.append(f"<p>{'<br>'.join(inline(p) for p in para)}</p>")
    return "\n".join(html) + "\n"
