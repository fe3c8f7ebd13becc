"""The device picker: every device listed, unavailable ones disabled with the reason; Enter chooses."""

from __future__ import annotations

from textual.app import App
from textual.widgets import OptionList

from tui.steps.runs import DeviceInfo
from tui.ui.screens.devices import DevicePickerScreen

DEVICES = [
    DeviceInfo("cpu", True, None, "x86_64"),
    DeviceInfo("cuda:0", True, None, "NVIDIA H100 80GB HBM3, 79.1 GiB"),
    DeviceInfo("cuda:1", False, "in use by another process", None),
    DeviceInfo("mps", False, "MPS (Apple Metal) needs a Mac", None),
]
NO_GPU = [
    DeviceInfo("cpu", True, None, "x86_64"),
    DeviceInfo("cuda", False, "this torch build has no CUDA support (a CPU-only build)", None),
    DeviceInfo("mps", False, "MPS (Apple Metal) needs a Mac", None),
]


class Host(App[None]):
    """A bare app that opens the picker and keeps what it dismissed with."""

    def __init__(self, screen: DevicePickerScreen) -> None:
        super().__init__()
        self.picker = screen
        self.results: list[str | None] = []

    def on_mount(self) -> None:
        self.push_screen(self.picker, self.results.append)


def option_texts(app: Host) -> list[str]:
    options = app.screen.query_one(OptionList)
    return [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]


async def test_lists_every_device_and_why_the_others_cannot_be_used() -> None:
    app = Host(DevicePickerScreen("cpu", NO_GPU))
    async with app.run_test(size=(100, 30)):
        texts = option_texts(app)
        assert [text.split()[0] for text in texts] == ["cpu", "cuda", "mps"]
        assert "(current)" in texts[0]
        assert "unavailable: this torch build has no CUDA support" in texts[1]
        options = app.screen.query_one(OptionList)
        assert [options.get_option_at_index(i).disabled for i in range(3)] == [False, True, True]


async def test_enter_on_an_available_device_dismisses_with_its_name() -> None:
    app = Host(DevicePickerScreen("cpu", DEVICES))
    async with app.run_test(size=(100, 30)) as pilot:
        assert "NVIDIA H100" in option_texts(app)[1]
        await pilot.press("down", "enter")
        await pilot.pause()
        assert app.results == ["cuda:0"]


async def test_disabled_devices_cannot_be_chosen() -> None:
    app = Host(DevicePickerScreen("cuda:0", DEVICES))
    async with app.run_test(size=(100, 30)) as pilot:
        options = app.screen.query_one(OptionList)
        assert options.highlighted == 1  # the current device
        await pilot.press("down")  # cuda:1 and mps are disabled: the cursor skips them and wraps to cpu
        assert options.highlighted == 0
        top = options.content_region.y - options.region.y  # below the list's border and padding
        x = options.content_region.x - options.region.x + 2
        await pilot.click(OptionList, offset=(x, top + 4))  # cuda:1 (each device takes two lines)
        await pilot.pause()
        assert app.results == []
        await pilot.click(OptionList, offset=(x, top))  # cpu
        await pilot.pause()
        assert app.results == ["cpu"]


async def test_escape_keeps_the_device() -> None:
    app = Host(DevicePickerScreen("cpu", NO_GPU))
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.press("escape")
        await pilot.pause()
        assert app.results == [None]


def test_picker_snapshot(snap_compare) -> None:
    """A reviewer should see cpu (current), cuda:0 with its name and memory, cuda:1 and mps greyed with reasons."""
    assert snap_compare(Host(DevicePickerScreen("cpu", DEVICES)), terminal_size=(90, 20))
