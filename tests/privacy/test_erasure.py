"""Right to erasure: her identity goes for good, everywhere; the anonymous remainder stays."""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import os
from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask.cli import ScriptInfo
from sqlalchemy import JSON, Enum, String, Text, func, select, text

from outreach.audit.models import AuditEvent
from outreach.calls.models import Attempt, Signal
from outreach.campaigns.models import ChannelPolicy, SkipReason, Task, TaskState
from outreach.cli import cli
from outreach.db import Base, get_engine
from outreach.escalation.models import Alert, AlertEvent, AlertStatus
from outreach.notifications.models import Notification
from outreach.partners.models import Referral
from outreach.privacy import erasure
from outreach.privacy.models import Erasure
from outreach.roster.eligibility import ineligible
from outreach.roster.importer import import_roster
from outreach.roster.models import ConsentEvent, EmergencyContact, Senior
from outreach.telephony.inbox import WebhookInbox
from tests.conftest import csrf_from, login
from tests.factories import make_senior
from tests.privacy.conftest import NOW, REF, TRACES, get_senior

pytestmark = pytest.mark.usefixtures("app")


def _erase(app, session, held, reason="request"):
    with app.app_context():
        senior = session.get(Senior, held.senior_id)
        erasure.erase_senior(session, senior, reason=reason, user_id=held.admin.id, now=NOW)
        tables = erasure.erased_tables(session)
        session.commit()
        assert erasure.compact(get_engine(), tables)
    return tables


def _text_columns():
    for table in Base.metadata.sorted_tables:
        for column in table.columns:
            if isinstance(column.type, Enum):
                continue
            if isinstance(column.type, String | Text | JSON):
                yield table, column


def _rows_with_traces(session) -> list[str]:
    """Every text and JSON cell of every table that still holds one of her traces."""
    session.rollback()
    found = []
    for table, column in _text_columns():
        for (value,) in session.execute(select(column).where(column.is_not(None))):
            as_text = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else value
            found += [f"{table.name}.{column.name}: {t}" for t in TRACES if t in as_text]
    return found


def test_erasure_keeps_the_anonymous_remainder_and_nothing_else(app, session, held):
    assert _rows_with_traces(session)  # the fixture does hold her everywhere
    _erase(app, session, held)
    senior = get_senior(session, held)
    assert senior.erased_at == NOW
    assert senior.external_ref == f"effacé-{senior.id}"
    assert (senior.last_name, senior.first_name, senior.civility) == (erasure.ERASED_NAME, "", None)
    assert senior.birth_date == date(1938, 1, 1)  # the year, for the age bands
    assert (senior.phone_mobile, senior.phone_landline, senior.address) == (None, None, None)
    assert (senior.postcode, senior.city, senior.residence) == (None, None, None)
    assert (senior.consent_source, senior.pause_reason) == (None, None)
    assert senior.departement == "37"
    assert not senior.active and senior.left_on == NOW.date()
    assert session.scalar(select(func.count()).select_from(EmergencyContact)) == 0

    # Counts stay true: her attempts, outcomes, signals and alerts are still there.
    attempts = session.scalars(select(Attempt).where(Attempt.senior_id == senior.id)).all()
    assert sorted(a.outcome for a in attempts) == ["reached_concern", "reply_to_read"]
    assert all(a.notes is None and a.reply is None for a in attempts)
    assert session.scalar(select(Signal.note).where(Signal.senior_id == senior.id)) is None
    alert = session.get(Alert, held.alert_id)
    assert alert.cause == "concern_signal" and alert.severity == "concern"
    assert alert.summary == erasure.NEUTRAL_SUMMARY and alert.status == AlertStatus.resolved
    assert session.scalars(select(AlertEvent.detail)).all() == [None, None]
    assert session.scalar(select(Referral.note)) is None
    assert session.scalar(select(ConsentEvent.detail)) is None
    # Nothing is planned for her any more.
    tasks = session.scalars(select(Task).where(Task.senior_id == senior.id)).all()
    assert sorted(t.state for t in tasks) == [TaskState.cancelled, TaskState.done]
    assert ineligible(senior, ChannelPolicy.staff, NOW.date()) == SkipReason.left

    # The other tables' copies: hers deleted, the others' untouched.
    inbox = session.scalars(select(WebhookInbox)).all()
    assert [row.params["From"] for row in inbox] == ["+33611112222"]
    assert session.scalars(select(Notification.dedupe_key)).all() == ["n3"]

    tombstone = session.scalar(select(Erasure))
    key = app.config["SECRET_KEY"].encode()
    expected = hmac.new(key, f"{held.org_id}:{REF}".encode(), hashlib.sha256).hexdigest()
    assert (tombstone.ref_digest, tombstone.reason, tombstone.senior_id) == (
        expected,
        "request",
        senior.id,
    )
    event = session.scalar(select(AuditEvent).where(AuditEvent.action == "erase"))
    assert event.entity_id == senior.id and event.user_id == held.admin.id
    assert not [t for t in TRACES if t in json.dumps(event.details, ensure_ascii=False)]
    # Who opened her record stays (no personal value in it).
    assert session.scalar(select(func.count()).where(AuditEvent.action == "view")) == 1

    other = session.get(Senior, held.other_id)
    assert other.last_name == "Ribaud" and other.phone_mobile == "+33611112222"
    assert _rows_with_traces(session) == []


