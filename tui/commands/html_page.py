"""`gradstep export SOURCE --html -o run.html`: one self-contained page that steps through a recording.

A recording is only read. A script (or lesson) is recorded first, headless, to its
end (torch is imported then, by the engine). The page itself is built by
tui.render.html.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from tui.errors import BadInput
from tui.render.html import MAX_GRAPHS, build_page, write_page
from tui.steps.model import Header, Step


def recorded(source: Path, args: argparse.Namespace) -> tuple[Header, list[Step]]:
    """The header and steps of a recording, or of a fresh headless run of a script."""
    from tui.commands.export import is_recording

    if is_recording(source):
        from tui.steps.recording import load_recording

        recording = load_recording(source)
        return recording.header, list(recording.steps)
    from tui.commands.record import resolve_script
    from tui.engine.session import Session  # deferred: the engine imports torch

    steps: list[Step] = []
    session = Session(
        resolve_script(str(source)),
        on_step=steps.append,
        mode="record",
        max_steps=args.max_steps,
        breakpoints=args.breakpoints,
        device=args.device,
    )
    result = session.run()
    if result.status == "raised" and result.exception is not None:
        print(f"note: the script raised {result.exception.type}: {result.exception.message}", file=sys.stderr)
    return session.header, steps


def main(args: argparse.Namespace) -> int:
    """Build the page and print its path (notes on stderr)."""
    source, output = Path(args.source), Path(args.output)
    if source.exists() and output.exists() and source.resolve() == output.resolve():
        raise BadInput(f"{output} is the recording itself: choose another output file")
    header, steps = recorded(source, args)
    graphs = getattr(args, "graphs", None)
    if graphs is not None and graphs < 0:
        raise BadInput("--graphs must be 0 or more")
    page = build_page(header, steps, max_graphs=MAX_GRAPHS if graphs is None else graphs)
    for note in page.notes:
        print(f"note: {note}", file=sys.stderr)
    print(write_page(page, output))
    return 0
