"""`gradstep diff A.gstep B.gstep [--rtol R] [--atol A]`: where two recordings of one script part.

Exit 0 when no step differs beyond the tolerance, 1 when some do, 2 for bad input, as diff(1) does.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from tui.errors import EXIT_OK, EXIT_SCRIPT_RAISED, BadInput
from tui.render.safe_text import visible
from tui.steps.diff import Difference, DiffReport, diff_steps
from tui.steps.model import Step
from tui.steps.recording import Recording, load_recording

# As diff(1): 1 means the inputs differ.
EXIT_DIFFERENT = EXIT_SCRIPT_RAISED


def _describe(label: str, path: str, recording: Recording) -> str:
    header = recording.header
    device = header.device + (f" ({header.device_name})" if header.device_name else "")
    return f"{label}: {path}  {len(recording.steps)} steps, {device}, torch {header.torch or '?'}"


def _where(steps: tuple[Step, ...], index: int) -> str:
    step = steps[index]
    text = step.kind if step.line is None else f"{step.kind} at line {step.line}"
    if step.iteration is not None:
        text += f", iteration {step.iteration}"
    return text


def _difference(title: str, difference: Difference, steps: tuple[Step, ...]) -> str:
    gap = "not comparable" if difference.abs_diff == float("inf") else f"|a - b| = {difference.abs_diff:.6g}"
    line = f"{title}: step {difference.step} ({_where(steps, difference.step)}), {difference.tensor} {difference.field}"
    if difference.a or difference.b:
        line += f": A {difference.a} vs B {difference.b}"
    return f"{line} ({gap})"


def report_lines(report: DiffReport, a: Recording, b: Recording, rtol: float, atol: float) -> list[str]:
    """The report as the command prints it."""
    lines = []
    if a.header.source != b.header.source:
        lines.append("note: the two recordings are of different script sources")
    if report.steps_a != report.steps_b:
        lines.append(f"A has {report.steps_a} steps and B {report.steps_b}: compared the first {report.compared}")
    if report.divergence is not None:
        div = report.divergence
        lines.append(f"the runs part at step {div.step}: A is at {div.a}, B at {div.b}")
    if report.only_in_a or report.only_in_b:
        lines.append(
            f"tensors in one run only: A {', '.join(report.only_in_a) or '-'}; B {', '.join(report.only_in_b) or '-'}"
        )
    tolerance = f"rtol={rtol:g}, atol={atol:g}"
    if report.first is not None:
        lines.append(_difference("first difference", report.first, a.steps))
        if report.first_tensor is not None and report.first_tensor != report.first:
            lines.append(_difference("first tensor difference", report.first_tensor, a.steps))
        lines.append(f"{report.differing_steps} of {report.compared} steps differ beyond {tolerance}")
    else:
        lines.append(f"no tensor differs beyond {tolerance} over {report.compared} steps")
    if report.largest is not None and report.largest.abs_diff > 0:
        lines.append(_difference("largest difference", report.largest, a.steps))
    elif report.compared:
        lines.append("largest difference: 0 (every number compared is identical)")
    return lines


def main(args: argparse.Namespace) -> int:
    """Compare two recordings step by step; 0 the same within tolerance, 1 different."""
    if args.rtol < 0 or args.atol < 0:
        raise BadInput("--rtol and --atol must not be negative")
    first, second = load_recording(args.a), load_recording(args.b)
    report = diff_steps(first.steps, second.steps, rtol=args.rtol, atol=args.atol)
    # Names, devices and values come from the files: shown with their control characters visible.
    print(visible(_describe("A", str(Path(args.a)), first)))
    print(visible(_describe("B", str(Path(args.b)), second)))
    for line in report_lines(report, first, second, args.rtol, args.atol):
        print(visible(line))
    return EXIT_OK if report.same else EXIT_DIFFERENT
