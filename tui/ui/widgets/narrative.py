"""The lesson's narrative cell for the current line, beside the source."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.containers import VerticalScroll

from tui.render.safe_text import visible_lines

if TYPE_CHECKING:
    from textual.widgets import Markdown


class NarrativePane(VerticalScroll):
    """A Markdown view updated only when the narrative cell changes."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._markdown: Markdown | None = None
        self._shown: str | None = None

    def show(self, markdown: str | None) -> None:
        """Show a narrative cell (or a hint when the line has none)."""
        # A recording's markdown: its control characters shown as escapes (markdown's own markup is the point).
        text = visible_lines(markdown) if markdown else "*No narrative for this line.*"
        if text == self._shown:
            return
        self._shown = text
        if self._markdown is None:
            # markdown-it costs ~50 ms to import: only lessons, which have a narrative, pay it.
            from textual.widgets import Markdown

            # Links never open: a recording's narrative is someone else's text. A click shows the address.
            self._markdown = Markdown(text, id="narrative-markdown", open_links=False)
            self.mount(self._markdown)
        else:
            self._markdown.update(text)
        self.scroll_home(animate=False)

    def on_markdown_link_clicked(self, event: Markdown.LinkClicked) -> None:
        """Say where a link points, as text; open nothing."""
        event.stop()
        self.notify(f"link: {visible_lines(event.href)} (gradstep opens no links)", markup=False)
