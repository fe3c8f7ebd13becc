"""A yes/no question before the app throws history away (quit, restart, back to the lessons)."""

from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical
from textual.screen import ModalScreen
from textual.widgets import Button, Static


class ConfirmScreen(ModalScreen[bool]):
    """Dismisses with True for yes (y, Enter on Yes), False for no (n, Escape)."""

    BINDINGS = [
        Binding("y", "answer(True)", "Yes", show=False),
        Binding("n", "answer(False)", "No", show=False),
        Binding("escape", "answer(False)", "No", show=False),
    ]

    def __init__(self, question: str, *, yes: str = "Yes", no: str = "No", screen_id: str = "confirm") -> None:
        super().__init__(id=screen_id)
        self._question = question
        self._yes = yes
        self._no = no

    def compose(self) -> ComposeResult:
        with Vertical(id="confirm-box"):
            yield Static(self._question, id="confirm-question", markup=False)
            with Horizontal(id="confirm-buttons"):
                yield Button(f"{self._yes} (y)", id="confirm-yes", variant="error")
                yield Button(f"{self._no} (n)", id="confirm-no", variant="primary")

    def on_mount(self) -> None:
        self.query_one("#confirm-no", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        """Yes or No, clicked or pressed with Enter."""
        self.dismiss(event.button.id == "confirm-yes")

    def action_answer(self, answer: bool) -> None:
        self.dismiss(answer)


class QuitConfirmScreen(ConfirmScreen):
    """"Quit gradstep?" after ctrl+c: ctrl+c again is yes (a modal screen keeps the app's keys away)."""

    BINDINGS = [Binding("ctrl+c", "answer(True)", "Quit", show=False)]

    def __init__(self, question: str) -> None:
        super().__init__(question, yes="Quit", screen_id="confirm-interrupt")
