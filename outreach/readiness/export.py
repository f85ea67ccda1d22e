"""The list for the proximity staff (gardiens, agents de proximité) to complete, as XLSX.

One row per senior of the canicule list with a problem: who she is, where her door is,
her numbers and emergency contacts, what is missing, then empty columns the staff fill in
on their rounds before summer. Written by ``reports.writers`` like every other file of the
service: text cells are never formulas, phones are in the national format.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from outreach.accounts.models import Organisation
from outreach.readiness.check import ACCESS_FIELDS, Entry, Readiness
from outreach.reports import writers
from outreach.roster.export import export_phone
from outreach.roster.models import Senior

ACCESS_LABELS = {"floor": "Étage", "door_code": "Code porte"}
TO_FILL = [
    "Numéro vérifié ou nouveau numéro",
    "Contact d'urgence à ajouter (nom, lien, téléphone)",
    "Observations",
    "Vérifié le, par",
]
MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def organisation_names(session: Session, organisation_ids: Sequence[int]) -> dict[int, str]:
    """Names of organisations by id (the list's title and its organisation column)."""
    rows = session.execute(
        select(Organisation.id, Organisation.name).where(
            Organisation.id.in_(list(organisation_ids))
        )
    )
    return {i: n for i, n in rows.all()}


def _address(entry: Entry) -> str:
    town = " ".join(p for p in (entry.postcode, entry.city) if p)
    return ", ".join(p for p in (entry.address, town) if p)


def sheet(readiness: Readiness, names: dict[int, str]) -> writers.Sheet:
    """The table: one row per senior with a problem, the columns to fill in last."""
    several = len(readiness.organisation_ids) > 1
    access = [a for a in ACCESS_FIELDS if hasattr(Senior, a)]
    columns = [
        *(["Organisation"] if several else []),
        "Référence",
        "Nom",
        "Adresse",
        "Résidence",
        *(ACCESS_LABELS[a] for a in access),
        "Portable",
        "Fixe",
        "Contact d'urgence",
        "Ce qui manque",
        *TO_FILL,
    ]
    rows: list[list[Any]] = []
    for e in readiness.entries:
        rows.append(
            [
                *([names.get(e.organisation_id, "")] if several else []),
                e.reference,
                e.name,
                _address(e),
                e.residence,
                *(e.access.get(a) for a in access),
                export_phone(e.phone_mobile),
                export_phone(e.phone_landline),
                " ; ".join(e.contacts),
                e.missing(),
                *([None] * len(TO_FILL)),
            ]
        )
    return writers.Sheet(name="À compléter", columns=columns, rows=rows)


def proximity_workbook(readiness: Readiness, names: dict[int, str], now: datetime) -> bytes:
    """The XLSX file (its export is recorded by ``operations.export_proximity_list``)."""
    title = [
        ("Liste", "Vérification avant l'été : à compléter par les équipes de proximité"),
        ("Organisation", ", ".join(sorted(names.get(i, "") for i in readiness.organisation_ids))),
        ("Liste canicule du", readiness.today),
        ("Seniors sur la liste", readiness.on_list),
        ("Seniors à compléter", len(readiness.entries)),
        ("Généré le", now),
    ]
    return writers.to_xlsx([sheet(readiness, names)], title)
