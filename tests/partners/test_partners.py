"""Partners directory: operations (validation, referrals, suggestions), pages and roles,
the referrals in a senior's history, and the demo directory."""

from __future__ import annotations

import html
from datetime import UTC, datetime, timedelta

import pytest
from flask_login import login_user
from sqlalchemy import func, select

from outreach.accounts.models import User
from outreach.audit.models import AuditEvent
from outreach.calls.models import Severity
from outreach.demo import load_demo
from outreach.escalation.models import Alert, AlertCause
from outreach.partners.models import Partner, PartnerKind, Referral
from outreach.partners.operations import (
    PartnerError,
    ReferralError,
    create_partner,
    partners_for,
    refer,
    update_partner,
)
from outreach.roster.models import EmergencyContact, Senior
from outreach.web.partners import _referrals_history
from tests.conftest import csrf_from, login
from tests.factories import make_org, make_senior, make_user

NOW = datetime(2026, 7, 1, 9, 30, tzinfo=UTC)


@pytest.fixture
def org(session):
    return make_org(session, name="Touraine Logement")


@pytest.fixture
def other_org(session):
    return make_org(session, name="Autre Bailleur")


def _partner(session, org, name="CCAS de Tours", kind=PartnerKind.ccas, **fields):
    return create_partner(session, org.id, name=name, kind=kind, **fields)


def _audit(session, entity):
    session.expire_all()
    return list(session.scalars(select(AuditEvent).where(AuditEvent.entity == entity)))


def _logged(client, session, user):
    session.commit()
    login(client, user.email)
    return client


def _text(resp) -> str:
    return html.unescape(resp.get_data(as_text=True))


# ------------------------------------------------------------------ operations


def test_create_normalises_and_audits_without_personal_values(session, org):
    partner = _partner(
        session,
        org,
        departements="37, 2a; 974 37",
        phone="02 47 12 34 56",
        email="  accueil@ccas-tours.example.org ",
        contact_name="Mme Durand",
        communes="  ",
    )
    assert partner.phone == "+33247123456"
    assert partner.departements == ["2A", "37", "974"]
    assert partner.email == "accueil@ccas-tours.example.org"
    assert partner.communes is None and partner.active
    [event] = _audit(session, "partner")
    assert (event.action, event.entity_id, event.organisation_id) == ("create", partner.id, org.id)
    assert "Durand" not in str(event.details) and "+33" not in str(event.details)


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"name": "  "}, "name", "Le nom du partenaire est obligatoire."),
        ({"kind": "hopital"}, "kind", "Choisissez le type de partenaire"),
        ({"phone": "12 34"}, "phone", "Numéro de téléphone invalide"),
        ({"email": "accueil.ccas.fr"}, "email", "Adresse e-mail invalide"),
        ({"email": "accueil@ccas"}, "email", "Adresse e-mail invalide"),
        ({"departements": "37, 20"}, "departements", "Département inconnu : 20"),
        ({"departements": "99"}, "departements", "Département inconnu : 99"),
        ({"departements": "Indre"}, "departements", "Département inconnu : Indre"),
        ({"notes": "x" * 2001}, "notes", "ne doit pas dépasser 2000 caractères"),
    ],
)
def test_create_refuses_invalid_values_in_french(session, org, fields, field, message):
    values = {"name": "CCAS de Tours", "kind": "ccas", **fields}
    with pytest.raises(PartnerError) as info:
        create_partner(session, org.id, **values)
    assert info.value.field == field
    assert message in str(info.value)
    assert session.scalar(select(func.count()).select_from(Partner)) == 0


def test_update_reports_changed_fields_and_deactivates(session, org):
    partner = _partner(session, org, phone="0247123456")
    assert update_partner(session, partner, phone="02 47 12 34 56", name="CCAS de Tours") == []
    changed = update_partner(session, partner, user_id=None, departements=["37"], active=False)
    assert changed == ["departements", "active"]
    assert partner.departements == ["37"] and not partner.active
    actions = [(e.action, e.details) for e in _audit(session, "partner")]
    assert actions == [("create", {"kind": "ccas"}), ("update", {"fields": changed})]
    with pytest.raises(PartnerError, match="obligatoire"):
        update_partner(session, partner, name="")
    assert partner.name == "CCAS de Tours"


