"""Export: a recorded step draws the picture torchviz draws live, plus values and grads; Graphviz is optional."""

from __future__ import annotations

import html
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
import torch

from tests.engine.graph_capture import capture_step, mlp_tensors, network_tensors, seed_tensors
from tui.engine.live_export import draw_live, load_torchviz
from tui.errors import EXIT_NO_GRAPHVIZ, BadInput, GradstepError, GraphvizMissing
from tui.render import graph_files as export_module
from tui.render.dotgraph import canonical, final_labels, statements
from tui.render.graph_files import (
    ExportRequest,
    backward_pass,
    draw_graph,
    drawable_step,
    export_backward_pass,
    export_step,
    write_graph,
)
from tui.steps.model import NodeEvent, Step, TensorView
from tui.steps.queries import loss_to_follow
from tui.steps.recording import write_recording

REPO = Path(__file__).parents[2]
SCRIPTS = REPO / "tests" / "scripts"
needs_dot = pytest.mark.skipif(
    shutil.which("dot") is None, reason="Graphviz's dot program is not installed (apt install graphviz)"
)
OPTIONS = [(False, False), (True, False), (False, True), (True, True)]


def svg_text(path: Path) -> str:
    """The SVG with entities decoded (Graphviz writes '-' as &#45;)."""
    return html.unescape(path.read_text())


def after_backward() -> dict[str, torch.Tensor]:
    named = seed_tensors()
    named["loss"].backward()
    return named


def test_recorded_drawing_of_the_seed_example_is_torchviz_plus_values() -> None:
    """GIVEN the seed example after backward WHEN drawn from its step THEN make_dot's labels carry value and grad."""
    labels = final_labels(draw_graph(capture_step(after_backward()), "loss").dot.body)
    shown = sorted(labels.values())
    assert "PowBackward0" in shown and "RsubBackward1" in shown and "MulBackward0" in shown
    assert shown.count("AccumulateGrad") == 2
    assert "var_1\n ()\nvalue 3.0000 | grad -24.0000" in shown
    assert "var_2\n ()\nvalue 4.0000 | grad -18.0000" in shown
    assert "loss\n ()\nvalue 9.0000" in shown


@needs_dot
def test_seed_svg_after_backward_holds_nodes_values_and_grads(tmp_path: Path) -> None:
    """The must-show: the SVG names the three nodes and both leaves, with 3, 4, -24 and -18."""
    drawing = draw_graph(capture_step(after_backward()), "loss")
    svg = svg_text(write_graph(drawing.dot, tmp_path / "seed.svg", "svg"))
    for text in ("PowBackward0", "RsubBackward1", "MulBackward0", "var_1", "var_2"):
        assert text in svg
    assert "value 3.0000 | grad -24.0000" in svg
    assert "value 4.0000 | grad -18.0000" in svg


@pytest.mark.parametrize(("show_attrs", "show_saved"), OPTIONS)
@pytest.mark.parametrize("example", [seed_tensors, network_tensors])
def test_recorded_drawing_equals_make_dot_on_the_same_step(example, show_attrs: bool, show_saved: bool) -> None:
    """Same nodes, labels and edges, statement for statement (node names aside), values included."""
    named = example()
    step = capture_step(named)
    recorded = draw_graph(step, "loss", show_attrs=show_attrs, show_saved=show_saved).dot
    live = draw_live(named["loss"], named, show_attrs=show_attrs, show_saved=show_saved)
    assert canonical(recorded.body) == canonical(live.body)
    assert recorded.graph_attr == live.graph_attr and recorded.node_attr == live.node_attr
    assert any("value" in label for label in final_labels(live.body).values())


def test_recorded_drawing_equals_make_dot_after_backward() -> None:
    named = after_backward()
    recorded = draw_graph(capture_step(named), "loss").dot
    assert canonical(recorded.body) == canonical(draw_live(named["loss"], named).body)


