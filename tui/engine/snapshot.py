"""Named tensors of the script's frames, turned into immutable TensorViews on the CPU.

Values are read through safe formatters: a conversion that fails becomes a visible
marker string, never an exception; non-finite floats become "nan", "inf", "-inf".
Tensors up to 256 elements are kept in full, bigger ones as a Summary. Views are
cached so that a tensor that did not change is the very same TensorView object from
step to step (the recording writer dedupes with `is`).
"""

from __future__ import annotations

import contextlib
import ctypes
import math
import operator
import threading
import weakref
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from types import FrameType
from typing import Any, Union

import numpy
import torch  # this module reads live tensors of the running script

from tui.steps.model import Role, Summary, TensorView, Values, state_name


def _tracing_switch() -> tuple[Callable[[], Any], Callable[[Any], None], Callable[[Any], None]] | None:
    """CPython's own "a trace function is running" switch for one thread (3.11+'s C API), or None.

    Inside it, neither the trace function nor a profile function is called, as for the code a
    trace function itself runs.
    """
    try:
        api = ctypes.pythonapi
        get_state, enter, leave = api.PyThreadState_Get, api.PyThreadState_EnterTracing, api.PyThreadState_LeaveTracing
    except (AttributeError, OSError):  # 3.10, or not CPython: gradstep's own calls stay traced (slower)
        return None
    get_state.restype, get_state.argtypes = ctypes.c_void_p, ()
    for function in (enter, leave):
        function.restype, function.argtypes = None, (ctypes.c_void_p,)
    return get_state, enter, leave


class _Unprofiled:
    """While inside, gradstep's own work stays out of the script's profilers and its trace.

    A `torch.autograd.profiler.profile` (or `torch.profiler.profile`) in the script sees
    operators through RecordFunction callbacks; turning RecordFunction off for the calling
    thread, only while a profiler runs and only around gradstep's reading, leaves the
    script's table as it is without gradstep.

    Inside a hook (a backward node's, the optimizer's), gradstep's Python calls would each reach
    the trace function, which answers "not the script" about 125 times a step; a `cProfile` of the
    script would list them. Python's own switch for "a trace function is running" (3.11+) keeps
    both away while gradstep reads, as they are during a line step's. Nothing inside runs the
    script's code but a learner's evaluation, which turns tracing off itself. Nested uses count,
    so only the outermost turns things back on.
    """

    def __init__(self) -> None:
        self._local = threading.local()
        self._switch = _tracing_switch()

    def __enter__(self) -> None:
        local = self._local
        depth = getattr(local, "depth", 0)
        if depth == 0:
            local.paused = torch._C._autograd._profiler_enabled()
            if local.paused:
                torch._C._autograd._enable_record_function(False)
            if self._switch is not None:
                state = getattr(local, "state", None)
                if state is None:
                    state = local.state = self._switch[0]()
                self._switch[1](state)
        local.depth = depth + 1

    def __exit__(self, *exc_info: object) -> None:
        local = self._local
        local.depth -= 1
        if local.depth == 0:
            if self._switch is not None:
                self._switch[2](local.state)
            if local.paused:
                local.paused = False
                torch._C._autograd._enable_record_function(True)


unprofiled = _Unprofiled()

MAX_FULL_ELEMENTS = 256
SUMMARY_FIRST = 8
_SCALAR_TYPES = (bool, int, float, str, type(None))


def plain_number(value: Any) -> Any:
    """A Python number from tolist(), with non-finite floats as strings."""
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return value
    if isinstance(value, (bool, int)):
        return value
    return str(value)  # complex and anything exotic: shown as text


def _freeze(values: Any) -> Values:
    if isinstance(values, list):
        return tuple(_freeze(item) for item in values)
    return plain_number(values)


def marker(error: BaseException) -> str:
    """What a tensor that cannot be read shows instead of its values."""
    return f"<unreadable: {type(error).__name__}: {error}>"[:200]


def _tuples(values: Any) -> Values:
    if isinstance(values, list):
        if values and isinstance(values[0], list):
            return tuple(_tuples(item) for item in values)
        return tuple(values)
    return values


def _total(values: Any) -> float:
    """The sum of tolist()'s floats: finite only when every value is (a NaN or infinity makes it
    NaN or infinite; an overflow of finite values only sends them the slow, exact way too)."""
    if isinstance(values, list):
        if values and isinstance(values[0], list):
            return sum(_total(item) for item in values)
        return sum(values)
    return values


def read_values(cpu_tensor: torch.Tensor) -> Values:
    """All values of a CPU tensor as nested tuples (a number for 0-d)."""
    try:
        tensor = cpu_tensor.detach()
        values = tensor.tolist()
        if tensor.is_complex() or (tensor.is_floating_point() and not math.isfinite(_total(values))):
            return _freeze(values)  # the slow path: numbers one by one
        return _tuples(values)
    except Exception as error:  # sparse, quantized, meta...: show that it failed
        return marker(error)


def _float_or_none(value: float) -> float | None:
    return None if math.isnan(value) or math.isinf(value) else value


