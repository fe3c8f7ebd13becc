"""Bounded parsing and shape checks for the lines of a recording someone may have crafted.

Every line of a .gstep file goes through `parse_line` (strict JSON with bounded integers,
finite numbers, a bounded nesting depth and no lone surrogates) and `check_record` (each
field of a header, graph, step or trailer line has the type the format says), so that
building the Step dataclasses afterwards cannot fail in a way the loader did not name.
Standard library only.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

from tui.steps.model import KINDS, PHASES

# Bounds on what one line may hold (README, "Recordings"): a recording the engine writes stays
# far inside them; a crafted one past them is refused with the line number.
MAX_DEPTH = 64  # JSON nesting: a tensor has at most a few dozen dimensions
MAX_INT_DIGITS = 40  # uint64 has 20 digits; a Python int scalar may have a few more
MAX_SHAPE = 2**48  # one dimension of a tensor
MAX_NODES = 100_000  # nodes in one graph line (the engine keeps at most 2,000)

_SURROGATE = re.compile(rb"\\u[dD][89a-fA-F]")


class BadLine(ValueError):
    """A line that breaks a bound or the format; the message names what, the caller adds where."""


def _int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise BadLine(f"an integer of {len(text)} digits")
    return int(text)


def _float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise BadLine(f"the number {text[:20]} is out of range")
    return value


def _constant(text: str) -> Any:
    raise BadLine(f"{text} is not strict JSON (non-finite numbers are stored as strings)")


_DECODER = json.JSONDecoder(parse_int=_int, parse_float=_float, parse_constant=_constant)


def parse_line(raw: bytes) -> dict[str, Any]:
    """One line as a JSON object, within the bounds; BadLine says what is wrong."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise BadLine("it is not UTF-8 text") from None
    try:
        record = _DECODER.decode(text)
    except RecursionError:
        raise BadLine(f"lists or objects nested deeper than {MAX_DEPTH}") from None
    except json.JSONDecodeError as error:
        raise BadLine(f"it is not valid JSON ({error.msg} at column {error.colno})") from None
    except ValueError as error:  # BadLine from a hook, or an int Python refuses to convert
        raise BadLine(str(error)) from None
    if not isinstance(record, dict):
        raise BadLine("it is not a JSON object")
    _check_depth(record)
    if _SURROGATE.search(raw) is not None:
        _check_surrogates(record)
    return record


