"""The built site in headless Chromium: every page of the table of contents, as a reader sees it."""

import re
import shutil

import pytest
from sitecheck import ROOT, check_page, offline, search_results, serve, toc_pages

SCREENSHOTS = ROOT / "_build" / "screenshots"


@pytest.mark.parametrize("path", toc_pages())
def test_page(page, base_url, path):
    external = []
    offline(page, external)
    assert check_page(page, base_url, path, SCREENSHOTS) == []
    assert (SCREENSHOTS / f"{path.rsplit('/', 1)[-1][:-5]}.png").stat().st_size > 10_000


def test_search_finds_transfer(page, base_url):
    offline(page, [])
    assert search_results(page, base_url, "transfer") > 0


@pytest.fixture
def site_copy(site, tmp_path):
    copy = tmp_path / "html"
    shutil.copytree(site, copy)
    return copy


def test_a_missing_image_is_reported(page, site_copy):
    html = (site_copy / "book" / "comparison.html").read_text()
    image = re.search(r'<img[^>]*src="\.\./(_images/[^"]+\.png)"', html).group(1)
    (site_copy / image).unlink()
    with serve(site_copy) as url:
        offline(page, [])
        problems = check_page(page, url, "book/comparison.html")
    assert any("image not loaded" in problem and image in problem for problem in problems)


def test_a_broken_link_and_anchor_are_reported(page, site_copy):
    path = site_copy / "book" / "claims.html"
    html = path.read_text()
    assert 'href="comparison.html"' in html
    html = html.replace('href="comparison.html"', 'href="no-such-chapter.html"', 1)
    html = html.replace("</main>", '<a href="reverse.html#no-such-section">x</a></main>', 1)
    path.write_text(html)
    with serve(site_copy) as url:
        offline(page, [])
        problems = check_page(page, url, "book/claims.html")
    assert any("broken link" in problem and "no-such-chapter.html" in problem for problem in problems)
    assert any("broken anchor" in problem and "#no-such-section" in problem for problem in problems)


def test_a_figure_without_caption_is_reported(page, site_copy):
    path = site_copy / "book" / "comparison.html"
    html = re.sub(r"<figcaption>.*?</figcaption>", "", path.read_text(), count=1, flags=re.S)
    path.write_text(html)
    with serve(site_copy) as url:
        offline(page, [])
        problems = check_page(page, url, "book/comparison.html")
    assert any("figure without caption" in problem for problem in problems)
