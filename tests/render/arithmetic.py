"""Evaluate a displayed arithmetic line back into numbers, to check it against what torch computed."""

from __future__ import annotations

import math
import re

_NAMED = re.compile(r"[A-Za-z_][\w.]* \((-?[\d.e+-]+)\)")  # `var_2 (4)` -> 4
_LIST = re.compile(r"\[([^\[\]]*)\]")


def element(expression: str, index: int) -> str:
    """The expression with every 1-D list `[a, b, c]` replaced by its index-th element."""
    return _LIST.sub(lambda match: "(" + match.group(1).split(", ")[index] + ")", expression)


def evaluate(expression: str) -> float | None:
    """The value of a line's numbers (None when it still names something: a symbolic line)."""
    text = _NAMED.sub(r"(\1)", expression)
    text = re.sub(r"√\(?(-?[\d.e+-]+)\)?", r"math.sqrt(\1)", text)
    text = text.replace("×", "*").replace("²", "**2").replace("³", "**3").replace("^", "**").replace("max(", "max(")
    if re.search(r"[A-Za-z_]", text.replace("math.sqrt", "").replace("max", "").replace("e-", "").replace("e+", "")):
        return None
    return float(eval(text, {"math": math, "max": max}))  # only digits and operators are left


def width(expression: str) -> int:
    """How many elements the lists of a line hold (1 for a line of numbers)."""
    match = _LIST.search(expression)
    return 1 if match is None else len(match.group(1).split(", "))
