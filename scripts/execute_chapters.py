"""Execute chapters from a fresh kernel and store their outputs in the paired .ipynb.

Usage: python scripts/execute_chapters.py book/problem1.md [book/transfer.md ...]

Each chapter runs in book/ (as nbval and Jupyter Lab run it). Cell timing metadata is not
recorded, so re-executing an unchanged chapter leaves git with nothing to commit.
"""

import subprocess
import sys
import time
from pathlib import Path

import jupytext
from nbclient import NotebookClient


def _keep_cell_ids(notebook, ipynb_path: Path) -> None:
    """Reuse the stored notebook's cell ids (by source, then by position) so diffs show real changes."""
    if not ipynb_path.is_file():
        return
    old_cells = jupytext.read(ipynb_path).cells
    by_source = {cell.source: cell.id for cell in old_cells}
    used = set()
    for position, cell in enumerate(notebook.cells):
        candidate = by_source.get(cell.source)
        if (
            candidate is None
            and position < len(old_cells)
            and old_cells[position].cell_type == cell.cell_type
        ):
            candidate = old_cells[position].id
        if candidate is not None and candidate not in used:
            cell.id = candidate
            used.add(candidate)


def execute(md_path: Path) -> float:
    """Execute one chapter and write its outputs to the paired notebook; the seconds taken."""
    notebook = jupytext.read(md_path)
    _keep_cell_ids(notebook, md_path.with_suffix(".ipynb"))
    start = time.perf_counter()
    NotebookClient(
        notebook,
        kernel_name="python3",
        timeout=1800,
        record_timing=False,
        resources={"metadata": {"path": str(md_path.parent)}},
    ).execute()
    seconds = time.perf_counter() - start
    ipynb_path = md_path.with_suffix(".ipynb")
    jupytext.write(notebook, ipynb_path, fmt="ipynb")
    # Re-derive the .md from the fresh notebook so the pair is byte-for-byte in sync.
    subprocess.run([sys.executable, "-m", "jupytext", "--quiet", "--sync", str(ipynb_path)], check=True)
    return seconds


def main(paths: list[str]) -> int:
    """Execute every chapter named on the command line."""
    if not paths:
        print(__doc__.strip(), file=sys.stderr)
        return 2
    for name in paths:
        path = Path(name).with_suffix(".md")
        if not path.is_file():
            print(f"no chapter at {path}", file=sys.stderr)
            return 2
        print(f"{path}: executed in {execute(path):.1f} s", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
