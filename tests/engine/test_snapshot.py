"""What a step holds: named tensors with safe values, summaries, module and optimizer names."""

from __future__ import annotations

import ast

import torch

from tests.engine.drive import record, write
from tui.engine.loops import loop_variables
from tui.engine.snapshot import ViewMaker, collect_named, make_view

NAMED = """import torch
import torch.nn as nn
from torch.optim import Adam

class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.m1 = nn.Linear(3, 2)
        self.register_buffer("steps", torch.zeros(1))

my_network = Net()
weights = torch.tensor([1.0, 2.0], requires_grad=True)
opt = Adam([weights, *my_network.parameters()], lr=0.01)
(weights.sum() + my_network.m1(torch.ones(3)).sum()).backward()
opt.step()
big = torch.arange(1000.0)
odd = torch.tensor([float("nan"), float("inf"), -float("inf"), 1.5])
lr = 0.5
done = True
"""


def test_named_tensors_modules_and_optimizer_state_at_the_end(tmp_path):
    steps, result = record(write(tmp_path, "named.py", NAMED))
    assert result.status == "finished"
    end = steps[-1]
    tensors = end.tensors
    assert tensors["my_network.m1.weight"].shape == (2, 3) and tensors["my_network.m1.weight"].role == "parameter"
    assert tensors["my_network.steps"].role == "buffer"
    assert tensors["opt.state.weights.exp_avg"].role == "state"
    assert "opt.state.my_network.m1.bias.exp_avg_sq" in tensors
    assert end.scalars["opt.lr"] == 0.01 and end.scalars["opt.betas"] == (0.9, 0.999)
    assert end.scalars["lr"] == 0.5 and end.scalars["done"] is True
    big = tensors["big"]
    assert big.value is None and big.summary.numel == 1000
    assert (big.summary.min, big.summary.max, big.summary.mean) == (0.0, 999.0, 499.5)
    assert big.summary.zeros == 1 and big.summary.first[:3] == (0.0, 1.0, 2.0)
    assert tensors["odd"].value == ("nan", "inf", "-inf", 1.5)
    weights = tensors["weights"]
    assert (weights.grad, weights.accumulated, weights.is_leaf, weights.requires_grad) == ((1.0, 1.0), 1, True, True)


def test_a_tensor_that_cannot_be_read_shows_a_marker_instead_of_raising():
    meta = torch.empty(3, device="meta")
    view = make_view(meta)
    assert isinstance(view.value, str) and view.value.startswith("<unreadable")
    assert view.shape == (3,) and view.device == "meta"


def test_an_unchanged_tensor_keeps_its_view_and_a_data_write_is_seen():
    maker = ViewMaker()
    weights = torch.tensor([1.0, 2.0], requires_grad=True)
    first = maker.views([("weights", weights, "tensor", 0)])["weights"]
    assert maker.views([("weights", weights, "tensor", 0)])["weights"] is first
    weights.data.add_(1.0)  # does not bump _version
    changed = maker.views([("weights", weights, "tensor", 0)])["weights"]
    assert changed.value == (2.0, 3.0) and changed is not first


def test_small_tensors_are_told_apart_by_their_bytes_in_any_layout():
    """A transposed tensor, a grad and a NaN: writes through `.data` are seen, and a tensor that did
    not change (NaN included, which is never equal to itself) keeps its very view."""
    maker = ViewMaker()
    base = torch.arange(6.0).reshape(2, 3)
    transposed = base.t()  # not contiguous
    weights = torch.tensor([1.0, 2.0], requires_grad=True)
    weights.grad = torch.tensor([0.5, 0.5])
    odd = torch.tensor([float("nan"), 1.0])

    def views() -> dict:
        return maker.views([("t", transposed, "tensor", 0), ("w", weights, "tensor", 0), ("odd", odd, "tensor", 0)])

    first = views()
    again = views()
    assert all(again[name] is first[name] for name in first)
    base.data[0, 1] = 10.0  # through another tensor on the same memory: no version of `transposed` moves
    weights.grad.data.mul_(3)
    changed = views()
    assert changed["t"].value == ((0.0, 3.0), (10.0, 4.0), (2.0, 5.0))
    assert changed["w"].grad == (1.5, 1.5) and changed["w"] is not first["w"]
    assert changed["odd"] is first["odd"] and changed["odd"].value == ("nan", 1.0)


