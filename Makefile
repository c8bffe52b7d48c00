# Set-up in two commands: `make run` and `make test` (each installs into .venv first).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 1026
DATA_DIR ?= ./data
STORE ?= sqlite

.PHONY: install run test lint bench clean services

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

run: install
	$(BIN)/scifi serve --port $(PORT) --data-dir $(DATA_DIR)

# The tests run the broker on SQLite and on MongoDB: they start a SecantusDB server themselves (tests/mongodb.py,
# installed with the test extra), or use the real MongoDB of MONGODB_URL when it is set.
test: install services
	$(BIN)/pytest

# What the tests start themselves: Mosquitto (MQTT notifications). One already there is used; otherwise the
# Debian packages are unpacked into .services/, without root and without a system service (tests/services.py).
services: install
	$(BIN)/python -m tests.services

lint: install
	$(BIN)/pip install --quiet -e '.[test,lint]'
	$(BIN)/ruff check .
	$(BIN)/mypy

# `make bench STORE=mongodb` measures the broker on MongoDB (MONGODB_URL, else SecantusDB: indicative only).
bench: install
	$(BIN)/python -m bench.entities --store $(STORE)
	$(BIN)/python -m bench.notifications --store $(STORE)

clean:
	rm -rf $(VENV) data .services .pytest_cache .hypothesis
