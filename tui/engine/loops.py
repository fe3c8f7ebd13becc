"""Which loop of the script a step is in, and which iteration, from the script's AST.

The rule (what `Step.loop_line` / `Step.iteration` mean):

- A step's loop is the innermost `for`/`while` loop of the script that encloses the
  line being run, looked up through the call stack: a line of `forward()` called from
  a loop body belongs to that loop. Lines of a function defined inside a loop body
  belong to the function, not to the loop around its `def`.
- Iterations count from 1. A body line belongs to the iteration that is running.
- A loop *header* step (the `for ...:` / `while ...:` line, before it runs) belongs to
  the iteration that just ended; the first header, on entering the loop, belongs to
  iteration 1. So everything the last body line did (a reset, say) and the header
  step that first shows it share one iteration number, and every iteration reads
  forward -> backprop -> optimize -> reset.

Counting must also work while the script runs untraced (continue, breaks-only), so
the script is compiled from an instrumented AST: `for x in it:` iterates
`__gradstep_for__(it, LINE)`, which counts successful `next()` calls, and
`while test:` becomes `while __gradstep_while__(LINE) and (test):`, which counts
evaluations of the test. Line numbers are kept, so tracebacks and line events are
those of the plain script. The header-on-entry case is told apart from later
header evaluations by the frame's instruction offset (before the body's code and
not at FOR_ITER, past any EXTENDED_ARG prefix, means the loop is being entered).
"""

from __future__ import annotations

import ast
import copy
import dis
import sys
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from types import CodeType, FrameType

FOR_NAME = "__gradstep_for__"
WHILE_NAME = "__gradstep_while__"
BREAK_NAME = "__gradstep_break__"
_FOR_ITER = dis.opmap["FOR_ITER"]
_EXTENDED_ARG = dis.opmap["EXTENDED_ARG"]


@dataclass(frozen=True)
class Loop:
    """A loop statement of the script: its header line and the first line of its body."""

    line: int
    body_line: int


class LoopTable:
    """For every line of the script, the innermost loop around it in the same scope."""

    def __init__(self, tree: ast.Module) -> None:
        self.loops: dict[int, Loop] = {}
        self._loop_of_line: dict[int, int | None] = {}
        self._headers: set[int] = set()
        # The names a `for` statement of the script binds (`param` in `for param in model.parameters()`).
        self.variables: frozenset[str] = loop_variables(tree)
        for statement in tree.body:
            self._visit(statement)

    def _mark(self, first: int, last: int, loop_line: int | None) -> None:
        for line in range(first, last + 1):
            self._loop_of_line[line] = loop_line

    def _visit(self, node: ast.AST) -> None:
        if isinstance(node, (ast.For, ast.While)) and node.body:
            loop = Loop(node.lineno, node.body[0].lineno)
            self.loops[node.lineno] = loop
            self._mark(node.lineno, node.body[0].lineno - 1, node.lineno)
            self._headers.update(range(node.lineno, node.body[0].lineno))
            self._mark(node.body[0].lineno, node.body[-1].end_lineno or node.body[-1].lineno, node.lineno)
        elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) and node.body:
            # The body runs in its own frame: it is outside any loop around the def.
            self._mark(node.body[0].lineno, node.end_lineno or node.lineno, None)
        for child in ast.iter_child_nodes(node):
            self._visit(child)

    def loop_at(self, line: int) -> Loop | None:
        """The innermost loop enclosing `line` in its own scope, or None."""
        loop_line = self._loop_of_line.get(line)
        return None if loop_line is None else self.loops.get(loop_line)

    def is_header(self, line: int) -> bool:
        return line in self._headers


def loop_variables(tree: ast.AST) -> frozenset[str]:
    """The names the targets of the script's `for` statements bind, in any scope.

    Such a name is a window moving over other objects: after `for param in model.parameters()`,
    `param` still holds the last parameter. A tensor that has another name is called by that one
    (tui.engine.snapshot.Named.name_of).
    """
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.For, ast.AsyncFor)):
            names.update(
                target.id
                for target in ast.walk(node.target)
                if isinstance(target, ast.Name) and isinstance(target.ctx, ast.Store)  # not `item` of `item.x`
            )
    return frozenset(names)


