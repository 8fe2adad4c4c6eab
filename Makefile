# Two commands for a fresh machine (Python 3.11 and make present):
#   make book   build the website into _build/html
#   make test   run every check: lint, unit tests, notebooks, site build
# Both set up .venv from requirements.lock first when it is missing or stale.

PYTHON ?= python3.11
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
CHAPTERS := $(sort $(wildcard book/*.ipynb))

.PHONY: book test lint format unit nbval build site browser serve execute lab lock clean

$(STAMP): requirements.lock pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip==26.3
	$(BIN)/python -m pip install --quiet -r requirements.lock
	$(BIN)/python -m pip install --quiet --no-deps --no-build-isolation --editable .
	touch $(STAMP)

book: build
	@echo "The book is built: open $(CURDIR)/_build/html/index.html in a browser."

test: lint unit nbval build site browser
	@echo "All checks passed."

lint: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# Fix lint and formatting in place, chapters included (jupytext carries notebook edits to the .md).
format: $(STAMP)
	$(BIN)/ruff format .
	$(BIN)/jupytext --quiet --sync $(CHAPTERS)
	$(BIN)/ruff check --fix .

unit: $(STAMP)
	$(BIN)/pytest --cov=helpers --cov-report=term --cov-fail-under=90 --ignore=tests/site --ignore=tests/browser tests

nbval: $(STAMP)
	$(BIN)/pytest --nbval --nbval-current-env -p no:cacheprovider $(CHAPTERS)

build: $(STAMP)
	$(BIN)/jupyter-book build . -W -n --keep-going

site: build
	$(BIN)/pytest -p no:cacheprovider tests/site

# Every page of the built site in headless Chromium (Debian's chromium package); screenshots
# of each page go to _build/screenshots.
browser: build
	scripts/ensure_chromium.sh
	$(BIN)/pytest -p no:cacheprovider tests/browser

# Serve the built site for reading at http://127.0.0.1:$(PORT)/ (Ctrl-C stops it).
PORT ?= 8000
serve: build
	@echo "Serving the book at http://127.0.0.1:$(PORT)/book/intro.html"
	$(BIN)/python -m http.server $(PORT) --bind 127.0.0.1 --directory _build/html

# Re-execute chapters (all, or CHAPTERS="book/x.md ...") and store their outputs.
execute: $(STAMP)
	$(BIN)/python scripts/execute_chapters.py $(CHAPTERS:.ipynb=.md)

# Open the chapters in Jupyter Lab; jupytext opens each .md as a notebook.
lab: $(STAMP)
	test -x $(BIN)/jupyter-lab || $(BIN)/python -m pip install --quiet -c requirements.lock jupyterlab==4.6.6
	$(BIN)/jupyter lab $(if $(filter 0,$(shell id -u)),--allow-root) book

# Re-pin requirements.lock from requirements.in in a scratch environment.
lock:
	rm -rf /tmp/blobs-transfer-lock && $(PYTHON) -m venv /tmp/blobs-transfer-lock
	/tmp/blobs-transfer-lock/bin/python -m pip install --quiet --upgrade pip==26.3
	/tmp/blobs-transfer-lock/bin/python -m pip install --quiet -r requirements.in
	{ sed -n '1,2p' requirements.lock; /tmp/blobs-transfer-lock/bin/python -m pip freeze --all \
	  | grep -v '^pip=='; } > requirements.lock.new && mv requirements.lock.new requirements.lock

clean:
	rm -rf _build .pytest_cache .coverage