def test_no_trace_is_left_in_the_database_files(app, session, held):
    _erase(app, session, held)
    files = _database_files(app, session)
    assert files
    needles = [t.encode() for t in TRACES]
    left = []
    for path in files:
        data = path.read_bytes()
        left += [f"{path.name}: {n.decode()}" for n in needles if n in data]
    assert left == [], _names(app, left)


def test_the_nightly_retention_leaves_no_trace_in_the_files_either(app, session, held):
    """A senior erased by retention (she left long ago) leaves the database files too: the
    job compacts what it erased once its transaction has committed."""
    from outreach.scheduling.runner import run_job

    senior = session.get(Senior, held.senior_id)
    senior.active, senior.left_on = False, date(2020, 1, 6)
    session.commit()
    session.close()  # no transaction of the test may hold her old rows visible
    line = run_job(app, "retention", now=NOW)
    assert "departed 1" in line
    files = _database_files(app, session)
    needles = [t.encode() for t in TRACES]
    left = [f"{p.name}: {n.decode()}" for p in files for n in needles if n in p.read_bytes()]
    assert left == [], _names(app, left)


def _names(app, left: list[str]) -> list[str]:
    """The relations behind PostgreSQL file names, to say where a trace was left."""
    with app.app_context():
        engine = get_engine()
        if engine.dialect.name != "postgresql":
            return left
        with engine.connect() as conn:
            named = []
            for item in left:
                node = item.split(":")[0].split(".")[0].split("_")[0]
                rel = conn.scalar(text(f"SELECT pg_filenode_relation(0, {int(node)})::text"))
                named.append(f"{rel} ({item})")
            return named


def _database_files(app, session) -> list[Path]:
    with app.app_context():
        engine = get_engine()
        if engine.dialect.name == "sqlite":
            main = Path(engine.url.database)
            return [p for p in (main, Path(f"{main}-wal"), Path(f"{main}-journal")) if p.exists()]
        with engine.connect() as conn:
            # Pages still in shared buffers are written out first, so that the files hold
            # whatever the database holds (a page with her old row, if one is left).
            conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("CHECKPOINT"))
            data_dir = conn.scalar(text("SELECT current_setting('data_directory')"))
            oid = conn.scalar(
                text("SELECT oid FROM pg_database WHERE datname = current_database()")
            )
    base = Path(data_dir) / "base" / str(oid)
    if not os.access(base, os.R_OK | os.X_OK):
        pytest.skip(f"the PostgreSQL files ({base}) are not readable by this user")
    return [p for p in base.iterdir() if p.is_file()]


def test_every_text_column_about_a_senior_is_erased_or_kept_on_purpose():
    # A new column that may hold her words needs a decision in privacy.erasure.
    undecided = []
    for table, column in _text_columns():
        if "senior_id" not in table.columns and table.name not in ("senior", "alert_event"):
            continue
        decided = erasure.ERASED.get(table.name, frozenset()) | erasure.KEPT.get(
            table.name, frozenset()
        )
        if column.name not in decided:
            undecided.append(f"{table.name}.{column.name}")
    assert undecided == []


def test_departed_seniors_are_erased_after_retention(app, session, held):
    from tests.factories import make_org

    org = make_org(session)
    long_gone = make_senior(session, org, active=False, left_on=date(2023, 1, 5))
    recent = make_senior(session, org, active=False, left_on=date(2026, 1, 5))
    session.commit()
    with app.app_context():
        cutoff = date(2025, 3, 10)
        assert erasure.erase_departed(session, left_before=cutoff, now=NOW, dry_run=True) == 1
        assert session.get(Senior, long_gone.id).erased_at is None
        assert erasure.erase_departed(session, left_before=cutoff, now=NOW) == 1
        session.commit()
        assert erasure.erase_departed(session, left_before=cutoff, now=NOW) == 0
    assert session.get(Senior, long_gone.id).erased_at == NOW
    assert session.get(Senior, recent.id).erased_at is None
    assert session.scalar(select(Erasure.reason)) == "retention"


def test_a_reimported_reference_comes_back_as_a_new_senior(app, session, held):
    _erase(app, session, held)
    erased_ref = get_senior(session, held).external_ref
    csv = f"Référence;Nom;Prénom\n{REF};Quintavalle;Zéphyrine\n{erased_ref};Dupont;Jean\n"
    with app.app_context():
        from outreach.accounts.models import Organisation

        org = session.get(Organisation, held.org_id)
        result = import_roster(
            session, org, io.BytesIO(csv.encode()), "roster.csv", config=app.config["OUTREACH"]
        )
        session.commit()
    assert result.imported == 1
    assert [(n.line, n.reference, n.text) for n in result.notes] == [
        (2, REF, "référence effacée le 10/03/2026 à sa demande : créée comme nouvelle personne")
    ]
    assert [(r.line, r.reference) for r in result.rejected] == [(3, erased_ref)]
    new = session.scalar(select(Senior).where(Senior.external_ref == REF))
    assert new.id != held.senior_id and new.erased_at is None
    assert get_senior(session, held).last_name == erasure.ERASED_NAME  # the remainder stays


