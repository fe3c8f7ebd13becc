"""`--break LINE[:CONDITION]`, `--watch EXPR` and `--break-on RULE`: checked once, before any run starts."""

from __future__ import annotations

import argparse

from tui.errors import BadInput
from tui.steps.inspect import InspectOptions, InspectSpecError, check_expression, parse_break, parse_break_on


def add_inspect_options(parser: argparse.ArgumentParser) -> None:
    """The options of run, lesson and record (the --break option itself is the run options')."""
    parser.add_argument(
        "--watch", dest="watches", action="append", default=[], metavar="EXPR",
        help="evaluate EXPR at every step and keep its value in the steps (repeatable)",
    )
    parser.add_argument(
        "--break-on", dest="break_on", action="append", default=[], metavar="RULE",
        help="stop on what autograd does: grad:NAME, node:CLASS, nan, grad-norm>K (repeatable)",
    )


def resolve_inspect(args: argparse.Namespace) -> None:
    """Split `--break 11:loss<1` into the line (args.breakpoints) and its condition (args.inspect)."""
    if not hasattr(args, "breakpoints"):
        return
    lines: list[int] = []
    conditions: list[tuple[int, str]] = []
    try:
        for text in args.breakpoints:
            line, condition = parse_break(str(text))
            lines.append(line)
            if condition is not None:
                conditions.append((line, condition))
        for watch in getattr(args, "watches", ()):
            check_expression(watch, f"--watch {watch!r}")
        rules = tuple(parse_break_on(text) for text in getattr(args, "break_on", ()))
    except InspectSpecError as error:
        raise BadInput(str(error)) from None
    args.breakpoints = lines
    args.inspect = InspectOptions(tuple(getattr(args, "watches", ())), tuple(conditions), rules)