def summarize(tensor: torch.Tensor) -> Summary | None:
    """Statistics of a tensor too big to keep in full (None if they cannot be computed).

    Computed where the tensor lives, in its own precision (half types in float32), with
    no float64 copy of the whole tensor: one min/max pass, one mean/std pass and one
    non-zero count for a finite tensor, and the numbers come back in one transfer. On the
    CPU, numpy does the passes it does faster than torch, on the same memory
    (`_summarize_numpy` up to 65,536 elements, `_summarize_cpu` above). A dense view in
    another order (a transpose) is read in memory order, with no copy: its statistics are
    those of the block it covers (`dense_block`), its first values those of its own order. A
    broadcast tensor (a stride of 0: autograd's grad of a sum or a mean) is summarised from the
    block it repeats (`_summarize_repeated`), never copied out to its full size.
    """
    try:
        detached = tensor.detach()
        repeated = _repeated_block(detached)
        if repeated is not None:
            return _summarize_repeated(detached, *repeated)
        block = dense_block(detached)
        flat = block if block is not None else detached.reshape(-1)
        numel = flat.numel()
        head = flat[:SUMMARY_FIRST] if block is None or detached.is_contiguous() else _first_elements(detached)
        if flat.is_complex() or not flat.is_floating_point():
            return _summarize_exact(flat, head)
        work = flat if flat.dtype in (torch.float32, torch.float64) else flat.float()
        if work.device.type == "cpu":
            quick = _summarize_numpy(work, head) if numel <= _NUMPY_MAX else _summarize_cpu(work, head)
            if quick is not None:
                return quick
        low, high = torch.aminmax(work)
        std, mean = _std_mean(work)
        nonzero = torch.count_nonzero(work)
        numbers = torch.cat([torch.stack([low.double(), high.double(), mean.double(), std, nonzero.double()]), head.double()])
        low_, high_, mean_, std_, _, *first = numbers.tolist()
        if not (math.isfinite(low_) and math.isfinite(high_)):
            return _summarize_non_finite(work, numel, tuple(plain_number(item) for item in first))
        return _finite_summary(numel, low_, high_, mean_, std_, int(nonzero), first)
    except Exception:  # a summary is a courtesy: its absence is shown, not raised
        return None


def _repeated_block(tensor: torch.Tensor) -> tuple[torch.Tensor, int] | None:
    """A broadcast tensor's block of distinct elements and how many times each repeats (None: none repeats).

    `expand` gives a dimension a stride of 0: every index along it reads the same memory. The
    block is the tensor narrowed to the first index of each such dimension.
    """
    strides = tensor.stride()
    if 0 not in strides:  # the common case, told without a loop
        return None
    block, repeats = tensor, 1
    for dim, (size, stride) in enumerate(zip(tensor.shape, strides)):
        if stride == 0 and size > 1:
            block = block.narrow(dim, 0, 1)
            repeats *= size
    return (block, repeats) if repeats > 1 else None


def _summarize_repeated(tensor: torch.Tensor, block: torch.Tensor, repeats: int) -> Summary | None:
    """The summary of a tensor whose elements are `block`'s, each `repeats` times.

    Its minimum, maximum and mean are the block's; its counts (NaN, infinities, zeros) are the block's
    times `repeats`; its spread is the block's sum of squared deviations, times `repeats`, over its own
    count less one; its first values are read in its own order.
    """
    inner = summarize(block)
    if inner is None:
        return None
    numel = tensor.numel()
    finite = inner.numel - inner.nan - inner.inf  # the block's finite values, each `repeats` times
    std: float | None = None
    if inner.mean is not None and finite > 0 and (finite == 1 or inner.std is not None):
        squares = 0.0 if finite == 1 else (inner.std or 0.0) ** 2 * (finite - 1)
        std = math.sqrt(squares * repeats / (finite * repeats - 1))
    return replace(
        inner,
        numel=numel,
        std=std,
        nan=inner.nan * repeats,
        inf=inner.inf * repeats,
        zeros=inner.zeros * repeats,
        first=first_values(tensor),
    )


def dense_block(tensor: torch.Tensor) -> torch.Tensor | None:
    """The 1-D view of the memory a non-overlapping, dense tensor covers (None when it has gaps or overlaps).

    A contiguous tensor's is its flat view; a transpose or permutation of one covers the same
    block in another order. Strides are never negative in torch, so the block starts at the
    tensor's first element.
    """
    if tensor.is_contiguous():
        return tensor.reshape(-1)
    return tensor.as_strided((tensor.numel(),), (1,)) if is_dense(tensor) else None


def is_dense(tensor: torch.Tensor) -> bool:
    """Whether the tensor's elements fill a block of memory, each once (in whatever order)."""
    expected = 1
    for stride, size in sorted((stride, size) for size, stride in zip(tensor.shape, tensor.stride()) if size != 1):
        if stride != expected:
            return False
        expected *= size
    return True


