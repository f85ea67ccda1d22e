"""Reading roster files as landlords export them: CSV or XLSX, French headers.

``open_roster()`` turns a binary stream into the matched header and an iterator of
``(line, {field: raw value})``, where ``line`` is the physical line (or sheet row) of the
record, the header being line 1. Rows are streamed: neither the file nor its rows are kept
in memory, so a 100,000-row file costs the same memory as a 100-row one.

CSV: UTF-8 with or without BOM, UTF-16 with BOM (Excel's "texte Unicode"), else
Windows-1252; the separator is the most frequent of ``;``, ``,`` and tab at the top of the
file. XLSX: the first sheet, read with openpyxl in read-only (streaming) mode.
"""

from __future__ import annotations

import codecs
import csv
import functools
import io
import re
import shutil
import tempfile
import unicodedata
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import PurePath
from typing import IO, Any, BinaryIO


class FatalImportError(Exception):
    """The file cannot be imported at all; the message (in French) is shown to the user."""


# Canonical field -> the headers accepted by default. Matching ignores case, accents,
# spaces and punctuation (see ``header_key``), so "Vit seul(e)" also matches "VIT SEULE".
# The configuration key ``roster.headers`` adds spellings per canonical field.
DEFAULT_HEADERS: dict[str, tuple[str, ...]] = {
    "external_ref": ("Référence", "Réf", "Référence locataire", "N° locataire", "Identifiant"),
    "civility": ("Civilité", "Titre"),
    "last_name": ("Nom", "Nom de famille", "Nom d'usage"),
    "first_name": ("Prénom",),
    "birth_date": ("Date de naissance", "Date naissance", "Né(e) le", "Naissance"),
    "sex": ("Sexe", "Genre"),
    "phone_landline": ("Téléphone fixe", "Tél fixe", "Tel fixe", "Tél. fixe", "Fixe"),
    "phone_mobile": (
        "Téléphone portable",
        "Portable",
        "Mobile",
        "Tél portable",
        "Tel portable",
        "Téléphone mobile",
        "Tel mobile",
        "GSM",
    ),
    "address": ("Adresse",),
    "postcode": ("Code postal", "CP"),
    "city": ("Commune", "Ville"),
    "residence": ("Résidence", "Nom de la résidence"),
    "housing_type": ("Type de logement", "Type logement"),
    "area": ("Zone", "Urbain/Rural"),
    "qpv": ("QPV", "Quartier prioritaire"),
    "lives_alone": ("Vit seul(e)", "Vit seul", "Vit seule", "Personne seule"),
    "adapted_housing": ("Logement adapté",),
    "canicule_register": ("Registre canicule", "Inscrit registre canicule"),
    "consent": ("Consentement", "Accord", "Accord de principe"),
    "consent_date": ("Date du consentement", "Date de consentement", "Date consentement"),
    "gir": ("GIR",),
    "emergency_name": ("Contact d'urgence", "Personne à prévenir"),
    "emergency_phone": (
        "Téléphone contact d'urgence",
        "Tél contact d'urgence",
        "Tel contact d'urgence",
        "Téléphone personne à prévenir",
    ),
    "referent": (
        "Référent",
        "Référente",
        "Référent social",
        "E-mail référent",
        "Référent e-mail",
    ),
}
REFERENCE_FIELD = "external_ref"
XLSX_EXTENSIONS = {".xlsx", ".xlsm"}
CSV_EXTENSIONS = {".csv", ".txt"}
# A title line or two above the header is common in exports ("Liste des locataires au ...").
MAX_LINES_BEFORE_HEADER = 10
SNIFF_BYTES = 64 * 1024


@functools.lru_cache(maxsize=4096)  # also used on cell values that repeat ("Collectif")
def header_key(text: Any) -> str:
    """The comparable form of a header: no accents, no case, only letters and digits."""
    decomposed = unicodedata.normalize("NFKD", str(text or ""))
    plain = "".join(c for c in decomposed if not unicodedata.combining(c))
    return re.sub(r"[^a-z0-9]", "", plain.casefold())


