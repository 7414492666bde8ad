"""The elements a browser would build from an HTML string, and its text (html.parser; no browser needed)."""

from __future__ import annotations

from html.parser import HTMLParser


class Dom(HTMLParser):
    """The elements a browser would build from an HTML string (tag, attributes), and its text."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.elements: list[tuple[str, dict[str, str]]] = []
        self.text = ""
        self.feed(text)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, {k: v or "" for k, v in attrs}))

    def handle_data(self, data: str) -> None:
        self.text += data

    def tags(self, name: str) -> list[dict[str, str]]:
        return [a for t, a in self.elements if t == name]
