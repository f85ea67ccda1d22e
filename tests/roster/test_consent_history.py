"""Consent history: every change of a senior's consent is one event, from every path (the
page, a file, a STOP, a refusal on a call), and the senior page agrees with it."""

from __future__ import annotations

import ast
import io
from datetime import UTC, date, datetime
from pathlib import Path

import pytest
from sqlalchemy import func, select

from outreach.calls.models import Attempt, AttemptChannel, Disposition
from outreach.queue.recording import apply_life_events
from outreach.roster.consent import CONSENT_FIELDS, change_of, opt_out, set_consent
from outreach.roster.importer import import_roster
from outreach.roster.models import (
    Channel,
    ConsentChange,
    ConsentEvent,
    ConsentSource,
    ConsentStatus,
    Senior,
)
from outreach.telephony import sms
from tests.conftest import csrf_from, login
from tests.factories import make_org, make_senior, make_user
from tests.web.test_roster_pages import _form_values

NOW = datetime(2026, 3, 10, 9, 0, tzinfo=UTC)
G, R, W, U = (ConsentStatus.given, ConsentStatus.refused, ConsentStatus.withdrawn,
              ConsentStatus.unknown)  # fmt: skip


@pytest.fixture
def org(session):
    return make_org(session, "bailleur-consent")


def events(session, senior) -> list[tuple]:
    stmt = (
        select(ConsentEvent)
        .where(ConsentEvent.senior_id == senior.id)
        .order_by(ConsentEvent.id)  # the import stamps its own clock: order of writing
    )
    return [
        (e.change.value, e.source.value, e.status.value, e.phone, e.sms)
        for e in session.scalars(stmt)
    ]


def assert_history_ends_in_state(session, senior) -> None:
    session.expire_all()
    senior = session.get(Senior, senior.id)
    last = session.scalars(
        select(ConsentEvent)
        .where(ConsentEvent.senior_id == senior.id)
        .order_by(ConsentEvent.id.desc())
    ).first()
    assert last is not None
    assert (last.status, last.phone, last.sms) == (
        senior.consent_status,
        senior.consent_phone,
        senior.consent_sms,
    )


@pytest.mark.parametrize(
    "old, new, change",
    [
        ((U, False, False), (G, True, True), ConsentChange.given),
        ((U, False, False), (R, False, False), ConsentChange.refused),
        ((G, True, True), (W, False, False), ConsentChange.withdrawn),
        ((G, True, True), (U, False, False), ConsentChange.withdrawn),
        ((W, False, False), (G, True, False), ConsentChange.regiven),
        ((R, False, False), (G, True, True), ConsentChange.regiven),
        ((G, True, True), (G, True, False), ConsentChange.channels),
        ((G, True, True), (G, True, True), None),
        ((R, False, False), (R, False, False), None),
    ],
)
def test_change_of(old, new, change):
    assert change_of(old, new) == change


def _set(session, senior, status, phone=True, sms_=True, **kw):
    kw.setdefault("source", ConsentSource.page)
    kw.setdefault("user_id", None)
    kw.setdefault("stated_on", None)
    return set_consent(
        session, senior, status=status, phone=phone, sms=sms_, now=kw.pop("now", NOW), **kw
    )


def test_set_consent_records_each_change_once_and_only_changes(session, org):
    senior = make_senior(session, org, consent_status=U, consent_phone=False, consent_sms=False)
    assert _set(session, senior, G, stated_on=date(2026, 1, 5)) is not None
    assert _set(session, senior, G, stated_on=date(2026, 1, 5)) is None  # nothing changed
    assert _set(session, senior, G, True, False) is not None  # SMS no longer
    withdrawn = _set(session, senior, W)  # the form's boxes still ticked: no channel held
    assert withdrawn is not None and (withdrawn.phone, withdrawn.sms) == (False, False)
    assert _set(session, senior, G) is not None
    session.flush()
    assert events(session, senior) == [
        ("given", "page", "given", True, True),
        ("channels", "page", "given", True, False),
        ("withdrawn", "page", "withdrawn", False, False),
        ("regiven", "page", "given", True, True),
    ]
    assert senior.consent_date is None  # a new status without a date: not the old one
    assert_history_ends_in_state(session, senior)


