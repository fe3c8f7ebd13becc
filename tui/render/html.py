"""A recording as ONE self-contained HTML page that steps like the app: no network, no server, no code run.

Everything the page shows is worded here, in Python, by the same functions the app
uses (tui.render.events, formatting, numbers); the page's script only picks the
current step's pieces and puts them on screen as text (`textContent`, never
`innerHTML`). The data travels as gzip-compressed JSON in base64 inside a
`<script type="application/octet-stream">`: base64 has no `<`, `&` or quote, so no
string of a recording can close the script element or become markup, whatever it
holds. Graph pictures are SVGs drawn by Graphviz and shown through `<img>`, where
an SVG can never run a script.

Big recordings stay light: tensor rows are stored once and referred to by number,
the output is one string with an end offset per step, and
the page builds only the step on screen.
"""

from __future__ import annotations

import base64
import gzip
import html
import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Sequence

from tui.errors import BadInput
from tui.render.drawing import draw_graph
from tui.render.events import step_event_lines
from tui.render.formatting import TENSOR_COLUMNS, grad_text, shape_text, value_text
from tui.render.graph_files import BACKWARD_KINDS, backward_pass, pass_tensor
from tui.render.numbers import step_counter
from tui.steps.changes import changed_fields
from tui.steps.model import Header, Step, TensorView

TEMPLATE = Path(__file__).parent / "assets" / "page.html"
# Graph pictures drawn for at most this many backward steps (each is a run of Graphviz's dot).
MAX_GRAPHS = 60
PHASES = (("forward", "Forward"), ("backprop", "Backprop"), ("optimize", "Optimize"), ("reset", "Reset"))
COLUMNS = TENSOR_COLUMNS
CHANGED, WARNING = 1, 2
# C0 controls (but newline and tab) and DEL shown as their Unicode pictures: ESC [31m reads as ␛[31m.
_VISIBLE = {code: 0x2400 + code for code in range(32) if code not in (9, 10)} | {127: 0x2421}


def visible(text: str) -> str:
    """Control characters as visible pictures (␛, ␀, ␍ ...), so terminal escapes read as text."""
    return text.translate(_VISIBLE)


@dataclass
class PageResult:
    """The page's text and what the learner should know about it."""

    text: str
    notes: list[str] = field(default_factory=list)
    graphs: int = 0


def accumulated_text(view: TensorView) -> tuple[str, bool]:
    """The backwards column as the app words it: `1×`, `2× ⚠` past one pass without a reset."""
    if not view.has_grad or view.accumulated <= 0:
        return "", False
    if view.accumulated > 1:
        return f"{view.accumulated}× ⚠", True
    return f"{view.accumulated}×", False


class _Rows:
    """Tensor rows, each stored once: a step refers to its rows by number."""

    def __init__(self) -> None:
        self.table: list[list[Any]] = []
        self._index: dict[str, int] = {}
        self._cells: dict[int, list[str]] = {}

    def cells(self, name: str, view: TensorView) -> list[str]:
        key = id(view)  # views are shared between steps while a tensor does not change
        cached = self._cells.get(key)
        if cached is None or cached[0] != visible(name):
            accumulated, _ = accumulated_text(view)
            cached = [
                visible(name),
                shape_text(view.shape),
                visible(value_text(view)),
                visible(grad_text(view)),
                accumulated,
                "✓" if view.requires_grad else "",
                visible(view.device),
                visible(view.grad_fn or ""),
            ]
            self._cells[key] = cached
        return cached

    def row(self, name: str, view: TensorView, before: TensorView | None, fresh: bool) -> int:
        cells = self.cells(name, view)
        changed = frozenset() if fresh else changed_fields(view, before)
        _, warning = accumulated_text(view)
        marks = []
        for position, (key, _label) in enumerate(COLUMNS):
            mark = WARNING if key == "accumulated" and warning else 0
            column = "grad" if key == "accumulated" else key
            if column in changed and cells[position]:
                mark |= CHANGED
            marks.append(mark)
        entry = [*cells, marks]
        text = json.dumps(entry, ensure_ascii=False)
        number = self._index.get(text)
        if number is None:
            number = self._index[text] = len(self.table)
            self.table.append(entry)
        return number


def _svg(step: Step, tensor: str, steps: Sequence[Step], sub_steps: Sequence[Step]) -> str | None:
    before = sub_steps[0].index - 1
    fallback = steps[before].graph if before >= 0 else None
    graph = step.graph if step.graph and step.graph.root_of(tensor) is not None else fallback
    try:
        drawing = draw_graph(step, tensor, graph=graph)
        data: bytes = drawing.dot.pipe(format="svg")
    except BadInput:
        return None
    return data.decode("utf-8", errors="replace")