def _check_depth(record: Any) -> None:
    stack: list[tuple[Any, int]] = [(record, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise BadLine(f"lists or objects nested deeper than {MAX_DEPTH}")
        if isinstance(item, dict):
            stack.extend((value, depth + 1) for value in item.values() if isinstance(value, dict | list))
        elif isinstance(item, list):
            stack.extend((value, depth + 1) for value in item if isinstance(value, dict | list))


def _check_surrogates(record: Any) -> None:
    stack = [record]
    while stack:
        item = stack.pop()
        if isinstance(item, str):
            try:
                item.encode("utf-8")
            except UnicodeEncodeError:
                raise BadLine("a string holds a lone surrogate (not Unicode text)") from None
        elif isinstance(item, dict):
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


# -- field types --------------------------------------------------------------------------------
# A spec is a type name ("int", "str", "bool", "num", "values", "any"), a name ending in "?"
# (null allowed), a dict {key: spec} (keys ending in "?" may be missing), ("list", spec) or
# ("map", spec) (an object with string keys).

_NUMBER = (int, float)


def _fail(where: str, wanted: str, value: Any) -> BadLine:
    shown = type(value).__name__ if not isinstance(value, bool) else "a boolean"
    return BadLine(f"{where} should be {wanted}, not {'null' if value is None else shown}")


def check(value: Any, spec: Any, where: str) -> None:
    """Check one value against a spec; BadLine names the field."""
    if isinstance(spec, str):
        if spec.endswith("?"):
            if value is None:
                return
            spec = spec[:-1]
        if spec == "any":
            return
        if spec == "int":
            if not isinstance(value, int) or isinstance(value, bool):
                raise _fail(where, "an integer", value)
        elif spec == "count":
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise _fail(where, "a count (an integer, 0 or more)", value) if not isinstance(value, int) \
                    else BadLine(f"{where} should be 0 or more, not {value}")
        elif spec == "str":
            if not isinstance(value, str):
                raise _fail(where, "a string", value)
        elif spec == "bool":
            if not isinstance(value, bool):
                raise _fail(where, "true or false", value)
        elif spec == "num":
            if isinstance(value, bool) or not isinstance(value, _NUMBER + (str,)):
                raise _fail(where, "a number", value)
        elif spec == "values":
            _check_values(value, where)
        else:  # pragma: no cover - a typo in a spec below
            raise AssertionError(spec)
        return
    if isinstance(spec, dict):
        if not isinstance(value, dict):
            raise _fail(where, "an object", value)
        for key, field_spec in spec.items():
            name = key.rstrip("?")
            if name not in value:
                if key.endswith("?"):
                    continue
                raise BadLine(f"{where} has no {name!r}")
            check(value[name], field_spec, f"{where}.{name}")
        return
    kind, item_spec = spec
    if kind == "list":
        if not isinstance(value, list):
            raise _fail(where, "a list", value)
        for position, item in enumerate(value):
            check(item, item_spec, f"{where}[{position}]")
    elif kind == "map":
        if not isinstance(value, dict):
            raise _fail(where, "an object", value)
        for key, item in value.items():
            check(item, item_spec, f"{where}[{key!r}]")
    elif kind == "pair":
        if not isinstance(value, list) or len(value) != 2:
            raise _fail(where, "a pair [name, value]", value)
        check(value[0], item_spec[0], f"{where}[0]")
        check(value[1], item_spec[1], f"{where}[1]")


def _check_values(value: Any, where: str) -> None:
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, list):
            stack.extend(item)
        elif item is not None and not isinstance(item, int | float | str | bool):
            raise _fail(where, "numbers or nested lists of numbers", item)


SUMMARY = {"numel": "count", "min": "num?", "max": "num?", "mean": "num?", "std": "num?", "nan": "count",
           "inf": "count", "zeros": "count", "first": ("list", "values")}
TENSOR = {
    "shape": ("list", "count"), "dtype": "str", "device": "str", "requires_grad": "bool", "is_leaf": "bool",
    "grad_fn": "str?", "version": "int", "value": "values", "summary?": ("nullable", SUMMARY), "has_grad?": "bool",
    "grad?": "values", "grad_summary?": ("nullable", SUMMARY), "accumulated?": "int", "role?": "str",
}


def check_tensor(value: Any, where: str) -> None:
    check_nullable(value, TENSOR, where, allow_null=False)
    for size in value["shape"]:
        if size > MAX_SHAPE:
            raise BadLine(f"{where}.shape has a dimension of {size}")


def check_nullable(value: Any, spec: Any, where: str, allow_null: bool = True) -> None:
    if value is None and allow_null:
        return
    if isinstance(spec, dict):
        if not isinstance(value, dict):
            raise _fail(where, "an object", value)
        for key, field_spec in spec.items():
            name = key.rstrip("?")
            if name not in value:
                if key.endswith("?"):
                    continue
                raise BadLine(f"{where} has no {name!r}")
            item = value[name]
            if isinstance(field_spec, tuple) and field_spec[0] == "nullable":
                check_nullable(item, field_spec[1], f"{where}.{name}")
            elif field_spec == "tensor?":
                if item is not None:
                    check_tensor(item, f"{where}.{name}")
            elif field_spec == "tensor":
                check_tensor(item, f"{where}.{name}")
            elif isinstance(field_spec, tuple) and field_spec[0] == "tensors":
                _check_list(item, f"{where}.{name}", check_tensor_or_none)
            else:
                check(item, field_spec, f"{where}.{name}")
        return
    check(value, spec, where)


def check_tensor_or_none(value: Any, where: str) -> None:
    if value is not None:
        check_tensor(value, where)


def _check_list(value: Any, where: str, each: Any) -> None:
    if not isinstance(value, list):
        raise _fail(where, "a list", value)
    for position, item in enumerate(value):
        each(item, f"{where}[{position}]")


NODE_EVENT = {"node_id": "int", "name": "str", "grad_outputs?": ("tensors", None), "grad_inputs?": ("tensors", None),
              "leaf?": "str?", "grad_before?": "tensor?", "grad_after?": "tensor?", "done?": ("list", "int")}
RESET = {"source": "str", "tensors?": ("list", "str"), "set_to_none?": "bool"}
FRAME = {"line": "int", "function": "str", "text": "str"}
EXCEPTION = {"type": "str", "message": "str", "line?": "int?", "traceback?": ("list", FRAME)}
UPDATE = {"optimizer": "str", "param": "str", "before": "tensor", "grad?": "tensor?", "after": "tensor",
          "kind?": "str?", "group?": "int", "hyper?": ("map", "values")}
STEP = {"index": "int", "kind": "str", "phase?": "str?", "line?": "int?", "function?": "str", "depth?": "int",
        "loop_line?": "int?", "iteration?": "int?", "output?": "str",
        "message?": "str?"}
NODE = {"id": "int", "name": "str", "attrs?": ("list", ("pair", ("str", "str"))), "leaf?": "str?",
        "variable?": "tensor?", "next?": ("list", "int"), "saved_refs?": ("list", "int?"), "variable_ref?": "int?"}
HEADER = {"format_version": "int", "gradstep": "str", "torch?": "str?", "python": "str", "device": "str",
          "device_name?": "str?", "script": "str", "source": "str", "created": "str", "max_steps?": "int?",
          "breakpoints?": ("list", "int")}


def check_header(record: dict[str, Any]) -> None:
    check_nullable(record, HEADER, "the header", allow_null=False)


def check_step(data: Any, where: str) -> None:
    check_nullable(data, STEP, where, allow_null=False)
    if data["kind"] not in KINDS:
        raise BadLine(f"{where}.kind {data['kind'][:40]!r} is not a step kind")
    if data.get("phase") is not None and data["phase"] not in PHASES:
        raise BadLine(f"{where}.phase {data['phase'][:40]!r} is not a phase")
    scalars = data.get("scalars")
    if scalars is not None:
        check(scalars, ("map", "values"), f"{where}.scalars")
    for key, spec in (("node", NODE_EVENT), ("reset", RESET), ("exception", EXCEPTION), ("update", UPDATE)):
        check_nullable(data.get(key), spec, f"{where}.{key}")
    update = data.get("update")
    if update is not None:
        for key in ("state_before", "state_after"):
            states = update.get(key)
            if states is not None:
                if not isinstance(states, dict):
                    raise _fail(f"{where}.update.{key}", "an object", states)
                for name, view in states.items():
                    check_tensor(view, f"{where}.update.{key}[{name!r}]")


def check_node(node: Any, where: str) -> None:
    check_nullable(node, NODE, where, allow_null=False)
    saved = node.get("saved", [])
    if not isinstance(saved, list):
        raise _fail(f"{where}.saved", "a list", saved)
    for position, pair in enumerate(saved):
        if not isinstance(pair, list) or len(pair) != 2 or not isinstance(pair[0], str):
            raise _fail(f"{where}.saved[{position}]", "a pair [name, tensor]", pair)
        check_tensor_or_none(pair[1], f"{where}.saved[{position}]")


def check_nodes(nodes: Any, where: str) -> None:
    if not isinstance(nodes, list):
        raise _fail(where, "a list", nodes)
    if len(nodes) > MAX_NODES:
        raise BadLine(f"{where} holds {len(nodes)} nodes (at most {MAX_NODES:,})")
    for position, node in enumerate(nodes):
        check_node(node, f"{where}[{position}]")


def check_roots(roots: Any, where: str) -> None:
    check(roots, ("list", ("pair", ("str", "int"))), where)
