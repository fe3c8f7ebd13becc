"""`gradstep [SCRIPT]`, `run`, `lesson`, `replay`: check the input, then open the app.

Bad input (a missing script, a syntax error, a corrupt recording, an unknown
lesson or device) raises a GradstepError here, before the app starts, so the
learner gets one line and exit 2 instead of a broken screen. Nothing here
imports torch at module level: replay must work without it.
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any, Callable, Iterable

from tui.errors import BadInput, ScriptCompileError
from tui.steps.inspect import InspectOptions
from tui.steps.model import Step
from tui.steps.runs import DeviceInfo, RunResult
from tui.ui.live import LiveTarget, StepSource

# After quitting, a script stuck in native code gets this long to stop before we leave anyway.
STOP_GRACE_S = 1.0


def read_script(path: Path) -> str:
    """The script's text, or BadInput saying why it cannot be read."""
    if not path.exists():
        raise BadInput(f"no such script: {path}")
    if not path.is_file():
        raise BadInput(f"not a file: {path}")
    try:
        return path.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        raise BadInput(f"{path} is not UTF-8 text: is it a Python script?") from None
    except OSError as error:
        raise BadInput(f"cannot read {path}: {error.strerror or error}") from None


def check_compiles(source: str, path: Path) -> None:
    """Raise ScriptCompileError (`SyntaxError at line N: ...`) if the script does not compile."""
    try:
        compile(source, str(path), "exec", dont_inherit=True)
    except SyntaxError as error:
        raise ScriptCompileError(f"SyntaxError at line {error.lineno}: {error.msg} ({path.name})") from None
    except ValueError as error:  # e.g. null bytes in the source
        raise ScriptCompileError(f"{path.name} cannot be compiled: {error}") from None


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


def session_starter(script: Path, max_steps: int, inspect: InspectOptions | None = None) -> Callable[..., StepSource]:
    """A function the app calls (on a background thread) to start the engine's child process on the script."""

    def start(
        on_step: Callable[[Step], object],
        on_done: Callable[[RunResult], object],
        breakpoints: Iterable[int],
        device: str | None,
    ) -> StepSource:
        # The child imports torch; this returns once it has (the app painted meanwhile) or says why not.
        from tui.engine.client import ChildSession  # standard library only: no torch in the app

        return ChildSession(
            script, on_step=on_step, on_done=on_done, max_steps=max_steps, breakpoints=tuple(breakpoints), device=device,
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
    inspect: InspectOptions | None = None,
) -> LiveTarget:
    """Check a script and describe how to run it live.

    The path is made absolute: the script may call os.chdir, and a restart (or a device
    switch) must still find it.
    """
    source = read_script(script)
    check_compiles(source, script)
    script = script.absolute()
    return LiveTarget(
        script=script,
        source=source,
        start_session=session_starter(script, max_steps, inspect),
        list_devices=list_devices,
        device=device,
        breakpoints=tuple(breakpoints),
        title=title,
        extra={"watches": list(inspect.watches), "conditions": list(inspect.conditions),
               "break_on": list(inspect.break_on)} if inspect else {},
    )


def _run_app(app: Any) -> int:
    code = app.run()
    session = getattr(app, "session", None)
    if session is not None:
        session.stop()
        wait = getattr(session, "wait", None)
        if wait is not None and wait(STOP_GRACE_S) is None:
            # The script is stuck where a stop request cannot reach it (native code): its child is
            # killed, never waited on, as a learner pressing q expects.
            kill = getattr(session, "kill", None)
            if kill is not None:
                kill()
    return int(code or 0)


def run(args: argparse.Namespace) -> int:
    """`gradstep SCRIPT`: the debugger on a script."""
    from tui.ui.app import GradstepApp

    target = live_target(
        Path(args.script),
        device=args.device,
        max_steps=args.max_steps,
        breakpoints=args.breakpoints,
        inspect=getattr(args, "inspect", None),
    )
    check_device(args.device)
    return _run_app(GradstepApp(live=target))


def lesson(args: argparse.Namespace) -> int:
    """`gradstep lesson ID`: the debugger on a lesson of the course."""
    from tui.lessons import find_lesson, list_lessons
    from tui.ui.app import GradstepApp

    found = find_lesson(args.lesson_id)
    target = live_target(
        found.path,
        device=args.device,
        max_steps=args.max_steps,
        breakpoints=args.breakpoints,
        title=f"{found.id}: {found.title}",
        inspect=getattr(args, "inspect", None),
    )
    check_device(args.device)
    # Escape goes back to the lesson picker, as it does for a lesson opened from there.
    return _run_app(GradstepApp(live=target, lessons=list_lessons(), open_lesson=_lesson_target))


def replay(args: argparse.Namespace) -> int:
    """`gradstep replay FILE.gstep`: the same screen on a recording; runs no code."""
    from tui.steps.recording import load_recording
    from tui.ui.app import GradstepApp

    recording = load_recording(args.recording)
    return _run_app(GradstepApp(recording=recording))


def picker(args: argparse.Namespace) -> int:
    """`gradstep` alone: the lesson picker; Enter opens a lesson."""
    from tui.lessons import list_lessons
    from tui.ui.app import GradstepApp

    return _run_app(GradstepApp(lessons=list_lessons(), open_lesson=_lesson_target))


def _lesson_target(chosen: Any) -> LiveTarget:
    """A lesson picked in the picker, run live."""
    return live_target(chosen.path, title=f"{chosen.id}: {chosen.title}")
