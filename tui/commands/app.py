"""`gradstep [SCRIPT]`, `run`, `lesson`, `replay`: check the input, then open the app.

Bad input (a missing script, a syntax error, a corrupt recording, an unknown
lesson or device) raises a GradstepError here, before the app starts, so the
learner gets one line and exit 2 instead of a broken screen. Nothing here
imports torch at module level: replay must work without it.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from tui.errors import BadInput, ScriptCompileError
from tui.steps.break_lines import check_break_lines
from tui.steps.inspect import InspectOptions
from tui.steps.model import Step
from tui.steps.runs import DeviceInfo, RunResult
from tui.ui.live import LiveTarget, StepSource

# After quitting, a script stuck in native code gets this long to stop before we leave anyway.
STOP_GRACE_S = 1.0


def read_script(path: Path) -> str:
    """The script's text, or BadInput saying why it cannot be read."""
    from tui.steps.source import read_source  # a BOM or a coding line read as Python reads them

    return read_source(path)


def check_compiles(source: str, path: Path) -> None:
    """Raise ScriptCompileError (`SyntaxError at line N: ...`) if the script does not compile."""
    try:
        compile(source, str(path), "exec", dont_inherit=True)
    except SyntaxError as error:  # null bytes give no line number on some Pythons: say where they are
        from tui.steps.source import null_byte_line

        line = error.lineno if error.lineno is not None else null_byte_line(source)
        raise ScriptCompileError(f"SyntaxError at line {line}: {error.msg} ({path.name})") from None
    except ValueError as error:  # e.g. null bytes in the source
        from tui.steps.source import null_byte_line

        raise ScriptCompileError(f"SyntaxError at line {null_byte_line(source)}: {error} ({path.name})") from None


def check_device(device: str | None) -> None:
    """An unavailable device is bad input (exit 2), found before the app opens (asked of a child: no torch here)."""
    if device is None or device == "cpu":
        return
    from tui.engine.client import check_device as ask_child

    ask_child(device)


def list_devices() -> list[DeviceInfo]:
    """The devices, listed by a child process (torch loads there, never in the app)."""
    from tui.engine.client import list_devices as ask_child

    return [DeviceInfo(str(d["name"]), bool(d["available"]), d.get("reason"), d.get("details")) for d in ask_child()]


def session_starter(
    script: Path, max_steps: int, argv: Iterable[str] = (), inspect: InspectOptions | None = None
) -> Callable[..., StepSource]:
    """A function the app calls (on a background thread) to start the engine's child process on the script."""
    script_argv = tuple(argv)

    def start(
        on_step: Callable[[Step], object],
        on_done: Callable[[RunResult], object],
        breakpoints: Iterable[int],
        device: str | None,
    ) -> StepSource:
        # The child imports torch; this returns once it has (the app painted meanwhile) or says why not.
        from tui.engine.client import (
            ChildSession,  # standard library only: no torch in the app
        )

        return ChildSession(
            script, on_step=on_step, on_done=on_done, max_steps=max_steps, breakpoints=tuple(breakpoints), device=device,
            argv=script_argv,
            inspect=inspect,
        )

    return start


def live_target(
    script: Path,
    *,
    device: str | None = None,
    max_steps: int = 100_000,
    breakpoints: Iterable[int] = (),
    title: str | None = None,
    argv: Iterable[str] = (),
    lesson_id: str | None = None,
    inspect: InspectOptions | None = None,
) -> LiveTarget:
    """Check a script and describe how to run it live.

    The path is made absolute: the script may call os.chdir, and a restart (or a device
    switch) must still find it.
    """
    source = read_script(script)
    check_compiles(source, script)
    breakpoints = tuple(breakpoints)
    check_break_lines(source, breakpoints)
    script = script.absolute()
    return LiveTarget(
        script=script,
        source=source,
        start_session=session_starter(script, max_steps, argv, inspect),
        list_devices=list_devices,
        device=device,
        breakpoints=tuple(breakpoints),
        title=title,
        extra={
            **({"lesson": lesson_id} if lesson_id else {}),
            **(
                {"watches": list(inspect.watches), "conditions": list(inspect.conditions), "break_on": list(inspect.break_on)}
                if inspect
                else {}
            ),
        },
    )


