"""The script called input(): its prompt over the output pane and a line for the learner's answer."""

from __future__ import annotations

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Input, Static


class InputRequested(Message):
    """The running script waits in input(PROMPT) for a line."""

    def __init__(self, prompt: str, generation: int) -> None:
        super().__init__()
        self.prompt = prompt
        self.generation = generation


class ScriptInputScreen(ModalScreen[str | None]):
    """The prompt and an input line at the bottom, where the output pane is; Enter sends, Esc ends the input."""

    DEFAULT_CSS = """
    ScriptInputScreen {
        align: left bottom;
        background: $background 30%;
    }
    ScriptInputScreen #script-input-box {
        height: 3;
        border: thick $accent;
        background: $surface;
    }
    ScriptInputScreen #script-input-prompt {
        width: auto;
        max-width: 60%;
    }
    """

    BINDINGS = [Binding("escape", "end_of_input", "End of input", show=False)]

    def __init__(self, prompt: str) -> None:
        super().__init__(id="script-input")
        self.prompt = prompt

    def compose(self) -> ComposeResult:
        with Horizontal(id="script-input-box"):
            yield Static(Text(self.prompt or "input: "), id="script-input-prompt")  # the script's text, never markup
            yield Input(compact=True, id="script-input-line")

    def on_mount(self) -> None:
        self.query_one("#script-input-line", Input).focus()

    @on(Input.Submitted, "#script-input-line")
    def send(self, event: Input.Submitted) -> None:
        """Enter: the line goes to the script's input()."""
        self.dismiss(event.value)

    def action_end_of_input(self) -> None:
        """Escape: the script's input() raises EOFError, as Ctrl-D would in a terminal."""
        self.dismiss(None)
