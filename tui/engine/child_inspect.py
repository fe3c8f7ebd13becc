"""The engine child's side of evaluate, watches and conditions (tui.engine.child hands these over).

Standard library and tui.steps only at import: the child imports this before torch is loaded.
"""

from __future__ import annotations

import argparse
import threading
from typing import Any

from tui.steps.inspect import InspectOptions, InspectSpecError, parse_break, parse_break_on

INSPECT_COMMANDS = frozenset({"evaluate", "set_watches", "set_conditions", "set_break_on"})


def inspect_options(args: argparse.Namespace) -> InspectOptions:
    """The child's --watch / --break-if / --break-on options (the app checked them already)."""
    conditions = []
    for text in args.conditions:
        try:
            line, condition = parse_break(text)
        except InspectSpecError:
            continue
        if condition is not None:
            conditions.append((line, condition))
    rules = []
    for text in args.break_on:
        try:
            rules.append(parse_break_on(text))
        except InspectSpecError:
            continue
    return InspectOptions(tuple(args.watches), tuple(conditions), tuple(rules))


def _evaluate(session: Any, writer: Any, ident: Any, source: str) -> None:
    """On a thread of its own: the script's thread evaluates; the reader keeps taking commands."""
    try:
        evaluation = session.evaluate(source)
    except BaseException as error:  # noqa: BLE001 - the app shows the one line
        writer.send({"t": "reply", "id": ident, "error": str(error) or type(error).__name__,
                     "error_type": type(error).__name__})
        return
    writer.send({"t": "reply", "id": ident, "evaluation": evaluation.to_json()})


def serve_inspect(session: Any, writer: Any, command: dict[str, Any]) -> None:
    """One of INSPECT_COMMANDS from the app."""
    name = command["c"]
    if name == "evaluate":
        threading.Thread(
            target=_evaluate, args=(session, writer, command.get("id"), str(command.get("expr", ""))),
            name="gradstep-evaluate", daemon=True,
        ).start()
    elif name == "set_watches":
        session.set_watches(str(expr) for expr in command.get("exprs", ()))
    elif name == "set_break_on":
        rules = []
        for text in command.get("rules", ()):
            try:
                rules.append(parse_break_on(str(text)))
            except InspectSpecError:
                continue
        session.set_break_on(rules)
    elif name == "set_conditions":
        session.set_conditions((int(line), str(text)) for line, text in command.get("conditions", ()))