def test_a_collect_reuses_what_it_read_only_while_every_name_holds_the_same_object():
    """The walk over named tensors is redone only where bindings changed; an optimizer's state, which
    grows without a rebinding, is read at every collect."""
    from tui.engine.snapshot import module_watch

    weight = torch.tensor([1.0, 2.0], requires_grad=True)
    optimizer = torch.optim.SGD([weight], lr=0.1, momentum=0.9)
    namespace = {"weight": weight, "steps": 3, "optimizer": optimizer}
    module_watch.install()
    try:
        first = collect_named([namespace])
        assert [name for name, _, _ in first.tensors] == ["weight"] and first.scalars["steps"] == 3
        weight.grad = torch.ones(2)
        optimizer.step()  # creates momentum_buffer: no name changed
        again = collect_named([namespace])
        assert [name for name, _, _ in again.tensors] == ["weight", "optimizer.state.weight.momentum_buffer"]
        assert [name for name, _, _ in first.tensors] == ["weight"]  # what was handed out stays as it was
        namespace["weight"] = torch.tensor([5.0])  # rebound: the new tensor, not the old
        namespace["bias"] = torch.tensor([0.5])
        namespace["steps"] = 4
        changed = collect_named([namespace])
        tensors = {name: tensor for name, tensor, _ in changed.tensors}
        assert tensors["weight"] is namespace["weight"] and tensors["bias"] is namespace["bias"]
        assert changed.scalars["steps"] == 4
        del namespace["bias"]
        assert "bias" not in {name for name, _, _ in collect_named([namespace]).tensors}
    finally:
        module_watch.uninstall()


def test_locals_override_globals_and_non_leaf_grads_are_not_read(recwarn):
    loss = torch.tensor(2.0, requires_grad=True) * 3
    named = collect_named([{"loss": torch.tensor(1.0), "x": 1.0}, {"loss": loss}])
    assert [name for name, _, _ in named.tensors] == ["loss"] and named.tensors[0][1] is loss
    view = ViewMaker().views([("loss", loss, "tensor", 0)])["loss"]
    assert view.grad_fn == "MulBackward0" and view.has_grad is False
    assert not [warning for warning in recwarn if ".grad" in str(warning.message)]


def test_summaries_agree_with_float64_on_both_sides_of_the_two_pass_threshold():
    from tui.engine.snapshot import summarize

    generator = torch.Generator().manual_seed(0)
    for numel in (300, 4096, 4097, 65536, 100_000, 2**20 + 3):
        for label, tensor in (
            ("offset", 1000 + 0.3 * torch.randn(numel, generator=generator)),
            ("relu", torch.relu(torch.randn(numel, generator=generator))),
        ):
            summary = summarize(tensor)
            exact = tensor.double()
            assert summary is not None
            # numpy's path (up to 65,536 elements) sums the centred squares in float64
            tolerance = 1e-7 if numel <= 65536 else 1e-6
            assert abs(summary.std - float(exact.std())) <= tolerance * float(exact.std()), (label, numel)
            assert abs(summary.mean - float(exact.mean())) <= 1e-6 * (abs(float(exact.mean())) + 1), (label, numel)
            assert (summary.min, summary.max) == (float(tensor.min()), float(tensor.max()))
            assert summary.zeros == int((tensor == 0).sum())


def test_the_cpu_path_over_65536_elements_gives_torch_alone_s_statistics(monkeypatch):
    """Above numpy's size a CPU tensor's min, max and zeros are numpy's, its spread split between numpy
    and torch: the same summary as torch's own path (a GPU's), a negative zero counted as a zero,
    and a NaN still counted by torch's path."""
    import tui.engine.snapshot as snapshot

    generator = torch.Generator().manual_seed(2)
    relu = torch.relu(torch.randn(300, 1000, generator=generator))
    relu[0, 5] = -0.0
    for tensor in (relu, relu.t(), 5 + torch.randn(200_003, dtype=torch.float64, generator=generator), relu.half()):
        quick = snapshot.summarize(tensor)
        with monkeypatch.context() as patched:
            patched.setattr(snapshot, "_summarize_cpu", lambda work, head: None)
            alone = snapshot.summarize(tensor)
        assert quick is not None and alone is not None
        assert (quick.numel, quick.min, quick.max, quick.zeros, quick.first) == (alone.numel, alone.min, alone.max, alone.zeros, alone.first)
        assert abs(quick.mean - alone.mean) <= 1e-7 * abs(alone.mean) and abs(quick.std - alone.std) <= 1e-7 * alone.std
        assert quick.zeros == int((tensor == 0).sum())
    relu[7, 7] = float("nan")
    assert snapshot._summarize_cpu(relu.reshape(-1), relu.reshape(-1)[:8]) is None
    summary = snapshot.summarize(relu)
    assert summary is not None and summary.nan == 1 and summary.max == float(relu.nan_to_num(0).max())


