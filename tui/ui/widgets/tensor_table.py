"""A row per named tensor; cells that changed since the previous step are highlighted."""

from __future__ import annotations

from rich.text import Text
from textual.message import Message
from textual.widgets import DataTable

from tui.engine.model import Step, TensorView
from tui.formatting import grad_text, shape_text, value_text
from tui.ui.state import changed_fields

# Big models have thousands of named tensors; the table shows the first ones.
MAX_ROWS = 200
COLUMNS = (
    ("name", "name"),
    ("shape", "shape"),
    ("value", "value"),
    ("grad", ".grad"),
    ("accumulated", "backwards"),
    ("requires_grad", "req_grad"),
    ("device", "device"),
    ("grad_fn", "grad_fn"),
)
CHANGED_STYLE = "bold black on #d7af00"
WARNING_STYLE = "bold #ff5f5f"
MORE_ROW = "\0more"


def accumulated_text(view: TensorView) -> Text:
    """How many backward passes added into .grad since its last reset; a warning past one."""
    if not view.has_grad or view.accumulated <= 0:
        return Text("")
    if view.accumulated > 1:
        return Text(f"{view.accumulated}× ⚠", style=WARNING_STYLE)
    return Text(f"{view.accumulated}×")


def row_cells(name: str, view: TensorView, before: TensorView | None, fresh: bool) -> tuple[Text, ...]:
    """The cells of one tensor's row, the changed ones styled."""
    changed = frozenset() if fresh else changed_fields(view, before)
    plain = {
        "name": name,
        "shape": shape_text(view.shape),
        "value": value_text(view),
        "grad": grad_text(view),
        "requires_grad": "✓" if view.requires_grad else "",
        "device": view.device,
        "grad_fn": view.grad_fn or "",
    }
    cells = []
    for key, _label in COLUMNS:
        if key == "accumulated":
            cell = accumulated_text(view)
            if "grad" in changed and cell.plain:
                cell.stylize(CHANGED_STYLE)
            cells.append(cell)
            continue
        cells.append(Text(plain[key], style=CHANGED_STYLE if key in changed else ""))
    return tuple(cells)


def _cell_key(cell: Text) -> tuple[object, ...]:
    # Text's own == ignores its base style, which is how a changed cell is marked.
    return (cell.plain, str(cell.style), tuple(cell.spans))


class TensorTable(DataTable):
    """Named tensors at the current step; click or move to a row to select it."""

    class TensorSelected(Message):
        """The learner picked a tensor (click, Enter, or moving the cursor)."""

        def __init__(self, name: str) -> None:
            super().__init__()
            self.name = name

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id, cursor_type="row", zebra_stripes=True)
        self._names: tuple[str, ...] = ()
        self._cells: dict[str, tuple[Text, ...]] = {}
        self.selected: str | None = None

    def on_mount(self) -> None:
        for key, label in COLUMNS:
            self.add_column(label, key=key)

    def show(self, step: Step | None, previous: Step | None, selected: str | None) -> None:
        """Show a step's tensors, redrawing only the cells that differ from what is on screen."""
        self.selected = selected
        tensors = step.tensors if step is not None else {}
        names = tuple(list(tensors)[:MAX_ROWS])
        # The very first step has nothing before it: nothing is "changed" yet.
        fresh = previous is None
        before = previous.tensors if previous is not None else {}
        rows = {name: row_cells(name, tensors[name], before.get(name), fresh) for name in names}
        if names != self._names:
            self.clear()
            for name in names:
                self.add_row(*rows[name], key=name)
            if len(tensors) > MAX_ROWS:
                self.add_row(Text(f"… {len(tensors) - MAX_ROWS} more"), *([""] * (len(COLUMNS) - 1)), key=MORE_ROW)
            self._names = names
        else:
            for name in names:
                old = self._cells.get(name, ())
                for position, (key, _label) in enumerate(COLUMNS):
                    cell = rows[name][position]
                    if position >= len(old) or _cell_key(old[position]) != _cell_key(cell):
                        self.update_cell(name, key, cell, update_width=True)
        self._cells = rows
        if selected in rows:
            index = self.get_row_index(selected)
            if self.cursor_row != index:
                self.move_cursor(row=index, animate=False)

    def _pick_cursor_row(self) -> None:
        # Read the cursor as it is now, not as the event saw it: show() moves the
        # cursor back to the selection, and those moves must not count as a pick.
        if not 0 <= self.cursor_row < self.row_count:
            return
        name = self.coordinate_to_cell_key((self.cursor_row, 0)).row_key.value
        if name and name != MORE_ROW and name != self.selected:
            self.selected = name
            self.post_message(self.TensorSelected(name))

    def on_data_table_row_highlighted(self, event: DataTable.RowHighlighted) -> None:
        event.stop()
        self._pick_cursor_row()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self._pick_cursor_row()
