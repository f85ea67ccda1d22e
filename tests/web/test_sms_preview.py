"""The SMS preview on the campaign page: text, encoding, length, problems."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from html import unescape

import pytest
from jinja2 import Environment, FileSystemLoader, StrictUndefined

from outreach.calls import scripts
from outreach.campaigns.models import CampaignKind, ChannelPolicy
from outreach.campaigns.operations import create_campaign
from outreach.campaigns.schedule import paris_today
from outreach.telephony.sms_text import STOP_FOOTER, analyse, ensure_compliant
from outreach.web.sms_preview import sms_preview
from tests.conftest import login
from tests.factories import make_senior


@pytest.fixture
def logged(client, session, manager):
    session.commit()
    login(client, manager.email)
    return client


def _sms_campaign(session, org, name="Courtoisie SMS", kind=CampaignKind.courtesy, **kw):
    kw.setdefault("channel_policy", ChannelPolicy.sms)
    return create_campaign(session, org.id, name, kind, **kw)


def _section(html: str) -> str | None:
    """The preview card as plain text, or None when the page has none."""
    match = re.search(r'<section class="card sms-preview".*?</section>', html, re.S)
    if match is None:
        return None
    return " ".join(unescape(re.sub(r"<[^>]+>", " ", match.group(0))).split())


def test_preview_for_the_first_targeted_senior(session, org, logged):
    make_senior(session, org, last_name="Ailleurs", departement="41")
    make_senior(session, org, civility="M.", last_name="Bernard", departement="37")
    c = _sms_campaign(session, org, targeting={"departements": ["37"]})
    session.commit()
    resp = logged.get(f"/campagnes/{c.id}")
    assert resp.status_code == 200
    section = _section(resp.text)
    assert section is not None
    assert "Bonjour M. Bernard, ici Touraine Logement." in section
    assert "Ailleurs" not in section
    assert "Répondez STOP" in section
    assert re.search(r"GSM-7, 2 SMS \(\d{3}/306 caractères\)", section)
    assert "à cause de" not in section
    assert "ne respecte pas" not in section


def test_preview_with_a_fictive_senior_when_nobody_matches(session, org, logged):
    c = _sms_campaign(session, org, "Canicule SMS", CampaignKind.canicule)
    session.commit()
    section = _section(logged.get(f"/campagnes/{c.id}").text)
    assert section is not None
    assert "Mme Jeanne Martin, 82 ans" in section
    assert "Bonjour Mme Martin, ici Touraine Logement." in section
    assert "appelez le 15" in section
    assert "GSM-7, 2 SMS" in section


def test_ucs2_text_names_the_characters(session, org, logged):
    c = _sms_campaign(session, org, "Fête des voisins", CampaignKind.reminder)
    session.commit()
    section = _section(logged.get(f"/campagnes/{c.id}").text)
    assert section is not None
    assert "Petit rappel : Fête des voisins." in section
    assert re.search(r"UCS-2, \d SMS \(\d+/\d+ caractères\) à cause de : ê", section)


def test_no_preview_for_a_staff_campaign(session, org, logged):
    c = _sms_campaign(session, org, channel_policy=ChannelPolicy.staff)
    session.commit()
    resp = logged.get(f"/campagnes/{c.id}")
    assert resp.status_code == 200
    assert _section(resp.text) is None


@pytest.fixture
def bare_script(tmp_path, monkeypatch):
    """A script folder "bare" whose sms.txt has neither the sender nor STOP."""
    (tmp_path / "bare").mkdir()
    (tmp_path / "bare" / "sms.txt").write_text(
        "Bonjour {{ senior.last_name }}, ça va ?\n", encoding="utf-8"
    )
    (tmp_path / "silent").mkdir()
    env = Environment(
        loader=FileSystemLoader(str(tmp_path)), undefined=StrictUndefined, autoescape=False
    )
    monkeypatch.setattr(scripts, "_env", lambda markdown=False: env)


def test_problems_shown_with_the_text_as_sent(session, org, logged, bare_script):
    c = _sms_campaign(session, org, script="bare")
    session.commit()
    section = _section(logged.get(f"/campagnes/{c.id}").text)
    assert section is not None
    assert "ne nomme pas l'expéditeur (Touraine Logement)" in section
    assert "comment ne plus en recevoir" in section
    # The footer the dispatcher adds is in the preview, so the length is the real one.
    assert f"Bonjour Martin, ça va ? Touraine Logement - {STOP_FOOTER}" in section
    assert "à cause de : ç" in section


def test_sms_preview_values_and_none_without_sms_script(session, org, bare_script):
    today = paris_today(datetime.now(UTC))
    c = _sms_campaign(session, org, script="bare")
    preview = sms_preview(session, c, org, today)
    assert preview is not None
    assert preview["script_text"] == "Bonjour Martin, ça va ?"
    assert preview["text"] == ensure_compliant("Bonjour Martin, ça va ?", org.name)
    assert preview["info"] == analyse(preview["text"])
    assert preview["forcing"] == ["ç"]
    assert len(preview["problems"]) == 2
    assert preview["real"] is False and preview["age"] == 82

    c.script = "silent"
    assert sms_preview(session, c, org, today) is None