def test_a_broadcast_tensor_is_summarised_from_the_block_it_repeats():
    """A stride of 0 (`expand`, autograd's grad of a sum or a mean) repeats a block: the summary is
    its full copy's, read from the block alone, so even a broadcast too big to copy is summarised."""
    import math

    import tui.engine.snapshot as snapshot

    generator = torch.Generator().manual_seed(3)
    cases = (
        torch.tensor(0.37).expand(300_000),
        torch.randn(1, 300, generator=generator).expand(1000, 300),
        torch.relu(torch.randn(400, 1, generator=generator)).expand(400, 500),
        torch.randn(3, 1, 7, generator=generator).expand(3, 50, 7).transpose(0, 2),
        torch.tensor([1.0, float("nan"), float("inf"), 0.0, -2.0]).reshape(5, 1).expand(5, 100),
        torch.arange(6).reshape(6, 1).expand(6, 100),
    )
    for tensor in cases:
        summary, copied = snapshot.summarize(tensor), tensor.contiguous()
        assert summary is not None
        exact = copied.double()
        finite = exact[torch.isfinite(exact)]
        assert summary.numel == tensor.numel() and summary.first == tuple(exact.reshape(-1)[:8].tolist())
        assert (summary.min, summary.max) == (float(finite.min()), float(finite.max()))
        assert (summary.nan, summary.inf, summary.zeros) == (
            int(exact.isnan().sum()), int(exact.isinf().sum()), int((exact == 0).sum()))
        assert math.isclose(summary.mean, float(finite.mean()), rel_tol=1e-6, abs_tol=1e-12)
        assert math.isclose(summary.std, float(finite.std()), rel_tol=1e-6, abs_tol=1e-12)
    assert snapshot.summarize(torch.randn(4, dtype=torch.complex64).expand(100, 4)).std is None
    # A trillion elements (4 TB if copied out): the statistics of its one value.
    huge = snapshot.summarize(torch.tensor(1.5).expand(10**6, 10**6))
    assert huge is not None and (huge.numel, huge.min, huge.max, huge.mean, huge.std) == (10**12, 1.5, 1.5, 1.5, 0.0)
    # The first values of a wide row are read without the row: a (N, 1) transpose of a (1, N) tensor.
    wide = torch.arange(1_000_000.0).reshape(1, -1).t()
    assert snapshot.first_values(wide) == tuple(float(value) for value in range(8))


def test_a_sum_s_grad_shows_its_summary_in_the_backward_sub_steps(tmp_path):
    """SumBackward0 hands on a broadcast of its incoming grad: the sub-step shows its statistics."""
    script = write(tmp_path, "summed.py", """import torch
w = torch.linspace(-1, 1, 100_000, requires_grad=True)
loss = (w * 3).sum()
loss.backward()
""")
    steps, _ = record(script)
    (node,) = [step.node for step in steps if step.kind == "backward" and step.node.name == "SumBackward0"]
    (sent,) = node.grad_inputs
    assert sent.shape == (100_000,) and sent.summary is not None
    assert (sent.summary.numel, sent.summary.min, sent.summary.max, sent.summary.mean, sent.summary.std) == (
        100_000, 1.0, 1.0, 1.0, 0.0)
    assert steps[-1].tensors["w"].grad_summary.mean == 3.0