def test_opt_out_is_recorded_once_with_its_date(session, org):
    senior = make_senior(session, org)
    assert opt_out(session, senior, Channel.sms, source=ConsentSource.sms, user_id=None, now=NOW)
    later = datetime(2026, 3, 11, tzinfo=UTC)
    assert not opt_out(
        session, senior, Channel.sms, source=ConsentSource.sms, user_id=None, now=later
    )
    session.flush()
    session.expire_all()
    assert session.get(Senior, senior.id).opted_out_sms_at == NOW
    assert events(session, senior) == [("opted_out_sms", "sms", "given", True, True)]


def test_stop_by_sms_and_refusal_on_a_call_go_into_the_history(session, org):
    senior = make_senior(session, org)
    caller = make_user(session, org, "caller")
    sms.opt_out(session, senior, NOW, "reply")
    attempt = Attempt(
        organisation_id=org.id,
        senior_id=senior.id,
        channel=AttemptChannel.staff,
        user_id=caller.id,
        started_at=NOW,
        disposition=Disposition.refused,
    )
    session.add(attempt)
    session.flush()
    apply_life_events(session, senior, attempt, None, caller.id, NOW)
    session.flush()
    assert events(session, senior) == [
        ("opted_out_sms", "sms", "given", True, True),
        ("opted_out_phone", "call", "given", True, True),
    ]
    rows = session.execute(
        select(ConsentEvent.detail, ConsentEvent.user_id)
        .where(ConsentEvent.senior_id == senior.id)
        .order_by(ConsentEvent.id)
    ).all()
    assert [tuple(r) for r in rows] == [("reply", None), (None, caller.id)]


CONSENT_FILE = "Référence;Nom;Consentement;Date du consentement\n" + "".join(
    f"C{i};Nom{i};{{}};{{}}\n" for i in range(1, 5)
)


def _import(session, org, app, cells, dry_run=False):
    data = CONSENT_FILE.format(*cells).encode()
    with app.app_context():
        result = import_roster(
            session, org, io.BytesIO(data), "c.csv", config=app.config["OUTREACH"],
            dry_run=dry_run,
        )  # fmt: skip
    # One import, one transaction (as the page and the CLI do).
    session.rollback() if dry_run else session.commit()
    return result


def _by_ref(session, org) -> dict[str, Senior]:
    session.expire_all()
    rows = session.scalars(select(Senior).where(Senior.organisation_id == org.id))
    return {s.external_ref: s for s in rows}


def _count(session) -> int:
    return session.scalar(select(func.count()).select_from(ConsentEvent)) or 0


def test_import_records_the_consent_of_new_and_updated_seniors(app, session, org):
    session.commit()  # the dry run's rollback keeps the organisation
    _import(session, org, app, ["", "", "Non", "", "Oui", "05/01/2024", "", ""], dry_run=True)
    assert _count(session) == 0  # a dry run records nothing
    _import(session, org, app, ["Oui", "05/01/2024", "Non", "", "", "", "", ""])
    seniors = _by_ref(session, org)
    assert events(session, seniors["C1"]) == [("given", "import", "given", True, True)]
    assert events(session, seniors["C2"]) == [("refused", "import", "refused", False, False)]
    assert events(session, seniors["C3"]) == []
    stated = session.scalar(
        select(ConsentEvent.stated_on).where(ConsentEvent.senior_id == seniors["C1"].id)
    )
    assert stated == date(2024, 1, 5)
    # The same file again: nothing changed, no event. Then C1 withdraws in the application:
    # a file's "Oui" does not re-grant it, and records nothing.
    _import(session, org, app, ["Oui", "05/01/2024", "Non", "", "", "", "", ""])
    assert _count(session) == 2
    seniors = _by_ref(session, org)  # the importer let go of the ones it read
    _set(session, seniors["C1"], W, now=datetime(2026, 3, 12, tzinfo=UTC))
    session.commit()
    _import(session, org, app, ["Oui", "", "Oui", "", "Non", "", "", ""])
    seniors = _by_ref(session, org)
    assert [e[0] for e in events(session, seniors["C1"])] == ["given", "withdrawn"]
    assert [e[0] for e in events(session, seniors["C2"])] == ["refused", "regiven"]
    assert [e[0] for e in events(session, seniors["C3"])] == ["refused"]
    for senior in seniors.values():
        if senior.consent_status != U:
            assert_history_ends_in_state(session, senior)


