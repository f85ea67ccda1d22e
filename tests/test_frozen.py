"""The OUTREACH_FROZEN_AT plugin (tests/frozen.py) freezes the date_sensitive tests only."""

from __future__ import annotations

import os
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.frozen import FROZEN_AT, frozen_at

ROOT = Path(__file__).resolve().parent.parent


def test_the_instant_is_read_with_its_offset(monkeypatch):
    monkeypatch.setenv(FROZEN_AT, "2026-07-14T10:00:00+02:00")
    assert frozen_at() == datetime(2026, 7, 14, 8, 0, tzinfo=UTC)
    monkeypatch.setenv(FROZEN_AT, "")
    assert frozen_at() is None


@pytest.mark.parametrize("value", ["2026-07-14T10:00:00", "14/07/2026"])
def test_an_instant_without_offset_or_malformed_is_refused(monkeypatch, value):
    monkeypatch.setenv(FROZEN_AT, value)
    with pytest.raises(pytest.UsageError, match=FROZEN_AT):
        frozen_at()


def test_only_the_date_sensitive_tests_are_frozen(pytester, monkeypatch):
    monkeypatch.setenv(FROZEN_AT, "2001-01-01T23:59:00+01:00")
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    pytester.makeconftest('pytest_plugins = ["tests.frozen"]')
    pytester.makeini("[pytest]\nmarkers =\n    date_sensitive: frozen by OUTREACH_FROZEN_AT\n")
    pytester.makepyfile(
        """
        from datetime import UTC, datetime

        import pytest

        @pytest.fixture
        def started():
            return datetime.now(UTC)

        @pytest.mark.date_sensitive
        def test_frozen(started):
            # Fixtures too, and the clock ticks on from the instant.
            assert started.isoformat().startswith("2001-01-01T22:59")
            assert datetime.now(UTC) >= started

        def test_not_frozen(started):
            assert started.year > 2001
        """
    )
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    result.assert_outcomes(passed=2)
    result.stdout.fnmatch_lines(["date_sensitive tests frozen at 2001-01-01T23:59:00+01:00"])
