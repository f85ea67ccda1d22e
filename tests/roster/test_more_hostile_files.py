"""Files nobody should send, sent anyway through the import page: each gets a French answer
(never a 500, never a traceback) and the roster is left as it was."""

from __future__ import annotations

import io
import zipfile

import pytest

from outreach.roster.models import Senior
from tests.factories import make_senior
from tests.roster.test_hostile_files import HEADER, manager, names, org, upload, xlsx

__all__ = ["manager", "org"]  # fixtures


def _zip(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for name, data in members.items():
            z.writestr(name, data)
    return out.getvalue()


PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256)) * 4
HOSTILE_FILES = {
    "empty.csv": b"",
    "bom-only.csv": b"\xef\xbb\xbf",
    "header-only.csv": HEADER.encode(),
    "image.csv": PNG,
    "image.xlsx": PNG,
    "text.xlsx": (HEADER + "R1;Durand;Anne;;\n").encode(),
    "not-a-workbook.xlsx": _zip({"hello.txt": b"bonjour"}),
    "old-excel.xls": b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 600,
    "utf16.csv": (HEADER + "R1;Durand;Anne;;\n").encode("utf-16"),
    "utf32.csv": (HEADER + "R1;Durand;Anne;;\n").encode("utf-32"),
    "../../etc/passwd.csv": (HEADER + "R1;Durand;Anne;;\n").encode(),
    "no-extension": (HEADER + "R1;Durand;Anne;;\n").encode(),
    "quotes.csv": (HEADER + 'R1;"Durand;Anne;;\n' * 5).encode(),
    "only-separators.csv": b";;;;;;;;\n" * 100,
    "x" * 300 + ".csv": (HEADER + "R1;Durand;Anne;;\n").encode(),
}


@pytest.mark.parametrize("filename", sorted(HOSTILE_FILES))
def test_a_hostile_file_gets_a_french_answer_and_changes_nothing(session, org, manager, filename):
    kept = make_senior(session, org, external_ref="R1", last_name="Dupont")
    session.commit()
    resp = upload(manager, HOSTILE_FILES[filename], filename)
    assert resp.status_code < 500, resp.status_code
    assert "Traceback" not in resp.text
    # The page says something in French about the file (an error, or the report).
    assert any(w in resp.text for w in ("fichier", "Fichier", "ligne", "colonne", "import"))
    session.expire_all()
    assert session.get(Senior, kept.id).last_name in ("Dupont", "Durand")
    assert names(session, org).keys() <= {"R1"}


def test_a_formula_cell_in_a_workbook_is_kept_as_text_never_evaluated(session, org, manager):
    data = xlsx([["Référence", "Nom", "Prénom"], ["R7", '=HYPERLINK("http://x","y")', "Anne"]])
    resp = upload(manager, data, "formula.xlsx")
    assert resp.status_code < 500
    stored = names(session, org).get("R7")
    assert stored is None or "http://x" in stored or stored.startswith("=")
