"""The predict panel: the open question and a field to answer it, or the verdicts at this step.

Every string here comes from a recording (tensor names, numbers): it is drawn as Text,
never as markup.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.widgets import Input, Static

# Predict mode's key: in the footer (when there is room), the palette and the help screen.
PREDICT_BINDING = Binding(
    "a", "toggle_predict", "Predict", tooltip="Predict mode: guess each number before the step reveals it", priority=True
)
PLACEHOLDER = "a number, a list like [2, 2, 2], or None"


@dataclass(frozen=True)
class PanelState:
    """What the panel shows: a question (with its hint) or verdict lines; nothing hides it."""

    question: str | None = None
    hint: str = ""
    lines: tuple[str, ...] = ()


class PredictPanel(Vertical):
    """Docked above the footer while predict mode has something to say at this step."""

    BINDINGS = [Binding("escape", "skip", "Skip", show=True)]

    class Answered(Message):
        """The learner typed a guess and pressed Enter (an empty one skips)."""

        def __init__(self, text: str) -> None:
            super().__init__()
            self.text = text

    class Skipped(Message):
        """The learner skipped the question (Escape)."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._state: PanelState | None = None

    def compose(self) -> ComposeResult:
        with Horizontal(id="predict-row"):
            yield Static(id="predict-question")
            # No blinking cursor: the field is plain to read, and snapshots are deterministic.
            field = Input(placeholder=PLACEHOLDER, id="predict-input")
            field.cursor_blink = False
            yield field
        yield Static(id="predict-hint")
        yield Static(id="predict-verdict")

    def show(self, state: PanelState) -> None:
        """Show a question, verdicts, or nothing (hidden)."""
        if state == self._state:
            return
        asking_before = self._state is not None and self._state.question is not None
        self._state = state
        asking = state.question is not None
        self.set_class(not asking and not state.lines, "-hidden")
        self.set_class(asking, "-asking")
        question = self.query_one("#predict-question", Static)
        field = self.query_one("#predict-input", Input)
        hint = self.query_one("#predict-hint", Static)
        verdict = self.query_one("#predict-verdict", Static)
        self.query_one("#predict-row").set_class(not asking, "-hidden")
        hint.set_class(not asking, "-hidden")
        verdict.set_class(not state.lines, "-hidden")
        verdict.update(_verdict_text(state.lines))
        if asking:
            question.update(Text.assemble(("Predict: ", "bold"), (state.question or "", "bold"), " "))
            hint.update(Text(state.hint))
            field.value = ""
            field.focus()
        elif asking_before and field.has_focus:
            self.screen.set_focus(None)

    @property
    def asking(self) -> bool:
        return self._state is not None and self._state.question is not None

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.post_message(self.Answered(event.value))

    def action_skip(self) -> None:
        """Skip the open question."""
        if self.asking:
            self.post_message(self.Skipped())


def _verdict_text(lines: tuple[str, ...]) -> Text:
    text = Text()
    for position, line in enumerate(lines):
        if position:
            text.append("\n")
        style = "bold green" if line.startswith("✓") else "bold red" if line.startswith("✗") else ""
        if line.startswith("skipped"):
            style = "bold"
        text.append(line if style else f"  {line}", style=style)
    return text
