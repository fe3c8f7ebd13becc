"""The script with line numbers, breakpoints, lines already run and the current line."""

from __future__ import annotations

from rich.segment import Segment
from rich.style import Style
from rich.syntax import Syntax
from rich.text import Text
from textual import events
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from tui.ui.widgets.styles_cache import CachedStyles

BREAKPOINT = "●"
CURRENT = "▶"
RAN = "•"


def _without_background(text: Text) -> Text:
    """Drop the theme's background so the current-line highlight shows through."""
    plain = Text(text.plain)
    for span in text.spans:
        style = span.style if isinstance(span.style, Style) else Style.parse(str(span.style))
        plain.stylize(Style(color=style.color, bold=style.bold, italic=style.italic), span.start, span.end)
    return plain


class SourceView(CachedStyles, ScrollView, can_focus=False):
    """Draws only the visible lines (line API), so long scripts cost nothing extra."""

    COMPONENT_CLASSES = {
        "source-view--lineno",
        "source-view--breakpoint",
        "source-view--ran",
        "source-view--current",
        "source-view--current-line",
        "source-view--exception",
    }

    class BreakpointToggled(Message):
        """The learner clicked the gutter of a line."""

        def __init__(self, line: int) -> None:
            super().__init__()
            self.line = line

    def __init__(self, source: str = "", *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._code_lines: list[Text] = []
        self._source = source
        self._segments: dict[int, list[Segment]] = {}
        self.current_line: int | None = None
        self.exception_line: int | None = None
        self.breakpoints: frozenset[int] = frozenset()
        self.lines_run: frozenset[int] = frozenset()
        self.set_source(source)

    @property
    def gutter_width(self) -> int:
        """Breakpoint, space, line number, space, marker, space."""
        return len(str(max(len(self._code_lines), 1))) + 5

    def set_source(self, source: str) -> None:
        """Show the script at once as plain text; colour it right after that first paint.

        Pygments compiles its Python lexer on first use (~80 ms): start-up paints first.
        """
        self._source = source
        self._set_lines(Text(source), source)
        if self.is_mounted:
            self.call_after_refresh(self._highlight, source)

    def on_mount(self) -> None:
        self.call_after_refresh(self._highlight, self._source)

    def _highlight(self, source: str) -> None:
        if source is not self._source:  # another script replaced it meanwhile
            return
        try:
            highlighted = _without_background(Syntax(source, "python", theme="monokai").highlight(source))
        except Exception:  # highlighting is a nicety: plain text still teaches
            return
        self._set_lines(highlighted, source)

    def _set_lines(self, text: Text, source: str) -> None:
        """Lines are rendered from this cache; the size depends on the text alone (no relayout when coloured)."""
        self._code_lines = text.split("\n", allow_blank=True) if source else []
        if self._code_lines and not self._code_lines[-1].plain and source.endswith("\n"):
            self._code_lines.pop()
        self._segments.clear()
        width = max((line.cell_len for line in self._code_lines), default=0) + self.gutter_width
        size = Size(width, len(self._code_lines))
        if size != self.virtual_size:
            self.virtual_size = size
        self.refresh()

    def show(
        self,
        *,
        current_line: int | None,
        breakpoints: frozenset[int],
        lines_run: frozenset[int],
        exception_line: int | None = None,
    ) -> None:
        """Repaint the lines that changed for a step; scroll so the current line is in view."""
        changed: set[int] = set()
        if current_line != self.current_line:
            changed |= {line for line in (current_line, self.current_line) if line is not None}
        if exception_line != self.exception_line:
            changed |= {line for line in (exception_line, self.exception_line) if line is not None}
        changed |= breakpoints ^ self.breakpoints
        changed |= lines_run ^ self.lines_run
        self.current_line = current_line
        self.breakpoints = breakpoints
        self.lines_run = lines_run
        self.exception_line = exception_line
        if current_line is not None:
            self._bring_into_view(current_line - 1)
        top = int(self.scroll_offset.y)
        for line in changed:
            if top <= line - 1 < top + self.size.height:
                self.refresh_line(line - 1)  # a row of the virtual (whole-script) space

    def _bring_into_view(self, row: int) -> None:
        top = int(self.scroll_offset.y)
        height = max(self.scrollable_content_region.height, 1)
        if not top <= row < top + height:
            self.scroll_to(y=max(row - height // 3, 0), animate=False, immediate=True)
            self.refresh()

    def _code_segments(self, row: int) -> list[Segment]:
        segments = self._segments.get(row)
        if segments is None:
            segments = list(self._code_lines[row].render(self.app.console, end=""))
            self._segments[row] = segments
        return segments

    def render_line(self, y: int) -> Strip:
        row = int(self.scroll_offset.y) + y
        width = self.scrollable_content_region.width
        base = self.base_style
        if row >= len(self._code_lines):
            return Strip.blank(width, base)
        line = row + 1
        digits = self.gutter_width - 5
        style_of = self.component_style
        breakpoint = Segment(BREAKPOINT if line in self.breakpoints else " ", style_of("source-view--breakpoint"))
        number = Segment(f" {line:>{digits}} ", style_of("source-view--lineno"))
        if line == self.current_line:
            marker = Segment(CURRENT, style_of("source-view--current"))
        elif line in self.lines_run:
            marker = Segment(RAN, style_of("source-view--ran"))
        else:
            marker = Segment(" ")
        segments = [breakpoint, number, marker, Segment(" "), *self._code_segments(row)]
        left = int(self.scroll_offset.x)
        strip = Strip(segments).crop(left, left + width).extend_cell_length(width)
        if line == self.exception_line:
            strip = strip.apply_style(style_of("source-view--exception"))
        elif line == self.current_line:
            strip = strip.apply_style(style_of("source-view--current-line"))
        return strip.apply_style(base)

    def on_click(self, event: events.Click) -> None:
        """A click in the gutter toggles the breakpoint of that line."""
        offset = event.get_content_offset(self)
        if offset is None:
            return
        row = int(self.scroll_offset.y) + offset.y
        if 0 <= row < len(self._code_lines) and offset.x < self.gutter_width - 1:
            event.stop()
            self.post_message(self.BreakpointToggled(row + 1))
