"""`:` evaluate: ask the paused script a question, in its own frame, and add watches.

The expression runs in the engine's child process (the app never runs code, nor imports torch);
a worker thread waits for the answer and posts it back as an Evaluated message. A replay runs no
code: the dialog says so and shows the watches that were recorded at this step.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from typing import Callable, Sequence

from rich.text import Text
from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.message import Message
from textual.screen import ModalScreen
from textual.widgets import Static

from tui.render.evaluation import evaluation_text, watch_lines
from tui.steps.inspect import Evaluation, error_line
from tui.ui.widgets.evaluate_input import EvaluateInput

# The answers kept on screen, newest last.
SHOWN_ANSWERS = 8


class EvaluateScreen(ModalScreen[None]):
    """Type an expression, Enter evaluates it; ctrl+w watches it at every step; Esc closes."""

    DEFAULT_CSS = """
    EvaluateScreen {
        align: center bottom;
    }
    EvaluateScreen #evaluate-box {
        width: 100%;
        height: auto;
        max-height: 70%;
        border: thick $primary;
        background: $surface;
        padding: 0 1;
    }
    EvaluateScreen #evaluate-answers, EvaluateScreen #evaluate-watches {
        height: auto;
    }
    EvaluateScreen #evaluate-watches {
        color: $text-muted;
    }
    """

    BINDINGS = [
        Binding("escape", "close", "Close", show=False),
        Binding("ctrl+w", "watch", "Watch", show=False),
    ]

    @dataclass
    class Evaluated(Message):
        """The engine answered (or could not)."""

        evaluation: Evaluation

    def __init__(
        self,
        *,
        evaluate: Callable[[str], Evaluation] | None,
        history: list[str],
        watches: list[str],
        recorded: Sequence[Evaluation],
        on_watches: Callable[[list[str]], None] | None = None,
        why_not: str | None = None,
    ) -> None:
        super().__init__(id="evaluate")
        self.evaluate = evaluate
        self.history = history
        self.watches = watches
        self.recorded = tuple(recorded)
        self.on_watches = on_watches
        self.why_not = why_not
        self.answers: list[str] = []
        self.pending = 0

    def compose(self) -> ComposeResult:
        with Vertical(id="evaluate-box"):
            yield Static(Text(self._question()), id="evaluate-question")
            yield Static("", id="evaluate-answers")
            yield Static(Text(self._watch_text()), id="evaluate-watches")
            yield EvaluateInput(self.history, placeholder="var_1 * var_2", compact=True, id="evaluate-input",
                                disabled=self.evaluate is None)

    def _question(self) -> str:
        if self.evaluate is None:
            return self.why_not or "Replay runs no code: nothing can be evaluated. The watches recorded at this step:"
        return ("Evaluate in the paused script's frame (Enter; ↑/↓ earlier ones; ctrl+w watches it at every step; "
                "Esc closes). Assignments run too, and change the script's state.")

    def _watch_text(self) -> str:
        lines = watch_lines(self.recorded)
        if not lines:
            return "no watches recorded at this step" if self.evaluate is None else (
                "watching: " + ", ".join(self.watches) if self.watches else "no watches (ctrl+w adds one)")
        return "watches at this step:\n" + "\n".join("  " + line for line in lines)

    def on_mount(self) -> None:
        field = self.query_one("#evaluate-input", EvaluateInput)
        if self.evaluate is not None:
            field.focus()

    @on(EvaluateInput.Submitted, "#evaluate-input")
    def _submitted(self, event: EvaluateInput.Submitted) -> None:
        """Send the expression to the engine; the answer comes back as Evaluated."""
        source = event.value.strip()
        field = self.query_one("#evaluate-input", EvaluateInput)
        if not source or self.evaluate is None:
            return
        field.remember(source)
        field.value = ""
        self.pending += 1
        evaluate = self.evaluate

        def ask() -> None:
            try:
                evaluation = evaluate(source)
            except Exception as error:  # the engine could not: one line, the dialog stays
                evaluation = Evaluation(source, "error", text=error_line(error))
            self.post_message(self.Evaluated(evaluation))

        threading.Thread(target=ask, name="gradstep-evaluate", daemon=True).start()

    def on_evaluate_screen_evaluated(self, message: Evaluated) -> None:
        """Show the answer under the earlier ones."""
        self.pending -= 1
        self.answers = [*self.answers, evaluation_text(message.evaluation)][-SHOWN_ANSWERS:]
        self.query_one("#evaluate-answers", Static).update(Text("\n".join(self.answers)))

    def action_watch(self) -> None:
        """Watch what is typed (or the last expression) at every step from the next one on."""
        if self.evaluate is None or self.on_watches is None:
            return
        field = self.query_one("#evaluate-input", EvaluateInput)
        source = field.value.strip() or (self.history[-1] if self.history else "")
        if not source or source in self.watches:
            return
        self.watches.append(source)
        self.on_watches(list(self.watches))
        self.query_one("#evaluate-watches", Static).update(Text(self._watch_text()))

    def action_close(self) -> None:
        """Back to the debugger."""
        self.dismiss(None)
