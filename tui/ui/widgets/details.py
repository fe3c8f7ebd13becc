"""The selected tensor in full (or its summary), and its value and .grad across the run.

Colours come from the theme: component classes (app.tcss) looked up when the text is
drawn, so a theme change repaints in the new colours. The text is built in
`render_text`, which runs again after any restyle (TextPane forgets its lines then).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from rich.color import Color, blend_rgb
from rich.style import Style
from rich.text import Text
from textual.geometry import Size

from tui.render.events import node_words, reset_lines, tensor_grad, update_lines
from tui.render.formatting import format_number, grad_text, shape_text, value_text
from tui.render.numbers import view_number
from tui.steps.model import Graph, NodeEvent, Step, TensorView
from tui.ui.series import Curve, Series
from tui.ui.widgets.text_pane import TextPane

ARITHMETIC_STYLE = "bold"
BARS = "▁▂▃▄▅▆▇█"
GAP = "·"  # a sample with no number (a missing tensor, a .grad that is None): never drawn as 0
HERE = "▲"  # under the bar of the iteration the learner is in


@dataclass(frozen=True)
class DetailsStyles:
    """The pane's colours by role; the widget fills them from its component classes (the theme)."""

    warning: Style | str = "bold red"
    node: Style | str = "bold"
    name: Style | str = "bold"
    label: Style | str = "dim"
    low: Style | str = "blue"
    high: Style | str = "red"
    here: Style | str = "bold"
    cursor: Style | str = "reverse"  # the bar of the learner's step or iteration
    gap: Style | str = "dim"


PLAIN = DetailsStyles()
# What the pane shows: step, tensor name, its view, its series and the grad that reached it.
_Shown = tuple[Step | None, str | None, TensorView | None, Series | None, TensorView | None]


def event_text(step: Step, styles: DetailsStyles = PLAIN) -> Text:
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
        text.append_text(node_event_text(step.node, step.graph, styles))
    if step.message:
        text.append(f"{step.message}\n", style="italic")
    return text


def node_event_text(event: NodeEvent, graph: Graph | None = None, styles: DetailsStyles = PLAIN) -> Text:
    """The autograd node backward() just ran: the grad that arrived, then the chain rule per input."""
    words = node_words(event, graph)
    text = Text()
    text.append(f"backward ran {words.name}", style=styles.node)
    text.append(f": {words.arrived}\n")
    for edge in words.edges:
        text.append(f"  {edge}\n", style=ARITHMETIC_STYLE)
    return text


def tensor_text(
    name: str, view: TensorView, node_grad: TensorView | None = None, styles: DetailsStyles = PLAIN
) -> Text:
    """A tensor's metadata, full value and full .grad, with the accumulation warning.

    `node_grad` is ∂loss/∂tensor for a non-leaf tensor: the grad its grad_fn node
    received in the backward pass on screen (PyTorch does not keep it in .grad).
    """
    text = Text()
    text.append(name, style=styles.name)
    flags = ["leaf" if view.is_leaf else "non-leaf"]
    if view.requires_grad:
        flags.append("requires_grad")
    if view.grad_fn:
        flags.append(f"grad_fn={view.grad_fn}")
    text.append(f"  {shape_text(view.shape)} {view.dtype} on {view.device}  {' '.join(flags)}\n", style=styles.label)
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
            style=styles.warning,
        )
    return text


def _color(style: Style | str, fallback: str) -> Color:
    color = (style if isinstance(style, Style) else Style.parse(style)).color
    return color if color is not None else Color.parse(fallback)


