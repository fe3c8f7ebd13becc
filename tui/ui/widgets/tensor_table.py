"""A row per named tensor; cells that changed since the previous step are highlighted.

Drawn with the line API: a step repaints only the rows whose tensors changed (the
engine reuses a TensorView object when a tensor did not change, so identity tells),
and renders only the rows on screen. Column widths and the number of rows the table
has room for only grow, so walking the history never re-lays-out the screen.

The table never scrolls sideways: when the columns do not fit, the optional ones
(shape, grad_fn, req_grad, device) go, and name, value, .grad and backwards share the
room that is left.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Mapping

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from rich.style import Style
from textual import events
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.scroll_view import ScrollView
from textual.strip import Strip

from tui.render.formatting import TENSOR_COLUMNS, grad_text, shape_text, value_text
from tui.steps.model import Step, TensorView
from tui.ui.state import changed_fields
from tui.ui.widgets.styles_cache import CachedStyles

# Rows beyond this many tensors are summed up in one "… N more" row.
MAX_ROWS = 1000
COLUMNS = TENSOR_COLUMNS
# No column grows past this (the details pane shows everything).
MAX_WIDTHS = {"name": 32, "grad_fn": 24}
MAX_WIDTH = 30
# Always shown; the rest join, in this order, while they fit.
REQUIRED = ("name", "value", "grad", "accumulated")
OPTIONAL = ("shape", "grad_fn", "requires_grad", "device")
# Squeezed, a required column keeps at least this many cells.
MIN_WIDTHS = {"name": 8, "value": 8, "grad": 8, "accumulated": len("backwards")}
PADDING = 2  # a space on each side of a cell
# A name this long is cut only once value and .grad are down to their minimums.
NAME_KEPT = 24


def fit_columns(widths: list[int], room: int) -> list[tuple[int, int]]:
    """(column position, width) of the columns shown in `room` cells, in table order."""
    keys = [key for key, _label in COLUMNS]
    chosen = {keys.index(key): widths[keys.index(key)] for key in REQUIRED}
    used = sum(width + PADDING for width in chosen.values())
    for key in OPTIONAL:
        position = keys.index(key)
        if used + widths[position] + PADDING <= room:
            chosen[position] = widths[position]
            used += widths[position] + PADDING
    # Still too wide: take a cell at a time from whichever required column has the most to spare,
    # so value and .grad share the room rather than one losing it all. Names give way last: a
    # learner reads the row by its name (value and .grad are in full in the details pane).
    name = keys.index("name")
    floors = {p: MIN_WIDTHS.get(keys[p], 3) for p in chosen}
    for stage in ({**floors, name: min(widths[name], NAME_KEPT)}, floors):
        while used > room:
            position = max(chosen, key=lambda p: (chosen[p] - stage[p], -p))
            if chosen[position] <= stage[position]:
                break
            chosen[position] -= 1
            used -= 1
    return sorted(chosen.items())


BORDER_ROWS = 2
HEADER_ROWS = 1
# Room for this many rows from the start: the first tensors of a script move no pane.
MIN_ROOM = 4

# A cell: its text and how it is marked ("" plain, "changed", "warning", "changed warning").
Cell = tuple[str, str]


def accumulated_cell(view: TensorView) -> tuple[str, bool]:
    """How many backward passes added into .grad since its last reset; a warning past one."""
    if not view.has_grad or view.accumulated <= 0:
        return "", False
    if view.accumulated > 1:
        return f"{view.accumulated}× ⚠", True
    return f"{view.accumulated}×", False


# Predict mode's marks (tui.ui.predict): "?" hides a cell asked for; the others follow its value.
PREDICT_SUFFIX = {"right": " ✓", "wrong": " ✗", "skipped": ""}


def row_cells(
    name: str, view: TensorView, before: TensorView | None, fresh: bool, predicted_marks: Mapping[str, str] | None = None
) -> tuple[Cell, ...]:
    """The cells of one tensor's row, with the changed ones marked (`predicted_marks`: predict mode's, by column)."""
    changed = frozenset() if fresh else changed_fields(view, before)
    accumulated, warning = accumulated_cell(view)
    plain = {
        "name": name,
        "shape": shape_text(view.shape),
        "value": value_text(view),
        "grad": grad_text(view),
        "accumulated": accumulated,
        "requires_grad": "✓" if view.requires_grad else "",
        "device": view.device,
        "grad_fn": view.grad_fn or "",
    }
    predict_marks = predicted_marks or {}
    cells = []
    for key, _label in COLUMNS:
        marks = []
        if key == "accumulated" and warning:
            marks.append("warning")
        column_changed = "grad" if key == "accumulated" else key
        if column_changed in changed and plain[key]:
            marks.append("changed")  # last, so it wins over the warning's colour
        predicted = predict_marks.get(key)
        if predicted == "?":
            cells.append(("?", "asked"))
            continue
        if predicted is not None:
            cells.append((plain[key] + PREDICT_SUFFIX.get(predicted, ""), " ".join([*marks, predicted])))
            continue
        cells.append((plain[key], " ".join(marks)))
    return tuple(cells)


@dataclass(frozen=True, slots=True)
class _Row:
    name: str
    view: TensorView | None
    before: TensorView | None
    fresh: bool
    cells: tuple[Cell, ...]
    marks: tuple[tuple[str, str], ...] = ()


class TensorTable(CachedStyles, ScrollView, can_focus=True):
    """Named tensors at the current step; click a row, or ↑/↓ and Enter, to select one."""

    BINDINGS = [
        Binding("up", "cursor(-1)", "Up", show=False),
        Binding("down", "cursor(1)", "Down", show=False),
        Binding("pageup", "cursor(-10)", "Page up", show=False),
        Binding("pagedown", "cursor(10)", "Page down", show=False),
        Binding("enter", "cursor(0)", "Select", show=False),
    ]
    COMPONENT_CLASSES = {
        "tensor-table--header",
        "tensor-table--odd",
        "tensor-table--cursor",
        "tensor-table--changed",
        "tensor-table--warning",
        "tensor-table--more",
        "tensor-table--asked",
        "tensor-table--right",
        "tensor-table--wrong",
        "tensor-table--skipped",
    }

    class TensorSelected(Message):
        """The learner picked a tensor (click, Enter, or moving the cursor)."""

        def __init__(self, name: str) -> None:
            super().__init__()
            self.name = name

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._rows: list[_Row] = []
        self._strips: dict[int, tuple[Strip, Style]] = {}
        self._widths = [cell_len(label) for _key, label in COLUMNS]
        self._shown: list[tuple[int, int]] = list(enumerate(self._widths))  # fit_columns' answer
        self._room = MIN_ROOM  # rows the table has room for (only grows)
        self.selected: str | None = None
        self.cursor_row = -1

    def on_mount(self) -> None:
        self._update_virtual_size()

    def on_resize(self) -> None:
        self._update_virtual_size()
        self._strips.clear()

    # -- what the app calls -------------------------------------------------------------

    def reserve(self, rows: int) -> None:
        """Make room for `rows` tensors (capped by the CSS max-height); never shrinks."""
        rows = min(max(rows, 1), MAX_ROWS + 1)
        if rows > self._room:
            self._room = rows
            self.styles.height = rows + HEADER_ROWS + BORDER_ROWS
            self._update_virtual_size()

    def show(
        self,
        step: Step | None,
        previous: Step | None,
        selected: str | None,
        marks: Mapping[tuple[str, str], str] | None = None,
    ) -> None:
        """Show a step's tensors, repainting only the rows that differ from what is on screen.

        `marks` are predict mode's, by (tensor, column): "?" hides the cell.
        """
        tensors = step.tensors if step is not None else {}
        fresh = previous is None  # the very first step has nothing before it: nothing "changed"
        before = previous.tensors if previous is not None else {}
        old_rows = self._rows
        rows: list[_Row] = []
        repaint: list[int] = []
        for index, name in enumerate(tensors):
            if index == MAX_ROWS:
                more = _Row("", None, None, True, ((f"… {len(tensors) - MAX_ROWS} more", "more"),))
                rows.append(more)
                if index >= len(old_rows) or old_rows[index].cells != more.cells:
                    repaint.append(index)
                break
            view = tensors[name]
            prior = None if fresh else before.get(name)
            row_marks = tuple((column, mark) for (tensor, column), mark in (marks or {}).items() if tensor == name)
            old = old_rows[index] if index < len(old_rows) else None
            if (
                old is not None
                and old.name == name
                and old.view is view
                and old.before is prior
                and old.fresh == fresh
                and old.marks == row_marks
            ):
                rows.append(old)
                continue
            row = _Row(name, view, prior, fresh, row_cells(name, view, prior, fresh, dict(row_marks)), row_marks)
            rows.append(row)
            if old is None or old.cells != row.cells:
                repaint.append(index)
        repaint.extend(range(len(rows), len(old_rows)))  # rows that went away become blank
        self._rows = rows
        self.reserve(len(rows))
        if self._grow_widths(rows[index] for index in repaint if index < len(rows)):
            self._strips.clear()
            self.refresh()
        else:
            for index in repaint:
                self._strips.pop(index, None)
                self.refresh_line(index + HEADER_ROWS)
        self._set_selected(selected)

    # -- selection ----------------------------------------------------------------------

    def _index_of(self, name: str | None) -> int:
        for index, row in enumerate(self._rows):
            if row.name == name and row.view is not None:
                return index
        return -1

    def _set_selected(self, name: str | None) -> None:
        self.selected = name
        index = self._index_of(name)
        if index != self.cursor_row:
            for row in (self.cursor_row, index):
                if row >= 0:
                    self._strips.pop(row, None)
                    self.refresh_line(row + HEADER_ROWS)
            self.cursor_row = index
        if index >= 0:
            self._bring_into_view(index)

    def _bring_into_view(self, index: int) -> None:
        top = int(self.scroll_offset.y)
        height = max(self.scrollable_content_region.height - HEADER_ROWS, 1)
        if not top <= index < top + height:
            self.scroll_to(y=max(index - height + 1, 0) if index >= top else index, animate=False, immediate=True)

    def _pick(self, index: int) -> None:
        if 0 <= index < len(self._rows) and self._rows[index].view is not None:
            name = self._rows[index].name
            self._set_selected(name)
            self.post_message(self.TensorSelected(name))

    def action_cursor(self, delta: int) -> None:
        """Move the selection up or down (0: select the row under the cursor)."""
        if not self._rows:
            return
        current = max(self.cursor_row, 0)
        last = len(self._rows) - 1 - (self._rows[-1].view is None)
        self._pick(max(0, min(current + delta, last)))

    def on_click(self, event: events.Click) -> None:
        """A click on a row selects its tensor."""
        offset = event.get_content_offset(self)
        if offset is None or offset.y < HEADER_ROWS:
            return
        event.stop()
        self._pick(int(self.scroll_offset.y) + offset.y - HEADER_ROWS)

    # -- drawing ------------------------------------------------------------------------

    def _grow_widths(self, rows) -> bool:
        grew = False
        for row in rows:
            if row.view is None:
                continue
            for position, (text, _marks) in enumerate(row.cells):
                key = COLUMNS[position][0]
                width = min(cell_len(text), MAX_WIDTHS.get(key, MAX_WIDTH))
                if width > self._widths[position]:
                    self._widths[position] = width
                    grew = True
        if grew:
            self._update_virtual_size()
        return grew

    def _update_virtual_size(self) -> None:
        # As wide as the view: columns that do not fit are left out, never scrolled to.
        width = self.scrollable_content_region.width
        self._shown = fit_columns(self._widths, width) if width > 0 else list(enumerate(self._widths))
        size = Size(width, self._room + HEADER_ROWS)
        if size != self.virtual_size:
            self.virtual_size = size

    def notify_style_update(self) -> None:
        super().notify_style_update()
        self._strips.clear()

    def _cells_strip(self, cells: tuple[Cell, ...], row_style: Style) -> Strip:
        segments = []
        if len(cells) == 1:  # the "… N more" row spans the table
            shown = [(0, sum(width + PADDING for _position, width in self._shown) - PADDING)]
        else:
            shown = self._shown
        for position, width in shown:
            text, marks = cells[position]
            if cell_len(text) > width:
                text = set_cell_size(text, max(width - 1, 0)) + "…"
            style = row_style
            for mark in marks.split():
                style = style + self.component_style(f"tensor-table--{mark}")
            segments.append(Segment(" ", row_style))
            segments.append(Segment(set_cell_size(text, width), style))
            segments.append(Segment(" ", row_style))
        return Strip(segments)

    def _row_strip(self, index: int) -> tuple[Strip, Style]:
        """The row's cells and the style that fills the rest of its line."""
        cached = self._strips.get(index)
        if cached is None:
            style = self.base_style
            if index >= len(self._rows):
                cached = (Strip([]), style)
            else:
                if index % 2:
                    style = style + self.component_style("tensor-table--odd")
                if index == self.cursor_row:
                    style = style + self.component_style("tensor-table--cursor")
                cached = (self._cells_strip(self._rows[index].cells, style), style)
            self._strips[index] = cached
        return cached

    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        left = 0  # never scrolled sideways: fit_columns chose what fits
        base = self.base_style
        if y < HEADER_ROWS:
            header = self.component_style("tensor-table--header")
            strip = self._cells_strip(tuple((label, "") for _key, label in COLUMNS), base + header)
            return strip.crop_extend(left, left + width, base + header)
        strip, style = self._row_strip(int(self.scroll_offset.y) + y - HEADER_ROWS)
        return strip.crop_extend(left, left + width, style)