def _first_elements(tensor: torch.Tensor) -> torch.Tensor:
    """The first values in the tensor's own (row-major) order, copying only what holds them.

    Each leading dimension is narrowed to the indices the first values need, until one needs more
    than its first: at most about twice SUMMARY_FIRST elements are copied, however wide a row
    (a (1, N) transpose or broadcast is not read whole).
    """
    if tensor.dim() == 0:
        return tensor.reshape(1)
    view, inner = tensor, tensor.numel()
    for dim, size in enumerate(tensor.shape):
        inner = inner // size if size else 0
        rows = -(-SUMMARY_FIRST // max(inner, 1))
        view = view.narrow(dim, 0, min(rows, size))
        if rows > 1:
            break  # the dimensions after this one are read whole: fewer than SUMMARY_FIRST elements each
    return view.reshape(-1)[:SUMMARY_FIRST]


def first_values(tensor: torch.Tensor) -> tuple[Any, ...]:
    """A summary's `first`: the tensor's first values in its own order, as Python numbers."""
    return tuple(plain_number(item) for item in _first_elements(tensor.detach()).tolist())


def _finite_summary(numel: int, low: float, high: float, mean: float, std: float, nonzero: int, first: list[Any]) -> Summary:
    """The Summary of a tensor with no NaN or infinity (a mean or spread that overflowed reads None)."""
    return Summary(
        numel=numel,
        min=low,
        max=high,
        mean=_float_or_none(mean),
        std=_float_or_none(std),
        nan=0,
        inf=0,
        zeros=numel - nonzero,
        first=tuple(plain_number(item) for item in first),
    )


_NUMPY_MAX = 65536


def _summarize_numpy(work: torch.Tensor, head: torch.Tensor) -> Summary | None:
    """A CPU float32/float64 tensor up to 65,536 elements, through numpy (None: take torch's path).

    Each torch operation costs some microseconds of dispatch, which is most of the time at these
    sizes: numpy's ufunc reductions on the same memory take a fraction of it (called directly:
    `ndarray.std` is a dozen Python-level steps, half the time at a thousand elements). The sum
    and the centred squares add up in float64 (in numpy's buffered chunks: no float64 copy of the
    tensor), so a mean near zero is not float32 rounding noise and the spread is within 1e-7 of
    float64's. A tensor with a NaN or infinity goes the torch way.
    """
    try:
        array = work.numpy()
        size = array.size
        with numpy.errstate(all="ignore"):
            low, high = float(numpy.minimum.reduce(array)), float(numpy.maximum.reduce(array))
            if not (math.isfinite(low) and math.isfinite(high)):
                return None
            mean = float(numpy.add.reduce(array, dtype=numpy.float64)) / size
            centre = array.dtype.type(mean)  # in the tensor's precision: no float64 copy to subtract from
            centred = array - centre
            squares = float(numpy.add.reduce(centred * centred, dtype=numpy.float64))
            squares -= size * (mean - float(centre)) ** 2  # the sum of squares about the exact mean
            std = math.sqrt(max(squares, 0.0) / (size - 1)) if size > 1 else math.nan
        nonzero = size - _zeros(array)
        return _finite_summary(size, low, high, mean, std, nonzero, head.tolist())
    except Exception:  # a tensor numpy cannot view (a conjugate or negative view bit...): torch's path
        return None


def _zeros(array: numpy.ndarray) -> int:
    """How many elements are zero: a comparison, then a count of the bool array it makes.

    Counting a float array's non-zeros directly branches on every element: on a ReLU's output
    (half zeros) torch.count_nonzero takes 3.6 ms a million elements, numpy's 0.5 ms, this 0.13 ms.
    """
    return int(numpy.count_nonzero(array == 0))


def _summarize_cpu(work: torch.Tensor, head: torch.Tensor) -> Summary | None:
    """A flat CPU float tensor over 65,536 elements (None: take torch's path, for a NaN or infinity).

    numpy's min, max and zero count on the tensor's memory, and the two passes of `_std_mean` split
    between the two libraries by which is quicker at each: torch's mean (a cascade sum, within 1e-7
    of float64's) and the norms of rows of 1,024 centred values, numpy's subtraction and the float64
    sum of the rows' squared norms. About half the time of torch alone on random values, a quarter
    on a tensor with many zeros (see `_zeros`).
    """
    try:
        array = work.numpy()
    except Exception:  # a tensor numpy cannot view: torch's path
        return None
    size = array.size
    with numpy.errstate(all="ignore"):
        low, high = float(numpy.minimum.reduce(array)), float(numpy.maximum.reduce(array))
        if not (math.isfinite(low) and math.isfinite(high)):
            return None
        mean = float(work.mean())  # already a number of the tensor's precision: subtracted exactly
        centred = array - array.dtype.type(mean)
        rows = size // _STD_CHUNK
        body = torch.linalg.vector_norm(torch.from_numpy(centred[: rows * _STD_CHUNK].reshape(rows, _STD_CHUNK)), dim=1)
        norms = body.numpy().astype(numpy.float64)
        tail = centred[rows * _STD_CHUNK :].astype(numpy.float64)
        squares = float(numpy.dot(norms, norms)) + float(numpy.dot(tail, tail))
    std = math.sqrt(squares / (size - 1))
    return _finite_summary(size, low, high, mean, std, size - _zeros(array), head.tolist())


_STD_CHUNK = 1024
_ONE_PASS_MAX = 4096


def _std_mean(work: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The standard deviation (float64, Bessel-corrected) and mean of a flat finite float tensor.

    torch.std_mean's one-pass (Welford) kernel costs about 6 ns an element on one thread; two
    passes (the mean, then the norm of the centred values, in rows of 1,024 whose squared
    norms add up in float64) cost a tenth of that up to a million elements and stay within
    2e-7 of the float64 answer. Small tensors keep std_mean, which is quicker there.
    """
    numel = work.numel()
    if numel <= _ONE_PASS_MAX:
        std, mean = torch.std_mean(work)
        return std.double(), mean
    mean = work.mean()
    centred = work - mean
    rows = numel // _STD_CHUNK
    squares = torch.zeros((), dtype=torch.float64, device=work.device)
    if rows:
        squares = squares + torch.linalg.vector_norm(centred[: rows * _STD_CHUNK].view(rows, _STD_CHUNK), dim=1).double().square().sum()
    if numel - rows * _STD_CHUNK:
        squares = squares + torch.linalg.vector_norm(centred[rows * _STD_CHUNK :]).double().square()
    return (squares / (numel - 1)).sqrt(), mean


def _summarize_non_finite(work: torch.Tensor, numel: int, first: tuple[Any, ...]) -> Summary:
    """The statistics of the finite values, and how many are NaN or infinite."""
    mask = torch.isfinite(work)
    finite = work[mask]
    nan = int(torch.isnan(work).sum())
    count = finite.numel()
    zeros = numel - int(torch.count_nonzero(work))
    if count == 0:
        return Summary(numel, None, None, None, None, nan, numel - nan, zeros, first)
    low, high = torch.aminmax(finite)
    std, mean = torch.std_mean(finite) if count > 1 else (torch.tensor(float("nan")), finite.mean())
    low_, high_, mean_, std_ = torch.stack([low, high, mean, std.to(low.device)]).double().tolist()
    return Summary(
        numel=numel,
        min=_float_or_none(low_),
        max=_float_or_none(high_),
        mean=_float_or_none(mean_),
        std=_float_or_none(std_) if count > 1 else None,
        nan=nan,
        inf=numel - count - nan,
        zeros=zeros,
        first=first,
    )


def _summarize_exact(flat: torch.Tensor, head: torch.Tensor) -> Summary:
    """Integer, bool and complex tensors (rarely big): the statistics in float64."""
    first = tuple(plain_number(item) for item in head.tolist())
    if flat.is_complex():
        return Summary(flat.numel(), None, None, None, None, 0, 0, int((flat == 0).sum()), first)
    numbers = flat.double()
    return Summary(
        numel=flat.numel(),
        min=float(numbers.min()),
        max=float(numbers.max()),
        mean=float(numbers.mean()),
        std=float(numbers.std()),
        nan=0,
        inf=0,
        zeros=int((numbers == 0).sum()),
        first=first,
    )


def readable_grad(tensor: torch.Tensor) -> torch.Tensor | None:
    """The tensor's .grad, read only where torch keeps one (no warning on non-leaves)."""
    try:
        if tensor.is_leaf or tensor.retains_grad:
            return tensor.grad
    except Exception:
        pass
    return None


def _version(tensor: torch.Tensor) -> int:
    try:
        return tensor._version
    except Exception:  # inference tensors keep no version counter
        return -1


class _DataAliases:
    """The tensors whose `.data` the script took while a run is on, and the aliases it was given.

    `w.data` is a new tensor on w's memory with a version counter of its own: `w.data.add_(...)`
    (the seed course's own update) bumps the alias's version, never w's, so a big tensor's version
    and storage say nothing of it. The probes hand every alias the script takes to `taken`;
    `stamp` is what a tensor's content key adds: how many times its `.data` was taken, and the
    versions of the aliases still alive. A tensor whose `.data` was taken is read again at the next
    step, and again whenever a kept alias is written. Nothing is kept past the run (`clear`).
    """

    __slots__ = ("_table",)

    def __init__(self) -> None:
        # id(tensor) -> [weak reference to it, times taken, weak references to its live aliases]
        self._table: dict[int, list[Any]] = {}

    def taken(self, tensor: torch.Tensor, alias: torch.Tensor) -> None:
        table = self._table
        ident = id(tensor)
        entry = table.get(ident)
        if entry is None or entry[0]() is not tensor:

            def forget(reference: Any) -> None:
                if ident in table and table[ident][0] is reference:
                    del table[ident]

            try:
                entry = [weakref.ref(tensor, forget), 0, []]
            except TypeError:
                return
            table[ident] = entry
        entry[1] += 1
        try:
            entry[2] = [reference for reference in entry[2] if reference() is not None] + [weakref.ref(alias)]
        except TypeError:
            pass

    def stamp(self, tensor: torch.Tensor | None) -> tuple | None:
        """None for a tensor whose `.data` was never taken (the common case: one dict lookup)."""
        if not self._table or tensor is None:
            return None
        entry = self._table.get(id(tensor))
        if entry is None or entry[0]() is not tensor:
            return None
        return entry[1], tuple(_version(alias) for alias in (reference() for reference in entry[2]) if alias is not None)

    def clear(self) -> None:
        self._table = {}


data_aliases = _DataAliases()


def _content_key(tensor: torch.Tensor) -> tuple:
    """What identifies a tensor's content without reading it: its version, storage and layout, and
    what was done through its `.data` (`_DataAliases`)."""
    try:
        pointer = tensor.data_ptr()
    except Exception:
        pointer = None
    return (
        _version(tensor), pointer, tuple(tensor.shape), tensor.stride(), tensor.storage_offset(),
        tensor.dtype, tensor.device, data_aliases.stamp(tensor),
    )


_MAX_VIEWS_PER_CONTENT = 8


class _Content:
    """What was read of one live tensor at one version: its values or summary, and the views made of it."""

    __slots__ = ("ref", "key", "serial", "kept", "value", "summary", "views")

    def __init__(
        self, ref: Any, key: tuple, serial: int, kept: Fingerprint, value: Values | None, summary: Summary | None,
    ) -> None:
        self.ref = ref
        self.key = key
        self.serial = serial
        self.kept = kept  # a small tensor's fingerprint, to see writes through `.data`
        self.value = value
        self.summary = summary
        self.views: dict[tuple, TensorView] = {}


class ViewMaker:
    """Makes TensorViews, reading a tensor's content only when it changed.

    A per-run table keyed by the tensor's identity (held through a weak reference, so a
    freed tensor's id cannot be taken for another's) remembers what was read at which
    `_version` and storage: a tensor whose version, storage and grad did not change is
    neither copied nor summarised again, and gets the very same TensorView object (the
    recording writer dedupes with `is`). Small tensors are compared with a kept
    fingerprint (`fingerprint`) every time, since writes through `.data` do not bump
    `_version`.
    """

    def __init__(self) -> None:
        self._table: dict[int, _Content] = {}
        self._strong: dict[int, _Content] = {}  # tensors that take no weak reference: this step's only
        self._serial = 0
        # The latest step's named tensors: name -> (tensor, grad, quick key, view, whether its .grad
        # is readable, the small ones' fingerprints), held strongly.
        self._named: dict[str, tuple[torch.Tensor, torch.Tensor | None, tuple, TensorView, bool, tuple | None]] = {}
        # Summaries by storage, while a backward pass or a graph capture runs (see `sharing_storage`).
        self._by_storage: dict[tuple, tuple[Any, Summary]] | None = None
        self._sharing = 0

    def clear(self) -> None:
        self._table = {}
        self._strong = {}
        self._named = {}
        self._by_storage = {} if self._sharing else None

    @contextlib.contextmanager
    def sharing_storage(self) -> Iterator[None]:
        """Within, big tensors on one storage share their summaries.

        Autograd hands one gradient over as several tensor objects: a Linear layer's weight grad
        is AddmmBackward's output, TBackward's transpose of it, then AccumulateGrad's detached
        `.grad`; a saved tensor unpacks as a new object at each capture. Same storage, layout and
        version: the same content, summarised once. A dense view of the same block in another order
        (the transpose) shares the statistics and reads only its first values. Only during a
        backward pass or a capture, when no script code writes between the reads; a weak reference
        to the storage keeps a freed one's address from being taken for another's, and nothing is
        held past the end.
        """
        if self._sharing == 0:
            self._by_storage = {}
        self._sharing += 1
        try:
            yield
        finally:
            self._sharing -= 1
            if self._sharing == 0:
                self._by_storage = None

    def views(
        self,
        entries: Iterable[tuple[str, torch.Tensor, Role, int]],
        *,
        compare_values: bool = True,
        partial: bool = False,
    ) -> dict[str, TensorView]:
        """TensorViews for a step's (name, tensor, role, accumulated) entries.

        A tensor still bound to the same name, at the same version and storage, with the same
        grad object at the same version, is the previous step's view at the cost of a few
        attribute reads. Writes through `.data` do not bump `_version`: small tensors (and small
        grads) are also compared by content, a CPU one by the bytes of its elements, read straight
        from its memory (no torch operation), another by a kept CPU copy; for the others, what the
        script did through their `.data` is part of the key (`_DataAliases`). Without
        `compare_values` (a quiet sub-step, see StepMaker.make) the content comparison is skipped.
        `partial`: the entries are only the names that may have changed; the others keep what
        they had (the result holds the entries' views only).
        """
        self._strong = {}
        last = self._named
        named = dict(last) if partial else {}
        views: dict[str, TensorView] = {}
        stamp = data_aliases.stamp
        for name, tensor, role, accumulated in entries:
            hit = last.get(name)
            if not compare_values and hit is not None and hit[0] is tensor:
                # A quiet sub-step: only autograd or the optimizer ran, and what they change bumps a
                # version or replaces the grad; four attribute reads tell whether this one moved.
                quick = hit[2]
                try:
                    grad = tensor.grad if hit[4] else None
                    if (
                        grad is hit[1]
                        and tensor._version == quick[0]
                        and accumulated == quick[4]
                        and (grad is None or grad._version == quick[7][0])
                        and quick[8] == (stamp(tensor), stamp(grad))
                    ):
                        named[name] = hit
                        views[name] = hit[3]
                        continue
                except Exception:
                    pass
            try:
                readable = bool(tensor.is_leaf or tensor.retains_grad)
                grad = tensor.grad if readable else None
                quick = (
                    tensor._version, tensor.data_ptr(), tensor.shape, role, accumulated, tensor.requires_grad,
                    type(tensor.grad_fn), None if grad is None else (grad._version, grad.data_ptr(), grad.shape),
                    (stamp(tensor), stamp(grad)),
                )
                small = tensor.numel() <= MAX_FULL_ELEMENTS, grad is not None and grad.numel() <= MAX_FULL_ELEMENTS
            except Exception:  # an odd tensor: the slow path shows what it can
                views[name] = self.view(tensor, role, accumulated)
                continue
            prints = (_raw(tensor) if small[0] else b"", _raw(grad) if small[1] else b"") if compare_values else None
            if hit is not None and hit[0] is tensor and hit[1] is grad and hit[2] == quick:
                view = hit[3]
                if prints is None:
                    prints = hit[5]
                elif (small[0] or small[1]) and (prints != hit[5] or None in prints):
                    # A fingerprint that cannot be read (another device, a layout with no plain
                    # memory): the content table compares its own kept copy.
                    view = self.view(tensor, role, accumulated)
            else:
                view = self.view(tensor, role, accumulated)
            named[name] = (tensor, grad, quick, view, readable, prints)
            views[name] = view
        self._named = named
        return views

    def view(self, tensor: torch.Tensor, role: Role = "tensor", accumulated: int = 0) -> TensorView:
        """The TensorView of one tensor now (a named one, a saved tensor, a node's grads)."""
        try:
            grad = readable_grad(tensor)
            content = self._content(tensor)
            grad_content = None if grad is None else self._content(grad)
            grad_fn = tensor.grad_fn
            key = (
                None if grad_content is None else (id(grad), grad_content.serial),
                role,
                accumulated if grad is not None else 0,
                bool(tensor.requires_grad),
                bool(tensor.is_leaf),
                None if grad_fn is None else type(grad_fn).__name__,
            )
            view = content.views.get(key)
            if view is None:
                view = TensorView(
                    shape=tuple(int(size) for size in tensor.shape),
                    dtype=str(tensor.dtype).removeprefix("torch."),
                    device=str(tensor.device),
                    requires_grad=key[3],
                    is_leaf=key[4],
                    grad_fn=key[5],
                    version=_version(tensor),
                    value=content.value,
                    summary=content.summary,
                    has_grad=grad is not None,
                    grad=None if grad_content is None else grad_content.value,
                    grad_summary=None if grad_content is None else grad_content.summary,
                    accumulated=key[2],
                    role=role,
                )
                if len(content.views) >= _MAX_VIEWS_PER_CONTENT:
                    content.views.clear()
                content.views[key] = view
            return view
        except Exception as error:  # sparse, nested, or otherwise odd tensors: show a marker, run on
            return unreadable_view(tensor, role, error)

    def _content(self, tensor: torch.Tensor) -> _Content:
        """The values or summary of a tensor, read again only when its content may have changed."""
        key = _content_key(tensor)
        small = tensor.numel() <= MAX_FULL_ELEMENTS
        entry = self._table.get(id(tensor)) or self._strong.get(id(tensor))
        kept: Fingerprint = None
        if entry is not None and entry.ref() is tensor and entry.key == key:
            if not small:
                return entry
            kept = fingerprint(tensor)
            if _same(kept, entry.kept):
                return entry
        if small:
            if kept is None:
                kept = fingerprint(tensor)
            if kept is None:
                value: Values | None = marker(RuntimeError("could not copy to the CPU"))
            else:
                value = read_values(kept if isinstance(kept, torch.Tensor) else tensor)
            summary = None
        else:
            summary = self._shared_summary(tensor, key) if self._by_storage is not None else summarize(tensor)
            value = None if summary is not None else marker(RuntimeError("no summary"))
        self._serial += 1
        entry = _Content(None, key, self._serial, kept, value, summary)
        self._remember(tensor, entry)
        return entry

    def _shared_summary(self, tensor: torch.Tensor, key: tuple) -> Summary | None:
        """A big tensor's summary, from another tensor on the same storage where one was read."""
        shared = self._by_storage
        assert shared is not None
        try:
            storage = tensor.untyped_storage()
            ident = id(storage)
            exact = (ident, key)
            hit = shared.get(exact)
            if hit is not None and hit[0]() is storage:
                return hit[1]
            dense = (ident, tensor.data_ptr(), tensor.numel(), tensor.dtype, key[0]) if is_dense(tensor) else None
            hit = shared.get(dense) if dense is not None else None
            if hit is not None and hit[0]() is storage:
                summary = replace(hit[1], first=first_values(tensor))
            else:
                read = summarize(tensor)
                if read is None:
                    return None
                summary = read
                if dense is not None:
                    shared[dense] = (weakref.ref(storage), summary)
            shared[exact] = (weakref.ref(storage), summary)
            return summary
        except Exception:  # a tensor with no storage to share (sparse, nested...): read it alone
            return summarize(tensor)

    def _remember(self, tensor: torch.Tensor, entry: _Content) -> None:
        ident = id(tensor)
        table = self._table

        def forget(reference: Any) -> None:
            if table.get(ident) is entry:
                del table[ident]

        try:
            entry.ref = weakref.ref(tensor, forget)
        except TypeError:  # no weak references: remember it for this step only, strongly
            entry.ref = lambda: tensor
            self._strong[ident] = entry
            return
        table[ident] = entry


Fingerprint = Union[bytes, torch.Tensor, None]


def _raw(tensor: torch.Tensor | None) -> bytes | None:
    """The bytes of a CPU tensor's elements, read straight from its memory (None: it has none to read so).

    A contiguous tensor's elements are one block from its data pointer; another (a transpose, a
    slice) is made contiguous first. No torch operation runs for the common case, so telling that
    a small tensor did not change costs about a microsecond.
    """
    if tensor is None:
        return b""
    try:
        if not tensor.is_cpu or tensor.layout is not torch.strided or tensor.is_quantized:
            return None
        if not tensor.is_contiguous():
            tensor = tensor.detach().contiguous()
        size = tensor.numel() * tensor.element_size()
        return ctypes.string_at(tensor.data_ptr(), size) if size else b""
    except Exception:  # a tensor subclass with no memory of its own, ...: compared by a copy
        return None


def fingerprint(tensor: torch.Tensor) -> Fingerprint:
    """What tells a small tensor's content now from later: the bytes of a CPU tensor's elements; for a
    tensor on another device (or with no plain memory) a CPU copy of it (None: it cannot be read)."""
    raw = _raw(tensor)
    if raw is not None:
        return raw
    copy = _cpu_copy(tensor)
    if copy is not None and copy.device.type == "cpu" and tensor.device.type == "cpu":
        try:
            copy = copy.clone()  # the tensor itself: keep its values as they are now
        except Exception:
            return None
    return copy


def _same(kept: Fingerprint, before: Fingerprint) -> bool:
    if kept is None or before is None:
        return kept is before  # unreadable then and now: the same marker
    if isinstance(kept, bytes) or isinstance(before, bytes):
        return kept == before
    try:
        return bool(torch.equal(kept, before))
    except Exception:
        return False


def _cpu_copy(tensor: torch.Tensor) -> torch.Tensor | None:
    """A CPU copy of a (detached) small tensor; the tensor itself when it is on the CPU already."""
    try:
        detached = tensor.detach()
        return detached if detached.device.type == "cpu" else detached.to("cpu")
    except Exception:  # e.g. a meta tensor: the view shows a marker
        return None


def unreadable_view(tensor: torch.Tensor, role: Role, error: BaseException) -> TensorView:
    """A tensor whose values cannot be read: what metadata can be read, and a visible marker."""

    def attempt(read: Callable[[], Any], fallback: Any) -> Any:
        try:
            return read()
        except Exception:
            return fallback

    grad_fn = attempt(lambda: tensor.grad_fn, None)
    return TensorView(
        shape=attempt(lambda: tuple(int(size) for size in tensor.shape), ()),
        dtype=attempt(lambda: str(tensor.dtype).removeprefix("torch."), "?"),
        device=attempt(lambda: str(tensor.device), "?"),
        requires_grad=attempt(lambda: bool(tensor.requires_grad), False),
        is_leaf=attempt(lambda: bool(tensor.is_leaf), True),
        grad_fn=None if grad_fn is None else type(grad_fn).__name__,
        version=-1,
        value=marker(error),
        role=role,
    )


def make_view(tensor: torch.Tensor, role: Role = "tensor", accumulated: int = 0) -> TensorView:
    """A fresh TensorView of `tensor`, read now, remembered nowhere."""
    return ViewMaker().view(tensor, role, accumulated)


# -- which tensors a step shows --------------------------------------------------------------


@dataclass
class Named:
    """The tensors and scalars reachable by name from the script's frames at one moment."""

    tensors: list[tuple[str, torch.Tensor, Role]]
    scalars: dict[str, Any]
    optimizers: list[tuple[str, torch.optim.Optimizer]]
    loop_variables: frozenset[str] = frozenset()  # names bound by the script's `for` statements
    _names: dict[int, str] | None = field(default=None, init=False, repr=False, compare=False)

    def name_of(self) -> dict[int, str]:
        """id(tensor) -> the name a tensor is called by where it has several (a graph's leaves, an
        optimizer's parameters, a reset's tensors).

        The script's own name wins over a module path (`w = layer.weight`: `w`), and a module path
        over a loop's variable: after `for param in model.parameters()`, `param` still holds the last
        parameter, which stays `model.2.bias` (and the graph's leaves keep their names while the
        loop moves `param` over them). Among equals, the first collected. Worked out once (a quiet
        sub-step reuses the Named); `tensors` is not to change after."""
        if self._names is None:
            names: dict[int, str] = {}
            loop_variables = self.loop_variables
            for name, tensor, _ in sorted(self.tensors, key=lambda entry: (entry[0] in loop_variables, "." in entry[0])):
                names.setdefault(id(tensor), name)
            self._names = names
        return self._names


def _scalar(value: Any) -> Any:
    if isinstance(value, _SCALAR_TYPES):
        return plain_number(value) if isinstance(value, float) else value
    if isinstance(value, torch.Tensor) and value.numel() == 1:
        try:
            return plain_number(value.item())
        except Exception as error:
            return marker(error)
    if isinstance(value, tuple) and all(isinstance(item, (int, float)) for item in value):
        return tuple(plain_number(item) for item in value)
    return None


def hyperparameters(group: Mapping[str, Any]) -> tuple[tuple[str, Any], ...]:
    """A param group's settings as plain data (lr, momentum, betas, ...), without its params."""
    pairs = []
    for key, value in group.items():
        if key == "params":
            continue
        scalar = _scalar(value)
        if scalar is not None or value is None:
            pairs.append((str(key), scalar))
    return tuple(pairs)


def collect_named(namespaces: Iterable[Mapping[str, Any]], loop_variables: frozenset[str] = frozenset()) -> Named:
    """Tensors, nn.Module parameters/buffers, optimizers and numbers of the given namespaces.

    `loop_variables`: the names the script's `for` statements bind (see `Named.name_of`).

    Later namespaces (a function's locals) override earlier ones (globals) name by name. While a
    run is on, namespaces whose names hold the very objects they held at the last collect give
    what that collect read of them again (`module_watch.bindings`): only the optimizers, whose
    param groups and state change without a rebinding, are read again.
    """
    spaces = [(list(namespace), list(namespace.values())) for namespace in namespaces]
    read = module_watch.bindings(spaces)
    if read is None:
        read = _classify(spaces)
        module_watch.remember_bindings(spaces, read)
    tensors, scalars, optimizers = read
    named = Named(list(tensors), dict(scalars), optimizers, loop_variables)
    if optimizers:
        names = named.name_of()
        for name, optimizer in optimizers:
            _add_optimizer(name, optimizer, names, named)
        named._names = None  # the optimizers' state tensors joined the list
    return named


_Read = tuple[list[tuple[str, torch.Tensor, Role]], dict[str, Any], list[tuple[str, torch.optim.Optimizer]]]


def _classify(spaces: list[tuple[list[str], list[Any]]]) -> _Read:
    """The tensors (a module's named ones included), the numbers and the optimizers the names hold."""
    merged: dict[str, Any] = {}
    for names, values in spaces:
        for name, value in zip(names, values):
            if not name.startswith("__"):
                merged[name] = value
    tensors: list[tuple[str, torch.Tensor, Role]] = []
    scalars: dict[str, Any] = {}
    optimizers: list[tuple[str, torch.optim.Optimizer]] = []
    for name, value in merged.items():
        if isinstance(value, torch.Tensor):
            tensors.append((name, value, _tensor_role(value)))
        elif isinstance(value, torch.nn.Module):
            tensors.extend(_module_tensors(name, value))
        elif isinstance(value, torch.optim.Optimizer):
            optimizers.append((name, value))
        elif isinstance(value, (bool, int, float)) and not name.startswith("_"):
            scalars[name] = plain_number(value)
    return tensors, scalars, optimizers


def _tensor_role(tensor: torch.Tensor) -> Role:
    """A bare name's tensor: a parameter or a plain tensor (Parameter's isinstance test is Python code:
    the exact types, by far the commonest, are told without it)."""
    kind = type(tensor)
    if kind is torch.nn.Parameter:
        return "parameter"
    if kind is not torch.Tensor and isinstance(tensor, torch.nn.Parameter):
        return "parameter"
    return "parameter" if kind is torch.Tensor and getattr(tensor, "_is_param", False) else "tensor"


class _ModuleWatch:
    """While a run is on, which modules' parameter lists and which names' bindings may have changed.

    torch's global registration hooks (parameters, buffers, submodules) fire on every
    `module.x = ...` and `register_*` call; each bumps a generation, and a module's walked
    list of tensors is reused only while the generation is the one it was walked at. So the
    walk over a model's named tensors is done again only when a binding inside it changed.
    The same for the script's own names: the last collect's namespaces (their names and the
    objects they held) and what was read of them are kept, and a collect that finds every name
    holding the very same object, at the same generation, reuses it (`bindings`).
    """

    def __init__(self) -> None:
        self.generation = 0
        self.active = 0
        self._handles: list[Any] = []
        self._walked: dict[tuple[int, str], tuple[Any, int, list[tuple[str, torch.Tensor, Role]]]] = {}
        self._bindings: tuple[list[tuple[list[str], list[Any]]], int, _Read] | None = None

    def bindings(self, spaces: list[tuple[list[str], list[Any]]]) -> _Read | None:
        """What the last collect read, if the namespaces still bind the same names to the same objects."""
        kept = self._bindings
        if kept is None or not self.active or kept[1] != self.generation or len(kept[0]) != len(spaces):
            return None
        for (names, values), (kept_names, kept_values) in zip(spaces, kept[0]):
            if len(values) != len(kept_values) or names != kept_names or not all(map(operator.is_, values, kept_values)):
                return None
        return kept[2]

    def remember_bindings(self, spaces: list[tuple[list[str], list[Any]]], read: _Read) -> None:
        if self.active:
            self._bindings = (spaces, self.generation, read)

    def _bump(self, *args: Any) -> None:
        self.generation += 1

    def install(self) -> None:
        if self.active == 0:
            from torch.nn.modules import module as torch_module

            self._handles = [
                torch_module.register_module_parameter_registration_hook(self._bump),
                torch_module.register_module_buffer_registration_hook(self._bump),
                torch_module.register_module_module_registration_hook(self._bump),
            ]
        self.active += 1

    def uninstall(self) -> None:
        self.active -= 1
        if self.active == 0:
            for handle in self._handles:
                handle.remove()
            self._handles = []
            self._walked = {}
            self._bindings = None  # the last names' objects are not kept past the run

    def tensors(self, prefix: str, module: torch.nn.Module) -> list[tuple[str, torch.Tensor, Role]]:
        if not self.active:
            return _walk_module(prefix, module)
        key = (id(module), prefix)
        found = self._walked.get(key)
        if found is not None and found[0]() is module and found[1] == self.generation:
            return found[2]
        walked = _walk_module(prefix, module)
        table = self._walked

        def forget(reference: Any) -> None:  # a freed module's tensors are not kept alive here
            if key in table and table[key][0] is reference:
                del table[key]

        try:
            table[key] = (weakref.ref(module, forget), self.generation, walked)
        except TypeError:
            pass
        return walked


module_watch = _ModuleWatch()


def _module_tensors(prefix: str, module: torch.nn.Module) -> list[tuple[str, torch.Tensor, Role]]:
    return module_watch.tensors(prefix, module)


def _walk_module(prefix: str, module: torch.nn.Module) -> list[tuple[str, torch.Tensor, Role]]:
    try:
        parameters: list[tuple[str, torch.Tensor, Role]] = [
            (f"{prefix}.{name}", tensor, "parameter") for name, tensor in module.named_parameters()
        ]
        buffers: list[tuple[str, torch.Tensor, Role]] = [
            (f"{prefix}.{name}", tensor, "buffer") for name, tensor in module.named_buffers()
        ]
    except Exception:  # a half-built module (inside __init__): show what can be shown
        return []
    return parameters + buffers


def param_name(optimizer_name: str, names: Mapping[int, str], group: int, index: int, param: Any) -> str:
    """The script's name for an optimizer's parameter, else its place in param_groups."""
    return names.get(id(param)) or f"{optimizer_name}.param_groups[{group}].params[{index}]"


def _add_optimizer(name: str, optimizer: torch.optim.Optimizer, names: Mapping[int, str], named: Named) -> None:
    try:
        groups = list(optimizer.param_groups)
        state = optimizer.state
    except Exception:
        return
    for group_index, group in enumerate(groups):
        prefix = name if group_index == 0 else f"{name}.param_groups[{group_index}]"
        for key, value in group.items():
            if key == "params":
                continue
            scalar = _scalar(value)
            if scalar is not None or value is None:
                named.scalars[f"{prefix}.{key}"] = scalar
        for index, param in enumerate(group.get("params", ())):
            param_state = state.get(param) if isinstance(param, torch.Tensor) else None
            if not param_state:
                continue
            label = param_name(name, names, group_index, index, param)
            for key, value in param_state.items():
                if isinstance(value, torch.Tensor):
                    named.tensors.append((state_name(name, label, key), value, "state"))
                else:
                    scalar = _scalar(value)
                    if scalar is not None:
                        named.scalars[state_name(name, label, key)] = scalar


def frame_namespaces(frame: FrameType | None, module_globals: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    """Globals, then the current function's locals (when the frame is a function's)."""
    if frame is None:
        return [module_globals]
    if frame.f_code.co_name == "<module>" or frame.f_locals is frame.f_globals:
        return [frame.f_globals]
    return [frame.f_globals, frame.f_locals]
