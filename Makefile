# Two commands do all set-up on a fresh machine:  make lab   and   make test
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
PORT   ?= 8888
STAMP  := $(VENV)/.installed

.PHONY: lab test venv bench bench-browser explore release clean

# Create .venv if missing and (re)install when pyproject.toml changes.
$(STAMP): pyproject.toml
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

venv: $(STAMP)

# Start JupyterLab on the course (headless-friendly: prints the URL, opens no browser).
# Kernel messages leave at once (TCP_NODELAY: course/jupyter/websocket.py), so explorers keep up.
lab: $(STAMP)
	$(BIN)/jupyter lab --no-browser --ServerApp.ip=127.0.0.1 --ServerApp.port=$(PORT) \
	    --ServerApp.root_dir=$(CURDIR) $(if $(filter 0,$(shell id -u)),--allow-root,) \
	    --ServerApp.kernel_websocket_connection_class=course.jupyter.websocket.NoDelayConnection

# The whole suite: reference vs PyTorch, widgets, notebooks, nbgrader, browser.
test: $(STAMP)
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/python -m pytest $(PYTEST_ARGS)

bench: $(STAMP)
	PATH=$(CURDIR)/$(BIN):$$PATH $(BIN)/python benchmarks/run.py

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
	rm -rf $(VENV) .pytest_cache .hypothesis test-artifacts grading
