"""Right of access: everything held about her, as JSON and as a French document for her."""

from __future__ import annotations

import base64
import hashlib
import json
import re

import pytest
from click.testing import CliRunner
from flask.cli import ScriptInfo
from sqlalchemy import select

from outreach.audit.models import AuditEvent
from outreach.cli import cli
from outreach.privacy.export import collect
from outreach.roster.models import Senior
from tests.conftest import login
from tests.privacy.conftest import FIRST, LAST, MOBILE, REF

HEADINGS = (
    "Votre identité",
    "Vos consentements",
    "Nos appels et SMS",
    "Les alertes transmises à votre référent(e)",
    "Qui a consulté votre dossier",
)


def _collect(app, session, held):
    with app.app_context():
        return collect(session, session.get(Senior, held.senior_id))


def test_collect_holds_everything_and_is_plain_json(app, session, held):
    data = _collect(app, session, held)
    json.dumps(data)  # no default= needed: ISO dates and codes only
    who = data["identity"]
    assert (who["first_name"], who["last_name"], who["phone_mobile"]) == (FIRST, LAST, MOBILE)
    assert who["birth_date"] == "1938-05-17" and who["pause_reason"] == "hôpital Bretonneau"
    assert data["organisation"]["name"] == "Touraine Logement"
    assert data["emergency_contacts"][0]["name"] == f"Paul {LAST}"
    assert [e["change"] for e in data["consent_history"]] == ["given"]
    call, reply = data["contacts"]
    assert call["outcome_label"] == "Joint(e), une inquiétude"
    assert call["by"] == held.caller.name and call["duration_seconds"] == 312
    assert call["campaign"] == "Courtoisie 2026" and "se sent seule" in call["notes"]
    assert reply["direction"] == "inbound" and reply["reply"].startswith("C'est")
    assert [t["state"] for t in data["tasks"]] == ["done", "pending"]
    assert data["signals"][0]["kind"] == "isolation"
    assert data["alerts"][0]["events"][0]["action"] == "opened"
    assert data["referrals"][0]["partner"] == "CCAS de Joué-lès-Tours"
    assert data["skips"][0]["reason"] == "paused"
    assert data["accesses"] == [
        {"at": data["accesses"][0]["at"], "user": held.manager.name, "action": "view"}
    ]


def test_a_manager_downloads_the_json_and_the_export_is_audited(app, session, held, client):
    login(client, held.manager.email)
    page = client.get(f"/seniors/{held.senior_id}").text
    assert "Exporter ses données" in page and "Effacer ses données" not in page
    resp = client.get(f"/seniors/{held.senior_id}/donnees.json")
    assert resp.status_code == 200
    assert resp.headers["Content-Disposition"] == f'attachment; filename="donnees-{REF}.json"'
    data = json.loads(resp.text)
    assert data["identity"]["external_ref"] == REF and data["exported_at"]
    session.rollback()
    exports = session.scalars(select(AuditEvent).where(AuditEvent.action == "export")).all()
    assert [(e.entity, e.entity_id, e.user_id, e.details) for e in exports] == [
        ("senior", held.senior_id, held.manager.id, {"format": "json", "via": "page"})
    ]


def test_the_document_is_french_standalone_and_printable(app, session, held, client):
    login(client, held.admin.email)
    resp = client.get(f"/seniors/{held.senior_id}/donnees.html")
    assert resp.status_code == 200 and resp.mimetype == "text/html"
    html = resp.text
    for heading in HEADINGS:
        assert f"<h2>{heading}</h2>" in html
    assert f"Madame\n    {LAST}," in html and "06 98 76 54 31" in html
    assert "Joint(e), une inquiétude" in html and "se sent seule" in html
    assert "site-header" not in html and "<nav" not in html and "<script" not in html
    assert "@media print" in html
    # The inline style, and nothing else, is allowed by the page's own CSP.
    style = re.search(r"<style>(.*?)</style>", html, re.S).group(1)
    digest = base64.b64encode(hashlib.sha256(style.encode()).digest()).decode()
    csp = resp.headers["Content-Security-Policy"]
    assert f"style-src 'sha256-{digest}'" in csp and "default-src 'none'" in csp


@pytest.mark.parametrize("role", ["caller", "volunteer", "social_worker"])
def test_other_roles_may_not_export(app, session, held, client, role):
    from outreach.accounts.models import Organisation
    from tests.factories import make_user

    user = make_user(session, session.get(Organisation, held.org_id), role)
    session.commit()
    login(client, user.email)
    assert client.get(f"/seniors/{held.senior_id}/donnees.json").status_code == 403
    assert client.get(f"/seniors/{held.senior_id}/donnees.html").status_code == 403
    if role != "volunteer":
        assert "Exporter ses données" not in client.get(f"/seniors/{held.senior_id}").text


def _cli(app, *args: str):
    return CliRunner().invoke(cli, ["senior", *args], obj=ScriptInfo(create_app=lambda: app))