def _run_app(app: Any) -> int:
    code = app.run()
    control = getattr(app, "control", None)
    sessions = list(getattr(control, "started", ()))
    current = getattr(app, "session", None)
    if current is not None and current not in sessions:
        sessions.append(current)
    for session in sessions:  # the current run and any a restart or a device switch replaced
        end_session(session)
    return int(code or 0)


def end_session(session: Any) -> None:
    """Stop a run; a child stuck where a stop cannot reach it (native code) is killed, never waited on long."""
    session.stop()
    wait = getattr(session, "wait", None)
    if wait is not None and wait(STOP_GRACE_S) is None:
        kill = getattr(session, "kill", None)
        if kill is not None:
            kill()


def _open_live(target: LiveTarget, **app_options: Any) -> int:
    """Paint the source at once (tui.commands.splash), then import Textual and run the app over it."""
    from tui.commands.splash import Splash

    splash = Splash()
    splash.paint(target.source, target.title or target.script.name)
    try:
        from tui.ui.app import GradstepApp

        app = GradstepApp(live=target, **app_options)
    except BaseException:
        splash.clear()
        raise
    return _run_app(app)


def run(args: argparse.Namespace) -> int:
    """`gradstep SCRIPT`: the debugger on a script."""
    from tui.commands.notebook import maybe_notebook  # a notebook's cells become the script

    target = live_target(
        maybe_notebook(Path(args.script)),
        device=args.device,
        max_steps=args.max_steps,
        breakpoints=args.breakpoints,
        argv=args.script_args,
        inspect=getattr(args, "inspect", None),
    )
    check_device(args.device)
    return _open_live(target, predict=getattr(args, "predict", False))


def lesson(args: argparse.Namespace) -> int:
    """`gradstep lesson ID`: the debugger on a lesson of the course."""
    from tui.lessons import find_lesson, list_lessons

    found = find_lesson(args.lesson_id)
    if getattr(args, "copy", None):
        from tui.commands.lessons import copy_lesson

        print(copy_lesson(found.path, Path(args.copy)))
        return 0
    target = live_target(
        found.path,
        device=args.device,
        max_steps=args.max_steps,
        breakpoints=args.breakpoints,
        title=f"{found.id}: {found.title}",
        lesson_id=found.id,
        inspect=getattr(args, "inspect", None),
    )
    check_device(args.device)
    # Escape goes back to the lesson picker, as it does for a lesson opened from there.
    return _open_live(
        target,
        lessons=list_lessons(),
        open_lesson=_lesson_target,
        predict=getattr(args, "predict", False),
        progress=_progress_store(),
    )


def replay(args: argparse.Namespace) -> int:
    """`gradstep replay FILE.gstep`: the same screen on a recording; runs no code."""
    from tui.steps.lazy import open_recording
    from tui.ui.app import GradstepApp

    # An indexed file is read block by block as the learner moves (its first and last blocks are
    # checked here); a file without an index is loaded and validated whole before the app mounts.
    recording = open_recording(args.recording)
    if recording.notice is not None:
        import sys

        print(f"gradstep: {recording.notice}", file=sys.stderr)
    app = GradstepApp(
        recording=recording,
        predict=getattr(args, "predict", False),
        progress=_progress_store(),
        lesson_id=_lesson_of(recording.header.script, recording.header.source),
    )
    return _run_app(app)


def picker(args: argparse.Namespace) -> int:
    """`gradstep` alone: the lesson picker; Enter opens a lesson."""
    from tui.lessons import list_lessons
    from tui.ui.app import GradstepApp

    return _run_app(GradstepApp(lessons=list_lessons(), open_lesson=_lesson_target, progress=_progress_store()))


def _lesson_target(chosen: Any) -> LiveTarget:
    """A lesson picked in the picker, run live."""
    return live_target(chosen.path, title=f"{chosen.id}: {chosen.title}", lesson_id=chosen.id)


def _progress_store() -> Any:
    """Predict mode's progress files (tui.progress), handed to the app: tui.ui never writes files itself."""
    from tui.progress import ProgressStore

    return ProgressStore()


def _lesson_of(script: str, source: str) -> str | None:
    """The lesson a recording was made of (its file name and text are a lesson's), else None."""
    from tui.lessons import list_lessons

    stem = Path(script).stem
    for found in list_lessons():
        if found.id == stem:
            try:
                return found.id if found.path.read_text(encoding="utf-8") == source else None
            except OSError:
                return None
    return None
