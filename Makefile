# Set-up in two commands: `make run` and `make test` (each installs into .venv first).
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
PORT ?= 1026
DATA_DIR ?= ./data

.PHONY: install run test lint bench clean services

install: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --upgrade pip
	$(BIN)/pip install --quiet -e '.[test]'
	touch $@

run: install
	$(BIN)/scifi serve --port $(PORT) --data-dir $(DATA_DIR)

test: install services
	$(BIN)/pytest

# What the tests start themselves: Mosquitto (MQTT notifications), from the Debian package.
services:
	@command -v mosquitto >/dev/null || test -x /usr/sbin/mosquitto || { \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get install -y -q mosquitto || { $$SUDO apt-get update -q && $$SUDO apt-get install -y -q mosquitto; }; }

lint: install
	$(BIN)/pip install --quiet -e '.[test,lint]'
	$(BIN)/ruff check .
	$(BIN)/mypy

bench: install
	$(BIN)/python -m bench.entities
	$(BIN)/python -m bench.notifications

clean:
	rm -rf $(VENV) data .pytest_cache .hypothesis
