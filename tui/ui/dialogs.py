"""x (export) and d (device): the export/devices helper's modal screens, opened for the app."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

if TYPE_CHECKING:
    from tui.ui.app import GradstepApp


def live_export_hook(app: GradstepApp) -> Callable[[Any], Any] | None:
    """torchviz on the live tensors, when the session offers it and the learner is at its head.

    An earlier step (time travel) or a replay draws from the recorded step instead.
    """
    if app.replay or not app.control.at_live_head or app.control.awaiting:
        return None
    return getattr(app.session, "export_live", None)


def open_export(app: GradstepApp) -> None:
    """Push the export dialog for the current step and the selected tensor."""
    from tui.ui.screens.export import ExportScreen  # pulls in graphviz: only when x is pressed

    step = app.history.step
    if step is None:
        app.notify("No step to export yet.", severity="warning")
        return
    script = Path(app.header.script).name if app.header is not None else "script"

    def exported(path: str | None) -> None:
        if path:
            app.notify(f"Wrote {path}", title="Exported")

    screen = ExportScreen(step, script_name=script, default_tensor=app.selected_tensor(), live_export=live_export_hook(app))
    app.push_screen(screen, exported)


def open_device_picker(app: GradstepApp) -> None:
    """Push the device picker; a choice restarts the session there, back at the same step."""
    from tui.engine.devices import list_devices  # torch is loaded already in a live session
    from tui.ui.screens.devices import DevicePickerScreen

    app.push_screen(DevicePickerScreen(app.device_name(), list_devices()), app.switch_device)
