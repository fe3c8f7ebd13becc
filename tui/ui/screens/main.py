"""The debugger's one main screen: every pane follows the current step."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Callable, Mapping

from textual.app import ComposeResult
from textual.containers import Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Footer, Label

from tui.engine.model import NodeEvent, Step
from tui.render.events import received_from
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
    tensor_rows: int = 0  # the most tensors any step of the history has: the table makes room once
    # The node events of the backward pass on screen so far (tui.render.events.pass_events).
    pass_events: Mapping[int, NodeEvent] | None = None


SELECT_HINT = "click a row, or ↑/↓ in the table, to follow another tensor in the tree and details"


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

    def __init__(self, source: str, *, narrative: bool = False, draw: Callable[[], None] | None = None) -> None:
        super().__init__(id="main")
        self._draw = draw  # the app's repaint, called once the panes exist
        self._source = source
        self._has_narrative = narrative
        self._warning = ""
        self._ready = False  # the panes below exist once mounted

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
                # Always one line (a hint, or the warning): showing the warning moves no pane.
                yield Label(SELECT_HINT, id="tensor-banner")
                yield TensorTable(id="tensors")
                with Horizontal(id="graph-row"):
                    yield GraphTree(id="graph")
                    yield Details(id="details")
        yield Footer()

    def on_mount(self) -> None:
        self.phase_bar = self.query_one(PhaseBar)
        self.source_view = self.query_one(SourceView)
        self.banner = self.query_one("#tensor-banner", Label)
        self.tensor_table = self.query_one(TensorTable)
        self.graph_tree = self.query_one(GraphTree)
        self.details = self.query_one(Details)
        self.output_pane = self.query_one(OutputPane)
        self.narrative_pane = self.query_one(NarrativePane)
        self._ready = True
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
        if self._draw is not None:
            # Now, not via a message: the first frame then already shows the current step.
            self._draw()

    @property
    def ready(self) -> bool:
        """True once the panes exist (the app may draw)."""
        return self._ready

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
        if not self._ready:
            return
        step = view.step
        self.phase_bar.show(view.bar)
        exception_line = step.exception.line if step is not None and step.exception is not None else None
        self.source_view.show(
            current_line=step.line if step is not None else None,
            breakpoints=view.breakpoints,
            lines_run=view.lines_run,
            exception_line=exception_line,
        )
        warning = accumulation_warning(step)
        if warning != self._warning:
            self._warning = warning
            self.banner.update(warning or SELECT_HINT, layout=False)  # one line, fixed height
            self.banner.set_class(bool(warning), "-warning")
        self.tensor_table.reserve(view.tensor_rows)
        self.tensor_table.show(step, view.previous, view.selected)
        self.graph_tree.show(step, view.selected, view.pass_events)
        self.details.show(step, view.selected, view.series, received_from(view.pass_events or {}))
        self.output_pane.show(view.output, step)
        if not self.narrative_pane.has_class("-hidden"):
            self.narrative_pane.show(view.narrative)