def test_a_data_write_by_a_hook_during_backward_shows_at_the_next_sub_step(tmp_path):
    """The script's own code between two sub-steps (a hook) ends the quiet sub-steps' shortcut.

    The write is on the hook's only line, after that line's step was made: only the next sub-step
    can show it, and a write through `.data` bumps no version that a quick check could see.
    """
    script = write(tmp_path, "hooked.py", """import torch
w = torch.tensor([1.0, 2.0], requires_grad=True)
b = torch.tensor([0.5, 0.5], requires_grad=True)
loss = (w * 3 + b).sum()
b.register_hook(lambda grad: (w.data.mul_(2), grad)[1])
loss.backward()
""")
    steps, _ = record(script)
    sub_steps = [step for step in steps if step.kind in ("backward", "accumulate")]
    hook_line = next(step.index for step in steps if step.kind == "line" and step.index > sub_steps[0].index)
    before = [step for step in sub_steps if step.index < hook_line]
    after = [step for step in sub_steps if step.index > hook_line]
    assert before and after
    assert all(step.tensors["w"].value == (1.0, 2.0) for step in before)
    assert all(step.tensors["w"].value == (2.0, 4.0) for step in after)


def test_the_graph_is_walked_again_only_when_a_root_is_another_node(monkeypatch):
    """Same root nodes reach the same nodes (next_functions never change): the walk is reused, and the
    graph still shows what changed since (a leaf updated in place), as a fresh capture does."""
    import tui.engine.graph as graph_module
    from tui.engine.graph import GraphCapture
    from tui.engine.snapshot import ViewMaker

    walks = []
    real_walk = graph_module.walk
    monkeypatch.setattr(graph_module, "walk", lambda *args: walks.append(1) or real_walk(*args))
    w = torch.tensor([1.0, 2.0], requires_grad=True)
    loss = (w * 3).sum()
    capture, views = GraphCapture(), ViewMaker()
    view_of = views.view
    first = capture.capture([("w", w), ("loss", loss)], {id(w): "w"}, view_of)
    with torch.no_grad():
        w -= 0.5  # an optimizer's update: the leaf changes, the graph's nodes do not
    second = capture.capture([("w", w), ("loss", loss)], {id(w): "w"}, view_of)
    assert len(walks) == 1
    fresh = GraphCapture().capture([("w", w), ("loss", loss)], {id(w): "w"}, ViewMaker().view)
    walks.clear()
    assert [node.name for node in second.nodes] == [node.name for node in fresh.nodes]
    (leaf,) = [node for node in second.nodes if node.name == "AccumulateGrad"]
    assert leaf.variable.value == (0.5, 1.5) and first != second
    longer = loss * 2  # a new root: walked again
    third = capture.capture([("w", w), ("loss", longer)], {id(w): "w"}, view_of)
    assert len(walks) == 1 and third.nodes[0].name == "MulBackward0" and len(third.nodes) == len(second.nodes) + 1


def test_a_capture_cut_short_leaves_the_next_one_whole():
    """record's ^C handler raises wherever the script's thread is, inside a graph capture too: the
    capture after it (the run's end step) still sees the whole graph, as a fresh capture does."""
    import pytest

    from tui.engine.graph import GraphCapture
    from tui.engine.snapshot import ViewMaker

    w = torch.tensor([1.0, 2.0], requires_grad=True)
    loss = (w * 3).sum()
    capture, views = GraphCapture(), ViewMaker()
    capture.capture([("w", w), ("loss", loss)], {id(w): "w"}, views.view)
    longer = loss * w.sum()  # a new root: walked again, then cut short while its nodes are built

    def interrupted(tensor):
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        capture.capture([("w", w), ("loss", longer)], {id(w): "w"}, interrupted)
    graph = capture.capture([("w", w), ("loss", longer)], {id(w): "w"}, views.view)
    fresh = GraphCapture().capture([("w", w), ("loss", longer)], {id(w): "w"}, ViewMaker().view)
    assert graph is not None and fresh is not None
    assert [node.name for node in graph.nodes] == [node.name for node in fresh.nodes]
    assert len(graph.nodes) > 3


