"""A resume ends with one "untraced" step saying what ran unrecorded; recordings keep it, the schema allows it."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from tests.engine.drive import Driver
from tui.steps.recording import load_recording, write_recording

SCHEMA = Path(__file__).parents[2] / "assets" / "recording.schema.json"


def test_resume_then_a_breakpoint_says_which_lines_and_iterations_ran_untraced(script):
    driver = Driver(script("seed_sgd.py"), breakpoints=[19])
    try:
        for _ in range(4):
            at_7 = driver.send("step_over")
        assert at_7.line == 7
        driver.session.set_breakpoints([12])
        untraced = driver.send("resume")
        assert untraced.message.startswith("ran untraced: lines 7–12. ")  # no loop ran
        assert driver.next_step().line == 12
        driver.session.set_breakpoints([19])
        first = driver.resume()  # into the loop: iteration 1 begins while untraced
        assert (first.line, first.iteration) == (19, 1)
        untraced = driver.send("resume")
        stop = driver.next_step()
        assert (stop.kind, stop.line, stop.iteration) == ("line", 19, 2)
        assert untraced.kind == "untraced" and untraced.line == 19
        assert untraced.message.startswith("ran untraced: line 19, iterations 1–2 (loop at line 15).")
        assert untraced.tensors["var_1"] == stop.tensors["var_1"]  # the state where it stopped
    finally:
        driver.close()


def test_a_recording_with_an_untraced_step_matches_the_schema_and_loads(script, tmp_path):
    jsonschema = pytest.importorskip("jsonschema")
    driver = Driver(script("seed_sgd.py"), breakpoints=[19])
    try:
        steps = [driver.first, driver.send("resume"), driver.next_step(), driver.send("step_over")]
    finally:
        driver.close()
    assert [step.kind for step in steps] == ["line", "untraced", "line", "line"]
    path = tmp_path / "with-untraced.gstep"
    write_recording(path, driver.session.header, steps)
    schema = json.loads(SCHEMA.read_text())
    for line in gzip.open(path, "rt"):
        jsonschema.validate(json.loads(line), schema)
    loaded = load_recording(path)
    assert [step.kind for step in loaded.steps] == ["line", "untraced", "line", "line"]
    assert loaded.steps[1].message == steps[1].message
