"""Safe rendering of knowledge-base text: a small Markdown subset (headings, lists, bold, links) over text that is
HTML-escaped FIRST, so nothing an editor types can become markup or script. Links: http(s), mailto and site paths."""
from __future__ import annotations

import re

from django.utils.html import escape
from django.utils.safestring import SafeString, mark_safe

_BOLD = re.compile(r"\*\*(.+?)\*\*")
_LINK = re.compile(r"\[([^\]\n]{1,200})\]\(((?:https?://|mailto:|/)[^\s)\"'<>]{0,500})\)")


def _inline(text: str) -> str:
    text = escape(text)  # from here on only our own tags are added
    text = _BOLD.sub(r"<strong>\1</strong>", text)

    def link(match):
        label, url = match.group(1), match.group(2)
        external = url.startswith(("http://", "https://"))
        rel = ' rel="noopener noreferrer nofollow" target="_blank"' if external else ""
        return f'<a href="{url}"{rel}>{label}</a>'

    return _LINK.sub(link, text)


def render_markup(source: str) -> SafeString:
    html, paragraph, items = [], [], []

    def flush():
        if paragraph:
            html.append("<p>" + "<br>".join(_inline(line) for line in paragraph) + "</p>")
            paragraph.clear()
        if items:
            html.append("<ul>" + "".join(f"<li>{_inline(i)}</li>" for i in items) + "</ul>")
            items.clear()

    for raw in (source or "").replace("\r\n", "\n").split("\n"):
        line = raw.rstrip()
        heading = re.match(r"^(#{1,3})\s+(.*)$", line)
        if not line.strip():
            flush()
        elif heading:
            flush()
            level = len(heading.group(1)) + 2  # h3..h5 inside a page that has its own h1
            html.append(f"<h{level}>{_inline(heading.group(2))}</h{level}>")
        elif re.match(r"^\s*[-*]\s+", line):
            if paragraph:
                flush()
            items.append(re.sub(r"^\s*[-*]\s+", "", line))
        else:
            if items:
                flush()
            paragraph.append(line)
    flush()
    return mark_safe("\n".join(html))  # noqa: S308 - every piece of user text above went through escape()
