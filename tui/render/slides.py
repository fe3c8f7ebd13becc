"""Graphs for slides: every node with its value and grad, a title (step, line, event), a legend, a resolution.

Applied to a drawing after tui.render.drawing built it, so the picture underneath
stays make_dot's. The wording is the app's (tui.render.events). No torch here.
"""

from __future__ import annotations

from collections.abc import Sequence

from tui.render.dotgraph import (
    add_legend,
    add_node_values,
    add_title,
    fills_used,
    node_outputs,
)
from tui.render.drawing import Drawing
from tui.render.events import received_grads, step_event_lines
from tui.steps.model import Graph, Step, TensorView

# Graphviz's own resolution for PNG: --scale 2 is dpi 192.
BASE_DPI = 96.0
# How far back a picture looks for the saved tensors backward() has since freed (distinct graphs, not steps).
LOOKBACK_GRAPHS = 50


def graphs_back(graph: Graph, steps: Sequence[Step] | None, position: int) -> list[Graph]:
    """The graph drawn, then the distinct graphs of the steps before `position`, newest first.

    Their saved tensors give intermediate results a value after backward() freed them
    in the later graphs; node ids are stable, so an old node keeps its old value.
    """
    found = [graph]
    if steps is None:
        return found
    seen = {id(graph)}
    for index in range(min(position, len(steps)) - 1, -1, -1):
        earlier = steps[index].graph
        if earlier is None or id(earlier) in seen:
            continue
        seen.add(id(earlier))
        found.append(earlier)
        if len(found) > LOOKBACK_GRAPHS:
            break
    return found


def grads_at(steps: Sequence[Step], position: int) -> dict[int, tuple[TensorView | None, ...]]:
    """The grads that reached each node in the backward pass at (or, still in the backprop phase, just before) a step."""
    while 0 <= position < len(steps):
        step = steps[position]
        if step.node is not None:
            return received_grads(steps, position)
        if step.phase != "backprop":
            break
        position -= 1
    return {}


def title_text(step: Step) -> str:
    """`step 10 · line 11 · MulBackward0: grad in -6 = ∂loss/∂my_latent_value` (the app's first line of the event)."""
    parts = [f"step {step.index}"]
    if step.line is not None:
        parts.append(f"line {step.line}")
    events = step_event_lines(step)
    if events:
        parts.append(events[0].strip())
    elif step.kind == "line":
        parts.append(f"before line {step.line} runs" if step.line is not None else "line")
    else:
        parts.append(step.kind)
    return " · ".join(parts)


def decorate(
    drawing: Drawing,
    step: Step,
    *,
    graph: Graph | None = None,
    steps: Sequence[Step] | None = None,
    values: bool = True,
    title: bool = True,
    legend: bool = True,
) -> None:
    """Values on the function nodes too, then the title and the legend."""
    graph = graph or step.graph
    if values and graph is not None:
        position = step.index if steps is not None and 0 <= step.index < len(steps) and steps[step.index] is step else -1
        received = grads_at(steps, position) if steps is not None and position >= 0 else {}
        outputs = node_outputs(graphs_back(graph, steps, max(position, 0)))
        add_node_values(drawing.dot, graph, step.tensors, drawing.fn_names, received, outputs)
    if legend:
        add_legend(drawing.dot, fills_used(drawing.dot.body))
    if title:
        add_title(drawing.dot, title_text(step))


def set_scale(drawing: Drawing, scale: float | None, dpi: float | None) -> None:
    """PNG resolution: `--dpi N`, or `--scale K` times Graphviz's 96 dpi."""
    chosen = dpi if dpi is not None else (BASE_DPI * scale if scale is not None else None)
    if chosen is not None:
        drawing.dot.graph_attr["dpi"] = f"{chosen:g}"
