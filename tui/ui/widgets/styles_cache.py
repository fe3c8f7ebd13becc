"""Rich styles of a line-API widget, looked up once per CSS change instead of once per line."""

from __future__ import annotations

from rich.style import Style
from textual.widget import Widget


class CachedStyles(Widget):
    """`base_style` and `component_style(name)`, cached until the widget's CSS changes.

    Each lookup walks the widget's ancestors (a fraction of a millisecond); a pane
    that renders thirty lines would pay it thirty times a frame.
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
