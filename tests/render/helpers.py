"""Structure checks shared by the handout tests (render/ and cli/)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser

# Elements that never have an end tag.
VOID = frozenset(
    {"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}
)


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    text: str = ""
    children: list[Element] = field(default_factory=list)


class TreeBuilder(HTMLParser):
    """Builds a tree and fails on anything our templates should never produce: unclosed or
    mis-nested elements, duplicate ids, stray end tags."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.root = Element("#document", {})
        self.stack = [self.root]
        self.ids: dict[str, Element] = {}
        self.doctype: str | None = None
        self.errors: list[str] = []

    def handle_decl(self, decl: str) -> None:
        self.doctype = decl

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {k: v or "" for k, v in attrs})
        self.stack[-1].children.append(element)
        if "id" in element.attrs:
            if element.attrs["id"] in self.ids:
                self.errors.append(f"duplicate id {element.attrs['id']!r}")
            self.ids[element.attrs["id"]] = element
        if tag not in VOID:
            self.stack.append(element)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.handle_starttag(tag, attrs)
        if tag not in VOID:
            self.stack.pop()

    def handle_endtag(self, tag: str) -> None:
        if tag in VOID:
            return
        if len(self.stack) == 1 or self.stack[-1].tag != tag:
            self.errors.append(f"end tag </{tag}> does not close <{self.stack[-1].tag}>")
            return
        self.stack.pop()

    def handle_data(self, data: str) -> None:
        for element in self.stack:
            element.text += data


def parse_html(document: str) -> TreeBuilder:
    """Parse and assert the document is well-formed (every element closed, properly nested)."""
    builder = TreeBuilder()
    builder.feed(document)
    builder.close()
    assert builder.errors == []
    assert [e.tag for e in builder.stack] == ["#document"], "unclosed elements"
    assert builder.doctype is not None
    assert builder.doctype.lower() == "doctype html"
    return builder


def find_all(element: Element, tag: str | None = None, cls: str | None = None) -> list[Element]:
    found = []
    for child in element.children:
        if (tag is None or child.tag == tag) and (
            cls is None or cls in child.attrs.get("class", "").split()
        ):
            found.append(child)
        found += find_all(child, tag, cls)
    return found


def only(elements: list[Element]) -> Element:
    assert len(elements) == 1, f"expected one element, found {len(elements)}"
    return elements[0]


def text_of(element: Element) -> str:
    return " ".join(element.text.split())


def unescape_markdown(text: str) -> str:
    """What a CommonMark reader shows for backslash-escaped text."""
    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", text)


def unescaped_angle_brackets(markdown: str) -> list[str]:
    """Any `<` a Markdown reader could take as the start of raw HTML."""
    return re.findall(r"(?<!\\)<[^\n]{0,20}", markdown)
