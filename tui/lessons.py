"""The course: lesson files in the percent format (`# %%` cells), found, parsed and named.

A lesson is a plain Python script split into cells by `# %%` lines, as Jupytext and
VS Code write them. `# %% [markdown]` cells hold the narrative as `# `-prefixed
markdown; the first one starts with the lesson's `# Title` and a one-line summary.
`# %% [predict] var_1.grad var_2.grad` opens a code cell whose first line is a
prediction point: in predict mode the app asks for those values after that line ran.
Nothing here imports torch: the picker and `gradstep lessons` only read text.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import tui
from tui.errors import BadInput
from tui.steps.cells import Cell, narrative_at, parse_cells  # noqa: F401  (narrative_at: part of the lesson API)
from tui.steps.predict import predict_points

_LESSON_FILE = re.compile(r"^(\d+)-[\w-]+\.py$")


@dataclass(frozen=True)
class Lesson:
    """A lesson file: its id (the file name without .py), title, one-line summary, path and prediction points."""

    id: str
    title: str
    summary: str
    path: Path
    # (line, what to ask for after it) for each `# %% [predict] ...` cell (tui.steps.predict).
    predict: tuple[tuple[int, tuple[str, ...]], ...] = ()

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
    points = tuple(sorted(predict_points(cells).items()))
    return Lesson(id=path.stem, title=title or path.stem, summary=summary, path=path, predict=points)


def list_lessons() -> list[Lesson]:
    """Every lesson, in course order."""
    folder = lessons_dir()
    if not folder.is_dir():
        return []
    numbered = [(int(match.group(1)), path) for path in folder.iterdir() if (match := _LESSON_FILE.match(path.name))]
    numbered.sort(key=lambda item: (item[0], item[1].name))
    return [read_lesson(path) for _, path in numbered]


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
