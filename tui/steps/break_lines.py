"""Which lines of a script can hold a breakpoint: those where a statement starts.

The one rule for `--break LINE`: a breakpoint on a blank line, a comment, a line past the
end or the inside of a statement would never stop the script (a breaks-only run compiles
breakpoints in before statements), so it is refused with a line that names it.
"""

from __future__ import annotations

import ast
from typing import Iterable

from tui.errors import BadInput


def statement_lines(source: str) -> dict[int, int]:
    """line -> the line its statement starts on, for every line a statement spans."""
    try:
        tree = ast.parse(source)
    except (SyntaxError, ValueError):  # the compile step says why, in its own words
        return {}
    owner: dict[int, int] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.stmt):
            first = node.lineno
            # A compound statement's header only: its body's statements own their own lines.
            body = getattr(node, "body", None)
            if isinstance(body, list) and body and isinstance(body[0], ast.stmt):
                last = body[0].lineno - 1
            else:
                last = node.end_lineno or first
            for line in range(first, max(first, last) + 1):
                owner.setdefault(line, first)
            owner[first] = first
    return owner


def break_line_problem(source: str, line: int) -> str | None:
    """Why `--break line` can never stop the script, or None when it can."""
    lines = source.splitlines()
    if line < 1 or line > len(lines):
        return f"--break {line}: the script has lines 1 to {len(lines)}"
    owners = statement_lines(source)
    if not owners:
        return None  # a script that does not compile: its SyntaxError comes first
    owner = owners.get(line)
    if owner == line:
        return None
    if owner is not None and lines[line - 1].strip() and not lines[line - 1].strip().startswith("#"):
        return f"--break {line}: line {line} is inside the statement that starts on line {owner}: break there"
    text = lines[line - 1].strip()
    what = "a comment" if text.startswith("#") else "blank" if not text else "not code on its own"
    return f"--break {line}: line {line} has no code ({what})"


def check_break_lines(source: str, breakpoints: Iterable[int]) -> None:
    """BadInput (exit 2) naming the first breakpoint that can never stop the script."""
    for line in sorted(set(breakpoints)):
        problem = break_line_problem(source, line)
        if problem is not None:
            raise BadInput(problem)
