"""Steps built from live tensors in the test itself, to compare recorded drawings with torchviz's.

A small stand-in for the engine's graph capture: it records what GraphNode
promises (class name, saved attributes and tensors, the leaf each AccumulateGrad
feeds, next functions, and tensor identities) so a drawing from the Step can be
set beside torchviz.make_dot on the very tensors it was taken from.
"""

from __future__ import annotations

from typing import Any, Mapping

import torch

from tui.engine.live_export import tensor_view
from tui.steps.model import Graph, GraphNode, Step

SAVED_PREFIX = "_saved_"


def capture_graph(named: Mapping[str, torch.Tensor]) -> Graph:
    """The autograd graph reachable from the named tensors' grad_fn, as plain data."""
    node_ids: dict[Any, int] = {}
    refs: dict[int, int] = {}
    alive: list[torch.Tensor] = []  # keeps saved outputs alive so their identity stays fixed during capture
    names_by_id = {id(tensor): name for name, tensor in named.items()}

    def node_id(fn: Any) -> int:
        return node_ids.setdefault(fn, len(node_ids))

    def ref(tensor: torch.Tensor) -> int:
        alive.append(tensor)
        return refs.setdefault(tensor._cdata, len(refs))

    roots = [(name, node_id(tensor.grad_fn)) for name, tensor in named.items() if tensor.grad_fn is not None]
    pending = [tensor.grad_fn for tensor in named.values() if tensor.grad_fn is not None]
    seen: set[Any] = set()
    nodes = []
    while pending:
        fn = pending.pop()
        if fn in seen:
            continue
        seen.add(fn)
        attrs, saved, saved_refs = [], [], []
        for attr in dir(fn):
            if not attr.startswith(SAVED_PREFIX):
                continue
            try:
                value = getattr(fn, attr)
            except RuntimeError:  # freed by backward()
                saved.append((attr[len(SAVED_PREFIX) :], None))
                saved_refs.append(None)
                continue
            key = attr[len(SAVED_PREFIX) :]
            if torch.is_tensor(value):
                saved.append((key, tensor_view(value)))
                saved_refs.append(ref(value))
            elif isinstance(value, tuple) and any(torch.is_tensor(item) for item in value):
                for index, item in enumerate(value):
                    if torch.is_tensor(item):
                        saved.append((f"{key}[{index}]", tensor_view(item)))
                        saved_refs.append(ref(item))
            else:
                attrs.append((key, str(value)))
        try:  # only a custom autograd.Function's node has saved_tensors
            custom = fn.saved_tensors if hasattr(fn, "_forward_cls") else ()
        except RuntimeError:  # freed by backward()
            custom = ()
        for index, item in enumerate(custom):
            saved.append((f"saved_tensors[{index}]", tensor_view(item)))
            saved_refs.append(ref(item))
        leaf = variable = variable_ref = None
        if hasattr(fn, "variable"):
            leaf = names_by_id.get(id(fn.variable))
            variable = tensor_view(fn.variable)
            variable_ref = ref(fn.variable)
        next_ids = []
        for next_fn, _ in fn.next_functions:
            if next_fn is not None:
                next_ids.append(node_id(next_fn))
                pending.append(next_fn)
        nodes.append(
            GraphNode(
                id=node_id(fn),
                name=type(fn).__name__,
                attrs=tuple(attrs),
                saved=tuple(saved),
                leaf=leaf,
                variable=variable,
                next=tuple(next_ids),
                saved_refs=tuple(saved_refs),
                variable_ref=variable_ref,
            )
        )
    return Graph(nodes=tuple(nodes), roots=tuple(roots))


def capture_step(named: Mapping[str, torch.Tensor], index: int = 0, kind: str = "line") -> Step:
    """A Step holding the named tensors and their graph as they are now."""
    tensors = {name: tensor_view(tensor) for name, tensor in named.items()}
    return Step(index=index, kind=kind, tensors=tensors, graph=capture_graph(named))


def seed_tensors() -> dict[str, torch.Tensor]:
    """The seed example's first forward pass: loss = (15 - var_1 * var_2) ** 2 with var_1 = 3, var_2 = 4."""
    var_1 = torch.tensor(3.0, requires_grad=True)
    var_2 = torch.tensor(4.0, requires_grad=True)
    my_latent_value = var_1 * var_2
    loss = (15 - my_latent_value) ** 2
    return {"var_1": var_1, "var_2": var_2, "my_latent_value": my_latent_value, "loss": loss}


class Square(torch.autograd.Function):
    """A custom Function that saves its input, as tests/scripts/hand_loop.py's does."""

    @staticmethod
    def forward(ctx: Any, tensor: torch.Tensor) -> torch.Tensor:
        ctx.save_for_backward(tensor)
        return tensor * tensor

    @staticmethod
    def backward(ctx: Any, grad_output: torch.Tensor) -> torch.Tensor:
        (tensor,) = ctx.saved_tensors
        return 2 * tensor * grad_output


def network_tensors() -> dict[str, torch.Tensor]:
    """A 3 -> 2 -> 5 network with a ReLU, a custom Function, a concatenation and a sigmoid: many node kinds."""
    torch.manual_seed(0)
    net = torch.nn.Sequential(torch.nn.Linear(3, 2), torch.nn.ReLU(), torch.nn.Linear(2, 5))
    w = torch.tensor(1.5, requires_grad=True)
    x = torch.tensor([1.0, 2.0, 3.0])
    hidden = net(x)
    scaled = hidden * Square.apply(w)
    loss = (scaled - torch.arange(5.0)).pow(2).sum() + torch.cat([hidden, hidden]).mean() + hidden.sigmoid().sum()
    named = {f"net.{name}": parameter for name, parameter in net.named_parameters()}
    return {**named, "w": w, "x": x, "scaled": scaled, "loss": loss}


def mlp_tensors(layers: int = 200, width: int = 8) -> dict[str, torch.Tensor]:
    """A deep MLP's parameters and loss: the graph the speed promise is about."""
    torch.manual_seed(0)
    modules: list[torch.nn.Module] = []
    for _ in range(layers):
        modules += [torch.nn.Linear(width, width), torch.nn.ReLU()]
    net = torch.nn.Sequential(*modules)
    loss = net(torch.randn(4, width)).pow(2).mean()
    return {**{f"net.{name}": parameter for name, parameter in net.named_parameters()}, "loss": loss}
