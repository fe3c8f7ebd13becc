"""Forward → Backprop → Optimize → Reset, with the iteration, step k/last, LIVE/REPLAY and device.

Steps are numbered from 0 everywhere a learner sees them (this bar, `g`, export file
names, `gradstep show --step`): `step 11/1422` is step 11 of a history whose last step is 1422.

The current phase's label gets the `-lit` state class. A new step only toggles
classes and rewrites the counter, whose width is fixed (1fr): no layout pass.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.cells import cell_len
from textual import events
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.content import Content
from textual.message import Message
from textual.widgets import Static

from tui.render.numbers import step_counter
from tui.render.safe_text import visible

PHASE_LABELS = (("forward", "Forward"), ("backprop", "Backprop"), ("optimize", "Optimize"), ("reset", "Reset"))


@dataclass(frozen=True)
class PhaseBarState:
    """Everything the bar shows; equal states are not redrawn."""

    phase: str | None = None
    iteration: int | None = None
    step: int = -1  # the 0-based index of the step on screen (-1: none yet)
    last: int = -1  # the index of the newest step in the history
    replay: bool = False
    status: str = ""
    device: str = "cpu"


def counter_text(state: PhaseBarState) -> str:
    """`iteration 2  step 31/40  paused` (0-based: 40 is the index of the newest step)."""
    return counter_forms(state)[0]


def counter_forms(state: PhaseBarState) -> tuple[str, ...]:
    """The counter from its longest form to its shortest: the step number goes last."""
    step = step_counter(state.step, state.last)
    status = f"  {state.status}" if state.status else ""
    if state.iteration is None:
        return (step + status, step)
    return (
        f"iteration {state.iteration}  {step}{status}",
        f"iter {state.iteration}  {step}{status}",
        f"iter {state.iteration}  {step}",
        step,
    )


class Counter(Static):
    """The counter, in the longest of its forms that fits its width (the step number never goes)."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("no steps yet", id=id)
        self.forms: tuple[str, ...] = ("no steps yet",)

    def show(self, forms: tuple[str, ...]) -> None:
        if forms != self.forms:
            self.forms = forms
            self.refresh()  # 1fr wide: the text never moves the layout

    def render(self) -> Content:
        # Content, not a str: a str would be parsed as markup, and the iteration and status are data.
        width = self.content_region.width or self.size.width
        return Content(visible(next((form for form in self.forms if cell_len(form) <= width), self.forms[-1])))


class PhaseBar(Horizontal):
    """One line across the top of the main screen; a click on the device opens the picker."""

    class DeviceClicked(Message):
        """The learner clicked the device label."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.state = PhaseBarState()
        self._phases: dict[str, Static] = {}
        self._counter = Counter(id="phase-counter")
        self._mode = Static(" LIVE ", id="run-mode")
        self._device = Static("⚙ cpu", id="device-label", markup=False)

    def compose(self) -> ComposeResult:
        for position, (phase, label) in enumerate(PHASE_LABELS):
            if position:
                yield Static("→", classes="phase-arrow")
            self._phases[phase] = Static(label, id=f"phase-{phase}", classes="phase")
            yield self._phases[phase]
        yield self._counter
        yield self._mode
        yield self._device

    def show(self, state: PhaseBarState) -> None:
        """Light the current phase and rewrite what changed."""
        old, self.state = self.state, state
        if state == old and self.is_mounted:
            return
        for phase, label in self._phases.items():
            label.set_class(state.phase == phase, "-lit")
        self._counter.show(counter_forms(state))
        if state.replay != old.replay:
            self._mode.update(" REPLAY " if state.replay else " LIVE ")
        self._mode.set_class(state.replay, "-replay")
        if state.device != old.device:
            # The device can come from a recording's header: plain text, never markup.
            self._device.update(Content(visible(f"⚙ {state.device}")))

    def on_click(self, event: events.Click) -> None:
        if event.widget is self._device:
            event.stop()
            self.post_message(self.DeviceClicked())
