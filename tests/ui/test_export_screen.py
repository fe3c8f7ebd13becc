"""The export dialog: sensible defaults, a file written off the UI thread, errors shown, DOT offered without dot."""

from __future__ import annotations

import html
import shutil
from pathlib import Path

import pytest
from textual.app import App
from textual.widgets import Button, Checkbox, Input, Select, Static

from tui.errors import GradstepError
from tui.render.graph_files import ExportRequest, ExportResult
from tui.steps.model import Graph, GraphNode, Step, TensorView
from tui.ui.screens.export_dialog import ExportScreen

REAL_WHICH = shutil.which
needs_dot = pytest.mark.skipif(
    REAL_WHICH("dot") is None, reason="Graphviz's dot program is not installed (apt install graphviz)"
)


def scalar(value: float, *, grad: float | None = None, grad_fn: str | None = None) -> TensorView:
    leaf = grad_fn is None
    return TensorView(shape=(), dtype="float32", device="cpu", requires_grad=True, is_leaf=leaf, grad_fn=grad_fn,
                      version=0, value=value, has_grad=grad is not None, grad=grad)


def seed_step(index: int = 7) -> Step:
    """The seed example just after its first backward: var_1.grad = -24, var_2.grad = -18."""
    graph = Graph(
        nodes=(
            GraphNode(0, "PowBackward0", attrs=(("exponent", "2"),), saved=(("self", None),), next=(1,)),
            GraphNode(1, "RsubBackward1", attrs=(("alpha", "1"),), next=(2,)),
            GraphNode(2, "MulBackward0", saved=(("other", None), ("self", None)), next=(3, 4)),
            GraphNode(3, "AccumulateGrad", leaf="var_1", variable=scalar(3.0, grad=-24.0)),
            GraphNode(4, "AccumulateGrad", leaf="var_2", variable=scalar(4.0, grad=-18.0)),
        ),
        roots=(("my_latent_value", 2), ("loss", 0)),
    )
    tensors = {
        "var_1": scalar(3.0, grad=-24.0),
        "var_2": scalar(4.0, grad=-18.0),
        "my_latent_value": scalar(12.0, grad_fn="MulBackward0"),
        "loss": scalar(9.0, grad_fn="PowBackward0"),
    }
    return Step(index=index, kind="line", line=11, tensors=tensors, graph=graph)


class Host(App[None]):
    """A bare app that opens the dialog and keeps what it dismissed with."""

    def __init__(self, screen: ExportScreen) -> None:
        super().__init__()
        self.dialog = screen
        self.results: list[str | None] = []

    def on_mount(self) -> None:
        self.push_screen(self.dialog, self.results.append)


def dialog(**options) -> Host:
    options.setdefault("script_name", "seed_sgd.py")
    options.setdefault("default_tensor", None)
    return Host(ExportScreen(seed_step(), **options))


async def export_to(app: Host, pilot, path: Path) -> None:
    """Type the path, press Export, and wait for the worker's verdict (dismissed, or the button back)."""
    dialog_screen = app.screen
    dialog_screen.query_one("#export-path", Input).value = str(path)
    await pilot.click("#export-go")
    for _ in range(500):
        await pilot.pause(0.01)
        if app.screen is not dialog_screen:
            return
        button = dialog_screen.query_one("#export-go", Button)
        # A Button ignores clicks while it shows its pressed effect (-active): wait for that too.
        if not button.disabled and not button.has_class("-active"):
            return
    raise AssertionError("the export never finished")


async def test_defaults_follow_the_step_and_script() -> None:
    app = dialog()
    async with app.run_test(size=(100, 36)):
        screen = app.screen
        assert screen.query_one("#export-tensor", Select).value == "loss"  # the latest loss
        assert screen.query_one("#export-values", Checkbox).value is True
        assert screen.query_one("#export-attrs", Checkbox).value is False
        assert screen.query_one("#export-saved", Checkbox).value is False
        if REAL_WHICH("dot"):
            assert screen.query_one("#export-format", Select).value == "svg"
            assert screen.query_one("#export-path", Input).value == "./gradstep-seed_sgd-step7.svg"


