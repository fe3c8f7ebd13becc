"""`gradstep export SCRIPT_OR_RECORDING -o OUT`: draw the autograd graph at a step as svg, png, pdf or dot.

A recording is only read, never run. A script is recorded first (torch is
imported then, by the engine), up to the step asked for.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from tui.errors import BadInput
from tui.render.graph_files import (
    BACKWARD_KINDS,
    ExportRequest,
    ExportResult,
    drawable_step,
    export_backward_pass,
    export_step,
    format_for,
)
from tui.steps.model import Step

GZIP_MAGIC = b"\x1f\x8b"


def is_recording(path: Path) -> bool:
    """A .gstep file, or any gzip file (recordings are gzip JSON lines): read it, never run it."""
    if path.suffix == ".gstep":
        return True
    try:
        with path.open("rb") as file:
            return file.read(2) == GZIP_MAGIC
    except OSError:
        return False


class _Collector:
    """Keeps the steps a recording session emits and stops it once the wanted step (and pass) is in."""

    def __init__(self, stop_at: int | None, whole_pass: bool) -> None:
        self.steps: list[Step] = []
        self.stop_at = stop_at
        self.whole_pass = whole_pass
        self.session: object | None = None
        self.stopped = False
        self.pass_depth: int | None = None

    def __call__(self, step: Step) -> None:
        self.steps.append(step)
        if self.stop_at is None or self.stopped or step.index < self.stop_at:
            return
        # With --all-steps, the backward pass at or after the step must be complete, custom
        # backward code it calls (deeper line steps) included.
        if step.kind in BACKWARD_KINDS and self.pass_depth is None:
            self.pass_depth = step.depth
        if self.whole_pass and (self.pass_depth is None or step.kind in BACKWARD_KINDS or step.depth > self.pass_depth):
            return
        self.stopped = True
        stop = getattr(self.session, "stop", None)
        if stop is not None:
            stop()


def record_steps(script: Path, args: argparse.Namespace) -> list[Step]:
    """Run the script headless under the engine and return its steps up to the one asked for."""
    from tui.commands.record import check_breakpoints, resolve_script
    from tui.engine.session import Session  # deferred: the engine imports torch

    script = resolve_script(str(script))
    check_breakpoints(script, args.breakpoints)

    collector = _Collector(args.step, args.all_steps)
    session = Session(
        script,
        on_step=collector,
        mode="record",
        max_steps=args.max_steps,
        breakpoints=args.breakpoints,
        device=args.device,
        argv=getattr(args, "script_args", ()),
    )
    collector.session = session
    result = session.run()
    if result.status == "raised" and result.exception is not None:
        print(f"note: the script raised {result.exception.type}: {result.exception.message}", file=sys.stderr)
    return collector.steps


def load_steps(source: Path, args: argparse.Namespace) -> Sequence[Step]:
    if is_recording(source):
        from tui.steps.recording import load_recording

        return load_recording(source).steps
    return record_steps(source, args)


def refuse_overwrite(source: Path, output: Path) -> None:
    """An output that is the input (the script or the recording, or its .dot stand-in) is refused before anything runs."""
    from tui.commands.record import same_file

    for written in (output, output.with_suffix(".dot")):
        if same_file(source, written):
            raise BadInput(f"-o {output} would overwrite the input {source}: choose another output")


def main(args: argparse.Namespace) -> int:
    """Export the graph (or a flip-book of a backward pass) and print the written paths."""
    if getattr(args, "html", False) or Path(args.output).suffix.lower() in (".html", ".htm"):
        from tui.commands.html_page import main as html_main  # the page: its own module

        return html_main(args)
    source, output = Path(args.source), Path(args.output)
    request = ExportRequest(
        output=output,
        format=format_for(output, args.format),
        tensor=args.tensor,
        values=not args.no_values,
        show_attrs=args.show_attrs,
        show_saved=args.show_saved,
        slides=not getattr(args, "plain", False),
        scale=getattr(args, "scale", None),
        dpi=getattr(args, "dpi", None),
    )
    if request.scale is not None and request.scale <= 0 or request.dpi is not None and request.dpi <= 0:
        raise BadInput("--scale and --dpi must be more than 0")
    if args.step is not None and args.step < 0:
        raise BadInput("--step must be 0 or more")
    refuse_overwrite(source, output)
    steps = load_steps(source, args)
    if not steps:
        raise BadInput(f"{source} holds no steps to draw")
    if args.step is not None and args.step >= len(steps):
        raise BadInput(f"no step {args.step}: {source} has steps 0 to {len(steps) - 1}")
    result: ExportResult
    if args.all_steps:
        from tui.commands.flipbook import animate, same_size

        result = export_backward_pass(steps, args.step, request)
        if result.paths:
            same_size(result.paths, request.format)
        if getattr(args, "animate", None) and result.paths:
            result = replace(result, paths=(*result.paths, animate(result.paths, output, args.animate)))
    else:
        index = len(steps) - 1 if args.step is None else args.step
        step, tensor, notes = drawable_step(steps, index, args.tensor)
        result = export_step(step, replace(request, tensor=tensor), steps)
        result = replace(result, notes=tuple(notes) + result.notes)
    for note in result.notes:
        print(f"note: {note}", file=sys.stderr)
    for path in result.paths:
        print(path)
    return 0
