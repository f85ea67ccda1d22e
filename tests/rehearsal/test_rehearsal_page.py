"""The rehearsal's page (issue 12): managers queue a rehearsal, the ``rehearsals`` job plays
it line by line, the run's page shows the hours and the verdict in words."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from html import unescape

import pytest
from sqlalchemy import func, select

from outreach.audit.models import AuditEvent
from outreach.rehearsal import operations
from outreach.rehearsal.models import RehearsalRun, RunState
from outreach.rehearsal.run import Settings
from outreach.scheduling.runner import run_job
from outreach.web import rehearsal as page
from tests.conftest import csrf_from, login
from tests.factories import make_org, make_user

NOW = datetime(2027, 6, 2, 8, 0, tzinfo=UTC)
DAY = date(2027, 7, 15)
URL = "/canicule/repetition"
VERDICT = re.compile(
    r"rehearsal: (\d+) seniors, reached (\d+), through contact (\d+), escalated (\d+), "
    r"unaccounted (\d+),.*ratio (\d+\.\d\d)\)$"
)
TINY = Settings(seniors=12, cps=5.0, staff=1, day=DAY, quick=True)


@pytest.fixture
def people(session):
    org = make_org(session, "touraine", "Touraine Habitat")
    other = make_org(session, "ailleurs", "Autre Bailleur")
    manager = make_user(session, org, "manager")
    stranger = make_user(session, other, "manager")
    caller = make_user(session, org, "caller")
    session.commit()
    return org, other, manager, stranger, caller


@pytest.fixture
def logged(client, people, monkeypatch):
    monkeypatch.setattr(page, "_now", lambda: NOW)
    login(client, people[2].email)
    return client


def _post(client, **fields):
    data = {"source": "generes", "seniors": "30", "cps": "5", "staff": "1",
            "channel": "ivr_then_staff", "day": "15/07/2027", "quick": "y", **fields}  # fmt: skip
    data["csrf_token"] = csrf_from(client.get(URL).text)
    return client.post(URL, data=data)


def _html(resp) -> str:
    return unescape(resp.get_data(as_text=True))


def test_only_managers_and_only_their_own_runs(app, client, session, people):
    org, other, manager, stranger, caller = people
    run = operations.request(session, org.id, manager.id, TINY, NOW)
    session.commit()
    login(client, caller.email)
    assert client.get(URL).status_code == 403
    assert client.get(f"{URL}/{run.id}").status_code == 403
    elsewhere = app.test_client()
    login(elsewhere, stranger.email)
    assert elsewhere.get(f"{URL}/{run.id}").status_code == 404
    assert f'data-run="{run.id}"' not in elsewhere.get(URL).text


def test_a_refused_form_keeps_what_was_typed(logged, session):
    resp = _post(logged, cps="0", staff="3", seniors="30")
    assert resp.status_code == 400
    html = _html(resp)
    assert "Un nombre d'appels par seconde entre 0 (exclu) et 100." in html
    assert 'value="0"' in html and 'value="3"' in html and 'value="30"' in html
    assert 'value="15/07/2027"' in html or 'value="2027-07-15"' in html
    resp = _post(logged, seniors="")
    assert resp.status_code == 400
    assert "Un nombre de seniors entre 1 et 20 000." in _html(resp)
    assert session.scalar(select(func.count(RehearsalRun.id))) == 0


def test_a_request_queues_one_run_audited_and_refuses_a_second(logged, session, people):
    org, _other, manager, *_ = people
    resp = _post(logged)
    assert resp.status_code == 302
    run = session.scalars(select(RehearsalRun)).one()
    assert resp.headers["Location"].endswith(f"{URL}/{run.id}")
    assert (run.organisation_id, run.requested_by_id, run.state) == (
        org.id, manager.id, RunState.pending)  # fmt: skip
    assert run.requested_at == NOW
    assert run.settings == {"seniors": 30, "cps": 5.0, "staff": 1, "channel": "ivr_then_staff",
                            "day": "2027-07-15", "quick": True, "seed": 1}  # fmt: skip
    event = session.scalars(
        select(AuditEvent).where(AuditEvent.action == "rehearsal.request")
    ).one()
    assert (event.entity_id, event.organisation_id, event.user_id) == (run.id, org.id, manager.id)
    shown = _html(logged.get(f"{URL}/{run.id}"))
    assert '<meta http-equiv="refresh" content="5">' in shown
    assert "En attente" in shown

    again = _post(logged, source="copie", seniors="")
    assert again.status_code == 400
    assert "déjà en attente ou en cours" in _html(again)
    assert session.scalar(select(func.count(RehearsalRun.id))) == 1


def test_the_job_plays_the_run_and_the_page_shows_hours_and_verdict(app, logged, session, people):
    org, _other, manager, *_ = people
    assert run_job(app, "rehearsals", NOW) == "rehearsals: none pending"
    run = operations.request(session, org.id, manager.id, TINY, NOW)
    session.commit()
    assert run_job(app, "rehearsals", NOW) == f"rehearsals: run {run.id} done"
    session.refresh(run)
    assert run.state == RunState.done and run.started_at == NOW
    assert run.finished_at is not None and run.finished_at >= NOW
    hours = [line for line in run.lines if re.match(r"^\d\d:00  first attempts", line)]
    assert [h[:5] for h in hours] == [f"{h:02d}:00" for h in range(10, 21)]
    assert run.lines[-1] == run.verdict and run.verdict.startswith("rehearsal: ")
    figures = re.match(VERDICT, run.verdict)
    assert figures, run.verdict
    assert [run.seniors, run.reached, run.through_contact, run.escalated, run.unaccounted] == [
        int(x) for x in figures.groups()[:5]
    ]
    assert run.ratio == float(figures[6]) and run.seniors > 0

    html = _html(logged.get(f"{URL}/{run.id}"))
    assert "http-equiv" not in html
    assert "Terminée" in html
    assert html.count('<tr data-hour="') == 11
    assert f'<div data-figure="reached"><dt>Joints</dt><dd>{run.reached}</dd></div>' in html
    assert run.verdict in html
    if run.unaccounted == 0:
        assert "Le plan tient" in html
    else:
        assert "Le plan ne tient pas" in html
    assert f'data-run="{run.id}"' in logged.get(URL).text


def test_a_failing_rehearsal_is_marked_failed_in_french(app, logged, session, people, monkeypatch):
    org, _other, manager, *_ = people

    def broken(settings, config, *, source=None, out=print):
        out("10:00  first attempts      1  reached      0  unreached      1  alerts     0  "
            "staff backlog     0")  # fmt: skip
        raise RuntimeError("secret internals /path/to/file.py line 12")

    monkeypatch.setattr(operations, "rehearse", broken)
    run = operations.request(session, org.id, manager.id, TINY, NOW)
    session.commit()
    with app.app_context():
        played = operations.run_next(session, app.config["OUTREACH"], NOW)
    assert played is not None and played.id == run.id
    session.refresh(run)
    assert run.state == RunState.failed and run.finished_at is not None
    assert run.error.startswith("La répétition s'est arrêtée sur une erreur (RuntimeError)")
    assert "secret" not in run.error and "Traceback" not in run.error
    assert len(run.lines) == 1  # the line printed before the failure stays
    html = _html(logged.get(f"{URL}/{run.id}"))
    assert "Échec." in html and "RuntimeError" in html and "secret" not in html
    # A failed run no longer blocks the next request.
    assert _post(logged).status_code == 302


def test_a_run_cut_short_is_failed_after_a_while(session, people):
    org, _other, manager, *_ = people
    run = operations.request(session, org.id, manager.id, TINY, NOW)
    run.state, run.started_at = RunState.running, NOW
    session.commit()
    later = NOW.replace(hour=11)
    assert operations.run_next(session, {}, later) is None
    session.refresh(run)
    assert run.state == RunState.failed and "interrompue" in (run.error or "")
