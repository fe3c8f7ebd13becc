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
from typing import Any, Callable

from tui.steps.model import KINDS, PHASES

# Bounds on what one line may hold (README, "Recordings"): a recording the engine writes stays
# far inside them; a crafted one past them is refused with the line number.
MAX_DEPTH = 64  # JSON nesting: a tensor has at most a few dozen dimensions
MAX_INT_DIGITS = 40  # uint64 has 20 digits; a Python int scalar may have a few more
MAX_SHAPE = 2**48  # one dimension of a tensor
MAX_NODES = 100_000  # nodes in one graph line (the engine keeps at most 2,000)

_SUSPECT_NUMBER = re.compile(rb"\d{%d}|[eE]\+?\d{3}" % (MAX_INT_DIGITS + 1,))
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


# Only the rare constants go through Python: integers and floats are checked in one walk after.
_DECODER = json.JSONDecoder(parse_constant=_constant)
_BIG = 10**MAX_INT_DIGITS


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
    except ValueError as error:  # BadLine from a hook, or an int of more than 4,300 digits
        message = str(error)
        raise BadLine("an integer of thousands of digits" if "digits" in message else message) from None
    if not isinstance(record, dict):
        raise BadLine("it is not a JSON object")
    # The walk is needed only where the bytes allow what it looks for: more brackets than the depth
    # bound, an integer past the digit bound, a float exponent of three digits (1e999 parses as inf).
    if raw.count(b"[") + raw.count(b"{") > MAX_DEPTH or _SUSPECT_NUMBER.search(raw) is not None:
        _check_depth(record)
    if _SURROGATE.search(raw) is not None:
        _check_surrogates(record)
    return record


