"""x: export the autograd graph at this step as svg, png, pdf or dot, off the UI thread."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

from textual import on
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.content import Content
from textual.screen import ModalScreen
from textual.widgets import Button, Checkbox, Input, Label, Select, Static
from textual.worker import Worker, WorkerState

from tui.errors import GradstepError, GraphvizMissing
from tui.render.graph_files import (
    FORMATS,
    INSTALL_HINT,
    ExportRequest,
    ExportResult,
    export_step,
)
from tui.steps.model import Step
from tui.steps.queries import loss_to_follow

# What the app passes to export from live tensors (torchviz.make_dot) rather than from the step's data.
LiveExport = Callable[[ExportRequest], ExportResult]
# The whole history as one HTML page (tui.render.html), when the app offers it.
PageExport = Callable[[Path], ExportResult]
PAGE_FORMAT = "html"
# PNG resolution, as `gradstep export --scale K`: times Graphviz's 96 dpi.
PNG_SCALES = (("PNG 1×", 1.0), ("PNG 2× (slides)", 2.0), ("PNG 3×", 3.0), ("PNG 4× (print)", 4.0))


def default_output(script_name: str, step: int, fmt: str) -> str:
    """./gradstep-<script stem>-step<k>.<format>"""
    return f"./gradstep-{Path(script_name).stem}-step{step}.{fmt}"


def drawable_tensors(step: Step) -> list[str]:
    """Named tensors with a graph to draw (a grad_fn), then leaves that require grad."""
    with_graph = [name for name, view in step.tensors.items() if view.grad_fn is not None]
    leaves = [name for name, view in step.tensors.items() if view.grad_fn is None and view.requires_grad]
    return with_graph + leaves


def run_export(
    step: Step, request: ExportRequest, live_export: LiveExport | None, page_export: PageExport | None = None
) -> ExportResult:
    """Export from live tensors when the app offers it (not mid-backward), else from the step's data."""
    if request.format == PAGE_FORMAT and page_export is not None:
        return page_export(request.output)
    # The slide passes and the PNG size work on the recorded step's drawing (the same graph, drawn
    # from the step's data).
    plain = not request.slides and request.scale is None
    if live_export is not None and step.node is None and plain:
        try:
            return live_export(request)
        except GraphvizMissing:
            raise
        except GradstepError as error:
            # backward() may have freed what torchviz reads: the recorded step still holds the picture.
            result = export_step(step, request)
            return ExportResult(result.paths, (*result.notes, f"drew the recorded step ({error})"))
    return export_step(step, request)