async def test_the_selected_tensor_is_the_default() -> None:
    app = dialog(default_tensor="my_latent_value")
    async with app.run_test(size=(100, 36)):
        assert app.screen.query_one("#export-tensor", Select).value == "my_latent_value"


async def test_changing_the_format_changes_the_suffix() -> None:
    app = dialog()
    async with app.run_test(size=(100, 36)) as pilot:
        app.screen.query_one("#export-format", Select).value = "pdf"
        await pilot.pause()
        assert app.screen.query_one("#export-path", Input).value == "./gradstep-seed_sgd-step7.pdf"


@needs_dot
async def test_export_writes_the_svg_and_dismisses_with_its_path(tmp_path: Path) -> None:
    app = dialog()
    async with app.run_test(size=(100, 36)) as pilot:
        await export_to(app, pilot, tmp_path / "seed.svg")
        assert app.results == [str(tmp_path / "seed.svg")]
    svg = html.unescape((tmp_path / "seed.svg").read_text())
    assert "MulBackward0" in svg and "value 3.0000 | grad -24.0000" in svg and "value 4.0000 | grad -18.0000" in svg


async def test_values_off_and_dot_format(tmp_path: Path) -> None:
    app = dialog()
    async with app.run_test(size=(100, 36)) as pilot:
        app.screen.query_one("#export-format", Select).value = "dot"
        app.screen.query_one("#export-values", Checkbox).value = False
        await pilot.pause()
        await export_to(app, pilot, tmp_path / "seed.dot")
    source = (tmp_path / "seed.dot").read_text()
    assert "PowBackward0" in source and "value" not in source


async def test_enter_in_the_path_exports(tmp_path: Path) -> None:
    app = dialog()
    async with app.run_test(size=(100, 36)) as pilot:
        app.screen.query_one("#export-format", Select).value = "dot"
        await pilot.pause()
        path_input = app.screen.query_one("#export-path", Input)
        path_input.value = str(tmp_path / "enter.dot")
        path_input.focus()
        await pilot.press("enter")
        for _ in range(500):
            if app.results:
                break
            await pilot.pause(0.01)
    assert app.results == [str(tmp_path / "enter.dot")] and (tmp_path / "enter.dot").is_file()