def test_shared_saved_tensor_is_one_node_as_in_torchviz() -> None:
    """MulBackward0 saves var_1 and var_2 themselves: with show_saved they merge with the leaves' nodes."""
    drawing = draw_graph(capture_step(seed_tensors()), "loss", show_saved=True)
    labels = final_labels(drawing.dot.body)
    # loss, Pow, Pow's saved self, Rsub, Mul, two AccumulateGrad, var_1, var_2: Mul's saved self/other are not extra.
    assert len(labels) == 9
    assert sum(label.startswith("var_") for label in labels.values()) == 2
    assert any(label == "self\n ()\nvalue 3.0000" for label in labels.values())


def test_no_values_leaves_torchviz_labels_alone() -> None:
    labels = final_labels(draw_graph(capture_step(after_backward()), "loss", values=False).dot.body)
    assert "var_1\n ()" in labels.values()
    assert not any("value" in label for label in labels.values())


def test_big_tensors_get_a_summary_line() -> None:
    big = torch.linspace(-1.0, 1.0, 300, requires_grad=True)
    total = (big * 2).sum()
    labels = final_labels(draw_graph(capture_step({"big": big, "total": total}), "total").dot.body)
    assert "big\n (300)\nvalue min -1.0000 max 1.0000 mean 0.0000 | grad None" in labels.values() or any(
        label.startswith("big\n (300)\nvalue min -1.0000 max 1.0000 mean") for label in labels.values()
    )