def spark_bars(
    data: Sequence[float | None], width: int, styles: DetailsStyles = PLAIN, here: int | None = None
) -> tuple[Text, int | None]:
    """One line of ▁…█ bars, coloured low to high, and the column of sample `here` (drawn in `styles.cursor`).

    `data` goes in `width` buckets, each drawn as its largest number; a bucket with no
    number (None: a .grad that is None, a tensor not there yet) is a gap, never the lowest bar.
    """
    text = Text(no_wrap=True)
    numbers = [number for number in data if number is not None]
    if not data or width <= 0:
        return text, None
    buckets = min(len(data), width)
    smallest, largest = (min(numbers), max(numbers)) if numbers else (0.0, 0.0)
    spread = largest - smallest
    low_rgb = _color(styles.low, "blue").get_truecolor()
    high_rgb = _color(styles.high, "red").get_truecolor()
    column = None
    for bucket in range(buckets):
        start = bucket * len(data) // buckets
        end = max((bucket + 1) * len(data) // buckets, start + 1)
        in_bucket = [number for number in data[start:end] if number is not None]
        marked = here is not None and start <= here < end
        if marked:
            column = bucket
        if not in_bucket:
            text.append(GAP, style=styles.cursor if marked else styles.gap)
            continue
        ratio = (max(in_bucket) - smallest) / spread if spread > 0 else 0.0
        level = min(int(ratio * len(BARS)), len(BARS) - 1)
        color = Style(color=Color.from_triplet(blend_rgb(low_rgb, high_rgb, ratio)))
        text.append(BARS[level], style=styles.cursor if marked else color)
    return text, column


def range_text(data: Sequence[float | None]) -> str:
    """`min 0.0041  max 9.0000` over the numbers, or why there are none."""
    numbers = [number for number in data if number is not None]
    if not numbers:
        return "None at every step"
    return f"min {format_number(min(numbers))}  max {format_number(max(numbers))}"


def curve_label(curve: Curve, name: str) -> str:
    """`iteration 37 of 100: loss 0.1234`: the point the learner is at, in words."""
    value = curve.values[curve.here]
    number = f"{name} {format_number(value) if value is not None else '—'}"
    iteration = curve.iterations[curve.here]
    if iteration is None:
        where = "before the loop"
    else:
        where = f"iteration {iteration}"
        if curve.of:
            where += f" of {curve.of}" if curve.finished else f" of {curve.of} so far"
    if not curve.inside:
        where = f"after {where}" if iteration is not None else "next: " + where
    return f"{where}: {number}"


def marker_line(column: int | None, label: str, width: int, style: Style | str) -> Text:
    """`▲ label` with ▲ at `column`; the label goes left of ▲ when it does not fit on the right."""
    text = Text(no_wrap=True)
    if column is None:
        text.append(label, style=style)
        return text
    if column + 2 + len(label) <= width or column < len(label) + 1:
        text.append(" " * column)
        text.append(f"{HERE} {label}", style=style)
    else:
        text.append(" " * (column - len(label) - 1))
        text.append(f"{label} {HERE}", style=style)
    return text


class Details(TextPane):
    """What the step did, the selected tensor in full, its curve per iteration and its sparklines."""

    COMPONENT_CLASSES = {
        "details--spark-low",
        "details--spark-high",
        "details--spark-label",
        "details--spark-here",
        "details--spark-cursor",
        "details--spark-gap",
        "details--warning",
        "details--node",
        "details--name",
    }

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._shown: _Shown | None = None
        self._tallest = 0  # the most rows the text has taken at this width

    def _update_virtual_size(self) -> None:
        # Never shorter than the tallest text so far: the scrollbar, once shown, stays, and a
        # step whose text is a line shorter or longer lays nothing out (just this pane repaints).
        if not self.is_mounted or self.scrollable_content_region.width <= 0:
            return
        if self._wrap_width != self.scrollable_content_region.width:
            self._tallest = 0
        self._tallest = max(self._tallest, len(self._wrapped()))
        view = self.scrollable_content_region.size
        size = Size(view.width, max(self._tallest, view.height))
        if size != self.virtual_size:
            self.virtual_size = size

    def styles_now(self) -> DetailsStyles:
        """The theme's colours for each role (cached until the CSS changes)."""
        style = self.component_style
        return DetailsStyles(
            warning=style("details--warning"),
            node=style("details--node"),
            name=style("details--name"),
            label=style("details--spark-label"),
            low=style("details--spark-low"),
            high=style("details--spark-high"),
            here=style("details--spark-here"),
            cursor=style("details--spark-cursor"),
            gap=style("details--spark-gap"),
        )

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
        # Steps, views and series are immutable: the same objects draw the same text.
        key = (step, name, view, series, node_grad)
        if self._shown is not None and all(new is old for new, old in zip(key, self._shown)):
            return
        scroll = "home" if self._shown is None or name != self._shown[1] else None
        self._shown = key
        self.invalidate(scroll=scroll)

    def render_text(self, width: int) -> Text:
        body = Text()
        if self._shown is None:
            return body
        step, name, view, series, node_grad = self._shown
        styles = self.styles_now()
        if step is not None:
            event = event_text(step, styles)
            body.append_text(event)
            if event.plain:
                body.append("\n")  # a blank line between what the step did and the selected tensor
        if view is None or name is None:
            body.append("no tensor selected", style="dim")
        else:
            body.append_text(tensor_text(name, view, node_grad, styles))
        if isinstance(series, Series) and isinstance(name, str):
            body.append_text(series_text(series, name, width, styles))
        return body


def series_text(series: Series, name: str, width: int, styles: DetailsStyles = PLAIN) -> Text:
    """The curve per loop iteration with ▲ under the learner's, then value and .grad per step.

    Without a loop the per-step values carry the ▲ and the label instead.
    """
    text = Text()
    text.append("\nacross the run", style=styles.label)
    curve = series.curve
    if curve is not None:
        text.append(f"\n{name} per iteration  {range_text(curve.values)}\n", style=styles.label)
        bars, column = spark_bars(curve.values, width, styles, curve.here)
        text.append_text(bars)
        text.append("\n")
        text.append_text(marker_line(column, curve_label(curve, name), width, styles.here))
    for title, data in (("value", series.values), (".grad", series.grads)):
        text.append(f"\n{title} per step  {range_text(data)}\n", style=styles.label)
        bars, column = spark_bars(data, width, styles, series.here)
        text.append_text(bars)
        if curve is None and title == "value" and series.here is not None:
            value = data[series.here]
            label = f"step {series.current}: {name} {format_number(value) if value is not None else '—'}"
            text.append("\n")
            text.append_text(marker_line(column, label, width, styles.here))
    return text