def backward_graphs(
    steps: Sequence[Step], limit: int = MAX_GRAPHS, draw: Callable[..., str | None] = _svg
) -> tuple[dict[int, str], list[str]]:
    """Step position -> an SVG of its graph with the node running highlighted, for the first `limit` backward steps."""
    pictures: dict[int, str] = {}
    notes: list[str] = []
    if shutil.which("dot") is None:
        return pictures, ["Graphviz's dot program is not installed, so the page has no graph pictures"]
    covered: set[int] = set()
    left_out = 0
    for position, step in enumerate(steps):
        if step.kind not in BACKWARD_KINDS or position in covered:
            continue
        sub_steps = backward_pass(steps, position)
        tensor = pass_tensor(steps, sub_steps)
        for sub_step in sub_steps:
            covered.add(sub_step.index)
            if len(pictures) >= limit or tensor is None:
                left_out += 1
                continue
            picture = draw(sub_step, tensor, steps, sub_steps)
            if picture is not None:
                pictures[sub_step.index] = picture
    if left_out:
        notes.append(
            f"graph pictures for the first {len(pictures)} backward steps only ({left_out} more left out; "
            "`gradstep export RECORDING --step N -o graph.svg` draws any of them)"
        )
    return pictures, notes


def _event_lines(step: Step) -> list[str]:
    lines = step_event_lines(step)
    if step.exception is not None:
        where = f" (line {step.exception.line})" if step.exception.line is not None else ""
        lines.append(f"{step.exception.type}: {step.exception.message}{where}")
    if step.message:
        lines.append(step.message)
    return [visible(line) for line in lines]


def _counter(step: Step, last: int) -> str:
    counter = step_counter(step.index, last)
    return counter if step.iteration is None else f"iteration {step.iteration}  {counter}"


def page_data(header: Header, steps: Sequence[Step], graphs: dict[int, str]) -> dict[str, Any]:
    """Everything the page shows, worded: the source, rows, outputs, graphs and one small record per step."""
    rows = _Rows()
    output: list[str] = []  # each step's own output (a step holds what it wrote, not what came before)
    output_end = 0
    svgs: list[str] = []
    records: list[dict[str, Any]] = []
    last = len(steps) - 1
    previous: Step | None = None
    for position, step in enumerate(steps):
        before = previous.tensors if previous is not None else {}
        if step.output:
            output.append(visible(step.output))
            output_end += len(output[-1])
        fresh = previous is None
        record: dict[str, Any] = {
            "k": step.kind,
            "p": step.phase,
            "l": step.line,
            "c": _counter(step, last),
            "f": visible(step.function),
            "t": [rows.row(name, view, before.get(name), fresh) for name, view in step.tensors.items()],
            "o": output_end,
        }
        events = _event_lines(step)
        if events:
            record["e"] = events
        if step.node is not None:
            record["n"] = visible(step.node.name)
        if position in graphs:
            record["g"] = len(svgs)
            svgs.append(graphs[position])
        records.append(record)
        previous = step
    return {
        "script": visible(header.script),
        "source": [visible(line) for line in header.source.splitlines()],
        "device": visible(header.device),
        "created": visible(header.created),
        "gradstep": visible(header.gradstep),
        "torch": visible(header.torch or ""),
        "phases": PHASES,
        "columns": [label for _key, label in COLUMNS],
        "rows": rows.table,
        "output": "".join(output),
        "graphs": svgs,
        "steps": records,
    }


def encode_data(data: dict[str, Any]) -> str:
    """gzip + base64: text with no `<`, `&` or quote, safe inside any HTML element."""
    raw = json.dumps(data, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return base64.b64encode(gzip.compress(raw, compresslevel=9, mtime=0)).decode("ascii")


def build_page(header: Header, steps: Sequence[Step], *, max_graphs: int = MAX_GRAPHS) -> PageResult:
    """The page for a recording: the template with the title and the encoded data filled in."""
    if not steps:
        raise BadInput("the recording holds no steps to show")
    graphs, notes = backward_graphs(steps, max_graphs)
    data = page_data(header, steps, graphs)
    title = f"gradstep: {visible(Path(header.script).name)}"
    template = TEMPLATE.read_text(encoding="utf-8")
    # The data first: base64 holds no braces, so a title can never reach the data's marker.
    text = template.replace("{{DATA}}", encode_data(data)).replace("{{TITLE}}", html.escape(title, quote=True))
    return PageResult(text, notes, len(graphs))


def write_page(page: PageResult, output: Path) -> Path:
    """Write the page through a temporary file beside it, so a failed write leaves no half page."""
    temporary = output.with_name(f".{output.name}.tmp-{os.getpid()}")
    try:
        output.parent.mkdir(parents=True, exist_ok=True)
        temporary.write_text(page.text, encoding="utf-8")
        os.replace(temporary, output)
    except OSError as error:
        temporary.unlink(missing_ok=True)
        raise BadInput(f"cannot write {output}: {error.strerror or error}") from None
    return output


def export_page(header: Header, steps: Sequence[Step], output: Path) -> tuple[Path, list[str]]:
    """Build and write the page (the app's export dialog and `gradstep export --html`): its path and notes."""
    page = build_page(header, steps)
    return write_page(page, Path(output)), page.notes
