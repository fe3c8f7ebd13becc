"""Jupyter notebooks in: `gradstep NOTEBOOK.ipynb` (and record, export) steps through a notebook's code.

nbformat reads the notebook; the cells become one percent-format script (the format
the lessons use), written to a temporary folder under the notebook's name:

- a code cell becomes a `# %% cell N` cell with its code;
- a markdown cell becomes a `# %% [markdown]` cell: the narrative the app shows;
- IPython-only lines (`%matplotlib inline`, `%%time`, `!pip install ...`) become
  `pass  # skipped ...` lines, with one notice each on stderr, so no line moves;
- a cell's last bare expression (a name, a tuple, an operation: not a call, which
  stays as written) is shown as its output, as a notebook would show it (its repr,
  nothing for None; a trailing `;` hides it).

Every cell keeps its lines in order under its own `# %%` line, so a line on
screen is in the cell the marker above it names.
"""

from __future__ import annotations

import ast
import sys
import tempfile
from pathlib import Path

from tui.errors import BadInput

SHOW = "(lambda value: None if value is None else print(repr(value)))(("


def _ipython_only(line: str) -> bool:
    stripped = line.lstrip()
    return stripped.startswith(("%", "!")) or stripped.startswith("?") or (stripped.endswith("?") and not stripped.startswith("#"))


def _code_lines(source: str, cell: int, notices: list[str]) -> list[str]:
    lines = source.splitlines()
    for position, line in enumerate(lines):
        if _ipython_only(line):
            indent = line[: len(line) - len(line.lstrip())]
            lines[position] = f"{indent}pass  # skipped (IPython only): {line.strip()}"
            notices.append(f"cell {cell}: skipped an IPython-only line: {line.strip()}")
    return _show_last_expression(lines)


def _show_last_expression(lines: list[str]) -> list[str]:
    """Wrap the cell's last statement in a print of its repr when it is a bare expression, as Jupyter shows it."""
    text = "\n".join(lines)
    try:
        tree = ast.parse(text)
    except SyntaxError:
        return lines  # the run will say where; keep the learner's lines as they are
    if not tree.body or not isinstance(tree.body[-1], ast.Expr):
        return lines
    last = tree.body[-1]
    start, end = last.lineno - 1, (last.end_lineno or last.lineno) - 1
    end_col = last.end_col_offset if last.end_col_offset is not None else len(lines[end])
    if lines[end][end_col:].lstrip().startswith(";"):
        return lines  # `expr;` hides the output in a notebook
    if isinstance(last.value, ast.Call):
        # A call stays as written: gradstep knows `loss.backward()`, `opt.step()` and `zero_grad()` by
        # their lines (these return None, which a notebook does not show either).
        return lines
    result = list(lines)
    result[end] = result[end][:end_col] + "))" + result[end][end_col:]
    result[start] = result[start][: last.col_offset] + SHOW + result[start][last.col_offset :]
    return result


def notebook_script(path: Path) -> tuple[str, list[str]]:
    """The notebook as a percent-format script, and the notices about what was skipped."""
    try:
        import nbformat  # deferred: only notebooks need it
    except ImportError:
        raise BadInput("opening a notebook needs nbformat (pip install nbformat)") from None
    try:
        notebook = nbformat.read(str(path), as_version=4)
    except Exception as error:  # noqa: BLE001 - a broken notebook is bad input, said in one line
        raise BadInput(f"cannot read the notebook {path}: {type(error).__name__}: {str(error).splitlines()[0] if str(error) else ''}") from None
    notices: list[str] = []
    out: list[str] = [f"# {path.name}, converted by gradstep: each `# %% cell N` is the notebook's cell N"]
    for number, cell in enumerate(notebook.cells, start=1):
        source = cell.get("source", "")
        if cell.get("cell_type") == "markdown":
            out.append(f"# %% [markdown] cell {number}")
            out.extend(f"# {line}".rstrip() for line in source.splitlines())
        elif cell.get("cell_type") == "code":
            out.append(f"# %% cell {number}")
            out.extend(_code_lines(source, number, notices))
        out.append("")
    return "\n".join(out) + "\n", notices


def script_for(path: Path) -> Path:
    """Convert the notebook to a script in a temporary folder (NAME.py); print the notices on stderr."""
    text, notices = notebook_script(path)
    for notice in notices:
        print(f"note: {notice}", file=sys.stderr)
    folder = Path(tempfile.mkdtemp(prefix="gradstep-notebook-"))
    script = folder / f"{path.stem}.py"
    script.write_text(text, encoding="utf-8")
    return script


def maybe_notebook(path: Path) -> Path:
    """A notebook's script, or the path itself when it is not a notebook."""
    if path.suffix.lower() == ".ipynb":
        if not path.is_file():
            raise BadInput(f"no such notebook: {path}")
        return script_for(path)
    return path
