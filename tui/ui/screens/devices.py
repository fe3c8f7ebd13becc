"""d: choose the device the script runs on; unavailable devices are listed, disabled, with the reason."""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import OptionList, Static
from textual.widgets.option_list import Option

from tui.steps.runs import DeviceInfo


def device_prompt(device: DeviceInfo, current: str) -> Text:
    """The device's name (marked when current), then its details or why it cannot be used."""
    text = Text()
    text.append(device.name, style="bold" if device.available else "")
    if device.name == current:
        text.append("  (current)", style="bold #ffd75f")
    if device.available:
        text.append(f"\n    {device.details or ''}", style="dim")
    else:
        text.append(f"\n    unavailable: {device.reason or 'unknown reason'}", style="italic")
    return text


class DevicePickerScreen(ModalScreen[str | None]):
    """Lists cpu, every cuda:N and mps; dismisses with the chosen device's name, or None on Escape."""

    DEFAULT_CSS = """
    DevicePickerScreen {
        align: center middle;
    }
    DevicePickerScreen #devices-box {
        width: 72;
        max-width: 100%;
        height: auto;
        max-height: 90%;
        border: thick $primary;
        background: $surface;
        padding: 0 1;
    }
    DevicePickerScreen #devices-title {
        text-style: bold;
        padding: 0 0 1 0;
    }
    DevicePickerScreen #device-list {
        height: auto;
        max-height: 16;
    }
    DevicePickerScreen #devices-hint {
        color: $text-muted;
        padding: 1 0 0 0;
    }
    """

    BINDINGS = [Binding("escape", "cancel", "Keep the device")]

    def __init__(self, current: str, devices: Sequence[DeviceInfo]) -> None:
        super().__init__(id="device-picker")
        self.current = current
        self.devices = tuple(devices)

    def compose(self) -> ComposeResult:
        with Vertical(id="devices-box"):
            yield Static("Run the script on which device?", id="devices-title")
            yield OptionList(
                *(
                    Option(device_prompt(device, self.current), id=device.name, disabled=not device.available)
                    for device in self.devices
                ),
                id="device-list",
            )
            yield Static(
                f"Enter chooses (the session restarts there, at the same step) · Escape keeps {self.current}",
                id="devices-hint",
            )

    def on_mount(self) -> None:
        options = self.query_one(OptionList)
        options.focus()
        for position, device in enumerate(self.devices):
            if device.name == self.current and device.available:
                options.highlighted = position

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        """Enter or a click on an available device chooses it."""
        event.stop()
        self.dismiss(event.option.id)

    def action_cancel(self) -> None:
        """Keep the current device."""
        self.dismiss(None)