def test_refer_records_the_referral_and_an_audit_event(session, org):
    senior = make_senior(session, org)
    partner = _partner(session, org)
    user = make_user(session, org, "social_worker")
    referral = refer(session, senior, partner, user.id, "  Aide au ménage à organiser  ", None, NOW)
    assert (referral.senior_id, referral.partner_id, referral.organisation_id) == (
        senior.id,
        partner.id,
        org.id,
    )
    assert referral.note == "Aide au ménage à organiser" and referral.created_at == NOW
    [event] = _audit(session, "senior")
    assert (event.action, event.entity_id, event.user_id) == ("refer", senior.id, user.id)
    assert event.details["partner_id"] == partner.id and event.details["with_note"] is True
    assert "ménage" not in str(event.details)


def test_refer_to_another_landlords_partner_is_refused(session, org, other_org):
    senior = make_senior(session, org)
    theirs = _partner(session, other_org, name="CCAS de Blois")
    with pytest.raises(ReferralError) as info:
        refer(session, senior, theirs, None, None, None, NOW)
    assert isinstance(info.value, ValueError)
    assert "ne fait pas partie de l'annuaire" in str(info.value)
    assert session.scalar(select(func.count()).select_from(Referral)) == 0


def test_refer_checks_active_partner_and_the_alert(session, org):
    senior, neighbour = make_senior(session, org), make_senior(session, org)
    partner = _partner(session, org)
    alert = Alert(
        organisation_id=org.id,
        senior_id=neighbour.id,
        cause=AlertCause.concern_signal,
        severity=Severity.concern,
        summary="Signal",
        due_at=NOW + timedelta(days=1),
    )
    session.add(alert)
    session.flush()
    with pytest.raises(ReferralError, match="ne concerne pas ce senior"):
        refer(session, senior, partner, None, None, alert.id, NOW)
    assert refer(session, neighbour, partner, None, None, alert.id, NOW).alert_id == alert.id
    update_partner(session, partner, active=False)
    with pytest.raises(ReferralError, match="n'est plus actif"):
        refer(session, senior, partner, None, None, None, NOW)


def test_partners_for_puts_the_departement_first(session, org, other_org):
    _partner(session, org, name="Aide à domicile Loire", kind="saad", departements=["41"])
    clic = _partner(session, org, name="CLIC Touraine", kind="clic", departements=["37", "41"])
    ccas = _partner(session, org, name="CCAS de Tours", departements=["37"])
    _partner(session, org, name="Ancien SSIAD", kind="ssiad", departements=["37"], active=False)
    _partner(session, other_org, name="CCAS d'ailleurs", departements=["37"])
    names = [p.name for p in partners_for(session, org.id, "37")]
    assert names == ["CCAS de Tours", "CLIC Touraine", "Aide à domicile Loire"]
    assert [p.name for p in partners_for(session, org.id)] == sorted(names, key=str.lower)
    assert partners_for(session, org.id, "41")[-1] is ccas and clic in partners_for(session, org.id)


# ------------------------------------------------------------------ pages and roles


def test_volunteer_gets_403_everywhere(client, session, org):
    partner = _partner(session, org)
    logged = _logged(client, session, make_user(session, org, "volunteer"))
    token = csrf_from(logged.get("/").text)
    assert logged.get("/partenaires/").status_code == 403
    assert logged.get("/partenaires/nouveau").status_code == 403
    assert logged.get(f"/partenaires/{partner.id}/modifier").status_code == 403
    resp = logged.post(f"/partenaires/{partner.id}/statut", data={"csrf_token": token})
    assert resp.status_code == 403
    assert "Partenaires" not in logged.get("/").text


