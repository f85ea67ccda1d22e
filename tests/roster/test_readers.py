"""File decoding, separator sniffing, XLSX rows and header matching (no database needed)."""

from __future__ import annotations

import io
from datetime import datetime
from pathlib import Path

import pytest

from outreach.roster.readers import (
    FatalImportError,
    detect_delimiter,
    header_key,
    header_lookup,
    match_header,
    open_roster,
)

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures" / "import"


def read(name: str, extra=None) -> tuple[object, list[tuple[int, dict]]]:
    with (FIXTURES / name).open("rb") as fh:
        header, rows = open_roster(fh, name, extra)
        return header, list(rows)


def read_bytes(data: bytes, filename: str = "f.csv", extra=None):
    header, rows = open_roster(io.BytesIO(data), filename, extra)
    return header, list(rows)


@pytest.mark.parametrize(
    "raw",
    ["Vit seul(e)", "  VIT SEULE ", "vit  seule", "Vit seule"],
)
def test_header_key_ignores_case_accents_spaces_and_punctuation(raw):
    assert header_key(raw) == "vitseule"


def test_header_key_of_accented_reference():
    assert header_key("  RÉFÉRENCE ") == header_key("référence") == "reference"


@pytest.mark.parametrize("name", ["utf8.csv", "utf8_bom.csv", "cp1252.csv", "comma.csv"])
def test_every_csv_variant_reads_the_same_rows(name):
    _, reference_rows = read("utf8.csv")
    header, rows = read(name)
    assert rows == reference_rows
    assert header.unknown == []
    first = rows[0][1]
    # Accents survive every encoding; the comma inside a quoted address stays in the value.
    assert first["last_name"] == "Lefèvre" and first["first_name"] == "Hélène"
    assert first["address"] == "12, rue de l’Église"
    assert rows[2][1]["last_name"] == "Cœur"


def test_bom_is_not_part_of_the_first_header():
    header, _ = read("utf8_bom.csv")
    assert header.columns[0] == "external_ref"


def test_cp1252_fixture_really_is_windows_1252():
    data = (FIXTURES / "cp1252.csv").read_bytes()
    with pytest.raises(UnicodeDecodeError):
        data.decode("utf-8")
    assert "Lefèvre".encode("cp1252") in data


def test_utf16_with_bom_is_read():
    text = "Référence\tNom\r\nA1\tÉmile\r\n"
    _, rows = read_bytes(text.encode("utf-16"))
    assert rows == [(2, {"external_ref": "A1", "last_name": "Émile"})]


def test_accent_far_down_the_file_decides_the_encoding():
    # Only line 3000 has a non-ASCII byte: the whole file must be checked, not a sample.
    lines = ["Ref;Nom"] + [f"R{i};Nom" for i in range(3000)] + ["R;Crème"]
    _, rows = read_bytes("\n".join(lines).encode("cp1252"))
    assert rows[-1][1]["last_name"] == "Crème"


@pytest.mark.parametrize(
    "data",
    [(FIXTURES / "undecodable.csv").read_bytes(), b"R\x00e\x00f\x00;\x00N\x00o\x00m\x00"],
)
def test_undecodable_file_is_fatal(data):
    with pytest.raises(FatalImportError, match="encodage"):
        read_bytes(data)


@pytest.mark.parametrize(
    ("sample", "expected"),
    [
        ("Référence;Nom;Adresse\nA;B;1, rue X\n", ";"),
        ('Référence,Nom,Adresse\nA,B,"1; rue X"\n', ","),
        ("Référence\tNom\nA\tB\n", "\t"),
        ("Référence\nA\n", ";"),
    ],
)
def test_detect_delimiter(sample, expected):
    assert detect_delimiter(sample) == expected


def test_line_numbers_are_physical_lines():
    # bad_rows.csv: a quoted address spans lines 2-3 and line 7 is blank.
    _, rows = read("bad_rows.csv")
    assert [line for line, _ in rows] == [2, 4, 5, 6, 8, 9, 10, 11, 12]
    assert rows[0][1]["address"] == "Résidence Les Tilleuls\nEscalier B"


