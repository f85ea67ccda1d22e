"""Reading roster files as landlords export them: CSV or XLSX, French headers.

``open_roster()`` turns a binary stream into the matched header and an iterator of
``(line, {field: raw value})``, where ``line`` is the physical line (or sheet row) of the
record, the header being line 1. Rows are streamed: neither the file nor its rows are kept
in memory, so a 100,000-row file costs the same memory as a 100-row one.

CSV: UTF-8 with or without BOM, UTF-16 with BOM (Excel's "texte Unicode"), else
Windows-1252 when the whole file says so (``encoding.py``); the separator is the most
frequent of ``;``, ``,`` and tab at the top of the file. XLSX: the first sheet, its archive
checked first (``xlsx.py``), its rows streamed.

A hostile or broken file is refused as a whole, with the line and column named, when it
goes beyond the caps of ``ReadLimits`` (rows, columns, characters in a cell, decompressed
size): memory stays bounded whatever the file holds.
"""

from __future__ import annotations

import csv
import dataclasses
import functools
import io
import re
import shutil
import tempfile
import unicodedata
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import PurePath
from typing import IO, Any, BinaryIO


class FatalImportError(Exception):
    """The file cannot be imported at all; the message (in French) is shown to the user."""


@dataclass(frozen=True)
class ReadLimits:
    """What a roster file may hold (configuration ``[roster]``); beyond, it is refused."""

    max_rows: int = 200_000
    max_columns: int = 100
    max_cell_chars: int = 1000
    max_unzipped_mb: int = 200

    @classmethod
    def from_config(cls, roster: Mapping[str, Any]) -> ReadLimits:
        """The limits of the ``roster`` configuration section (defaults for missing keys)."""
        names = ("max_rows", "max_columns", "max_cell_chars", "max_unzipped_mb")
        return cls(**{name: roster[name] for name in names if name in roster})


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
    "floor": ("Étage", "Etage"),
    "door_code": ("Code porte", "Digicode", "Code d'accès"),
    "access_notes": ("Consignes d'accès", "Consignes"),
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


def header_lookup(
    extra: Mapping[str, list[str]] | None = None,
    headers: Mapping[str, Sequence[str]] = DEFAULT_HEADERS,
) -> dict[str, str]:
    """Header key -> canonical field, with the configured spellings added.

    ``headers`` is the table of fields and default spellings: the roster's, or another
    import's built on it (the panel listing). Raises FatalImportError when the
    configuration names an unknown field or gives one header to two fields: silently
    guessing would import values into the wrong column.
    """
    lookup = {header_key(h): field for field, hs in headers.items() for h in hs}
    for field, spellings in (extra or {}).items():
        if field not in headers:
            raise FatalImportError(
                f"configuration roster.headers : champ inconnu « {field} » "
                f"(champs connus : {', '.join(headers)})"
            )
        for header in spellings:
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
    # column index -> the header as written, for messages that name a column.
    labels: dict[int, str] = dataclasses.field(default_factory=dict)

    @property
    def fields(self) -> set[str]:
        return set(self.columns.values())


def match_header(cells: list[Any], lookup: Mapping[str, str]) -> HeaderMap:
    """Which field each header cell names. Linear in the number of cells: a header of
    100,000 columns must not cost 100,000² comparisons (callers cap the width first)."""
    columns: dict[int, str] = {}
    labels: dict[int, str] = {}
    unknown: dict[str, None] = {}  # an ordered set
    first_of: dict[str, str] = {}
    for index, cell in enumerate(cells):
        name = str(cell).strip() if cell is not None else ""
        if not name:
            continue  # trailing empty columns are everywhere in spreadsheet exports
        field = lookup.get(header_key(name))
        if field is None:
            unknown[name] = None
            continue
        if field in first_of:
            raise FatalImportError(
                f"les colonnes « {first_of[field]} » et « {name} » désignent le même champ"
            )
        first_of[field] = name
        columns[index] = field
        labels[index] = name
    return HeaderMap(columns, list(unknown), labels)


def width(cells: list[Any]) -> int:
    """The number of columns up to the last non-empty cell."""
    for index in range(len(cells) - 1, -1, -1):
        value = cells[index]
        if value is not None and (not isinstance(value, str) or value.strip()):
            return index + 1
    return 0


def column_name(index: int, header: HeaderMap | None = None, names: list[Any] | None = None) -> str:
    """« colonne 3 (Nom) »: how a message names a column (0-based ``index``)."""
    label = None
    if header is not None and index in header.columns:
        label = DEFAULT_HEADERS[header.columns[index]][0]
    if names is not None and index < len(names) and names[index] not in (None, ""):
        label = str(names[index]).strip()[:40]
    return f"colonne {index + 1}" + (f" ({label})" if label else "")


def check_row(line: int, cells: list[Any], limits: ReadLimits, names: list[Any] | None) -> None:
    """Refuse the file at a row wider than ``max_columns`` or with a cell too long."""
    if len(cells) > limits.max_columns and width(cells) > limits.max_columns:
        raise FatalImportError(
            f"ligne {line} : plus de {limits.max_columns} colonnes "
            f"({column_name(width(cells) - 1)} remplie) ; le fichier n'a pas été importé"
        )
    for index, value in enumerate(cells):
        if isinstance(value, str) and len(value) > limits.max_cell_chars:
            raise FatalImportError(
                f"ligne {line}, {column_name(index, names=names)} : cellule de plus de "
                f"{limits.max_cell_chars} caractères ; le fichier n'a pas été importé"
            )


