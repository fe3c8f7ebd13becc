"""Percent-format cells (`# %%` lines, as Jupytext and VS Code write them): the one parser.

`# %% [markdown]` (or `[md]`) cells hold narrative as `# `-prefixed markdown. The lesson
index (tui.lessons) and the app's narrative pane both read cells through here.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

# `# %%`, optionally followed by a title and/or a `[cell type]`, as Jupytext writes it.
_CELL_MARKER = re.compile(r"^# %%(?:\s+.*)?$")
_MARKDOWN_TYPE = re.compile(r"\[\s*(markdown|md)\s*\]")
# `# %% [predict] var_1.grad var_2.grad`: a code cell whose first line's result the learner predicts.
_PREDICT_TYPE = re.compile(r"\[\s*predict\s*\](.*)$")


@dataclass(frozen=True)
class Cell:
    """One cell of a lesson: its kind, its lines (1-based, inclusive; the marker line included) and text.

    A markdown cell's text has its `# ` prefixes removed; a code cell's text is the
    code as written, without the marker line. `predict` names what a `[predict]`
    marker asks for after the cell's first line (tui.steps.predict reads it);
    `body_lines` are the cell's lines after its marker, as written.
    """

    kind: str  # "code" | "markdown"
    start_line: int
    end_line: int
    text: str
    predict: tuple[str, ...] = ()
    body_lines: tuple[str, ...] = field(default=(), compare=False, repr=False)


def _uncomment(line: str) -> str:
    """A markdown line without its comment prefix: `# text` -> `text`, `#` -> ``."""
    stripped = line.rstrip()
    if stripped.startswith("# "):
        return stripped[2:]
    if stripped.startswith("#"):
        return stripped[1:]
    return stripped


def _strip_blank_edges(lines: list[str]) -> list[str]:
    start, end = 0, len(lines)
    while start < end and not lines[start].strip():
        start += 1
    while end > start and not lines[end - 1].strip():
        end -= 1
    return lines[start:end]


def _make_cell(kind: str, start_line: int, lines: list[str], has_marker: bool) -> Cell:
    body = lines[1:] if has_marker else lines
    if kind == "markdown":
        body = [_uncomment(line) for line in body]
    text = "\n".join(_strip_blank_edges(body))
    predict: tuple[str, ...] = ()
    marked = _PREDICT_TYPE.search(lines[0]) if has_marker and kind == "code" else None
    if marked is not None:
        predict = tuple(item for item in re.split(r"[\s,]+", marked.group(1).strip()) if item)
    raw = tuple(lines[1:] if has_marker else lines)
    return Cell(kind=kind, start_line=start_line, end_line=start_line + len(lines) - 1, text=text, predict=predict, body_lines=raw)


def parse_cells(source: str) -> tuple[Cell, ...]:
    """Split a percent-format script into cells; lines before the first marker form a code cell."""
    lines = source.splitlines()
    cells: list[Cell] = []
    current: list[str] = []
    current_start = 1
    current_kind = "code"
    current_has_marker = False
    for number, line in enumerate(lines, start=1):
        if _CELL_MARKER.match(line.rstrip()):
            if current and (current_has_marker or any(text.strip() for text in current)):
                cells.append(_make_cell(current_kind, current_start, current, current_has_marker))
            current = [line]
            current_start = number
            current_kind = "markdown" if _MARKDOWN_TYPE.search(line) else "code"
            current_has_marker = True
        else:
            current.append(line)
    if current and (current_has_marker or any(text.strip() for text in current)):
        cells.append(_make_cell(current_kind, current_start, current, current_has_marker))
    return tuple(cells)


def narrative_at(cells: Sequence[Cell], line: int) -> str | None:
    """The markdown of the narrative cell that belongs to `line`: its own, or the nearest one above."""
    narrative: str | None = None
    for cell in cells:
        if cell.start_line > line:
            break
        if cell.kind == "markdown":
            narrative = cell.text
    return narrative


def has_markdown_cells(source: str) -> bool:
    """Whether any line of `source` opens a markdown cell (a cheap test before parsing)."""
    return any(_CELL_MARKER.match(line.rstrip()) and _MARKDOWN_TYPE.search(line) for line in source.splitlines())
