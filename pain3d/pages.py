"""HTML report pages: the stylesheet, the page shell and its parts (sections, text, figures, tables).

The dataset report (`pain3d report`, app/dataset_report.py) and the evaluation report (`pain3d
eval`, training/eval_report.py) build their pages from these; it lives in the core because the
training layer may import nothing above it. Standard library only. Every helper escapes the text
it is given and returns HTML.
"""

from __future__ import annotations

import html
import re
from typing import Sequence

CSS = ("body{font-family:system-ui,sans-serif;max-width:1200px;margin:2em auto;padding:0 1em;color:#222}"
       "table{border-collapse:collapse;margin:.5em 0 1em}th,td{border:1px solid #ccc;padding:.25em .6em;"
       "text-align:left;font-size:.9em;vertical-align:top}th{background:#f3f3f3}img{max-width:100%;margin:.5em 0}"
       ".wide{overflow-x:auto}.wide img{max-width:none}td.pass{color:#070}td.skip{color:#666}"
       "td.fail{color:#b00;font-weight:bold}tr.total td{font-weight:bold}"
       "td pre,pre{white-space:pre-wrap;margin:0;font-size:.85em}figcaption{font-size:.9em;color:#444}"
       "code{background:#f3f3f3;padding:0 .2em}")
_SECTION_HEADING = re.compile(r'<h2 id="([^"]+)">([^<]+)</h2>')


def page(title: str, sections: Sequence[str]) -> str:
    """A self-contained page: the title, a line of links to its sections, the sections."""
    title = html.escape(title)
    links = _SECTION_HEADING.findall("".join(sections))
    contents = "<p>" + " · ".join(f'<a href="#{anchor}">{text}</a>' for anchor, text in links) + "</p>"
    return "\n".join(["<!DOCTYPE html>", '<html lang="en"><head><meta charset="utf-8">', f"<title>{title}</title>",
                      f"<style>{CSS}</style></head><body>", f"<h1>{title}</h1>", contents, *sections,
                      "</body></html>\n"])


def section(title: str, body: str, anchor: str | None = None) -> str:
    """A titled section; `anchor` (default: made from the title) is its id, which the page's links use."""
    anchor = anchor or re.sub(r"[^a-z0-9]+", "-", title.lower()).strip("-")
    return f'<h2 id="{anchor}">{html.escape(title)}</h2>\n{body}'


def heading(text: str, level: int = 3) -> str:
    """A heading inside a section (sections are level 2)."""
    return f"<h{level}>{html.escape(text)}</h{level}>"


def _inline(text: str) -> str:
    """Escaped text whose `backquoted` spans become code."""
    return re.sub(r"`([^`]*)`", r"<code>\1</code>", html.escape(text))


def paragraph(text: str) -> str:
    """A paragraph of plain text (with `code` spans)."""
    return f"<p>{_inline(text)}</p>"


def bullets(items: Sequence[str]) -> str:
    """A bulleted list, one item of plain text (with `code` spans) each."""
    return "<ul>" + "".join(f"<li>{_inline(item)}</li>" for item in items) + "</ul>"


def folded(summary: str, text: str) -> str:
    """Preformatted text hidden behind a one-line summary until opened."""
    return f"<details><summary>{html.escape(summary)}</summary><pre>{html.escape(text)}</pre></details>"


def figure(src: str, caption: str, wide: bool = False) -> str:
    """An image file beside the page, captioned; `wide` ones scroll sideways instead of shrinking."""
    cls = ' class="wide"' if wide else ""
    return (f'<figure{cls}><img src="{html.escape(src)}" alt="{html.escape(caption)}">'
            f"<figcaption>{html.escape(caption)}</figcaption></figure>")


def table(header: Sequence[str], rows: Sequence[Sequence[str]], result_col: int | None = None,
          last_bold: bool = False) -> str:
    """A table of text cells (multi-line cells preformatted).

    `result_col`: a column of check results, coloured (pass, not checked, anything else a failure);
    `last_bold`: the last row is a total.
    """
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = []
    for i, row in enumerate(rows):
        cells = []
        for j, cell in enumerate(row):
            cls = f' class="{_result_class(cell)}"' if j == result_col else ""
            text = f"<pre>{html.escape(cell)}</pre>" if "\n" in cell else html.escape(cell)
            cells.append(f"<td{cls}>{text}</td>")
        total = ' class="total"' if last_bold and i == len(rows) - 1 else ""
        body.append(f"<tr{total}>{''.join(cells)}</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _result_class(text: str) -> str:
    return "pass" if text == "pass" else "skip" if text == "not checked" else "fail"