def test_caller_may_view_but_not_edit(client, session, org):
    partner = _partner(session, org, phone="0247123456", departements="37", contact_name="Pôle")
    logged = _logged(client, session, make_user(session, org, "caller"))
    page = logged.get("/partenaires/")
    assert page.status_code == 200
    text = _text(page)
    assert "CCAS de Tours" in text and "02 47 12 34 56" in text and "Dép. 37" in text
    assert "Ajouter un partenaire" not in text and "/modifier" not in text
    assert "Partenaires" in logged.get("/").text  # the nav item
    token = csrf_from(logged.get("/").text)
    assert logged.get("/partenaires/nouveau").status_code == 403
    form = {"csrf_token": token, "name": "X", "kind": "ccas"}
    assert logged.post("/partenaires/nouveau", data=form).status_code == 403
    assert logged.get(f"/partenaires/{partner.id}/modifier").status_code == 403
    assert logged.post(f"/partenaires/{partner.id}/statut", data=form).status_code == 403
    session.expire_all()
    assert session.get(Partner, partner.id).active


def test_manager_creates_a_partner(client, session, org):
    logged = _logged(client, session, make_user(session, org, "manager"))
    page = logged.get("/partenaires/nouveau")
    assert page.status_code == 200
    data = {
        "csrf_token": csrf_from(page.text),
        "name": "SSIAD Tours Nord",
        "kind": "ssiad",
        "departements": "37",
        "phone": "02 47 00 11 22",
        "email": "ssiad@example.org",
    }
    resp = logged.post("/partenaires/nouveau", data=data)
    assert resp.status_code == 302
    session.expire_all()
    partner = session.scalar(select(Partner))
    assert (partner.organisation_id, partner.kind, partner.phone) == (
        org.id,
        PartnerKind.ssiad,
        "+33247001122",
    )
    assert "SSIAD Tours Nord" in _text(logged.get("/partenaires/"))


def test_validation_errors_are_shown_in_french(client, session, org):
    logged = _logged(client, session, make_user(session, org, "social_worker"))
    token = csrf_from(logged.get("/partenaires/nouveau").text)
    data = {
        "csrf_token": token,
        "name": "",
        "kind": "",
        "departements": "37, 99",
        "phone": "01 02",
        "email": "pas-une-adresse",
    }
    resp = logged.post("/partenaires/nouveau", data=data)
    assert resp.status_code == 400
    text = _text(resp)
    for message in (
        "Le partenaire n'a pas été enregistré",
        "Le nom du partenaire est obligatoire.",
        "Choisissez le type de partenaire dans la liste.",
        "Département inconnu : 99",
        "Numéro de téléphone invalide",
        "Adresse e-mail invalide",
    ):
        assert message in text, message
    session.expire_all()
    assert session.scalar(select(func.count()).select_from(Partner)) == 0


def test_edit_and_deactivate_instead_of_delete(client, session, org):
    partner = _partner(session, org, phone="+33247123456")
    logged = _logged(client, session, make_user(session, org, "social_worker"))
    page = logged.get(f"/partenaires/{partner.id}/modifier")
    assert page.status_code == 200
    assert 'value="02 47 12 34 56"' in page.text  # shown in the national format
    data = {"csrf_token": csrf_from(page.text), "name": "CCAS de Tours Centre", "kind": "ccas"}
    data |= {"phone": "02 47 12 34 56", "departements": "37"}
    assert logged.post(f"/partenaires/{partner.id}/modifier", data=data).status_code == 302
    resp = logged.post(
        f"/partenaires/{partner.id}/statut", data={"csrf_token": data["csrf_token"], "active": "0"}
    )
    assert resp.status_code == 302
    session.expire_all()
    partner = session.get(Partner, partner.id)
    assert (partner.name, partner.departements) == ("CCAS de Tours Centre", ["37"])
    assert not partner.active
    assert "Aucun partenaire ne correspond." in _text(logged.get("/partenaires/"))
    inactive = _text(logged.get("/partenaires/", query_string={"status": "inactive"}))
    assert "CCAS de Tours Centre" in inactive and "désactivé" in inactive


