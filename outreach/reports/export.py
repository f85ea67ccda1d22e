"""A report of ``indicators.compute`` as a file: JSON, CSV or XLSX, standard or for a funder.

JSON is the dict of ``compute`` as it is (indicator names as keys, breakdowns under ``by``),
so that a script reads the same names as the README defines. CSV and XLSX are the same
figures as tables with French labels, one table per breakdown (see ``writers``).

The funder's mode ("rapport pour financeur") is what a landlord may send to a département,
a CARSAT or the prefecture: aggregates only (``compute`` holds no names, phones or texts;
keep it so), and no count that could point at a person:

- a count of 1 to 4 is shown as ``< 5`` (primary suppression);
- a 0 is shown as 0: "nobody" says nothing about anybody, and hiding zeros would hide
  most of a small landlord's report;
- in a table whose total is shown elsewhere (a breakdown of an indicator, whose total is in
  "Indicateurs"; the alerts by cause, whose total the alerts by severity give), more cells
  are masked with ``s`` (secret statistique) until no ``< 5`` can be recalculated by
  subtraction (complementary suppression, ``suppress``).
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from datetime import date, datetime
from typing import Any

from outreach.reports.indicators import DIMENSIONS, INDICATORS
from outreach.reports.labels import (
    ACTIVITY_LABELS,
    ALERT_CAUSE_LABELS,
    ALERT_SEVERITY_LABELS,
    CHANNEL_LABELS,
    CONTACT_LABELS,
    DIMENSION_LABELS,
    INDICATOR_LABELS,
    PARTNER_KIND_LABELS,
    key_label,
)
from outreach.reports.writers import Sheet, to_csv, to_xlsx

FORMATS = ("json", "csv", "xlsx")
MIMETYPES = {
    "json": "application/json",
    "csv": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
THRESHOLD = 5  # counts from 1 to THRESHOLD - 1 are never shown in a funder's report
SMALL = "< 5"
MASKED = "s"
FUNDER_NOTE = (
    "Rapport pour financeur : « < 5 » = effectif de 1 à 4 ; « s » = masqué pour qu'un "
    "effectif inférieur à 5 ne puisse pas être recalculé ; 0 = aucun."
)
SHEET_NAMES = {
    "departement": "Par département",
    "age_band": "Par tranche d'âge",
    "sex": "Par sexe",
    "lives_alone": "Personnes seules",
    "qpv": "Par QPV",
    "housing_type": "Par type d'habitat",
    "area": "Urbain - rural",
    "gir": "Par GIR",
    "landlord": "Par bailleur",
}


# -- the funder's mode ----------------------------------------------------------------------


def _small(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 < value < THRESHOLD


def _range(value: int | str, total: int, any_small: bool) -> tuple[int, int]:
    """What a reader can tell of a cell: its value if shown, else the marker's bounds."""
    if isinstance(value, int):
        return value, value
    if value == SMALL:
        return 1, THRESHOLD - 1
    # "s" hides a count of THRESHOLD or more next to a "< 5" (only shown counts, which are 0
    # or >= THRESHOLD, are picked, and zeros never); alone, it is the everything-masked case.
    return (THRESHOLD, total) if any_small else (0, total)


def derivable(shown: dict[str, int | str], total: int) -> list[str]:
    """The ``< 5`` cells whose value a reader can work out from the others and the total.

    The cells are assumed to add up to ``total``; each masked cell lies within its marker's
    bounds (``_range``), so a cell is known when the total minus the others' bounds leaves
    it one possible value.
    """
    any_small = any(v == SMALL for v in shown.values())
    ranges = {k: _range(v, total, any_small) for k, v in shown.items()}
    low_sum = sum(lo for lo, _ in ranges.values())
    high_sum = sum(hi for _, hi in ranges.values())
    known = []
    for key, value in shown.items():
        if value != SMALL:
            continue
        lo, hi = ranges[key]
        can_lo = max(lo, total - (high_sum - hi))
        can_hi = min(hi, total - (low_sum - lo))
        if can_lo >= can_hi:
            known.append(key)
    return known


def suppress(cells: dict[str, int], total: int | None) -> dict[str, int | str]:
    """The cells as a funder's report shows them.

    Counts of 1 to 4 become ``< 5``. When ``total`` is shown (not None) and the cells add up
    to it, the smallest shown non-zero cells are masked as ``s``, one at a time, until no
    ``< 5`` can be recalculated by subtraction; if even masking them all does not do (a
    ``< 5`` beside cells of exactly 5), every cell is masked, zeros included, and then only
    their sum, the total, is known.
    """
    shown: dict[str, int | str] = {k: SMALL if _small(v) else v for k, v in cells.items()}
    if total is None or not any(v == SMALL for v in shown.values()):
        return shown
    while derivable(shown, total):
        candidates = [(v, k) for k, v in shown.items() if isinstance(v, int) and v > 0]
        if not candidates:
            return dict.fromkeys(cells, MASKED)
        _, key = min(candidates)
        shown[key] = MASKED
    return shown


