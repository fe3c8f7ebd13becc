"""Questions about recorded steps, each answered in one place for the app, the CLI and exports.

Standard library only: plain data in, plain answers out.
"""

from __future__ import annotations

from tui.steps.model import Graph, Kind, Step

# The kinds of step that end a run.
END_KINDS: tuple[Kind, ...] = ("end", "exception", "limit")


def reachable(graph: Graph, start: int) -> set[int]:
    """Ids of the nodes reachable from `start` (itself included)."""
    seen: set[int] = set()
    stack = [start]
    by_id = {node.id: node for node in graph.nodes}
    while stack:
        node_id = stack.pop()
        if node_id in seen:
            continue
        seen.add(node_id)
        node = by_id.get(node_id)
        if node is not None:
            stack.extend(node.next)
    return seen


def loss_to_follow(step: Step) -> str | None:
    """The loss: the tensor a learner follows and an export draws when none is named.

    Among the 0-d tensors with a grad_fn, prefer one whose graph is not part of another's
    (loss over my_latent_value); among those, the last defined. None when there is none.
    """
    candidates = [name for name, view in step.tensors.items() if view.grad_fn and view.numel == 1]
    if not candidates:
        return None
    graph = step.graph
    if graph is None or len(candidates) == 1:
        return candidates[-1]
    roots = {name: graph.root_of(name) for name in candidates}
    inner: set[int] = set()
    for name in candidates:
        root = roots[name]
        if root is not None:
            inner |= reachable(graph, root) - {root}
    tops = [name for name in candidates if roots[name] is None or roots[name] not in inner]
    return (tops or candidates)[-1]
