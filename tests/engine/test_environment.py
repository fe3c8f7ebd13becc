"""A run leaves the process as it found it, and odd tensors never stop the engine."""

from __future__ import annotations

import os
import sys
from pathlib import Path

import pytest

from tests.engine.drive import printed, record, write


def test_a_script_that_chdirs_and_redirects_leaves_no_trace(tmp_path: Path) -> None:
    # GIVEN a script that moves to its folder, adds to sys.path and swaps sys.stdout
    log = tmp_path / "log.txt"
    folder = tmp_path / "project"
    folder.mkdir()
    path = write(
        folder,
        "train.py",
        "import os, sys\n"
        "os.chdir(os.path.dirname(os.path.abspath(__file__)))\n"
        "sys.path.append('/somewhere/else')\n"
        f"sys.stdout = open({str(log)!r}, 'w')\n"
        "print('to the log')\n",
    )
    cwd, path_before, stdout_before = os.getcwd(), list(sys.path), sys.stdout
    # WHEN it is recorded
    steps, result = record(path)
    # THEN the folder, the path and the streams are ours again
    assert result.status == "finished"
    assert os.getcwd() == cwd
    assert sys.path == path_before
    assert sys.stdout is stdout_before


def test_what_existed_before_the_run_is_frozen_out_of_the_collector_only_while_it_runs(tmp_path: Path) -> None:
    """Full collections would walk torch's ~170,000 objects again and again as steps are made; the
    script's own garbage (a reference cycle) is still collected, and the process gets its heap back."""
    import gc

    path = write(
        tmp_path,
        "cycles.py",
        "import gc, weakref\n"
        "class Node:\n"
        "    pass\n"
        "a, b = Node(), Node()\n"
        "a.other, b.other = b, a\n"
        "alive = weakref.ref(a)\n"
        "del a, b\n"
        "gc.collect()\n"
        "print('frozen', gc.get_freeze_count() > 0, 'cycle freed', alive() is None)\n",
    )
    steps, result = record(path)
    assert result.status == "finished"
    assert "frozen True cycle freed True" in printed(steps)
    assert gc.get_freeze_count() == 0


def test_an_edited_local_module_is_imported_afresh_on_the_next_run(tmp_path: Path) -> None:
    helper = write(tmp_path, "helper_for_gradstep_test.py", "SCALE = 1\n")
    main = write(tmp_path, "main.py", "import helper_for_gradstep_test as helper\nprint(helper.SCALE)\n")
    first, _ = record(main)
    helper.write_text("SCALE = 5\n")
    second, _ = record(main)
    assert "".join(step.output for step in first) == "1\n"
    assert "".join(step.output for step in second) == "5\n"
    assert "helper_for_gradstep_test" not in sys.modules


@pytest.mark.filterwarnings("ignore::UserWarning")  # torch warns that sparse and nested APIs are raw
def test_sparse_and_nested_tensors_show_a_marker_and_the_run_goes_on(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        "odd.py",
        "import torch\n"
        "s = torch.sparse_coo_tensor([[0, 1], [1, 0]], [1.0, 2.0], (2, 2))\n"
        "n = torch.nested.nested_tensor([torch.zeros(2), torch.zeros(3)])\n"
        "w = torch.tensor([1.0, 2.0], requires_grad=True)\n"
        "loss = (s @ w).sum()\n"
        "loss.backward()\n",
    )
    steps, result = record(path)
    assert result.status == "finished"
    end = steps[-1]
    assert str(end.tensors["n"].value).startswith("<unreadable:")
    assert end.tensors["w"].grad == (2.0, 1.0)
