"""Checks of the chapters as files: pairing, sync, execution state, table of contents."""

import json
from pathlib import Path

import jupytext
import pytest
import yaml
from jupytext.config import load_jupytext_config

ROOT = Path(__file__).resolve().parent.parent
BOOK = ROOT / "book"


def toc_files() -> list[str]:
    toc = yaml.safe_load((ROOT / "_toc.yml").read_text())
    files = [toc["root"]]
    for part in toc.get("parts", []):
        files += [chapter["file"] for chapter in part["chapters"]]
    return files


CHAPTERS = toc_files()


def code_cells(path: Path) -> list[dict]:
    notebook = json.loads(path.read_text())
    return [c for c in notebook["cells"] if c["cell_type"] == "code" and "".join(c["source"]).strip()]


def test_the_toc_lists_the_chapters_of_the_tutorial():
    assert CHAPTERS[:5] == ["book/intro", "book/problems", "book/problem1", "book/baseline", "book/transfer"]


def test_every_chapter_file_is_in_the_toc():
    on_disk = {f"book/{p.stem}" for p in BOOK.glob("*.md")} | {f"book/{p.stem}" for p in BOOK.glob("*.ipynb")}
    assert on_disk == set(CHAPTERS)


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_chapter_is_a_pair_in_sync(chapter):
    md, ipynb = ROOT / f"{chapter}.md", ROOT / f"{chapter}.ipynb"
    assert md.is_file() and ipynb.is_file(), f"{chapter} needs both .md and .ipynb"
    config = load_jupytext_config(str(ipynb))
    expected = jupytext.writes(jupytext.read(ipynb), fmt="md:myst", config=config)
    assert md.read_text() == expected, (
        f"{md.name} and {ipynb.name} differ: run `make execute CHAPTERS={chapter}.md` "
        f"(or `jupytext --sync {md.relative_to(ROOT)}`)"
    )


# Pages with no code: the claims (pasted from the chapters) and the bibliography.
PROSE_PAGES = {"book/claims", "book/references"}


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_chapter_is_fully_executed_in_order(chapter):
    cells = code_cells(ROOT / f"{chapter}.ipynb")
    if chapter in PROSE_PAGES:
        assert not cells, f"{chapter} is a page of pasted results and references: no code of its own"
        return
    assert cells, f"{chapter} has no code cell"
    counts = [cell["execution_count"] for cell in cells]
    assert counts == list(range(1, len(cells) + 1)), (
        f"{chapter}: execution counts {counts}; execute it top to bottom from a fresh kernel "
        f"with `make execute CHAPTERS={chapter}.md`"
    )


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_chapter_outputs_are_clean(chapter):
    for cell in code_cells(ROOT / f"{chapter}.ipynb"):
        assert "execution" not in cell["metadata"], "timing metadata would churn git"
        for output in cell["outputs"]:
            assert output["output_type"] != "error", f"{chapter} stores an error"
            assert output.get("name") != "stderr", f"{chapter} stores stderr: {''.join(output['text'])}"


@pytest.mark.parametrize("chapter", CHAPTERS)
def test_chapter_title_and_kernel(chapter):
    notebook = jupytext.read(ROOT / f"{chapter}.md")
    assert notebook.metadata["kernelspec"]["name"] == "python3"
    first = notebook.cells[0]
    assert first.cell_type == "markdown" and first.source.startswith("# ")
