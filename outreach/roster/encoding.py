"""Which encoding a CSV roster is in, decided for the whole file, or a refusal.

Landlords' files come as UTF-8 (with or without BOM), UTF-16 with a BOM (Excel's "texte
Unicode") or Windows-1252 (Excel's "CSV (séparateur: point-virgule)"). Guessing wrong is
not harmless: decoding a UTF-8 file as Windows-1252 because of one stray byte turned every
"Dupônt" of the file into "DupÃ´nt", and the import then overwrote good names with it. So
the rule is strict, and a file that is not clearly one encoding is refused, with the line:

- a UTF-16 BOM: UTF-16;
- the whole file is valid UTF-8: UTF-8;
- the file has UTF-8 accents and also bytes that are not UTF-8: a mix (a line pasted from
  another file), refused at the first bad byte;
- no UTF-8 accents (or a rare accidental pair among many Windows-1252 accents): Windows-1252
  if it decodes cleanly and its accented characters look like French (or the neighbouring
  languages of tenants' names), which refuses DOS (cp850) and Mac exports;
- a NUL byte anywhere (outside UTF-16) is not text: refused with its line.

The file is read in chunks, never whole: an accent may first appear on line 80,000.
"""

from __future__ import annotations

import codecs
import re
from dataclasses import dataclass
from typing import IO

from outreach.roster.readers import FatalImportError

CHUNK = 1024 * 1024
# Invalid bytes become these lone surrogates with errors="surrogateescape".
BAD_BYTE = re.compile("[\udc80-\udcff]")
GOOD_NON_ASCII = re.compile("[^\x00-\x7f\udc80-\udcff]")
# A Windows-1252 file "looks French" when nearly all its non-ASCII characters are these:
# accented letters of French and of the neighbouring languages of tenants' names, and the
# punctuation French text uses.
EXPECTED_ACCENTS = (
    "àâäçéèêëîïôöùûüÿœæÀÂÄÇÉÈÊËÎÏÔÖÙÛÜŸŒÆáíóúñãõåøìòýÁÍÓÚÑÃÕÅØÌÒÝß’‘“”«»–—…€°·ºª²\u00a0"
)
UNEXPECTED = re.compile("[^\x00-\x7f" + re.escape(EXPECTED_ACCENTS) + "]")
# At most this share of a Windows-1252 file's non-ASCII characters may be unexpected.
UNEXPECTED_SHARE = 0.05
# A Windows-1252 file may hold a pair of bytes that happens to be valid UTF-8 ("Ã©" written
# on purpose is not French, but "É’" could be): accepted below one pair per this many.
ACCIDENTAL_PAIRS = 20

SAVE_AS = "enregistrez-le en « CSV UTF-8 » depuis votre tableur"


@dataclass
class Scan:
    """What a pass over the file found; ``*_line`` are 1-based physical lines."""

    good: int = 0  # non-ASCII characters correctly encoded
    bad: int = 0  # bytes that are not part of a valid character
    first_bad_line: int = 0
    nul_line: int = 0
    first_unexpected_line: int = 0
    unexpected: int = 0


def _scan(stream: IO[bytes], start: int, encoding: str, errors: str) -> Scan:
    """Decode the file in chunks and count; raises UnicodeDecodeError when ``errors`` is
    "strict" and a byte does not decode."""
    stream.seek(start)
    decoder = codecs.getincrementaldecoder(encoding)(errors=errors)
    scan = Scan()
    lines_before = 0
    final = False
    while not final:
        chunk = stream.read(CHUNK)
        final = not chunk
        text = decoder.decode(chunk, final=final)
        if not text:
            continue
        if "\x00" in text and not scan.nul_line:
            scan.nul_line = lines_before + text.count("\n", 0, text.index("\x00")) + 1
        if not text.isascii():
            if encoding == "utf-8":
                bad = len(text) - len(BAD_BYTE.sub("", text))
                if bad and not scan.bad:
                    index = BAD_BYTE.search(text).start()  # type: ignore[union-attr]
                    scan.first_bad_line = lines_before + text.count("\n", 0, index) + 1
                scan.bad += bad
                scan.good += len(text) - len(GOOD_NON_ASCII.sub("", text))
            else:
                scan.good += len(text) - len(text.encode("ascii", "ignore"))
                unexpected = len(text) - len(UNEXPECTED.sub("", text))
                if unexpected and not scan.unexpected:
                    index = UNEXPECTED.search(text).start()  # type: ignore[union-attr]
                    scan.first_unexpected_line = lines_before + text.count("\n", 0, index) + 1
                scan.unexpected += unexpected
        lines_before += text.count("\n")
    stream.seek(start)
    return scan


def detect_encoding(stream: IO[bytes]) -> str:
    """The encoding to read ``stream`` with (left at its start), or FatalImportError."""
    start = stream.tell()
    head = stream.read(4)
    stream.seek(start)
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    utf8 = _scan(stream, start, "utf-8", "surrogateescape")
    if utf8.nul_line:
        if utf8.nul_line == 1:  # UTF-16 without BOM, or not a text file at all
            raise FatalImportError(f"encodage du fichier non reconnu : {SAVE_AS}")
        raise FatalImportError(
            f"ligne {utf8.nul_line} : caractère nul (octet 0), ce n'est pas du texte ; "
            f"corrigez cette ligne ou {SAVE_AS} (rien n'a été importé)"
        )
    if not utf8.bad:
        return "utf-8-sig"
    if utf8.good and utf8.bad < ACCIDENTAL_PAIRS * utf8.good:
        raise FatalImportError(
            f"encodage incohérent ligne {utf8.first_bad_line} : le fichier est en UTF-8 mais "
            "cette ligne contient un caractère d'un autre encodage (Windows-1252 ?). "
            f"Corrigez-la ou {SAVE_AS} ; rien n'a été importé"
        )
    try:
        cp1252 = _scan(stream, start, "cp1252", "strict")
    except UnicodeDecodeError:
        raise FatalImportError(f"encodage du fichier non reconnu : {SAVE_AS}") from None
    if cp1252.unexpected > UNEXPECTED_SHARE * cp1252.good:
        raise FatalImportError(
            f"encodage du fichier non reconnu (ni UTF-8 ni Windows-1252 : les accents de la "
            f"ligne {cp1252.first_unexpected_line} ne ressemblent pas à du français) : "
            f"{SAVE_AS}"
        )
    return "cp1252"