def test_filters_by_kind_and_departement(client, session, org):
    _partner(session, org, name="CCAS de Tours", departements=["37"])
    _partner(session, org, name="CCAS de Blois", departements=["41"])
    _partner(session, org, name="CLIC Touraine", kind="clic", departements=["37"])
    logged = _logged(client, session, make_user(session, org, "caller"))
    text = _text(logged.get("/partenaires/", query_string={"kind": "ccas"}))
    assert "CCAS de Tours" in text and "CCAS de Blois" in text and "CLIC Touraine" not in text
    text = _text(logged.get("/partenaires/", query_string={"dep": "37"}))
    assert "CCAS de Tours" in text and "CLIC Touraine" in text and "CCAS de Blois" not in text
    text = _text(logged.get("/partenaires/", query_string={"kind": "clic", "dep": "41"}))
    assert "Aucun partenaire ne correspond." in text


def test_another_landlords_partner_is_404(client, session, org, other_org):
    theirs = _partner(session, other_org, name="CCAS Secret")
    logged = _logged(client, session, make_user(session, org, "admin"))
    token = csrf_from(logged.get("/").text)
    assert logged.get(f"/partenaires/{theirs.id}/modifier").status_code == 404
    data = {"csrf_token": token, "name": "Pris", "kind": "ccas", "active": "0"}
    assert logged.post(f"/partenaires/{theirs.id}/modifier", data=data).status_code == 404
    assert logged.post(f"/partenaires/{theirs.id}/statut", data=data).status_code == 404
    assert "CCAS Secret" not in logged.get("/partenaires/").text
    # A forged organisation in the creation form is not one of the choices.
    data = {"csrf_token": token, "name": "Intrus", "kind": "ccas", "organisation": other_org.id}
    logged.post("/partenaires/nouveau", data=data)
    session.expire_all()
    assert session.scalar(select(Partner).where(Partner.name == "Intrus")).organisation_id == org.id
    assert session.get(Partner, theirs.id).active


# ------------------------------------------------------------------ senior history


def _referred(session, org, note="Portage de repas demandé"):
    senior = make_senior(session, org)
    partner = _partner(session, org)
    refer(session, senior, partner, None, note, None, NOW)
    return senior


def test_referral_listed_on_the_senior_page_for_a_social_worker(client, session, org):
    senior = _referred(session, org)
    logged = _logged(client, session, make_user(session, org, "social_worker"))
    text = _text(logged.get(f"/seniors/{senior.id}"))
    assert "Orienté(e) vers CCAS de Tours (CCAS)" in text
    assert "Portage de repas demandé" in text


def test_referral_hidden_from_a_volunteer(app, client, session, org):
    senior = _referred(session, org)
    volunteer = make_user(session, org, "volunteer")
    worker = make_user(session, org, "social_worker")
    logged = _logged(client, session, volunteer)
    assert logged.get(f"/seniors/{senior.id}").status_code == 403
    # The provider itself: nothing for a volunteer, whichever page would call it.
    for user, expected in ((volunteer, 0), (worker, 1)):
        with app.test_request_context():
            login_user(session.get(User, user.id))
            assert len(_referrals_history(session, senior)) == expected


def test_referral_of_another_landlord_is_not_listed(app, session, org, other_org):
    senior = _referred(session, org)
    intruder = make_user(session, other_org, "admin")
    with app.test_request_context():
        login_user(intruder)
        assert _referrals_history(session, senior) == []


# ------------------------------------------------------------------ demo


def test_demo_directory(session):
    assert load_demo(session) is not None
    partners = session.scalars(select(Partner)).all()
    kinds = {p.kind for p in partners}
    assert {PartnerKind.ccas, PartnerKind.clic, PartnerKind.ssiad, PartnerKind.saad} <= kinds
    assert PartnerKind.croix_rouge in kinds
    assert "CCAS de Tours" in {p.name for p in partners}
    assert len({p.organisation_id for p in partners}) == 2
    for p in partners:
        assert p.phone.startswith("+3326191") and p.email.endswith("@example.org"), p.name
        assert p.departements and p.active
    # No demo contact shares a number with another, partners included.
    numbers = [p.phone for p in partners]
    for column in (Senior.phone_landline, Senior.phone_mobile, EmergencyContact.phone, User.phone):
        numbers += [n for n in session.scalars(select(column)) if n]
    assert len(numbers) == len(set(numbers))
