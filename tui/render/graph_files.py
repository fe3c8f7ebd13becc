"""Export a step's graph as svg, png, pdf or dot: which step and tensor, and writing the file.

Graphviz's `dot` program is optional: without it the DOT source is written
beside the requested file and GraphvizMissing (exit 3) says how to install it.
No torch here.
"""

from __future__ import annotations

import math
import os
import shutil
import subprocess
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import graphviz

from tui.errors import BadInput, GradstepError, GraphvizMissing
from tui.render.dotgraph import node_names
from tui.render.drawing import Drawing, draw_graph, names_text
from tui.steps.model import Graph, Kind, Step
from tui.steps.queries import loss_to_follow

__all__ = ["Drawing", "draw_graph"]  # drawing from recorded data lives in tui.render.drawing

FORMATS = ("svg", "png", "pdf", "dot")
BACKWARD_KINDS: tuple[Kind, ...] = ("backward", "accumulate")
INSTALL_HINT = (
    "install Graphviz for images (apt install graphviz, brew install graphviz, "
    "conda install -c conda-forge graphviz or winget install graphviz)"
)


@dataclass(frozen=True)
class ExportRequest:
    """What to draw and where: the export dialog's and `gradstep export`'s choices."""

    output: Path
    format: str = "svg"
    tensor: str | None = None
    values: bool = True
    show_attrs: bool = False
    show_saved: bool = False
    slides: bool = False  # values on every node, a title and a legend (tui.render.slides)
    scale: float | None = None  # PNG: times Graphviz's 96 dpi
    dpi: float | None = None  # PNG: this resolution


@dataclass(frozen=True)
class ExportResult:
    """The files written, and anything the learner should know about them."""

    paths: tuple[Path, ...]
    notes: tuple[str, ...] = ()


def format_for(output: Path, requested: str | None) -> str:
    """The requested format, else the output's suffix (svg when it has none).

    A suffix we do not write (`graph.bmp`) is refused rather than filled with SVG.
    """
    if requested:
        return requested
    suffix = Path(output).suffix.lower().lstrip(".")
    if not suffix:
        return "svg"
    if suffix not in FORMATS:
        raise BadInput(
            f"cannot write {Path(output).name} as .{suffix}: name it .svg, .png, .pdf or .dot, "
            "or choose one with --format"
        )
    return suffix


def drawable_step(steps: Sequence[Step], index: int, tensor: str | None) -> tuple[Step, str, list[str]]:
    """The step to draw for steps[index] and the tensor: falls back to the last step still holding its graph."""
    step = steps[index]
    name = tensor or loss_to_follow(steps[index])
    if name is None:
        raise BadInput(
            f"step {index} has no scalar tensor with a grad_fn (no forward pass has run yet?): "
            "choose a later step, or a tensor with --tensor"
        )
    if name not in step.tensors:
        raise BadInput(f"no tensor {name!r} at step {index} (named tensors there: {names_text(step)})")
    if step.tensors[name].grad_fn is None or (step.graph is not None and step.graph.root_of(name) is not None):
        return step, name, []
    for earlier in reversed(steps[:index]):
        if name in earlier.tensors and earlier.graph is not None and earlier.graph.root_of(name) is not None:
            note = f"{name}'s graph is gone at step {index}; drew step {earlier.index}, the last step that has it"
            return earlier, name, [note]
    raise BadInput(f"the graph of {name!r} was never recorded up to step {index}")


def _in_pass(step: Step, depth: int) -> bool:
    """A backward sub-step, or a line of the script's own code that backward() called (a custom Function)."""
    return step.kind in BACKWARD_KINDS or (step.kind == "line" and step.depth > depth)


def backward_pass(steps: Sequence[Step], index: int | None) -> list[Step]:
    """The backward/accumulate sub-steps of the pass holding steps[index] (or the next; the first when None)."""
    if index is None:
        inside = [position for position, step in enumerate(steps) if step.kind in BACKWARD_KINDS]
        if not inside:
            raise BadInput("the recording has no backward pass to draw step by step")
        start = inside[0]  # the first pass: where a learner first meets backward()
    else:
        found = next((p for p in range(index, len(steps)) if steps[p].kind in BACKWARD_KINDS), None)
        if found is None:
            raise BadInput(f"no backward pass at or after step {index}")
        start = found
    depth = steps[start].depth
    while start > 0 and _in_pass(steps[start - 1], depth):
        start -= 1
    end = start
    while end + 1 < len(steps) and _in_pass(steps[end + 1], depth):
        end += 1
    return [step for step in steps[start : end + 1] if step.kind in BACKWARD_KINDS]


# Graphviz's layout grows much faster than the graph: past this many nodes an image is refused
# (the .dot file is still written on request), and `dot` is stopped after DOT_SECONDS whatever the size.
MAX_IMAGE_NODES = 5_000
DOT_SECONDS = 60.0


def _write_bytes(path: Path, data: bytes) -> None:
    """Write through a temporary file beside `path` and a rename: a failed write never leaves half a file."""
    temporary: Path | None = None
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp", delete=False) as file:
            temporary = Path(file.name)
            file.write(data)
        os.replace(temporary, path)
        temporary = None
    except OSError as error:
        raise BadInput(f"cannot write {path}: {error.strerror or error}") from None
    finally:
        if temporary is not None:
            temporary.unlink(missing_ok=True)


def _node_count(dot: graphviz.Digraph) -> int:
    return len(node_names(dot.body))


def dot_seconds() -> float:
    """`dot`'s time limit: GRADSTEP_DOT_SECONDS (a number of seconds above 0), else DOT_SECONDS."""
    text = os.environ.get("GRADSTEP_DOT_SECONDS")
    if text is None:
        return DOT_SECONDS
    try:
        seconds = float(text)
    except ValueError:
        seconds = math.nan
    if not (0 < seconds < math.inf):
        raise BadInput(f"GRADSTEP_DOT_SECONDS must be a number of seconds above 0, not {text!r}")
    return seconds


def _layout(dot: graphviz.Digraph, output: Path, fmt: str) -> bytes:
    """`dot -T<fmt>` on the source, refused past MAX_IMAGE_NODES and stopped after DOT_SECONDS."""
    nodes = _node_count(dot)
    if nodes > MAX_IMAGE_NODES:
        raise BadInput(
            f"the graph has {nodes:,} nodes, more than the {MAX_IMAGE_NODES:,} gradstep lays out as an image: "
            f"export it as .dot instead"
        )
    seconds = dot_seconds()
    try:
        done = subprocess.run(
            ["dot", f"-T{fmt}"], input=dot.source.encode(), capture_output=True, timeout=seconds, check=False
        )
    except subprocess.TimeoutExpired:
        raise BadInput(
            f"Graphviz's dot did not lay out {output.name} ({nodes:,} nodes) within {seconds:g} s: "
            "export it as .dot instead"
        ) from None
    if done.returncode != 0:
        detail = done.stderr.decode(errors="replace").strip().splitlines()
        raise GradstepError(f"Graphviz failed to draw {output.name}: {detail[0] if detail else done.returncode}")
    image: bytes = done.stdout
    return image


def write_graph(dot: graphviz.Digraph, output: Path, fmt: str) -> Path:
    """Write svg, png, pdf or dot; without Graphviz, write the .dot beside OUT and raise GraphvizMissing."""
    output = Path(output)
    if fmt not in FORMATS:
        raise BadInput(f"unknown format {fmt!r}: use one of {', '.join(FORMATS)}")
    if fmt == "dot":
        _write_bytes(output, dot.source.encode())
        return output
    try:
        if shutil.which("dot") is None:
            raise graphviz.ExecutableNotFound(("dot",))
        data = _layout(dot, output, fmt)
    except graphviz.ExecutableNotFound:
        dot_path = output.with_suffix(".dot")
        _write_bytes(dot_path, dot.source.encode())
        raise GraphvizMissing(
            f"Graphviz's dot program is not installed, so wrote {dot_path} instead; {INSTALL_HINT}", dot_path
        ) from None
    _write_bytes(output, data)
    return output


