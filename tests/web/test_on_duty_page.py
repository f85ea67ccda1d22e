"""The on-duty page: managers name the on-duty social worker and the alert phone."""

from __future__ import annotations

from sqlalchemy import select

from outreach.accounts.models import Organisation
from outreach.audit.models import AuditEvent
from tests.conftest import csrf_from, login
from tests.factories import make_user


def _post(client, org, **data):
    page = client.get("/astreinte/")
    assert page.status_code == 200
    form = {f"org{org.id}-{k}": v for k, v in data.items()}
    form[f"org{org.id}-csrf_token"] = csrf_from(page.text)
    return client.post(f"/astreinte/{org.id}", data=form, follow_redirects=True)


def test_a_manager_sets_the_on_duty_worker_and_phone(client, session, org, manager):
    worker = make_user(session, org, "social_worker")
    session.commit()
    login(client, manager.email)
    page = client.get("/astreinte/")
    assert worker.name in page.text and org.name in page.text
    resp = _post(client, org, user=str(worker.id), phone="06 12 34 56 78")
    assert "Astreinte enregistrée" in resp.text
    session.expire_all()
    saved = session.get(Organisation, org.id)
    assert (saved.on_duty_user_id, saved.on_duty_phone) == (worker.id, "+33612345678")
    assert session.scalar(select(AuditEvent).where(AuditEvent.action == "on_duty"))
    # A wrong number is refused and changes nothing.
    resp = _post(client, org, user="", phone="12")
    assert "invalide" in resp.text
    session.expire_all()
    saved = session.get(Organisation, org.id)
    assert (saved.on_duty_user_id, saved.on_duty_phone) == (worker.id, "+33612345678")


def test_someone_from_elsewhere_cannot_be_on_duty(client, session, org, other_org, manager):
    stranger = make_user(session, other_org, "social_worker")
    session.commit()
    login(client, manager.email)
    resp = _post(client, org, user=str(stranger.id), phone="")
    assert resp.status_code == 200 and "Astreinte enregistrée" not in resp.text
    session.expire_all()
    assert session.get(Organisation, org.id).on_duty_user_id is None


def test_social_workers_and_callers_may_not_set_it(client, session, org, caller):
    worker = make_user(session, org, "social_worker")
    session.commit()
    for user in (worker, caller):
        login(client, user.email)
        assert client.get("/astreinte/").status_code == 403
        client.post("/logout", data={"csrf_token": csrf_from(client.get("/").text)})
