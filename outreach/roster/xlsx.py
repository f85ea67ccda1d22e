"""Reading the first sheet of an XLSX roster with bounded memory, whatever the file holds.

An XLSX file is a zip archive of XML: 613 KB can decompress to gigabytes (a "zip bomb"),
and openpyxl holds some parts whole in memory (the shared strings, the styles) and builds
each ``<row>`` as a tree before giving it back. So:

1. The archive is checked on the sizes it declares, before anything is decompressed: the
   number of members (read from the end record, before the member list is parsed), the
   total, each member's compression ratio, and the size of the parts held in memory.
   Python's zipfile never inflates a member beyond its declared size (and then fails its
   CRC check), so a lying header cannot get past these caps.
2. openpyxl reads the workbook, the styles and the shared strings (read-only mode).
3. The sheet's XML is parsed here, cell by cell, each cell dropped once read: a row of a
   million cells costs one cell of memory, and a cell beyond ``max_columns`` stops the
   read with its row and column named.
"""

from __future__ import annotations

import struct
import zipfile
from typing import IO, Any, BinaryIO
from xml.etree.ElementTree import iterparse

from outreach.roster.readers import FatalImportError, RawRows, ReadLimits, seekable

MB = 1024 * 1024
# A legitimate workbook has a dozen members; a few hundred with images and charts.
MAX_MEMBERS = 1000
# Sheet XML compresses about 10 times (measured on openpyxl and Excel files); a bomb
# compresses hundreds or thousands of times. Small members are exempt (tiny, repetitive).
MAX_RATIO = 100
RATIO_FROM = 1 * MB
# Parts openpyxl parses whole into memory (styles, workbook, relations...) are small in a
# real file; the shared strings (one Python string per distinct text) get a share of the
# total. Binary members (images) are never decompressed in read-only mode.
MAX_PARSED_PART = 5 * MB
SHARED_STRINGS_SHARE = 4
WORKSHEETS = "xl/worksheets/"
END_RECORD = b"PK\x05\x06"
UNREADABLE = "fichier XLSX illisible ou endommagé"


def check_archive(source: IO[bytes], limits: ReadLimits) -> None:
    """Refuse an archive whose declared content is beyond the caps; read nothing inflated."""
    source.seek(0, 2)
    size = source.tell()
    tail_size = min(size, 22 + 65535)  # the end record and its longest comment
    source.seek(size - tail_size)
    tail = source.read(tail_size)
    source.seek(0)
    at = tail.rfind(END_RECORD)
    if at < 0 or len(tail) < at + 22:
        raise FatalImportError(UNREADABLE)
    (members,) = struct.unpack("<H", tail[at + 10 : at + 12])
    if members > MAX_MEMBERS:  # 0xFFFF too: zip64 with more members than any workbook
        raise FatalImportError(
            f"fichier XLSX refusé : plus de {MAX_MEMBERS} fichiers dans l'archive"
        )
    try:
        with zipfile.ZipFile(source) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise FatalImportError(UNREADABLE) from exc
    finally:
        source.seek(0)
    total = 0
    limit = limits.max_unzipped_mb * MB
    for info in infos:
        total += info.file_size
        name = info.filename
        if total > limit:
            raise FatalImportError(
                f"fichier XLSX refusé : son contenu décompressé dépasse {limits.max_unzipped_mb} "
                "Mo ; enregistrez-le en CSV ou découpez-le"
            )
        if info.file_size > RATIO_FROM and info.file_size > MAX_RATIO * max(1, info.compress_size):
            raise FatalImportError(
                f"fichier XLSX refusé : « {name[:80]} » se décompresse plus de {MAX_RATIO} fois "
                "(fichier piégé ou endommagé)"
            )
        in_memory = name.lower().endswith((".xml", ".rels")) and not name.startswith(WORKSHEETS)
        cap = limit // SHARED_STRINGS_SHARE if name == "xl/sharedStrings.xml" else MAX_PARSED_PART
        if in_memory and info.file_size > cap:
            raise FatalImportError(
                f"fichier XLSX refusé : la partie « {name[:80]} » dépasse {cap // MB} Mo"
            )


def xlsx_rows(stream: BinaryIO, limits: ReadLimits) -> RawRows:
    """The rows of the first sheet as ``(sheet row number, [values])``, after the checks."""
    from openpyxl import load_workbook

    # A zip archive is read from its end: the stream must be seekable.
    source = seekable(stream)
    try:
        check_archive(source, limits)
        workbook = load_workbook(source, read_only=True, data_only=True)
        sheet = workbook.worksheets[0]
    except FatalImportError:
        _close(None, source, stream)
        raise
    except Exception as exc:  # zipfile, XML and openpyxl errors alike: the file is unusable
        _close(None, source, stream)
        raise FatalImportError(UNREADABLE) from exc
    return _records(workbook, sheet, limits, source, stream)


