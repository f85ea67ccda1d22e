"""The report files: CSV for French Excel, XLSX with real numbers, JSON as compute gives it,
and the funder's mode, where no count from 1 to 4 shows and none can be recalculated."""

from __future__ import annotations

import io
import itertools
import json
import random
from datetime import UTC, date, datetime

import pytest
from openpyxl import load_workbook

from outreach.reports.export import (
    MASKED,
    SMALL,
    funder_view,
    render,
    sheets,
    suppress,
)
from outreach.reports.indicators import INDICATORS
from outreach.reports.writers import Sheet, to_csv, to_xlsx

TITLE = [("Organisation", "Bailleur A"), ("Généré le", datetime(2025, 7, 31, 8, 0, tzinfo=UTC))]


def _report() -> dict:
    """A report of the agreed shape, with small and large counts everywhere."""
    indicators = dict.fromkeys(INDICATORS, 0)
    indicators.update(seniors_followed=120, seniors_targeted=100, seniors_reached=83,
                      help_requests=3, concerns=9, refusals=0)  # fmt: skip
    counts = {"seniors_followed": (70, 47, 3), "seniors_targeted": (60, 38, 2),
              "seniors_reached": (50, 32, 1), "help_requests": (2, 1, 0),
              "concerns": (4, 5, 0)}  # fmt: skip
    by = {
        "departement": {
            key: {n: counts.get(n, (0, 0, 0))[i] for n in INDICATORS}
            for i, key in enumerate(("37", "41", "unknown"))
        }
    }
    return {
        "organisations": [{"id": 1, "slug": "bailleur-a", "name": "Bailleur A"}],
        "period": {"from": "2025-07-01", "to": "2025-07-31"},
        "generated_at": "2025-08-01T06:30:00+00:00",
        "indicators": indicators,
        "contacts": {
            "staff": {"reached_ok": 40, "unreached": 3},
            "ivr": {"reached_ok": 12},
            "sms": {"help_requested": 1},
        },  # fmt: skip
        "alerts": {
            "by_cause": {"signal": 9, "help_requested": 2},
            "by_severity": {"concern": 8, "urgent": 3},
            "time_to_acknowledge_minutes": {"median": 42.5, "p90": 180.0},
            "time_to_resolve_minutes": {"median": None, "p90": None},
            "overdue_now": 2,
        },
        "referrals": {"ccas": 6, "clic": 1},
        "activity": {
            "staff": {"calls": 50, "minutes": 210.5},
            "volunteers": {"calls": 4, "minutes": 12.0},
        },  # fmt: skip
        "by": by,
    }


# -- writers --------------------------------------------------------------------------------


def test_csv_is_for_french_excel_and_neutralises_formulas():
    body = to_csv(
        [Sheet("Indicateurs", ["Indicateur", "Nombre"], [["=HYPERLINK(1)", 3], ["Taux", 2.5]]),
         Sheet("Par département", ["Département", "Jour"], [["37", date(2025, 7, 1)]])],
        TITLE,
    )  # fmt: skip
    assert body.startswith("\ufeff".encode())
    text = body.decode("utf-8-sig")
    lines = text.split("\r\n")
    assert lines[:2] == ["Organisation;Bailleur A", "Généré le;31/07/2025 10:00"]
    assert lines[2] == ""  # a blank line before each section
    assert lines[3:7] == ["Indicateurs", "Indicateur;Nombre", "'=HYPERLINK(1);3", "Taux;2,5"]
    assert lines[7:11] == ["", "Par département", "Département;Jour", "37;01/07/2025"]


def test_xlsx_has_a_title_block_and_real_numbers_and_dates():
    body = to_xlsx(
        [Sheet("Indicateurs", ["Indicateur", "Nombre"], [["=1+1", 3], ["Minutes", 2.5]]),
         Sheet("A/B: [trop] long nom de feuille pour Excel", ["Jour"], [[date(2025, 7, 1)]])],
        TITLE,
    )  # fmt: skip
    book = load_workbook(io.BytesIO(body))
    assert book.sheetnames == ["Indicateurs", "A-B- -trop- long nom de feuille"]
    sheet = book["Indicateurs"]
    assert [sheet["A1"].value, sheet["B1"].value] == ["Organisation", "Bailleur A"]
    assert sheet["B2"].value == datetime(2025, 7, 31, 10, 0)  # Paris time, a real date
    assert sheet["B2"].data_type == "d"
    assert [c.value for c in sheet[4]] == ["Indicateur", "Nombre"]
    assert (sheet["A5"].value, sheet["A5"].data_type) == ("=1+1", "s")  # text, not a formula
    assert (sheet["B5"].value, sheet["B5"].data_type) == (3, "n")
    assert (sheet["B6"].value, sheet["B6"].data_type) == (2.5, "n")
    other = book.worksheets[1]
    assert other["A5"].value == datetime(2025, 7, 1) and other["A5"].data_type == "d"


# -- the report -----------------------------------------------------------------------------


