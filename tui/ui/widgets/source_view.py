"""The script with line numbers, breakpoints, lines already run and the current line.

Rows of the view are lines of the script, except that a folded range (a lesson's
markdown cell while the narrative pane shows it) takes one dim row. The current
line is kept inside the visible rows; the pane also scrolls by wheel and, when
focused, by the arrow and page keys.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.segment import Segment
from rich.style import Style
from rich.text import Text
from textual import events
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from tui.render.safe_text import visible_lines
from tui.ui.widgets.styles_cache import CachedStyles

BREAKPOINT = "●"
CURRENT = "▶"
RAN = "•"
FOLD = "┄"


@dataclass(frozen=True, slots=True)
class Fold:
    """Lines `start`..`end` (1-based, inclusive) shown as one row saying `label`."""

    start: int
    end: int
    label: str


def _without_background(text: Text) -> Text:
    """Drop the theme's background so the current-line highlight shows through."""
    plain = Text(text.plain)
    for span in text.spans:
        style = span.style if isinstance(span.style, Style) else Style.parse(str(span.style))
        plain.stylize(Style(color=style.color, bold=style.bold, italic=style.italic), span.start, span.end)
    return plain


class SourceView(CachedStyles, ScrollView, can_focus=True):
    """Draws only the visible lines (line API), so long scripts cost nothing extra."""

    BINDINGS = [
        Binding("up", "scroll_up", "Scroll up", show=False),
        Binding("down", "scroll_down", "Scroll down", show=False),
        Binding("pageup", "page_up", "Page up", show=False),
        Binding("pagedown", "page_down", "Page down", show=False),
    ]
    COMPONENT_CLASSES = {
        "source-view--fold",
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
        self._source = visible_lines(source)
        self._segments: dict[int, list[Segment]] = {}
        self.current_line: int | None = None
        self.exception_line: int | None = None
        self.breakpoints: frozenset[int] = frozenset()
        self.lines_run: frozenset[int] = frozenset()
        self._folds: tuple[Fold, ...] = ()
        # Row of the view -> the line it shows (int) or the Fold it stands for; and line -> row.
        self._rows: list[int | Fold] = []
        self._row_of: dict[int, int] = {}
        self.set_source(source)

    @property
    def gutter_width(self) -> int:
        """Breakpoint, space, line number, space, marker, space."""
        return len(str(max(len(self._code_lines), 1))) + 5

    @property
    def folds(self) -> tuple[Fold, ...]:
        return self._folds

    def set_folds(self, folds: tuple[Fold, ...]) -> None:
        """Fold these line ranges to one row each (empty: show every line)."""
        if folds == self._folds:
            return
        self._folds = folds
        self._layout_rows()
        if self.current_line is not None:
            self._bring_into_view(self.row_of(self.current_line), force=True)

    def row_of(self, line: int) -> int:
        """The view row that shows `line` (a folded line: its fold's row)."""
        row = self._row_of.get(line)
        if row is not None:
            return row
        for fold in self._folds:
            if fold.start <= line <= fold.end:
                return self._row_of.get(fold.start, 0)
        return max(min(line - 1, len(self._rows) - 1), 0)

    def line_at(self, row: int) -> int | None:
        """The script line a view row shows (None for a fold or past the end)."""
        if 0 <= row < len(self._rows):
            entry = self._rows[row]
            return entry if isinstance(entry, int) else None
        return None

    def visible_rows(self) -> range:
        """The view rows on screen now."""
        top = int(self.scroll_offset.y)
        return range(top, top + max(self.scrollable_content_region.height, 0))

    def _layout_rows(self) -> None:
        rows: list[int | Fold] = []
        folds = {fold.start: fold for fold in self._folds}
        line = 1
        count = len(self._code_lines)
        while line <= count:
            fold = folds.get(line)
            if fold is not None and fold.end >= line:
                rows.append(fold)
                line = min(fold.end, count) + 1
                continue
            rows.append(line)
            line += 1
        self._rows = rows
        self._row_of = {entry: row for row, entry in enumerate(rows) if isinstance(entry, int)}
        width = max((line.cell_len for line in self._code_lines), default=0) + self.gutter_width
        size = Size(width, len(rows))
        if size != self.virtual_size:
            self.virtual_size = size
        self.refresh()

    def set_source(self, source: str) -> None:
        """Show the script at once as plain text; colour it right after that first paint.

        Pygments compiles its Python lexer on first use (~80 ms): start-up paints first.
        The text is a recording's or a script's: its control characters are shown as escapes.
        """
        source = visible_lines(source)
        self._source = source
        self._set_lines(Text(source), source)
        if self.is_mounted:
            self.call_after_refresh(self._highlight, source)

    def on_mount(self) -> None:
        self.call_after_refresh(self._highlight, self._source)

    def _highlight(self, source: str) -> None:
        if source is not self._source:  # another script replaced it meanwhile
            return
        if not getattr(self, "_follows_theme", False):
            # Colours for a dark or a light background: highlight again when the theme changes.
            self._follows_theme = True
            self.app.theme_changed_signal.subscribe(self, lambda _theme: self._highlight(self._source))
        syntax_theme = "monokai" if self.app.current_theme.dark else "friendly"
        try:
            # Deferred: rich.syntax pulls in Pygments (~0.1 s), which the first paint does without.
            from rich.syntax import Syntax

            highlighted = _without_background(Syntax(source, "python", theme=syntax_theme).highlight(source))
        except Exception:  # highlighting is a nicety: plain text still teaches
            return
        self._set_lines(highlighted, source)

    def _set_lines(self, text: Text, source: str) -> None:
        """Lines are rendered from this cache; the size depends on the text alone (no relayout when coloured)."""
        self._code_lines = list(text.split("\n", allow_blank=True)) if source else []
        if self._code_lines and not self._code_lines[-1].plain and source.endswith("\n"):
            self._code_lines.pop()
        self._segments.clear()
        self._layout_rows()

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
            self._bring_into_view(self.row_of(current_line))
        visible = self.visible_rows()
        for line in changed:
            row = self.row_of(line)
            if row in visible:
                self.refresh_line(row)  # a row of the virtual (whole-script) space

    def _bring_into_view(self, row: int, *, force: bool = False) -> None:
        """Scroll so `row` is on screen, a third of the way down, with context below it."""
        top = int(self.scroll_offset.y)
        height = self.scrollable_content_region.height
        if height <= 0:  # not laid out yet: on_resize brings it into view
            return
        margin = 1 if height > 4 else 0
        if force or not top + margin <= row < top + height - margin:
            self.scroll_to(y=max(row - height // 3, 0), animate=False, immediate=True)
            self.refresh()

    def on_resize(self) -> None:
        if self.current_line is not None:
            self._bring_into_view(self.row_of(self.current_line))

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
        if row >= len(self._rows):
            return Strip.blank(width, base)
        entry = self._rows[row]
        digits = self.gutter_width - 5
        style_of = self.component_style
        if isinstance(entry, Fold):
            text = f"  {entry.start:>{digits}} {FOLD} {entry.label} (lines {entry.start}–{entry.end})"
            return Strip([Segment(text, style_of("source-view--fold"))]).crop(0, width).extend_cell_length(width).apply_style(base)
        line = entry
        breakpoint = Segment(BREAKPOINT if line in self.breakpoints else " ", style_of("source-view--breakpoint"))
        number = Segment(f" {line:>{digits}} ", style_of("source-view--lineno"))
        if line == self.current_line:
            marker = Segment(CURRENT, style_of("source-view--current"))
        elif line in self.lines_run:
            marker = Segment(RAN, style_of("source-view--ran"))
        else:
            marker = Segment(" ")
        segments = [breakpoint, number, marker, Segment(" "), *self._code_segments(line - 1)]
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
        line = self.line_at(int(self.scroll_offset.y) + offset.y)
        if line is not None and offset.x < self.gutter_width - 1:
            event.stop()
            self.post_message(self.BreakpointToggled(line))
