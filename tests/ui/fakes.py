"""Synthetic steps and a fake session, so most UI tests need neither torch nor the engine.

The steps follow the seed example (tests/scripts/seed_sgd.py) with the real
arithmetic: var_1 · var_2 → 15, SGD lr 3e-3, one backward of five nodes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Iterable

from tests.builders import SEED_SOURCE, header, tensor_view
from tui.steps.model import (
    ExceptionInfo,
    FrameInfo,
    Graph,
    GraphNode,
    NodeEvent,
    ParamUpdate,
    ResetEvent,
    Step,
    Summary,
    TensorView,
)

SCRIPTS = Path(__file__).parent.parent / "scripts"
LR = 3e-3


def seed_graph(var_1: float, var_2: float) -> Graph:
    """loss = (15 - var_1 * var_2) ** 2: Pow → Rsub → Mul → two AccumulateGrad."""
    return Graph(
        nodes=(
            GraphNode(1, "PowBackward0", attrs=(("exponent", "2"),), saved=(("_saved_self", tensor_view(15 - var_1 * var_2, requires_grad=False)),), next=(2,)),
            GraphNode(2, "RsubBackward1", attrs=(("alpha", "1"),), next=(3,)),
            GraphNode(3, "MulBackward0", saved=(("_saved_self", tensor_view(var_1)), ("_saved_other", tensor_view(var_2))), next=(4, 5)),
            GraphNode(4, "AccumulateGrad", leaf="var_1", variable=tensor_view(var_1)),
            GraphNode(5, "AccumulateGrad", leaf="var_2", variable=tensor_view(var_2)),
        ),
        roots=(("my_latent_value", 3), ("loss", 1)),
    )


class StepMaker:
    """Appends steps with consecutive indexes."""

    def __init__(self) -> None:
        self.steps: list[Step] = []

    def add(self, kind: str, **fields) -> Step:
        step = Step(index=len(self.steps), kind=kind, **fields)
        self.steps.append(step)
        return step


def seed_steps(iterations: int = 1, *, forget_reset: bool = False) -> list[Step]:
    """The seed example as the engine records it with step-into: lines, nodes, updates, resets."""
    maker = StepMaker()
    var_1, var_2 = 3.0, 4.0
    grad_1: float | None = None
    grad_2: float | None = None
    accumulated = 0

    def leaves() -> dict[str, TensorView]:
        return {
            "var_1": tensor_view(var_1, grad=grad_1, accumulated=accumulated),
            "var_2": tensor_view(var_2, grad=grad_2, accumulated=accumulated),
        }

    maker.add("line", line=2)
    maker.add("line", line=3)
    maker.add("line", line=5)
    maker.add("line", line=6, tensors={"var_1": tensor_view(3.0)})
    maker.add("line", line=7, tensors=leaves())
    for iteration in range(iterations + 1):
        loop = (15, iteration) if iteration else (None, None)
        base = 16 if iteration else 9
        extra = {"loop_line": loop[0], "iteration": loop[1]}
        if iteration:
            maker.add("line", line=15, phase="reset", tensors=maker.steps[-1].tensors, graph=maker.steps[-1].graph, **extra)
        latent = var_1 * var_2
        tensors = leaves()
        maker.add("line", line=base, phase=maker.steps[-1].phase, tensors=tensors, graph=maker.steps[-1].graph, **extra)
        graph = Graph(nodes=seed_graph(var_1, var_2).nodes[2:], roots=(("my_latent_value", 3),))
        tensors = {**leaves(), "my_latent_value": tensor_view(latent, grad_fn="MulBackward0", leaf=False)}
        maker.add("line", line=base + 1, phase="forward", tensors=tensors, graph=graph, **extra)
        graph = seed_graph(var_1, var_2)
        loss = (15 - latent) ** 2
        tensors = {**tensors, "loss": tensor_view(loss, grad_fn="PowBackward0", leaf=False)}
        maker.add("line", line=base + 2, phase="forward", tensors=tensors, graph=graph, **extra)
        # backward: one sub-step per node, in the order autograd runs them
        d_latent = -2 * (15 - latent)
        grads = {
            1: ((1.0,), (2 * (15 - latent),)),
            2: ((2 * (15 - latent),), (d_latent,)),
            3: ((d_latent,), (d_latent * var_2, d_latent * var_1)),
        }
        done: list[int] = []
        for node_id in (1, 2, 3):
            done.append(node_id)
            arrived, sent = grads[node_id]
            event = NodeEvent(
                node_id,
                graph.node(node_id).name,
                grad_outputs=tuple(tensor_view(value, requires_grad=False) for value in arrived),
                grad_inputs=tuple(tensor_view(value, requires_grad=False) for value in sent),
                done=tuple(done),
            )
            maker.add("backward", line=base + 2, phase="backprop", tensors=tensors, graph=graph, node=event, **extra)
        new_accumulated = accumulated + 1
        for node_id, leaf, delta in ((4, "var_1", d_latent * var_2), (5, "var_2", d_latent * var_1)):
            done.append(node_id)
            before = grad_1 if leaf == "var_1" else grad_2
            after = (before or 0.0) + delta
            if leaf == "var_1":
                grad_1 = after
            else:
                grad_2 = after
            accumulated_now = new_accumulated
            tensors = {
                **tensors,
                leaf: tensor_view(var_1 if leaf == "var_1" else var_2, grad=after, accumulated=accumulated_now),
            }
            event = NodeEvent(
                node_id,
                "AccumulateGrad",
                grad_outputs=(tensor_view(delta, requires_grad=False),),
                leaf=leaf,
                grad_before=None if before is None else tensor_view(before, requires_grad=False),
                grad_after=tensor_view(after, requires_grad=False),
                done=tuple(done),
            )
            maker.add("accumulate", line=base + 2, phase="backprop", tensors=tensors, graph=graph, node=event, **extra)
        accumulated = new_accumulated
        tensors = {**tensors, **leaves()}
        maker.add("line", line=base + 3, phase="backprop", tensors=tensors, graph=graph, **extra)
        for leaf in ("var_1", "var_2"):
            before_view = leaves()[leaf]
            if leaf == "var_1":
                var_1 = var_1 - LR * (grad_1 or 0.0)
            else:
                var_2 = var_2 - LR * (grad_2 or 0.0)
            after_view = leaves()[leaf]
            tensors = {**tensors, leaf: after_view}
            update = ParamUpdate("my_sgd", leaf, before_view, tensor_view(grad_1 if leaf == "var_1" else grad_2, requires_grad=False), after_view)
            maker.add("optimizer", line=base + 3, phase="optimize", tensors=tensors, graph=graph, update=update, **extra)
        maker.add("line", line=base + 4, phase="optimize", tensors=tensors, graph=graph, **extra)
        if not forget_reset:
            grad_1 = grad_2 = None
            accumulated = 0
            tensors = {**tensors, **leaves()}
            maker.add("reset", line=base + 4, phase="reset", tensors=tensors, graph=graph,
                      reset=ResetEvent("my_sgd", ("var_1", "var_2"), True), **extra)
    maker.add("line", line=22, phase=maker.steps[-1].phase, tensors=maker.steps[-1].tensors, graph=maker.steps[-1].graph)
    maker.add("end", line=22, tensors=maker.steps[-1].tensors, graph=maker.steps[-1].graph, output=f"tensor({var_1:.4f}, requires_grad=True) tensor({var_2:.4f}, requires_grad=True)\n")
    return maker.steps


def raising_steps() -> list[Step]:
    """tests/scripts/raises.py: three iterations, then a ValueError on line 8."""
    maker = StepMaker()
    weights = TensorView((2,), "float32", "cpu", True, True, None, 0, (1.0, 2.0))
    maker.add("line", line=2)
    maker.add("line", line=4)
    for iteration in range(3):
        tensors = {"weights": weights}
        maker.add("line", line=5, loop_line=5, iteration=iteration + 1, tensors=tensors, output=f"step {iteration}\n")
        maker.add("line", line=6, loop_line=5, iteration=iteration + 1, tensors=tensors)
    info = ExceptionInfo("ValueError", "the learning rate exploded", 8, (FrameInfo(8, "<module>", 'raise ValueError("the learning rate exploded")'),))
    maker.add("exception", line=8, loop_line=5, iteration=3, tensors={"weights": weights}, exception=info)
    return maker.steps


class FakeRecording:
    """Stands in for tui.steps.recording.Recording."""

    def __init__(self, steps: Iterable[Step], source: str = SEED_SOURCE, script: str = "seed_sgd.py") -> None:
        self.header = header(source, script)
        self.steps = tuple(steps)


class FakeSession:
    """Records the commands the app sends; tests post the steps the engine would."""

    def __init__(self, source: str = SEED_SOURCE) -> None:
        self.header = header(source)
        self.commands: list[str] = []
        self.breakpoints: tuple[int, ...] = ()

    def step_into(self) -> None:
        self.commands.append("step_into")

    def step_over(self) -> None:
        self.commands.append("step_over")

    def step_out(self) -> None:
        self.commands.append("step_out")

    def resume(self) -> None:
        self.commands.append("resume")

    def pause(self) -> None:
        self.commands.append("pause")

    def stop(self) -> None:
        self.commands.append("stop")

    def set_breakpoints(self, lines: Iterable[int]) -> None:
        self.breakpoints = tuple(lines)


def big_steps(count: int = 20, *, params: int = 100_000, nodes: int = 200) -> list[Step]:
    """A model with `params` parameters in summaries and a `nodes`-node chain graph."""
    maker = StepMaker()
    per_layer = params // 10

    def summary(shift: float) -> Summary:
        return Summary(per_layer, -1.0 + shift, 1.0 + shift, shift, 0.5, 0, 0, 0, tuple(0.1 * i + shift for i in range(8)))

    chain = []
    for node_id in range(1, nodes + 1):
        if node_id == nodes:
            chain.append(GraphNode(node_id, "AccumulateGrad", leaf="layer0.weight"))
        else:
            chain.append(GraphNode(node_id, "AddmmBackward0" if node_id % 2 else "ReluBackward0", next=(node_id + 1,)))
    graph = Graph(nodes=tuple(chain), roots=(("loss", 1),))
    for index in range(count):
        shift = index * 0.01
        tensors = {
            f"layer{layer}.weight": TensorView((100, per_layer // 100), "float32", "cpu", True, True, None, index, None,
                                               summary(shift), True, None, summary(-shift), 1, "parameter")
            for layer in range(10)
        }
        tensors["loss"] = tensor_view(1.0 / (index + 1), grad_fn="MseLossBackward0", leaf=False)
        done = tuple(range(1, (index % nodes) + 2))
        event = NodeEvent(done[-1], chain[done[-1] - 1].name, (tensor_view(1.0),), (tensor_view(0.5),), done=done)
        maker.add("backward", line=10, phase="backprop", loop_line=8, iteration=index + 1, tensors=tensors, graph=graph, node=event)
    return maker.steps


def screen_text(app) -> str:
    """What the terminal shows right now, as plain text (for asserting numbers on screen)."""
    import io

    from rich.console import Console

    width, height = app.size
    console = Console(width=width, height=height, file=io.StringIO(), force_terminal=True,
                      color_system="truecolor", record=True, legacy_windows=False, safe_box=False)
    console.print(app.screen._compositor.render_update(full=True, screen_stack=app._background_screens))
    return console.export_text()
