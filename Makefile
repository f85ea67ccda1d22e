# The README's two commands: `make run` and `make test`. Both set everything up from a
# fresh clone (a .venv with the dependencies); run also migrates and loads the demo.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: install run test test-dates bench lint browser clean

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

# Two workers (pytest-xdist): each has its own SQLite file and PostgreSQL database.
# PYTEST_WORKERS=0 runs in one process.
PYTEST_WORKERS ?= 2

test: install browser
	$(BIN)/pytest -n $(PYTEST_WORKERS)

# The date_sensitive tests with the clock frozen (tests/frozen.py) where calendars break: a
# Saturday, 14 July, Christmas, a minute after each daylight-saving change (03:01 summer
# time; the second 02:01 in October), a minute before and after midnight in Paris.
# SQLite only: the dates are Python's, whatever the database.
FROZEN_INSTANTS ?= \
	2026-11-28T11:00:00+01:00 \
	2026-07-14T10:00:00+02:00 \
	2026-12-25T10:00:00+01:00 \
	2026-03-29T03:01:00+02:00 \
	2026-10-25T02:01:00+01:00 \
	2026-11-27T23:59:00+01:00 \
	2026-11-28T00:01:00+01:00

test-dates: install
	@for at in $(FROZEN_INSTANTS); do \
		echo "== date_sensitive tests at $$at"; \
		OUTREACH_FROZEN_AT=$$at $(BIN)/pytest -q -m date_sensitive --backend sqlite \
			-n $(PYTEST_WORKERS) -p no:cacheprovider || exit 1; \
	done

bench: install
	$(BIN)/python -m bench

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/mypy outreach

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache .mypy_cache
