"""`gradstep show FILE [--step N | --last | --timeline] [--json]`: print a recording, never run it."""

from __future__ import annotations

import argparse
import json
import os
import sys
from typing import TYPE_CHECKING

from tui.render.events import step_event_lines
from tui.render.formatting import grad_text, shape_text, value_text
from tui.render.safe_text import visible, visible_lines
from tui.render.showjson import state_json, timeline_json
from tui.steps.model import Step
from tui.steps.recording import Recording, StepAt, load_recording, read_step

if TYPE_CHECKING:
    from tui.render.mistakes import Mistake


def _source_line(at: StepAt, line: int | None) -> str:
    lines = at.header.source.splitlines()
    if not isinstance(line, int) or not 1 <= line <= len(lines):
        return ""
    return lines[line - 1].strip()


# `show` (text) prints only the end of a long output: Rich lays out every character it prints, and a
# step with 10 MB of stdout would take minutes. `--full` prints it all, unstyled.
OUTPUT_TAIL_LINES = 200
OUTPUT_TAIL_CHARS = 20_000


def output_tail(output: str) -> tuple[str, int]:
    """The last lines of `output` (at most OUTPUT_TAIL_LINES and OUTPUT_TAIL_CHARS) and how many characters were left out."""
    tail = output[-OUTPUT_TAIL_CHARS:]
    cut = len(output) - len(tail)
    lines = tail.split("\n")
    if len(lines) > OUTPUT_TAIL_LINES:
        kept = "\n".join(lines[-OUTPUT_TAIL_LINES:])
        cut += len(tail) - len(kept)
        tail = kept
    return tail, cut


# A classic mistake (tui/render/mistakes.py) is explained from the steps up to the one shown. `show`
# reads one step through the file's index; for a recording up to this size it also reads the others
# to explain what went wrong (an indexed file lazily, tui.steps.lazy: only the blocks the checks look
# at are decoded, and a few at a time); past it, only the step itself is looked at.
EXPLAIN_FROM_WHOLE_BYTES = 32 * 1024 * 1024


def _explained(path: str, at: StepAt) -> Mistake | None:
    """The classic mistake the step shows, in its script's own words, or None."""
    from tui.render.mistakes import explain

    if os.path.getsize(path) <= EXPLAIN_FROM_WHOLE_BYTES:
        # an indexed file: only the blocks explain reads, a few at a time
        from tui.steps.lazy import open_recording

        steps = open_recording(path).steps
        if 0 <= at.step.index < len(steps):
            return explain(steps, at.step.index, at.header.source)
    return explain([at.step], 0, at.header.source)


def _print_state(at: StepAt, mistake: Mistake | None = None, *, full: bool = False) -> None:
    # Rich is imported here, not at module level: `show --json` does not need it.
    # Every string from the recording goes into a Text through visible(): never markup, never an escape.
    from rich.console import Console
    from rich.table import Table
    from rich.text import Text

    from tui.render.numbers import step_counter

    console = Console(highlight=False)
    step: Step = at.step
    where = f"line {step.line}" if step.line is not None else "no line"
    if step.iteration is not None:
        where += f", iteration {step.iteration} of the loop at line {step.loop_line}"
    console.print(
        Text.assemble(
            (step_counter(step.index, at.count - 1), "bold"),
            f"  ·  {visible(str(step.kind))}  ·  phase ",
            (visible(str(step.phase or "-")), "bold"),
            f"  ·  {visible(where)}",
        )
    )
    if step.line is not None:
        console.print(Text.assemble("  ", (f"{step.line!s:>4} │", "dim"), " ", visible(_source_line(at, step.line))))
    for line in step_event_lines(step):
        console.print(Text("  " + visible(line)))
    if step.exception is not None:
        error = step.exception
        console.print(
            Text.assemble("  ", (visible(str(error.type)), "bold red"), f": {visible_lines(str(error.message))} (line {error.line})")
        )
    if step.message:
        console.print(Text(visible_lines(step.message)))
    if mistake is not None:
        console.print(Text(visible(f"what went wrong: {mistake.title}"), style="bold yellow"))
        console.print(Text(visible_lines(f"  {mistake.text}")))
    table = Table("name", "shape", "dtype", "device", "value", ".grad", "grad_fn", title=None, expand=False)
    for name, view in step.tensors.items():
        cells = (name, shape_text(view.shape), view.dtype, view.device, value_text(view), grad_text(view), view.grad_fn or "")
        table.add_row(*(Text(visible(str(cell))) for cell in cells))  # values such as [nan, 1.0] are not markup
    console.print(table)
    for key, value in step.scalars.items():
        console.print(Text(visible(f"  {key} = {value}")))
    if step.watches:
        from tui.render.evaluation import watch_lines  # deferred like rich: only steps with watches

        console.print(Text("watches", style="bold"))
        for line in watch_lines(step.watches):
            console.print(Text(visible(f"  {line}")))
    output = at.output
    if not output:
        return
    console.print(Text("output", style="bold"))
    if full:
        # All of it, straight to the terminal: no layout, so 100 MB prints as fast as the pipe takes it.
        console.file.write(visible_lines(output.rstrip("\n")) + "\n")
        return
    tail, cut = output_tail(output)
    if cut:
        console.print(Text(f"… {cut:,} earlier characters of output left out (--full prints all of it)", style="dim"))
    console.print(Text(visible_lines(tail.rstrip("\n"))))


def _print_timeline(recording: Recording) -> None:
    from rich.console import Console  # deferred: see _print_state
    from rich.table import Table
    from rich.text import Text

    table = Table("step", "kind", "phase", "line", "iteration", "node")
    for entry in timeline_json(recording.steps):
        table.add_row(*(Text("" if entry[key] is None else visible(str(entry[key]))) for key in entry))
    Console(highlight=False).print(table)


def _state_json(at: StepAt, mistake: Mistake | None) -> dict[str, object]:
    """`show --json` of one step read alone: the count, stdout and explanation come from the reader."""
    explanation = None if mistake is None else {"title": mistake.title, "text": mistake.text, "line": mistake.line}
    return {**state_json([at.step], 0), "steps": at.count, "stdout": at.output, "explanation": explanation}


def main(args: argparse.Namespace) -> int:
    """Print one state, or the timeline, of a recording (a notice on stderr when it ends early)."""
    if args.timeline:
        recording: Recording = load_recording(args.recording)
        _notice(recording.notice)
        if args.json:
            json.dump(timeline_json(recording.steps), sys.stdout, allow_nan=False)
            sys.stdout.write("\n")
        else:
            _print_timeline(recording)
        return 0
    # One step, read through the file's index (or streamed): the others are never all in memory.
    at = read_step(args.recording, args.step)
    _notice(at.notice)
    mistake = _explained(args.recording, at)
    if args.json:
        json.dump(_state_json(at, mistake), sys.stdout, allow_nan=False)
        sys.stdout.write("\n")
    else:
        _print_state(at, mistake, full=getattr(args, "full", False))
    return 0


def _notice(notice: str | None) -> None:
    if notice is not None:
        print(f"gradstep: {notice}", file=sys.stderr)