def test_numpy_and_torch_summaries_agree_on_mid_sized_cpu_tensors():
    """Up to 65,536 elements a CPU float tensor is summarised through numpy; above, by numpy and torch
    together. Both give the same statistics; a transposed view summarises its own order's first
    values, and a NaN takes torch's path (finite statistics, the NaN counted)."""
    import tui.engine.snapshot as snapshot

    generator = torch.Generator().manual_seed(1)
    base = torch.relu(torch.randn(300, 200, generator=generator)).to(torch.float64)
    for tensor in (base, base.t(), base.float()[:, :100], base[:100].float().t()):
        flat = tensor.reshape(-1)
        quick = snapshot._summarize_numpy(flat, flat[:8])
        summary = snapshot.summarize(tensor)
        assert quick is not None and summary is not None
        # A transpose is read in memory order: the same numbers, added up in another order.
        assert (summary.numel, summary.min, summary.max, summary.zeros, summary.first) == (
            quick.numel, quick.min, quick.max, quick.zeros, quick.first)
        assert abs(summary.mean - quick.mean) <= 1e-12 * abs(quick.mean)
        assert abs(summary.std - quick.std) <= 1e-6 * quick.std
        exact = tensor.double()
        assert summary.first == tuple(exact.reshape(-1)[:8].tolist())
        assert abs(summary.std - float(exact.std())) <= 1e-6 * float(exact.std())
        assert (summary.min, summary.max, summary.zeros) == (float(exact.min()), float(exact.max()), int((exact == 0).sum()))
    centred = torch.randn(60_000, generator=generator)
    centred -= centred.mean()  # a mean near zero (a grad's, often): float64 sums, not float32 noise
    assert abs(snapshot.summarize(centred).mean - float(centred.double().mean())) < 1e-12
    with_nan = torch.arange(1000, dtype=torch.float32)
    with_nan[3] = float("nan")
    assert snapshot._summarize_numpy(with_nan, with_nan[:8]) is None
    summary = snapshot.summarize(with_nan)
    assert summary is not None and summary.nan == 1 and summary.min == 0.0 and summary.max == 999.0


def test_a_capture_with_the_same_nodes_and_no_backward_since_builds_only_the_leaves_nodes():
    """Between two captures of the same nodes with no backward in between, only an AccumulateGrad
    node can change (its leaf updated in place): the other nodes are the last capture's objects,
    and the graph still reads as a fresh capture does. After a backward every node is read again
    (its saved tensors are freed)."""
    from tui.engine.graph import GraphCapture
    from tui.engine.snapshot import ViewMaker

    w = torch.tensor([1.0, 2.0], requires_grad=True)
    x = torch.tensor([3.0, 4.0])
    loss = ((w * x).sigmoid() * 2).sum()
    roots = [("w", w), ("loss", loss)]
    capture, view_of = GraphCapture(), ViewMaker().view
    first = capture.capture(roots, {id(w): "w"}, view_of)
    with torch.no_grad():
        w -= 0.5
    second = capture.capture(roots, {id(w): "w"}, view_of)
    fresh = GraphCapture().capture(roots, {id(w): "w"}, ViewMaker().view)

    def reading(graph):
        return [(node.name, node.attrs, [(key, view and view.value) for key, view in node.saved], node.leaf,
                 node.variable and node.variable.value) for node in graph.nodes]

    assert reading(second) == reading(fresh)
    kept = [new is old for new, old in zip(second.nodes, first.nodes)]
    assert kept == [node.name != "AccumulateGrad" for node in second.nodes] and not all(kept)
    (leaf,) = [node for node in second.nodes if node.name == "AccumulateGrad"]
    assert leaf.variable.value == (0.5, 1.5)
    loss.backward()
    capture.saved_freed()
    third = capture.capture(roots, {id(w): "w"}, view_of)
    assert not any(new is old for new, old in zip(third.nodes, second.nodes))
    sigmoid = next(node for node in third.nodes if node.name == "SigmoidBackward0")
    assert [view for _, view in sigmoid.saved] == [None]  # freed by the backward: the label stays, no values


def test_quiet_sub_steps_read_only_what_autograd_or_the_optimizer_can_have_changed(tmp_path, monkeypatch):
    """A quiet backward sub-step re-reads only its AccumulateGrad's leaf (under every name it has)
    and the tensors that retain their grad; a quiet optimizer sub-step re-reads nothing live. Every
    step then shows exactly what reading every name shows."""
    import tui.engine.stepmaker as stepmaker

    script = write(tmp_path, "quiet.py", """import torch
torch.manual_seed(0)
model = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.Tanh(), torch.nn.Linear(4, 2))
optimizer = torch.optim.Adam(model.parameters(), lr=0.1)
x = torch.randn(5, 3)
first = model[0].weight
for step in range(2):
    hidden = model[1](model[0](x))
    hidden.retain_grad()
    loss = model[2](hidden).pow(2).sum()
    loss.backward()
    loss2 = model[2](hidden.detach()).sum()
    loss2.backward()
    optimizer.step()
""")
    quick, _ = record(script)
    real_make = stepmaker.StepMaker.make

    def make_reading_every_name(self, *args, **kwargs):
        self._last_kind = None  # never a partial sub-step
        return real_make(self, *args, **kwargs)

    monkeypatch.setattr(stepmaker.StepMaker, "make", make_reading_every_name)
    full, _ = record(script)
    assert [step.kind for step in quick] == [step.kind for step in full]
    for fast, slow in zip(quick, full):
        assert fast.tensors == slow.tensors, (fast.index, fast.kind)
    accumulates = [step for step in quick if step.kind == "accumulate"]
    assert any(step.tensors["first"].accumulated == 2 for step in accumulates)  # two passes, no zero_grad
    retained = [step.tensors["hidden"].has_grad for step in quick if step.kind == "backward"]
    assert False in retained and True in retained  # the retained grad arrives mid-backward


