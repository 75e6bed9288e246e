"""Reading rendered pages in tests: form controls, labels, stylesheets (html.parser, no browser)."""
from __future__ import annotations

import re
from dataclasses import dataclass
from html.parser import HTMLParser
from io import BytesIO

from PIL import Image

THEME_CSS_LINK = re.compile(r'href="/theme\.css\?v=(\d+)"')


@dataclass
class Control:
    tag: str
    attrs: dict
    disabled: bool  # its own attribute, or inside a disabled <fieldset>
    in_main: bool

    @property
    def name(self) -> str:
        return f"<{self.tag} name={self.attrs.get('name')!r} id={self.attrs.get('id')!r}>"


class Page(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.controls: list[Control] = []
        self.labels_for: set[str] = set()
        self.stylesheets: list[str] = []
        self.submit_buttons_in_main: list[dict] = []
        self.images: list[dict] = []
        self.html_attrs: dict = {}
        self._fieldsets: list[bool] = []
        self._in_main = False

    @classmethod
    def of(cls, response) -> Page:
        page = cls()
        page.feed(response.content.decode())
        page.close()
        return page

    def handle_starttag(self, tag, attrs):
        a = {k: (v if v is not None else "") for k, v in attrs}
        if tag == "html":
            self.html_attrs = a
        elif tag == "main":
            self._in_main = True
        elif tag == "fieldset":
            self._fieldsets.append("disabled" in a)
        elif tag == "label" and a.get("for"):
            self.labels_for.add(a["for"])
        elif tag == "link" and a.get("rel") == "stylesheet":
            self.stylesheets.append(a.get("href", ""))
        elif tag == "img":
            self.images.append(a)
        elif tag in ("input", "select", "textarea"):
            disabled = "disabled" in a or any(self._fieldsets)
            self.controls.append(Control(tag, a, disabled, self._in_main))
        elif tag == "button" and self._in_main and a.get("type", "submit") == "submit":
            self.submit_buttons_in_main.append(a)

    def handle_endtag(self, tag):
        if tag == "fieldset" and self._fieldsets:
            self._fieldsets.pop()
        elif tag == "main":
            self._in_main = False

    def visible_controls(self) -> list[Control]:
        return [c for c in self.controls if c.attrs.get("type") != "hidden"]

    def unlabelled_controls(self) -> list[str]:
        return [c.name for c in self.visible_controls()
                if not (c.attrs.get("aria-label") or "").strip() and c.attrs.get("id") not in self.labels_for]


def theme_version_linked(response) -> int:
    match = THEME_CSS_LINK.search(response.content.decode())
    assert match, "the page does not link /theme.css?v=<version>"
    return int(match.group(1))


def image_bytes(fmt: str = "PNG", size: tuple[int, int] = (120, 40), colour=(27, 42, 74, 255), **save_options) -> bytes:
    """A real image made with Pillow."""
    mode = "RGBA" if fmt in ("PNG", "WEBP", "ICO") else "RGB"
    img = Image.new(mode, size, colour if mode == "RGBA" else colour[:3])
    out = BytesIO()
    img.save(out, format=fmt, **save_options)
    return out.getvalue()
