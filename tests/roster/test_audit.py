"""Roster operations write their own audit events, whoever calls them (page, CLI, job)."""

from sqlalchemy import select

from outreach.audit.models import AuditEvent
from outreach.roster.editing import update_senior
from outreach.roster.export import export_roster
from outreach.roster.models import Senior
from tests.factories import make_org, make_senior, make_user


def _events(session, action: str) -> list[AuditEvent]:
    return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def test_an_edit_through_the_operation_is_audited_with_field_names_only(session):
    org = make_org(session)
    worker = make_user(session, org, "social_worker")
    senior = make_senior(session, org, city="Tours")

    changed = update_senior(
        session, senior, {"city": "Amboise", "phone_mobile": "06 98 76 54 32"}, worker.id
    )

    assert sorted(changed) == ["city", "phone_mobile"]
    (event,) = _events(session, "update")
    assert (event.entity, event.entity_id, event.organisation_id, event.user_id) == (
        "senior",
        senior.id,
        org.id,
        worker.id,
    )
    assert sorted(event.details["fields"]) == ["city", "phone_mobile"]
    assert "Amboise" not in str(event.details) and "98 76" not in str(event.details)


def test_an_edit_that_changes_nothing_is_not_audited(session):
    org = make_org(session)
    senior = make_senior(session, org, city="Tours")
    assert update_senior(session, senior, {"city": "Tours"}, None) == []
    assert _events(session, "update") == []


def test_the_export_operation_records_one_event_per_organisation_before_streaming(session):
    org, other = make_org(session), make_org(session)
    user = make_user(session, org, "manager")
    make_senior(session, org)
    make_senior(session, org)
    stmt = select(Senior).where(Senior.organisation_id.in_([org.id, other.id]))

    chunks = export_roster(session, stmt, [org.id, other.id], user.id, ["status"])

    # Recorded at the call, in the caller's transaction, before any row is read.
    rows = {e.organisation_id: e.details for e in _events(session, "export")}
    assert rows == {
        org.id: {"rows": 2, "filters": ["status"]},
        other.id: {"rows": 0, "filters": ["status"]},
    }
    assert "".join(chunks).count("\r\n") == 3  # header and two seniors
