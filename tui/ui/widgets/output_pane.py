"""The script's stdout/stderr up to the current step, and an exception if it raised."""

from __future__ import annotations

from rich.style import Style
from rich.text import Text

from tui.render.mistakes import Mistake
from tui.steps.model import ExceptionInfo, Step
from tui.steps.queries import END_KINDS
from tui.ui.widgets.text_pane import TextPane


def exception_text(info: ExceptionInfo, error: Style | str = "bold red", frames: Style | str = "red") -> Text:
    """Type, message and line, then the script's own frames."""
    where = f" (line {info.line})" if info.line is not None else ""
    text = Text(f"{info.type}: {info.message}{where}\n", style=error)
    for frame in info.traceback:
        text.append(f"  line {frame.line}, in {frame.function}: {frame.text.strip()}\n", style=frames)
    return text


def ending_text(step: Step, finished: Style | str = "bold green", limit: Style | str = "bold yellow") -> Text | None:
    """A line saying how the run ended, on end and limit steps."""
    if step.kind == "end":
        return Text("— the script finished —", style=finished)
    if step.kind == "limit":
        return Text(step.message or "— stopped at the step limit —", style=limit)
    return None


class OutputPane(TextPane):
    """Output so far; scrolled to its end whenever it changes.

    The text is built in `render_text`, so a theme change redraws the ending in its colours.
    """

    COMPONENT_CLASSES = {"output-pane--error", "output-pane--frame", "output-pane--finished", "output-pane--limit"}

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._shown: tuple[str, object] | None = None
        self._explanation: Mistake | None = None

    def show(self, output: str, step: Step | None, explanation: Mistake | None = None) -> None:
        """Draw the output and, at an exception or the end, how the run ended (and a mistake explained)."""
        ending = step if step is not None and step.kind in END_KINDS else None
        if (self._shown is not None and self._shown[0] == output and self._shown[1] is ending
                and self._explanation == explanation):
            return
        self._shown = (output, ending)
        self._explanation = explanation
        self.invalidate(scroll="end")

    def _append_explanation(self, text: Text) -> None:
        """What went wrong, in this script's words (tui.render.mistakes), before torch's own message."""
        if self._explanation is None:
            return
        if text.plain and not text.plain.endswith("\n"):
            text.append("\n")
        text.append(f"⚠ what went wrong: {self._explanation.title}\n", style=self.component_style("output-pane--error"))
        text.append(self._explanation.text + "\n\n")

    def render_text(self, width: int) -> Text:
        if self._shown is None:
            return Text("(no output yet)", style="dim")
        output, step = self._shown
        text = Text(output, style="")
        style = self.component_style
        if isinstance(step, Step) and step.exception is not None:
            if output and not output.endswith("\n"):
                text.append("\n")
            self._append_explanation(text)
            text.append_text(exception_text(step.exception, style("output-pane--error"), style("output-pane--frame")))
        elif isinstance(step, Step) and (
            ended := ending_text(step, style("output-pane--finished"), style("output-pane--limit"))
        ) is not None:
            if output and not output.endswith("\n"):
                text.append("\n")
            text.append_text(ended)
        if not (isinstance(step, Step) and step.exception is not None):
            self._append_explanation(text)
        if not text.plain:
            text = Text("(no output yet)", style="dim")
        return text
