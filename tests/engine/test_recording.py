"""The .gstep format: round trips, deduplication, and rejection of bad files with a clear message."""

from __future__ import annotations

import gzip
import json
import os
import re
from pathlib import Path

import pytest

from tests.builders import header, tensor_view
from tui.errors import RecordingError
from tui.steps.model import Graph, GraphNode, NodeEvent, Step
from tui.steps.recording import FORMAT_VERSION, RecordingWriter, load_recording, write_recording

SCHEMA = Path(__file__).parents[2] / "assets" / "recording.schema.json"


def written(tmp_path: Path, made: list[Step]) -> tuple[list[dict], tuple[Step, ...]]:
    """Write the steps to a file, check every line against the schema, and give back the lines and
    the steps loaded from the file."""
    jsonschema = pytest.importorskip("jsonschema")
    schema = json.loads(SCHEMA.read_text())
    path = tmp_path / "run.gstep"
    write_recording(path, header(), made)
    records = [json.loads(line) for line in gzip.open(path, "rt")]
    for record in records:
        jsonschema.validate(record, schema)
    return records, load_recording(path).steps


def encoded(made: list[Step]) -> list[dict]:
    """The stream's records for the steps, as the file and the pipe carry them."""
    from tui.steps.lines import StepEncoder

    encoder = StepEncoder()
    return [record for step in made for record in encoder.encode(step)]


def assert_refused(records: list[dict], pattern: str) -> None:
    """Decoding the records (through JSON text) stops with a LineError matching `pattern`."""
    from tui.steps.lines import LineError, StepDecoder

    decoder = StepDecoder()
    with pytest.raises(LineError, match=pattern):
        for record in records:
            decoder.decode(json.loads(json.dumps(record)))


GRAPH = Graph(
    nodes=(
        GraphNode(id=0, name="MulBackward0", attrs=(("other", "4.0"),), next=(1,)),
        GraphNode(id=1, name="AccumulateGrad", leaf="var_1", variable=tensor_view(3.0)),
    ),
    roots=(("loss", 0),),
)


def steps(count: int) -> list[Step]:
    """A run where var_1 changes at every step and var_2 never does."""
    var_2 = tensor_view(4.0)
    return [
        Step(
            index=index,
            kind="line" if index % 2 == 0 else "backward",
            phase="forward",
            line=index + 1,
            tensors={"var_1": tensor_view(3.0 + index, version=index), "var_2": var_2},
            graph=GRAPH,
            node=NodeEvent(node_id=0, name="MulBackward0", grad_outputs=(tensor_view(1.0),)) if index % 2 else None,
            output=f"line {index}\n",
        )
        for index in range(count)
    ]


def test_round_trip_keeps_every_step_equal(tmp_path: Path) -> None:
    # GIVEN steps with tensors, a graph and a node event
    original = steps(6)
    path = tmp_path / "run.gstep"
    # WHEN they are written and loaded back
    write_recording(path, header(), original)
    loaded = load_recording(path)
    # THEN the header and every step come back equal
    assert loaded.header == header()
    assert loaded.steps == tuple(original)
    assert loaded.steps[3].tensors["var_1"].value == 6.0


def test_unchanged_values_are_stored_once(tmp_path: Path) -> None:
    path = tmp_path / "run.gstep"
    write_recording(path, header(), steps(50))
    records = [json.loads(line) for line in gzip.open(path, "rt")]
    step_lines = [record for record in records if record.get("t") == "step"]
    assert sum("var_2" in record["set"] for record in step_lines) == 1
    assert sum("var_1" in record["set"] for record in step_lines) == 50
    assert sum(record.get("t") == "graph" for record in records) == 1


def test_loading_shares_one_view_per_tensor_value(tmp_path: Path) -> None:
    # GIVEN var_1 going 3 → 4 → 3 (the same JSON twice) and var_2 never changing
    path = tmp_path / "run.gstep"
    var_2 = tensor_view(4.0)
    values = (3.0, 4.0, 3.0)
    write_recording(path, header(), [
        Step(index=index, kind="line", line=1, tensors={"var_1": tensor_view(value), "var_2": var_2}) for index, value in enumerate(values)
    ])
    # WHEN it is loaded
    loaded = load_recording(path).steps
    # THEN an unchanged tensor is one object across steps, and equal tensors are one object
    assert loaded[0].tensors["var_2"] is loaded[2].tensors["var_2"]
    assert loaded[0].tensors["var_1"] is loaded[2].tensors["var_1"]
    assert loaded[0].tensors["var_1"] is not loaded[1].tensors["var_1"]
    assert [step.tensors["var_1"].value for step in loaded] == [3.0, 4.0, 3.0]


def test_every_line_matches_the_schema(tmp_path: Path) -> None:
    records, _ = written(tmp_path, steps(4))  # written() checks each line against the schema
    assert len(records) > 4


def test_writer_closes_with_trailer_when_the_body_raises(tmp_path: Path) -> None:
    path = tmp_path / "run.gstep"
    with pytest.raises(RuntimeError):
        with RecordingWriter(path, header()) as writer:
            for step in steps(3):
                writer.append(step)
            raise RuntimeError("the script blew up")
    assert len(load_recording(path).steps) == 3


def test_non_finite_statistics_stay_strict_json(tmp_path: Path) -> None:
    path = tmp_path / "run.gstep"
    step = Step(index=0, kind="end", scalars={"opt.lr": float("nan")})
    write_recording(path, header(), [step])
    assert load_recording(path).steps[0].scalars["opt.lr"] == "nan"


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda p, good: p.write_bytes(os.urandom(4096)), "not a gradstep recording"),
        (lambda p, good: p.write_text("print('hello')\n"), "not a gradstep recording"),
        (lambda p, good: p.write_bytes(gzip.compress(b'{"format": "something-else"}\n')), "not a gradstep"),
        (lambda p, good: p.write_bytes(gzip.compress(b"")), "empty"),
    ],
    ids=["random-bytes", "text-file", "foreign-json", "empty"],
)
def test_bad_files_are_rejected_with_a_reason(tmp_path: Path, make, message: str) -> None:
    good_path = tmp_path / "good.gstep"
    write_recording(good_path, header(), steps(40))
    bad = tmp_path / "bad.gstep"
    make(bad, good_path.read_bytes())
    with pytest.raises(RecordingError, match=message):
        load_recording(bad)


def test_a_recording_without_its_trailer_loads_the_steps_it_holds(tmp_path: Path) -> None:
    path = tmp_path / "cut.gstep"
    write_recording(path, header(), steps(3))
    lines = gzip.open(path, "rb").read().splitlines(keepends=True)
    path.write_bytes(gzip.compress(b"".join(lines[:-3])))  # no trailer, index or footer
    loaded = load_recording(path)
    assert [step.index for step in loaded.steps] == [0, 1, 2]
    assert not loaded.complete and loaded.notice == "the recording ends early: 3 complete steps"


def test_a_file_cut_in_half_loads_every_step_before_the_cut(tmp_path: Path) -> None:
    path = tmp_path / "run.gstep"
    writer = RecordingWriter(path, header())
    for step in steps(40):
        writer.append(step)
        writer.flush()  # as the writer does every 0.25 s
    half = path.read_bytes()[: path.stat().st_size * 3 // 4]
    path.write_bytes(half)
    loaded = load_recording(path)
    assert not loaded.complete and 10 < len(loaded.steps) < 40
    assert loaded.steps == tuple(steps(40)[: len(loaded.steps)])


def test_a_newer_format_asks_for_an_upgrade(tmp_path: Path) -> None:
    path = tmp_path / "future.gstep"
    future = {**header().to_json(), "format_version": FORMAT_VERSION + 1}
    path.write_bytes(gzip.compress((json.dumps(future) + "\n" + '{"t": "end", "steps": 0}\n').encode()))
    with pytest.raises(RecordingError, match="newer gradstep"):
        load_recording(path)


def test_a_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(RecordingError, match="no such recording"):
        load_recording(tmp_path / "nowhere.gstep")


def leaf_steps(count: int) -> list[Step]:
    """An optimizer loop's shape: var_1 changes at every step, and the graph's leaf node holds it."""
    made = []
    for index in range(count):
        var_1 = tensor_view(3.0 + index, version=index)
        graph = Graph(
            nodes=(
                GraphNode(id=0, name="MulBackward0", attrs=(("other", "4.0"),), next=(1,)),
                GraphNode(id=1, name="AccumulateGrad", leaf="var_1", variable=var_1),
            ),
            roots=(("loss", 0),),
        )
        made.append(Step(index=index, kind="line", phase="optimize", line=index + 1, tensors={"var_1": var_1}, graph=graph))
    return made


def test_a_leaf_variable_the_step_holds_is_named_in_the_graph_not_written_again(tmp_path: Path) -> None:
    original = leaf_steps(5)
    records, loaded = written(tmp_path, original)
    graphs = [record for record in records if record.get("t") == "graph"]
    assert len(graphs) == 5  # the leaf changed at every step: a delta each time...
    for record in graphs:  # ...naming the step's tensor instead of repeating its values
        (leaf,) = [node for node in record["nodes"] if node["name"] == "AccumulateGrad"]
        assert leaf["variable"] == {"named": "var_1"}
    assert loaded == tuple(original)
    assert [step.graph.nodes[1].variable.value for step in loaded] == [3.0, 4.0, 5.0, 6.0, 7.0]


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda graph, step: (graph.update(nodes=[{**graph["nodes"][0], "variable": {"named": "ghost"}}]), [graph, step]),
         "'ghost', which the step does not hold"),
        (lambda graph, step: (None, [graph, graph]), "a graph names tensors of a step that never came"),
        (lambda graph, step: (graph.update(nodes=[{**graph["nodes"][0], "variable": {"named": 7}}]), [graph, step]),
         "names something that is not a string"),
    ],
    ids=["missing-name", "no-step-after", "not-a-string"],
)
def test_a_named_variable_that_does_not_resolve_is_refused(edit, message: str) -> None:
    graph, step = encoded(leaf_steps(1))
    graph["nodes"] = [node for node in graph["nodes"] if node["name"] == "AccumulateGrad"]
    _, records = edit(graph, step)
    assert_refused(records, message)


