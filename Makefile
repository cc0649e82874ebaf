# `make test` and `make demo` work on a machine with only python3 and make.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin

.PHONY: test demo bench bench-learning lint typecheck pytest clean browser screenshot

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

# Stamp files: reinstall only when pyproject.toml changes.
$(VENV)/.dev-installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[dev]"
	touch $@

$(VENV)/.demo-installed: pyproject.toml | $(BIN)/python
	$(BIN)/python -m pip install --quiet -e ".[sqlite,openai,ui]"
	touch $@

lint: $(VENV)/.dev-installed
	$(BIN)/ruff check --no-cache src tests examples benchmarks
	$(BIN)/ruff format --no-cache --check src tests examples benchmarks

typecheck: $(VENV)/.dev-installed
	$(BIN)/mypy src

# In parallel (pytest-xdist): one process per core, at most 4.
pytest: $(VENV)/.dev-installed
	$(BIN)/pytest -q -n auto --maxprocesses 4

test: lint typecheck pytest

# Ends by printing the `promptopt --store ... serve` command that opens the review
# dashboard on the demo's store (run it as $(BIN)/promptopt, or with the venv activated).
demo: $(VENV)/.demo-installed
	$(BIN)/python examples/quickstart.py

# The dashboard's browser tests and screenshot drive Debian's chromium through Playwright
# (Playwright's own browser download needs the internet): install it when it is missing.
CHROMIUM ?= /usr/bin/chromium
browser:
	@if [ ! -x $(CHROMIUM) ]; then \
	  SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
	  $$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium; \
	fi

# docs/img/lineage.png: the dashboard's lineage page of a scripted demo store.
screenshot: $(VENV)/.dev-installed browser
	$(BIN)/python docs/screenshot.py docs/img/lineage.png

bench: $(VENV)/.dev-installed
	$(BIN)/python -m benchmarks.per_run_cost
	$(BIN)/python -m benchmarks.optimizer_input
	$(BIN)/python -m benchmarks.background_latency
	$(BIN)/python -m benchmarks.pin_at_scale
	$(BIN)/python -m benchmarks.worker_throughput
	$(BIN)/python -m benchmarks.cli_startup
	$(BIN)/python -m benchmarks.hostile_inputs
	$(BIN)/python -m benchmarks.scaling

# Learning-quality harness. Offline (scripted models) unless OPENAI_BASE_URL is set;
# extra flags through LEARNING_ARGS, e.g. make bench-learning LEARNING_ARGS="--rounds 6".
bench-learning: $(VENV)/.dev-installed
	$(BIN)/python -m benchmarks.learning $(LEARNING_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache
