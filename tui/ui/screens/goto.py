"""g: go to step N of the history (0-based, as the phase bar and `gradstep show --step` number steps)."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static


def parse_step(text: str, last: int) -> int | None:
    """The step number typed, if it is a whole number between 0 and `last`."""
    text = text.strip().replace(",", "").replace("_", "")
    if not text.isdigit():
        return None
    number = int(text)
    return number if 0 <= number <= last else None


class GoToScreen(ModalScreen[int | None]):
    """Asks for a step between 0 and the last; dismisses with it (None on Escape)."""

    DEFAULT_CSS = """
    GoToScreen {
        align: center middle;
    }
    GoToScreen #goto-box {
        width: 48;
        max-width: 100%;
        height: auto;
        border: thick $primary;
        background: $surface;
        padding: 0 1;
    }
    GoToScreen #goto-question {
        padding: 0 0 1 0;
    }
    GoToScreen #goto-error {
        color: $error;
        height: auto;
    }
    """

    BINDINGS = [Binding("escape", "cancel", "Cancel", show=False)]

    def __init__(self, current: int, last: int) -> None:
        super().__init__(id="goto")
        self.current = current
        self.last = last

    def compose(self) -> ComposeResult:
        with Vertical(id="goto-box"):
            yield Static(f"Go to step (0–{self.last}), Enter to go, Esc to cancel:", id="goto-question")
            yield Input(str(self.current), placeholder=f"0–{self.last}", compact=True, id="goto-input")
            yield Static("", id="goto-error")

    def on_mount(self) -> None:
        field = self.query_one("#goto-input", Input)
        field.focus()
        field.select_all()

    @on(Input.Submitted, "#goto-input")
    def _submitted(self, event: Input.Submitted) -> None:
        """Go there, or say why not and stay open."""
        number = parse_step(event.value, self.last)
        if number is None:
            self.query_one("#goto-error", Static).update(f"Type a step number from 0 to {self.last}.")
            return
        self.dismiss(number)

    def action_cancel(self) -> None:
        """Close without moving."""
        self.dismiss(None)
