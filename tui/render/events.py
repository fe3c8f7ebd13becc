"""One wording for each event of a step, used by the app's panes, `gradstep show` and exported images.

`node_words` words a backward node (the grad that arrived, then the chain rule per
input edge); `update_lines` and `reset_lines` word an optimizer sub-step and a reset.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from tui.render.chain_rule import edge_grads, tensor_names
from tui.render.numbers import view_number
from tui.steps.model import Graph, NodeEvent, ResetEvent, Step, TensorView


@dataclass(frozen=True, slots=True)
class NodeWords:
    """A backward node's event in words: its name, the grad that arrived, and one line per input edge."""

    name: str
    arrived: str
    edges: tuple[str, ...]

    def lines(self) -> list[str]:
        """The headline, then the edges indented: what the details pane and `show` print."""
        return [f"{self.name}: {self.arrived}", *(f"  {edge}" for edge in self.edges)]


def _grads(views: Sequence[TensorView | None]) -> str:
    return ", ".join(view_number(view) for view in views) or "—"


def node_words(event: NodeEvent, graph: Graph | None) -> NodeWords:
    """The one wording of a node backward() ran (AccumulateGrad: the leaf's .grad before and after)."""
    arrived = _grads(event.grad_outputs)
    if event.leaf:
        return NodeWords(event.name, f"grad in {arrived}", (accumulate_text(event),))
    names = tensor_names(graph) if graph is not None else {}
    output = names.get(event.node_id)
    if output and len(event.grad_outputs) == 1:
        start = names.get(event.done[0], "loss") if event.done else "loss"
        arrived += f" = ∂{start}/∂{output}"
    edges = tuple(edge.text() for edge in edge_grads(event, graph))
    return NodeWords(event.name, f"grad in {arrived}", edges or ("sent on: —",))


def accumulate_text(event: NodeEvent) -> str:
    """`var_1.grad ← -24 (was None)` or `var_1.grad ← -24 + -24 = -48`: what AccumulateGrad did."""
    incoming = _grads(event.grad_outputs)
    after = view_number(event.grad_after)
    if event.grad_before is None:
        return f"{event.leaf}.grad ← {incoming} (was None)"
    return f"{event.leaf}.grad ← {view_number(event.grad_before)} + {incoming} = {after}"


def done_text(event: NodeEvent) -> str:
    """What a finished node left behind, short: `sent -24, -18`, or `.grad -24`."""
    if event.leaf:
        return f".grad {view_number(event.grad_after)}"
    return f"sent {_grads(event.grad_inputs)}"


def pass_events(steps: Sequence[Step], index: int) -> dict[int, NodeEvent]:
    """The nodes the backward pass of step `index` ran so far (that one included), by node id.

    Empty when step `index` is not inside a backward pass. Walks back over the
    consecutive node steps whose `done` lists grow one from the other.
    """
    if not 0 <= index < len(steps) or steps[index].node is None:
        return {}
    events: dict[int, NodeEvent] = {}
    position = index
    while position >= 0:
        event = steps[position].node
        if event is None:
            break
        events.setdefault(event.node_id, event)
        earlier = steps[position - 1].node if position > 0 else None
        if earlier is None or tuple(event.done[: len(earlier.done)]) != tuple(earlier.done) or len(earlier.done) >= len(event.done):
            break
        position -= 1
    return events


def received_grads(steps: Sequence[Step], index: int) -> dict[int, tuple[TensorView | None, ...]]:
    """Node id -> the grads that arrived at it, for the nodes this backward pass ran so far."""
    return received_from(pass_events(steps, index))


def received_from(events: Mapping[int, NodeEvent]) -> dict[int, tuple[TensorView | None, ...]]:
    """Node id -> the grads that arrived at it, from a pass's node events."""
    return {node_id: event.grad_outputs for node_id, event in events.items()}


def tensor_grad(step: Step, received: Mapping[int, tuple[TensorView | None, ...]], name: str) -> TensorView | None:
    """∂loss/∂tensor for a named non-leaf tensor: the grad its grad_fn node received in this pass."""
    view = step.tensors.get(name)
    if step.graph is None or view is None or view.is_leaf:
        return None
    node_id = step.graph.root_of(name)
    grads = received.get(node_id) if node_id is not None else None
    if not grads or len(grads) != 1:
        return None
    return grads[0]


def update_lines(step: Step) -> list[str]:
    """The optimizer sub-step's arithmetic (see tui.render.updates)."""
    from tui.render.updates import (
        update_lines as lines,  # the optimizer rules live there
    )

    return lines(step) if step.update is not None else []


def reset_lines(reset: ResetEvent) -> list[str]:
    """`my_sgd.zero_grad()` (or the statement of a reset by hand), then what it did to each tensor's .grad."""
    what = "set to None" if reset.set_to_none else "zeroed (filled with 0, kept)"
    by_hand = ".grad" in reset.source  # `w.grad = None`, `w.grad.zero_()`: the source is the statement
    lines = [reset.source if by_hand else f"{reset.source}.zero_grad()"]
    lines.extend(f"  {name}.grad {what}" for name in reset.tensors)
    if not reset.tensors:
        lines.append("  no tensor had a .grad to reset")
    return lines


def step_event_lines(step: Step) -> list[str]:
    """Everything this step did, in words: the update's arithmetic, the reset, the node's chain rule."""
    lines: list[str] = []
    if step.update is not None:
        lines.extend(update_lines(step))
    if step.reset is not None:
        lines.extend(reset_lines(step.reset))
    if step.node is not None:
        lines.extend(node_words(step.node, step.graph).lines())
    return lines
