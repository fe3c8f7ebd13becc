"""Hostile recordings: real recordings of the test scripts, their strings swapped for crafted ones, written
through the real writer (tui.steps.recording), as a file someone sent a learner could be.

`HOSTILE` holds terminal escapes (set the window title, clear the screen, a bell), Textual markup that
would make a quitting link, and markup left open (which crashes a markup parser).
"""

from __future__ import annotations

import dataclasses
import functools
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from tests.conftest import SCRIPTS

ESCAPES = "\x1b]0;pwned\x07\x1b[2J\x9b31m\u202e"
CONTROLS = "\x1b\x07\x9b\u202e"  # the control characters in ESCAPES: none may reach a terminal raw
MARKUP = "[@click=app.quit]click[/] [bold"
HOSTILE = ESCAPES + MARKUP
# What the reader must see instead: every control character as an escape, the markup as typed.
HOSTILE_SHOWN = "\\x1b]0;pwned\\x07\\x1b[2J\\x9b31m\\u202e" + MARKUP
IMG_NAME_TEMPLATE = '<<B>MulBackward0</B><IMG SRC="{path}"/>>'


def swap(obj: Any, strings: Mapping[str, str], memo: dict[int, Any] | None = None) -> Any:
    """`obj` with every string (and mapping key) found in `strings` replaced, dataclasses rebuilt, sharing kept."""
    memo = {} if memo is None else memo
    if id(obj) in memo:
        return memo[id(obj)]
    result: Any
    if isinstance(obj, str):
        return strings.get(obj, obj)
    if dataclasses.is_dataclass(obj) and not isinstance(obj, type):
        changes = {field.name: swap(getattr(obj, field.name), strings, memo) for field in dataclasses.fields(obj)}
        result = dataclasses.replace(obj, **changes)
    elif isinstance(obj, tuple):
        result = tuple(swap(item, strings, memo) for item in obj)
    elif isinstance(obj, list):
        result = [swap(item, strings, memo) for item in obj]
    elif isinstance(obj, Mapping):
        result = {swap(key, strings, memo): swap(value, strings, memo) for key, value in obj.items()}
    else:
        return obj
    memo[id(obj)] = result
    return result


def write_swapped(script: str, output: Path, strings: Mapping[str, str], *, device: str | None = None,
                  stdout: str | None = None) -> Path:
    """Record tests/scripts/<script> with the real engine, swap its strings, write it with the real writer."""
    from tests.engine.recorded import record_steps
    from tui.steps.recording import write_recording

    session, steps = record_steps(SCRIPTS / script)
    header = session.header
    source = "\n".join(f"{line}  # {HOSTILE}" if line.strip() else line for line in header.source.splitlines())
    header = dataclasses.replace(header, source=source)
    if device is not None:
        header = dataclasses.replace(header, device=device, device_name=device)
    memo: dict[int, Any] = {}
    swapped = [swap(step, strings, memo) for step in steps]
    if stdout is not None:
        swapped[-1] = dataclasses.replace(swapped[-1], output=swapped[-1].output + stdout)
    write_recording(output, header, swapped)
    return output


def _folder() -> Path:
    return Path(tempfile.mkdtemp(prefix="gradstep-hostile-"))


@functools.cache
def hostile_recording(script: str = "raises.py") -> Path:
    """A recording whose names, source, stdout, exception message and device all hold HOSTILE."""
    names = {
        "var_1": "var_1" + HOSTILE, "weights": "weights" + HOSTILE, "loss": "loss" + HOSTILE,
        "MulBackward0": "MulBackward0" + HOSTILE, "SumBackward0": "SumBackward0" + HOSTILE, "my_sgd": "my_sgd" + HOSTILE,
        "the learning rate exploded": "the learning rate exploded" + HOSTILE, "ValueError": "ValueError" + HOSTILE,
    }
    return write_swapped(script, _folder() / f"hostile-{Path(script).stem}.gstep", names,
                         device="cpu" + HOSTILE, stdout=HOSTILE + "\n")


@functools.cache
def img_label_recording(image: str) -> Path:
    """The seed example with its MulBackward0 node named as a Graphviz HTML label that embeds `image`."""
    name = IMG_NAME_TEMPLATE.format(path=image)
    return write_swapped("seed_sgd.py", _folder() / "img-label.gstep", {"MulBackward0": name, "var_1": name})


BIG_GRAPH_BASE = Path(__file__).parent / "fixtures" / "recordings" / "seed_sgd.gstep"
BIG_GRAPH_STEP = 7  # the seed's first step holding loss's graph (checked in big_graph_recording)


def big_graph_recording(output: Path, functions: int, *, name: str = "MulBackward0", leaves: bool = False) -> Path:
    """The seed recording with loss's graph at BIG_GRAPH_STEP swapped for a chain of `functions` nodes.

    No script makes such a graph (the engine keeps at most 2,000 nodes): it is a file someone crafted.
    Drawn with --plain, it is functions + 1 nodes (the chain and loss); with `leaves`, each chain node
    also feeds an AccumulateGrad and its leaf tensor (3 × functions + 1 nodes, every leaf with a value).
    """
    from tui.steps.model import Graph, GraphNode
    from tui.steps.recording import load_recording, write_recording

    recording = load_recording(BIG_GRAPH_BASE)
    step = recording.steps[BIG_GRAPH_STEP]
    assert step.graph is not None and step.graph.root_of("loss") is not None, "the seed fixture changed"
    leaf_view = step.tensors["var_1"]
    nodes: list[GraphNode] = []
    for position in range(functions):
        following = (position + 1,) if position + 1 < functions else ()
        if leaves:
            accumulate = functions + position
            following = (*following, accumulate)
            nodes.append(GraphNode(id=accumulate, name="AccumulateGrad", variable=leaf_view))
        nodes.append(GraphNode(id=position, name=name, next=following))
    graph = Graph(nodes=tuple(nodes), roots=(("loss", 0),))
    steps = list(recording.steps)
    steps[BIG_GRAPH_STEP] = dataclasses.replace(step, graph=graph)
    write_recording(output, recording.header, steps)
    return output
