"""The vigilance job: off without a key (said once), polls at its times, runs the client
against the stand-in on a free port; a malformed map is stored as an error, nothing else."""

from __future__ import annotations

import logging
import socket
from datetime import UTC, datetime

from sqlalchemy import select

from outreach.db import session_scope
from outreach.scheduling.runner import run_job
from outreach.vigilance.jobs import is_due, poll_slots
from outreach.vigilance.models import VigilanceMap, VigilanceProposal
from outreach.vigilance.standin import StandIn, running
from tests.conftest import own_app
from tests.factories import make_org, make_senior
from tests.vigilance.conftest import DAY, NOW

SETTINGS = {"poll_times": ["06:10", "16:10"], "hourly": True}


def test_without_a_key_the_job_says_so_once_and_does_nothing(app, session, caplog):
    caplog.set_level(logging.WARNING, logger="outreach.vigilance")
    assert run_job(app, "vigilance", NOW) == "vigilance: off (no METEOFRANCE_API_KEY)"
    run_job(app, "vigilance", NOW)
    said = [r for r in caplog.records if "no METEOFRANCE_API_KEY" in r.getMessage()]
    assert len(said) == 1
    assert session.scalar(select(VigilanceMap)) is None


def test_poll_times_and_hourly_in_between():
    slots = [s.strftime("%H:%M") for s in poll_slots(SETTINGS, DAY)]
    assert slots[0] == "06:10" and slots[-1] == "16:10" and len(slots) == 11
    paris = lambda h, m: datetime(2026, 7, 20, h - 2, m, tzinfo=UTC)  # noqa: E731 - summer
    assert is_due(SETTINGS, paris(6, 11), paris(5, 0))
    assert not is_due(SETTINGS, paris(6, 40), paris(6, 11))
    assert is_due(SETTINGS, paris(7, 10), paris(6, 11))
    assert not is_due(SETTINGS, paris(23, 0), paris(16, 11))
    only = {**SETTINGS, "hourly": False}
    assert not is_due(only, paris(12, 0), paris(6, 11))


def test_the_job_reads_the_standin_and_proposes(app, database_url):
    # ``app`` empties the tables before and after; ``own_app`` holds this test's settings.
    standin = StandIn(current="orange", today=lambda: DAY)
    with (
        running(standin) as base_url,
        own_app(database_url, vigilance={"api_base_url": base_url, "api_key": "test-key"}) as mine,
    ):
        with mine.app_context(), session_scope() as s:
            make_senior(s, make_org(s, name="Touraine"), departement="37")
        summary = run_job(mine, "vigilance", NOW)
        assert summary.startswith("vigilance: map ") and "proposals 1 new" in summary
        assert run_job(mine, "vigilance", NOW) == "vigilance: not due"
        assert standin.requests == 1
        standin.current = "malformed-colour"
        later = datetime(2026, 7, 20, 10, 15, tzinfo=UTC)  # 12:15 in Paris: due again
        assert run_job(mine, "vigilance", later).startswith("vigilance: map refused")
        with mine.app_context(), session_scope() as s:
            maps = s.scalars(select(VigilanceMap).order_by(VigilanceMap.id)).all()
            assert [m.error for m in maps] == [
                None,
                "malformed: phenomenon_max_color_id is not 1..4",
            ]
            assert maps[1].raw is None
            proposals = s.scalars(select(VigilanceProposal)).all()
            assert [(p.departements, p.state.value) for p in proposals] == [(["37"], "open")]


def test_an_unreachable_api_is_recorded_without_change(app, database_url):
    with socket.socket() as probe:  # a free port, closed: nobody listens there
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    settings = {"api_base_url": f"http://127.0.0.1:{port}", "api_key": "k"}
    with own_app(database_url, vigilance=settings) as mine:
        summary = run_job(mine, "vigilance", NOW)
        assert summary.startswith("vigilance: map not read (ConnectionError")
        with mine.app_context(), session_scope() as s:
            row = s.scalars(select(VigilanceMap)).one()
            assert row.error and row.raw is None
            assert s.scalar(select(VigilanceProposal)) is None


def test_maps_older_than_keep_days_are_deleted_but_never_the_latest(session):
    from datetime import timedelta

    from outreach.vigilance.models import VigilanceColour
    from outreach.vigilance.operations import prune, record_map
    from tests.vigilance.conftest import load

    old, _ = record_map(session, load("orange"), NOW - timedelta(days=401))
    kept, _ = record_map(session, load("green"), NOW - timedelta(days=399))
    assert session.scalar(select(VigilanceColour.id).where(VigilanceColour.map_id == old.id))
    assert prune(session, NOW, 400) == 1
    assert session.scalars(select(VigilanceMap.id)).all() == [kept.id]
    assert not session.scalar(select(VigilanceColour.id).where(VigilanceColour.map_id == old.id))
    # The latest map stays whatever its age: the next poll compares with it.
    assert prune(session, NOW + timedelta(days=1000), 400) == 0
