"""Campaign operations write their own audit events: the page and the CLI leave the same trail."""

from datetime import UTC, datetime

import pytest
from click.testing import CliRunner
from flask.cli import ScriptInfo
from sqlalchemy import select

from outreach.audit.models import AuditEvent
from outreach.campaigns.models import CampaignKind, CampaignState
from outreach.campaigns.operations import create_campaign, set_state
from outreach.cli import cli
from tests.conftest import csrf_from, login
from tests.factories import make_org, make_senior, make_user

pytestmark = pytest.mark.date_sensitive

ACTIONS = ("canicule.activate", "canicule.deactivate")


def _events(session, after: int = 0) -> list[AuditEvent]:
    session.rollback()  # see what the request or the command committed
    query = select(AuditEvent).where(AuditEvent.action.in_(ACTIONS), AuditEvent.id > after)
    return list(session.scalars(query.order_by(AuditEvent.id)))


def _trail(events: list[AuditEvent]) -> list[tuple]:
    """What must not depend on where the manager acted: everything but who and how."""
    return [
        (
            e.action,
            e.entity,
            e.organisation_id,
            {k: v for k, v in (e.details or {}).items() if k != "via"},
        )
        for e in events
    ]


@pytest.fixture
def org(session):
    org = make_org(session, "vth")
    make_senior(session, org, canicule_register=True, departement="37")
    make_senior(session, org, canicule_register=True, departement="41")
    session.commit()
    return org


def _by_page(client, session, org) -> list[AuditEvent]:
    manager = make_user(session, org, "manager")
    session.commit()
    login(client, manager.email)
    token = csrf_from(client.get("/campagnes/").text)
    data = {"csrf_token": token, f"o{org.id}-level": "rouge", f"o{org.id}-departements": "37"}
    assert client.post(f"/campagnes/canicule/{org.id}/declencher", data=data).status_code == 302
    data = {"csrf_token": token, "departement": "37"}
    assert client.post(f"/campagnes/canicule/{org.id}/lever", data=data).status_code == 302
    events = _events(session)
    assert {e.user_id for e in events} == {manager.id}
    return events


def _by_cli(app, session, after: int = 0) -> list[AuditEvent]:
    def run(*args: str) -> None:
        result = CliRunner().invoke(cli, list(args), obj=ScriptInfo(create_app=lambda: app))
        assert result.exit_code == 0, result.output

    run("canicule", "activate", "--org", "vth", "--departments", "37", "--level", "rouge")
    run("canicule", "deactivate", "--org", "vth", "--departments", "37")
    events = _events(session, after)
    assert {e.user_id for e in events} == {None}
    assert {e.details["via"] for e in events} == {"cli"}
    return events


def test_cli_canicule_activate_and_deactivate_write_the_audit_events(app, session, org):
    events = _by_cli(app, session)
    assert [e.action for e in events] == ["canicule.activate", "canicule.deactivate"]
    activate, deactivate = events
    assert activate.entity == "campaign" and activate.entity_id is not None
    assert activate.organisation_id == org.id
    assert activate.details == {
        "departements": ["37"],
        "level": "rouge",
        "tasks_created": 1,
        "via": "cli",
    }
    assert deactivate.entity_id == activate.entity_id
    assert deactivate.details == {"departements": ["37"], "via": "cli"}


def test_the_page_and_the_cli_leave_the_same_trail(app, client, session, org):
    by_page = _by_page(client, session, org)
    # The same again from the command line: the page's canicule is closed, this opens another.
    by_cli = _by_cli(app, session, after=by_page[-1].id)
    assert [e.action for e in by_page] == list(ACTIONS)
    assert _trail(by_page) == _trail(by_cli)


def test_set_state_records_the_move_and_who_made_it(session):
    org = make_org(session)
    manager = make_user(session, org, "manager")
    campaign = create_campaign(session, org.id, "Courtoisie", CampaignKind.courtesy)
    set_state(session, campaign, CampaignState.active, datetime.now(UTC), user_id=manager.id)
    (event,) = session.scalars(select(AuditEvent).where(AuditEvent.entity == "campaign"))
    assert (event.action, event.entity_id, event.organisation_id, event.user_id) == (
        "campaign.active",
        campaign.id,
        org.id,
        manager.id,
    )
