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
    images = soup.select("main img")
    assert len(images) == figure_count(chapter)
    for image in images:
        assert (HTML / "book" / image["src"]).resolve().is_file(), image["src"]


def test_no_glue_placeholder_is_left(page):
    _, soup = page
    text = soup.select_one("main").get_text()
    assert "{glue" not in text and "np.float64" not in text