def _primary(value: Any) -> Any:
    return SMALL if _small(value) else value


def _shown_total(value: int) -> int | None:
    """A total a reader sees (0 or THRESHOLD and more), else None."""
    return None if _small(value) else value


def funder_view(report: dict[str, Any]) -> dict[str, Any]:
    """The report with every count a funder may not see suppressed; the same shape."""
    indicators = report["indicators"]
    alerts = report["alerts"]
    alerts_total = _shown_total(sum(alerts["by_severity"].values()))
    by: dict[str, dict[str, dict[str, Any]]] = {}
    for dimension, rows in report["by"].items():
        columns = {}
        for name in INDICATORS:
            cells = {key: counts.get(name, 0) for key, counts in rows.items()}
            columns[name] = suppress(cells, _shown_total(indicators.get(name, 0)))
        by[dimension] = {key: {n: columns[n][key] for n in INDICATORS} for key in rows}
    activity = {
        who: {**figures, "calls": _primary(figures.get("calls", 0))}
        for who, figures in report["activity"].items()
    }
    return {
        **report,
        "funder": True,
        "indicators": {name: _primary(n) for name, n in indicators.items()},
        "contacts": {
            channel: {outcome: _primary(n) for outcome, n in outcomes.items()}
            for channel, outcomes in report["contacts"].items()
        },
        "alerts": {
            **alerts,
            "by_cause": suppress(alerts["by_cause"], alerts_total),
            "by_severity": suppress(alerts["by_severity"], alerts_total),
            "overdue_now": _primary(alerts["overdue_now"]),
        },
        "referrals": suppress(report["referrals"], None),
        "activity": activity,
        "by": by,
        "workshops": _funder_workshops(report.get("workshops")),
    }


# The workshop figures that count people (a capacity counts chairs, it is shown as is).
WORKSHOP_PEOPLE = ("invited", "registered", "waiting", "declined", "attended")


def _funder_workshops(workshops: dict[str, Any] | None) -> dict[str, Any] | None:
    """The workshops section with small counts suppressed. The workshops of a territory add
    up to its row and the territories to the total, so each level is suppressed against the
    shown level above it: no hidden count comes back by subtraction."""
    if not workshops:
        return workshops
    total = workshops["total"]
    territories = {t: dict(s) for t, s in workshops["by_territory"].items()}
    rows = [dict(r) for r in workshops["by_workshop"]]
    for figure in WORKSHOP_PEOPLE:
        cells = {t: s[figure] for t, s in workshops["by_territory"].items()}
        shown = suppress(cells, _shown_total(total[figure]))
        for territory, value in shown.items():
            territories[territory][figure] = value
        for territory in workshops["by_territory"]:
            mine = [i for i, r in enumerate(rows) if r["territory"] == territory]
            above = shown[territory]
            cells = {str(i): workshops["by_workshop"][i][figure] for i in mine}
            below = suppress(cells, above if isinstance(above, int) else None)
            for i in mine:
                rows[i][figure] = below[str(i)]
    return {
        "total": {k: _primary(v) if k in WORKSHOP_PEOPLE else v for k, v in total.items()},
        "by_territory": territories,
        "by_workshop": rows,
    }


# -- tables -------------------------------------------------------------------------------


def _label(labels: dict[str, Any], key: str) -> str:
    label = labels.get(key)
    return str(label) if label is not None else key


def _landlords(report: dict[str, Any]) -> dict[str, str]:
    return {o["slug"]: o["name"] for o in report["organisations"]}


def title_block(report: dict[str, Any], funder: bool = False) -> list[tuple[str, Any]]:
    """Organisation, period and time of generation, as (label, value) pairs."""
    names = [o["name"] for o in report["organisations"]]
    organisation = names[0] if len(names) == 1 else ", ".join(names)
    title: list[tuple[str, Any]] = [
        ("Organisation", organisation),
        ("Période du", date.fromisoformat(report["period"]["from"])),
        ("au", date.fromisoformat(report["period"]["to"])),
        ("Généré le", datetime.fromisoformat(report["generated_at"])),
    ]
    if funder:
        title.append(("Diffusion", FUNDER_NOTE))
    return title


def _indicator_rows(indicators: dict[str, Any]) -> list[list[Any]]:
    return [[_label(INDICATOR_LABELS, n), indicators.get(n, 0)] for n in INDICATORS]


def _contacts_sheet(contacts: dict[str, dict[str, Any]]) -> Sheet:
    channels = list(contacts)
    outcomes: list[str] = []
    for by_outcome in contacts.values():
        outcomes += [o for o in by_outcome if o not in outcomes]
    return Sheet(
        name="Contacts",
        columns=["Résultat", *(_label(CHANNEL_LABELS, c) for c in channels)],
        rows=[
            [_label(CONTACT_LABELS, o), *(contacts[c].get(o, 0) for c in channels)]
            for o in outcomes
        ],
    )


