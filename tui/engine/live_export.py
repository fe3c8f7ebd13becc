"""Draw a live tensor's graph with torchviz.make_dot, then add values and grads as recordings do.

Only a live session calls this, from the thread that owns the script's tensors
(the script is paused there), so torch is already loaded; it is imported inside
the functions all the same, to keep tui.render.graph_files torch-free.
"""

from __future__ import annotations

import sys
import warnings
from collections.abc import Callable, Iterator, Mapping
from typing import Any

import graphviz

from tui.errors import BadInput, GradstepError
from tui.render.dotgraph import add_values, statements
from tui.render.graph_files import ExportRequest, ExportResult, write_graph
from tui.steps.model import SAVED_PREFIX, TensorView


class SavedTensorsFreed(GradstepError):
    """backward() freed the saved tensors that torchviz needs for this picture; draw the recorded step instead."""


def load_torchviz() -> Any:
    """Import torchviz, or say in one line why it cannot load (it imports distutils, gone in Python 3.12)."""
    try:
        import torchviz  # deferred: it imports torch, and distutils (from setuptools on Python >= 3.12)
    except ImportError as error:
        hint = " (on Python 3.12+ it needs setuptools: pip install setuptools)" if sys.version_info >= (3, 12) else ""
        raise GradstepError(f"torchviz cannot be imported: {error}{hint}") from None
    return torchviz


def tensor_view(tensor: Any) -> TensorView:
    """The TensorView the engine would record for this tensor, so live labels match recorded ones."""
    from tui.engine.snapshot import ViewMaker  # deferred: it imports torch

    return ViewMaker().view(tensor)


def _visit(fn: Any, show_saved: bool, seen: set[Any], emitted: list[Any]) -> Iterator[Any]:
    """One make_dot add_nodes call: the tensors it draws, in its order; yields the functions it recurses into."""
    import torch  # deferred: see the module docstring

    if fn in seen:
        return
    seen.add(fn)
    if show_saved:
        for attr in dir(fn):
            if attr.startswith(SAVED_PREFIX):
                value = getattr(fn, attr)
                if torch.is_tensor(value):
                    emitted.append(value)
                    seen.add(value)
                elif isinstance(value, tuple):
                    for item in value:
                        if torch.is_tensor(item):
                            emitted.append(item)
                            seen.add(item)
    if hasattr(fn, "variable"):
        emitted.append(fn.variable)
        seen.add(fn.variable)
    for next_fn, _ in getattr(fn, "next_functions", ()):
        if next_fn is not None:
            yield next_fn
    if hasattr(fn, "saved_tensors"):
        for item in fn.saved_tensors:
            emitted.append(item)
            seen.add(item)


def tensor_emissions(tensor: Any, show_saved: bool) -> list[Any]:
    """The tensors make_dot draws a node for, in the order of its node statements.

    make_dot names nodes str(id(tensor)), but a saved output is a new Python object
    each time it is read, so the pictures' tensor nodes are matched by order instead.
    """
    emitted: list[Any] = []
    seen: set[Any] = set()
    base: Any = tensor
    while base is not None and base not in seen:
        seen.add(base)
        emitted.append(base)
        if base.grad_fn is not None:
            stack = [_visit(base.grad_fn, show_saved, seen, emitted)]
            while stack:
                next_fn = next(stack[-1], None)
                if next_fn is None:
                    stack.pop()
                else:
                    stack.append(_visit(next_fn, show_saved, seen, emitted))
        base = base._base if base._is_view() else None
    return emitted


def _tensor_statements(dot: graphviz.Digraph) -> list[str]:
    return [
        statement.names[0]
        for statement in statements(dot.body)
        if statement.kind == "node" and any(key == "fillcolor" for key, _ in statement.attrs)
    ]


def draw_live(
    tensor: Any,
    params: Mapping[str, Any],
    *,
    values: bool = True,
    show_attrs: bool = False,
    show_saved: bool = False,
    to_view: Callable[[Any], TensorView] = tensor_view,
) -> graphviz.Digraph:
    """torchviz.make_dot(tensor, params=<the named tensors>), plus each tensor node's value and .grad."""
    import torch  # deferred: see the module docstring

    torchviz = load_torchviz()
    # One name per tensor, the first as the engine names it (make_dot would keep the last).
    first_names: dict[int, tuple[str, Any]] = {}
    for name, value in params.items():
        if torch.is_tensor(value):
            first_names.setdefault(id(value), (name, value))
    named = dict(first_names.values())
    # make_dot recurses once per node; deep graphs (a 200-layer MLP) need more than the default 1000 frames.
    limit = sys.getrecursionlimit()
    sys.setrecursionlimit(max(limit, 20_000))
    try:
        with warnings.catch_warnings():
            # torchviz 0.0.3 compares versions with distutils' deprecated LooseVersion on every call.
            warnings.filterwarnings("ignore", category=DeprecationWarning, module="torchviz")
            dot = torchviz.make_dot(tensor, params=named, show_attrs=show_attrs, show_saved=show_saved)
        if values:
            names, tensors = _tensor_statements(dot), tensor_emissions(tensor, show_saved)
            if len(names) != len(tensors):
                raise GradstepError("this torchviz draws a different graph than gradstep expects: use --no-values")
            views: dict[str, TensorView] = {}
            for name, live in zip(names, tensors):
                views[name] = to_view(live)
            add_values(dot, views)
    except RuntimeError as error:
        if "freed" in str(error):
            raise SavedTensorsFreed(
                "backward() freed the saved tensors this picture needs: draw the recorded step instead"
            ) from None
        raise GradstepError(f"torchviz could not draw the graph: {str(error).splitlines()[0]}") from None
    finally:
        sys.setrecursionlimit(limit)
    return dot


def export_named(named: Mapping[str, Any], request: ExportRequest) -> ExportResult:
    """Export request.tensor (default: the last scalar with a grad_fn) from the paused script's named tensors."""
    import torch  # deferred: see the module docstring

    tensors = {name: value for name, value in named.items() if torch.is_tensor(value)}
    # The caller names the tensor (the app preselects tui.steps.queries.loss_to_follow of the step).
    name = request.tensor
    if name is None or name not in tensors:
        raise BadInput(f"no tensor {name!r} to draw here" if name else "name the tensor to draw")
    return export_live(tensors[name], tensors, request)


def export_live(tensor: Any, params: Mapping[str, Any], request: ExportRequest) -> ExportResult:
    """Draw a live tensor's graph with torchviz and write it as the request says."""
    dot = draw_live(
        tensor, params, values=request.values, show_attrs=request.show_attrs, show_saved=request.show_saved
    )
    return ExportResult((write_graph(dot, request.output, request.format),))
