"""Reading rendered pages in tests: a small DOM from the standard library's HTML parser (no browser needed)."""
from __future__ import annotations

from dataclasses import dataclass, field
from html.parser import HTMLParser

VOID = {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track", "wbr"}


@dataclass
class Node:
    tag: str
    attrs: dict[str, str]
    children: list[Node | str] = field(default_factory=list)

    @property
    def text(self) -> str:
        """Visible text, whitespace collapsed."""
        parts: list[str] = []

        def walk(node: Node) -> None:
            for child in node.children:
                if isinstance(child, str):
                    parts.append(child)
                elif child.tag not in ("script", "style"):
                    walk(child)

        walk(self)
        return " ".join(" ".join(parts).split())

    def iter(self):
        yield self
        for child in self.children:
            if isinstance(child, Node):
                yield from child.iter()

    def find_all(self, tag: str | None = None, **attrs: str) -> list[Node]:
        """Elements by tag and exact attribute values; `class_` matches one class among several."""
        found = []
        for node in self.iter():
            if tag and node.tag != tag:
                continue
            ok = True
            for name, value in attrs.items():
                if name == "class_":
                    ok = value in node.attrs.get("class", "").split()
                else:
                    ok = node.attrs.get(name.replace("_", "-")) == value
                if not ok:
                    break
            if ok:
                found.append(node)
        return found

    def find(self, tag: str | None = None, **attrs: str) -> Node | None:
        nodes = self.find_all(tag, **attrs)
        return nodes[0] if nodes else None


class _TreeBuilder(HTMLParser):
    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.root = Node("#document", {})
        self.stack = [self.root]

    def handle_starttag(self, tag, attrs):
        node = Node(tag, {k: (v if v is not None else "") for k, v in attrs})
        self.stack[-1].children.append(node)
        if tag not in VOID:
            self.stack.append(node)

    def handle_startendtag(self, tag, attrs):
        self.stack[-1].children.append(Node(tag, {k: (v if v is not None else "") for k, v in attrs}))

    def handle_endtag(self, tag):
        for i in range(len(self.stack) - 1, 0, -1):
            if self.stack[i].tag == tag:
                del self.stack[i:]
                return

    def handle_data(self, data):
        self.stack[-1].children.append(data)


def parse(content: bytes | str) -> Node:
    builder = _TreeBuilder()
    builder.feed(content.decode() if isinstance(content, bytes) else content)
    builder.close()
    return builder.root


def brokerage_table(content: bytes | str) -> dict[str, list[str]]:
    """The console's brokerage table as {slug: [cell text, ...]}."""
    return {tr.attrs["data-slug"]: [td.text for td in tr.find_all("td")] for tr in parse(content).find_all("tr")
            if "data-slug" in tr.attrs}


def field_errors(content: bytes | str) -> dict[str, list[str]]:
    """Form errors per field name (the input, select or textarea that precedes each invalid-feedback)."""
    errors: dict[str, list[str]] = {}
    current = None
    for node in parse(content).iter():
        if node.tag in ("input", "select", "textarea") and node.attrs.get("name"):
            current = node.attrs["name"]
        elif "invalid-feedback" in node.attrs.get("class", "").split():
            errors.setdefault(current, []).append(node.text)
    return errors


def alerts(content: bytes | str) -> list[str]:
    """Flash messages and other alerts, as text."""
    return [n.text for n in parse(content).iter() if "alert" in n.attrs.get("class", "").split()]


def flash_messages(content: bytes | str) -> list[str]:
    """The one-off messages a redirect leaves for the next page (django.contrib.messages), as text."""
    return [n.text for n in parse(content).iter()
            if "alert" in n.attrs.get("class", "").split() and n.attrs.get("role") == "status"]
