"""The canicule rehearsal (issue 12): a heatwave day on a throw-away copy, time compressed."""

from __future__ import annotations

import re
import tempfile
from datetime import date
from pathlib import Path

import pytest
from sqlalchemy import func, select

from outreach.calls.models import Attempt
from outreach.campaigns.models import ChannelPolicy, Task
from outreach.config import load_config
from outreach.rehearsal.run import Settings, rehearse
from outreach.roster.models import EmergencyContact, Senior
from tests.factories import make_org, make_senior
from tests.test_cli_errors import invoke

LINE = re.compile(
    r"^rehearsal: (\d+) seniors, reached (\d+), through contact (\d+), escalated (\d+), "
    r"unaccounted (\d+), last first attempt (\d\d:\d\d) \(floor (\d\d:\d\d), ratio (\d+\.\d\d)\)$"
)
DAY = date(2027, 7, 15)


def _config():
    return load_config({"app": {"env": "testing"}})


@pytest.mark.slow
def test_a_day_of_2000_seniors_leaves_nobody_unaccounted():
    """The suite's rehearsal (quick mode): every senior reached, settled through a contact
    or under an open alert by the end of the day, and the first attempts as fast as the
    rate allows."""
    lines: list[str] = []
    before = set(Path(tempfile.gettempdir()).glob("outreach-rehearsal-*"))
    result = rehearse(
        Settings(seniors=2000, cps=2.0, staff=4, seed=7, day=DAY, quick=True),
        _config(),
        out=lines.append,
    )
    final = result.final
    # Generated seniors the day calls: those the demo's generator made eligible.
    assert 1700 <= final.seniors <= 2000
    assert final.unaccounted == 0
    assert final.reached + final.through_contact + final.escalated + final.settled == final.seniors
    assert final.first_attempts == final.seniors
    assert result.ratio <= 1.1
    # One line per simulated hour from 10:00 to 20:00, then the verdict.
    hours = [line for line in lines if re.match(r"^\d\d:00  first attempts", line)]
    assert [h[:5] for h in hours] == [f"{h:02d}:00" for h in range(10, 21)]
    match = LINE.match(lines[-1])
    assert match, lines[-1]
    assert int(match[1]) == final.seniors and int(match[5]) == 0
    # The throw-away database went with its folder.
    assert set(Path(tempfile.gettempdir()).glob("outreach-rehearsal-*")) == before


def test_a_copy_keeps_the_shape_and_touches_nothing_real(app, session):
    org = make_org(session, "bailleur-repetition")
    for i in range(12):
        senior = make_senior(
            session,
            org,
            canicule_register=i % 3 != 0,
            birth_date=date(1955, 1, 1),  # under 75: on the list only by the register
            phone_landline="+33247000000" if i % 2 else None,
        )
        if i % 4 == 0:
            senior.emergency_contacts.append(
                EmergencyContact(organisation_id=org.id, name="Fille", phone="+33611111111")
            )
    make_senior(session, org, canicule_register=True, active=False)
    session.commit()
    lines: list[str] = []
    result = rehearse(
        Settings(seniors=None, cps=5.0, staff=1, seed=3, day=DAY, quick=True),
        _config(),
        source=(session, org.id),
        out=lines.append,
    )
    session.rollback()
    assert result.final.seniors == 8  # the active seniors on the canicule list
    assert result.final.unaccounted == 0
    # Nothing was written to the real database.
    assert session.scalar(select(func.count(Task.id))) == 0
    assert session.scalar(select(func.count(Attempt.id))) == 0
    assert session.scalar(select(func.count(Senior.id))) == 13
    assert "Martin" not in "\n".join(lines)


@pytest.mark.slow
def test_an_sms_campaign_is_paced_on_the_sms_rate():
    result = rehearse(
        Settings(seniors=40, cps=1.0, staff=1, seed=5, day=DAY, quick=True,
                 channel=ChannelPolicy.sms),
        _config(),
        out=lambda _line: None,
    )  # fmt: skip
    assert result.rate == _config()["telephony"]["sms_per_second"]
    assert result.final.unaccounted == 0


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--org", "inconnue", "--seniors", "10"), "organisation inconnue"),
        (("--org", "vth", "--cps", "0"), "--cps"),
        (("--org", "vth", "--seniors", "0"), "--seniors"),
        (("--org", "vth", "--day", "15/07/2027"), "--day"),
    ],
)
def test_bad_arguments_exit_2_with_one_french_line(app, session, args, message):
    make_org(session, "vth")
    session.commit()
    result = invoke(app, "canicule", "rehearse", *args)
    assert result.exit_code == 2, result.output
    assert message in result.output