def test_write_dot_needs_no_graphviz(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(export_module.shutil, "which", lambda name: None)
    drawing = draw_graph(capture_step(after_backward()), "loss")
    path = write_graph(drawing.dot, tmp_path / "graph.dot", "dot")
    assert "PowBackward0" in path.read_text()


def test_without_dot_the_dot_file_is_written_beside_and_graphviz_missing_raised(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(export_module.shutil, "which", lambda name: None)
    drawing = draw_graph(capture_step(after_backward()), "loss")
    with pytest.raises(GraphvizMissing) as raised:
        write_graph(drawing.dot, tmp_path / "out" / "graph.svg", "svg")
    message = str(raised.value)
    assert raised.value.exit_code == EXIT_NO_GRAPHVIZ
    assert all(word in message for word in ("apt", "brew", "conda", "winget"))
    assert (tmp_path / "out" / "graph.dot").is_file() and not (tmp_path / "out" / "graph.svg").exists()
    assert "\n" not in message


def test_the_loss_to_follow_is_the_outermost_scalar_with_a_grad_fn() -> None:
    named = seed_tensors()
    first = capture_step({"var_1": named["var_1"], "var_2": named["var_2"]}, index=0)
    second = capture_step({k: named[k] for k in ("var_1", "var_2", "my_latent_value")}, index=1)
    third = capture_step(named, index=2)
    assert loss_to_follow(third) == "loss"  # not my_latent_value, whose graph is inside loss's
    assert loss_to_follow(second) == "my_latent_value"
    assert loss_to_follow(first) is None


def test_gradstep_export_and_the_apps_x_preselect_the_same_tensor(tmp_path) -> None:
    """One rule: the CLI's default tensor and the export dialog's preselection agree on every step."""
    from tests.engine.recorded import lesson_recording
    from tui.render.graph_files import drawable_step
    from tui.steps.recording import load_recording
    from tui.ui.state import default_tensor

    steps = load_recording(lesson_recording("03-sgd-to-15")).steps
    for index, step in enumerate(steps[:120]):
        cli = loss_to_follow(step)
        if cli is None:
            continue
        assert default_tensor(step) == cli
        drawn = drawable_step(steps, index, None)[1]
        assert drawn == cli, f"step {index}: export draws {drawn}, the app preselects {cli}"


def test_a_step_whose_graph_is_gone_falls_back_to_the_last_step_that_has_it() -> None:
    named = seed_tensors()
    with_graph = capture_step(named, index=0)
    without = Step(index=1, kind="line", tensors=with_graph.tensors, graph=None)
    step, tensor, notes = drawable_step([with_graph, without], 1, None)
    assert (step.index, tensor) == (0, "loss") and "step 0" in notes[0]
    with pytest.raises(BadInput, match="graph of 'loss'"):
        draw_graph(without, "loss")


def _backward_steps() -> list[Step]:
    """The seed example's backward as the engine records it: a line step, then one sub-step per node."""
    named = seed_tensors()
    before = capture_step(named, index=0)
    graph = before.graph
    order = ["PowBackward0", "RsubBackward1", "MulBackward0", "AccumulateGrad", "AccumulateGrad"]
    ids = {node.name: node.id for node in graph.nodes if node.name != "AccumulateGrad"}
    accumulators = [node.id for node in graph.nodes if node.name == "AccumulateGrad"]
    node_ids = [ids["PowBackward0"], ids["RsubBackward1"], ids["MulBackward0"], *accumulators]
    named["loss"].backward()
    after = capture_step(named).tensors
    steps = [before]
    for position, (name, node_id) in enumerate(zip(order, node_ids), start=1):
        event = NodeEvent(node_id=node_id, name=name, done=tuple(node_ids[:position]))
        kind = "accumulate" if name == "AccumulateGrad" else "backward"
        tensors = after if position == len(order) else before.tensors
        steps.append(Step(index=position, kind=kind, phase="backprop", tensors=tensors, graph=graph, node=event))
    steps.append(Step(index=len(steps), kind="end", tensors=after, graph=graph))
    return steps


def test_backward_pass_finds_the_sub_steps() -> None:
    steps = _backward_steps()
    assert [step.index for step in backward_pass(steps, None)] == [1, 2, 3, 4, 5]
    assert [step.index for step in backward_pass(steps, 0)] == [1, 2, 3, 4, 5]
    assert [step.index for step in backward_pass(steps, 3)] == [1, 2, 3, 4, 5]
    with pytest.raises(BadInput):
        backward_pass(steps, 6)


def test_all_steps_writes_one_numbered_picture_per_sub_step_highlighting_progress(tmp_path: Path) -> None:
    steps = _backward_steps()
    result = export_backward_pass(steps, None, ExportRequest(tmp_path / "flip.dot", "dot"))
    assert [path.name for path in result.paths] == [f"flip-{n:03d}.dot" for n in range(1, 6)]
    third = result.paths[2].read_text()
    assert "fillcolor=gold" in third and third.count("fillcolor=palegreen") == 2
    last = result.paths[-1].read_text()
    assert "grad -24.0000" in last and "grad -24.0000" not in result.paths[0].read_text()


def test_export_step_writes_the_requested_format(tmp_path: Path) -> None:
    result = export_step(capture_step(after_backward()), ExportRequest(tmp_path / "g.dot", "dot"))
    assert result.paths == (tmp_path / "g.dot",) and "MulBackward0" in result.paths[0].read_text()


def test_unwritable_output_is_bad_input(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(BadInput, match="cannot write"):
        export_step(capture_step(after_backward()), ExportRequest(blocker / "g.dot", "dot"))


def test_torchviz_that_cannot_load_is_one_clear_line(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "torchviz", None)
    with pytest.raises(GradstepError, match="torchviz cannot be imported"):
        load_torchviz()


def test_mlp_of_200_layers_is_drawn_in_under_2_seconds() -> None:
    """Digraph built and source produced from the recorded step (Graphviz's layout not included)."""
    named = mlp_tensors(200)
    step = capture_step(named)
    started = time.perf_counter()
    source = draw_graph(step, "loss", show_attrs=True, show_saved=True).dot.source
    elapsed = time.perf_counter() - started
    assert source.count("AddmmBackward0") == 200
    assert elapsed < 2.0, f"drawing took {elapsed:.2f} s"


def _recording(tmp_path: Path) -> Path:
    from tests.builders import header

    path = tmp_path / "seed.gstep"
    write_recording(path, header(), _backward_steps())
    return path


@needs_dot
def test_cli_export_of_a_recording_writes_the_svg(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tui.cli import main

    out = tmp_path / "seed.svg"
    assert main(["export", str(_recording(tmp_path)), "-o", str(out)]) == 0
    assert capsys.readouterr().out.strip() == str(out)
    svg = svg_text(out)
    assert "MulBackward0" in svg and "grad -24.0000" in svg and "grad -18.0000" in svg


@needs_dot
def test_cli_all_steps_prints_every_path(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tui.cli import main

    out = tmp_path / "flip.png"
    assert main(["export", str(_recording(tmp_path)), "--all-steps", "-o", str(out)]) == 0
    printed = capsys.readouterr().out.split()
    assert printed == [str(tmp_path / f"flip-{n:03d}.png") for n in range(1, 6)]
    assert all(Path(path).read_bytes().startswith(b"\x89PNG") for path in printed)


def test_cli_without_dot_on_path_writes_dot_and_exits_3(tmp_path: Path) -> None:
    """A real `gradstep export` in a subprocess whose PATH has no `dot`."""
    recording = _recording(tmp_path)
    empty = tmp_path / "bin"
    empty.mkdir()
    env = {**os.environ, "PATH": str(empty)}
    done = subprocess.run(
        [sys.executable, "-m", "tui", "export", str(recording), "-o", str(tmp_path / "seed.svg")],
        capture_output=True, text=True, env=env, cwd=REPO, timeout=120,
    )
    assert done.returncode == 3, done.stderr
    assert (tmp_path / "seed.dot").is_file() and not (tmp_path / "seed.svg").exists()
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert "apt install graphviz" in done.stderr


def test_cli_rejects_a_step_out_of_range(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from tui.cli import main

    assert main(["export", str(_recording(tmp_path)), "--step", "99", "-o", str(tmp_path / "x.dot")]) == 2
    assert "no step 99" in capsys.readouterr().err


def test_statement_parser_reads_back_quoted_labels() -> None:
    named = seed_tensors()
    dot = draw_live(named["loss"], named, show_attrs=True)
    parsed = statements(dot.body)
    assert sum(statement.kind == "edge" for statement in parsed) == 7  # 4 between nodes, 2 leaves, 1 to loss
    assert any(dict(s.attrs).get("label", "").startswith("PowBackward0\n---") for s in parsed)


def test_tensor_view_of_live_tensors_matches_what_labels_need() -> None:
    view: TensorView = capture_step(after_backward()).tensors["var_1"]
    assert (view.value, view.grad, view.has_grad) == (3.0, -24.0, True)


# -- with the real engine: tests/scripts/seed_sgd.py and mlp_3_2_5.py recorded by tui.engine.session ----------


@pytest.fixture(scope="module")
def seed_steps() -> list[Step]:
    from tests.engine.recorded import record_steps

    return record_steps(SCRIPTS / "seed_sgd.py", stop_after=20)[1]


@needs_dot
def test_engine_recorded_seed_svg_after_the_first_backward(seed_steps: list[Step], tmp_path: Path) -> None:
    """The must-show, from the engine's own step: nodes, leaves, values 3 and 4, grads -24 and -18."""
    from tests.engine.recorded import after_first_backward

    result = export_step(after_first_backward(seed_steps), ExportRequest(tmp_path / "seed.svg", "svg"))
    svg = svg_text(result.paths[0])
    for text in ("PowBackward0", "RsubBackward1", "MulBackward0", "var_1", "var_2"):
        assert text in svg
    assert "value 3.0000 | grad -24.0000" in svg and "value 4.0000 | grad -18.0000" in svg


@needs_dot
def test_cli_export_of_the_script_and_of_its_recording_agree(seed_steps: list[Step], tmp_path: Path) -> None:
    """`gradstep export seed_sgd.py --step K` records then draws; the recording of it draws the same picture."""
    from tests.engine.recorded import after_first_backward, record_file
    from tui.cli import main

    step = after_first_backward(seed_steps).index
    from_script, from_recording = tmp_path / "script.svg", tmp_path / "recording.svg"
    assert main(["export", str(SCRIPTS / "seed_sgd.py"), "--step", str(step), "-o", str(from_script)]) == 0
    recording = record_file(SCRIPTS / "seed_sgd.py", tmp_path / "seed.gstep", stop_after=step + 2)
    assert main(["export", str(recording), "--step", str(step), "-o", str(from_recording)]) == 0
    assert svg_text(from_script) == svg_text(from_recording)
    assert "value 3.0000 | grad -24.0000" in svg_text(from_recording)


@pytest.mark.parametrize(("show_attrs", "show_saved"), OPTIONS)
def test_engine_step_draws_what_make_dot_draws_on_the_same_tensors(
    seed_steps: list[Step], show_attrs: bool, show_saved: bool
) -> None:
    """The engine's step just before `loss.backward()` against make_dot on the same computation, live."""
    from tests.engine.recorded import first_backward_line

    step = first_backward_line(seed_steps)
    live = seed_tensors()
    assert set(live) <= set(step.tensors)
    recorded = draw_graph(step, "loss", show_attrs=show_attrs, show_saved=show_saved).dot
    drawn = draw_live(live["loss"], live, show_attrs=show_attrs, show_saved=show_saved)
    assert canonical(recorded.body) == canonical(drawn.body)


def test_engine_step_after_backward_draws_what_make_dot_draws(seed_steps: list[Step]) -> None:
    from tests.engine.recorded import after_first_backward

    live = after_backward()
    recorded = draw_graph(after_first_backward(seed_steps), "loss").dot
    assert canonical(recorded.body) == canonical(draw_live(live["loss"], live).body)


def test_engine_network_step_draws_what_make_dot_draws() -> None:
    """mlp_3_2_5.py (two nn.Linear) before its first backward, against the same network built live."""
    from tests.engine.recorded import first_backward_line, record_steps

    steps = record_steps(SCRIPTS / "mlp_3_2_5.py", stop_after=40)[1]
    step = first_backward_line(steps)
    namespace: dict[str, object] = {}
    source = (SCRIPTS / "mlp_3_2_5.py").read_text().split("for _ in range")[0]
    exec(compile(source, "mlp_3_2_5.py", "exec"), namespace)  # the script's own set-up, run live
    network = namespace["my_network"]
    output = network(namespace["my_input"])
    loss = torch.sum((output - namespace["my_desired_output"]) ** 2)
    live = {f"my_network.{name}": parameter for name, parameter in network.named_parameters()}
    live.update(my_input=namespace["my_input"], my_desired_output=namespace["my_desired_output"],
                my_network_output=output, loss=loss)
    for show in (False, True):
        recorded = draw_graph(step, "loss", show_attrs=show, show_saved=show).dot
        drawn = draw_live(loss, live, show_attrs=show, show_saved=show)
        assert canonical(recorded.body) == canonical(drawn.body)


def test_all_steps_spans_a_custom_functions_backward_code(tmp_path: Path) -> None:
    """hand_loop.py's backward runs the script's own Square.backward: its lines sit inside the pass."""
    from tests.engine.recorded import first_backward_line, record_steps

    steps = record_steps(SCRIPTS / "hand_loop.py", stop_after=30)[1]
    start = first_backward_line(steps).index
    names = [step.node.name for step in backward_pass(steps, start)]
    assert names == ["PowBackward0", "SubBackward0", "SquareBackward", "AccumulateGrad"]
    result = export_backward_pass(steps, start, ExportRequest(tmp_path / "flip.dot", "dot"))
    assert len(result.paths) == 4
    assert "w.grad ← -12 (was None)" in result.paths[-1].read_text()  # the wording of every view


def test_export_named_draws_the_live_loss_with_torchviz(tmp_path: Path) -> None:
    """What a live session's export does: torchviz on the paused script's named tensors."""
    from tui.engine.live_export import export_named

    named = after_backward()
    result = export_named(named, ExportRequest(tmp_path / "live.dot", "dot", tensor="loss"))
    live = result.paths[0].read_text()
    assert "value 3.0000 | grad -24.0000" in live and "PowBackward0" in live
    recorded = draw_graph(capture_step(named), "loss").dot.source
    assert canonical(statements_of(live)) == canonical(statements_of(recorded))
    with pytest.raises(BadInput, match="no tensor 'nope'"):
        export_named(named, ExportRequest(tmp_path / "x.dot", "dot", tensor="nope"))
    with pytest.raises(BadInput, match="name the tensor"):
        export_named(named, ExportRequest(tmp_path / "y.dot", "dot"))


def statements_of(source: str) -> list[str]:
    """A DOT source's statement lines (graphviz writes one per line; labels may hold newlines)."""
    body, line = [], ""
    for raw in source.splitlines(keepends=True)[1:-1]:
        line += raw
        if line.count('"') % 2 == 0:
            body.append(line)
            line = ""
    return body