def test_json_is_the_dict_of_compute():
    report = _report()
    data = json.loads(render(report, "json"))
    assert data == report
    assert set(data["indicators"]) == set(INDICATORS)
    assert data["by"]["departement"]["37"]["seniors_followed"] == 70


def test_xlsx_has_one_sheet_per_breakdown_with_french_labels():
    book = load_workbook(io.BytesIO(render(_report(), "xlsx")))
    assert book.sheetnames == [
        "Indicateurs", "Contacts", "Alertes", "Orientations", "Activité", "Par département",
    ]  # fmt: skip
    sheet = book["Indicateurs"]
    assert sheet["A1"].value == "Organisation" and sheet["B1"].value == "Bailleur A"
    assert sheet["B2"].value == datetime(2025, 7, 1) and sheet["B2"].data_type == "d"
    assert sheet["B3"].value == datetime(2025, 7, 31)
    rows = {r[0]: r[1] for r in sheet.iter_rows(min_row=7, values_only=True)}
    assert rows["Personnes suivies"] == 120
    numbers = [c for row in sheet.iter_rows(min_row=7, min_col=2) for c in row]
    assert numbers and all(c.data_type == "n" for c in numbers)
    by_dep = book["Par département"]
    assert by_dep["A6"].value == "Département"
    assert [r[0] for r in by_dep.iter_rows(min_row=7, values_only=True)] == [
        "37", "41", "Non renseigné",
    ]  # fmt: skip


def test_csv_has_the_title_block_then_a_section_per_sheet():
    text = render(_report(), "csv").decode("utf-8-sig")
    assert text.startswith("Organisation;Bailleur A\r\nPériode du;01/07/2025\r\nau;31/07/2025\r\n")
    for name in ("Indicateurs", "Contacts", "Alertes", "Orientations", "Activité"):
        assert f"\r\n\r\n{name}\r\n" in text
    assert "Personnes suivies;120" in text


def _counts(data) -> list:
    """Every value of the funder's report that a count could be."""
    values = []
    if isinstance(data, dict):
        for key, value in data.items():
            if key in ("organisations", "period", "generated_at", "funder"):
                continue
            values += _counts(value)
    elif isinstance(data, list):
        for value in data:
            values += _counts(value)
    else:
        values.append(data)
    return values


def test_the_funder_report_never_shows_one_to_four():
    report = _report()
    view = funder_view(report)
    values = _counts(view)
    assert SMALL in values and MASKED in values
    assert not [v for v in values if isinstance(v, int) and 0 < v < 5]
    assert view["indicators"]["help_requests"] == SMALL
    assert view["indicators"]["refusals"] == 0  # a zero is shown
    # Concerns (total 9): 37 has 4, so 41's 5 is masked too; nothing else was small.
    concerns = {k: v["concerns"] for k, v in view["by"]["departement"].items()}
    assert concerns == {"37": SMALL, "41": MASKED, "unknown": 0}
    for fmt in ("csv", "xlsx"):
        body = render(report, fmt, funder=True)
        if fmt == "csv":
            cells = [c for line in body.decode("utf-8-sig").split("\r\n") for c in line.split(";")]
        else:
            book = load_workbook(io.BytesIO(body))
            cells = [c.value for ws in book for row in ws.iter_rows() for c in row]
        assert not [c for c in cells if c in (1, 2, 3, 4, "1", "2", "3", "4")]
        assert SMALL in cells
    assert report["indicators"]["help_requests"] == 3  # the report itself is untouched


# -- suppress(): no "< 5" can be worked out ---------------------------------------------------


def _possible(shown: dict, total: int, small_left: bool) -> dict[str, set[int]]:
    """By brute force: every value each masked cell can take, the total and the markers
    known ("< 5" is 1..4; "s" is 5 or more beside a "< 5", anything when all is masked)."""
    masked = [k for k, v in shown.items() if not isinstance(v, int)]
    rest = total - sum(v for v in shown.values() if isinstance(v, int))
    ranges = []
    for k in masked:
        if shown[k] == SMALL:
            ranges.append(range(1, 5))
        else:
            ranges.append(range(5 if small_left else 0, total + 1))
    seen: dict[str, set[int]] = {k: set() for k in masked}
    for combo in itertools.product(*ranges):
        if sum(combo) == rest:
            for k, v in zip(masked, combo, strict=True):
                seen[k].add(v)
    return seen


def _check(cells: dict[str, int], total: int | None = None) -> dict:
    total = sum(cells.values()) if total is None else total
    shown = suppress(cells, total)
    assert set(shown) == set(cells)
    for key, value in shown.items():
        assert value in (SMALL, MASKED) or value == cells[key]
        if 0 < cells[key] < 5:
            assert value in (SMALL, MASKED), (cells, shown)
    small_left = SMALL in shown.values()
    possible = _possible(shown, total, small_left)
    for key, value in cells.items():
        if 0 < value < 5:
            assert len(possible[key]) >= 2, f"{key}={value} derivable from {shown} and {total}"
            assert value in possible[key]
    return shown


