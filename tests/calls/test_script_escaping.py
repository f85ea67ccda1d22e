"""A senior's name is text in the call script, never Markdown (issue 10: headings, links and
``tel:`` links could be injected through a roster file), and the edit form refuses names
and other one-line fields with a line break or a control character."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from html import unescape

import pytest
import time_machine

from outreach.accounts.models import Organisation
from outreach.calls.scripts import (
    available_scripts,
    markdown_text,
    render_staff_html,
    render_text,
    script_context,
)
from outreach.campaigns.generation import generate_day
from outreach.campaigns.models import Campaign, CampaignKind, CampaignState
from outreach.campaigns.operations import create_campaign, set_state
from outreach.campaigns.schedule import paris_today
from outreach.roster.models import Senior
from tests.conftest import csrf_from, login
from tests.factories import as_if_on_the_phone, make_org, make_senior, make_user

TODAY = date(2026, 3, 10)
HOSTILE = "# Titre [clic](tel:0899) <b>x</b>"
HOSTILE_LINES = "Martin\n# Appelez le 0899\n\n- [ici](tel:+33899000000)\r\n1. *vite*"
ALWAYS = {d: [["00:00", "23:59"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}


def _context(last_name: str, city: str = "Tours", caller: str = "Anne", org: str = "VTH"):
    senior = Senior(
        civility="Mme",
        first_name="Odette",
        last_name=last_name,
        birth_date=date(1941, 5, 2),
        lives_alone=True,
        city=city,
    )
    campaign = Campaign(name="Courtoisie", kind=CampaignKind.courtesy, vigilance_level="orange")
    return script_context(senior, Organisation(name=org), campaign, caller, TODAY)


def _tags(html: str) -> list[str]:
    return re.findall(r"<(\w+)", html)


def _text(html: str) -> str:
    return unescape(re.sub(r"<[^>]+>", "", html))


@pytest.mark.parametrize("script", available_scripts())
@pytest.mark.parametrize("name", [HOSTILE, HOSTILE_LINES])
def test_a_hostile_name_renders_as_literal_text_in_every_staff_script(script, name):
    plain = render_staff_html(script, _context("Bernard"))
    html = render_staff_html(script, _context(name, city=name, caller=name, org=name))
    # The same document: not one heading, link, list item or tag more than with a plain name.
    assert _tags(html) == _tags(plain)
    assert "href" not in html and "href" not in plain
    text = _text(html)
    if name == HOSTILE:
        assert HOSTILE in text  # read out as typed
    else:
        assert "Martin # Appelez le 0899 - [ici](tel:+33899000000) 1. *vite*" in text


def test_the_name_is_shown_exactly_as_typed_in_the_greeting():
    text = _text(render_staff_html("courtesy", _context("O'Brien-Smith_2 (née Dupont) & fils")))
    assert "Bonjour Mme O'Brien-Smith_2 (née Dupont) & fils, je" in text
    assert "\\" not in text  # no escaping backslash shows


def test_spoken_and_sms_texts_are_not_escaped():
    context = _context("O'Brien-Smith")
    for script in available_scripts():
        for kind in ("sms.txt", "ivr.txt"):
            try:
                text = render_text(script, kind, context)
            except LookupError:
                continue
            assert "\\" not in text, (script, kind)
    assert "O'Brien-Smith" in render_text("courtesy", "sms.txt", context)


def test_markdown_text_escapes_every_markdown_character_and_keeps_one_line():
    assert markdown_text(None) is None
    assert markdown_text(12) == "12"
    assert markdown_text("a\nb\r\nc\u2028d") == "a b c d"
    assert markdown_text("[x](tel:1)") == r"\[x\]\(tel\:1\)"


# ---------------------------------------------------------------- the call screen


@pytest.fixture
def tuesday_morning():
    with time_machine.travel(datetime(2026, 3, 10, 9, 30, tzinfo=UTC), tick=True):
        yield datetime.now(UTC)


def test_the_call_screen_shows_a_hostile_name_as_text(client, session, tuesday_morning):
    now = tuesday_morning
    org = make_org(session, "vth", "Val Touraine Habitat")
    caller = make_user(session, org, "caller")
    make_senior(session, org, civility="Mme", last_name=HOSTILE, first_name="Odette")
    campaign = create_campaign(
        session, org.id, "Courtoisie", CampaignKind.courtesy, call_window=ALWAYS,
        skip_holidays=False,
    )  # fmt: skip
    set_state(session, campaign, CampaignState.active, now)
    generate_day(session, paris_today(now), now)
    session.commit()
    login(client, caller.email)
    page = client.get("/file/")
    url = client.post("/file/suivant", data={"csrf_token": csrf_from(page.text)}).headers[
        "Location"
    ]
    as_if_on_the_phone(client.application)
    html = client.get(url).text
    assert 'href="tel:0899"' not in html and "<b>x</b>" not in html
    script = html[html.index('id="c-script"') :]
    assert "<h1" not in script and "Titre</h" not in script
    assert "Bonjour Mme # Titre [clic](tel:0899) &lt;b&gt;x&lt;/b&gt;" in script


# ---------------------------------------------------------------- the edit form


def _form(senior: Senior, **changes: str) -> dict[str, str]:
    data = {
        "civility": "Mme",
        "last_name": senior.last_name,
        "first_name": senior.first_name,
        "phone_mobile": "06 12 34 56 78",
        "preferred_channel": "phone",
        "postcode": "37000",
        "city": "Tours",
        "consent_status": "given",
        "consent_phone": "y",
        "status": "active",
        **dict.fromkeys(("sex", "housing_type", "area", "referent_id", "left_reason"), ""),
    }
    data.update(changes)
    return data


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("last_name", "Martin\n# Titre"),
        ("last_name", "Martin\r"),
        ("first_name", "Jeanne\u2028Marie"),
        ("first_name", "Jea\x1bnne"),
        ("city", "Tours\n[clic](tel:0899)"),
        ("residence", "Les Tilleuls\tBât. B\x07"),
        ("address", "3 rue des Lilas\n75000 Paris"),
        ("ec_name", "Claire\nBernard"),
    ],
)
def test_the_edit_form_refuses_line_breaks_and_control_characters(client, session, field, value):
    org = make_org(session)
    manager = make_user(session, org, "manager")
    senior = make_senior(session, org, last_name="Martin", first_name="Jeanne")
    session.commit()
    login(client, manager.email)
    url = f"/seniors/{senior.id}/modifier"
    token = csrf_from(client.get(url).text)
    extra = {"ec_phone": "06 39 98 00 01"} if field == "ec_name" else {}
    resp = client.post(url, data={"csrf_token": token, **_form(senior, **{field: value}, **extra)})
    assert resp.status_code == 400, resp.text[:300]
    assert "tenir sur une ligne" in unescape(resp.text)
    session.expire_all()
    stored = session.get(Senior, senior.id)
    assert (stored.last_name, stored.first_name, stored.city) == ("Martin", "Jeanne", "Tours")


def test_the_edit_form_still_accepts_names_with_punctuation_and_accents(client, session):
    org = make_org(session)
    manager = make_user(session, org, "manager")
    senior = make_senior(session, org, last_name="Martin", first_name="Jeanne")
    session.commit()
    login(client, manager.email)
    url = f"/seniors/{senior.id}/modifier"
    token = csrf_from(client.get(url).text)
    name = "O'Brien-Lefèvre (née Dupont)"
    resp = client.post(url, data={"csrf_token": token, **_form(senior, last_name=name)})
    assert resp.status_code == 302, unescape(resp.text)[:2000]
    session.expire_all()
    assert session.get(Senior, senior.id).last_name == name