def test_one_grad_handed_over_as_several_tensors_is_summarised_once_per_backward_pass(tmp_path, monkeypatch):
    """A Linear weight's grad is AddmmBackward's output, TBackward's transpose of it and AccumulateGrad's
    detached `.grad`: one storage, read once in the pass; each view still shows its own first values."""
    import tui.engine.probes as probes
    import tui.engine.snapshot as snapshot

    script = write(tmp_path, "linear.py", """import torch
torch.manual_seed(0)
layer = torch.nn.Linear(300, 40)
x = torch.randn(8, 300)
loss = layer(x).pow(2).sum()
loss.backward()
""")
    in_pass: list[tuple[int, int, int]] = []
    real_summarize, real_backward = snapshot.summarize, probes.Probes._captured_backward
    depth = [0]

    def counting(tensor):
        if depth[0]:
            in_pass.append((tensor.untyped_storage().data_ptr(), tensor._version, tensor.numel()))
        return real_summarize(tensor)

    def backward(self, *args, **kwargs):
        depth[0] += 1
        try:
            return real_backward(self, *args, **kwargs)
        finally:
            depth[0] -= 1

    monkeypatch.setattr(snapshot, "summarize", counting)
    monkeypatch.setattr(probes.Probes, "_captured_backward", backward)
    steps, _ = record(script)
    assert in_pass and len(in_pass) == len(set(in_pass))  # no content summarised twice in the pass
    torch.manual_seed(0)
    layer = torch.nn.Linear(300, 40)
    x = torch.randn(8, 300)
    layer(x).pow(2).sum().backward()
    weight_grad = layer.weight.grad
    nodes = {step.node.name: step.node for step in steps if step.node is not None and step.node.grad_inputs}
    transposed = next(view for view in nodes["TBackward0"].grad_inputs if view is not None)
    as_output = next(view for view in nodes["AddmmBackward0"].grad_inputs if view is not None and view.shape == (300, 40))
    final = steps[-1].tensors["layer.weight"].grad_summary
    for summary, tensor in ((transposed.summary, weight_grad), (as_output.summary, weight_grad.t()), (final, weight_grad)):
        assert summary is not None and summary.first == tuple(tensor.reshape(-1)[:8].tolist())
        assert (summary.min, summary.max, summary.zeros) == (float(tensor.min()), float(tensor.max()), int((tensor == 0).sum()))
        assert abs(summary.mean - float(tensor.double().mean())) < 1e-9


def test_summaries_shared_by_storage_last_one_step_only(tmp_path):
    """`.data` is a new tensor on the same storage with a version of its own, starting at 0 each
    time: a summary kept by storage past its step would show the last iteration's numbers."""
    script = write(tmp_path, "data_alias.py", """import torch
w = torch.arange(3000.0).reshape(300, 10)
for _ in range(3):
    d = w.data
    d.mul_(2)
done = True
""")
    steps, _ = record(script)
    before_each_write = [step.tensors["d"].summary.max for step in steps if step.kind == "line" and step.line == 5]
    assert before_each_write == [2999.0, 5998.0, 11996.0]  # a fresh `w.data`, at version 0 each time
    assert steps[-1].tensors["d"].summary.max == 23992.0


