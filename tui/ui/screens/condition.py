"""ctrl+b: a breakpoint with a condition on the current line, or a break-on rule for the whole run."""

from __future__ import annotations

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, Static

from tui.steps.inspect import BREAK_ON_HELP, InspectSpecError, check_expression, parse_break_on

RULE_STARTS = ("nan", "grad:", "node:", "grad-norm>")


class ConditionScreen(ModalScreen["str | None"]):
    """Asks for `loss < 1` (stop at this line only when it holds) or a rule (`grad:var_1`); None on Escape."""

    DEFAULT_CSS = """
    ConditionScreen {
        align: center middle;
    }
    ConditionScreen #condition-box {
        width: 80;
        max-width: 100%;
        height: auto;
        border: thick $primary;
        background: $surface;
        padding: 0 1;
    }
    ConditionScreen #condition-error {
        color: $error;
        height: auto;
    }
    """

    BINDINGS = [Binding("escape", "cancel", "Cancel", show=False)]

    def __init__(self, line: int, current: str = "", rules: tuple[str, ...] = ()) -> None:
        super().__init__(id="condition")
        self.line = line
        self.current = current
        self.rules = rules  # the break-on rules in effect: entering one again removes it

    def compose(self) -> ComposeResult:
        with Vertical(id="condition-box"):
            yield Static(
                f"Stop at line {self.line} only when this holds (loss < 1, epoch == 50; empty: always), "
                f"or stop anywhere on a rule: {BREAK_ON_HELP}. Enter sets it, Esc cancels.",
                id="condition-question",
                markup=False,
            )
            if self.rules:
                yield Static(
                    f"Rules in effect: {', '.join(self.rules)}. Enter one of them again to remove it.",
                    id="condition-rules",
                    markup=False,
                )
            yield Input(self.current, placeholder="loss < 1", compact=True, id="condition-input")
            yield Static("", id="condition-error")

    def on_mount(self) -> None:
        self.query_one("#condition-input", Input).focus()

    @on(Input.Submitted, "#condition-input")
    def _submitted(self, event: Input.Submitted) -> None:
        """A condition or a rule that parses, else say why and stay open."""
        text = event.value.strip()
        try:
            if is_rule(text):
                parse_break_on(text)
            elif text:
                check_expression(text, "the condition")
        except InspectSpecError as error:
            self.query_one("#condition-error", Static).update(str(error))
            return
        self.dismiss(text)

    def action_cancel(self) -> None:
        """Close without changing anything."""
        self.dismiss(None)


def is_rule(text: str) -> bool:
    """Whether the text is a break-on rule rather than a condition."""
    return text.strip().lower() == "nan" or any(text.strip().startswith(start) for start in RULE_STARTS[1:])