def test_the_edit_form_records_a_withdrawal_and_the_page_agrees(client, session, org):
    manager = make_user(session, org, "manager")
    senior = make_senior(session, org, consent_date=date(2024, 5, 2), consent_source="visite")
    session.commit()
    login(client, manager.email)
    page = client.get(f"/seniors/{senior.id}/modifier").text
    data = _form_values(page, consent_status="withdrawn", csrf_token=csrf_from(page))
    assert client.post(f"/seniors/{senior.id}/modifier", data=data).status_code == 302
    session.expire_all()
    stored = session.get(Senior, senior.id)
    assert (stored.consent_status, stored.consent_phone, stored.consent_sms) == (W, False, False)
    assert stored.consent_date != date(2024, 5, 2)  # the day it was recorded, not the old one
    assert stored.consent_source == "page"
    event = session.scalars(select(ConsentEvent).where(ConsentEvent.senior_id == senior.id)).one()
    assert (event.change, event.source, event.user_id) == (
        ConsentChange.withdrawn,
        ConsentSource.page,
        manager.id,
    )
    text = client.get(f"/seniors/{senior.id}").text
    card = text[text.index('id="s-consent"') : text.index('id="s-emergency"')]
    assert f"Retiré le {stored.consent_date:%d/%m/%Y}" in card
    assert "Accepte" not in card and "02/05/2024" not in card
    assert "Consentement retiré" in card and "Fiche (saisie)" in card
    assert manager.name in card


def test_the_card_shows_accepted_channels_and_opt_outs_with_their_dates(client, session, org):
    manager = make_user(session, org, "manager")
    senior = make_senior(session, org, consent_date=date(2024, 5, 2))
    opt_out(session, senior, Channel.sms, source=ConsentSource.sms, user_id=None, now=NOW)
    session.commit()
    login(client, manager.email)
    text = client.get(f"/seniors/{senior.id}").text
    card = text[text.index('id="s-consent"') : text.index('id="s-emergency"')]
    assert "Donné le 02/05/2024" in card
    assert "appels</dd>" in card  # SMS refused since: no longer accepted
    assert "depuis le 10/03/2026" in card
    assert "Ne souhaite plus recevoir de SMS (STOP)" in card


# Modules allowed to assign the consent fields: the one place, and the model itself.
ALLOWED = {"outreach/roster/consent.py", "outreach/roster/models.py"}
PACKAGE = Path(__file__).resolve().parents[2] / "outreach"


def _assignments(path: Path) -> list[str]:
    found = []
    tree = ast.parse(path.read_text(encoding="utf-8"))
    for node in ast.walk(tree):
        targets: list[ast.expr] = []
        if isinstance(node, ast.Assign):
            targets = [t for target in node.targets for t in ast.walk(target)]
        elif isinstance(node, (ast.AugAssign, ast.AnnAssign)):
            targets = [node.target]
        for target in targets:
            if isinstance(target, ast.Attribute) and target.attr in CONSENT_FIELDS:
                found.append(f"{path}:{node.lineno}: .{target.attr} =")
        if isinstance(node, ast.Call):
            func_name = getattr(node.func, "id", None) or getattr(node.func, "attr", None)
            if func_name in ("Senior", "values"):
                found += [
                    f"{path}:{node.lineno}: {func_name}({k.arg}=...)"
                    for k in node.keywords
                    if k.arg in CONSENT_FIELDS
                ]
            if func_name == "setattr" and len(node.args) > 1:
                name = node.args[1]
                if isinstance(name, ast.Constant) and name.value in CONSENT_FIELDS:
                    found.append(f"{path}:{node.lineno}: setattr(..., {name.value!r})")
    return found


def test_consent_fields_are_assigned_in_roster_consent_only():
    # Anywhere else, a change would skip the consent history (and the card would lie).
    found = [
        line
        for path in sorted(PACKAGE.rglob("*.py"))
        if str(path.relative_to(PACKAGE.parent)) not in ALLOWED
        for line in _assignments(path)
    ]
    assert found == [], "change consent through outreach.roster.consent:\n" + "\n".join(found)


def test_the_scan_finds_an_assignment(tmp_path):
    # The scan above must be able to fail.
    bad = tmp_path / "bad.py"
    bad.write_text(
        "senior.opted_out_sms_at = now\nSenior(consent_status=1)\n"
        "setattr(s, 'consent_phone', True)\n",
        encoding="utf-8",
    )
    assert len(_assignments(bad)) == 3