def test_title_lines_above_the_header_are_skipped():
    _, rows = read("title_line.csv")
    assert rows == [(4, {"external_ref": "L001", "last_name": "Blanc", "first_name": "Odette"})]


def test_odd_headers_and_synonyms_match():
    header, rows = read("odd_headers.csv")
    assert header.unknown == []
    assert header.fields == {
        "external_ref", "last_name", "first_name", "birth_date", "phone_mobile",
        "phone_landline", "postcode", "city", "lives_alone", "emergency_name",
        "emergency_phone", "canicule_register", "consent",
    }  # fmt: skip
    assert rows[0][1]["phone_mobile"] == "06 11 22 33 44"


def test_unknown_columns_are_named_once_and_empty_headers_ignored():
    header, rows = read("unknown_columns.csv")
    assert header.unknown == ["Observations", "Bâtiment", "Nom du gardien"]
    assert rows[0][1] == {"external_ref": "U001", "last_name": "Petit", "first_name": "Louise"}


def test_xlsx_rows_keep_cell_types_and_sheet_row_numbers():
    header, rows = read("roster.xlsx")
    assert header.unknown == []
    # Row 1 is a title, row 2 the header.
    assert [line for line, _ in rows] == [3, 4, 5]
    first = rows[0][1]
    assert first["birth_date"] == datetime(1941, 3, 12)
    assert first["phone_mobile"] == 612345678
    assert first["qpv"] is True
    # A short row still carries every field of the header (as empty).
    assert rows[1][1]["referent"] is None and "gir" in rows[1][1]


def test_configured_headers_extend_the_defaults():
    data = "Référence;Nom;Tél. perso\nA1;Roux;0612345678\n".encode()
    header, _ = read_bytes(data)
    assert header.unknown == ["Tél. perso"]
    header, rows = read_bytes(data, extra={"phone_mobile": ["Tél. perso"]})
    assert header.unknown == []
    assert rows[0][1]["phone_mobile"] == "0612345678"


def test_unknown_configured_field_is_a_clear_error():
    with pytest.raises(FatalImportError, match="champ inconnu « telephone »"):
        header_lookup({"telephone": ["Tel"]})


def test_configured_header_cannot_steal_another_fields_header():
    with pytest.raises(FatalImportError, match="désigne déjà le champ last_name"):
        header_lookup({"first_name": ["NOM"]})


def test_two_columns_for_one_field_are_fatal():
    with pytest.raises(FatalImportError, match="« Portable » et « Mobile »"):
        match_header(["Référence", "Portable", "Mobile"], header_lookup())


def test_no_reference_column_is_fatal():
    with pytest.raises(FatalImportError, match="Référence"):
        read("no_reference.csv")


@pytest.mark.parametrize(
    ("filename", "message"),
    [
        ("roster.xls", "format .xls non pris en charge"),
        ("roster.pdf", "« .pdf »"),
        ("roster", r"« \(aucune\) »"),
    ],
)
def test_unsupported_extension_is_fatal(filename, message):
    with pytest.raises(FatalImportError, match=message):
        read_bytes(b"whatever", filename)


def test_corrupt_xlsx_is_fatal():
    with pytest.raises(FatalImportError, match="XLSX illisible"):
        read_bytes(b"PK\x03\x04 not really a zip", "roster.xlsx")


class Pipe(io.RawIOBase):
    """A stream without seek, like a pipe or some upload wrappers."""

    def __init__(self, data: bytes) -> None:
        self.inner = io.BytesIO(data)

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return False

    def readinto(self, b) -> int:  # type: ignore[no-untyped-def]
        chunk = self.inner.read(len(b))
        b[: len(chunk)] = chunk
        return len(chunk)


@pytest.mark.parametrize("name", ["cp1252.csv", "roster.xlsx"])
def test_non_seekable_stream_is_read(name):
    _, rows = open_roster(Pipe((FIXTURES / name).read_bytes()), name)
    assert [r[1]["last_name"] for r in rows] == ["Lefèvre", "Dupré", "Cœur"]


def test_the_callers_stream_stays_open():
    stream = io.BytesIO((FIXTURES / "cp1252.csv").read_bytes())
    _, rows = open_roster(stream, "cp1252.csv")
    list(rows)
    assert not stream.closed
