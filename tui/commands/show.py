"""`gradstep show FILE [--step N | --last | --timeline] [--json]`: print a recording, never run it."""

from __future__ import annotations

import argparse
import json
import sys

from tui.errors import BadInput
from tui.render.events import step_event_lines
from tui.render.formatting import grad_text, shape_text, value_text
from tui.render.showjson import output_until, state_json, timeline_json
from tui.steps.model import Step
from tui.steps.recording import Recording, load_recording


def _pick(recording: Recording, step: int | None) -> int:
    count = len(recording.steps)
    if count == 0:
        raise BadInput("the recording holds no steps")
    if step is None:
        return count - 1
    if not 0 <= step < count:
        raise BadInput(f"no step {step}: the recording has steps 0 to {count - 1}")
    return step


def _source_line(recording: Recording, line: int | None) -> str:
    lines = recording.header.source.splitlines()
    if line is None or not 1 <= line <= len(lines):
        return ""
    return lines[line - 1].strip()


def _print_state(recording: Recording, index: int) -> None:
    # Rich is imported here, not at module level: `show --json` does not need it.
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table
    from rich.text import Text

    from tui.render.numbers import step_counter

    console = Console()
    step: Step = recording.steps[index]
    where = f"line {step.line}" if step.line is not None else "no line"
    if step.iteration is not None:
        where += f", iteration {step.iteration} of the loop at line {step.loop_line}"
    console.print(
        f"[bold]{step_counter(step.index, len(recording.steps) - 1)}[/]  ·  {step.kind}  ·  "
        f"phase [bold]{step.phase or '-'}[/]  ·  {where}"
    )
    if step.line is not None:
        console.print(f"  [dim]{step.line:>4} │[/] {escape(_source_line(recording, step.line))}", highlight=False)
    for line in step_event_lines(step):
        console.print(f"  {line}", markup=False, highlight=False)
    if step.exception is not None:
        error = step.exception
        console.print(f"  [bold red]{escape(error.type)}[/]: {escape(error.message)} (line {error.line})", highlight=False)
    if step.message:
        console.print(step.message, markup=False, highlight=False)
    from tui.render.mistakes import explain  # the classic mistakes, in this script's own words

    mistake = explain(recording.steps, index, recording.header.source)
    if mistake is not None:
        console.print(f"[bold yellow]what went wrong: {escape(mistake.title)}[/]")
        console.print(f"  {mistake.text}", markup=False, highlight=False)
    table = Table("name", "shape", "dtype", "device", "value", ".grad", "grad_fn", title=None, expand=False)
    for name, view in step.tensors.items():
        cells = (name, shape_text(view.shape), view.dtype, view.device, value_text(view), grad_text(view), view.grad_fn or "")
        table.add_row(*(Text(cell) for cell in cells))  # values such as [nan, 1.0] are not markup
    console.print(table)
    for key, value in step.scalars.items():
        console.print(f"  {key} = {value}", markup=False, highlight=False)
    if step.watches:
        from tui.render.evaluation import watch_lines  # deferred like rich: only steps with watches

        console.print("[bold]watches[/]")
        for line in watch_lines(step.watches):
            console.print(f"  {line}", markup=False, highlight=False)
    output = output_until(recording.steps, index)
    if output:
        console.print("[bold]output[/]")
        console.print(output.rstrip("\n"), markup=False, highlight=False)


def _print_timeline(recording: Recording) -> None:
    from rich.console import Console  # deferred: see _print_state
    from rich.table import Table

    table = Table("step", "kind", "phase", "line", "iteration", "node")
    for entry in timeline_json(recording.steps):
        table.add_row(*("" if entry[key] is None else str(entry[key]) for key in entry))
    Console().print(table)


def main(args: argparse.Namespace) -> int:
    """Print one state, or the timeline, of a recording."""
    recording = load_recording(args.recording)
    if args.timeline:
        if args.json:
            json.dump(timeline_json(recording.steps), sys.stdout)
            sys.stdout.write("\n")
        else:
            _print_timeline(recording)
        return 0
    index = _pick(recording, args.step)
    if args.json:
        json.dump(state_json(recording.steps, index, recording.header.source), sys.stdout)
        sys.stdout.write("\n")
    else:
        _print_state(recording, index)
    return 0
