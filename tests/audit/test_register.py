"""The record of processing and the notice: built from the configuration and the models."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
from click.testing import CliRunner
from flask.cli import ScriptInfo

from outreach.calls.models import Attempt, Signal
from outreach.cli import cli
from outreach.config import load_config
from outreach.panel.models import ListingRow, PanelMember
from outreach.privacy.register import FIELDS, TECHNICAL, TO_COMPLETE, build_register
from outreach.roster.models import EmergencyContact, Senior
from outreach.workshops.models import Invitation
from tests.conftest import login
from tests.factories import make_org, make_user

TODAY = date(2025, 6, 2)


def _text(register) -> str:
    parts = [c.retention for c in register.categories]
    parts += [p.name + p.role + (p.transfer or "") for p in register.processors]
    return " ".join(parts + register.transfers + register.security)


@pytest.mark.parametrize(
    "model", [Senior, EmergencyContact, Attempt, Signal, ListingRow, PanelMember, Invitation]
)
def test_every_column_is_described(model):
    """A column added to these models must be described in the record (or be a key)."""
    columns = {c.key for c in model.__table__.columns}
    assert columns - TECHNICAL == set(FIELDS[model])


def test_every_described_field_is_in_a_category():
    register = build_register(load_config(environ={}), "Bailleur", TODAY)
    listed = {f for c in register.categories for f in c.fields}
    for model in (Senior, EmergencyContact, Signal, ListingRow, PanelMember, Invitation):
        assert set(FIELDS[model].values()) <= listed, model
    assert set(FIELDS[Attempt].values()) <= listed


def test_retention_defaults_are_stated():
    register = build_register(load_config(environ={}), "Bailleur", TODAY)
    text = _text(register)
    for figure in ("24 mois", "36 mois", "12 mois après sa fin", "30 jours", "5 ans"):
        assert figure in text, figure


def test_the_configured_retention_is_stated():
    retention = {"notes_months": 18, "details_months": 48, "departed_months": 6,
                 "payload_days": 7, "audit_years": 3}  # fmt: skip
    config = load_config({"retention": retention}, environ={})
    text = _text(build_register(config, "Bailleur", TODAY))
    for figure in ("18 mois", "48 mois", "6 mois après sa fin", "7 jours", "3 ans"):
        assert figure in text, figure
    for default in ("24 mois", "36 mois", "30 jours", "5 ans"):
        assert default not in text, default


def test_sensitive_categories_are_marked():
    register = build_register(load_config(environ={}), "Bailleur", TODAY)
    sensitive = {c.title for c in register.categories if c.sensitive}
    assert any("Signaux" in t for t in sensitive) and "Autonomie" in sensitive
    assert "Chute" in register.signal_kinds


def test_twilio_is_a_processor_with_a_transfer_to_check():
    config = load_config(
        {"telephony": {"backend": "twilio", "caller_id": "+33974123456",
                       "account_sid": "AC" + "1" * 32, "auth_token": "t" * 32}},
        environ={},
    )  # fmt: skip
    register = build_register(config, "Bailleur", TODAY)
    twilio = next(p for p in register.processors if p.name == "Twilio Inc.")
    assert "États-Unis" in twilio.location
    assert "Data Privacy Framework" in twilio.transfer and "DPO" in twilio.transfer
    simulator = build_register(load_config(environ={}), "Bailleur", TODAY)
    assert not any("Twilio" in p.name for p in simulator.processors)
    assert simulator.transfers == ["Aucun transfert hors de l'Union européenne n'est configuré."]


def test_smtp_provider_is_named_when_mail_goes_out():
    config = load_config({"mail": {"backend": "smtp", "host": "smtp.example.fr"}}, environ={})
    register = build_register(config, "Bailleur", TODAY)
    assert any("smtp.example.fr" in p.name for p in register.processors)


@pytest.fixture
def manager(session):
    org = make_org(session, "touraine", "Touraine Logement")
    user = make_user(session, org, "manager")
    session.commit()
    return user


def test_register_page_follows_the_configuration(app, client, manager):
    login(client, manager.email)
    html = client.get("/confidentialite/registre").get_data(as_text=True)
    assert "Registre des activités de traitement" in html and "Touraine Logement" in html
    assert "24 mois" in html
    assert TO_COMPLETE in html  # no DPO configured
    app.config["OUTREACH"].setdefault("retention", {})["notes_months"] = 18
    app.config["OUTREACH"]["privacy"]["dpo_name"] = "Claire Dupuis"
    app.config["OUTREACH"]["privacy"]["dpo_email"] = "dpo@touraine-logement.fr"
    html = client.get("/confidentialite/registre").get_data(as_text=True)
    assert "18 mois" in html and "24 mois" not in html
    assert "Claire Dupuis" in html and "dpo@touraine-logement.fr" in html


def test_notice_page_in_plain_french(app, client, manager):
    login(client, manager.email)
    html = client.get("/confidentialite/notice").get_data(as_text=True)
    assert "Notice d&#39;information" in html or "Notice d'information" in html
    assert "STOP" in html and "CNIL" in html
    assert "24 mois" in html
    assert f"Nom : {TO_COMPLETE}" in html
    assert "Twilio" not in html  # the simulator sends nothing anywhere
    html = client.get("/confidentialite/").get_data(as_text=True)
    assert "/confidentialite/registre" in html and "/journal/" in html


def test_another_organisation_is_404(session, client, manager):
    other = make_org(session)
    session.commit()
    login(client, manager.email)
    assert client.get(f"/confidentialite/registre?org={other.id}").status_code == 404


def _cli(app, *args: str):
    return CliRunner().invoke(cli, ["privacy", *args], obj=ScriptInfo(create_app=lambda: app))


def test_cli_writes_both_documents(app, manager, tmp_path: Path):
    out = tmp_path / "registre.html"
    result = _cli(app, "register", "--org", "touraine", "--out", str(out))
    assert result.exit_code == 0, result.output
    html = out.read_text(encoding="utf-8")
    assert html.startswith("<!doctype html>")
    assert "Touraine Logement" in html and "36 mois" in html and "<style>" in html
    assert "site-header" not in html  # a document of its own, not a page of the site
    result = _cli(app, "notice", "--org", "touraine")
    assert result.exit_code == 0, result.output
    assert "Vos droits" in result.output and "STOP" in result.output


def test_cli_unknown_organisation(app, manager):
    result = _cli(app, "register", "--org", "nowhere")
    assert result.exit_code == 1
    assert "unknown organisation" in result.output
