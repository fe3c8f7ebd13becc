"""`gradstep record SCRIPT -o FILE.gstep`: run a script headless and write every step."""

from __future__ import annotations

import argparse
import contextlib
import os
import signal
import sys
import time
from pathlib import Path
from typing import Any, Iterator, NoReturn

from tui.errors import EXIT_OK, EXIT_SCRIPT_RAISED, BadInput
from tui.steps.model import Step
from tui.steps.recording import RecordingWriter


def resolve_script(name: str) -> Path:
    """A script path, or a lesson id such as `03` or `03-sgd-to-15`."""
    path = Path(name)
    if path.suffix.lower() == ".ipynb":
        from tui.commands.notebook import maybe_notebook  # notebooks in: converted to a script

        return maybe_notebook(path)
    if path.is_file():
        return path
    if path.is_dir():
        raise BadInput(f"{name} is a directory, not a script: give the path of a .py file in it")
    if path.suffix != ".py" and not path.parent.parts:
        from tui.lessons import (
            find_lesson,  # deferred: only lesson ids need the lesson index
        )

        return find_lesson(name).path
    raise BadInput(f"no such script: {name}")


def same_file(a: Path, b: Path) -> bool:
    """Whether two paths name one file (the same path, a link to it, or another spelling of it)."""
    try:
        if a.exists() and b.exists():
            return os.path.samefile(a, b)
        return a.resolve() == b.resolve()
    except OSError:
        return False


def check_breakpoints(script: Path, breakpoints: list[int]) -> None:
    """`--break` on a blank, comment or missing line: exit 2 naming it, before anything runs."""
    if not breakpoints:
        return
    from tui.steps.break_lines import check_break_lines
    from tui.steps.source import read_source

    try:
        source = read_source(script)
    except BadInput:
        return  # the session says why it cannot read the script
    check_break_lines(source, breakpoints)


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


class OsExit(SystemExit):
    """The script called os._exit(): under `record` it ends the script as an exception step, not our process."""


@contextlib.contextmanager
def _os_exit_raises() -> Iterator[None]:
    """While the script runs in this process, os._exit(n) raises OsExit so the recording ends with what happened.

    Only in this process and its own threads: a forked child (a DataLoader worker) exits as it always did.
    """
    real_exit = os._exit
    pid = os.getpid()

    def script_exit(status: int) -> NoReturn:
        if os.getpid() != pid:
            real_exit(status)
        raise OsExit(f"the script called os._exit({status})")

    os._exit = script_exit
    try:
        yield
    finally:
        os._exit = real_exit


EXIT_INTERRUPTED = 130  # as a shell reports a Ctrl-C


class _Interrupts:
    """SIGINT, SIGTERM and SIGHUP end the script with an explicit `interrupted` end step.

    The handler raises the engine's StopScript in the script's thread (this one), so the run
    ends as a stop does: its end step's message says which signal. A signal that arrives while
    a step is being written waits until the step is whole.
    """

    SIGNALS = tuple(getattr(signal, name) for name in ("SIGINT", "SIGTERM", "SIGHUP") if hasattr(signal, name))

    def __init__(self) -> None:
        self.received: str | None = None
        self._writing = False
        self._pending = False
        self.running = False  # set at the first step: StopScript is only raised inside the script
        self._previous: dict[int, Any] = {}

    def _handler(self, number: int, _frame: Any) -> None:
        if self.received is not None:
            return  # the first one is already ending the run
        self.received = signal.Signals(number).name
        if self._writing or not self.running:
            self._pending = self.running
            return
        self._stop()

    def _stop(self) -> None:
        from tui.engine.runner import StopScript  # deferred with the engine (torch)

        raise StopScript(f"interrupted by {self.received}: the recording ends here")

    @contextlib.contextmanager
    def writing(self) -> Iterator[None]:
        self._writing = True
        try:
            yield
        finally:
            self._writing = False
        if self._pending:
            self._pending = False
            self._stop()

    def __enter__(self) -> _Interrupts:
        for number in self.SIGNALS:
            self._previous[number] = signal.signal(number, self._handler)
        return self

    def __exit__(self, *exc_info: object) -> None:
        for number, previous in self._previous.items():
            signal.signal(number, previous)


def main(args: argparse.Namespace) -> int:
    """Record a script; exit 0 when it finished, 1 when it raised (the recording is still written)."""
    from tui.engine.budget import DEFAULT_MAX_STEPS  # deferred with the engine (it imports torch)
    from tui.engine.script_input import terminal_reader
    from tui.engine.session import Session  # deferred: the engine imports torch

    script = resolve_script(args.script)
    if same_file(script, Path(args.output)):
        raise BadInput(f"-o {args.output} is the script itself: choose another output (the script is unchanged)")
    check_breakpoints(script, args.breakpoints)
    writer: RecordingWriter | None = None
    progress = Progress(script)
    interrupts = _Interrupts()

    def on_step(step: Step) -> None:
        assert writer is not None
        interrupts.running = step.kind not in ("end", "exception", "limit")
        # A script's RecursionError reaches us at the bottom of its stack: writing the step needs room.
        limit = sys.getrecursionlimit()
        sys.setrecursionlimit(limit + 1_000)
        try:
            with interrupts.writing():
                writer.append(step)
            progress.update(step)
        finally:
            sys.setrecursionlimit(limit)

    session = Session(
        script,
        on_step=on_step,
        mode="breaks-only" if args.breaks_only else "record",
        max_steps=args.max_steps,
        breakpoints=args.breakpoints,
        device=args.device,
        argv=getattr(args, "script_args", ()),
        read_line=terminal_reader(),  # input(): its prompt on the terminal, the line from it
        # Under the default cap a long run keeps its most useful steps (README "Long runs"); an
        # explicit --max-steps N keeps every step up to N and stops there.
        thin_long_runs=args.max_steps == DEFAULT_MAX_STEPS,
        inspect=getattr(args, "inspect", None),
    )
    try:
        # The writer encodes and compresses in a process of its own (tui.steps.sink): another core.
        with interrupts, RecordingWriter(args.output, session.header, background=True) as writer, _os_exit_raises():
            result = session.run()
    finally:
        progress.close()
    if interrupts.received is not None:
        print(f"wrote {args.output}: {result.steps} steps (interrupted by {interrupts.received})")
        return EXIT_INTERRUPTED if interrupts.received == "SIGINT" else 128 + int(getattr(signal, interrupts.received))
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
