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
	$(BIN)/pytest -n 3

# What the tests start themselves: Mosquitto (MQTT notifications) and wrk (the check of the benchmarks' Lua
# scripts). One already there is used; otherwise the Debian packages are unpacked into .services/, without root
# and without a system service (tests/services.py).
services: install
	$(BIN)/python -m tests.services mosquitto wrk

lint: install
	$(BIN)/pip install --quiet -e '.[test,lint]'
	$(BIN)/ruff check .
	$(BIN)/mypy

# Every benchmark (HTTP under wrk beside the ceiling, queries, notifications, validation; under 10 minutes), then
# the generated part of docs/benchmarks.md and docs/query-latency.png rewritten (bench/report.py). wrk is unpacked
# like Mosquitto (tests/services.py). `make bench STORE=mongodb` measures the broker on MongoDB (MONGODB_URL, else
# SecantusDB: indicative only). One scenario alone: `.venv/bin/python -m bench.http --only creates`.
bench: install
	$(BIN)/pip install --quiet -e '.[test,bench]'
	$(BIN)/python -m tests.services wrk
	$(BIN)/python -m bench.report --store $(STORE)

clean:
	rm -rf $(VENV) data .services .pytest_cache .hypothesis
