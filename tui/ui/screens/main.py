"""The debugger's one main screen: every pane follows the current step."""

from __future__ import annotations

from dataclasses import dataclass

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.message import Message
from textual.screen import Screen
from textual.widgets import Footer, Label

from tui.engine.model import Step
from tui.ui.state import Series
from tui.ui.widgets.details import Details
from tui.ui.widgets.graph_tree import GraphTree
from tui.ui.widgets.narrative import NarrativePane
from tui.ui.widgets.output_pane import OutputPane
from tui.ui.widgets.phase_bar import PhaseBar, PhaseBarState
from tui.ui.widgets.source_view import SourceView
from tui.ui.widgets.tensor_table import TensorTable


@dataclass(frozen=True)
class MainView:
    """What the main screen draws: built by the app from its History after every change."""

    step: Step | None
    previous: Step | None
    bar: PhaseBarState
    breakpoints: frozenset[int]
    lines_run: frozenset[int]
    output: str
    selected: str | None
    series: Series | None
    narrative: str | None


def accumulation_warning(step: Step | None) -> str:
    """A banner naming tensors whose .grad summed more than one backward pass."""
    if step is None:
        return ""
    piled = [f"{name} ({view.accumulated}×)" for name, view in step.tensors.items() if view.has_grad and view.accumulated > 1]
    if not piled:
        return ""
    return (
        "⚠ .grad accumulated over more than one backward without a reset: "
        + ", ".join(piled[:6])
        + (" …" if len(piled) > 6 else "")
        + " — forgot zero_grad()?"
    )


class MainScreen(Screen):
    """Phase bar on top; source and output on the left; tensors, graph and details on the right."""

    def __init__(self, source: str, *, narrative: bool = False) -> None:
        super().__init__(id="main")
        self._source = source
        self._has_narrative = narrative
        self._warning = ""

    def compose(self) -> ComposeResult:
        yield PhaseBar(id="phase-bar")
        with Horizontal(id="body"):
            with Vertical(id="code-column"):
                yield SourceView(self._source, id="source")
                yield OutputPane(id="output")
            narrative = NarrativePane(id="narrative")
            narrative.set_class(not self._has_narrative, "-hidden")
            yield narrative
            with Vertical(id="state-column"):
                yield Label("", id="accumulation-warning", classes="-hidden")
                yield TensorTable(id="tensors")
                with Horizontal(id="graph-row"):
                    yield GraphTree(id="graph")
                    yield Details(id="details")
        yield Footer()

    class Ready(Message):
        """The panes are mounted: the app can draw the current step."""

    def on_mount(self) -> None:
        self.post_message(self.Ready())
        titles = {
            "#source": "source",
            "#output": "output",
            "#narrative": "narrative",
            "#tensors": "tensors",
            "#graph": "grad_fn chain",
            "#details": "details",
        }
        for selector, title in titles.items():
            self.query_one(selector).border_title = title

    def set_source(self, source: str, *, narrative: bool) -> None:
        """Load another script (restart on a lesson picked from the picker)."""
        self._has_narrative = narrative
        self.query_one(SourceView).set_source(source)
        self.query_one(NarrativePane).set_class(not narrative, "-hidden")

    def toggle_narrative(self) -> bool:
        """Hide or show the narrative pane; True when it is now shown."""
        pane = self.query_one(NarrativePane)
        pane.set_class(not pane.has_class("-hidden"), "-hidden")
        return not pane.has_class("-hidden")

    def show(self, view: MainView) -> None:
        """Repaint every pane for one step; each pane skips work when its input did not change."""
        step = view.step
        self.query_one(PhaseBar).show(view.bar)
        exception_line = step.exception.line if step is not None and step.exception is not None else None
        self.query_one(SourceView).show(
            current_line=step.line if step is not None else None,
            breakpoints=view.breakpoints,
            lines_run=view.lines_run,
            exception_line=exception_line,
        )
        warning = accumulation_warning(step)
        if warning != self._warning:
            self._warning = warning
            banner = self.query_one("#accumulation-warning", Label)
            banner.update(warning)
            banner.set_class(not warning, "-hidden")
        self.query_one(TensorTable).show(step, view.previous, view.selected)
        self.query_one(GraphTree).show(step, view.selected)
        self.query_one(Details).show(step, view.selected, view.series)
        self.query_one(OutputPane).show(view.output, step)
        narrative = self.query_one(NarrativePane)
        if not narrative.has_class("-hidden"):
            narrative.show(view.narrative)
