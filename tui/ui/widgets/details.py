"""The selected tensor in full (or its summary), and its value and .grad across the run."""

from __future__ import annotations

from typing import Mapping, Sequence

from rich.color import Color, blend_rgb
from rich.style import Style
from rich.text import Text

from tui.engine.model import Graph, NodeEvent, Step, TensorView
from tui.formatting import format_number, grad_text, shape_text, value_text
from tui.render.events import node_words, reset_lines, tensor_grad, update_lines
from tui.render.numbers import view_number
from tui.ui.state import Series
from tui.ui.widgets.text_pane import TextPane

WARNING_STYLE = "bold #ff5f5f"
ARITHMETIC_STYLE = "bold"
BARS = "▁▂▃▄▅▆▇█"


def event_text(step: Step) -> Text:
    """What this step did, in words: the optimizer update's arithmetic, the reset, the node's chain rule."""
    text = Text()
    if step.update is not None:
        lines = update_lines(step)
        text.append(lines[0] + "\n", style="bold")
        for line in lines[1:]:
            text.append(line + "\n", style=ARITHMETIC_STYLE)
    if step.reset is not None:
        lines = reset_lines(step.reset)
        text.append(lines[0] + "\n", style="bold")
        text.append("".join(line + "\n" for line in lines[1:]))
    if step.node is not None:
        text.append_text(node_event_text(step.node, step.graph))
    if step.message:
        text.append(f"{step.message}\n", style="italic")
    return text


def node_event_text(event: NodeEvent, graph: Graph | None = None) -> Text:
    """The autograd node backward() just ran: the grad that arrived, then the chain rule per input."""
    words = node_words(event, graph)
    text = Text()
    text.append(f"backward ran {words.name}", style="bold #5fd7ff")
    text.append(f": {words.arrived}\n")
    for edge in words.edges:
        text.append(f"  {edge}\n", style=ARITHMETIC_STYLE)
    return text


def tensor_text(name: str, view: TensorView, node_grad: TensorView | None = None) -> Text:
    """A tensor's metadata, full value and full .grad, with the accumulation warning.

    `node_grad` is ∂loss/∂tensor for a non-leaf tensor: the grad its grad_fn node
    received in the backward pass on screen (PyTorch does not keep it in .grad).
    """
    text = Text()
    text.append(name, style="bold #ffd75f")
    flags = ["leaf" if view.is_leaf else "non-leaf"]
    if view.requires_grad:
        flags.append("requires_grad")
    if view.grad_fn:
        flags.append(f"grad_fn={view.grad_fn}")
    text.append(f"  {shape_text(view.shape)} {view.dtype} on {view.device}  {' '.join(flags)}\n", style="dim")
    text.append("value\n", style="bold")
    text.append(value_text(view, short=False) + "\n")
    text.append(".grad", style="bold")
    if view.has_grad:
        passes = "pass" if view.accumulated == 1 else "passes"
        text.append(f"  ({view.accumulated} backward {passes} since its last reset)", style="dim")
    text.append("\n" + grad_text(view, short=False) + "\n")
    if node_grad is not None:
        text.append(f"∂loss/∂{name} = {view_number(node_grad)}", style="bold")
        text.append(
            f"  (the grad its {view.grad_fn or 'grad_fn'} received in this backward pass; "
            "PyTorch does not keep it in .grad of a non-leaf tensor)\n",
            style="dim",
        )
    if view.has_grad and view.accumulated > 1:
        text.append(
            f"⚠ .grad accumulated over {view.accumulated} backward passes without a reset "
            "(a forgotten zero_grad()?)\n",
            style=WARNING_STYLE,
        )
    return text


def spark_bars(data: Sequence[float], width: int, low: Color, high: Color) -> Text:
    """One line of ▁…█ bars: `data` in `width` buckets (each its largest value), coloured low to high."""
    text = Text(no_wrap=True)
    if not data or width <= 0:
        return text
    buckets = min(len(data), width)
    smallest, largest = min(data), max(data)
    spread = largest - smallest
    low_rgb, high_rgb = low.get_truecolor(), high.get_truecolor()
    for bucket in range(buckets):
        start = bucket * len(data) // buckets
        end = max((bucket + 1) * len(data) // buckets, start + 1)
        ratio = (max(data[start:end]) - smallest) / spread if spread > 0 else 0.0
        level = min(int(ratio * len(BARS)), len(BARS) - 1)
        color = Color.from_triplet(blend_rgb(low_rgb, high_rgb, ratio))
        text.append(BARS[level], style=Style(color=color))
    return text


class Details(TextPane):
    """What the step did, the selected tensor in full, and two sparklines across the run."""

    COMPONENT_CLASSES = {"details--spark-low", "details--spark-high", "details--spark-label"}

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._shown: tuple[object, ...] | None = None
        self._body = Text()
        self._series: Series | None = None

    def show(
        self,
        step: Step | None,
        name: str | None,
        series: Series | None,
        received: Mapping[int, tuple[TensorView | None, ...]] | None = None,
    ) -> None:
        """Redraw for the selected tensor at this step (skipped when nothing changed).

        `received` maps node ids to the grads that arrived at them in the backward
        pass on screen (tui.render.events.received_grads).
        """
        view = step.tensors.get(name) if step is not None and name else None
        node_grad = tensor_grad(step, received, name) if step is not None and received and name else None
        # Steps and views are immutable: the same objects draw the same text.
        key = (step, name, view, series, node_grad)
        if self._shown is not None and all(new is old for new, old in zip(key, self._shown)):
            return
        scroll = "home" if self._shown is None or name != self._shown[1] else None
        self._shown = key
        body = Text()
        if step is not None:
            event = event_text(step)
            body.append_text(event)
            if event.plain:
                body.append("\n")  # a blank line between what the step did and the selected tensor
        if view is None or name is None:
            body.append("no tensor selected", style="dim")
        else:
            body.append_text(tensor_text(name, view, node_grad))
        self._body = body
        self._series = series
        self.invalidate(scroll=scroll)

    def render_text(self, width: int) -> Text:
        text = self._body.copy()
        series = self._series
        if series is None:
            return text
        label_style = self.component_style("details--spark-label")
        low = self.component_style("details--spark-low").color or Color.parse("blue")
        high = self.component_style("details--spark-high").color or Color.parse("red")
        text.append("\nacross the run", style=label_style)
        for title, data in (("value", series.values), (".grad", series.grads)):
            caption = f"\n{title}"
            if data:
                caption += f"  {format_number(min(data))} … {format_number(max(data))}"
            text.append(caption + "\n", style=label_style)
            text.append_text(spark_bars(data, width, low, high))
        return text
