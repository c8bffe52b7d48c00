# Set-up in two commands: `make run` and `make test` (each installs into .venv first).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 1026
DATA_DIR ?= ./data

.PHONY: install run test lint bench clean

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

run: install
	$(BIN)/scifi serve --port $(PORT) --data-dir $(DATA_DIR)

test: install
	$(BIN)/pytest

lint: install
	$(BIN)/pip install --quiet -e '.[test,lint]'
	$(BIN)/ruff check .
	$(BIN)/mypy

bench: install
	$(BIN)/python -m bench.entities

clean:
	rm -rf $(VENV) data .pytest_cache .hypothesis
