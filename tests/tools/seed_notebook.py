"""Make tests/notebooks/seed.ipynb from the course's first seed document, as a Colab notebook of it would be.

Run: python -m tests.tools.seed_notebook [SEED.txt]   (default: shared/seeds/000_*.txt beside the repo)

The document's prose becomes markdown cells and its ```python blocks code cells, in order.
The stored document stops before its training loop, so the seed example's loop
(tests/scripts/seed_sgd.py, "the seed course's first training loop") follows as the
notebook's last cells, and a first cell holds the IPython-only lines a Colab notebook
starts with (`%matplotlib inline`, `!pip install torch`), which gradstep skips.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parents[2]
OUTPUT = REPO / "tests" / "notebooks" / "seed.ipynb"


def default_seed() -> Path:
    for shared in (REPO.parent / "shared", REPO.parents[1] / "shared", Path("/work/shared")):
        found = sorted((shared / "seeds").glob("000_*.txt"))
        if found:
            return found[0]
    raise SystemExit("no seed document found: pass its path")


def cells_of(text: str) -> list[tuple[str, str]]:
    """(kind, source) in document order; the front matter and ```text outputs are left out."""
    text = re.sub(r"\A\+\+\+.*?\+\+\+\n", "", text, flags=re.DOTALL)
    cells: list[tuple[str, str]] = []
    for part in re.split(r"(```python\n.*?```|```text\n.*?```)", text, flags=re.DOTALL):
        if part.startswith("```python"):
            cells.append(("code", part.removeprefix("```python\n").removesuffix("```").strip()))
        elif part.startswith("```text") or not part.strip():
            continue
        else:
            cells.append(("markdown", part.strip()))
    return cells


def main() -> None:
    seed = Path(sys.argv[1]) if len(sys.argv) > 1 else default_seed()
    loop = (REPO / "tests" / "scripts" / "seed_sgd.py").read_text().split("\n\n")
    notebook = nbformat.v4.new_notebook()
    notebook.cells.append(nbformat.v4.new_code_cell("%matplotlib inline\n!pip install torch"))
    for kind, source in cells_of(seed.read_text()):
        make = nbformat.v4.new_code_cell if kind == "code" else nbformat.v4.new_markdown_cell
        notebook.cells.append(make(source))
    notebook.cells.append(nbformat.v4.new_markdown_cell("## The seed example's training loop\n\nBackprop, optimize, reset."))
    for block in loop[1:]:  # its imports are in the document's cells already, but SGD's is in the first block
        notebook.cells.append(nbformat.v4.new_code_cell(block.strip()))
    for position, cell in enumerate(notebook.cells):
        cell["id"] = f"cell-{position + 1}"  # stable ids: the file only changes when its sources do
    OUTPUT.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, str(OUTPUT))
    print(OUTPUT)


if __name__ == "__main__":
    main()
