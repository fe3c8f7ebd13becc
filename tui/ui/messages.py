"""App-level messages: past-tense events posted by the session thread (or tests)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from textual.message import Message

from tui.steps.model import Header, Step
from tui.steps.runs import RunResult

if TYPE_CHECKING:
    from tui.ui.live import StepSource
    from tui.ui.outline import Outline


class SessionStarted(Message):
    """A live session compiled the script and its worker thread is running."""

    def __init__(self, session: StepSource, header: Header, generation: int) -> None:
        super().__init__()
        self.session = session
        self.header = header
        self.generation = generation


class SessionFailed(Message):
    """A live session could not start (the message is one line for the learner)."""

    def __init__(self, error: str, generation: int) -> None:
        super().__init__()
        self.error = error
        self.generation = generation


class StepCaptured(Message):
    """The engine stopped and captured a step."""

    def __init__(self, step: Step, generation: int = 0) -> None:
        super().__init__()
        self.step = step
        self.generation = generation


class RunFinished(Message):
    """The script's run ended: finished, raised, hit the step cap or was stopped."""

    def __init__(self, result: RunResult, generation: int = 0) -> None:
        super().__init__()
        self.result = result
        self.generation = generation


class HistoryScanned(Message):
    """The scan of a lazily read recording got further (tui.ui.outline): `outline.series` once it is done."""

    def __init__(self, outline: Outline) -> None:
        super().__init__()
        self.outline = outline
