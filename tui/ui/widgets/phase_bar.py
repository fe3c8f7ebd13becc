"""Forward → Backprop → Optimize → Reset, with the iteration, step k of N, LIVE/REPLAY and device.

One line drawn by render(): a new step repaints this widget alone, with no
layout pass (separate Labels would re-layout the screen on every keystroke).
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual import events
from textual.message import Message
from textual.widget import Widget

PHASE_LABELS = (("forward", "Forward"), ("backprop", "Backprop"), ("optimize", "Optimize"), ("reset", "Reset"))


@dataclass(frozen=True)
class PhaseBarState:
    """Everything the bar shows; equal states are not redrawn."""

    phase: str | None = None
    iteration: int | None = None
    step_number: int = 0
    step_count: int = 0
    replay: bool = False
    status: str = ""
    device: str = "cpu"


class PhaseBar(Widget):
    """One line across the top of the main screen; a click on the device opens the picker."""

    COMPONENT_CLASSES = {
        "phase-bar--phase",
        "phase-bar--lit",
        "phase-bar--counter",
        "phase-bar--status",
        "phase-bar--live",
        "phase-bar--replay",
        "phase-bar--device",
    }

    class DeviceClicked(Message):
        """The learner clicked the device label."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.state = PhaseBarState()
        self._device_span = (0, 0)

    def show(self, state: PhaseBarState) -> None:
        """Repaint when the state changed."""
        if state != self.state:
            self.state = state
            self.refresh()

    def render(self) -> Text:
        state = self.state
        style = self.get_component_rich_style
        text = Text(no_wrap=True, overflow="ellipsis")
        for position, (phase, label) in enumerate(PHASE_LABELS):
            if position:
                text.append(" → ", style=style("phase-bar--phase"))
            if state.phase == phase:
                text.append(f" {label} ", style=style("phase-bar--lit"))
            else:
                text.append(label, style=style("phase-bar--phase"))
        text.append("   ")
        if state.iteration is not None:
            text.append(f"iteration {state.iteration}  ", style=style("phase-bar--counter"))
        counter = f"step {state.step_number} of {state.step_count}" if state.step_count else "no steps yet"
        text.append(counter, style=style("phase-bar--counter"))
        if state.status:
            text.append(f"  {state.status}", style=style("phase-bar--status"))
        text.append("  ")
        if state.replay:
            text.append(" REPLAY ", style=style("phase-bar--replay"))
        else:
            text.append(" LIVE ", style=style("phase-bar--live"))
        text.append("  ")
        start = text.cell_len
        text.append(f"⚙ {state.device}", style=style("phase-bar--device"))
        self._device_span = (start, text.cell_len)
        return text

    def on_click(self, event: events.Click) -> None:
        offset = event.get_content_offset(self)
        if offset is not None and self._device_span[0] <= offset.x < self._device_span[1]:
            event.stop()
            self.post_message(self.DeviceClicked())
