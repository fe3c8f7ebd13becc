"""GradstepApp: the debugger on a live script, a recording, or the lesson picker.

The engine's session runs in its own thread and posts StepCaptured messages;
the handlers here own all state (a History) and repaint the main screen. This
module never imports torch: tui.commands.app hands it a LiveTarget whose
`start_session` imports the engine on a background thread.
"""

from __future__ import annotations

import functools
from dataclasses import replace
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

from textual import work
from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen

from tui.engine.model import Header, Step
from tui.ui.control import RunControl
from tui.ui.dialogs import open_device_picker, open_export
from tui.ui.live import LiveTarget, StepSource, start_in_background
from tui.ui.messages import RunFinished, SessionFailed, SessionStarted, StepCaptured
from tui.ui.narration import Narration
from tui.ui.screens.help import HelpScreen
from tui.ui.screens.main import MainScreen, MainView
from tui.ui.screens.picker import PickerScreen
from tui.ui.state import History, default_tensor, next_iteration_test, phase_entry_test
from tui.ui.widgets.phase_bar import PhaseBar, PhaseBarState
from tui.ui.widgets.source_view import SourceView
from tui.ui.widgets.tensor_table import TensorTable


def guarded(handler: Callable[..., Any]) -> Callable[..., Any]:
    """Whatever goes wrong in a handler becomes a notification, never a crash."""

    @functools.wraps(handler)
    def wrapper(self: GradstepApp, *args: Any, **kwargs: Any) -> Any:
        try:
            return handler(self, *args, **kwargs)
        except Exception as error:  # the app must stay up for the learner
            self.notify(f"{type(error).__name__}: {error}", title="gradstep hit a problem", severity="error")
            return None

    return wrapper


