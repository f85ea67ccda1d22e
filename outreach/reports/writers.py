"""Tables to files: the CSV and XLSX writers shared by every report of the service.

A report is a title block of (label, value) pairs (organisation, période, généré le) and a
list of ``Sheet`` tables. The writers know nothing of indicators: the funders' report, the
end-of-heatwave report and the dashboards' downloads all hand them the same shapes.

CSV is written for French Excel, which is what a landlord's staff double-click: ``;``
separated, UTF-8 with a BOM (without it Excel reads Windows-1252), CRLF line ends, decimal
commas and dates as JJ/MM/AAAA, so that numbers stay numbers once opened. The title block
comes first, then one section per sheet (its name, its header, its rows), sections
separated by a blank line.

XLSX has one worksheet per Sheet, the title block at the top of each, then the header
and the rows: numbers are written as numbers and dates as dates so that a funder can
sum and sort them. Text cells are never formulas, in either format (a label coming from
a landlord's file, an organisation named "=HYPERLINK(...)", must not run).
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from outreach.roster.export import BOM, DELIMITER, neutralise
from outreach.timezone import PARIS

Title = Sequence[tuple[str, Any]]

# Excel's limits and rules for a worksheet's name.
SHEET_NAME_MAX = 31
SHEET_NAME_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")
DATE_FORMAT = "DD/MM/YYYY"
DATETIME_FORMAT = "DD/MM/YYYY HH:MM"
MAX_COLUMN_WIDTH = 60


@dataclass
class Sheet:
    """One table of a report: a worksheet in XLSX, a section in CSV."""

    name: str
    columns: list[str]
    rows: list[list[Any]] = field(default_factory=list)


def _local(value: datetime) -> datetime:
    """Paris wall-clock time without tzinfo: spreadsheets have no time zones."""
    if value.tzinfo is not None:
        value = value.astimezone(PARIS).replace(tzinfo=None)
    return value


def _csv_cell(value: Any) -> str:
    """One value as French Excel reads it back: decimal comma, JJ/MM/AAAA, oui/non."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "oui" if value else "non"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return f"{value:.15g}".replace(".", ",") if value == value else ""
    if isinstance(value, datetime):
        return _local(value).strftime("%d/%m/%Y %H:%M")
    if isinstance(value, date):
        return value.strftime("%d/%m/%Y")
    return neutralise(str(value))


def to_csv(sheets: Sequence[Sheet], title: Title) -> bytes:
    """The report as one CSV file for French Excel: title block, then a section per sheet."""
    buffer = io.StringIO()
    buffer.write(BOM)
    writer = csv.writer(buffer, delimiter=DELIMITER, lineterminator="\r\n")
    for label, value in title:
        writer.writerow([_csv_cell(label), _csv_cell(value)])
    for sheet in sheets:
        writer.writerow([])
        writer.writerow([_csv_cell(sheet.name)])
        writer.writerow([_csv_cell(column) for column in sheet.columns])
        for row in sheet.rows:
            writer.writerow([_csv_cell(value) for value in row])
    return buffer.getvalue().encode("utf-8")


def sheet_title(name: str, taken: set[str]) -> str:
    """A worksheet name Excel accepts: no []:*?/\\, at most 31 characters, unique."""
    base = SHEET_NAME_FORBIDDEN.sub("-", name).strip("'").strip() or "Feuille"
    candidate, n = base[:SHEET_NAME_MAX], 1
    while candidate.casefold() in taken:  # Excel compares sheet names case-insensitively
        n += 1
        suffix = f" ({n})"
        candidate = base[: SHEET_NAME_MAX - len(suffix)] + suffix
    taken.add(candidate.casefold())
    return candidate


def _xlsx_cell(
    worksheet: Any, widths: dict[int, int], row: int, column: int, value: Any, bold: bool = False
) -> None:
    """Write one typed cell and widen its column to the width its text needs."""
    from openpyxl.styles import Font

    if isinstance(value, datetime):
        value = _local(value)
    elif isinstance(value, float) and value != value:
        value = None  # NaN is no number a spreadsheet can hold
    elif value is not None and not isinstance(value, (bool, int, float, date)):
        value = str(value)
    cell = worksheet.cell(row=row, column=column, value=value)
    if isinstance(value, str) and cell.data_type == "f":
        cell.data_type = "s"  # openpyxl takes a leading "=" for a formula: keep it text
    if isinstance(value, datetime):
        cell.number_format = DATETIME_FORMAT
    elif isinstance(value, date):
        cell.number_format = DATE_FORMAT
    if bold:
        cell.font = Font(bold=True)
    width = 16 if isinstance(value, (date, datetime)) else len("" if value is None else str(value))
    widths[column] = max(widths.get(column, 0), width)


def to_xlsx(sheets: Sequence[Sheet], title: Title) -> bytes:
    """The report as an XLSX workbook: one worksheet per sheet, the title block atop each."""
    from openpyxl import Workbook
    from openpyxl.utils import get_column_letter

    workbook = Workbook()
    workbook.remove(workbook.active)  # type: ignore[arg-type]
    taken: set[str] = set()
    for sheet in sheets or [Sheet(name="Rapport", columns=[])]:
        worksheet = workbook.create_sheet(sheet_title(sheet.name, taken))
        widths: dict[int, int] = {}
        row = 1
        for label, value in title:
            _xlsx_cell(worksheet, widths, row, 1, label, bold=True)
            _xlsx_cell(worksheet, widths, row, 2, value)
            row += 1
        row += 1  # a blank row between the title block and the table
        for column, name in enumerate(sheet.columns, start=1):
            _xlsx_cell(worksheet, widths, row, column, name, bold=True)
        header_row = row
        for values in sheet.rows:
            row += 1
            for column, value in enumerate(values, start=1):
                _xlsx_cell(worksheet, widths, row, column, value)
        if sheet.columns:
            worksheet.freeze_panes = worksheet.cell(row=header_row + 1, column=1)
        for column, width in widths.items():
            letter = get_column_letter(column)
            worksheet.column_dimensions[letter].width = min(width + 2, MAX_COLUMN_WIDTH)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()
