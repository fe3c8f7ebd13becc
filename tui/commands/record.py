"""`gradstep record SCRIPT -o FILE.gstep`: run a script headless and write every step."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path

from tui.errors import EXIT_OK, EXIT_SCRIPT_RAISED, BadInput
from tui.steps.model import Step
from tui.steps.recording import RecordingWriter


def resolve_script(name: str) -> Path:
    """A script path, or a lesson id such as `03` or `03-sgd-to-15`."""
    path = Path(name)
    if path.is_file():
        return path
    if path.suffix != ".py" and not path.parent.parts:
        from tui.lessons import find_lesson  # deferred: only lesson ids need the lesson index

        return find_lesson(name).path
    raise BadInput(f"no such script: {name}")


def _progress_interval() -> float:
    """Seconds between plain progress lines: GRADSTEP_PROGRESS_INTERVAL, else 5."""
    try:
        return max(float(os.environ.get("GRADSTEP_PROGRESS_INTERVAL", "5")), 0.05)
    except ValueError:
        return 5.0


class Progress:
    """A Rich progress line on a terminal; a plain line every few seconds otherwise."""

    def __init__(self, script: Path) -> None:
        self.script = script.name
        self.count = 0
        self._last = time.monotonic()  # a short run prints no progress line at all
        self._live = None
        # The app's whole-run save asks for lines more often (it shows them as progress).
        self._interval = _progress_interval()
        # Bound now, before the run: the engine captures what the script's thread (this one, for
        # `record`) writes to sys.stdout/sys.stderr, and our progress is not the script's output.
        self._stream = sys.stderr
        if self._stream.isatty():
            # Rich is imported only for the interactive progress bar.
            from rich.console import Console
            from rich.progress import Progress as RichProgress
            from rich.progress import SpinnerColumn, TextColumn, TimeElapsedColumn

            self._live = RichProgress(
                SpinnerColumn(),
                TextColumn("{task.description}"),
                TimeElapsedColumn(),
                transient=True,
                console=Console(file=self._stream),
            )
            self._task = self._live.add_task(f"recording {self.script}", total=None)
            self._live.start()

    def update(self, step: Step) -> None:
        self.count += 1
        now = time.monotonic()
        if now - self._last < (0.1 if self._live else self._interval):
            return
        self._last = now
        steps = "step" if self.count == 1 else "steps"
        description = f"recording {self.script}: {self.count} {steps}, line {step.line}"
        if self._live is not None:
            self._live.update(self._task, description=description)
        else:
            print(description, file=self._stream, flush=True)

    def close(self) -> None:
        if self._live is not None:
            self._live.stop()


def main(args: argparse.Namespace) -> int:
    """Record a script; exit 0 when it finished, 1 when it raised (the recording is still written)."""
    from tui.engine.session import Session  # deferred: the engine imports torch

    script = resolve_script(args.script)
    writer: RecordingWriter | None = None
    progress = Progress(script)

    def on_step(step: Step) -> None:
        assert writer is not None
        writer.append(step)
        progress.update(step)

    session = Session(
        script,
        on_step=on_step,
        mode="breaks-only" if args.breaks_only else "record",
        max_steps=args.max_steps,
        breakpoints=args.breakpoints,
        device=args.device,
        inspect=getattr(args, "inspect", None),
    )
    try:
        with RecordingWriter(args.output, session.header) as writer:
            result = session.run()
    finally:
        progress.close()
    print(f"wrote {args.output}: {result.steps} steps ({result.status})")
    if result.status == "raised" and result.exception is not None:
        error = result.exception
        print(
            f"gradstep: the script raised {error.type}: {error.message} (line {error.line})",
            file=sys.stderr,
        )
        return EXIT_SCRIPT_RAISED
    if result.status == "limit":
        print(f"gradstep: stopped at the step limit ({args.max_steps} steps)", file=sys.stderr)
    return EXIT_OK
