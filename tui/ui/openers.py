"""x (export) and d (device): the export/devices helper's modal screens, opened for the app."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual.message import Message

from tui.steps.runs import DeviceInfo

if TYPE_CHECKING:
    from tui.render.graph_files import ExportResult
    from tui.ui.app import GradstepApp


class DevicesListed(Message):
    """The device worker found the devices (cpu, cuda:N, mps; unavailable ones with a reason)."""

    def __init__(self, devices: Sequence[DeviceInfo]) -> None:
        super().__init__()
        self.devices = tuple(devices)


class DevicesFailed(Message):
    """Listing the devices failed (torch missing or broken)."""

    def __init__(self, error: str) -> None:
        super().__init__()
        self.error = error


def live_export_hook(app: GradstepApp) -> Callable[[Any], Any] | None:
    """torchviz on the live tensors, when the session offers it and the learner is at its head.

    An earlier step (time travel) or a replay draws from the recorded step instead.
    """
    if app.replay or not app.control.at_live_head or app.control.awaiting:
        return None
    return getattr(app.session, "export_live", None)


def page_export_hook(app: GradstepApp) -> Callable[[Path], ExportResult] | None:
    """The history so far as one HTML page (tui.render.html), from a copy of its steps taken now."""
    from tui.render.graph_files import ExportResult  # noqa: F811 - graphviz: only when x is pressed
    from tui.render.html import export_page

    header, steps = app.header, app.history.frozen_steps()
    if header is None or not steps:
        return None

    def export(output: Path) -> ExportResult:
        path, notes = export_page(header, steps, output)
        return ExportResult((path,), tuple(notes))

    return export


def open_export(app: GradstepApp) -> None:
    """Push the export dialog for the current step and the selected tensor."""
    from tui.ui.screens.export_dialog import (
        ExportScreen,  # pulls in graphviz: only when x is pressed
    )

    step = app.history.step
    if step is None:
        app.notify("No step to export yet.", severity="warning", markup=False)
        return
    script = Path(app.header.script).name if app.header is not None else "script"

    def exported(path: str | None) -> None:
        if path:
            app.notify(f"Wrote {path}", title="Exported", markup=False)

    screen = ExportScreen(
        step,
        script_name=script,
        default_tensor=app.selected_tensor(),
        live_export=live_export_hook(app),
        page_export=page_export_hook(app),
    )
    app.push_screen(screen, exported)


def list_devices_in_background(app: GradstepApp) -> None:
    """Ask for the devices on a thread worker (a child process imports torch); it posts DevicesListed."""
    target = app.live_target
    lister = target.list_devices if target is not None else None

    def find() -> None:
        try:
            if lister is None:
                raise RuntimeError("this session cannot list devices")
            devices = lister()
        except Exception as error:  # torch missing or broken: say so, stay up
            app.post_message(DevicesFailed(str(error) or type(error).__name__))
            return
        app.post_message(DevicesListed(devices))

    app.run_worker(find, name="devices", group="devices", thread=True, exclusive=True)


def open_device_picker(app: GradstepApp, devices: Sequence[DeviceInfo]) -> None:
    """Push the device picker; a choice restarts the session there, back at the same step."""
    from tui.ui.screens.devices import DevicePickerScreen

    app.push_screen(DevicePickerScreen(app.device_name(), list(devices)), app.switch_device)
