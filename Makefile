# The README's two commands: `make run` and `make test`. Both set everything up from a
# fresh clone (a .venv with the dependencies); run also migrates and loads the demo.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test bench lint browser clean

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --quiet --disable-pip-version-check -e '.[dev]'
	touch $(STAMP)

install: $(STAMP)

run: install
	$(BIN)/outreach db upgrade
	$(BIN)/outreach demo
	$(BIN)/outreach serve

browser:
	@sh scripts/ensure-chromium.sh

test: install browser
	$(BIN)/pytest

bench: install
	$(BIN)/python -m bench

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache
