"""The narrative cell that belongs to a line, for scripts in the percent format (lessons)."""

from __future__ import annotations

from typing import Any

from tui.ui.widgets.source_view import Fold

MARKDOWN_MARKER = "# %% [markdown]"


class Narration:
    """Parses a script's cells once and answers `at(line)` from a cache."""

    def __init__(self, source: str) -> None:
        self.cells: tuple[Any, ...] = ()
        self._narrative_at = None
        self._cache: dict[int | None, str | None] = {}
        if MARKDOWN_MARKER not in source:
            return
        try:
            from tui.lessons import narrative_at, parse_cells
        except ImportError:  # lessons support not installed: the debugger works without it
            return
        try:
            self.cells = tuple(parse_cells(source))
        except Exception:  # a malformed lesson still steps; it just has no narrative
            self.cells = ()
        self._narrative_at = narrative_at

    @property
    def available(self) -> bool:
        """True when the script has at least one markdown cell."""
        return any(getattr(cell, "kind", None) == "markdown" for cell in self.cells)

    def folds(self) -> tuple[Fold, ...]:
        """Each markdown cell as one source row: its lines and its first line of text."""
        folds = []
        for cell in self.cells:
            if getattr(cell, "kind", None) != "markdown":
                continue
            first = next((line.strip() for line in cell.text.splitlines() if line.strip()), "")
            label = first.lstrip("#").strip() or "narrative"
            folds.append(Fold(cell.start_line, cell.end_line, f"{label} · in the narrative pane"))
        return tuple(folds)

    def at(self, line: int | None) -> str | None:
        """Markdown for the cell around `line`, or None."""
        if not self.available or self._narrative_at is None or line is None:
            return None
        if line not in self._cache:
            try:
                self._cache[line] = self._narrative_at(self.cells, line)
            except Exception:  # narrative is an aid; never let it break stepping
                self._cache[line] = None
        return self._cache[line]