class LoopCounters:
    """Live iteration counts, keyed by (frame, loop line); fed by the instrumented script."""

    def __init__(self, table: LoopTable, filename: str) -> None:
        self.table = table
        self.filename = filename
        self._counts: dict[tuple[int, int], list[int]] = {}
        self._body_offsets: dict[tuple[CodeType, int], int] = {}
        # Called with (frame, line, iteration) when a loop header that is a breakpoint
        # is evaluated; set by breaks-only runs, None otherwise.
        self.on_header_break: Callable[[FrameType, int, int], None] | None = None
        self.header_breaks: frozenset[int] = frozenset()

    def clear(self) -> None:
        self._counts.clear()
        self._body_offsets.clear()

    def _body_offset(self, code: CodeType, loop: Loop) -> int:
        key = (code, loop.line)
        offset = self._body_offsets.get(key)
        if offset is None:
            header_start = min((start for start, _, line in code.co_lines() if line == loop.line), default=0)
            offset = min(
                (start for start, _, line in code.co_lines() if line == loop.body_line and start > header_start),
                default=sys.maxsize,
            )
            self._body_offsets[key] = offset
        return offset

    def _entering(self, frame: FrameType, loop: Loop) -> bool:
        """Whether the frame stands on the loop's header before its first iteration."""
        lasti = frame.f_lasti
        if lasti >= self._body_offset(frame.f_code, loop):
            return False
        return _opcode_at(frame.f_code.co_code, lasti) != _FOR_ITER

    # -- called by the instrumented script -------------------------------------------------

    def start_for(self, iterable: Iterable, line: int) -> Iterator:
        """`for` entry: a fresh count of 0, then an iterator that counts each item."""
        frame = sys._getframe(1)
        counter = [0]
        self._counts[(id(frame), line)] = counter
        if line in self.header_breaks and self.on_header_break is not None:
            self.on_header_break(frame, line, 1)
        return _CountingIterator(iter(iterable), counter, line, self)

    def tick_while(self, line: int) -> bool:
        """`while` test: count one evaluation (a fresh count on entering the loop)."""
        frame = sys._getframe(1)
        key = (id(frame), line)
        loop = self.table.loops[line]
        entering = frame.f_lasti < self._body_offset(frame.f_code, loop)
        counter = self._counts.get(key)
        if entering or counter is None:
            counter = self._counts[key] = [0]
        if line in self.header_breaks and self.on_header_break is not None:
            self.on_header_break(frame, line, max(counter[0], 1))
        counter[0] += 1
        return True

    # -- read by the engine at each step ----------------------------------------------------

    def snapshot(self) -> dict[tuple[int, int], tuple[list[int], int]]:
        """Every loop count now, to tell later which loops ran on (see `advanced_since`)."""
        return {key: (counter, counter[0]) for key, counter in self._counts.items()}

    def advanced_since(self, before: dict[tuple[int, int], tuple[list[int], int]]) -> list[tuple[int, int, int]]:
        """(loop line, first, last iteration) of every loop that counted on since `before`, by line."""
        ranges = []
        for key, counter in self._counts.items():
            line = key[1]
            old = before.get(key)
            if old is not None and old[0] is counter:  # the same run of the loop: it went on from there
                if counter[0] == old[1]:
                    continue
                first = max(old[1], 1)
            elif counter[0] >= 1:  # a loop entered afresh meanwhile
                first = 1
            else:
                continue
            ranges.append((line, first, counter[0]))
        return sorted(ranges)


    def position(self, frame: FrameType | None, line: int | None = None) -> tuple[int | None, int | None]:
        """(loop line, 1-based iteration) of the innermost script loop around this frame's line."""
        current_line = line
        while frame is not None:
            if frame.f_code.co_filename == self.filename:
                lineno = current_line if current_line is not None else frame.f_lineno
                found = self._frame_position(frame, lineno)
                if found is not None:
                    return found
            frame = frame.f_back
            current_line = None
        return None, None

    def _frame_position(self, frame: FrameType, lineno: int) -> tuple[int, int] | None:
        loop = self.table.loop_at(lineno)
        if loop is None:
            return None
        counter = self._counts.get((id(frame), loop.line))
        if self.table.is_header(lineno):
            if counter is None or self._entering(frame, loop):
                return loop.line, 1
            return loop.line, max(counter[0], 1)
        if counter is None or counter[0] < 1:
            return None
        return loop.line, counter[0]