def _close(workbook: Any, source: IO[bytes], stream: BinaryIO) -> None:
    if workbook is not None:
        workbook.close()
    if source is not stream:
        source.close()  # our copy of a pipe


def _records(
    workbook: Any, sheet: Any, limits: ReadLimits, source: IO[bytes], stream: BinaryIO
) -> RawRows:
    try:
        yield from _sheet_rows(workbook, sheet, limits)
    except FatalImportError:
        raise
    except Exception as exc:
        raise FatalImportError(UNREADABLE) from exc
    finally:
        _close(workbook, source, stream)


def _sheet_rows(workbook: Any, sheet: Any, limits: ReadLimits) -> RawRows:
    from openpyxl.worksheet._reader import CELL_TAG, ROW_TAG, WorkSheetParser

    # openpyxl's cell decoding (shared strings, inline strings, booleans, numbers); dates
    # are converted in _value(), where an impossible serial number stays a number (openpyxl
    # would warn, and warnings are errors in the tests).
    date_styles = set(workbook._date_formats)
    with workbook._archive.open(sheet._worksheet_path) as src:
        parser = WorkSheetParser(src, sheet._shared_strings, data_only=True, date_formats=set())
        row_number = 0
        cells: dict[int, Any] = {}
        open_elements: list[Any] = []  # the path from <worksheet> to the current element
        inside_cell = 0  # elements opened inside the current <c>
        for event, element in iterparse(src, events=("start", "end")):
            if event == "start":
                open_elements.append(element)
                depth = len(open_elements)
                if depth > CELL_DEPTH:
                    inside_cell += 1
                    if inside_cell > MAX_CELL_ELEMENTS:
                        raise FatalImportError(f"ligne {row_number} : cellule illisible")
                elif element.tag == ROW_TAG:
                    row_number = int(element.get("r") or row_number + 1)
                    parser.row_counter, parser.col_counter = row_number, 0
                    cells = {}
                continue
            depth = len(open_elements)
            open_elements.pop()
            if depth == CELL_DEPTH:
                inside_cell = 0
            if depth == CELL_DEPTH and element.tag == CELL_TAG:
                cell = parser.parse_cell(element)
                if (value := _value(cell, row_number, limits, workbook, date_styles)) is not None:
                    cells[cell["column"]] = value
            if depth == ROW_DEPTH and element.tag == ROW_TAG:
                yield row_number, _as_list(cells)
            if depth in (ROW_DEPTH, CELL_DEPTH):
                # Drop what was read: the parser would otherwise keep every cell of the row
                # and every row of the sheet attached to their parents.
                del open_elements[-1][:]


CELL_DEPTH = 4  # <worksheet><sheetData><row><c>
ROW_DEPTH = 3
MAX_CELL_ELEMENTS = 10_000  # rich-text runs and their formatting, in one cell


def _value(
    cell: dict[str, Any], row: int, limits: ReadLimits, workbook: Any, date_styles: set[int]
) -> Any:
    """The cell's value, None for an empty one; FatalImportError beyond the caps."""
    from openpyxl.utils import get_column_letter
    from openpyxl.utils.datetime import from_excel

    value, column = cell["value"], cell["column"]
    if value is None or value == "":
        return None
    if column > limits.max_columns:
        raise FatalImportError(
            f"ligne {row} : cellule remplie en colonne {get_column_letter(min(column, 16384))}, "
            f"au-delà de {limits.max_columns} colonnes ; le fichier n'a pas été importé"
        )
    if isinstance(value, str) and len(value) > limits.max_cell_chars:
        raise FatalImportError(
            f"ligne {row}, colonne {get_column_letter(column)} : cellule de plus de "
            f"{limits.max_cell_chars} caractères ; le fichier n'a pas été importé"
        )
    if cell["style_id"] in date_styles and isinstance(value, (int, float)):
        try:
            value = from_excel(value, workbook.epoch)
        except (OverflowError, ValueError):
            pass  # left a number: the importer says "date illisible"
    return value


def _as_list(cells: dict[int, Any]) -> list[Any]:
    if not cells:
        return []
    return [cells.get(column) for column in range(1, max(cells) + 1)]


__all__ = ["check_archive", "xlsx_rows"]
