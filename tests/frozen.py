"""Run the date-sensitive tests at a chosen instant, and choose the database backends.

``OUTREACH_FROZEN_AT=2026-07-14T10:00:00+02:00 pytest -m date_sensitive`` moves the clock of
every test marked ``@pytest.mark.date_sensitive`` to that instant (time-machine, ticking from
there), fixtures included: a test that passes on a Tuesday afternoon must also pass on a
Saturday, a bank holiday, a daylight-saving night or a minute before midnight.
``make test-dates`` (run by .ci/run) loops over such instants. Only Python's clock moves:
the database server's ``now()`` and other processes keep the real time.

``--backend sqlite`` (or ``postgresql``) runs the tests of one database only; the default
runs both halves.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from datetime import datetime

import pytest
import time_machine

FROZEN_AT = "OUTREACH_FROZEN_AT"
BACKENDS = ("sqlite", "postgresql")


def frozen_at() -> datetime | None:
    """The instant of ``OUTREACH_FROZEN_AT``, or None when it is unset or empty."""
    value = os.environ.get(FROZEN_AT, "").strip()
    if not value:
        return None
    try:
        instant = datetime.fromisoformat(value)
    except ValueError as exc:
        raise pytest.UsageError(f"{FROZEN_AT}={value!r} is not an ISO 8601 instant") from exc
    if instant.tzinfo is None:
        raise pytest.UsageError(f"{FROZEN_AT}={value!r} needs an offset, e.g. +02:00")
    return instant


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--backend",
        choices=(*BACKENDS, "all"),
        default="all",
        help="run the database tests on this backend only (default: all)",
    )


def pytest_configure(config: pytest.Config) -> None:
    frozen_at()  # a malformed value stops the run before any test


def pytest_report_header(config: pytest.Config) -> str | None:
    instant = frozen_at()
    return f"date_sensitive tests frozen at {instant.isoformat()}" if instant else None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    backend = config.getoption("--backend")
    if backend == "all":
        return
    kept, dropped = [], []
    for item in items:
        callspec = getattr(item, "callspec", None)
        param = callspec.params.get("database_url") if callspec else None
        (dropped if param is not None and param != backend else kept).append(item)
    if dropped:
        config.hook.pytest_deselected(items=dropped)
        items[:] = kept


@pytest.fixture(autouse=True)
def _frozen_clock(request: pytest.FixtureRequest) -> Iterator[None]:
    """Autouse, so it is set up before the test's other function-scoped fixtures."""
    instant = frozen_at()
    if instant is None or request.node.get_closest_marker("date_sensitive") is None:
        yield
        return
    with time_machine.travel(instant, tick=True):
        yield
