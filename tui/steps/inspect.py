"""What the learner asks of a paused script: evaluations, watches, conditional breakpoints, break-on rules.

Plain data (standard library only), shared by the engine that computes them, the recording that
keeps watches in its steps, the CLI that parses them and the app that shows them.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from typing import Any, Literal, Mapping, get_args

from tui.steps.model import TensorView

# A repr of a non-tensor result never grows past this many characters.
REPR_CHARS = 300

EvaluationKind = Literal["value", "tensor", "error", "assigned"]
EVALUATION_KINDS: tuple[EvaluationKind, ...] = get_args(EvaluationKind)


@dataclass(frozen=True, slots=True)
class Evaluation:
    """One expression evaluated in the paused script's frame.

    `kind`: `tensor` (`tensor` holds its view), `value` (`text` is a safe, bounded repr),
    `error` (`text` is one line: `NameError: name 'x' is not defined`) or `assigned` (a
    statement ran and may have changed the script's state).
    """

    expr: str
    kind: EvaluationKind
    text: str = ""
    tensor: TensorView | None = None

    def to_json(self) -> dict[str, Any]:
        return {
            "expr": self.expr,
            "kind": self.kind,
            "text": self.text,
            "tensor": None if self.tensor is None else self.tensor.to_json(),
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Evaluation:
        kind = str(data.get("kind", "value"))
        if kind not in EVALUATION_KINDS:
            raise ValueError(f"unknown evaluation kind {kind!r}")
        tensor = data.get("tensor")
        return cls(
            expr=str(data["expr"]),
            kind=kind,  # checked just above
            text=str(data.get("text", "")),
            tensor=None if tensor is None else TensorView.from_json(tensor),
        )


def error_line(error: BaseException) -> str:
    """`TypeError: ...` on one line, bounded."""
    try:
        message = str(error)
    except Exception:  # a broken __str__
        message = "<unprintable message>"
    text = f"{type(error).__name__}: {message}" if message else type(error).__name__
    line = " ".join(text.split())
    return line if len(line) <= REPR_CHARS else line[: REPR_CHARS - 1] + "…"


# -- conditional breakpoints and break-on rules --------------------------------------------------


class InspectSpecError(ValueError):
    """A --break / --break-on / --watch the learner wrote that cannot be used (one line, exit 2)."""


def parse_break(text: str) -> tuple[int, str | None]:
    """`11` → (11, None); `11:loss<1` → (11, "loss<1"). Raises InspectSpecError."""
    line_text, colon, condition = text.partition(":")
    try:
        line = int(line_text.strip())
    except ValueError:
        raise InspectSpecError(f"--break {text!r}: expected LINE or LINE:CONDITION (a line number first)") from None
    # Whether the line can stop (inside the script, code not a comment) is tui.steps.break_lines' one
    # check, which knows the script.
    if not colon:
        return line, None
    condition = condition.strip()
    if not condition:
        raise InspectSpecError(f"--break {text!r}: the condition after ':' is empty")
    check_expression(condition, f"--break {text!r}")
    return line, condition


def check_expression(expression: str, where: str) -> None:
    """InspectSpecError when `expression` is not a Python expression (compiled, never run)."""
    try:
        compile(expression, "<gradstep>", "eval", dont_inherit=True)
    except (SyntaxError, ValueError) as error:
        message = error.msg if isinstance(error, SyntaxError) else str(error)
        raise InspectSpecError(f"{where}: not a Python expression ({message})") from None


BreakOnKind = Literal["grad", "node", "nan", "grad-norm"]
BREAK_ON_KINDS: tuple[BreakOnKind, ...] = get_args(BreakOnKind)
BREAK_ON_HELP = "grad:NAME, node:CLASS (node:MulBackward0), nan, or grad-norm>K"
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")


@dataclass(frozen=True, slots=True)
class BreakOn:
    """A rule that stops the run on what autograd does (see BREAK_ON_HELP)."""

    kind: BreakOnKind
    name: str | None = None
    limit: float | None = None

    @property
    def text(self) -> str:
        if self.kind == "nan":
            return "nan"
        if self.kind == "grad-norm":
            return f"grad-norm>{self.limit:g}"
        return f"{self.kind}:{self.name}"


def parse_break_on(text: str) -> BreakOn:
    """`grad:var_1`, `node:MulBackward0`, `nan`, `grad-norm>10`. Raises InspectSpecError."""
    spec = text.strip()
    if spec.lower() in ("nan", "inf", "nan/inf"):
        return BreakOn("nan")
    if spec.startswith("grad-norm>"):
        try:
            limit = float(spec.removeprefix("grad-norm>"))
        except ValueError:
            limit = math.nan
        if not math.isfinite(limit) or limit < 0:
            raise InspectSpecError(f"--break-on {text!r}: grad-norm>K needs a number K >= 0")
        return BreakOn("grad-norm", limit=limit)
    kind, colon, name = spec.partition(":")
    if colon and kind in ("grad", "node") and _NAME.match(name.strip()):
        return BreakOn(kind, name=name.strip())  # type: ignore[arg-type]  # one of the two just checked
    raise InspectSpecError(f"--break-on {text!r}: expected {BREAK_ON_HELP}")


@dataclass(frozen=True, slots=True)
class InspectOptions:
    """What a run is asked to watch and where it stops, fixed at its start (the app may change them live)."""

    watches: tuple[str, ...] = ()
    conditions: tuple[tuple[int, str], ...] = ()
    break_on: tuple[BreakOn, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.watches or self.conditions or self.break_on)

    def to_args(self) -> list[str]:
        """The engine child's command-line options for these."""
        arguments: list[str] = []
        for watch in self.watches:
            arguments += ["--watch", watch]
        for line, condition in self.conditions:
            arguments += ["--break-if", f"{line}:{condition}"]
        for rule in self.break_on:
            arguments += ["--break-on", rule.text]
        return arguments
