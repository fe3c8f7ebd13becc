"""The classic autograd mistakes, explained with the script's own names and line numbers.

`explain(steps, index, source)` reads recorded steps only (no torch, no code run): at an exception
step it matches PyTorch's message; at other steps it looks for the silent ones (a warning in the
output, a .grad that piles up, a .grad that stays None because the graph was cut). Each
explanation is two or three sentences: what went wrong here, and what to change.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Callable, Sequence

from tui.render.formatting import shape_text
from tui.steps.model import Graph, Step

_BACKWARD = re.compile(r"([A-Za-z_][\w.]*)\s*\.backward\(")
_ASSIGNED = re.compile(r"^\s*([A-Za-z_][\w]*)\s*(?:\[.*\])?\s*[+\-*/]?=(?!=)")
_WARNED_AT = re.compile(r":(\d+): UserWarning: ")
_GRAD_READ = re.compile(r"([A-Za-z_][\w.]*)\.grad\b")
_CUTS = (
    (".detach()", "`.detach()` makes a tensor with no history"),
    (".item()", "`.item()` turns the tensor into a plain Python number"),
    ("no_grad", "`torch.no_grad()` records no history for what it computes"),
    (".data", "`.data` reads and writes the values behind autograd's back"),
    ("torch.tensor(", "`torch.tensor(...)` makes a brand-new tensor from numbers, with no history"),
    (".numpy()", "`.numpy()` leaves PyTorch: nothing computed from it is recorded"),
)


@dataclass(frozen=True)
class Mistake:
    """One explained mistake: a short title and two or three sentences."""

    title: str
    text: str
    line: int | None


class _Script:
    def __init__(self, source: str) -> None:
        self.lines = source.splitlines()

    def text(self, line: int | None) -> str:
        if line is None or not 1 <= line <= len(self.lines):
            return ""
        return self.lines[line - 1].strip()

    def indent(self, line: int) -> int:
        raw = self.lines[line - 1]
        return len(raw) - len(raw.lstrip())

    def body(self, header: int) -> list[int]:
        """The lines of the block under `header` (a loop), by indentation."""
        own = self.indent(header)
        lines = []
        for number in range(header + 1, len(self.lines) + 1):
            raw = self.lines[number - 1]
            if not raw.strip() or raw.lstrip().startswith("#"):
                continue
            if self.indent(number) <= own:
                break
            lines.append(number)
        return lines


def _backward_target(text: str) -> str | None:
    found = _BACKWARD.search(text)
    return found.group(1) if found else None


def _assigned(text: str) -> str | None:
    found = _ASSIGNED.match(text)
    return found.group(1) if found else None


# -- at an exception step -------------------------------------------------------------------------


def _backward_twice(steps: Sequence[Step], index: int, script: _Script) -> Mistake | None:
    error = steps[index].exception
    if error is None or "backward through the graph a second time" not in error.message:
        return None
    line = error.line
    name = _backward_target(script.text(line)) or "the loss"
    earlier = [
        step.line for step in steps[:index]
        if step.kind == "line" and step.line is not None and ".backward(" in script.text(step.line)
    ]
    first = earlier[-2] if len(earlier) >= 2 else (earlier[0] if earlier and earlier[0] != line else None)
    where = f"line {first}" if first is not None else "an earlier backward()"
    return Mistake(
        "backward() through the same graph twice",
        f"Line {line} calls {name}.backward() through a graph that {where} already went back through, and "
        "that first backward() freed the tensors the graph saved. Recompute "
        f"{name} (run the forward pass again) before each backward(), or pass retain_graph=True to the first "
        f"backward() ({where}) if you really need two passes.",
        line,
    )


def _int_requires_grad(steps: Sequence[Step], index: int, script: _Script) -> Mistake | None:
    error = steps[index].exception
    if error is None or "floating point and complex dtype can require gradients" not in error.message:
        return None
    text = script.text(error.line)
    name = _assigned(text) or "this tensor"
    return Mistake(
        "requires_grad on an integer tensor",
        f"Line {error.line} makes {name} from whole numbers, so it is an integer tensor, and asks for "
        "requires_grad=True; only floating-point tensors can have gradients (an integer cannot move by 0.003). "
        f"Write the numbers with a decimal point (3.0, not 3), or add dtype=torch.float32 on line {error.line}.",
        error.line,
    )


def _non_scalar_backward(steps: Sequence[Step], index: int, script: _Script) -> Mistake | None:
    error = steps[index].exception
    if error is None or "grad can be implicitly created only for scalar outputs" not in error.message:
        return None
    name = _backward_target(script.text(error.line)) or "the tensor"
    view = steps[index].tensors.get(name)
    shape = f" has shape {shape_text(view.shape)} ({view.numel} numbers) and" if view is not None else ""
    return Mistake(
        "backward() on a tensor that is not a single number",
        f"{name}{shape} is not a single number, so {name}.backward() at line {error.line} does not know "
        "which gradient to start from. Reduce it to one number first "
        f"({name}.sum().backward() or {name}.mean().backward()), or say where to start: "
        f"{name}.backward(torch.ones_like({name})).",
        error.line,
    )


_INPLACE = re.compile(r"output (\d+) of (\w+), is at version (\d+); expected version (\d+)")


def _inplace(steps: Sequence[Step], index: int, script: _Script) -> Mistake | None:
    error = steps[index].exception
    if error is None or "modified by an inplace operation" not in error.message:
        return None
    found = _INPLACE.search(error.message)
    node, now, expected = (found.group(2), int(found.group(3)), int(found.group(4))) if found else (None, None, None)
    step = steps[index]
    candidates = [name for name, view in step.tensors.items() if node is not None and view.grad_fn == node]
    candidates += [name for name, view in step.tensors.items() if now is not None and view.version == now]
    name = candidates[0] if candidates else None
    changed_at = None
    if name is not None:
        for earlier, later in zip(steps[:index], steps[1 : index + 1]):
            before, after = earlier.tensors.get(name), later.tensors.get(name)
            if before is not None and after is not None and after.version > before.version:
                changed_at = earlier.line
    who = name or "a tensor"
    saved = f" when {node} saved it" if node else ""
    where = f"line {changed_at} changed {who} in place" if changed_at is not None else f"{who} was changed in place"
    versions = f" (version {expected}, now {now})" if expected is not None else ""
    return Mistake(
        "an in-place change to a tensor autograd saved",
        f"backward() at line {error.line} needs {who} as it was{saved}{versions}, but {where} afterwards. "
        f"Make a new tensor instead of changing it in place ({who} = {who} * 2 rather than {who} *= 2 or a "
        "method ending in _), or .clone() it before the in-place change.",
        error.line,
    )


# -- silent ones, as a notice on the step -----------------------------------------------------------


def _warned(steps: Sequence[Step], index: int, needle: str) -> tuple[int | None, str] | None:
    output = steps[index].output
    at = output.find(needle)
    if at < 0:
        return None
    start = output.rfind("\n", 0, at) + 1
    found = _WARNED_AT.search(output, start, at + len(needle))
    line = int(found.group(1)) if found else steps[index - 1].line if index else None
    end = output.find("\n", at)
    return line, output[at : end if end >= 0 else len(output)]


def _non_leaf_grad(steps: Sequence[Step], index: int, script: _Script) -> Mistake | None:
    warned = _warned(steps, index, "The .grad attribute of a Tensor that is not a leaf Tensor is being accessed")
    if warned is None:
        return None
    line, _ = warned
    names = _GRAD_READ.findall(script.text(line))
    name = next((name for name in names if not steps[index].tensors.get(name, None) or
                 not steps[index].tensors[name].is_leaf), names[0] if names else "this tensor")
    view = steps[index].tensors.get(name)
    made = f" ({view.grad_fn} made it from other tensors)" if view is not None and view.grad_fn else ""
    return Mistake(
        ".grad of a tensor that is not a leaf",
        f"{name} is not a leaf{made}, and PyTorch keeps .grad only for leaves (the tensors you made with "
        f"requires_grad=True), so {name}.grad at line {line} is None. Call {name}.retain_grad() before "
        f"backward() to keep it, or read the .grad of the leaves {name} was made from.",
        line,
    )


_SIZES = re.compile(r"target size \(torch\.Size\(\[([\d, ]*)\]\)\) that is different to the input size "
                    r"\(torch\.Size\(\[([\d, ]*)\]\)\)")


def _broadcast_loss(steps: Sequence[Step], index: int, script: _Script) -> Mistake | None:
    warned = _warned(steps, index, "Using a target size")
    if warned is None:
        return None
    line, message = warned
    found = _SIZES.search(message)
    if not found:
        return None
    target, prediction = (f"({found.group(1)}{',' if ',' not in found.group(1) else ''})", f"({found.group(2)})")
    return Mistake(
        "a loss that broadcasts (N, 1) against (N,)",
        f"Line {line} compares a prediction of shape {prediction} with a target of shape {target}: broadcasting "
        "pairs every prediction with every target, so the loss is averaged over a whole grid and is wrong "
        "without any error. Make the shapes match: target.unsqueeze(1) (or .view(-1, 1)), or "
        "prediction.squeeze(1).",
        line,
    )


def _missing_zero_grad(steps: Sequence[Step], index: int, script: _Script) -> Mistake | None:
    step = steps[index]
    piled = [(name, view.accumulated) for name, view in step.tensors.items() if view.has_grad and view.accumulated > 1]
    if not piled:
        return None
    name, count = piled[0]
    loop = step.loop_line
    if loop is None:
        backward_lines = [s.line for s in steps[: index + 1] if s.kind == "backward" and s.line is not None]
        at = (backward_lines[-1] + 1) if backward_lines else step.line
        where = f"between the backward() calls (after line {backward_lines[-1]})" if backward_lines else "before each backward()"
        return Mistake(
            "gradients pile up: no reset between backward() calls",
            f"{name}.grad now holds the sum of {count} backward passes: backward() adds into .grad, it never "
            f"replaces it. Reset it {where}: {name}.grad = None, or your optimizer's zero_grad(), at line {at}.",
            at,
        )
    body = script.body(loop)
    if any(".zero_grad(" in script.text(line) or ".grad = None" in script.text(line) for line in body):
        return None  # the loop resets already (accumulating on purpose, or resetting too late): the banner says it
    stepper = next((line for line in body if re.search(r"\w\.step\(\)", script.text(line))), None)
    backward = next((line for line in body if ".backward(" in script.text(line)), None)
    after = stepper or backward or (body[-1] if body else loop)
    optimizer = re.search(r"([A-Za-z_][\w.]*)\.step\(\)", script.text(stepper)) if stepper else None
    reset = f"{optimizer.group(1)}.zero_grad()" if optimizer else f"{name}.grad = None"
    return Mistake(
        "gradients pile up: zero_grad() is missing",
        f"{name}.grad now holds the sum of {count} backward passes of the loop at line {loop}: backward() adds "
        "into .grad, it never replaces it, so each update uses every earlier iteration's gradient too. "
        f"Reset once per iteration: put {reset} on the line after line {after} "
        f"({script.text(after)}), inside the loop.",
        after + 1,
    )


def _graph_cut(steps: Sequence[Step], index: int, script: _Script) -> Mistake | None:
    step = steps[index]
    if step.kind != "line" or index == 0:
        return None
    before = steps[index - 1]
    target = _backward_target(script.text(before.line))
    if target is None or before.line == step.line:
        return None
    loss = step.tensors.get(target)
    if loss is None:
        return None
    reached = _leaves_reached(step.graph, target)
    missing = [
        name for name, view in step.tensors.items()
        if view.is_leaf and view.requires_grad and not view.has_grad and name != target and name not in reached
        and view.role == "tensor"
    ]
    if not missing:
        return None
    name = missing[0]
    made = _made_at(steps, index, target)
    run = sorted({earlier.line for earlier in steps[:index] if earlier.line is not None})
    cut = next((found for line in run if name in script.text(line) and _assigned(script.text(line)) != name and (found := _cut_line(script, line))), None)
    cut = cut or _cut_line(script, made)
    if loss.grad_fn is None:
        ends = f"{target} itself has no history: it is a leaf, made at line {made}" if made else f"{target} is a leaf"
    else:
        ends = (f"the graph from {target} ends at {', '.join(sorted(reached))}" if reached
                else f"the graph from {target} reaches no leaf")
    why = f" (line {cut[0]}: {cut[1]})" if cut else ""
    return Mistake(
        f".grad of {name} stays None: the graph was cut",
        f"{target}.backward() at line {before.line} never reached {name}: walking back from {target}, "
        f"{ends}{why}, so nothing connects it to {name} and {name}.grad stays None. Compute {target} from "
        f"{name} with tensor operations all the way (no new tensor from a number, .detach(), .item(), "
        "torch.no_grad() or .data in between).",
        made or before.line,
    )


def _leaves_reached(graph: Graph | None, root_name: str) -> set[str]:
    if graph is None:
        return set()
    root = graph.root_of(root_name)
    if root is None:
        return set()
    nodes = {node.id: node for node in graph.nodes}
    seen: set[int] = set()
    stack = [root]
    leaves: set[str] = set()
    while stack:
        node_id = stack.pop()
        if node_id in seen or node_id not in nodes:
            continue
        seen.add(node_id)
        node = nodes[node_id]
        if node.leaf:
            leaves.add(node.leaf)
        stack.extend(node.next)
    return leaves


def _made_at(steps: Sequence[Step], index: int, name: str) -> int | None:
    """The line that last made `name`: the step just before it appeared (or changed identity)."""
    for position in range(index, 0, -1):
        now, earlier = steps[position].tensors.get(name), steps[position - 1].tensors.get(name)
        if now is not None and (earlier is None or earlier.version > now.version or earlier.grad_fn != now.grad_fn):
            return steps[position - 1].line
    return None


def _cut_line(script: _Script, line: int | None) -> tuple[int, str] | None:
    text = script.text(line)
    for token, words in _CUTS:
        if token in text and line is not None:
            return line, words
    return None


_CHECKS: tuple[Callable[[Sequence[Step], int, _Script], Mistake | None], ...] = (
    _backward_twice, _int_requires_grad, _non_scalar_backward, _inplace,
    _non_leaf_grad, _broadcast_loss, _graph_cut, _missing_zero_grad,
)


def explain(steps: Sequence[Step], index: int, source: str) -> Mistake | None:
    """The classic mistake this step shows, explained, or None."""
    if not 0 <= index < len(steps):
        return None
    script = _Script(source)
    for check in _CHECKS:
        try:
            found = check(steps, index, script)
        except (IndexError, KeyError, ValueError):  # a recording shaped unlike the engine's: no explanation
            continue
        if found is not None:
            return found
    return None
