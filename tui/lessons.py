"""The course: lesson files in the percent format (`# %%` cells), found, parsed and named.

A lesson is a plain Python script split into cells by `# %%` lines, as Jupytext and
VS Code write them. `# %% [markdown]` cells hold the narrative as `# `-prefixed
markdown; the first one starts with the lesson's `# Title` and a one-line summary.
Nothing here imports torch: the picker and `gradstep lessons` only read text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import tui
from tui.errors import BadInput

# `# %%`, optionally followed by a title and/or a `[cell type]`, as Jupytext writes it.
_CELL_MARKER = re.compile(r"^# %%(?:\s+.*)?$")
_MARKDOWN_TYPE = re.compile(r"\[\s*(markdown|md)\s*\]")
_LESSON_FILE = re.compile(r"^(\d+)-[\w-]+\.py$")


@dataclass(frozen=True)
class Cell:
    """One cell of a lesson: its kind, its lines (1-based, inclusive; the marker line included) and text.

    A markdown cell's text has its `# ` prefixes removed; a code cell's text is the
    code as written, without the marker line.
    """

    kind: str  # "code" | "markdown"
    start_line: int
    end_line: int
    text: str


@dataclass(frozen=True)
class Lesson:
    """A lesson file: its id (the file name without .py), title, one-line summary and path."""

    id: str
    title: str
    summary: str
    path: Path

    @property
    def number(self) -> int:
        return int(self.id.split("-", 1)[0])


def lessons_dir() -> Path:
    """Where the lessons are: inside the installed wheel, else the repository's lessons/ folder."""
    package = Path(tui.__file__).parent
    installed = package / "_lessons"  # pyproject force-includes lessons/ here in the wheel
    if installed.is_dir():
        return installed
    return package.parent / "lessons"  # an editable install or a checkout


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
    return Cell(kind=kind, start_line=start_line, end_line=start_line + len(lines) - 1, text=text)


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


def _title_and_summary(cells: Sequence[Cell]) -> tuple[str | None, str]:
    """The first markdown cell's `# Title` and the first line of its first paragraph."""
    for cell in cells:
        if cell.kind != "markdown":
            continue
        title: str | None = None
        summary = ""
        for text in cell.text.splitlines():
            stripped = text.strip()
            if title is None and stripped.startswith("# "):
                title = stripped[2:].strip()
            elif stripped and not stripped.startswith("#"):
                summary = stripped
                break
        return title, summary
    return None, ""


def read_lesson(path: Path) -> Lesson:
    """A Lesson from its file; a file without a title is named after its id."""
    cells = parse_cells(path.read_text(encoding="utf-8"))
    title, summary = _title_and_summary(cells)
    return Lesson(id=path.stem, title=title or path.stem, summary=summary, path=path)


def list_lessons() -> list[Lesson]:
    """Every lesson, in course order."""
    folder = lessons_dir()
    if not folder.is_dir():
        return []
    paths = [path for path in folder.iterdir() if _LESSON_FILE.match(path.name)]
    paths.sort(key=lambda path: (int(_LESSON_FILE.match(path.name).group(1)), path.name))
    return [read_lesson(path) for path in paths]


def find_lesson(id_or_prefix: str) -> Lesson:
    """The lesson with this id, number (`03`, `3`) or unique id prefix; BadInput names the ids otherwise."""
    wanted = id_or_prefix.strip().removesuffix(".py")
    lessons = list_lessons()
    for lesson in lessons:
        if lesson.id == wanted:
            return lesson
    if wanted.isdigit():
        matches = [lesson for lesson in lessons if lesson.number == int(wanted)]
    else:
        matches = [lesson for lesson in lessons if wanted and lesson.id.startswith(wanted)]
    if len(matches) == 1:
        return matches[0]
    known = ", ".join(lesson.id for lesson in lessons) or f"none found in {lessons_dir()}"
    reason = "is ambiguous" if matches else "does not exist"
    raise BadInput(f"lesson {id_or_prefix!r} {reason}; the lessons are: {known}")
