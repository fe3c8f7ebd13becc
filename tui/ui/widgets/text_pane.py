"""Wrapped Rich text drawn with the line API, for panes whose text changes on every step.

A Static in a scrolling container re-lays-out the whole screen whenever its text
changes height, and repaints it all. This pane wraps the text itself, renders
only the lines on screen (each once, cached), and keeps its virtual height at
least the height of the view, so a step change is one repaint of this pane.
"""

from __future__ import annotations

from rich.segment import Segment
from rich.text import Text
from textual.geometry import Size

from tui.ui.widgets.styles_cache import CachedRows


class TextPane(CachedRows, can_focus=False):
    """Shows one Rich Text, wrapped to the pane's width; scrolls when it is longer."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._text = Text()
        self._lines: list[list[Segment]] | None = None
        self._wrap_width = -1

    def render_text(self, width: int) -> Text:
        """The text to show at this width (subclasses draw width-dependent parts here)."""
        return self._text

    def set_text(self, text: Text, *, scroll: str | None = "home") -> None:
        """Show new text; scroll to its "home", its "end", or (None) stay where the view is."""
        self._text = text
        self.invalidate(scroll=scroll)

    def invalidate(self, *, scroll: str | None = None) -> None:
        """The text changed: wrap it again and repaint this pane (no screen layout)."""
        self._lines = None
        self.forget_rows()
        self._update_virtual_size()
        if scroll == "home":
            self.scroll_to(0, 0, animate=False, immediate=True)
        elif scroll == "end":
            self.scroll_to(0, max(self.virtual_size.height - self.scrollable_content_region.height, 0), animate=False, immediate=True)
        self.refresh()

    @property
    def line_count(self) -> int:
        """How many lines the text takes at the current width."""
        return len(self._wrapped())

    def _wrapped(self) -> list[list[Segment]]:
        width = max(self.scrollable_content_region.width, 1)
        if self._lines is None or width != self._wrap_width:
            self._wrap_width = width
            self.forget_rows()
            console = self.app.console
            lines = self.render_text(width).wrap(console, width, overflow="fold")
            self._lines = [list(line.render(console, end="")) for line in lines]
        return self._lines

    def _update_virtual_size(self) -> None:
        if not self.is_mounted:
            return
        view = self.scrollable_content_region.size
        if view.width <= 0:  # not laid out yet: on_resize sizes it
            return
        # Never smaller than the view: text that fits changes nothing the layout can see.
        size = Size(view.width, max(len(self._wrapped()), view.height))
        if size != self.virtual_size:
            self.virtual_size = size

    def on_resize(self) -> None:
        self._lines = None  # rewrap at the new width
        super().on_resize()

    def notify_style_update(self) -> None:
        self._lines = None  # the wrapped segments carry the old theme's colours
        super().notify_style_update()

    def row_count(self) -> int:
        return len(self._wrapped())

    def row_segments(self, row: int, width: int) -> list[Segment]:
        return self._wrapped()[row]