def test_writes_through_data_to_a_big_tensor_show_at_the_next_step(tmp_path):
    """`w.data` is an alias with a version counter of its own, so a write through it (the seed
    course's `param.data.add_(...)`) bumps no version of w's: over 256 elements, where no bytes are
    compared, the summaries still follow the writes, through a fresh alias, a kept one, a grad's
    alias and an index into one; each line's numbers are the eager run's."""
    script = write(tmp_path, "data_writes.py", """import torch
w = torch.ones(300, requires_grad=True)
kept = w.data
for i in range(2):
    loss = (w * 2).sum()
    loss.backward()
    w.data.add_(w.grad, alpha=-0.1)
    w.grad = None
loss = (w * 2).sum()
loss.backward()
kept.mul_(3)
w.grad.data.zero_()
w.data[0] = 7.0
print(w.sum().item())
""")
    steps, _ = record(script)
    lines = {}
    for step in steps:
        if step.kind == "line" and "w" in step.tensors:
            lines.setdefault(step.line, []).append(step.tensors["w"])
    # The state before each line: after the first `add_` (line 7) the later lines see 0.8, then 0.6.
    assert [round(view.summary.mean, 6) for view in lines[8]] == [0.8, 0.6]
    assert [round(view.summary.mean, 6) for view in lines[4]] == [1.0, 0.8, 0.6]  # the header, and its exit
    (after_mul,) = lines[12]
    assert round(after_mul.summary.mean, 6) == round(0.6 * 3, 6) and after_mul.grad_summary.mean == 2.0
    (after_zero,) = lines[13]
    assert after_zero.grad_summary.mean == 0.0 and after_zero.grad_summary.zeros == 300
    final = steps[-1].tensors["w"].summary
    assert final.max == 7.0 and round(final.mean, 6) == round((7.0 + 299 * 1.8) / 300, 6)
    assert "data" not in torch.Tensor.__dict__  # the run's `.data` property is gone: torch's own again


LOOP_NAMES = """import torch

layer = torch.nn.Linear(2, 1)
w = layer.weight
loss = layer(torch.ones(2)).sum()
layer.zero_grad()
loss.backward()
with torch.no_grad():
    for param in layer.parameters():
        param -= 0.1 * param.grad
layer.zero_grad()
loss = layer(torch.ones(2)).sum()
loss.backward()
opt = torch.optim.SGD(layer.parameters(), lr=0.1)
opt.step()
"""


def test_a_tensor_is_called_by_its_own_name_then_its_module_path_never_by_a_loop_s_variable(tmp_path):
    """`param` of `for param in layer.parameters()` is a window over the parameters: once the loop is
    over it still holds the last one, layer.bias, which keeps its path in the graph's leaves, in the
    AccumulateGrad sub-steps, in a reset's list and in the optimizer's updates. `w = layer.weight` is
    the script's own name for the weight: it wins over the path."""
    script = write(tmp_path, "loop_names.py", LOOP_NAMES)
    steps, result = record(script)
    assert result.status == "finished"
    lines = script.read_text().splitlines()
    second_zero_grad = lines.index("layer.zero_grad()", lines.index("layer.zero_grad()") + 1)
    second_backward = lines.index("loss.backward()", second_zero_grad) + 1
    accumulated = [step.node.leaf for step in steps if step.kind == "accumulate" and step.line == second_backward]
    assert sorted(accumulated) == ["layer.bias", "w"]
    last_reset = [step for step in steps if step.kind == "reset"][-1]
    assert last_reset.reset.tensors == ("w", "layer.bias")
    assert [step.update.param for step in steps if step.kind == "optimizer"] == ["w", "layer.bias"]
    # While the loop moves `param` from one parameter to the next, the graph's leaves keep their names.
    loop_lines = (lines.index("    for param in layer.parameters():") + 1, lines.index("        param -= 0.1 * param.grad") + 1)
    loop_steps = [step for step in steps if step.line in loop_lines]
    assert len(loop_steps) == 5
    for step in loop_steps:
        leaves = sorted(node.leaf for node in step.graph.nodes if node.name == "AccumulateGrad")
        assert leaves == ["layer.bias", "w"], step.index
    assert "param" in loop_steps[-1].tensors  # the loop's variable is still shown in the table, as itself


def test_loop_variables_are_the_names_every_for_statement_binds():
    tree = ast.parse(
        "for name, (param, *rest) in model.named_parameters():\n    pass\n"
        "def train():\n    for p in params:\n        pass\n"
        "async def feed():\n    async for batch in loader:\n        pass\n"
        "squares = [q * q for q in range(3)]\n"
        "for item.attribute in things:\n    pass\n"
    )
    assert loop_variables(tree) == {"name", "param", "rest", "p", "batch"}
