"""Sphinx extension: keep the browser console of every page free of errors from the themes.

Two errors come from the book's stack, not from its pages:
- sphinx-thebe registers its configuration script once per build of the environment, so a
  page can declare ``THEBE_JS_URL`` twice ("has already been declared"); duplicates are
  dropped from each page's scripts.
- pydata-sphinx-theme reads the colour mode from an empty localStorage as "" on a reader's
  first visit and logs "Got invalid theme mode"; an empty mode is set to "auto", the value
  the theme falls back to anyway.
"""

from sphinx.application import Sphinx

_DEFAULT_MODE = (
    'if (!document.documentElement.dataset.mode) { document.documentElement.dataset.mode = "auto"; }'
)


def drop_duplicate_scripts(app: Sphinx, pagename: str, templatename: str, context: dict, doctree) -> None:
    """Keep the first of several identical inline or linked scripts of a page (whatever their priority)."""
    seen, unique = set(), []
    for script in context.get("script_files", []):
        # An inline script's filename is None or "", depending on who registered it.
        filename = getattr(script, "filename", script) or ""
        key = (filename, tuple(sorted(getattr(script, "attributes", {}).items())))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    context["script_files"] = unique


def setup(app: Sphinx) -> dict:
    app.add_js_file(None, body=_DEFAULT_MODE, priority=0)
    # After the themes have filled the page's scripts (sphinx-book-theme uses 501).
    app.connect("html-page-context", drop_duplicate_scripts, priority=590)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