def _cli(app, *args: str):
    return CliRunner().invoke(cli, ["senior", *args], obj=ScriptInfo(create_app=lambda: app))


def test_the_command_refuses_without_yes_and_erases_with_it(app, session, held):
    result = _cli(app, "erase", "--org", "bailleur-rgpd", REF)
    assert result.exit_code == 2
    assert "--yes" in result.stderr and "rien n'a été effacé" in result.stderr
    assert get_senior(session, held).erased_at is None
    session.rollback()  # the test's own read must not hold back the compaction
    result = _cli(app, "erase", "--org", "bailleur-rgpd", REF, "--yes")
    assert result.exit_code == 0, result.output
    assert get_senior(session, held).erased_at is not None
    again = _cli(app, "erase", "--org", "bailleur-rgpd", REF, "--yes")
    assert again.exit_code == 2 and "a été effacée le" in again.stderr
    unknown = _cli(app, "erase", "--org", "nulle-part", REF, "--yes")
    assert unknown.exit_code == 2
    assert unknown.stderr.strip() == "outreach : organisation inconnue : nulle-part"


def test_only_an_admin_erases_and_only_with_the_typed_confirmation(app, session, held, client):
    url = f"/seniors/{held.senior_id}/effacer"
    login(client, held.manager.email)
    assert "Effacer ses données" not in client.get(f"/seniors/{held.senior_id}").text
    assert client.get(url).status_code == 403
    client.post("/logout", data={"csrf_token": csrf_from(client.get("/").text)})

    login(client, held.admin.email)
    page = client.get(f"/seniors/{held.senior_id}").text
    assert "Effacer ses données" in page and "Exporter ses données" in page
    form = client.get(url)
    assert form.status_code == 200
    assert "Ce qui est effacé" in form.text and "Ce qui reste, sans la nommer" in form.text
    token = csrf_from(form.text)
    wrong = client.post(url, data={"csrf_token": token, "confirmation": "Quintavalle"})
    assert wrong.status_code == 400
    assert "rien n&#39;a été effacé" in wrong.text
    assert get_senior(session, held).erased_at is None
    session.rollback()  # the test's own read must not hold back the compaction

    done = client.post(url, data={"csrf_token": token, "confirmation": REF})
    assert done.status_code == 302 and done.headers["Location"].endswith("/seniors/")
    assert get_senior(session, held).erased_at is not None
    roster = client.get("/seniors/?status=all").text
    assert "Les données de la personne ont été effacées." in roster
    assert "Quintavalle" not in roster
    page = client.get(f"/seniors/{held.senior_id}").text
    assert "Données effacées le" in page
    assert "Effacer ses données" not in page and "Exporter ses données" not in page
    assert client.get(f"/seniors/{held.senior_id}/donnees.json").status_code == 302


def test_an_erased_senior_can_be_neither_edited_nor_called(app, session, held, client):
    _erase(app, session, held)
    login(client, held.admin.email)
    page = client.get(f"/seniors/{held.senior_id}").text
    assert "Année de naissance" in page and "1938" in page
    assert "17/05/1938" not in page and "01/01/1938" not in page  # no false date either
    assert "Enregistrer un appel passé hors de la file" not in page
    assert f"/seniors/{held.senior_id}/modifier" not in page
    edit = client.get(f"/seniors/{held.senior_id}/modifier")
    assert edit.status_code == 302 and edit.headers["Location"].endswith(f"/{held.senior_id}")
    assert client.get(f"/seniors/{held.senior_id}/appel").status_code == 404
    token = csrf_from(client.get("/").text)
    posted = client.post(
        f"/seniors/{held.senior_id}/modifier", data={"csrf_token": token, "last_name": "Revenue"}
    )
    assert posted.status_code == 302
    assert get_senior(session, held).last_name == erasure.ERASED_NAME


def test_a_compaction_put_off_is_done_by_the_nightly_job(app, session, held):
    """The database was busy when she was erased (compaction put off): the next night's
    retention job rewrites the files."""
    from datetime import timedelta

    from outreach.scheduling.runner import run_job

    with app.app_context():
        senior = session.get(Senior, held.senior_id)
        erasure.erase_senior(session, senior, reason="request", user_id=None, now=NOW)
        session.commit()  # and no compact(): as when the database refused it
    session.close()
    line = run_job(app, "retention", now=NOW + timedelta(hours=8))
    assert "departed 0" in line
    files = _database_files(app, session)
    needles = [t.encode() for t in TRACES]
    left = [f"{p.name}: {n.decode()}" for p in files for n in needles if n in p.read_bytes()]
    assert left == [], _names(app, left)
