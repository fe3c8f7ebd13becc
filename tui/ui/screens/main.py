"""The debugger's one main screen: every pane follows the current step."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass

from textual import events
from textual.app import ComposeResult
from textual.containers import Container, Horizontal, Vertical
from textual.screen import Screen
from textual.widgets import Label

from tui.render.events import received_from
from tui.render.mistakes import Mistake
from tui.steps.model import NodeEvent, Step
from tui.ui.state import Series
from tui.ui.widgets.details import Details
from tui.ui.widgets.footer import FittedFooter
from tui.ui.widgets.graph_tree import GraphTree
from tui.ui.widgets.narrative import NarrativePane
from tui.ui.widgets.output_pane import OutputPane
from tui.ui.widgets.phase_bar import PhaseBar, PhaseBarState
from tui.ui.widgets.predict_panel import PanelState, PredictPanel
from tui.ui.widgets.source_view import Fold, SourceView
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
    # Predict mode (tui.ui.predict): while a question is open the graph and details show this step,
    # the tensor table marks cells ("?" asked, "right"/"wrong"/"skipped" answered), the panel asks.
    panes_step: Step | None = None
    cell_marks: Mapping[tuple[str, str], str] | None = None
    predict: PanelState | None = None
    # A classic mistake this step shows, explained (tui.render.mistakes), else None.
    explanation: Mistake | None = None


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


# Below this many columns the code sits above the tensors instead of beside them.
NARROW_WIDTH = 100


class MainScreen(Screen):
    """Phase bar on top; narrative, source and output on the left; tensors, graph and details on the right.

    Below NARROW_WIDTH columns (`-narrow`) the code row sits above the state, and the
    narrative starts hidden. While the narrative is shown, the source folds each
    markdown cell to one row: the narrative pane already shows it.
    """

    def __init__(
        self,
        source: str,
        *,
        narrative: bool = False,
        folds: tuple[Fold, ...] = (),
        draw: Callable[[], None] | None = None,
    ) -> None:
        super().__init__(id="main")
        self._draw = draw  # the app's repaint, called once the panes exist
        self._source = source
        self._has_narrative = narrative
        self._folds = folds
        self._narrative_choice: bool | None = None  # the learner's `m`; None: by the width
        self._warning = ""
        self._ready = False  # the panes below exist once mounted

    def compose(self) -> ComposeResult:
        yield PhaseBar(id="phase-bar")
        with Container(id="body"):
            with Container(id="code-column"):
                narrative = NarrativePane(id="narrative")
                narrative.add_class("-hidden")
                yield narrative
                yield SourceView(self._source, id="source")
                yield OutputPane(id="output")
            with Vertical(id="state-column"):
                # A hint, or the accumulation warning, wrapped (up to three lines).
                yield Label(SELECT_HINT, id="tensor-banner", markup=False)  # names tensors: text, never markup
                yield TensorTable(id="tensors")
                with Horizontal(id="graph-row"):
                    yield GraphTree(id="graph")
                    yield Details(id="details")
        panel = PredictPanel(id="predict")
        panel.add_class("-hidden")
        yield panel
        yield FittedFooter()

    def on_mount(self) -> None:
        self.phase_bar = self.query_one(PhaseBar)
        self.source_view = self.query_one(SourceView)
        self.banner = self.query_one("#tensor-banner", Label)
        self.tensor_table = self.query_one(TensorTable)
        self.graph_tree = self.query_one(GraphTree)
        self.details = self.query_one(Details)
        self.output_pane = self.query_one(OutputPane)
        self.narrative_pane = self.query_one(NarrativePane)
        self.predict_panel = self.query_one(PredictPanel)
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
        self._fit(self.app.size.width)
        if self._draw is not None:
            # Now, not via a message: the first frame then already shows the current step.
            self._draw()

    @property
    def ready(self) -> bool:
        """True once the panes exist (the app may draw)."""
        return self._ready

    def on_resize(self, event: events.Resize) -> None:
        self._fit(event.size.width)

    def _fit(self, width: int) -> None:
        self.set_class(width < NARROW_WIDTH, "-narrow")
        self._show_narrative()

    @property
    def narrative_shown(self) -> bool:
        """True while the narrative pane is on screen."""
        return self._ready and not self.narrative_pane.has_class("-hidden")

    def _show_narrative(self) -> None:
        if not self._ready:
            return
        wanted = self._narrative_choice if self._narrative_choice is not None else not self.has_class("-narrow")
        shown = self._has_narrative and wanted
        self.narrative_pane.set_class(not shown, "-hidden")
        self.set_class(shown, "-narrative")
        self.source_view.set_folds(self._folds if shown else ())

    def set_source(self, source: str, *, narrative: bool, folds: tuple[Fold, ...] = ()) -> None:
        """Load another script (restart on a lesson picked from the picker)."""
        self._has_narrative = narrative
        self._folds = folds
        self.query_one(SourceView).set_source(source)
        self._show_narrative()

    def toggle_narrative(self) -> bool:
        """Hide or show the narrative pane (the learner's choice sticks); True when it is now shown."""
        self._narrative_choice = not self.narrative_shown
        self._show_narrative()
        return self.narrative_shown

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
        warning = accumulation_warning(step) or (
            f"⚠ {view.explanation.title}: explained in the output pane" if view.explanation is not None else ""
        )
        if warning != self._warning:
            self._warning = warning
            self.banner.update(warning or SELECT_HINT)
            self.banner.set_class(bool(warning), "-warning")
        self.tensor_table.reserve(view.tensor_rows)
        self.tensor_table.show(step, view.previous, view.selected, marks=view.cell_marks)
        panes = view.panes_step or step
        self.graph_tree.show(panes, view.selected, view.pass_events)
        self.details.show(panes, view.selected, view.series, received_from(view.pass_events or {}))
        self.predict_panel.show(view.predict or PanelState())
        self.output_pane.show(view.output, step, view.explanation)
        if self.narrative_shown:
            self.narrative_pane.show(view.narrative)