async def test_an_error_shows_in_the_dialog_and_the_app_stays_up(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    app = dialog()
    async with app.run_test(size=(100, 36)) as pilot:
        app.screen.query_one("#export-format", Select).value = "dot"
        await export_to(app, pilot, blocker / "seed.dot")
        assert isinstance(app.screen, ExportScreen) and app.results == []
        message = app.screen.query_one("#export-message", Static)
        assert "cannot write" in str(message.render()) and message.has_class("-error")
        assert app.screen.query_one("#export-go", Button).disabled is False


async def test_without_dot_the_dialog_offers_dot_and_writes_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(shutil, "which", lambda name, *args, **kwargs: None if name == "dot" else REAL_WHICH(name))
    app = dialog()
    async with app.run_test(size=(100, 36)) as pilot:
        screen = app.screen
        assert screen.query_one("#export-format", Select).value == "dot"
        assert "Graphviz" in str(screen.query_one("#export-message", Static).render())
        screen.query_one("#export-format", Select).value = "svg"  # the learner insists on an image
        await pilot.pause()
        await export_to(app, pilot, tmp_path / "seed.svg")
        assert app.results == [] and screen.query_one("#export-format", Select).value == "dot"
        assert "brew install graphviz" in str(screen.query_one("#export-message", Static).render())
        assert (tmp_path / "seed.dot").is_file()
        await export_to(app, pilot, tmp_path / "seed.dot")
        assert app.results == [str(tmp_path / "seed.dot")]


async def test_live_export_is_used_and_a_failure_falls_back_to_the_step(tmp_path: Path) -> None:
    calls: list[ExportRequest] = []

    def live(request: ExportRequest) -> ExportResult:
        calls.append(request)
        raise GradstepError("backward() freed the saved tensors this picture needs")

    app = dialog(live_export=live)
    async with app.run_test(size=(100, 36)) as pilot:
        app.screen.query_one("#export-format", Select).value = "dot"
        await export_to(app, pilot, tmp_path / "live.dot")
    assert [call.tensor for call in calls] == ["loss"]
    assert app.results == [str(tmp_path / "live.dot")] and "MulBackward0" in (tmp_path / "live.dot").read_text()


async def test_escape_cancels() -> None:
    app = dialog()
    async with app.run_test(size=(100, 36)) as pilot:
        await pilot.press("escape")
        await pilot.pause()
        assert app.results == [None]


def test_the_dialogs_import_neither_torch_nor_torchviz() -> None:
    """The UI never imports torch: the screens draw from recorded data only."""
    import subprocess
    import sys

    code = (
        "import sys, tui.ui.screens.export_dialog, tui.ui.screens.devices; "
        "print(sorted(name for name in ('torch', 'torchviz') if name in sys.modules))"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                          cwd=Path(__file__).parents[2])
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def png_size(path: Path) -> tuple[int, int]:
    """Width and height from a PNG's IHDR chunk."""
    import struct

    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


@needs_dot
async def test_a_slide_at_2x_is_twice_the_plain_png_and_carries_a_title_and_legend(tmp_path: Path) -> None:
    """GIVEN lesson 05's recording after its first backward, WHEN x exports PNG at 1× and as a 2× slide
    (and the slide as DOT), THEN the slide is twice as wide and tall, with the step's title and the legend."""
    from tests.fixtures.recordings import load

    steps = load("lesson-05-my-network-300").steps
    step = next(s for s in steps if s.kind == "line" and s.graph is not None and "loss" in s.tensors and s.tensors["loss"].grad_fn)
    sizes = {}
    for name, scale, slide, fmt in (("plain", 1.0, False, "png"), ("slide", 2.0, True, "png"), ("slide", 1.0, True, "dot")):
        app = Host(ExportScreen(step, script_name="05-my-network.py", default_tensor=None))
        async with app.run_test(size=(100, 36)) as pilot:
            screen = app.screen
            screen.query_one("#export-format", Select).value = fmt
            await pilot.pause()
            assert screen.query_one("#export-scale", Select).disabled is (fmt != "png")
            screen.query_one("#export-scale", Select).value = scale
            screen.query_one("#export-slides", Checkbox).value = slide
            await export_to(app, pilot, tmp_path / f"{name}.{fmt}")
            assert app.results == [str(tmp_path / f"{name}.{fmt}")]
        if fmt == "png":
            sizes[name] = png_size(tmp_path / f"{name}.png")
    (plain_w, plain_h), (slide_w, slide_h) = sizes["plain"], sizes["slide"]
    assert slide_w > 1.8 * plain_w and slide_h > 1.8 * plain_h  # 2× the resolution (the title adds a little)
    dot = (tmp_path / "slide.dot").read_text()
    assert f"step {step.index}" in dot and "legend" in dot.lower()
    assert 'dpi' not in dot  # the scale is for PNG only


async def test_the_png_size_is_offered_for_png_only() -> None:
    app = dialog()
    async with app.run_test(size=(100, 36)) as pilot:
        scale = app.screen.query_one("#export-scale", Select)
        assert scale.disabled is (app.screen.format != "png")
        app.screen.query_one("#export-format", Select).value = "png"
        await pilot.pause()
        assert scale.disabled is False
        app.screen.query_one("#export-format", Select).value = "pdf"
        await pilot.pause()
        assert scale.disabled is True
