"""GradstepApp: the debugger on a live script, a recording, or the lesson picker.

The engine's session runs in its own thread and posts StepCaptured messages;
the handlers here own all state (a History) and repaint the main screen. This
module never imports torch: tui.commands.app hands it a LiveTarget whose
`start_session` imports the engine on a background thread.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from textual.app import App, SystemCommand
from textual.binding import Binding
from textual.screen import Screen
from textual.timer import Timer
from textual.worker import get_current_worker

from tui.render.events import pass_events
from tui.render.mistakes import Mistake, explain
from tui.render.safe_text import visible
from tui.steps.lazy import LazySteps
from tui.steps.model import Header, Step
from tui.steps.runs import RunResult, StepCommand
from tui.ui.control import RunControl
from tui.ui.evaluating import open_condition, open_evaluate
from tui.ui.guard import guarded
from tui.ui.live import LiveTarget, StepSource, start_in_background
from tui.ui.messages import (
    HistoryScanned,
    RunFinished,
    SessionFailed,
    SessionStarted,
    StepCaptured,
)
from tui.ui.narration import Narration
from tui.ui.navigation import KEY_BINDINGS, NavigationActions, key_commands, key_help
from tui.ui.openers import (
    DevicesFailed,
    DevicesListed,
    list_devices_in_background,
    open_device_picker,
    open_export,
)
from tui.ui.outline import scan as scan_outline
from tui.ui.predict import Predictor, predict_panel_state
from tui.ui.saving import (
    RecordingSaved,
    RecordProgress,
    SaveFailed,
    start_save,
    start_whole_run,
)
from tui.ui.screens.confirm import ConfirmScreen, QuitConfirmScreen
from tui.ui.screens.help import HelpScreen
from tui.ui.screens.main import MainScreen, MainView
from tui.ui.screens.picker import PickerScreen
from tui.ui.screens.save import SaveChoice, SaveScreen, free_path
from tui.ui.screens.script_input import InputRequested, ScriptInputScreen
from tui.ui.state import History, default_tensor, visible_block
from tui.ui.widgets.phase_bar import PhaseBar, PhaseBarState
from tui.ui.widgets.predict_panel import PREDICT_BINDING, PredictPanel
from tui.ui.widgets.source_view import SourceView
from tui.ui.widgets.tensor_table import TensorTable

# A command the engine answers within this long never shows "running…" first.
RUNNING_DELAY_S = 0.1
# Actions a recording cannot do: it runs no code and is already saved.
REPLAY_CANNOT = frozenset({"restart", "device", "save", "pause", "break_if"})
# Leaving (quit, restart, back to the lessons) asks first when the history holds more steps than this.
FEW_STEPS = 20


class GradstepApp(NavigationActions, App[int]):
    """Step through a PyTorch script, travel back through its history, replay recordings."""

    CSS_PATH = "app.tcss"
    TITLE = "gradstep"
    # ctrl+c as pdb has it: pause a run, and when nothing runs, ask whether to quit (Textual's own
    # ctrl+c only says "press q"). Not a priority binding: a focused input still copies with it.
    INTERRUPT_BINDING = Binding("ctrl+c", "interrupt", "Interrupt", show=False)
    BINDINGS = [*KEY_BINDINGS, PREDICT_BINDING, INTERRUPT_BINDING]  # a list of BindingType, as App declares it

    def __init__(
        self,
        *,
        live: LiveTarget | None = None,
        recording: Any | None = None,
        lessons: Sequence[Any] | None = None,
        open_lesson: Callable[[Any], LiveTarget] | None = None,
        predict: bool = False,
        progress: Any | None = None,
        lesson_id: str | None = None,
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
        self.saved_steps = -1  # the history's length when it was last saved
        self._saving_length = -1
        self.saving_whole: int | None = None  # steps recorded so far by a whole-run save in progress
        # ctrl+s writes here: a script that calls os.chdir must not move where recordings land.
        self.start_dir = _current_dir()
        self._shown_source: str | None = None  # the text in the source view
        self._default_for: tuple[Step | None, str | None] = (None, None)
        self._explained: tuple[Step | None, Mistake | None] = (None, None)  # the classic mistake at a step
        self._shown_position = -1  # the history position on screen
        self._running_timer: Timer | None = None
        self._running_shown = False  # whether the footer offers Pause (True) or Lessons
        # Predict mode (tui.ui.predict); `progress` saves a lesson's score (tui.progress, from tui.commands.app).
        self.predictor = Predictor(enabled=predict)
        self.progress = progress
        self.lesson_id = lesson_id
        self._asking_shown = False
        # `:` evaluate: what was typed (↑/↓), and the watches the engine evaluates at every step.
        self.evaluate_history: list[str] = []
        self.watches: list[str] = list(live.extra.get("watches", ())) if live is not None else []
        self.conditions: dict[int, str] = self.control.conditions  # one dict: the continue test reads it
        self.conditions.update(dict(live.extra.get("conditions", ())) if live is not None else {})
        self.break_on: list[Any] = list(live.extra.get("break_on", ())) if live is not None else []

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
    def queued(self) -> list[StepCommand]:
        return self.control.queued

    @property
    def result(self) -> RunResult | None:
        return self.control.result

    @property
    def commands_log(self) -> list[StepCommand]:
        return self.control.commands_log

    @property
    def status(self) -> str:
        return self.control.status()

    # -- start-up ---------------------------------------------------------------------

    def on_mount(self) -> None:
        if self.recording is not None:
            if isinstance(self.recording.steps, LazySteps):  # an indexed file: read block by block
                self.history = History.lazy(self.recording.steps)
                self.control.history = self.history
                # The panes that read every step wait for one scan, after the first paint.
                self.call_after_refresh(self._scan_history)
            else:
                for step in self.recording.steps:
                    self.history.append(step)
            self.history.breakpoints.update(self.recording.header.breakpoints)
            self.device = _device_text(self.recording.header)
            self._open_main(self.recording.header.source)
        elif self.live_target is not None:
            self._open_live(self.live_target)
        else:
            self.push_screen(self._picker())

    def _scan_history(self) -> None:
        """Scan a lazily read recording on a worker thread; it posts what it found (HistoryScanned)."""
        steps = self.history.recorded_steps
        assert isinstance(steps, LazySteps)
        # A cache of its own, its strings made visible as the history's are: the thread shares no state.
        scanning = steps.sibling(transform=visible_block, cached_blocks=1)

        def work() -> None:
            worker = get_current_worker()
            scan_outline(
                scanning,
                lambda outline: self.post_message(HistoryScanned(outline)),
                stopped=lambda: worker.is_cancelled,
            )

        self.run_worker(work, name="scan", group="scan", thread=True, exclusive=True)

    def on_history_scanned(self, message: HistoryScanned) -> None:
        """The scan of a lazily read recording got further: the panes that read every step catch up."""
        self.history.adopt(message.outline)
        if message.outline.error is not None:
            self.notify(visible(message.outline.error), title="Part of this recording cannot be read", severity="error", markup=False)
        self.refresh_view()

    def _picker(self) -> PickerScreen:
        """The lesson picker, with each lesson's saved progress."""
        notes: dict[str, str] = {}
        if self.progress is not None:
            for lesson in self.lessons or ():
                try:
                    notes[lesson.id] = self.progress.note(lesson.id)
                except Exception:  # a progress file is a nicety: never keep the picker from opening
                    continue
        return PickerScreen(self.lessons or (), notes=notes)

    def _open_main(self, source: str) -> None:
        self.narration = Narration(source)
        self.predictor.points = self.narration.predict_points()
        self._shown_source = source
        if self.main_screen is None:
            self.main_screen = MainScreen(
                source, narrative=self.narration.available, folds=self.narration.folds(), draw=self.refresh_view
            )
            self.push_screen(self.main_screen)
        else:
            self.main_screen.set_source(source, narrative=self.narration.available, folds=self.narration.folds())
            if self.screen is not self.main_screen:
                self.push_screen(self.main_screen)

    def _open_live(self, target: LiveTarget) -> None:
        self.live_target = target
        self.history.breakpoints.update(target.breakpoints)
        self.device = target.device or "cpu"
        self.requested_device = target.device
        self.sub_title = target.title or target.script.name
        lesson_id = target.extra.get("lesson") if target.extra else None
        if lesson_id is not None and lesson_id != self.lesson_id:
            self.lesson_id = lesson_id
            self.predictor = Predictor(enabled=self.predictor.enabled)
        self._open_main(target.source)
        # Paint the source first: the session's thread imports torch, which competes for the GIL.
        self.call_after_refresh(self._start_session, target.device)

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
        if hasattr(message.session, "on_input"):  # the child's input(): ask the learner here
            generation = message.generation
            message.session.on_input = lambda prompt: self.post_message(InputRequested(prompt, generation))
        if self.watches and hasattr(message.session, "set_watches"):  # watches added in the app outlive a restart
            message.session.set_watches(self.watches)
        if self.conditions and hasattr(message.session, "set_conditions"):  # so do conditions and rules
            message.session.set_conditions(sorted(self.conditions.items()))
        if self.break_on and hasattr(message.session, "set_break_on"):
            message.session.set_break_on(self.break_on)
        self._follow_source(message.header.source)
        self.refresh_view()

    def on_input_requested(self, message: InputRequested) -> None:
        """The script waits in input(): show its prompt and send back the learner's line (Esc: EOF)."""
        session = self.control.session
        if message.generation != self.generation or session is None:
            return
        answer = getattr(session, "answer_input")
        self.push_screen(ScriptInputScreen(message.prompt), callback=answer)

    def _follow_source(self, source: str) -> None:
        """Show the text the engine runs: the script may have been edited since it was shown (restart)."""
        if source == self._shown_source or self.main_screen is None or not self.main_screen.ready:
            return
        if self.live_target is not None:
            self.live_target = replace(self.live_target, source=source)
        self.narration = Narration(source)
        self.predictor.points = self.narration.predict_points()
        self._shown_source = source
        # The learner's choice to hide or show the narrative stays with the screen.
        self.main_screen.set_source(source, narrative=self.narration.available, folds=self.narration.folds())
        # Breakpoints past the new last line no longer fit: drop them, here and in the session.
        lines = len(source.splitlines())
        gone = {line for line in self.history.breakpoints if line > lines}
        if gone:
            self.history.breakpoints.difference_update(gone)
            if self.control.session is not None:
                self.control.session.set_breakpoints(sorted(self.history.breakpoints))

    def on_session_failed(self, message: SessionFailed) -> None:
        """The session could not start: say why, stay up."""
        if message.generation == self.generation:
            self.control.finished(RunResult(status="could not start", steps=len(self.history), exception=None))
            self.notify(visible(message.error, multiline=True), title="The script could not start", severity="error", timeout=10, markup=False)
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
            status = message.result.status
            failure = message.result.exception if status in ("failed", "died") else None
            if failure is not None and status == "died":  # the script's process ended: say how, keep the history
                self.notify(visible(failure.message, multiline=True), title=visible(f"The script's process died ({failure.type})"), severity="error", markup=False)
            elif failure is not None:  # gradstep itself could not go on: say why, keep the history
                self.notify(visible(f"{failure.type}: {failure.message}", multiline=True), title="The run stopped", severity="error", markup=False)

    # -- drawing -------------------------------------------------------------------------

    def selected_tensor(self) -> str | None:
        """The learner's pick if this step has it, else the loss-like default."""
        step = self.history.step
        if step is None:
            return None
        if self.user_selected is not None and self.user_selected in step.tensors:
            return self.user_selected
        if self._default_for[0] is not step:  # walks the graph: once per step
            self._default_for = (step, default_tensor(step))
        return self._default_for[1]

    def refresh_view(self) -> None:
        """Repaint the main screen from the history (each pane skips unchanged input)."""
        if self.main_screen is None or not self.main_screen.ready or not self.screen_stack:  # leaving: no screens
            return
        running = self.action_allowed("pause", self.main_screen) is True
        if running != self._running_shown:  # the footer swaps Escape's "Pause" and "Lessons"
            self._running_shown = running
            self.refresh_bindings()
        try:
            seeking = self.control.continuing or self.control.seek is not None
            if self.predictor.arrive(self.history.steps, self.history.current, running=seeking):
                self._predictions_done()
            if self.predictor.asking != self._asking_shown:  # typing a guess turns the stepping keys off
                self._asking_shown = self.predictor.asking
                self.refresh_bindings()
            step = self.history.step
            selected = self.selected_tensor()
            bar = PhaseBarState(
                phase=step.phase if step is not None else None,
                iteration=step.iteration if step is not None else None,
                step=self.history.current,
                last=self.history.head,
                replay=self.replay,
                status=self._status_text(),
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
                tensor_rows=self.history.max_tensors,
                pass_events=pass_events(self.history.steps, self.history.current),
                explanation=self._explanation(step),
            )
            view = predict_panel_state(self.predictor, view, self.history.steps, self.history.current, self.narration.at)
            self.main_screen.show(view)
            self._shown_position = self.history.current
        except Exception as error:  # a drawing bug must not take the session down with it
            self.notify(visible(f"{type(error).__name__}: {error}", multiline=True), title="Could not draw this step", severity="error", markup=False)

    def _explanation(self, step: Step | None) -> Mistake | None:
        """A classic mistake this step shows, explained (tui.render.mistakes); once per step."""
        if step is None or self._shown_source is None:
            return None
        if self._explained[0] is not step:
            self._explained = (step, explain(self.history.steps, self.history.current, self._shown_source))
        return self._explained[1]

    def _status_text(self) -> str:
        """The run's state for the phase bar, and a whole-run save's progress."""
        status = self.control.status()
        if self.predictor.enabled or self.predictor.score.asked:
            status += f"  {self.predictor.score.text()}"
        if self.saving_whole is not None:
            status += f"  saving the whole run: {self.saving_whole:,} steps"
        return status

    def _after(self, note: str | None = None) -> None:
        """After a key: show the note, if any, and repaint.

        A key that only sent the engine a command would change the screen by the word
        "running…": that waits RUNNING_DELAY_S, so a quick answer is painted in one frame.
        """
        if note:
            self.notify(note, timeout=2, markup=False)
        if self.control.awaiting and self.history.current == self._shown_position:
            if self._running_timer is not None:
                self._running_timer.stop()
            self._running_timer = self.set_timer(RUNNING_DELAY_S, self._show_running)
            return
        self.refresh_view()

    def _show_running(self) -> None:
        self._running_timer = None
        if self.control.awaiting or self.control.continuing:
            self.refresh_view()

    # -- actions ---------------------------------------------------------------------------

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        """Stepping keys only on the main screen; what replay cannot do is not offered there."""
        return self.action_allowed(action, self.screen)

    def action_allowed(self, action: str, screen: Screen) -> bool | None:
        """May `action` run with `screen` in front? False hides it from the footer and the palette."""
        if action in ("quit", "help", "command_palette", "interrupt"):
            return True
        if self.main_screen is None or screen is not self.main_screen:
            return False
        if self.predictor.asking:  # the keys type the guess; the palette still toggles predict mode
            return action == "toggle_predict"
        if self.replay and action in REPLAY_CANNOT:
            return False
        if action == "toggle_narrative" and not self.narration.available:
            return False
        if action == "pause":  # Escape pauses while something runs, else leaves for the lessons
            return self.control.continuing or self.control.seek is not None or self.control.awaiting
        if action == "lessons":
            return self.lessons is not None and not self.action_allowed("pause", screen)
        return True

    # -- leaving a run: ask first when steps would be lost ----------------------------------

    def history_at_stake(self) -> int:
        """How many unsaved live steps leaving would throw away (0 when few, saved, or a replay)."""
        if self.replay or len(self.history) <= FEW_STEPS or self.saved_steps == len(self.history):
            return 0
        return len(self.history)

    def confirm_then(self, doing: str, then: Callable[[], None]) -> None:
        """Run `then` now, or after a yes when it would throw away more than a few steps."""
        steps = self.history_at_stake()
        if not steps:
            then()
            return
        if isinstance(self.screen, ConfirmScreen):
            return
        question = f"{doing}? The {steps:,} steps of this run are not saved (ctrl+s saves them)."
        self.push_screen(ConfirmScreen(question, yes=doing), lambda yes: then() if yes else None)

    @guarded
    def action_restart(self) -> None:
        """Stop the script and run it afresh (breakpoints stay); asks first if history would be lost."""
        if self.live_target is None:
            return
        self.confirm_then("Restart", self._restart_now)

    def _restart_now(self) -> None:
        if self.live_target is None:
            return
        self.control.stop()
        self.control.reset()
        self.predictor.reset()
        self._start_session(self.requested_device)
        self.notify("Restarted.", timeout=2, markup=False)

    @guarded
    def action_save(self) -> None:
        """Ask where to save and what (the steps so far, or the whole run), then write on a worker."""
        if self.header is None or not self.history.steps:
            self.notify("Nothing to save yet.", severity="warning", markup=False)
            return
        folder = self.start_dir or Path.cwd()
        default = free_path(folder, Path(self.header.script).stem)
        can_record_whole = self.live_target is not None and not self.history.finished
        screen = SaveScreen(default, steps=len(self.history), can_record_whole=can_record_whole)
        self.push_screen(screen, self._save_chosen)

    @guarded
    def _save_chosen(self, choice: SaveChoice | None) -> None:
        if choice is None or self.header is None:
            return
        # A relative name is relative to where gradstep started: the script may have moved the cwd.
        path = choice.path if choice.path.is_absolute() else (self.start_dir or Path.cwd()) / choice.path
        if choice.whole_run and self.live_target is not None:
            self.saving_whole = 0
            start_whole_run(self, self.live_target.script, path, device=self.requested_device, max_steps=self.header.max_steps)
            self.notify(f"Recording the whole run to {path} in the background…", title="Saving", timeout=4, markup=False)
            self.refresh_view()
            return
        start_save(self, self.header, tuple(self.history.recorded_steps), tuple(sorted(self.history.breakpoints)), path)
        self._saving_length = len(self.history)

    def on_record_progress(self, message: RecordProgress) -> None:
        """The whole-run recording moved on: the phase bar says how far."""
        self.saving_whole = message.steps
        self.refresh_view()

    def on_recording_saved(self, message: RecordingSaved) -> None:
        """The save worker wrote the file."""
        self.last_saved = message.path
        if self.saving_whole is None:
            self.saved_steps = self._saving_length
        else:  # the whole run is on disk: nothing of this session is lost by leaving
            self.saved_steps = len(self.history)
        self.saving_whole = None
        self.refresh_view()
        self.notify(f"Saved {message.steps} steps to {message.path}", title="Saved", markup=False)

    def on_save_failed(self, message: SaveFailed) -> None:
        """The save worker could not write the file."""
        self.saving_whole = None
        self.refresh_view()
        self.notify(f"Could not save: {message.error}", severity="error", markup=False)

    @guarded
    def action_evaluate(self) -> None:
        """Evaluate an expression in the paused script's frame (in replay: the recorded watches)."""
        open_evaluate(self)

    @guarded
    def action_break_if(self) -> None:
        """A condition for the breakpoint on this line, or a break-on rule (grad:NAME, node:CLASS, grad-norm>K)."""
        open_condition(self)

    @guarded
    def action_export(self) -> None:
        """Draw the graph at this step (svg, png, pdf or dot)."""
        open_export(self)

    @guarded
    def action_device(self) -> None:
        """Choose cpu, cuda or mps: list them on a worker (torch may load), then open the picker."""
        list_devices_in_background(self)

    @guarded
    def on_devices_listed(self, message: DevicesListed) -> None:
        """The device worker answered: open the picker if the main screen is still in front."""
        if self.main_screen is not None and self.screen is self.main_screen:
            open_device_picker(self, message.devices)

    def on_devices_failed(self, message: DevicesFailed) -> None:
        """Listing devices failed: say why."""
        self.notify(f"Could not list devices: {message.error}", severity="error", markup=False)

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
        self.predictor.reset()
        self.requested_device = name
        self.header = None
        self._start_session(name)
        self.notify(f"Restarting on {name}…", timeout=3, markup=False)

    @guarded
    def action_toggle_narrative(self) -> None:
        """Hide or show the lesson's narrative."""
        if self.main_screen is not None:
            self.main_screen.toggle_narrative()
            self.refresh_view()

    def action_help(self) -> None:
        """Show every key."""
        if not isinstance(self.screen, HelpScreen):
            self.push_screen(HelpScreen(key_help([*KEY_BINDINGS, PREDICT_BINDING])))

    # -- predict mode ------------------------------------------------------------------------

    @guarded
    def action_toggle_predict(self) -> None:
        """Predict mode on or off: before a step changes numbers, guess them first."""
        on = self.predictor.toggle()
        if on:
            self.notify("Before a step changes a number, you are asked for it first (Esc skips).", title="Predict mode on", timeout=4)
        else:
            self.notify("Predict mode off.", timeout=2)
        self.refresh_view()

    def on_predict_panel_answered(self, message: PredictPanel.Answered) -> None:
        """The learner typed a guess: check it, then show the value (and how it comes about)."""
        self.predictor.answer(message.text)
        self.refresh_view()

    def on_predict_panel_skipped(self, _message: PredictPanel.Skipped) -> None:
        """The learner skipped the question: the value shows."""
        self.predictor.skip()
        self.refresh_view()

    def _predictions_done(self) -> None:
        """The run's end, reached in predict mode: the score, and the lesson's progress saved."""
        score = self.predictor.score
        self.notify(f"{score.right} right of {score.asked} asked, {score.skipped} skipped.", title="Predictions", timeout=8)
        self._save_progress()

    def _save_progress(self) -> None:
        """Write the lesson's progress file (predict mode only; nothing else is written)."""
        predictor = self.predictor
        if self.progress is None or self.lesson_id is None or not (predictor.enabled or predictor.score.asked):
            return
        score = predictor.score
        try:
            self.progress.save(self.lesson_id, right=score.right, asked=score.asked, skipped=score.skipped, finished=predictor.finished)
        except OSError as error:
            self.notify(f"Could not save this lesson's progress: {error}", severity="warning")

    def action_interrupt(self) -> None:
        """ctrl+c: pause what runs (a continue, a jump); otherwise ask to quit; ctrl+c again on that question quits."""
        front = self.screen
        main = self.main_screen
        if main is not None and front is main and self.action_allowed("pause", main):
            self.control.pause()
            self.notify("Paused (ctrl+c). Press ctrl+c again to quit.", markup=False)
            return
        if isinstance(front, ConfirmScreen):
            return
        steps = self.history_at_stake()
        lost = f" The {steps:,} steps of this run are not saved (ctrl+s saves them)." if steps else ""
        self.push_screen(
            QuitConfirmScreen(f"Quit gradstep?{lost} (ctrl+c again: quit)"),
            lambda yes: self._quit_now() if yes else None,
        )

    async def action_quit(self) -> None:
        """Stop the script (without waiting on it) and leave; asks first if history would be lost."""
        self.confirm_then("Quit", self._quit_now)

    def _quit_now(self) -> None:
        self._save_progress()
        self.generation += 1
        self.control.stop()
        self.exit(0)

    @guarded
    def action_lessons(self) -> None:
        """Back to the lesson picker (the run stops); asks first if history would be lost."""
        if self.lessons is not None:
            self.confirm_then("Leave this lesson", self._lessons_now)

    def _lessons_now(self) -> None:
        self._save_progress()
        self.predictor = Predictor(enabled=self.predictor.enabled)
        self.lesson_id = None
        self.generation += 1
        self.control.stop()
        self.control.reset()
        self.live_target = None
        self.header = None
        self.user_selected = None
        if self.main_screen is not None and self.main_screen in self.screen_stack:
            while self.screen is not self.main_screen:
                self.pop_screen()
            self.pop_screen()
        self.main_screen = None
        if not isinstance(self.screen, PickerScreen):
            self.push_screen(self._picker())

    def on_unmount(self) -> None:
        self.control.stop()

    def get_system_commands(self, screen: Screen) -> Iterable[SystemCommand]:
        """Every key's action in the command palette too."""
        yield from super().get_system_commands(screen)
        yield from key_commands(self, [*KEY_BINDINGS, PREDICT_BINDING], screen)

    # -- from widgets and screens -------------------------------------------------------

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


def _current_dir() -> Path | None:
    """The directory the app was started in (None if it no longer exists)."""
    try:
        return Path.cwd()
    except OSError:
        return None


def _device_text(header: Header) -> str:
    """The header's device as the phase bar shows it: a recording's string, so its controls made visible."""
    return visible(f"{header.device} ({header.device_name})" if header.device_name else header.device)
