"""How a run ended, and the devices a run can use: plain data the engine, the app and the CLI share."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, get_args

from tui.steps.model import ExceptionInfo

# finished | raised | limit | stopped | failed (gradstep itself could not go on) | died (the child process)
# | could not start (the app's own: the session never started, so the engine sent no result)
RunStatus = Literal["finished", "raised", "limit", "stopped", "failed", "died", "could not start"]
RUN_STATUSES: tuple[RunStatus, ...] = get_args(RunStatus)
# The learner's moves through a live run (the engine's Session also takes "stop", the child "pause").
StepCommand = Literal["step_into", "step_over", "step_out", "resume"]
STEP_COMMANDS: tuple[StepCommand, ...] = get_args(StepCommand)


@dataclass(frozen=True)
class RunResult:
    """How a run ended and how many steps it emitted; `returncode` when the engine's process died."""

    status: RunStatus
    steps: int
    exception: ExceptionInfo | None
    returncode: int | None = None


@dataclass(frozen=True)
class DeviceInfo:
    """One device as the picker and `gradstep devices` list it."""

    name: str
    available: bool
    reason: str | None
    details: str | None

    def to_json(self) -> dict[str, object]:
        return {"name": self.name, "available": self.available, "reason": self.reason, "details": self.details}
