"""The call screen opens only for a task the user may work now (issue 10: a volunteer read
111 seniors' details by stepping through /file/appel/<id>).

Hers (claimed by her, the claim running) or hers to take (what the queue would hand her now):
the screen. A task of today's queue that she may not work now (a colleague holds it, it
closed, it is deferred): back to the queue with a French message. Anything else: 404.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from html import unescape

import pytest
import time_machine
from sqlalchemy import select

from outreach.campaigns.models import (
    CampaignKind,
    CampaignState,
    ChannelPolicy,
    Task,
    TaskState,
)
from outreach.campaigns.operations import create_campaign, set_state
from outreach.campaigns.schedule import paris_today
from tests.conftest import csrf_from, login
from tests.factories import make_org, make_senior, make_user

# A Tuesday morning in Paris (the app and the fixtures read this clock).
NOW = datetime(2026, 3, 10, 9, 30, tzinfo=UTC)
ALWAYS = {d: [["00:00", "23:59"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
SCREEN, BACK, MISSING = 200, 302, 404


@pytest.fixture(autouse=True)
def clock():
    with time_machine.travel(NOW, tick=True):
        yield


def _campaign(session, org, name, state=CampaignState.active):
    campaign = create_campaign(
        session, org.id, name, CampaignKind.courtesy, call_window=ALWAYS, skip_holidays=False
    )
    set_state(session, campaign, CampaignState.active, NOW)
    if state != CampaignState.active:
        set_state(session, campaign, state, NOW)
    return campaign


@pytest.fixture
def world(session):
    """One task per case, each for a senior whose name says what the volunteer expects."""
    org = make_org(session, "vth", "Val Touraine Habitat")
    caller = make_user(session, org, "caller")
    volunteer = make_user(session, org, "volunteer")
    manager = make_user(session, org, "manager")
    courtesy = _campaign(session, org, "Courtoisie")
    second = _campaign(session, org, "Rappel atelier")
    paused = _campaign(session, org, "Suspendue", CampaignState.paused)
    today = paris_today(NOW)
    soon = NOW + timedelta(minutes=20)
    cases: dict[str, tuple[int, dict]] = {
        # What the queue would hand her now: the screen.
        "Libre": (SCREEN, {}),
        "Sienne": (SCREEN, {"state": TaskState.claimed, "claimed_by": "volunteer"}),
        "Expiree": (
            SCREEN,
            {"state": TaskState.claimed, "claimed_by": "caller", "until": NOW - timedelta(1)},
        ),
        "Enretard": (SCREEN, {"due": today - timedelta(days=2)}),
        # Today's queue, but not hers now: back to the queue, with why.
        "Prise": (BACK, {"state": TaskState.claimed, "claimed_by": "caller"}),
        "Terminee": (BACK, {"state": TaskState.done, "completed": NOW - timedelta(hours=1)}),
        "Annulee": (
            BACK,
            {"state": TaskState.cancelled, "completed": NOW, "disposition": "opted_out"},
        ),
        "Differee": (BACK, {"not_before": NOW + timedelta(hours=2)}),
        "Rappelpourcaller": (BACK, {"callback_at": NOW, "callback_for": "caller"}),
        "Opposee": (BACK, {"senior": {"opted_out_phone_at": NOW - timedelta(days=1)}}),
        "Suspendue": (BACK, {"campaign": paused}),
        "Derriere": (BACK, {"campaign": second, "lead": "Libre"}),
        # Nothing she could work: 404.
        "Demain": (MISSING, {"due": today + timedelta(days=1)}),
        "Ancienne": (
            MISSING,
            {
                "state": TaskState.done,
                "due": today - timedelta(days=7),
                "completed": NOW - timedelta(days=7),
            },
        ),
        "Automate": (MISSING, {"channel": ChannelPolicy.ivr}),
    }
    users = {"caller": caller, "volunteer": volunteer}
    tasks: dict[str, Task] = {}
    expected: dict[int, int] = {}
    names: dict[int, str] = {}
    for name, (status, spec) in cases.items():
        senior = make_senior(session, org, last_name=f"Zz{name}", **spec.get("senior", {}))
        holder = users.get(spec.get("claimed_by", ""))
        task = Task(
            organisation_id=org.id,
            campaign_id=spec.get("campaign", courtesy).id,
            senior_id=senior.id,
            due_date=spec.get("due", today),
            channel=spec.get("channel", ChannelPolicy.staff),
            state=spec.get("state", TaskState.pending),
            claimed_by_id=holder.id if holder else None,
            claimed_until=spec.get("until", soon) if holder else None,
            claimed_at=NOW - timedelta(minutes=5) if holder else None,
            not_before=spec.get("not_before"),
            callback_at=spec.get("callback_at"),
            callback_for_id=users[spec["callback_for"]].id if "callback_for" in spec else None,
            completed_at=spec.get("completed"),
            disposition=spec.get("disposition"),
        )
        session.add(task)
        session.flush()
        if "lead" in spec:
            task.senior_id = tasks[spec["lead"]].senior_id
            task.lead_id = tasks[spec["lead"]].id
            names[task.id] = f"Zz{spec['lead']}"
        else:
            names[task.id] = senior.last_name
        tasks[name] = task
        expected[task.id] = status
    # Another landlord's task: 404, as for every other record of theirs.
    other = make_org(session)
    foreign = _campaign(session, other, "Ailleurs")
    outsider = make_senior(session, other, last_name="ZzEtrangere")
    task = Task(
        organisation_id=other.id,
        campaign_id=foreign.id,
        senior_id=outsider.id,
        due_date=today,
        channel=ChannelPolicy.staff,
    )
    session.add(task)
    session.flush()
    expected[task.id] = MISSING
    names[task.id] = outsider.last_name
    session.commit()
    return {
        "caller": caller,
        "volunteer": volunteer,
        "manager": manager,
        "tasks": tasks,
        "expected": expected,
        "names": names,
    }


def test_a_volunteer_walking_task_ids_sees_only_the_calls_she_may_work(client, world):
    login(client, world["volunteer"].email)
    expected, names = world["expected"], world["names"]
    all_names = set(names.values())
    got: dict[int, int] = {}
    for task_id in range(1, max(expected) + 4):
        resp = client.get(f"/file/appel/{task_id}")
        got[task_id] = resp.status_code
        body = resp.get_data(as_text=True)
        shown = {n for n in all_names if n in body}
        if resp.status_code == SCREEN:
            assert shown == {names[task_id]}, task_id
        else:
            assert not shown, (task_id, shown)  # no senior is named on the way out
        if resp.status_code == BACK:
            assert resp.headers["Location"].endswith("/file/")
    assert got == {**expected, **{i: MISSING for i in got if i not in expected}}


def test_the_stale_tab_is_told_what_happened_in_french(client, world):
    login(client, world["volunteer"].email)
    tasks = world["tasks"]
    said = {}
    for name in ("Prise", "Terminee", "Annulee", "Differee"):
        resp = client.get(f"/file/appel/{tasks[name].id}", follow_redirects=True)
        assert resp.status_code == 200 and resp.request.path == "/file/"
        said[name] = unescape(resp.get_data(as_text=True))
    assert "Une autre personne appelle déjà ce senior." in said["Prise"]
    assert "Cet appel est terminé" in said["Terminee"]
    assert "Cet appel a été annulé entre-temps" in said["Annulee"]
    assert "Cet appel n'est pas à faire pour l'instant" in said["Differee"]


def test_taking_or_saving_a_task_she_may_not_work_changes_nothing(client, session, world):
    login(client, world["volunteer"].email)
    tasks = world["tasks"]
    token = csrf_from(client.get("/file/").text)
    for name in ("Demain", "Automate", "Ancienne"):
        task = tasks[name]
        take = client.post(f"/file/appel/{task.id}/prendre", data={"csrf_token": token})
        assert take.status_code == MISSING, name
        save = client.post(
            f"/file/appel/{task.id}",
            data={"csrf_token": token, "disposition": "reached_ok"},
        )
        assert save.status_code == MISSING, name
    resp = client.post(f"/file/appel/{tasks['Prise'].id}/prendre", data={"csrf_token": token})
    assert resp.status_code == BACK
    session.expire_all()
    states = {n: session.get(Task, tasks[n].id).state for n in ("Demain", "Automate", "Prise")}
    assert states == {
        "Demain": TaskState.pending,
        "Automate": TaskState.pending,
        "Prise": TaskState.claimed,
    }
    assert session.get(Task, tasks["Prise"].id).claimed_by_id == world["caller"].id


def test_she_takes_a_free_task_from_its_screen_then_works_it(client, session, world):
    login(client, world["volunteer"].email)
    task = world["tasks"]["Libre"]
    page = client.get(f"/file/appel/{task.id}")
    assert page.status_code == 200 and "Prendre cet appel" in unescape(page.text)
    resp = client.post(f"/file/appel/{task.id}/prendre", data={"csrf_token": csrf_from(page.text)})
    assert resp.status_code == 302 and resp.headers["Location"].endswith(f"/appel/{task.id}")
    session.expire_all()
    assert session.get(Task, task.id).claimed_by_id == world["volunteer"].id
    page = client.get(f"/file/appel/{task.id}")
    assert page.status_code == 200 and 'id="outcome"' in page.text


def test_a_callback_promised_by_the_caller_opens_for_her(client, world):
    login(client, world["caller"].email)
    task = world["tasks"]["Rappelpourcaller"]
    assert client.get(f"/file/appel/{task.id}").status_code == SCREEN
    # Her own claim too, and a colleague's running claim is not hers to open.
    assert client.get(f"/file/appel/{world['tasks']['Prise'].id}").status_code == SCREEN
    assert client.get(f"/file/appel/{world['tasks']['Sienne'].id}").status_code == BACK


def test_a_manager_opens_what_the_queue_would_hand_her_and_no_more(client, world):
    login(client, world["manager"].email)
    tasks = world["tasks"]
    assert client.get(f"/file/appel/{tasks['Libre'].id}").status_code == SCREEN
    assert client.get(f"/file/appel/{tasks['Prise'].id}").status_code == BACK
    assert client.get(f"/file/appel/{tasks['Demain'].id}").status_code == MISSING
    # Her roster pages stay open to her: the senior's details are there for her role.
    senior_id = tasks["Demain"].senior_id
    assert client.get(f"/seniors/{senior_id}").status_code == 200


def test_an_expired_claim_of_hers_opens_again_without_changing_it(client, session, world):
    login(client, world["caller"].email)
    task = world["tasks"]["Expiree"]
    assert client.get(f"/file/appel/{task.id}").status_code == SCREEN
    still = session.scalar(select(Task.claimed_by_id).where(Task.id == task.id))
    assert still == world["caller"].id  # opening it changed nothing