def _opcode_at(code: bytes, offset: int) -> int:
    """The instruction at `offset`, past any EXTENDED_ARG prefixes.

    A loop whose body is longer than 255 code units jumps back to the EXTENDED_ARG that
    carries FOR_ITER's jump target, not to FOR_ITER itself (and a long enough body needs
    several prefixes); every instruction is two bytes from Python 3.6 on.
    """
    while offset + 2 < len(code) and code[offset] == _EXTENDED_ARG:
        offset += 2
    return code[offset] if 0 <= offset < len(code) else -1


class _CountingIterator:
    """Wraps a `for` loop's iterator; counts the items it hands out."""

    __slots__ = ("_counter", "_iterator", "_line", "_owner")

    def __init__(self, iterator: Iterator, counter: list[int], line: int, owner: LoopCounters) -> None:
        self._iterator = iterator
        self._counter = counter
        self._line = line
        self._owner = owner

    def __iter__(self) -> _CountingIterator:
        return self

    def __next__(self):
        owner = self._owner
        if owner.on_header_break is not None and self._line in owner.header_breaks and self._counter[0] > 0:
            owner.on_header_break(sys._getframe(1), self._line, self._counter[0])
        item = next(self._iterator)
        self._counter[0] += 1
        return item


class _Instrument(ast.NodeTransformer):
    """Rewrites loops to count iterations and, for breaks-only runs, calls at breakpoints."""

    def __init__(self, break_lines: frozenset[int]) -> None:
        self.break_lines = break_lines
        self._seen_break_lines: set[int] = set()

    def _call(self, name: str, args: list[ast.expr], where: ast.AST) -> ast.Call:
        call = ast.Call(func=ast.Name(id=name, ctx=ast.Load()), args=args, keywords=[])
        for node in ast.walk(call):
            ast.copy_location(node, where)
            node.end_lineno = where.lineno  # type: ignore[attr-defined]
            node.end_col_offset = where.col_offset  # type: ignore[attr-defined]
        return call

    def visit_For(self, node: ast.For) -> ast.For:
        self.generic_visit(node)
        line = ast.Constant(node.lineno)
        node.iter = self._call(FOR_NAME, [node.iter, line], node.iter)
        return node

    def visit_While(self, node: ast.While) -> ast.While:
        self.generic_visit(node)
        tick = self._call(WHILE_NAME, [ast.Constant(node.lineno)], node.test)
        test = ast.BoolOp(op=ast.And(), values=[tick, node.test])
        node.test = ast.copy_location(test, node.test)
        return node

    def generic_visit(self, node: ast.AST) -> ast.AST:
        super().generic_visit(node)
        if self.break_lines:
            for field in ("body", "orelse", "finalbody", "handlers"):
                statements = getattr(node, field, None)
                if isinstance(statements, list) and statements and isinstance(statements[0], ast.stmt):
                    setattr(node, field, self._with_breaks(statements))
        return node

    def _with_breaks(self, statements: list[ast.stmt]) -> list[ast.stmt]:
        result: list[ast.stmt] = []
        for statement in statements:
            line = statement.lineno
            is_loop = isinstance(statement, (ast.For, ast.While))
            if line in self.break_lines and not is_loop and line not in self._seen_break_lines:
                self._seen_break_lines.add(line)
                hit = ast.Expr(self._call(BREAK_NAME, [ast.Constant(line)], statement))
                result.append(ast.copy_location(hit, statement))
            result.append(statement)
        return result


def instrument(tree: ast.Module, break_lines: Iterable[int] = ()) -> ast.Module:
    """Return a copy of the script's AST that counts loop iterations (and hits breakpoints)."""
    module = _Instrument(frozenset(break_lines)).visit(copy.deepcopy(tree))
    return ast.fix_missing_locations(module)
