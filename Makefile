# The README names these targets: `make demo` (the main job) and `make test` (the whole suite).
PYTHON ?= $(shell command -v python3.11 || command -v python3)
VENV ?= .venv
BIN := $(VENV)/bin
export PYTHONPATH := $(CURDIR)

.PHONY: setup demo test lint format bench clean up down

setup: $(VENV)/.installed

# uv when it is there (seconds), else venv + pip (about a minute); both install the pinned set.
$(VENV)/.installed: requirements.txt
	@if command -v uv >/dev/null 2>&1; then \
		uv venv -q --allow-existing -p "$(PYTHON)" $(VENV) && \
		uv pip install -q -p $(BIN)/python -r requirements.txt; \
	else \
		"$(PYTHON)" -m venv $(VENV) && \
		$(BIN)/python -m pip install -q --disable-pip-version-check -r requirements.txt; \
	fi
	@touch $@

demo: setup
	$(BIN)/python -m include.cli demo
	$(BIN)/python -m deploy.demo

up: setup
	$(BIN)/python -m deploy.stack up

down: setup
	$(BIN)/python -m deploy.stack down

test: setup
	$(BIN)/ruff check .
	$(BIN)/python -m pytest

lint: setup
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

bench: setup
	$(BIN)/python benchmarks/evaluate_period.py
	$(BIN)/python benchmarks/mes_store.py

clean:
	rm -rf .mes .pytest_cache .ruff_cache