def header_lookup(extra: Mapping[str, list[str]] | None = None) -> dict[str, str]:
    """Header key -> canonical field, with the configured spellings added.

    Raises FatalImportError when the configuration names an unknown field or gives one
    header to two fields: silently guessing would import values into the wrong column.
    """
    lookup = {header_key(h): field for field, hs in DEFAULT_HEADERS.items() for h in hs}
    for field, headers in (extra or {}).items():
        if field not in DEFAULT_HEADERS:
            raise FatalImportError(
                f"configuration roster.headers : champ inconnu « {field} » "
                f"(champs connus : {', '.join(DEFAULT_HEADERS)})"
            )
        for header in headers:
            key = header_key(header)
            if lookup.get(key, field) != field:
                raise FatalImportError(
                    f"configuration roster.headers : l'en-tête « {header} » désigne déjà "
                    f"le champ {lookup[key]}"
                )
            lookup[key] = field
    return lookup


@dataclass
class HeaderMap:
    """Which column holds which field, and the header names nobody recognised."""

    columns: dict[int, str]  # column index -> canonical field
    unknown: list[str]

    @property
    def fields(self) -> set[str]:
        return set(self.columns.values())


def match_header(cells: list[Any], lookup: Mapping[str, str]) -> HeaderMap:
    columns: dict[int, str] = {}
    unknown: list[str] = []
    first_of: dict[str, str] = {}
    for index, cell in enumerate(cells):
        name = str(cell).strip() if cell is not None else ""
        if not name:
            continue  # trailing empty columns are everywhere in spreadsheet exports
        field = lookup.get(header_key(name))
        if field is None:
            if name not in unknown:
                unknown.append(name)
            continue
        if field in first_of:
            raise FatalImportError(
                f"les colonnes « {first_of[field]} » et « {name} » désignent le même champ"
            )
        first_of[field] = name
        columns[index] = field
    return HeaderMap(columns, unknown)


RawRows = Iterator[tuple[int, list[Any]]]


def open_roster(
    stream: BinaryIO, filename: str, extra_headers: Mapping[str, list[str]] | None = None
) -> tuple[HeaderMap, Iterator[tuple[int, dict[str, Any]]]]:
    """Find the header and return it with the data rows as ``(line, {field: value})``.

    Blank rows are skipped. Values are strings for CSV and whatever the cell holds for XLSX
    (str, int, float, bool, datetime, None). Raises FatalImportError for an unsupported
    extension, an unreadable or undecodable file, or a file without a reference column.
    """
    lookup = header_lookup(extra_headers)
    suffix = PurePath(filename).suffix.lower()
    if suffix in XLSX_EXTENSIONS:
        raw = _xlsx_rows(stream)
    elif suffix in CSV_EXTENSIONS:
        raw = _csv_rows(stream)
    elif suffix in {".xls", ".ods"}:
        raise FatalImportError(
            f"format {suffix} non pris en charge : enregistrez le fichier en .xlsx ou en .csv"
        )
    else:
        raise FatalImportError(
            f"extension « {suffix or '(aucune)'} » non prise en charge : .csv ou .xlsx attendu"
        )
    header = _find_header(raw, lookup)
    return header, _data_rows(raw, header)


def _find_header(raw: RawRows, lookup: Mapping[str, str]) -> HeaderMap:
    for line, cells in raw:
        header = match_header(cells, lookup)
        if REFERENCE_FIELD in header.fields:
            return header
        if line >= MAX_LINES_BEFORE_HEADER:
            break
    raise FatalImportError(
        "aucune colonne « Référence » trouvée en tête du fichier "
        "(la référence du locataire est obligatoire)"
    )


def _data_rows(raw: RawRows, header: HeaderMap) -> Iterator[tuple[int, dict[str, Any]]]:
    columns = header.columns
    for line, cells in raw:
        # Spreadsheets drop trailing empty cells: a short row has empty values, so that
        # every field of the header is present (present and empty differ for yes/no).
        values = {field: cells[i] if i < len(cells) else None for i, field in columns.items()}
        if any(v is not None and str(v).strip() for v in values.values()):
            yield line, values


# --- CSV -------------------------------------------------------------------------------


def _seekable(stream: BinaryIO) -> IO[bytes]:
    """The encoding check reads the file once before parsing it: make sure we can rewind.
    A pipe or an upload without seek is spooled to disk, not to memory."""
    try:
        if stream.seekable():
            return stream
    except (AttributeError, ValueError):
        pass
    spool = tempfile.SpooledTemporaryFile(max_size=8 * 1024 * 1024)
    shutil.copyfileobj(stream, spool)
    spool.seek(0)
    return spool


def _decodes_as(stream: IO[bytes], start: int, encoding: str) -> bool:
    stream.seek(start)
    decoder = codecs.getincrementaldecoder(encoding)(errors="strict")
    try:
        while chunk := stream.read(1024 * 1024):
            decoder.decode(chunk)
        decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


def detect_encoding(stream: IO[bytes]) -> str:
    """UTF-16 or UTF-8 when a BOM says so, UTF-8 when the whole file decodes as UTF-8,
    else Windows-1252 (what Excel writes for "CSV (séparateur: point-virgule)")."""
    start = stream.tell()
    head = stream.read(SNIFF_BYTES)
    stream.seek(start)
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if b"\x00" in head:  # UTF-16 without BOM, or not a text file at all
        raise FatalImportError(
            "encodage du fichier non reconnu : enregistrez-le en CSV UTF-8 ou Windows-1252"
        )
    # Decoding the whole file is the only reliable test: an accent may first appear on
    # line 80,000. It is streamed, so memory stays flat.
    for encoding in ("utf-8-sig", "cp1252"):
        if _decodes_as(stream, start, encoding):
            stream.seek(start)
            return encoding
    raise FatalImportError(
        "encodage du fichier non reconnu : enregistrez-le en CSV UTF-8 ou Windows-1252"
    )


def detect_delimiter(sample: str) -> str:
    """The most frequent of ``;``, ``,`` and tab in the first lines (``;`` on a tie): the
    header alone decides for normal files, and commas inside addresses cannot outvote it."""
    lines = [line for line in sample.splitlines()[:10] if line.strip()]
    counts = {d: sum(line.count(d) for line in lines) for d in (";", ",", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] > counts[";"] else ";"


def _csv_rows(stream: BinaryIO) -> RawRows:
    source = _seekable(stream)
    encoding = detect_encoding(source)
    text = io.TextIOWrapper(source, encoding=encoding, newline="")
    sample = text.read(SNIFF_BYTES)
    text.seek(0)
    reader = csv.reader(text, delimiter=detect_delimiter(sample))
    return _csv_records(reader, text, source if source is not stream else None)


def _csv_records(reader: Any, text: io.TextIOWrapper, spool: IO[bytes] | None) -> RawRows:
    try:
        while True:
            # A quoted field may span lines: the record starts after the previous one ended.
            line = reader.line_num + 1
            try:
                cells = next(reader)
            except StopIteration:
                return
            except csv.Error as exc:
                raise FatalImportError(
                    f"fichier CSV illisible ligne {reader.line_num} : {exc}"
                ) from exc
            yield line, cells
    finally:
        # The wrapper would close the caller's stream when collected; the caller owns it.
        text.detach()
        if spool is not None:
            spool.close()  # our copy of a pipe


# --- XLSX ------------------------------------------------------------------------------


def _xlsx_rows(stream: BinaryIO) -> RawRows:
    from openpyxl import load_workbook

    try:
        # A zip archive is read from its end: the stream must be seekable.
        source = _seekable(stream)
        workbook = load_workbook(source, read_only=True, data_only=True)
        sheet = workbook.worksheets[0]
    except Exception as exc:  # zipfile, XML and openpyxl errors alike: the file is unusable
        raise FatalImportError("fichier XLSX illisible ou endommagé") from exc
    # Some generators write a wrong <dimension>: read the rows that are really there.
    sheet.reset_dimensions()
    return _xlsx_records(workbook, sheet, source if source is not stream else None)


def _xlsx_records(workbook: Any, sheet: Any, spool: IO[bytes] | None) -> RawRows:
    try:
        for line, cells in enumerate(sheet.iter_rows(min_row=1, values_only=True), start=1):
            yield line, list(cells)
    except Exception as exc:
        raise FatalImportError("fichier XLSX illisible ou endommagé") from exc
    finally:
        workbook.close()
        if spool is not None:
            spool.close()  # our copy of a pipe