def update_steps() -> list[Step]:
    """Two steps of an optimizer update: var_1 before, then var_1 after with its update."""
    from tui.steps.model import ParamUpdate

    before, after, grad = tensor_view(3.0, version=0), tensor_view(2.9, version=1), tensor_view(10.0)
    state_before, state_after = tensor_view(0.5), tensor_view(0.6)
    update = ParamUpdate(
        optimizer="opt", param="var_1", before=before, grad=grad, after=after, kind="SGD",
        state_before=(("momentum_buffer", state_before),), state_after=(("momentum_buffer", state_after),),
    )
    return [
        Step(index=0, kind="line", phase="optimize", line=1,
             tensors={"var_1": before, "opt.state.var_1.momentum_buffer": state_before}),
        Step(index=1, kind="optimizer", phase="optimize", line=1, update=update,
             tensors={"var_1": after, "opt.state.var_1.momentum_buffer": state_after}),
    ]


def test_an_update_names_the_views_its_steps_hold(tmp_path: Path) -> None:
    original = update_steps()
    records, loaded = written(tmp_path, original)
    (update,) = [record["step"]["update"] for record in records if record.get("t") == "step" and record["step"]["update"]]
    assert (update["before"], update["after"]) == ({"was": "var_1"}, {"named": "var_1"})
    assert update["state_after"] == {"momentum_buffer": {"named": "opt.state.var_1.momentum_buffer"}}
    assert update["grad"]["value"] == 10.0  # not a tensor of either step: written out
    assert loaded == tuple(original)
    assert loaded[1].update.before is loaded[0].tensors["var_1"]  # one view, not a copy


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda update: update.update(after={"named": "ghost"}), "update.after is the step's 'ghost', which the step does not hold"),
        (lambda update: update.update(before={"was": "ghost"}), "the previous step's 'ghost', which the previous step does not hold"),
        (lambda update: update.update(before={"named": 3}), "update.before names something that is not a string"),
        (lambda update: update.update(before={"named": "var_1", "was": "var_1"}), "update.before names a tensor twice"),
        (lambda update: update["state_after"].update(momentum_buffer={"was": "nope"}),
         r"update.state_after\['momentum_buffer'\] is the previous step's 'nope'"),
    ],
    ids=["named-missing", "was-missing", "not-a-string", "both", "state"],
)
def test_an_update_view_that_does_not_resolve_is_refused(edit, message: str) -> None:
    records = encoded(update_steps())
    edit(records[-1]["step"]["update"])
    assert_refused(records, message)


def alias_steps() -> list[Step]:
    """`for param in model.parameters()`: the loop's name is bound to each parameter in turn."""
    weight, bias = tensor_view(3.0, version=0), tensor_view(0.5, version=0)
    return [
        Step(index=0, kind="line", phase="optimize", line=1, tensors={"w": weight, "b": bias, "param": weight}),
        Step(index=1, kind="line", phase="optimize", line=2, tensors={"w": weight, "b": bias, "param": bias}),
    ]


def test_a_second_name_for_a_view_names_the_first(tmp_path: Path) -> None:
    original = alias_steps()
    records, loaded = written(tmp_path, original)
    sets = [record["set"] for record in records if record.get("t") == "step"]
    assert sets[0]["param"] == {"same": "w"} and sets[1] == {"param": {"same": "b"}}
    assert loaded == tuple(original)
    assert loaded[1].tensors["param"] is loaded[1].tensors["b"]


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda changed: changed.update(param={"same": "ghost"}), "set['param'] is the same as 'ghost', which the step does not hold"),
        (lambda changed: changed.update(param={"same": "param"}), "set['param'] is the same as 'param'"),
        (lambda changed: changed.update(param={"same": 1}), "set['param'] is the same as '1'"),
    ],
    ids=["missing", "itself", "not-a-string"],
)
def test_a_second_name_that_does_not_resolve_is_refused(edit, message: str) -> None:
    records = encoded(alias_steps())
    edit(records[0]["set"])
    assert_refused(records, re.escape(message))