RawRows = Iterator[tuple[int, list[Any]]]


def open_roster(
    stream: BinaryIO,
    filename: str,
    extra_headers: Mapping[str, list[str]] | None = None,
    limits: ReadLimits | None = None,
    headers: Mapping[str, Sequence[str]] = DEFAULT_HEADERS,
    check_header: Callable[[HeaderMap], None] | None = None,
) -> tuple[HeaderMap, Iterator[tuple[int, dict[str, Any]]]]:
    """Find the header and return it with the data rows as ``(line, {field: value})``.

    Blank rows are skipped. Values are strings for CSV and whatever the cell holds for XLSX
    (str, int, float, bool, datetime, None). Raises FatalImportError for an unsupported
    extension, an unreadable or undecodable file, a file without a reference column, or
    one beyond ``limits`` (also while the rows are read: callers roll back).
    ``check_header`` may refuse the header (raising FatalImportError) before any row is read.
    """
    from outreach.roster.xlsx import xlsx_rows

    limits = limits or ReadLimits()
    lookup = header_lookup(extra_headers, headers)
    suffix = PurePath(filename).suffix.lower()
    if suffix in XLSX_EXTENSIONS:
        raw = xlsx_rows(stream, limits)
    elif suffix in CSV_EXTENSIONS:
        raw = _csv_rows(stream, limits)
    elif suffix in {".xls", ".ods"}:
        raise FatalImportError(
            f"format {suffix} non pris en charge : enregistrez le fichier en .xlsx ou en .csv"
        )
    else:
        raise FatalImportError(
            f"extension « {suffix or '(aucune)'} » non prise en charge : .csv ou .xlsx attendu"
        )
    header_line, header, names = _find_header(raw, lookup, limits)
    if check_header is not None:
        try:
            check_header(header)
        except FatalImportError:
            # Now, not when collected: the reader gives the caller's stream back.
            close = getattr(raw, "close", None)
            if close is not None:
                close()
            raise
    return header, _data_rows(raw, header, header_line, names, limits)


def _find_header(
    raw: RawRows, lookup: Mapping[str, str], limits: ReadLimits
) -> tuple[int, HeaderMap, list[Any]]:
    for line, cells in raw:
        # Before matching: a 100,000-column header is refused without looking at it.
        check_row(line, cells, limits, None)
        header = match_header(cells, lookup)
        if REFERENCE_FIELD in header.fields:
            return line, header, cells
        if line >= MAX_LINES_BEFORE_HEADER:
            break
    raise FatalImportError(
        "aucune colonne « Référence » trouvée en tête du fichier "
        "(la référence du locataire est obligatoire)"
    )


def _data_rows(
    raw: RawRows, header: HeaderMap, header_line: int, names: list[Any], limits: ReadLimits
) -> Iterator[tuple[int, dict[str, Any]]]:
    columns = header.columns
    last_line = header_line + limits.max_rows
    for line, cells in raw:
        if line > last_line:
            raise FatalImportError(
                f"ligne {line} : le fichier dépasse {limits.max_rows} lignes après l'en-tête ; "
                "découpez-le en plusieurs fichiers (rien n'a été importé)"
            )
        check_row(line, cells, limits, names)
        # Spreadsheets drop trailing empty cells: a short row has empty values, so that
        # every field of the header is present (present and empty differ for yes/no).
        values = {field: cells[i] if i < len(cells) else None for i, field in columns.items()}
        if any(v is not None and str(v).strip() for v in values.values()):
            yield line, values


# --- CSV -------------------------------------------------------------------------------


def seekable(stream: BinaryIO) -> IO[bytes]:
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


def detect_delimiter(sample: str) -> str:
    """The most frequent of ``;``, ``,`` and tab in the first lines (``;`` on a tie): the
    header alone decides for normal files, and commas inside addresses cannot outvote it."""
    lines = [line for line in sample.splitlines()[:10] if line.strip()]
    counts = {d: sum(line.count(d) for line in lines) for d in (";", ",", "\t")}
    best = max(counts, key=lambda d: counts[d])
    return best if counts[best] > counts[";"] else ";"


def _bounded_lines(text: io.TextIOWrapper, limit: int) -> Iterator[str]:
    """The physical lines of ``text``, refusing one longer than ``limit`` characters: a
    file of 50 MB without a line break (``;;;;…``) would otherwise become one row of
    millions of cells before any cap could look at it."""
    number = 0
    while line := text.readline(limit + 1):
        number += 1
        if len(line) > limit and not line.endswith(("\n", "\r")):
            raise FatalImportError(
                f"ligne {number} : ligne de plus de {limit} caractères ; "
                "le fichier n'a pas été importé"
            )
        yield line


def _csv_rows(stream: BinaryIO, limits: ReadLimits) -> RawRows:
    from outreach.roster.encoding import detect_encoding

    source = seekable(stream)
    encoding = detect_encoding(source)
    text = io.TextIOWrapper(source, encoding=encoding, newline="")
    sample = text.read(SNIFF_BYTES)
    text.seek(0)
    # Room for every allowed cell, quoted, with its separator.
    line_limit = limits.max_columns * (limits.max_cell_chars + 3) + 2
    reader = csv.reader(_bounded_lines(text, line_limit), delimiter=detect_delimiter(sample))
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
