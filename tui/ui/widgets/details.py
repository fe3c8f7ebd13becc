"""The selected tensor in full (or its summary), and its value and .grad across the run."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Label, Sparkline, Static

from tui.engine.model import NodeEvent, Step, TensorView
from tui.formatting import format_number, grad_text, optional_view_text, shape_text, value_text
from tui.ui.state import Series

WARNING_STYLE = "bold #ff5f5f"


def event_text(step: Step) -> Text:
    """What this step did, in words: the optimizer update, the reset, the node."""
    text = Text()
    if step.update is not None:
        update = step.update
        grad = "None" if update.grad is None else value_text(update.grad)
        text.append(f"{update.optimizer}.step() updated {update.param}: ", style="bold")
        text.append(f"{value_text(update.before)} with grad {grad} → {value_text(update.after)}\n")
    if step.reset is not None:
        reset = step.reset
        how = "set to None" if reset.set_to_none else "zeroed"
        names = ", ".join(reset.tensors) or "no tensors"
        text.append(f"{reset.source}.zero_grad(): .grad {how} for {names}\n", style="bold")
    if step.node is not None:
        text.append_text(node_event_text(step.node))
    if step.message:
        text.append(f"{step.message}\n", style="italic")
    return text


def node_event_text(event: NodeEvent) -> Text:
    """The autograd node backward() just ran: the grads that arrived and those it sent on."""
    text = Text()
    text.append(f"backward ran {event.name}", style="bold #5fd7ff")
    if event.leaf:
        before = "None" if event.grad_before is None else optional_view_text(event.grad_before)
        after = "None" if event.grad_after is None else optional_view_text(event.grad_after)
        text.append(f": {event.leaf}.grad {before} → {after}\n")
        return text
    arrived = ", ".join(optional_view_text(view) for view in event.grad_outputs) or "—"
    sent = ", ".join(optional_view_text(view) for view in event.grad_inputs) or "—"
    text.append(f"\n  grad in: {arrived}\n  sent on: {sent}\n")
    return text


def tensor_text(name: str, view: TensorView) -> Text:
    """A tensor's metadata, full value and full .grad, with the accumulation warning."""
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
    if view.has_grad and view.accumulated > 1:
        text.append(
            f"⚠ .grad accumulated over {view.accumulated} backward passes without a reset "
            "(a forgotten zero_grad()?)\n",
            style=WARNING_STYLE,
        )
    return text


class Details(VerticalScroll):
    """Scrollable details of the selected tensor with two sparklines."""

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self._shown: tuple[object, ...] | None = None
        self._text_height = -1
        self._labels: dict[str, str] = {}

    def compose(self) -> ComposeResult:
        yield Static("", id="details-text")
        yield Label("value over the run", id="value-spark-label", classes="spark-label")
        yield Sparkline([], id="value-spark")
        yield Label(".grad over the run", id="grad-spark-label", classes="spark-label")
        yield Sparkline([], id="grad-spark")

    def show(self, step: Step | None, name: str | None, series: Series | None) -> None:
        """Redraw for the selected tensor at this step (skipped when nothing changed)."""
        view = step.tensors.get(name) if step is not None and name else None
        key = (id(step), name, id(view), None if series is None else (len(series.values), series.values[-1:]))
        if key == self._shown:
            return
        self._shown = key
        text = Text()
        if step is not None:
            text.append_text(event_text(step))
        if view is None or name is None:
            text.append("no tensor selected", style="dim")
        else:
            text.append_text(tensor_text(name, view))
        self._update_text(text)
        values = series.values if series is not None else ()
        grads = series.grads if series is not None else ()
        self._spark("value", values)
        self._spark("grad", grads)

    def _update_text(self, text: Text) -> None:
        # A layout pass re-renders the whole screen: skip it when the text keeps its height.
        static = self.query_one("#details-text", Static)
        width = max(static.content_region.width, 1)
        height = len(text.wrap(self.app.console, width))
        static.update(text, layout=height != self._text_height)
        self._text_height = height

    def _spark(self, which: str, data: tuple[float, ...]) -> None:
        label = self.query_one(f"#{which}-spark-label", Label)
        spark = self.query_one(f"#{which}-spark", Sparkline)
        title = "value" if which == "value" else ".grad"
        caption = f"{title} over the run"
        if data:
            caption += f"  [{format_number(min(data))} … {format_number(max(data))}]"
        if self._labels.get(which) != caption:
            self._labels[which] = caption
            label.update(caption, layout=False)  # one line of fixed height
        if tuple(spark.data or ()) != data:
            spark.data = list(data)