class GradstepApp(App[int]):
    """Step through a PyTorch script, travel back through its history, replay recordings."""

    CSS_PATH = "app.tcss"
    TITLE = "gradstep"
    # Stepping keys are priority bindings: the tree and the table would otherwise take
    # space and the arrows; check_action turns them off away from the main screen.
    BINDINGS = [
        Binding("space,n", "next", "Next", key_display="n/space", tooltip="Run to the next line (over calls)", priority=True),
        Binding("s", "step_into", "Step into", tooltip="Into a function, or backward()/step() node by node", priority=True),
        Binding("o", "step_out", "Step out", tooltip="Run until the current function returns", priority=True),
        Binding("left,p", "previous", "Back", key_display="←/p", tooltip="Previous step (history, never re-run)", priority=True),
        Binding("right", "forward", "Forward", key_display="→", tooltip="Next step: history first, then run", priority=True),
        Binding("c", "continue", "Continue", tooltip="Run to the next breakpoint or the end; c again pauses", priority=True),
        Binding("escape", "pause", "Pause", tooltip="Pause a continue or a jump"),
        Binding("b", "toggle_breakpoint", "Breakpoint", tooltip="Toggle a breakpoint on the current line", priority=True),
        Binding("right_square_bracket", "next_iteration", "Next iter", key_display="]", priority=True),
        Binding("left_square_bracket", "previous_iteration", "Prev iter", key_display="[", priority=True),
        Binding("B", "next_phase('backprop')", "Next backprop", key_display="B", priority=True),
        Binding("O", "next_phase('optimize')", "Next optimize", key_display="O", priority=True),
        Binding("R", "next_phase('reset')", "Next reset", key_display="R", priority=True),
        Binding("r", "restart", "Restart", tooltip="Stop the script and run it again from the start", priority=True),
        Binding("ctrl+s", "save", "Save", tooltip="Save the session as ./<script>.gstep", priority=True),
        Binding("x", "export", "Export graph", tooltip="Draw the autograd graph as svg/png/pdf/dot", priority=True),
        Binding("d", "device", "Device", tooltip="Run on cpu, cuda or mps", priority=True),
        Binding("m", "toggle_narrative", "Narrative", tooltip="Hide or show the lesson's narrative", priority=True),
        Binding("question_mark", "help", "Help", key_display="?"),
        Binding("q", "quit", "Quit"),
    ]

    def __init__(
        self,
        *,
        live: LiveTarget | None = None,
        recording: Any | None = None,
        lessons: Sequence[Any] | None = None,
        open_lesson: Callable[[Any], LiveTarget] | None = None,
    ) -> None:
        super().__init__()
        self.live_target = live
        self.recording = recording
        self.lessons = lessons
        self.open_lesson = open_lesson
        self.history = History()
        self.control = RunControl(self.history, replay=recording is not None)
        self.header: Header | None = recording.header if recording is not None else None
        self.generation = 0
        self.user_selected: str | None = None
        self.device = "cpu"
        self.requested_device: str | None = None
        self.narration = Narration("")
        self.main_screen: MainScreen | None = None
        self.last_saved: Path | None = None

    @property
    def replay(self) -> bool:
        return self.recording is not None

    @property
    def session(self) -> StepSource | None:
        return self.control.session

    @property
    def awaiting(self) -> bool:
        return self.control.awaiting

    @property
    def queued(self) -> list[str]:
        return self.control.queued

    @property
    def result(self) -> Any:
        return self.control.result

    @property
    def commands_log(self) -> list[str]:
        return self.control.commands_log

    @property
    def status(self) -> str:
        return self.control.status()

    # -- start-up ---------------------------------------------------------------------

    def on_mount(self) -> None:
        if self.recording is not None:
            for step in self.recording.steps:
                self.history.append(step)
            self.history.breakpoints.update(self.recording.header.breakpoints)
            self.device = _device_text(self.recording.header)
            self._open_main(self.recording.header.source)
        elif self.live_target is not None:
            self._open_live(self.live_target)
        else:
            self.push_screen(PickerScreen(self.lessons or ()))

    def _open_main(self, source: str) -> None:
        self.narration = Narration(source)
        if self.main_screen is None:
            self.main_screen = MainScreen(source, narrative=self.narration.available)
            self.push_screen(self.main_screen)
        else:
            self.main_screen.set_source(source, narrative=self.narration.available)
            if self.screen is not self.main_screen:
                self.push_screen(self.main_screen)

    def _open_live(self, target: LiveTarget) -> None:
        self.live_target = target
        self.history.breakpoints.update(target.breakpoints)
        self.device = target.device or "cpu"
        self.requested_device = target.device
        self.sub_title = target.title or target.script.name
        self._open_main(target.source)
        self._start_session(target.device)

    def _start_session(self, device: str | None) -> None:
        assert self.live_target is not None
        self.generation += 1
        generation = self.generation
        self.refresh_view()
        start_in_background(
            self.live_target,
            on_step=lambda step: self.post_message(StepCaptured(step, generation)),
            on_done=lambda result: self.post_message(RunFinished(result, generation)),
            on_started=lambda session: self.post_message(SessionStarted(session, session.header, generation)),
            on_failed=lambda error: self.post_message(SessionFailed(error, generation)),
            breakpoints=tuple(sorted(self.history.breakpoints)),
            device=device,
        )

    # -- messages from the session thread -----------------------------------------------

    @guarded
    def on_session_started(self, message: SessionStarted) -> None:
        """Keep the session; the engine starts paused and posts its first step."""
        if message.generation != self.generation:
            message.session.stop()
            return
        self.header = message.header
        self.device = _device_text(message.header)
        self.control.attach(message.session)
        self.refresh_view()

    def on_session_failed(self, message: SessionFailed) -> None:
        """The session could not start: say why, stay up."""
        if message.generation == self.generation:
            self.control.finished(type("Failed", (), {"status": "could not start"})())
            self.notify(message.error, title="The script could not start", severity="error", timeout=10)
            self.refresh_view()

    @guarded
    def on_step_captured(self, message: StepCaptured) -> None:
        """Add the step to the history; follow it if the learner is at the head."""
        if message.generation != self.generation:
            return
        if self.control.captured(message.step):
            self.refresh_view()

    def on_run_finished(self, message: RunFinished) -> None:
        """The run ended; stepping forward now only walks the history."""
        if message.generation == self.generation:
            self.control.finished(message.result)
            self.refresh_view()

    # -- drawing -------------------------------------------------------------------------

    def selected_tensor(self) -> str | None:
        """The learner's pick if this step has it, else the loss-like default."""
        step = self.history.step
        if step is None:
            return None
        if self.user_selected is not None and self.user_selected in step.tensors:
            return self.user_selected
        return default_tensor(step)

    def refresh_view(self) -> None:
        """Repaint the main screen from the history (each pane skips unchanged input)."""
        if self.main_screen is None or not self.main_screen.is_mounted:
            return
        try:
            step = self.history.step
            selected = self.selected_tensor()
            bar = PhaseBarState(
                phase=step.phase if step is not None else None,
                iteration=step.iteration if step is not None else None,
                step_number=self.history.current + 1,
                step_count=len(self.history),
                replay=self.replay,
                status=self.control.status(),
                device=self.device,
            )
            view = MainView(
                step=step,
                previous=self.history.previous,
                bar=bar,
                breakpoints=frozenset(self.history.breakpoints),
                lines_run=self.history.lines_run(),
                output=self.history.output(),
                selected=selected,
                series=self.history.series(selected) if selected else None,
                narrative=self.narration.at(step.line if step is not None else None),
            )
            self.main_screen.show(view)
        except Exception as error:  # a drawing bug must not take the session down with it
            self.notify(f"{type(error).__name__}: {error}", title="Could not draw this step", severity="error")

    def _after(self, note: str | None = None) -> None:
        if note:
            self.notify(note, timeout=2)
        self.refresh_view()

    # -- actions ---------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Stepping keys only on the main screen; device and restart only when live."""
        if action in ("quit", "help", "command_palette"):
            return True
        if self.main_screen is None or self.screen is not self.main_screen:
            return False
        if action in ("restart", "device") and self.replay:
            return None
        if action == "toggle_narrative" and not self.narration.available:
            return None
        return True

    @guarded
    def action_next(self) -> None:
        """Next step: through the history, then over the current line."""
        self._after(self.control.forward("step_over"))

    @guarded
    def action_forward(self) -> None:
        """→: walk the recorded history up to the live head, then execute."""
        self._after(self.control.forward("step_over"))

    @guarded
    def action_step_into(self) -> None:
        """Step into a function of the script, or backward()/optimizer.step() node by node."""
        self._after(self.control.forward("step_into"))

    @guarded
    def action_step_out(self) -> None:
        """Run until the current function returns."""
        self.control.step_out()
        self._after()

    @guarded
    def action_previous(self) -> None:
        """←: the step before, read from the history (nothing re-runs)."""
        self.control.back()
        self._after()

    @guarded
    def action_continue(self) -> None:
        """Run to the next breakpoint or the end; pressed again, pause."""
        self.control.continue_run()
        self._after()

    @guarded
    def action_pause(self) -> None:
        """Pause a continue or a jump at the script's next line."""
        self.control.pause()
        self._after()

    @guarded
    def action_toggle_breakpoint(self) -> None:
        """Toggle a breakpoint on the current line."""
        step = self.history.step
        if step is not None and step.line is not None:
            self.control.toggle_breakpoint(step.line)
            self._after()

    @guarded
    def action_next_iteration(self) -> None:
        """Jump to the first step of the next loop iteration."""
        if self.history.step is not None:
            self._after(self.control.jump(next_iteration_test(self.history.step)))

    @guarded
    def action_previous_iteration(self) -> None:
        """Jump back to the start of this (or the previous) loop iteration."""
        found = self.history.previous_iteration_start()
        if found is not None:
            self.history.go(found)
        self._after()

    @guarded
    def action_next_phase(self, phase: str) -> None:
        """Jump to where the next backprop, optimize or reset begins."""
        self._after(self.control.jump(phase_entry_test(phase)))

    @guarded
    def action_restart(self) -> None:
        """Stop the script and run it afresh (breakpoints stay)."""
        if self.live_target is None:
            return
        self.control.stop()
        self.control.reset()
        self._start_session(self.requested_device)
        self.notify("Restarted.", timeout=2)

    @guarded
    def action_save(self) -> None:
        """Write the history as ./<script stem>.gstep."""
        header = self.header
        if header is None or not self.history.steps:
            self.notify("Nothing to save yet.", severity="warning")
            return
        path = Path.cwd() / f"{Path(header.script).stem}.gstep"
        header = replace(header, breakpoints=tuple(sorted(self.history.breakpoints)))
        self._write(path, header, tuple(self.history.steps))

    @work(thread=True, exclusive=True, group="save")
    def _write(self, path: Path, header: Header, steps: tuple[Step, ...]) -> None:
        from tui.engine.recording import write_recording  # plain data, no torch

        try:
            write_recording(path, header, steps)
        except Exception as error:  # a full disk or a read-only folder: say so, stay up
            self.call_from_thread(self.notify, f"Could not save: {error}", severity="error")
            return
        self.last_saved = path
        self.call_from_thread(self.notify, f"Saved {len(steps)} steps to {path}", title="Saved")

    @guarded
    def action_export(self) -> None:
        """Draw the graph at this step (svg, png, pdf or dot)."""
        open_export(self)

    @guarded
    def action_device(self) -> None:
        """Choose cpu, cuda or mps."""
        open_device_picker(self)

    def device_name(self) -> str:
        """The device the session runs on, as `cpu` or `cuda:0`."""
        if self.header is not None:
            return self.header.device
        return self.requested_device or "cpu"

    @guarded
    def switch_device(self, name: str | None) -> None:
        """Restart on another device and come back to the same step with the same breakpoints."""
        if not name or self.live_target is None or name == self.device_name():
            return
        self.control.stop()
        self.control.reset(restore_to=self.history.current)
        self.requested_device = name
        self.header = None
        self._start_session(name)
        self.notify(f"Restarting on {name}…", timeout=3)

    @guarded
    def action_toggle_narrative(self) -> None:
        """Hide or show the lesson's narrative."""
        if self.main_screen is not None:
            self.main_screen.toggle_narrative()
            self.refresh_view()

    def action_help(self) -> None:
        """Show every key."""
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(self.key_help()))

    def key_help(self) -> list[tuple[str, str]]:
        """(keys, description) for every binding of the app."""
        rows = []
        for binding in self.BINDINGS:
            assert isinstance(binding, Binding)
            rows.append((binding.key_display or binding.key, binding.tooltip or binding.description))
        return rows

    async def action_quit(self) -> None:
        """Stop the script (without waiting on it) and leave."""
        self.generation += 1
        self.control.stop()
        self.exit(0)

    def on_unmount(self) -> None:
        self.control.stop()

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """Every key's action in the command palette too."""
        yield from super().get_system_commands(screen)
        for binding in self.BINDINGS:
            assert isinstance(binding, Binding)
            if self.check_action(binding.action.split("(")[0], ()) is not True:
                continue
            label = f"{binding.description} ({binding.key_display or binding.key})"
            run = functools.partial(self.run_action, binding.action)
            yield SystemCommand(label, binding.tooltip or binding.description, run)

    # -- from widgets and screens -------------------------------------------------------

    def on_main_screen_ready(self, _message: MainScreen.Ready) -> None:
        """First paint of the main screen."""
        self.refresh_view()

    def on_source_view_breakpoint_toggled(self, message: SourceView.BreakpointToggled) -> None:
        """A click in the gutter."""
        self.control.toggle_breakpoint(message.line)
        self.refresh_view()

    def on_tensor_table_tensor_selected(self, message: TensorTable.TensorSelected) -> None:
        """A click on a tensor row."""
        self.user_selected = message.name
        self.refresh_view()

    def on_phase_bar_device_clicked(self, _message: PhaseBar.DeviceClicked) -> None:
        """A click on the device label opens the picker."""
        if not self.replay:
            self.action_device()

    @guarded
    def on_picker_screen_lesson_chosen(self, message: PickerScreen.LessonChosen) -> None:
        """Open the picked lesson in the debugger."""
        if self.open_lesson is not None:
            self._open_live(self.open_lesson(message.lesson))


def _device_text(header: Header) -> str:
    return f"{header.device} ({header.device_name})" if header.device_name else header.device
