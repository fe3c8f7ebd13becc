"""The lesson's narrative cell for the current line, beside the source."""

from __future__ import annotations

from textual.containers import VerticalScroll
from textual.widgets import Markdown


class NarrativePane(VerticalScroll):
    """A Markdown view updated only when the narrative cell changes."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._markdown = Markdown("", id="narrative-markdown")
        self._shown: str | None = None

    def compose(self):
        yield self._markdown

    def show(self, markdown: str | None) -> None:
        """Show a narrative cell (or a hint when the line has none)."""
        text = markdown if markdown else "*No narrative for this line.*"
        if text == self._shown:
            return
        self._shown = text
        self._markdown.update(text)
        self.scroll_home(animate=False)
