"""Checks of the built site as a reader meets it: pages loaded in headless Chromium."""

import functools
import http.server
import os
import shutil
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote, urldefrag, urlsplit

import yaml

ROOT = Path(__file__).resolve().parents[2]


def toc_pages(root: Path = ROOT) -> list[str]:
    """The site paths of every page in _toc.yml, in reading order."""
    toc = yaml.safe_load((root / "_toc.yml").read_text())
    files = [toc["root"]]
    for part in toc.get("parts", []):
        files += [chapter["file"] for chapter in part["chapters"]]
    return [f"{file}.html" for file in files]


def chromium_path() -> str:
    """Debian's Chromium ($CHROMIUM, or `chromium` on the PATH)."""
    path = os.environ.get("CHROMIUM") or shutil.which("chromium")
    if not path:
        raise RuntimeError("Chromium is missing: install Debian's `chromium` package (.ci/run does)")
    return path


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: object) -> None:
        pass


@contextmanager
def serve(directory: Path) -> Iterator[str]:
    """Serve ``directory`` on 127.0.0.1 (a free port) in a thread; yields the base URL."""
    handler = functools.partial(_QuietHandler, directory=str(directory))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


class _Ids(HTMLParser):
    """Every id attribute of an HTML document."""

    def __init__(self) -> None:
        super().__init__()
        self.ids: set[str] = set()

    def handle_starttag(self, tag: str, attrs: list) -> None:
        self.ids.update(value for name, value in attrs if name == "id" and value)


def offline(page, external: list[str]) -> None:
    """Answer requests that would leave 127.0.0.1 with an empty body, and record them."""

    def handle(route) -> None:
        if urlsplit(route.request.url).hostname in ("127.0.0.1", None):
            route.continue_()
        else:
            external.append(route.request.url)
            route.fulfill(status=200, body="", content_type="application/javascript")

    page.route("**/*", handle)


_PAGE_FACTS = """() => ({
  brokenImages: Array.from(document.images)
    .filter((image) => !(image.complete && image.naturalWidth > 0))
    .map((image) => image.getAttribute("src")),
  figuresWithoutCaption: Array.from(document.querySelectorAll("figure"))
    .filter((figure) => !(figure.querySelector("figcaption")?.textContent.trim()))
    .map((figure) => figure.id || figure.innerHTML.slice(0, 80)),
  outputImagesOutsideFigures: Array.from(document.querySelectorAll(".cell_output img"))
    .filter((image) => !image.closest("figure"))
    .map((image) => image.getAttribute("src")),
  links: Array.from(document.querySelectorAll("a[href]")).map((a) => a.href),
  launch: Array.from(document.querySelectorAll("a[href]")).map((a) => a.href)
    .filter((href) => href.includes("mybinder.org") || href.includes("colab.research.google.com")),
  downloads: Array.from(document.querySelectorAll(".dropdown-download-buttons a[href]"))
    .map((a) => a.getAttribute("href")),
})"""


def check_page(page, base_url: str, path: str, screenshot_dir: Path | None = None) -> list[str]:
    """Load one page and list what is wrong with it (an empty list if nothing)."""
    problems: list[str] = []
    errors: list[str] = []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    response = page.goto(base_url + path, wait_until="load")
    if response is None or response.status != 200:
        return [f"{path}: HTTP {None if response is None else response.status}"]
    page.wait_for_load_state("networkidle")
    facts = page.evaluate(_PAGE_FACTS)
    problems += [f"{path}: console error: {error}" for error in errors]
    problems += [f"{path}: image not loaded: {src}" for src in facts["brokenImages"]]
    problems += [f"{path}: figure without caption: {figure}" for figure in facts["figuresWithoutCaption"]]
    problems += [
        f"{path}: output image outside a figure: {src}" for src in facts["outputImagesOutsideFigures"]
    ]
    problems += [f"{path}: {link}" for link in broken_links(page, base_url, facts["links"])]
    stem = Path(path).stem
    expected_launch = ["mybinder.org/v2/gh/", "colab.research.google.com/github/"]
    for expected in expected_launch:
        if not any(expected in href and f"book/{stem}.ipynb" in href for href in facts["launch"]):
            problems.append(f"{path}: no launch button {expected}...book/{stem}.ipynb")
    for suffix in (".ipynb", ".md"):
        if not any(href.endswith(f"_sources/book/{stem}{suffix}") for href in facts["downloads"]):
            problems.append(f"{path}: no download button for {suffix}")
    if screenshot_dir is not None:
        screenshot_dir.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(screenshot_dir / f"{stem}.png"), full_page=True)
    return problems


def broken_links(page, base_url: str, links: list[str]) -> list[str]:
    """The internal links among ``links`` whose page is missing or lacks the linked anchor."""
    problems, ids_of = [], {}
    for link in dict.fromkeys(links):
        if not link.startswith(base_url):
            continue  # external: not this site's to check offline
        address, fragment = urldefrag(link)
        if address not in ids_of:
            response = page.request.get(address)
            ids_of[address] = None
            if response.status == 200:
                parser = _Ids()
                if "html" in response.headers.get("content-type", ""):
                    parser.feed(response.text())
                ids_of[address] = parser.ids
        ids = ids_of[address]
        if ids is None:
            problems.append(f"broken link: {link}")
        elif fragment and unquote(fragment) not in ids:
            problems.append(f"broken anchor: {link}")
    return problems


def search_results(page, base_url: str, term: str) -> int:
    """How many results the site's search page lists for ``term``."""
    page.goto(f"{base_url}search.html?q={term}", wait_until="load")
    page.wait_for_selector("#search-results ul.search li", timeout=15_000)
    return page.locator("#search-results ul.search li").count()
