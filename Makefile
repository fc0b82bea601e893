# Two commands do all set-up on a fresh machine:  make lab   and   make test
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 8888
STAMP  := $(VENV)/.installed

.PHONY: lab test test-lite venv bench bench-browser explore release clean lite lite-fetch serve-lite

# Create .venv if missing and (re)install when pyproject.toml changes.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

venv: $(STAMP)

# The zero-install site's inputs, downloaded once and sha256-verified (course/jupyter/lite_site.py):
# the Pyodide runtime and wheels, the pure-Python wheels, the builder (in .venv/lite/builder, not in .venv).
LITE_STAMP := $(VENV)/lite/.fetched
$(LITE_STAMP): $(STAMP) course/jupyter/lite_site.py
	$(BIN)/python -m course.jupyter.lite_site fetch
	touch $(LITE_STAMP)

lite-fetch: $(LITE_STAMP)

# Build the site into _site/ (offline; PYODIDE_DIR=... takes the Pyodide files from a folder of yours).
lite: $(LITE_STAMP)
	$(BIN)/python -m course.jupyter.lite_site build -o _site

# Look at the built site on http://127.0.0.1:$(LITE_PORT)/lab/index.html
LITE_PORT ?= 8000
serve-lite: $(STAMP)
	$(BIN)/python -m course.jupyter.lite_site serve _site -p $(LITE_PORT)

# Start JupyterLab on the course (headless-friendly: prints the URL, opens no browser).
# Kernel messages leave at once (TCP_NODELAY: course/jupyter/websocket.py), so explorers keep up.
lab: $(STAMP)
	$(BIN)/jupyter lab --no-browser --ServerApp.ip=127.0.0.1 --ServerApp.port=$(PORT) \
	    --ServerApp.root_dir=$(CURDIR) $(if $(filter 0,$(shell id -u)),--allow-root,) \
	    --ServerApp.kernel_websocket_connection_class=course.jupyter.websocket.NoDelayConnection

# The whole suite: reference vs PyTorch, widgets, notebooks, nbgrader, browser (the site's too).
test: $(STAMP) $(LITE_STAMP)
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/python -m pytest $(PYTEST_ARGS)

# Every lecture to the end in the zero-install site's Pyodide kernel (make test runs two of them).
test-lite: $(STAMP) $(LITE_STAMP)
	COURSE_LITE_ALL=1 PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/python -m pytest tests/browser/test_lite_site.py $(PYTEST_ARGS)

# NumPy vs PyTorch ratios, then the zero-install site: cold start and explorer steps in the browser.
bench: $(STAMP) $(LITE_STAMP)
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/python benchmarks/run.py
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/python benchmarks/bench_lite.py

# Browser latency (control change -> new pixels), medians merged into benchmarks/results.json.
bench-browser: $(STAMP)
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/python benchmarks/bench_browser.py

# All explorers as a standalone Voila app on loopback (no code cells).
EXPLORE_PORT ?= 8866
explore: $(STAMP)
	$(BIN)/course explore --port $(EXPLORE_PORT)

# Regenerate the committed student release assignments/ from solutions/ (a test fails when it is stale).
release: $(STAMP)
	@tmp=$$(mktemp -d); for a in $$(ls solutions); do \
	    PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/course grade release $$a --workspace $$tmp --release-dir assignments || exit 1; \
	done; rm -rf $$tmp

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis test-artifacts grading _site
