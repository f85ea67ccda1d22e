"""A draw as XLSX: per landlord its drawn references and its ranked reserve, and the quota
table achieved beside the target (``reports.writers``: numbers stay numbers).

References only: the listing is anonymous, a landlord matches them with its own files.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from outreach.panel.models import Draw, ListingRow, MemberRole, PanelMember
from outreach.reports.writers import Sheet, to_xlsx

MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
COLUMNS = ["Département", "Rang", "Référence", "Année de naissance", "Tranche d'âge", "Sexe",
           "Type de logement", "Zone", "QPV", "Vit seul(e)", "Logement adapté"]  # fmt: skip
QUOTA_COLUMNS = ["Département", "Quota", "Unité", "Cible", "Tolérance", "Atteint",
                 "Écart hors tolérance", "Respecté"]  # fmt: skip


def _v(value: Any) -> Any:
    return getattr(value, "value", value)


def quota_rows(report: Mapping[str, Any], departements: Iterable[str] | None = None) -> list:
    """The quota table of a draw's report, one line per département and quota."""
    wanted = set(report) if departements is None else set(departements)
    rows = []
    for dept in sorted(wanted & set(report)):
        for line in report[dept]["quotas"]:
            unit = "%" if line["unit"] == "%" else "seniors"
            rows.append([dept, line["label"], unit, line["target"], line["tolerance"],
                         line["achieved"], line["deviation"], bool(line["met"])])  # fmt: skip
    return rows


def draw_workbook(
    session: Session, draw: Draw, landlords: Mapping[int, str], title: list[tuple[str, Any]]
) -> bytes:
    """The workbook of ``draw`` for ``landlords`` (id -> name): per landlord a sheet of its
    drawn references and one of its reserve, then the quota table of their départements."""
    stmt = (
        select(PanelMember, ListingRow)
        .join(ListingRow, ListingRow.id == PanelMember.listing_row_id)
        .where(PanelMember.draw_id == draw.id, PanelMember.organisation_id.in_(list(landlords)))
        .order_by(PanelMember.departement, PanelMember.role, PanelMember.rank)
    )
    rows: dict[tuple[int, MemberRole], list[list[Any]]] = {}
    departements: set[str] = set()
    for member, row in session.execute(stmt):
        departements.add(member.departement)
        rows.setdefault((member.organisation_id, member.role), []).append(
            [
                member.departement,
                member.rank,
                row.reference,
                row.birth_year,
                row.age_band,
                _v(row.sex),
                _v(row.housing_type),
                _v(row.area),
                row.qpv,
                row.lives_alone,
                row.adapted,
            ]  # fmt: skip
        )
    sheets = []
    for org_id, name in sorted(landlords.items(), key=lambda kv: (kv[1], kv[0])):
        sheets.append(Sheet(f"Tirés {name}", COLUMNS, rows.get((org_id, MemberRole.drawn), [])))
        sheets.append(Sheet(f"Réserve {name}", COLUMNS, rows.get((org_id, MemberRole.reserve), [])))
    sheets.append(Sheet("Quotas", QUOTA_COLUMNS, quota_rows(draw.report, departements)))
    return to_xlsx(sheets, title)