def test_the_command_exports_json_or_the_document(app, session, held, tmp_path):
    result = _cli(app, "export", "--org", "bailleur-rgpd", REF)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["identity"]["last_name"] == LAST
    out = tmp_path / "pour-elle.html"
    result = _cli(app, "export", "--org", "bailleur-rgpd", REF, "--out", str(out))
    assert result.exit_code == 0, result.output
    assert "<h2>Votre identité</h2>" in out.read_text(encoding="utf-8")
    forced = tmp_path / "x.txt"
    assert _cli(app, "export", "--org", "bailleur-rgpd", REF, "--out", str(forced),
                "--format", "json").exit_code == 0  # fmt: skip
    assert json.loads(forced.read_text(encoding="utf-8"))["format"] == "outreach-senior-export"
    session.rollback()
    vias = session.scalars(
        select(AuditEvent.details).where(AuditEvent.action == "export").order_by(AuditEvent.id)
    ).all()
    assert [d["format"] for d in vias] == ["json", "html", "json"]


@pytest.mark.parametrize(
    ("org", "ref", "message"),
    [
        ("nulle-part", REF, "outreach : organisation inconnue : nulle-part"),
        ("bailleur-rgpd", "ZZZ", "outreach : référence inconnue dans bailleur-rgpd : ZZZ"),
    ],
)
def test_unknown_org_or_reference_is_one_french_line(app, session, held, org, ref, message):
    result = _cli(app, "export", "--org", org, ref)
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [message]
    assert result.stdout == ""


def test_her_calls_to_the_service_and_the_door_knocks_are_in_the_export(app, session, held, client):
    from datetime import UTC, datetime

    from outreach.doorknock.models import DoorKnock, KnockOutcome, KnockState
    from outreach.telephony.models import InboundCall

    at = datetime(2026, 7, 15, 10, 0, tzinfo=UTC)
    session.add_all(
        [
            InboundCall(organisation_id=held.org_id, senior_id=held.senior_id,
                        from_number=MOBILE, call_sid="CA" + "7" * 32, received_at=at,
                        handled_at=at, note="rappelée, tout va bien"),
            DoorKnock(organisation_id=held.org_id, senior_id=held.senior_id,
                      residence="Les Tilleuls bât. B", due_at=at, state=KnockState.done,
                      outcome=KnockOutcome.seen_well, done_at=at, note="volets fermés"),
        ]
    )  # fmt: skip
    session.commit()
    data = _collect(app, session, held)
    (call,) = data["calls_received"]
    assert call["from_number"] == MOBILE and call["note"] == "rappelée, tout va bien"
    (visit,) = data["home_visits"]
    assert visit["outcome_label"] == "Vu(e), va bien" and visit["note"] == "volets fermés"
    login(client, held.manager.email)
    page = client.get(f"/seniors/{held.senior_id}/donnees.html").get_data(as_text=True)
    assert "Passages à domicile" in page and "volets fermés" in page
    assert "rappelée, tout va bien" in page


def test_her_workshops_and_her_place_in_the_panel_are_in_the_export(app, session, held, client):
    from datetime import UTC, date, datetime

    from outreach.panel.models import Draw, ListingRow, MemberRole, MemberStatus, PanelMember
    from outreach.workshops.models import Invitation, InvitationStatus, Workshop

    at = datetime(2027, 3, 2, 13, 0, tzinfo=UTC)
    workshop = Workshop(organisation_id=held.org_id, theme="Mémoire et bien-être", starts_at=at,
                        place="Salle des Tilleuls", capacity=12, territory="37")  # fmt: skip
    row = ListingRow(organisation_id=held.org_id, reference="ANON-1", departement="37")
    draw = Draw(organisation_id=held.org_id, seed=1, created_at=at)
    session.add_all([workshop, row, draw])
    session.flush()
    session.add_all(
        [
            Invitation(organisation_id=held.org_id, workshop_id=workshop.id,
                       senior_id=held.senior_id, channel="sms",
                       status=InvitationStatus.registered, transport_needed=True,
                       transport_note="fauteuil roulant", attended=True),
            PanelMember(draw_id=draw.id, organisation_id=held.org_id, listing_row_id=row.id,
                        departement="37", role=MemberRole.drawn, status=MemberStatus.agreed,
                        senior_id=held.senior_id, agreement_date=date(2027, 2, 1)),
        ]
    )  # fmt: skip
    session.commit()
    data = _collect(app, session, held)
    (invited,) = data["workshops"]
    assert invited["theme"] == "Mémoire et bien-être" and invited["status"] == "registered"
    assert invited["transport_note"] == "fauteuil roulant" and invited["attended"] is True
    assert data["panel"] == [
        {"drawn_at": at.isoformat(), "status": "agreed", "agreement_date": "2027-02-01"}
    ]
    login(client, held.manager.email)
    page = client.get(f"/seniors/{held.senior_id}/donnees.html").get_data(as_text=True)
    assert "Mémoire et bien-être" in page and "Inscrit(e)" in page and "fauteuil roulant" in page
    assert "accord de principe du 2027-02-01" in page
