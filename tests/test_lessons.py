"""The lessons: percent-format parsing, ids and lookup, the narrative beside a line, `gradstep lessons`,
and every lesson running as a plain script with the numbers its narrative promises."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import tui
from tests.conftest import LESSON_IDS
from tui.errors import BadInput
from tui.lessons import Cell, find_lesson, lessons_dir, list_lessons, narrative_at, parse_cells

REPO = Path(__file__).parent.parent
PYTHON = sys.executable

SAMPLE = textwrap.dedent(
    """\
    import torch

    # %% [markdown]
    # # A title
    #
    # The summary line.
    # Still the first paragraph.

    # %%
    x = torch.tensor(1.0)

    # %% Optional cell title [markdown]
    # ## Second
    # Some *markdown*.

    # %%
    def f(value):
        return value * 2
    y = f(x)
    """
)


# --- parsing -------------------------------------------------------------------------------------


def test_parse_cells_splits_on_markers_and_strips_comment_prefixes():
    cells = parse_cells(SAMPLE)
    assert [cell.kind for cell in cells] == ["code", "markdown", "code", "markdown", "code"]
    assert cells[0] == Cell("code", 1, 2, "import torch")
    assert cells[1] == Cell("markdown", 3, 8, "# A title\n\nThe summary line.\nStill the first paragraph.")
    assert cells[2] == Cell("code", 9, 11, "x = torch.tensor(1.0)")
    assert cells[3].text == "## Second\nSome *markdown*."
    assert (cells[4].start_line, cells[4].end_line) == (16, 19)
    assert cells[4].text.splitlines()[-1] == "y = f(x)"


def test_parse_cells_without_markers_is_one_code_cell():
    assert parse_cells("a = 1\nb = 2\n") == (Cell("code", 1, 2, "a = 1\nb = 2"),)
    assert parse_cells("") == ()


def test_narrative_at_gives_the_nearest_markdown_cell_above():
    cells = parse_cells(SAMPLE)
    assert narrative_at(cells, 1) is None  # code before any narrative
    assert narrative_at(cells, 10).startswith("# A title")  # x = ...
    assert narrative_at(cells, 5).startswith("# A title")  # inside the markdown cell itself
    assert narrative_at(cells, 17) == "## Second\nSome *markdown*."  # inside f()
    assert narrative_at(cells, 19) == "## Second\nSome *markdown*."


# --- the course ----------------------------------------------------------------------------------


def test_list_lessons_gives_the_eight_ids_in_order_with_titles_and_summaries():
    lessons = list_lessons()
    assert [lesson.id for lesson in lessons] == LESSON_IDS
    for lesson in lessons:
        assert lesson.path.is_file()
        assert lesson.title and lesson.title != lesson.id
        assert lesson.summary and not lesson.summary.startswith("#")
    assert lessons[2].title == "SGD to 15"


@pytest.mark.parametrize("lesson_id", LESSON_IDS)
def test_every_lesson_opens_with_its_title_and_every_code_line_has_a_narrative(lesson_id):
    lesson = find_lesson(lesson_id)
    source = lesson.path.read_text(encoding="utf-8")
    cells = parse_cells(source)
    assert cells[0].kind == "markdown" and cells[0].start_line == 1
    assert cells[0].text.splitlines()[0] == f"# {lesson.title}"
    assert "What you will see" in cells[0].text
    code_indexes = [index for index, cell in enumerate(cells) if cell.kind == "code"]
    assert code_indexes
    for index in code_indexes:  # each code cell comes right after its own narrative cell
        assert cells[index - 1].kind == "markdown"
        assert narrative_at(cells, cells[index].end_line) == cells[index - 1].text
    # Lessons run as plain scripts: no notebook magics, no plotting, no downloads.
    assert not re.search(r"^\s*[%!]", source, re.MULTILINE)
    assert "matplotlib" not in source and "urllib" not in source and "requests" not in source
    if "torch.rand" in source or "nn.Linear" in source:
        assert "torch.manual_seed(" in source


@pytest.mark.parametrize("wanted", ["03-sgd-to-15", "03", "3", "03-sgd", " 03 "])
def test_find_lesson_accepts_the_id_its_number_or_a_unique_prefix(wanted):
    assert find_lesson(wanted).id == "03-sgd-to-15"


@pytest.mark.parametrize("wanted", ["9", "00", "nope", "0", ""])
def test_find_lesson_rejects_an_unknown_id_naming_the_lessons(wanted):
    with pytest.raises(BadInput) as raised:
        find_lesson(wanted)
    message = str(raised.value)
    assert repr(wanted) in message
    assert all(lesson_id in message for lesson_id in LESSON_IDS)


def test_lessons_are_found_in_the_installed_wheel_first(tmp_path, monkeypatch):
    package = tmp_path / "site-packages" / "tui"
    (package / "_lessons").mkdir(parents=True)
    (package / "_lessons" / "01-only.py").write_text("# %% [markdown]\n# # Only\n#\n# Just one.\n")
    (tmp_path / "site-packages" / "lessons").mkdir()  # a stray folder beside it must not win
    monkeypatch.setattr(tui, "__file__", str(package / "__init__.py"))
    assert lessons_dir() == package / "_lessons"
    [lesson] = list_lessons()
    assert (lesson.id, lesson.title, lesson.summary) == ("01-only", "Only", "Just one.")


def test_lessons_fall_back_to_the_repository_folder(tmp_path, monkeypatch):
    package = tmp_path / "checkout" / "tui"
    package.mkdir(parents=True)
    (tmp_path / "checkout" / "lessons").mkdir()
    (tmp_path / "checkout" / "lessons" / "02-two.py").write_text("# %% [markdown]\n# # Two\n# Second.\n")
    (tmp_path / "checkout" / "lessons" / "helper.py").write_text("x = 1\n")  # not a lesson
    monkeypatch.setattr(tui, "__file__", str(package / "__init__.py"))
    assert [lesson.id for lesson in list_lessons()] == ["02-two"]
    assert find_lesson("2").title == "Two"


# --- the command ---------------------------------------------------------------------------------


def _gradstep(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PYTHON, "-m", "tui", *args], capture_output=True, text=True, cwd=REPO, timeout=60
    )


def test_gradstep_lessons_json_lists_id_title_summary_and_path():
    result = _gradstep("lessons", "--json")
    assert result.returncode == 0, result.stderr
    entries = json.loads(result.stdout)
    assert [entry["id"] for entry in entries] == LESSON_IDS
    for entry in entries:
        assert set(entry) == {"id", "title", "summary", "path", "predict"}
        assert Path(entry["path"]).is_file() and Path(entry["path"]).stem == entry["id"]
    assert entries[7]["summary"].startswith("Teach a network to map every integer vector [a, b, c]")


def test_gradstep_lessons_prints_a_table_of_every_lesson():
    result = _gradstep("lessons")
    assert result.returncode == 0, result.stderr
    for lesson in list_lessons():
        assert lesson.id in result.stdout
        assert lesson.title.split()[0] in result.stdout
    assert "[a," in result.stdout  # brackets in a summary are text, not Rich markup




# --- every lesson runs as a plain script ---------------------------------------------------------

# One interpreter runs every lesson as `__main__` in turn (runpy, as `python lesson.py` does), so
# the suite pays for importing torch once rather than eight times.
_RUN_ALL = textwrap.dedent(
    """\
    import contextlib, io, json, runpy, sys, traceback
    results = {}
    for path in sys.argv[1:]:
        out = io.StringIO()
        try:
            with contextlib.redirect_stdout(out):
                runpy.run_path(path, run_name="__main__")
            results[path] = {"ok": True, "stdout": out.getvalue()}
        except BaseException:
            results[path] = {"ok": False, "stdout": out.getvalue(), "error": traceback.format_exc()}
    print(json.dumps(results))
    sys.exit(0 if all(result["ok"] for result in results.values()) else 1)
    """
)


@pytest.fixture(scope="module")
def plain_runs(tmp_path_factory):
    """stdout of every lesson run as a plain script from an empty folder, keyed by lesson id."""
    workdir = tmp_path_factory.mktemp("plain-run")
    paths = [str(lesson.path) for lesson in list_lessons()]
    result = subprocess.run(
        [PYTHON, "-c", _RUN_ALL, *paths], capture_output=True, text=True, cwd=workdir, timeout=240
    )
    runs = json.loads(result.stdout)
    failures = {path: run["error"] for path, run in runs.items() if not run["ok"]}
    assert result.returncode == 0 and not failures, failures or result.stderr
    assert list(workdir.iterdir()) == [], "a lesson wrote files"
    return {Path(path).stem: run["stdout"] for path, run in runs.items()}


def _numbers(text: str) -> list[float]:
    return [float(number) for number in re.findall(r"-?\d+\.\d+|-?\d+", text)]


def test_plain_run_01_tensors(plain_runs):
    out = plain_runs["01-tensors"]
    assert "tensor(7.3000)" in out and "[ 4, 10,  8]]" in out
    assert "torch.Size([5, 3]) torch.Size([3, 3])" in out
    assert "[43., 50.]]" in out and "[21., 32.]]" in out
    assert "tensor([0, 4, 1, 5, 2, 6, 3, 7])" in out


def test_plain_run_02_autograd(plain_runs):
    out = plain_runs["02-autograd"]
    assert "tensor(12., grad_fn=<MulBackward0>)" in out
    assert "tensor(5., grad_fn=<SubBackward0>)" in out
    assert out.splitlines()[-1] == "tensor(4.) tensor(3.)"


def test_plain_run_03_sgd_to_15(plain_runs):
    lines = plain_runs["03-sgd-to-15"].splitlines()
    assert lines[0] == "tensor(9., grad_fn=<PowBackward0>)"
    assert lines[1] == "tensor(3.0720, requires_grad=True) tensor(4.0540, requires_grad=True)"
    assert lines[2].startswith("tensor(3.4505, requires_grad=True) tensor(4.3472, requires_grad=True)")


def test_plain_run_04_accumulation(plain_runs):
    lines = plain_runs["04-accumulation"].splitlines()
    assert lines[:4] == ["tensor([1., 1., 1.])", "tensor([2., 2., 2.])", "None", "tensor([1., 1., 1.])"]
    assert _numbers(lines[4])[0] == pytest.approx(17.85, abs=0.005)
    assert _numbers(lines[5])[0] == pytest.approx(13.96, abs=0.005)


def test_plain_run_05_my_network(plain_runs):
    lines = plain_runs["05-my-network"].splitlines()
    losses = [_numbers(line)[-1] for line in lines if line.startswith("round")]
    assert len(losses) == 20
    assert losses[0] == pytest.approx(50.199, abs=0.001)
    assert losses[10] < 5 * 0.01**2  # ten rounds: every output within 0.01
    assert _numbers(lines[-1])[:5] == pytest.approx([1, 2, 3, 4, 5], abs=1e-4)


def test_plain_run_06_linear_regression(plain_runs):
    first, last = plain_runs["06-linear-regression"].splitlines()
    for line in (first, last):
        slope, intercept = _numbers(line.replace("π is 3.1416", ""))[:2]
        assert slope == pytest.approx(3.1095, abs=2e-4) and intercept == pytest.approx(41.9927, abs=2e-4)


def test_plain_run_07_custom_function(plain_runs):
    assert plain_runs["07-custom-function"].splitlines() == [
        "tensor(2.)",
        "tensor(1.)",
        "None",
        "tensor(1.)",
        "tensor(0.)",
    ]


def test_plain_run_08_challenge(plain_runs):
    lines = plain_runs["08-challenge"].splitlines()
    assert _numbers(lines[0])[-1] == pytest.approx(60.79, abs=0.01)
    mean_absolute_error = _numbers(lines[-2])[-1]
    assert mean_absolute_error < 0.05 and mean_absolute_error == pytest.approx(0.007, abs=0.001)
    assert _numbers(lines[-1].split("->")[1]) == pytest.approx([7, -3, 10, 11, 12], abs=0.02)


def test_a_md_cell_shows_its_narrative_in_the_app_as_the_lesson_index_reads_it(tmp_path):
    """One cell parser: `# %% [md]` is a markdown cell for the picker's title and for the narrative pane."""
    from tui.lessons import read_lesson
    from tui.ui.narration import Narration

    source = "# %% [md]\n# # Short cells\n#\n# The narrative.\n\n# %%\nx = 1\n"
    assert Narration(source).available
    assert Narration(source).at(7) == "# Short cells\n\nThe narrative."
    path = tmp_path / "09-short.py"
    path.write_text(source)
    assert read_lesson(path).title == "Short cells"
