"""d in the real app on a GPU machine: the picker lists cuda:0, Enter restarts the child there, same step.

After the switch the seed example's backward pass and SGD step run on cuda:0 and show the cpu
numbers (grads -24 and -18, then 3.0720 and 4.0540). Run by tests/cuda_check.sh; skipped elsewhere.
"""

from __future__ import annotations

import pytest
from textual.widgets import OptionList

from tests.ui.conftest import SIZE
from tests.ui.screen import press, screen_text, settle, tensor_row
from tui.ui.app import GradstepApp
from tui.ui.screens.devices import DevicePickerScreen

torch = pytest.importorskip("torch")

pytestmark = [
    pytest.mark.cuda,
    pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA GPU here (torch.cuda.is_available() is False)"),
]


async def wait_until(pilot, condition, what: str, timeout: float = 60.0) -> None:
    waited = 0.0
    while not condition():
        await pilot.pause(0.02)
        waited += 0.02
        if waited > timeout:
            raise AssertionError(f"{what} did not happen within {timeout}s")


async def test_picking_cuda_0_restarts_there_at_the_same_step_then_backward_and_sgd_run_on_it(script):
    from tui.commands.app import live_target

    app = GradstepApp(live=live_target(script("seed_sgd.py")))
    async with app.run_test(size=SIZE) as pilot:
        await settle(pilot, app)
        while app.history.step.line != 11:
            await press(pilot, app, "n")
        at = app.history.current
        assert app.device_name() == "cpu"
        # WHEN the learner presses d and picks cuda:0
        await pilot.press("d")
        await wait_until(pilot, lambda: isinstance(app.screen, DevicePickerScreen), "the device picker opening")
        options = app.screen.query_one(OptionList)
        prompts = [str(options.get_option_at_index(i).prompt) for i in range(options.option_count)]
        index = next(i for i, text in enumerate(prompts) if text.split()[0] == "cuda:0")
        options.highlighted = index
        await pilot.press("enter")
        # THEN a new child runs on cuda:0 and walks back to the same step
        await wait_until(
            pilot,
            lambda: app.header is not None and app.header.device == "cuda:0" and app.history.current == at
            and app.history.head >= at and not app.awaiting,
            "the restart on cuda:0",
        )
        await settle(pilot, app)
        assert app.device_name() == "cuda:0" and "cuda:0" in screen_text(app)
        assert app.history.step.line == 11 and app.history.step.tensors["var_1"].device == "cuda:0"
        # AND backward then the SGD step run there with the cpu numbers
        await press(pilot, app, "n")  # loss.backward()
        step = app.history.step
        assert step.tensors["var_1"].grad == -24.0 and step.tensors["var_2"].grad == -18.0
        await press(pilot, app, "n")  # my_sgd.step()
        while app.history.step.line != 13:
            await press(pilot, app, "n")
        text = screen_text(app)
        assert "3.0720" in tensor_row(text, "var_1") and "4.0540" in tensor_row(text, "var_2")
        assert app.history.step.tensors["var_2"].device == "cuda:0"
