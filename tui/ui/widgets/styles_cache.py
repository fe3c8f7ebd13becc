"""Line-API helpers: styles looked up once per CSS change, rendered rows cached until they change."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.segment import Segment
from rich.style import Style
from textual.scroll_view import ScrollView
from textual.strip import Strip
from textual.widget import Widget

if TYPE_CHECKING:
    _WidgetBase = Widget
else:
    _WidgetBase = object


class CachedStyles(_WidgetBase):
    """`base_style` and `component_style(name)`, cached until the widget's CSS changes.

    Each lookup walks the widget's ancestors (a fraction of a millisecond); a pane
    that renders thirty lines would pay it thirty times a frame. A plain mixin, not a
    Widget: as a Widget ahead of ScrollView in the MRO its CSS (`overflow: hidden`)
    won over ScrollView's, and no pane could scroll.
    """

    _style_cache: dict[str, Style]

    def _styles_cached(self) -> dict[str, Style]:
        try:
            return self._style_cache
        except AttributeError:
            self._style_cache = {}
            return self._style_cache

    @property
    def base_style(self) -> Style:
        """The widget's own style (background and colour from its CSS and its parents)."""
        cache = self._styles_cached()
        style = cache.get("")
        if style is None:
            style = cache[""] = self.rich_style
        return style

    def component_style(self, name: str) -> Style:
        """A component class's style."""
        cache = self._styles_cached()
        style = cache.get(name)
        if style is None:
            style = cache[name] = self.get_component_rich_style(name)
        return style

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._styles_cached().clear()


class CachedRows(CachedStyles, ScrollView):
    """A scrolling line-API view that renders each row once and keeps the strip until it changes.

    Subclasses give `row_count()` and `row_segments(row, width)`, and call `forget_rows()` (all, or
    some rows) when their content changes; resizing and restyling forget every row.
    """

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self._strips: dict[int, Strip] = {}

    def row_count(self) -> int:
        raise NotImplementedError

    def row_segments(self, row: int, width: int) -> list[Segment]:
        raise NotImplementedError

    def forget_rows(self, rows: list[int] | None = None) -> None:
        """Drop cached strips: every row, or just these."""
        if rows is None:
            self._strips.clear()
        else:
            for row in rows:
                self._strips.pop(row, None)

    def _update_virtual_size(self) -> None:
        """Subclasses size the scrollable area; called after a resize."""

    def on_resize(self) -> None:
        self.forget_rows()
        self._update_virtual_size()

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self.forget_rows()

    def render_line(self, y: int) -> Strip:
        row = int(self.scroll_offset.y) + y
        width = self.scrollable_content_region.width
        strip = self._strips.get(row)
        if strip is None:
            base = self.base_style
            if row < self.row_count():
                strip = Strip(self.row_segments(row, width)).adjust_cell_length(width).apply_style(base)
            else:
                strip = Strip.blank(width, base)
            self._strips[row] = strip
        return strip
