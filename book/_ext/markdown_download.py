"""Sphinx extension: offer each chapter's paired MyST markdown file in the download menu.

Chapters are built from their .ipynb; the jupytext twin ``book/<name>.md`` is copied next to
the notebook in ``_sources`` and listed under the download button beside ``.ipynb``.
"""

import shutil
from pathlib import Path

from sphinx.application import Sphinx


def _paired_markdown(app: Sphinx, pagename: str) -> Path | None:
    """The .md twin of a page built from a notebook, if it has one."""
    notebook = Path(app.srcdir, pagename + ".ipynb")
    markdown = notebook.with_suffix(".md")
    return markdown if notebook.is_file() and markdown.is_file() else None


def add_markdown_button(app: Sphinx, pagename: str, templatename: str, context: dict, doctree) -> None:
    """Copy the page's .md twin into _sources and add it to the page's download buttons."""
    markdown = _paired_markdown(app, pagename)
    if markdown is None:
        return
    target = Path(app.outdir, "_sources", pagename + ".md")
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(markdown, target)
    for group in context.get("header_buttons", []):
        if group.get("label") == "download-buttons":
            group["buttons"].insert(
                1,
                {
                    "type": "link",
                    "url": f"{context['pathto']('_sources', 1)}/{pagename}.md",
                    "text": ".md",
                    "tooltip": "Download the MyST markdown file",
                    "icon": "fas fa-file-lines",
                    "label": "download-markdown-button",
                },
            )


def setup(app: Sphinx) -> dict:
    # After sphinx-book-theme has made its buttons (priority 501).
    app.connect("html-page-context", add_markdown_button, priority=600)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
