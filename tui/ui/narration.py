"""The narrative cell that belongs to a line, for scripts in the percent format (lessons)."""

from __future__ import annotations

from tui.steps.cells import Cell, has_markdown_cells, narrative_at, parse_cells
from tui.steps.predict import predict_points
from tui.ui.widgets.source_view import Fold


class Narration:
    """Parses a script's cells once and answers `at(line)` from a cache."""

    def __init__(self, source: str) -> None:
        self.cells: tuple[Cell, ...] = ()
        self._cache: dict[int | None, str | None] = {}
        if not has_markdown_cells(source):  # `# %% [markdown]` or `# %% [md]`, as the lesson index reads them
            return
        try:
            self.cells = tuple(parse_cells(source))
        except Exception:  # a malformed lesson still steps; it just has no narrative
            self.cells = ()

    @property
    def available(self) -> bool:
        """True when the script has at least one markdown cell."""
        return any(cell.kind == "markdown" for cell in self.cells)

    def predict_points(self) -> dict[int, tuple[str, ...]]:
        """Line -> what a `# %% [predict] ...` marker asks for after it (tui.steps.predict)."""
        return predict_points(self.cells)

    def folds(self) -> tuple[Fold, ...]:
        """Each markdown cell as one source row: its lines and its first line of text."""
        folds = []
        for cell in self.cells:
            if cell.kind != "markdown":
                continue
            first = next((line.strip() for line in cell.text.splitlines() if line.strip()), "")
            label = first.lstrip("#").strip() or "narrative"
            folds.append(Fold(cell.start_line, cell.end_line, f"{label} · in the narrative pane"))
        return tuple(folds)

    def at(self, line: int | None) -> str | None:
        """Markdown for the cell around `line`, or None."""
        if not self.available or line is None:
            return None
        if line not in self._cache:
            try:
                self._cache[line] = narrative_at(self.cells, line)
            except Exception:  # narrative is an aid; never let it break stepping
                self._cache[line] = None
        return self._cache[line]
