"""Shared helpers of the vigilance tests: the recorded maps and a fixed day (20 July 2026,
the "J" of the recordings), so that no test reads the real clock for a decision."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from outreach.vigilance.client import parse
from outreach.vigilance.operations import evaluate, record_map

MAPS = Path(__file__).resolve().parents[1] / "fixtures" / "vigilance"
DAY = date(2026, 7, 20)
NOW = datetime(2026, 7, 20, 8, 0, tzinfo=UTC)  # 10h in Paris


def load(name: str) -> Any:
    return json.loads((MAPS / f"{name}.json").read_text(encoding="utf-8"))


def apply(session, app, name: str, now: datetime = NOW, **vigilance: Any):
    """Store the recorded map ``name`` and evaluate it as the job does; the summary."""
    config = {**app.config["OUTREACH"], "vigilance": {**app.config["OUTREACH"]["vigilance"]}}
    config["vigilance"].update(vigilance)
    vmap, parsed = record_map(session, load(name), now)
    assert parsed is not None
    summary = evaluate(session, vmap, parse(load(name)), config, now)
    session.commit()
    return summary


@pytest.fixture
def now() -> datetime:
    return NOW
