"""Listing files for the listing tests, made in memory: CSV in any encoding, XLSX."""

from __future__ import annotations

import io
from typing import Any

from openpyxl import Workbook

HEADER = ["Référence", "Année de naissance", "Sexe", "Code postal", "Type de logement", "Zone",
          "QPV", "Vit seul(e)", "Logement adapté"]  # fmt: skip
ROWS = [
    ["L1", "1950", "F", "37000", "Collectif", "Urbain", "Oui", "Oui", "Non"],
    ["L2", "1958", "H", "20167", "Individuel", "Rural", "Non", "Non", "Oui"],
    ["L3", "1940", "Femme", "97400", "collectif", "urbain", "", "", ""],
]


def csv_bytes(
    rows: list[list[Any]] | None = None,
    header: list[str] | None = None,
    sep: str = ";",
    encoding: str = "utf-8-sig",
    title: str | None = None,
) -> bytes:
    lines = [title] if title else []
    lines += [sep.join(str(c) for c in line) for line in [header or HEADER, *(rows or ROWS)]]
    return ("\r\n".join(lines) + "\r\n").encode(encoding)


def xlsx_bytes(rows: list[list[Any]], header: list[str] | None = None) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.append(header or HEADER)
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()