@pytest.mark.parametrize(
    ("cells", "expected"),
    [
        ({"a": 3, "b": 10, "c": 20}, {"a": SMALL, "b": MASKED, "c": 20}),
        ({"a": 3, "b": 4, "c": 20}, {"a": SMALL, "b": SMALL, "c": 20}),
        # Two 1s: their sum, 2, says each is 1; the next smallest is masked too.
        ({"a": 1, "b": 1, "c": 9, "d": 30}, {"a": SMALL, "b": SMALL, "c": MASKED, "d": 30}),
        # A 5 beside a 1 does not help (1 + 5 = 6, and "s" is 5 or more): the next one goes.
        ({"a": 1, "b": 5, "c": 7, "d": 40}, {"a": SMALL, "b": MASKED, "c": MASKED, "d": 40}),
        # Nothing else to mask: everything is, zeros included.
        ({"a": 1, "b": 5, "c": 0}, {"a": MASKED, "b": MASKED, "c": MASKED}),
        ({"a": 0, "b": 12, "c": 30}, {"a": 0, "b": 12, "c": 30}),
    ],
)
def test_suppress_examples(cells, expected):
    assert _check(cells) == expected


def test_suppress_without_a_shown_total_only_hides_small_counts():
    assert suppress({"a": 1, "b": 7, "c": 0}, None) == {"a": SMALL, "b": 7, "c": 0}


def test_suppress_no_small_cell_can_be_derived_in_any_small_table():
    # Every table of 2 or 3 cells from these values, and random larger ones.
    values = (0, 1, 2, 3, 4, 5, 6, 9, 14)
    for n in (2, 3):
        for combo in itertools.product(values, repeat=n):
            if 0 < sum(combo) < 5:
                continue  # such a total is itself "< 5": no subtraction is possible
            _check({f"k{i}": v for i, v in enumerate(combo)})
    rng = random.Random(11)
    for _ in range(300):
        cells = {f"k{i}": rng.choice((0, 1, 2, 3, 4, 5, 5, 6, 8, 20)) for i in range(4)}
        if not 0 < sum(cells.values()) < 5:
            _check(cells)


def test_the_funder_view_of_real_figures(app, session):
    from outreach.reports.indicators import Period, compute
    from tests.factories import make_org, make_senior

    org = make_org(session)
    for departement in ("37", "37", "37", "37", "37", "37", "41"):
        make_senior(session, org, departement=departement)
    session.flush()
    now = datetime(2025, 8, 1, 8, 0, tzinfo=UTC)
    report = compute(session, [org.id], Period(date(2025, 7, 1), date(2025, 7, 31)), now=now)
    view = funder_view(report)
    assert view["indicators"]["seniors_followed"] == 7
    followed = {k: v["seniors_followed"] for k, v in view["by"]["departement"].items()}
    assert followed == {"37": MASKED, "41": SMALL}  # 7 = "s" (5..7) + "< 5": 41 is 1 or 2
    assert [s.name for s in sheets(view)][:5] == [
        "Indicateurs", "Contacts", "Alertes", "Orientations", "Activité",
    ]  # fmt: skip
    load_workbook(io.BytesIO(render(report, "xlsx", funder=True)))


def test_the_funder_view_of_the_workshops_hides_small_counts_at_every_level():
    from outreach.workshops.counts import by_territory

    def row(theme, territory, invited, attended):
        figures = dict(capacity=20, invited=invited, registered=attended, waiting=0)
        return {"theme": theme, "starts_at": "2027-03-02T13:00:00+00:00", "territory": territory,
                **figures, "declined": 0, "attended": attended}  # fmt: skip

    rows = [row("Mémoire", "37", 12, 9), row("Équilibre", "37", 8, 3), row("Numérique", "41", 6, 6)]
    totals = {n: sum(r[n] for r in rows) for n in ("capacity", "invited", "registered",
              "waiting", "declined", "attended")}  # fmt: skip
    report = {**_report(), "workshops": {"total": {"workshops": 3, **totals},
              "by_territory": by_territory(rows), "by_workshop": rows}}  # fmt: skip
    view = funder_view(report)["workshops"]
    people = [
        level[n]
        for level in [view["total"], *view["by_territory"].values(), *view["by_workshop"]]
        for n in ("invited", "registered", "waiting", "declined", "attended")
    ]
    assert SMALL in people and not [v for v in people if isinstance(v, int) and 0 < v < 5]
    # 37 attended 12 = 9 + "< 5": the 9 is masked too, or the 3 comes back by subtraction.
    attended = [r["attended"] for r in view["by_workshop"]]
    assert attended == [MASKED, SMALL, 6]
    assert view["by_territory"]["37"]["attended"] == 12 and view["total"]["attended"] == 18
    assert [r["capacity"] for r in view["by_workshop"]] == [20, 20, 20]  # chairs, not people
    assert report["workshops"]["by_workshop"][1]["attended"] == 3  # the report is untouched