def _check_depth(record: Any) -> None:
    """Nesting depth, integer size and finite floats, in one walk."""
    stack: list[tuple[Any, int]] = [(record, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise BadLine(f"lists or objects nested deeper than {MAX_DEPTH}")
        for value in item.values() if isinstance(item, dict) else item:
            if isinstance(value, dict | list):
                stack.append((value, depth + 1))
            elif isinstance(value, float):
                if value - value != 0.0:  # inf or nan (1e999 parses as inf)
                    raise BadLine(f"the number {value} is out of range")
            elif isinstance(value, int) and not -_BIG < value < _BIG:
                raise BadLine(f"an integer of more than {MAX_INT_DIGITS} digits")


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
# A spec is a type name ("int", "count", "str", "bool", "num", "values", "any", "tensor"), a name
# ending in "?" (null allowed), a dict {key: spec} (keys ending in "?" may be missing),
# ("list", spec), ("map", spec) (an object with string keys), ("pair", (spec, spec)) or
# ("nullable", spec). `compile_spec` turns one into a checking function, once.

Checker = Callable[[Any, str], None]


def _fail(where: str, wanted: str, value: Any) -> BadLine:
    shown = "a boolean" if isinstance(value, bool) else ("null" if value is None else type(value).__name__)
    return BadLine(f"{where} should be {wanted}, not {shown}")


def _scalar(wanted: str, types: tuple[type, ...]) -> Checker:
    def checker(value: Any, where: str) -> None:
        if type(value) not in types:
            raise _fail(where, wanted, value)

    return checker


def _count(value: Any, where: str) -> None:
    if type(value) is not int:
        raise _fail(where, "a count (an integer, 0 or more)", value)
    if value < 0:
        raise BadLine(f"{where} should be 0 or more, not {value}")


def _check_values(value: Any, where: str) -> None:
    if type(value) in (int, float, str, bool) or value is None:
        return
    stack = [value]
    while stack:
        item = stack.pop()
        if type(item) is list:
            stack.extend(item)
        elif item is not None and type(item) not in (int, float, str, bool):
            raise _fail(where, "numbers or nested lists of numbers", item)


def _any(value: Any, where: str) -> None:
    return None


_SCALARS: dict[str, Checker] = {
    "int": _scalar("an integer", (int,)),
    "count": _count,
    "str": _scalar("a string", (str,)),
    "bool": _scalar("true or false", (bool,)),
    "num": _scalar("a number", (int, float, str)),
    "values": _check_values,
    "any": _any,
}


def compile_spec(spec: Any) -> Checker:
    """A function that checks a value against the spec and raises BadLine naming the field."""
    if isinstance(spec, str):
        if spec.endswith("?"):
            inner = compile_spec(spec[:-1])

            def nullable(value: Any, where: str) -> None:
                if value is not None:
                    inner(value, where)

            return nullable
        if spec == "tensor":
            return check_tensor
        return _SCALARS[spec]
    if isinstance(spec, dict):
        fields = [(key.rstrip("?"), key.endswith("?"), compile_spec(item)) for key, item in spec.items()]

        def obj(value: Any, where: str) -> None:
            if type(value) is not dict:
                raise _fail(where, "an object", value)
            for name, optional, checker in fields:
                if name in value:
                    checker(value[name], where + "." + name)
                elif not optional:
                    raise BadLine(f"{where} has no {name!r}")

        return obj
    kind, item_spec = spec
    if kind == "nullable":
        return _nullable(compile_spec(item_spec))
    item = compile_spec(item_spec) if kind != "pair" else None
    if kind == "list":
        assert item is not None

        def items(value: Any, where: str) -> None:
            if type(value) is not list:
                raise _fail(where, "a list", value)
            for position, entry in enumerate(value):
                item(entry, f"{where}[{position}]")

        return items
    if kind == "map":
        assert item is not None

        def entries(value: Any, where: str) -> None:
            if type(value) is not dict:
                raise _fail(where, "an object", value)
            for key, entry in value.items():
                item(entry, f"{where}[{key[:40]!r}]")

        return entries
    first, second = compile_spec(item_spec[0]), compile_spec(item_spec[1])

    def pair(value: Any, where: str) -> None:
        if type(value) is not list or len(value) != 2:
            raise _fail(where, "a pair [name, value]", value)
        first(value[0], f"{where}[0]")
        second(value[1], f"{where}[1]")

    return pair


def _nullable(inner: Checker) -> Checker:
    def checker(value: Any, where: str) -> None:
        if value is not None:
            inner(value, where)

    return checker


_compiled: dict[str, Checker] = {}


def check(value: Any, spec: Any, where: str) -> None:
    """Check one value against a spec (compiled once per spec)."""
    key = repr(spec)
    checker = _compiled.get(key)
    if checker is None:
        checker = _compiled[key] = compile_spec(spec)
    checker(value, where)


SUMMARY = {"numel": "count", "min": "num?", "max": "num?", "mean": "num?", "std": "num?", "nan": "count",
           "inf": "count", "zeros": "count", "first": ("list", "values")}
TENSOR = {
    "shape": ("list", "count"), "dtype": "str", "device": "str", "requires_grad": "bool", "is_leaf": "bool",
    "grad_fn": "str?", "version": "int", "value": "values", "summary?": ("nullable", SUMMARY), "has_grad?": "bool",
    "grad?": "values", "grad_summary?": ("nullable", SUMMARY), "accumulated?": "int", "role?": "str",
}
_tensor_fields: Checker | None = None


def check_tensor(value: Any, where: str) -> None:
    global _tensor_fields
    if _tensor_fields is None:
        _tensor_fields = compile_spec(TENSOR)
    _tensor_fields(value, where)
    for size in value["shape"]:
        if size > MAX_SHAPE:
            raise BadLine(f"{where}.shape has a dimension of {size}")


def check_tensor_or_none(value: Any, where: str) -> None:
    if value is not None:
        check_tensor(value, where)


NODE_EVENT = {"node_id": "int", "name": "str", "grad_outputs?": ("list", "tensor?"), "grad_inputs?": ("list", "tensor?"),
              "leaf?": "str?", "grad_before?": "tensor?", "grad_after?": "tensor?", "done?": ("list", "int")}
RESET = {"source": "str", "tensors?": ("list", "str"), "set_to_none?": "bool"}
FRAME = {"line": "int", "function": "str", "text": "str"}
EXCEPTION = {"type": "str", "message": "str", "line?": "int?", "traceback?": ("list", FRAME)}
UPDATE = {"optimizer": "str", "param": "str", "before": "tensor", "grad?": "tensor?", "after": "tensor",
          "kind?": "str?", "group?": "int", "hyper?": ("nullable", ("map", "values")),
          "state_before?": ("nullable", ("map", "tensor")), "state_after?": ("nullable", ("map", "tensor"))}
STEP = {"index": "int", "kind": "str", "phase?": "str?", "line?": "int?", "function?": "str", "depth?": "int",
        "loop_line?": "int?", "iteration?": "int?", "scalars?": ("nullable", ("map", "values")), "output?": "str",
        "message?": "str?", "node?": ("nullable", NODE_EVENT), "reset?": ("nullable", RESET),
        "exception?": ("nullable", EXCEPTION), "update?": ("nullable", UPDATE)}
NODE = {"id": "int", "name": "str", "attrs?": ("list", ("pair", ("str", "str"))), "leaf?": "str?",
        "variable?": "tensor?", "next?": ("list", "int"), "saved_refs?": ("list", "int?"), "variable_ref?": "int?",
        "saved?": ("list", ("pair", ("str", "tensor?")))}
HEADER = {"format_version": "int", "gradstep": "str", "torch?": "str?", "python": "str", "device": "str",
          "device_name?": "str?", "script": "str", "source": "str", "created": "str", "max_steps?": "int?",
          "breakpoints?": ("list", "int")}


_BIG_CHECKERS: dict[str, Checker] = {}


def _big(name: str, spec: Any) -> Checker:
    checker = _BIG_CHECKERS.get(name)
    if checker is None:
        checker = _BIG_CHECKERS[name] = compile_spec(spec)
    return checker


def check_header(record: dict[str, Any]) -> None:
    _big("header", HEADER)(record, "the header")


def check_step(data: Any, where: str) -> None:
    _big("step", STEP)(data, where)
    if data["kind"] not in KINDS:
        raise BadLine(f"{where}.kind {data['kind'][:40]!r} is not a step kind")
    if data.get("phase") is not None and data["phase"] not in PHASES:
        raise BadLine(f"{where}.phase {data['phase'][:40]!r} is not a phase")


def check_nodes(nodes: Any, where: str) -> None:
    if type(nodes) is not list:
        raise _fail(where, "a list", nodes)
    if len(nodes) > MAX_NODES:
        raise BadLine(f"{where} holds {len(nodes)} nodes (at most {MAX_NODES:,})")
    _big("nodes", ("list", NODE))(nodes, where)


def check_roots(roots: Any, where: str) -> None:
    _big("roots", ("list", ("pair", ("str", "int"))))(roots, where)
