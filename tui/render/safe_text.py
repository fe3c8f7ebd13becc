"""Text from a recording or a script, made safe to show: control characters become visible escapes.

A recording someone sent is data. Its strings (source lines, tensor and node names, stdout,
exception messages, the header's device) reach a terminal through `show`, `diff` and the app, and
a raw ESC there can set the window title or clear the screen. Every such string goes through
`visible()` before it is shown: C0 and C1 control characters, DEL, the bidirectional overrides
(Trojan Source) and lone surrogates become `\\x1b`, `\\u202e`, `\\udcff`, so a reader sees exactly
what the file holds. Newlines and tabs stay where the text is shown on several lines.
The one home of this rule; it never marks anything up (callers build Rich / Textual Text from it).
"""

from __future__ import annotations

import dataclasses
import re
import typing
from collections.abc import Mapping
from typing import TypeVar

from tui.steps.model import Graph, Step

_T = TypeVar("_T")

# C0 controls, DEL, C1 controls, the bidi embeddings/overrides/isolates, and lone surrogates.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")
_UNSAFE_INLINE_OK = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069\ud800-\udfff]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def visible(text: str, *, multiline: bool = False) -> str:
    """`text` with every control character shown as an escape (`\\x1b`); newlines and tabs kept when multiline."""
    if not isinstance(text, str):
        text = str(text)
    pattern = _UNSAFE_INLINE_OK if multiline else _UNSAFE
    if pattern.search(text) is None:  # the common case: nothing to do, no copy
        return text
    return pattern.sub(_escape, text)


def visible_lines(text: str) -> str:
    """Multi-line text (stdout, a source file): newlines and tabs kept, every other control made visible."""
    return visible(text, multiline=True)


# Fields of the step model whose text is shown on several lines (the rest is one line: names, kinds).
_MULTILINE_FIELDS = frozenset({"output", "message", "text", "source"})
# Numbers (and "nan"/"inf" strings): not walked here; tui.render.formatting.format_number shows any other string visibly.
_VALUE_FIELDS = frozenset({"value", "grad", "first", "summary", "grad_summary"})
# Fields whose annotation holds no string: skipped, which is most of the walk's cost saved (shapes, ids, edges).
_NUMERIC_TYPES = frozenset({"bool", "int", "int | None", "float | None", "tuple[int, ...]", "tuple[int | None, ...]"})
_FIELDS: dict[type, tuple[tuple[str, bool], ...]] = {}


def _text_fields(cls: type) -> tuple[tuple[str, bool], ...]:
    """The (name, multiline) of each field of a model dataclass that can hold a string."""
    fields = _FIELDS.get(cls)
    if fields is None:
        fields = _FIELDS[cls] = tuple(
            (field.name, field.name in _MULTILINE_FIELDS)
            for field in dataclasses.fields(cls)
            if field.name not in _VALUE_FIELDS and str(field.type) not in _NUMERIC_TYPES
        )
    return fields


class VisibleSteps:
    """Steps and headers with every string made visible(), for a UI that shows their fields in many places.

    The app passes each step through here once, as it enters the history, so no widget can show a
    raw control character however it draws. Objects that hold nothing to change come back as they
    are (the same object), and each object is looked at once: a view or graph shared by many steps
    costs one walk. Mapping keys (tensor names) are cleaned too, consistently, so a name stays a name.
    """

    def __init__(self) -> None:
        # id -> (the object, kept alive so its id is not reused; its visible twin)
        self._seen: dict[int, tuple[object, object]] = {}
        self._graphs: dict[int, tuple[Graph, bool]] = {}

    def clean(self, obj: _T) -> _T:
        """`obj` (a Step, Header or any part of one) with its strings made visible."""
        if isinstance(obj, Step) and not self._step_needs(obj):
            return obj  # the common case, a few microseconds: nothing in it to make visible
        return typing.cast(_T, self._clean(obj, False))

    def _step_needs(self, step: Step) -> bool:
        """Whether any string of `step` holds a character visible() changes (one search over all of them)."""
        parts: list[str] = [step.kind, step.phase or "", step.function, step.output, step.message or ""]
        for name, view in step.tensors.items():
            parts += (name, view.dtype, view.device, view.grad_fn or "", view.role)
        parts += map(str, step.scalars)
        parts += (str(value) for value in step.scalars.values() if isinstance(value, str))
        if step.node is not None:
            parts += (step.node.name, step.node.leaf or "")
        if step.update is not None:
            update = step.update
            parts += (update.optimizer, update.param, update.kind or "")
            parts += (str(item) for pair in update.hyper for item in pair)
            parts += (key for key, _ in (*update.state_before, *update.state_after))
        if step.reset is not None:
            parts += (step.reset.source, *step.reset.tensors)
        if step.exception is not None:
            error = step.exception
            parts += (error.type, error.message, *(f"{frame.function}{frame.text}" for frame in error.traceback))
        if _UNSAFE.search("".join(parts)) is not None:
            return True
        return step.graph is not None and self._graph_needs(step.graph)

    def _graph_needs(self, graph: Graph) -> bool:
        known = self._graphs.get(id(graph))
        if known is not None and known[0] is graph:
            return known[1]
        parts: list[str] = [name for name, _ in graph.roots]
        for node in graph.nodes:
            parts += (node.name, node.leaf or "")
            parts += (text for pair in node.attrs for text in pair)
            parts += (key for key, _ in node.saved)
            views = [view for _, view in node.saved if view is not None]
            if node.variable is not None:
                views.append(node.variable)
            parts += (text for view in views for text in (view.dtype, view.device, view.grad_fn or ""))
        needs = _UNSAFE.search("".join(parts)) is not None
        self._graphs[id(graph)] = (graph, needs)
        return needs

    def _clean(self, obj: object, multiline: bool) -> object:
        if isinstance(obj, str):
            return visible(obj, multiline=multiline)
        if obj is None or isinstance(obj, (int, float)):
            return obj
        if isinstance(obj, tuple):  # a tuple's own id is not kept: its owner's is
            items = tuple(self._clean(item, multiline) for item in obj)
            return items if any(new is not old for new, old in zip(items, obj)) else obj
        known = self._seen.get(id(obj))
        if known is not None and known[0] is obj:
            return known[1]
        result: object = obj
        if isinstance(obj, Mapping):
            pairs = [(self._clean(key, False), self._clean(value, multiline)) for key, value in obj.items()]
            if any(new_key is not key or new_value is not value for (new_key, new_value), (key, value) in zip(pairs, obj.items())):
                result = dict(pairs)
        elif dataclasses.is_dataclass(obj) and not isinstance(obj, type):
            changes = {}
            for name, lines in _text_fields(type(obj)):
                value = getattr(obj, name)
                new = self._clean(value, lines)
                if new is not value:
                    changes[name] = new
            if changes:
                result = dataclasses.replace(obj, **changes)
        self._seen[id(obj)] = (obj, result)
        return result
