"""The keys that move through a run, and the actions behind them (mixed into GradstepApp).

Each action asks RunControl to walk the history or send the engine a command, then
repaints. The mixin expects the app's `control`, `history` and `_after(note)`.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from textual.app import SystemCommand
from textual.binding import Binding

from tui.ui.guard import guarded
from tui.ui.screens.goto import GoToScreen
from tui.ui.state import next_iteration_test, phase_entry_test

if TYPE_CHECKING:
    from tui.ui.control import RunControl
    from tui.ui.state import History

# Stepping keys are priority bindings: the tree and the table would otherwise take
# space and the arrows; check_action turns them off away from the main screen.
KEY_BINDINGS = [
    Binding("space,n", "next", "Next", key_display="n/space", tooltip="Run to the next line (over calls)", priority=True),
    Binding("s", "step_into", "Step into", tooltip="Into a function, or backward()/step() node by node", priority=True),
    Binding("o", "step_out", "Step out", tooltip="Run until the current function returns", priority=True),
    Binding("left,p", "previous", "Back", key_display="←/p", tooltip="Previous step (history, never re-run)", priority=True),
    Binding("right", "forward", "Forward", key_display="→", tooltip="Next step: history first, then run", priority=True),
    Binding("c", "continue", "Continue", tooltip="Run to the next breakpoint or the end; c again pauses", priority=True),
    Binding("escape", "pause", "Pause", key_display="esc", tooltip="Pause a continue or a jump"),
    Binding("escape", "lessons", "Lessons", key_display="esc", tooltip="When nothing runs: back to the lesson picker"),
    Binding("b", "toggle_breakpoint", "Breakpoint", tooltip="Toggle a breakpoint on the current line", priority=True),
    Binding("ctrl+b", "break_if", "Break if…", key_display="^b",
            tooltip="A condition for this line's breakpoint (loss < 1), or a rule: grad:NAME, node:CLASS, grad-norm>K",
            priority=True),
    Binding("colon,e", "evaluate", "Evaluate", key_display=":",
            tooltip="Evaluate an expression in the paused script's frame; watch it at every step", priority=True),
    Binding("right_square_bracket", "next_iteration", "Next iter", key_display="]", priority=True),
    Binding("left_square_bracket", "previous_iteration", "Prev iter", key_display="[", priority=True),
    Binding("B", "next_phase('backprop')", "Next backprop", key_display="B", priority=True),
    Binding("O", "next_phase('optimize')", "Next optimize", key_display="O", priority=True),
    Binding("R", "next_phase('reset')", "Next reset", key_display="R", priority=True),
    Binding("home", "first_step", "First step", key_display="Home", tooltip="The first step of the history", priority=True),
    Binding("end", "last_step", "Last step", key_display="End", tooltip="The newest step of the history (nothing runs)", priority=True),
    Binding("g", "go_to", "Go to step", tooltip="Go to step N (0-based, as the phase bar counts)", priority=True),
    Binding("r", "restart", "Restart", tooltip="Stop the script and run it again from the start", priority=True),
    Binding("ctrl+s", "save", "Save", tooltip="Save as a .gstep: the steps so far, or the whole run", priority=True),
    Binding("x", "export", "Export graph", tooltip="Draw the autograd graph as svg/png/pdf/dot", priority=True),
    Binding("d", "device", "Device", tooltip="Run on cpu, cuda or mps", priority=True),
    Binding("m", "toggle_narrative", "Narrative", tooltip="Hide or show the lesson's narrative", priority=True),
    Binding("question_mark", "help", "Help", key_display="?"),
    Binding("q", "quit", "Quit"),
]


def key_help(bindings: Iterable[Binding]) -> list[tuple[str, str]]:
    """(keys, description) for every binding, for the help screen."""
    return [(binding.key_display or binding.key, binding.tooltip or binding.description) for binding in bindings]


def key_commands(app: Any, bindings: Iterable[Binding], screen: Any) -> Iterable[SystemCommand]:
    """The command palette's entries: every binding the app allows on `screen`, the one it was opened from.

    Asked while the palette is on top, check_action would see the palette and allow nothing.
    """
    seen: set[str] = set()
    for binding in bindings:
        if binding.action in seen or app.action_allowed(binding.action.split("(")[0], screen) is not True:
            continue
        seen.add(binding.action)
        label = f"{binding.description} ({binding.key_display or binding.key})"
        yield SystemCommand(label, binding.tooltip or binding.description, functools.partial(app.run_action, binding.action))


class NavigationActions:
    """Next, step into/out, back, forward, continue, pause, breakpoints and jumps."""

    control: RunControl
    history: History
    _after: Callable[..., None]  # the app's: show a note, if any, and repaint
    refresh_view: Callable[[], None]

    @guarded
    def action_next(self) -> None:
        """Next step over calls and a whole backward()/optimizer.step(): history first, then run."""
        self._after(self.control.step_over())

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
        """Run until the current function returns (or, inside a backward(), to the line after it)."""
        self._after(self.control.step_out())

    @guarded
    def action_previous(self) -> None:
        """←: the step before, read from the history (nothing re-runs)."""
        self.control.back()
        self._after()

    @guarded
    def action_continue(self) -> None:
        """Run to the next breakpoint or the end; pressed again, pause."""
        self._after(self.control.continue_run())

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
            self.refresh_view()  # at once, even while the engine runs

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
    def action_first_step(self) -> None:
        """Home: the first step."""
        self.control.go_to(0)
        self._after()

    @guarded
    def action_last_step(self) -> None:
        """End: the newest step in the history (live, nothing runs)."""
        self.control.go_to(self.history.head)
        self._after()

    @guarded
    def action_go_to(self) -> None:
        """g: ask for a step number, then show that step."""
        if not self.history.steps:
            return

        def chosen(index: int | None) -> None:
            if index is not None:
                self.control.go_to(index)
                self._after()

        self.push_screen(GoToScreen(self.history.current, self.history.head), chosen)  # type: ignore[attr-defined]

    @guarded
    def action_next_phase(self, phase: str) -> None:
        """Jump to where the next backprop, optimize or reset begins."""
        self._after(self.control.jump(phase_entry_test(phase)))
