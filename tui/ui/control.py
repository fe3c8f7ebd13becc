"""What the learner's keys do to a run: walk the history, or send the engine a command.

Plain Python (no textual, no torch): the app calls these methods from its
actions and message handlers, then repaints. Forward moves walk the recorded
history first and only run the script at the live head; back moves only read.
"""

from __future__ import annotations

from tui.steps.model import Step
from tui.steps.runs import STEP_COMMANDS, RunResult, StepCommand
from tui.ui.live import StepSource
from tui.ui.state import History, StepTest, at_breakpoint, step_out_test, step_over_test

# A jump (next iteration / phase) that runs the script gives up after this many steps.
MAX_SEEK_STEPS = 20_000
# Continue (`c`) keeps every step it passes, up to this many per press (lesson 03's 100
# iterations are ~1,400); past it the script runs untraced, at native speed, to the
# breakpoint, and the engine records one "untraced" step saying which lines and
# iterations it ran without recording them.
CONTINUE_BUDGET = 20_000
# While a jump or a continue runs, the phase bar's count is repainted every this many steps.
PROGRESS_EVERY = 200
# Keystrokes typed while the script is busy wait in line, up to this many.
MAX_QUEUED = 16


class RunControl:
    """The live session (if any), the history, and what is in flight between them."""

    def __init__(self, history: History, *, replay: bool) -> None:
        self.history = history
        self.replay = replay
        self.session: StepSource | None = None
        self.awaiting = False
        self.continuing = False
        self.queued: list[StepCommand] = []
        self.seek: StepTest | None = None
        self.seek_count = 0
        self.seek_budget = MAX_SEEK_STEPS
        # Breakpoint conditions by line (the app's ctrl+b, --break LINE:CONDITION): continue stops where they hold.
        self.conditions: dict[int, str] = {}
        self.continue_budget = CONTINUE_BUDGET
        # Where the view waits while a jump or a continue runs (None: follow the head as usual).
        self.waiting_at: int | None = None
        self.restore: list[StepCommand] = []
        self.restore_to = -1
        self.commands_log: list[StepCommand] = []
        # Every session this app started (a restart or a device switch starts another): each is
        # ended for good when the app leaves, not only the current one.
        self.started: list[StepSource] = []
        self.result: RunResult | None = None

    # -- the session's life ---------------------------------------------------------------

    def reset(self, *, restore_to: int = -1) -> None:
        """Forget the run (restart); with restore_to, replay the same commands back to that step."""
        self.restore = list(self.commands_log) if restore_to >= 0 else []
        self.restore_to = restore_to
        self.session = None
        self.awaiting = self.continuing = False
        self.queued.clear()
        self.seek = None
        self.waiting_at = None
        self.result = None
        self.commands_log.clear()
        self.history.clear()

    def attach(self, session: StepSource) -> None:
        """The session is up; it starts paused and posts its first step (maybe already here)."""
        self.session = session
        self.started.append(session)
        self.awaiting = not self.history.steps
        if self.history.steps and self.restore_to >= 0:
            self._restore_next()

    def stop(self) -> None:
        """Ask the session to stop; never wait on it."""
        if self.session is not None:
            try:
                self.session.stop()
            except Exception:  # stopping is best effort: the session may be gone already
                pass

    def captured(self, step: Step) -> bool:
        """A step arrived; returns True when the screen should repaint now.

        A single command's step is followed if the learner is at the head. A jump or a
        continue sends step after step; the view waits where the key was pressed and
        moves only to the step that ends it (unless the learner walked away meanwhile).
        """
        if self.waiting_at is None:
            follow = self.history.at_head
        else:
            follow = self.history.current == self.waiting_at
        self.history.append(step)
        if step.kind == "untraced":  # the engine goes on to the step it stopped at: still running
            return False
        self.awaiting = False
        if self.restore_to >= 0:
            if self._restore_next():
                return False
            follow = False
        if self.seek is not None:
            previous = self.history.steps[-2] if len(self.history) > 1 else None
            self.seek_count += 1
            if self.seek(step, previous) or self.history.finished:
                self.seek = None
            elif self.seek_count >= self.seek_budget:
                self.seek = None
                if self.continuing:  # past the budget: run untraced to the breakpoint
                    self.send("resume")
                    return self.seek_count % PROGRESS_EVERY == 0
            else:
                self.send("step_into")
                return self.seek_count % PROGRESS_EVERY == 0  # repaint the count now and then
        self.continuing = False
        self.waiting_at = None
        if follow:
            self.history.go(self.history.head)
        if self.queued and not self.history.finished:
            self.send(self.queued.pop(0))
        return True

    def _restore_next(self) -> bool:
        """Replay the next logged command toward restore_to; False once there (or out of commands)."""
        if self.restore and self.history.head < self.restore_to and not self.history.finished:
            if self.send(self.restore.pop(0)):
                return True
        if self.session is None and self.history.head < self.restore_to:
            return True  # wait for the session to attach, then go on
        self.history.go(self.restore_to)
        self.restore.clear()
        self.restore_to = -1
        return False

    def finished(self, result: RunResult) -> None:
        """The run ended: no more commands."""
        if self.waiting_at is not None and self.history.current == self.waiting_at and self.history.steps:
            # a continue or a jump ended without its step (the script's process died): show where it got to
            self.history.go(self.history.head)
        self.result = result
        self.awaiting = self.continuing = False
        self.queued.clear()
        self.seek = None
        self.waiting_at = None

    @property
    def can_run(self) -> bool:
        """A live session that has not ended."""
        return self.session is not None and self.result is None and not self.history.finished

    @property
    def at_live_head(self) -> bool:
        return not self.replay and self.history.at_head and not self.history.finished

    def send(self, command: StepCommand) -> bool:
        """Send a command to the session (queued while it is busy)."""
        if not self.can_run:
            return False
        if self.awaiting:
            if len(self.queued) < MAX_QUEUED:
                self.queued.append(command)
            return True
        assert self.session is not None
        getattr(self.session, command)()
        if command in STEP_COMMANDS:
            self.commands_log.append(command)
        self.awaiting = True
        return True

    # -- what the keys do ------------------------------------------------------------------

    def forward(self, command: StepCommand) -> str | None:
        """History first, then the engine; returns a note for the learner, if any."""
        if not self.history.at_head:
            self.history.go(self.history.current + 1)
        elif self.at_live_head:
            self.send(command)
        elif self.replay:
            return "This is the last recorded step."
        return None

    def step_over(self) -> str | None:
        """n: over calls and a whole backward()/optimizer.step(), in the history as the engine does."""
        step, line = self.history.step, self.history.line_of_current()
        if step is None or line is None or self.history.at_head:
            return self.forward("step_over")
        went, note = self._go_to_search(self.history.find_forward(step_over_test(line)))
        if went:
            return note
        head = self.history.steps[-1]
        self.history.go(self.history.head)
        if self.at_live_head:  # not recorded yet: on from the newest step, back out to this function
            self.send("step_out" if head.kind == "line" and head.depth > line.depth else "step_over")
        return None

    def go_to(self, index: int) -> None:
        """Home, End and g: any recorded step (End: the newest; nothing runs)."""
        self.history.go(index)

    def back(self) -> None:
        """The step before, from the history (nothing re-runs)."""
        self.history.go(self.history.current - 1)

    def step_out(self) -> str | None:
        """To the first later step back in a caller (or past a backward()), from history or by running."""
        step = self.history.step
        if step is None:
            return None
        went, note = self._go_to_search(self.history.find_forward(step_out_test(step, self.history.line_of_current())))
        if went:
            return note
        if self.replay and self.history.at_head:
            return "This is the last recorded step."
        self.history.go(self.history.head)
        if self.at_live_head:
            self.send("step_out")
        return None

    def continue_run(self) -> str | None:
        """To the next breakpoint or the end, keeping every step passed; pressed while running, pause.

        Live, it steps into every line and sub-step (what `gradstep record` keeps) up to
        `continue_budget` steps, then lets the engine run untraced the rest of the way.
        """
        if self.continuing or self.seek is not None:
            self.pause()
            return None
        test = at_breakpoint(self.history.breakpoints, self.conditions)
        if self.replay or not self.history.at_head:
            went, note = self._go_to_search(self.history.find_forward(test, lines=self.history.breakpoints))
            if not went:
                self.history.go(self.history.head)
            return note
        if self.at_live_head:
            self._start_seek(test, self.continue_budget)
            self.continuing = self.seek is not None
        return None

    def pause(self) -> None:
        """Stop a continue or a jump at the script's next line."""
        self.queued.clear()
        self.seek = None
        if self.session is not None and (self.continuing or self.awaiting):
            self.session.pause()
        self.continuing = False

    def jump(self, test: StepTest) -> str | None:
        """To the next step passing `test`: from history, else by running step by step."""
        went, note = self._go_to_search(self.history.find_forward(test))
        if went:
            return note
        if self.replay:
            return "No such step later in this recording."
        self.history.go(self.history.head)
        if self.at_live_head:
            self._start_seek(test, MAX_SEEK_STEPS)
        return None

    def _go_to_search(self, found: int | None) -> tuple[bool, str | None]:
        """Go where a forward search in the history ended: the step it found, or, when it stopped
        early (a lazy replay still reading its file), the last step it looked at, saying so.
        Returns whether it went anywhere, and the note for the learner."""
        if found is not None:
            self.history.go(found)
            return True, None
        stopped = self.history.search_stopped_at
        if stopped is not None:
            self.history.go(stopped)
            return True, _still_reading(stopped)
        return False, None

    def _start_seek(self, test: StepTest, budget: int) -> None:
        """Step into the script until a step passes `test`; the view waits at the head."""
        if not self.send("step_into"):
            return
        self.seek = test
        self.seek_count = 0
        self.seek_budget = budget
        self.waiting_at = self.history.head

    def toggle_breakpoint(self, line: int) -> None:
        """Add or remove a breakpoint, in the history and the running session."""
        self.history.toggle_breakpoint(line)
        if self.session is not None:
            self.session.set_breakpoints(sorted(self.history.breakpoints))

    def status(self) -> str:
        """A word or two for the phase bar."""
        if self.replay:
            # The REPLAY badge already says it runs nothing: at 80 columns the step number needs the room.
            return "" if self.history.steps else "empty recording"
        if self.continuing:
            if self.seek is None:
                return "continuing untraced… (Esc pauses)"
            return f"continuing… {self.seek_count} steps kept (Esc pauses)"
        if self.seek is not None:
            return f"running to the step… {self.seek_count} steps (Esc stops)"
        if self.restore_to >= 0:
            return "running to the step… (Esc stops)"
        if self.awaiting:
            return "running…" if self.history.steps else "starting…"
        if self.result is not None:
            status = str(getattr(self.result, "status", "finished"))
            exception = getattr(self.result, "exception", None)
            if status == "died" and exception is not None:  # the child ended without its result
                return f"script died: {exception.type}"
            return status
        if self.history.finished:
            return self.history.steps[-1].kind
        return "paused" if self.session is not None else "starting… (loading torch)"


def _still_reading(stopped: int | None) -> str | None:
    """What a search in a lazy replay says when it stopped where the background scan has not been."""
    if stopped is None:
        return None
    return f"Searched up to step {stopped:,}: the rest of this recording is still being read. Press again to go on."