def numbered(output: Path, number: int) -> Path:
    """OUT stem + `-001` + OUT suffix."""
    return output.with_name(f"{output.stem}-{number:03d}{output.suffix}")


def _finish(drawing: Drawing, step: Step, request: ExportRequest, steps: Sequence[Step] | None, graph: Graph | None = None) -> None:
    """The slide passes and the PNG resolution, when asked for."""
    from tui.render.slides import decorate, set_scale

    if request.slides:
        decorate(drawing, step, graph=graph, steps=steps, values=request.values)
    if request.format == "png":
        set_scale(drawing, request.scale, request.dpi)


def export_step(step: Step, request: ExportRequest, steps: Sequence[Step] | None = None) -> ExportResult:
    """Draw one step's graph from its recorded data and write it (the app's export of any step)."""
    tensor = request.tensor or loss_to_follow(step)
    if tensor is None:
        raise BadInput(f"step {step.index} has no tensor with a grad_fn to draw: choose a tensor")
    drawing = draw_graph(
        step, tensor, values=request.values, show_attrs=request.show_attrs, show_saved=request.show_saved
    )
    _finish(drawing, step, request, steps)
    path = write_graph(drawing.dot, request.output, request.format)
    return ExportResult((path,), tuple(drawing.notes))


def pass_tensor(steps: Sequence[Step], sub_steps: Sequence[Step]) -> str | None:
    """The tensor a backward pass started from: the loss followed, else the root its first node belongs to."""
    before = sub_steps[0].index - 1
    first = sub_steps[0].node.node_id if sub_steps[0].node is not None else None
    graph = sub_steps[0].graph or (steps[before].graph if before >= 0 else None)
    roots = [name for name, node_id in (graph.roots if graph else ()) if node_id == first]
    guess = loss_to_follow(steps[max(before, 0)])
    return guess if guess in roots or not roots else roots[-1]


def export_backward_pass(steps: Sequence[Step], index: int | None, request: ExportRequest) -> ExportResult:
    """One numbered image per backward/accumulate sub-step, highlighting the node running and those done."""
    sub_steps = backward_pass(steps, index)
    before = sub_steps[0].index - 1
    tensor = request.tensor or pass_tensor(steps, sub_steps)
    if tensor is None:
        raise BadInput("cannot tell which tensor this backward pass started from: name it with --tensor")
    fallback = steps[before].graph if before >= 0 else None
    paths: list[Path] = []
    notes: list[str] = []
    missing: list[Path] = []
    for number, sub_step in enumerate(sub_steps, start=1):
        graph = sub_step.graph if sub_step.graph and sub_step.graph.root_of(tensor) is not None else fallback
        drawing = draw_graph(
            sub_step,
            tensor,
            graph=graph,
            values=request.values,
            show_attrs=request.show_attrs,
            show_saved=request.show_saved,
        )
        _finish(drawing, sub_step, request, steps, graph)
        try:
            paths.append(write_graph(drawing.dot, numbered(request.output, number), request.format))
        except GraphvizMissing as error:
            if error.dot_path is not None:  # write_graph always says which file it wrote
                missing.append(error.dot_path)
        notes.extend(note for note in drawing.notes if note not in notes)
    if missing:
        raise GraphvizMissing(
            f"Graphviz's dot program is not installed, so wrote {len(missing)} .dot files instead "
            f"({missing[0]} to {missing[-1].name}); {INSTALL_HINT}",
            missing[0],
        )
    return ExportResult(tuple(paths), tuple(notes))
