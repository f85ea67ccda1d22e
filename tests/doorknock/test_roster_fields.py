"""The senior's door details: imported from the landlord's file, documented, erased."""

from __future__ import annotations

import io
import re
from pathlib import Path

from sqlalchemy import select

from outreach.doorknock.models import DoorKnock, KnockOutcome, KnockState
from outreach.doorknock.operations import record
from outreach.privacy import erasure
from outreach.roster.importer import import_roster
from outreach.roster.models import Senior
from outreach.roster.readers import DEFAULT_HEADERS
from tests.doorknock.helpers import NOW, canicule_alert, world
from tests.factories import make_org

README = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")


def test_the_door_columns_are_imported(app, session):
    org = make_org(session)
    data = (
        "Référence;Nom;Résidence;Étage;Digicode;Consignes d'accès\r\n"
        "R1;Martin;Les Tilleuls;RDC;12A34;Sonner deux fois\r\n"
        "R2;Durand;Les Tilleuls;;;\r\n"
        "R3;Petit;Les Tilleuls;2;" + "9" * 41 + ";\r\n"
    ).encode()
    config = app.config["OUTREACH"]
    with app.app_context():
        result = import_roster(session, org, io.BytesIO(data), "f.csv", config=config)
    assert (result.imported, [r.line for r in result.rejected]) == (2, [4])
    assert "code porte trop long" in result.rejected[0].reason
    rows = {s.external_ref: s for s in session.scalars(select(Senior))}
    assert (rows["R1"].floor, rows["R1"].door_code, rows["R1"].access_notes) == (
        "RDC", "12A34", "Sonner deux fois")  # fmt: skip
    assert (rows["R2"].floor, rows["R2"].door_code, rows["R2"].access_notes) == (None,) * 3


def test_the_door_headers_are_in_the_readme_table():
    table = README.split("| header (other accepted spellings) | content |")[1].split("\n\n")[0]
    cells = {re.sub(r"\*", "", line.split("|")[1]).strip() for line in table.splitlines()[2:]}
    listed = {
        spelling.strip()
        for cell in cells
        for spelling in re.split(r"[(),]", cell)
        if spelling.strip()
    }
    for field in ("floor", "door_code", "access_notes"):
        assert set(DEFAULT_HEADERS[field]) <= listed, field


def test_erasure_removes_the_door_details_and_cancels_the_knock(app, session):
    w = world(session)
    canicule_alert(session, app.config["OUTREACH"], w.senior)
    knock = session.scalar(select(DoorKnock))
    record(session, knock, KnockOutcome.no_answer, w.gardien, "volets fermés", NOW,
           app.config["OUTREACH"])  # fmt: skip
    with app.app_context():
        erasure.erase_senior(session, w.senior, reason="request", user_id=None, now=NOW)
    session.commit()
    session.expire_all()
    senior = session.get(Senior, w.senior.id)
    assert (senior.floor, senior.door_code, senior.access_notes) == (None, None, None)
    knock = session.get(DoorKnock, knock.id)
    assert (knock.state, knock.residence, knock.note) == (KnockState.cancelled, None, None)