def _alerts_sheet(alerts: dict[str, Any]) -> Sheet:
    rows: list[list[Any]] = []
    rows += [["Par cause", _label(ALERT_CAUSE_LABELS, k), n] for k, n in alerts["by_cause"].items()]
    rows += [
        ["Par gravité", _label(ALERT_SEVERITY_LABELS, k), n]
        for k, n in alerts["by_severity"].items()
    ]
    for key, heading in (
        ("time_to_acknowledge_minutes", "Délai de prise en compte (minutes)"),
        ("time_to_resolve_minutes", "Délai de résolution (minutes)"),
    ):
        times = alerts.get(key) or {}
        rows.append([heading, "médiane", times.get("median")])
        rows.append([heading, "9e décile", times.get("p90")])
    rows.append(["En retard", "maintenant", alerts.get("overdue_now", 0)])
    return Sheet(name="Alertes", columns=["Rubrique", "Détail", "Nombre"], rows=rows)


def _activity_sheet(activity: dict[str, dict[str, Any]]) -> Sheet:
    return Sheet(
        name="Activité",
        columns=["", _label(ACTIVITY_LABELS, "calls"), _label(ACTIVITY_LABELS, "minutes")],
        rows=[
            [_label(ACTIVITY_LABELS, who), figures.get("calls", 0), figures.get("minutes", 0.0)]
            for who, figures in activity.items()
        ],
    )


def _dimension_sheets(report: dict[str, Any]) -> Iterable[Sheet]:
    landlords = _landlords(report)
    for dimension in [d for d in DIMENSIONS if d in report["by"]]:
        rows = report["by"][dimension]
        yield Sheet(
            name=SHEET_NAMES.get(dimension, dimension),
            columns=[
                _label(DIMENSION_LABELS, dimension),
                *(_label(INDICATOR_LABELS, n) for n in INDICATORS),
            ],
            rows=[
                [key_label(dimension, key, landlords), *(counts.get(n, 0) for n in INDICATORS)]
                for key, counts in rows.items()
            ],
        )


def sheets(report: dict[str, Any]) -> list[Sheet]:
    """The report's tables, in reading order: the indicators, then each breakdown."""
    return [
        Sheet(
            name="Indicateurs",
            columns=["Indicateur", "Nombre"],
            rows=_indicator_rows(report["indicators"]),
        ),
        _contacts_sheet(report["contacts"]),
        _alerts_sheet(report["alerts"]),
        Sheet(
            name="Orientations",
            columns=["Type de partenaire", "Orientations"],
            rows=[[_label(PARTNER_KIND_LABELS, k), n] for k, n in report["referrals"].items()],
        ),
        _activity_sheet(report["activity"]),
        *_dimension_sheets(report),
        *_workshop_sheets(report.get("workshops")),
    ]


WORKSHOP_COLUMNS = ["Places", "Invités", "Inscrits", "En attente", "Déclinés", "Présents"]


def _workshop_sheets(workshops: dict[str, Any] | None) -> list[Sheet]:
    """The collective workshops of the period: by territory, then one row each."""
    if not workshops:
        return []
    figures = ("capacity", "invited", "registered", "waiting", "declined", "attended")
    return [
        Sheet(
            name="Ateliers par territoire",
            columns=["Territoire", "Ateliers", *WORKSHOP_COLUMNS],
            rows=[
                [territory, sums["workshops"], *(sums[f] for f in figures)]
                for territory, sums in workshops["by_territory"].items()
            ],
        ),
        Sheet(
            name="Ateliers",
            columns=["Atelier", "Date", "Territoire", *WORKSHOP_COLUMNS],
            rows=[
                [
                    row["theme"],
                    datetime.fromisoformat(row["starts_at"]),
                    row["territory"],
                    *(row[f] for f in figures),
                ]
                for row in workshops["by_workshop"]
            ],
        ),
    ]


def render(report: dict[str, Any], fmt: str, *, funder: bool = False) -> bytes:
    """The report as the bytes of a ``fmt`` file (json, csv or xlsx)."""
    if funder:
        report = funder_view(report)
    if fmt == "json":
        return (json.dumps(report, ensure_ascii=False, indent=2) + "\n").encode("utf-8")
    title = title_block(report, funder)
    if fmt == "csv":
        return to_csv(sheets(report), title)
    if fmt == "xlsx":
        return to_xlsx(sheets(report), title)
    raise ValueError(f"unknown format {fmt!r}")


def filename(report: dict[str, Any], fmt: str, *, funder: bool = False) -> str:
    """``rapport-<slug>-<from>-<to>[-financeur].<fmt>``: ASCII, safe in a header."""
    slug = report["organisations"][0]["slug"] if report["organisations"] else "rapport"
    period = report["period"]
    suffix = "-financeur" if funder else ""
    return f"rapport-{slug}-{period['from']}-{period['to']}{suffix}.{fmt}"