class ExportScreen(ModalScreen[str | None]):
    """Choose tensor, format, torchviz options and path; dismisses with the written path (None on Escape)."""

    DEFAULT_CSS = """
    ExportScreen {
        align: center middle;
    }
    ExportScreen #export-box {
        width: 76;
        max-width: 100%;
        height: auto;
        max-height: 100%;
        border: thick $primary;
        background: $surface;
        padding: 0 1;
    }
    ExportScreen #export-title {
        text-style: bold;
        padding: 0 0 1 0;
    }
    ExportScreen .export-row {
        height: auto;
        margin-bottom: 1;
    }
    ExportScreen .export-row Label {
        width: 9;
    }
    ExportScreen .export-row #export-scale-label {
        width: 6;
        padding-left: 1;
    }
    ExportScreen .export-row Select, ExportScreen .export-row Input {
        width: 1fr;
        background: $boost;
    }
    ExportScreen Checkbox {
        margin-left: 9;
    }
    ExportScreen #export-slides {
        margin: 0 0 1 9;
    }
    ExportScreen #export-message-box {
        height: auto;
        max-height: 5;
    }
    ExportScreen #export-message {
        height: auto;
    }
    ExportScreen #export-message.-error {
        color: $error;
    }
    ExportScreen #export-buttons {
        height: auto;
        align-horizontal: right;
        margin-top: 1;
    }
    ExportScreen #export-buttons Button {
        margin-left: 2;
    }
    """

    BINDINGS = [Binding("escape", "cancel", "Cancel")]

    def __init__(
        self,
        step: Step,
        *,
        script_name: str,
        default_tensor: str | None,
        live_export: LiveExport | None = None,
        page_export: PageExport | None = None,
    ) -> None:
        super().__init__(id="export")
        self.step = step
        self.script_name = script_name
        self.live_export = live_export
        self.page_export = page_export
        self.tensors = drawable_tensors(step)
        fallback = loss_to_follow(step) or (self.tensors[0] if self.tensors else None)
        self.default_tensor = default_tensor if default_tensor in self.tensors else fallback
        self.has_dot = shutil.which("dot") is not None
        self.format = "svg" if self.has_dot else "dot"

    def compose(self) -> ComposeResult:
        with Vertical(id="export-box"):
            yield Static(f"Export the autograd graph at step {self.step.index}", id="export-title")
            with Horizontal(classes="export-row"):
                yield Label("Tensor")
                yield Select(
                    [(Content(name), name) for name in self.tensors],  # a recording's names: text, never markup
                    value=self.default_tensor if self.default_tensor else Select.NULL,
                    allow_blank=self.default_tensor is None,
                    prompt="no tensor with a graph",
                    compact=True,
                    id="export-tensor",
                )
            with Horizontal(classes="export-row"):
                yield Label("Format")
                formats = [(fmt, fmt) for fmt in FORMATS]
                if self.page_export is not None:
                    formats.append(("html page: every step so far", PAGE_FORMAT))
                yield Select(formats, value=self.format, allow_blank=False, compact=True, id="export-format")
                yield Label("Size", id="export-scale-label")
                yield Select(
                    list(PNG_SCALES), value=1.0, allow_blank=False, compact=True,
                    disabled=self.format != "png", id="export-scale",
                )
            yield Checkbox("values and grads on nodes", value=True, compact=True, id="export-values")
            yield Checkbox("show_attrs: saved attributes of each node", compact=True, id="export-attrs")
            yield Checkbox("show_saved: saved tensors of each node", compact=True, id="export-saved")
            yield Checkbox("slide: a title, a legend and values on every node", compact=True, id="export-slides")
            with Horizontal(classes="export-row"):
                yield Label("Output")
                path = default_output(self.script_name, self.step.index, self.format)
                yield Input(path, compact=True, id="export-path")
            with VerticalScroll(id="export-message-box"):
                no_dot = f"Graphviz's dot is not installed, so only DOT can be written; {INSTALL_HINT}."
                yield Static("" if self.has_dot else no_dot, id="export-message", markup=False)
            with Horizontal(id="export-buttons"):
                yield Button("Export", variant="primary", compact=True, id="export-go")
                yield Button("Cancel", compact=True, id="export-cancel")

    def on_mount(self) -> None:
        self.query_one("#export-go", Button).focus()

    @on(Select.Changed, "#export-format")
    def _format_changed(self, event: Select.Changed) -> None:
        """Keep the output's suffix in step with the format."""
        if event.value is Select.NULL:
            return
        self.format = str(event.value)
        self.query_one("#export-scale", Select).disabled = self.format != "png"
        path_input = self.query_one("#export-path", Input)
        stem, dot, suffix = path_input.value.rpartition(".")
        if dot and suffix in (*FORMATS, PAGE_FORMAT):
            path_input.value = f"{stem}.{self.format}"

    def request(self) -> ExportRequest:
        """The dialog's choices."""
        typed = self.query_one("#export-path", Input).value.strip()
        output = Path(typed).expanduser()
        # Relative to where gradstep was started, not wherever the script chdir-ed to.
        start_dir = getattr(self.app, "start_dir", None)
        if not output.is_absolute() and start_dir is not None:
            output = Path(start_dir) / output
        tensor = self.query_one("#export-tensor", Select).value
        scale = float(self.query_one("#export-scale", Select).value)  # type: ignore[arg-type]
        return ExportRequest(
            output=output,
            format=self.format,
            tensor=None if tensor is Select.NULL else str(tensor),
            values=self.query_one("#export-values", Checkbox).value,
            show_attrs=self.query_one("#export-attrs", Checkbox).value,
            show_saved=self.query_one("#export-saved", Checkbox).value,
            slides=self.query_one("#export-slides", Checkbox).value,
            scale=scale if self.format == "png" and scale != 1.0 else None,
        )

    def _say(self, text: str, *, error: bool) -> None:
        message = self.query_one("#export-message", Static)
        message.update(text)
        message.set_class(error, "-error")

    @on(Button.Pressed, "#export-go")
    @on(Input.Submitted, "#export-path")
    def action_export(self) -> None:
        """Write the picture in a thread worker; the result comes back as a worker state change."""
        request = self.request()
        if not str(request.output) or str(request.output) == ".":
            self._say("Choose an output path.", error=True)
            return
        self.query_one("#export-go", Button).disabled = True
        self._say(f"Exporting {request.output} …", error=False)
        step, live_export, page_export = self.step, self.live_export, self.page_export
        self.run_worker(
            lambda: run_export(step, request, live_export, page_export),
            name="export",
            group="export",
            exclusive=True,
            thread=True,
            exit_on_error=False,
        )

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        """Dismiss with the written path, or show what went wrong and stay open."""
        if event.worker.name != "export" or event.state not in (WorkerState.SUCCESS, WorkerState.ERROR):
            return
        event.stop()
        self.query_one("#export-go", Button).disabled = False
        if event.state == WorkerState.SUCCESS:
            result: ExportResult | None = event.worker.result
            self.dismiss(str(result.paths[0]) if result is not None and result.paths else None)
            return
        error = event.worker.error
        if isinstance(error, GraphvizMissing):
            self.format = "dot"
            self.query_one("#export-format", Select).value = "dot"
            self._say(f"{error}. DOT is selected now.", error=True)
        elif isinstance(error, GradstepError):
            self._say(str(error), error=True)
        else:
            self._say(f"Export failed: {type(error).__name__}: {error}", error=True)

    @on(Button.Pressed, "#export-cancel")
    def action_cancel(self) -> None:
        """Close without exporting."""
        self.dismiss(None)
