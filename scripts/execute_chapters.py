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


def execute(md_path: Path) -> float:
    """Execute one chapter and write its outputs to the paired notebook; the seconds taken."""
    notebook = jupytext.read(md_path)
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
