"""`gradstep lessons [--json]`: list the course's lessons."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from tui.errors import BadInput
from tui.lessons import lessons_dir, list_lessons


def main(args: argparse.Namespace) -> int:
    """Print the lessons as a Rich table, or as a JSON list of {id, title, summary, path, predict}.

    `predict` lists the lesson's prediction points: `{"line": N, "ask": ["var_1.grad", ...]}`,
    from `# %% [predict] var_1.grad ...` cells (asked after line N runs, in predict mode).
    """
    lessons = list_lessons()
    if not lessons:
        raise BadInput(f"no lessons found in {lessons_dir()} (is gradstep installed in full?)")
    if getattr(args, "json", False):
        entries = [
            {
                "id": lesson.id,
                "title": lesson.title,
                "summary": lesson.summary,
                "path": str(lesson.path),
                "predict": [{"line": line, "ask": list(ask)} for line, ask in lesson.predict],
            }
            for lesson in lessons
        ]
        print(json.dumps(entries, indent=2, ensure_ascii=False))
        return 0

    # Rich is imported here, not at module level, so that `--json` stays as light as possible.
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    table = Table(title="gradstep lessons", title_justify="left", expand=False)
    table.add_column("id", style="bold cyan", no_wrap=True)
    table.add_column("title", style="bold")
    table.add_column("summary")
    for lesson in lessons:
        # Text, not markup: summaries hold brackets such as [a, b, c] that Rich would eat.
        table.add_row(Text(lesson.id), Text(lesson.title), Text(lesson.summary))
    console = Console()
    console.print(table)
    console.print("Open one with [bold]gradstep lesson 03[/] (the number alone is enough).")
    return 0


def copy_lesson(script: Path, folder: Path) -> Path:
    """`gradstep lesson ID --copy DIR`: the lesson's script copied into DIR, never over an existing file."""
    import shutil

    target = folder / script.name
    if target.exists():
        raise BadInput(f"{target} already exists: choose another folder, or delete it first")
    try:
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(script, target)
    except OSError as error:
        raise BadInput(f"cannot copy the lesson to {folder}: {error.strerror or error}") from None
    return target
