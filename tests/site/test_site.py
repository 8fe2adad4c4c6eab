"""Checks of the built site (run after `jupyter-book build`): every chapter page and its figures."""

import json
from pathlib import Path

import pytest
from bs4 import BeautifulSoup

ROOT = Path(__file__).resolve().parents[2]
HTML = ROOT / "_build" / "html"
CHAPTERS = sorted(p.stem for p in (ROOT / "book").glob("*.ipynb"))


def figure_count(chapter: str) -> int:
    notebook = json.loads((ROOT / "book" / f"{chapter}.ipynb").read_text())
    return sum(
        "image/png" in output.get("data", {})
        for cell in notebook["cells"]
        for output in cell.get("outputs", [])
    )


@pytest.fixture(scope="module", params=CHAPTERS)
def page(request):
    path = HTML / "book" / f"{request.param}.html"
    assert path.is_file(), f"{path} was not built: run `make build` first"
    return request.param, BeautifulSoup(path.read_text(), "html.parser")


def test_the_site_has_an_index():
    assert (HTML / "index.html").is_file()


def test_each_page_shows_every_figure_of_its_notebook(page):
    chapter, soup = page
    images = soup.select("main .cell_output img")  # the launch buttons have logos too
    assert len(images) == figure_count(chapter)
    for image in images:
        assert (HTML / "book" / image["src"]).resolve().is_file(), image["src"]


def test_no_glue_placeholder_is_left(page):
    _, soup = page
    text = soup.select_one("main").get_text()
    assert "{glue" not in text and "np.float64" not in text


def test_each_figure_is_numbered_and_captioned(page):
    chapter, soup = page
    figures = soup.select("main figure")
    assert len(figures) == figure_count(chapter)
    for figure in figures:
        caption = figure.select_one("figcaption")
        assert caption is not None and caption.select_one(".caption-number").text.startswith("Fig. ")
        assert figure.get("id", "").startswith("fig-"), "each figure has a name to cross-reference"


def test_the_bibliography_lists_the_five_works():
    soup = BeautifulSoup((HTML / "book" / "references.html").read_text(), "html.parser")
    text = soup.select_one("main").get_text(" ")
    for author in ("Goodfellow", "Yosinski", "Bengio", "Thrun", "Glorot"):
        assert author in text
    cited = BeautifulSoup((HTML / "book" / "intro.html").read_text(), "html.parser")
    assert len(cited.select('main a[href*="references.html#"]')) >= 5


def test_the_claims_page_gives_every_verdict_with_its_interval():
    import re

    soup = BeautifulSoup((HTML / "book" / "claims.html").read_text(), "html.parser")
    verdicts = {"holds", "does not hold", "inconclusive"}
    interval = re.compile(r"\(\s*-?\d\.\d+\s+to\s+-?\d\.\d+\s*\)")
    rows = [row for row in soup.select("main table tbody tr")]
    judged = [row for row in rows if {cell.get_text(" ").strip() for cell in row.select("td")} & verdicts]
    comparison = json.loads((ROOT / "book" / "comparison.ipynb").read_text())
    n_claims = sum(
        output.get("metadata", {}).get("scrapbook", {}).get("name", "").startswith("verdict_single_")
        for cell in comparison["cells"]
        for output in cell.get("outputs", [])
    )
    assert n_claims == 6
    assert len(judged) == n_claims + 7  # the tutorial's claims, then its proposed extensions
    for row in judged:
        assert interval.search(row.get_text(" ")), row.get_text(" ")
