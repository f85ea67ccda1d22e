"""Hostile roster files: zip bombs, caps, bad cells, concurrent imports, a full disk, formula
injection in the report, and an export that must re-import unchanged (issue 10)."""

from __future__ import annotations

import csv
import errno
import html
import io
import random
import string
import tempfile
import zipfile
from datetime import date
from typing import Any

import pytest
from click.testing import CliRunner
from flask.cli import ScriptInfo
from openpyxl import Workbook
from sqlalchemy import select

from outreach.cli import cli
from outreach.roster.export import csv_chunks
from outreach.roster.guards import ImportBusy, import_lock
from outreach.roster.importer import FatalImportError, import_roster
from outreach.roster.models import ConsentStatus, EmergencyContact, Senior
from outreach.roster.readers import header_lookup, match_header
from tests.conftest import csrf_from, login
from tests.factories import make_org, make_senior, make_user

HEADER = "Référence;Nom;Prénom;Téléphone portable;GIR\n"


@pytest.fixture
def org(session):
    org = make_org(session, "bailleur-hostile")
    session.commit()
    return org


def run(app, session, org, name: str, data: bytes, **roster: Any):
    config = {**app.config["OUTREACH"], "roster": {**app.config["OUTREACH"]["roster"], **roster}}
    with app.app_context():
        return import_roster(session, org, io.BytesIO(data), name, config=config)


def names(session, org) -> dict[str, str]:
    session.expire_all()
    rows = session.execute(
        select(Senior.external_ref, Senior.last_name).where(Senior.organisation_id == org.id)
    )
    return dict(rows.all())


def xlsx(rows: list[list[Any]]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def with_sheet(data: bytes, write_sheet: Any) -> bytes:
    """``data`` (an XLSX) with its first sheet's XML written by ``write_sheet(fh)``."""
    out = io.BytesIO()
    with (
        zipfile.ZipFile(io.BytesIO(data)) as src,
        zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as dst,
    ):
        for info in src.infolist():
            if info.filename == "xl/worksheets/sheet1.xml":
                with dst.open(info.filename, "w", force_zip64=True) as fh:
                    write_sheet(fh)
            else:
                dst.writestr(info, src.read(info.filename), zipfile.ZIP_DEFLATED)
    return out.getvalue()


SHEET_HEAD = (
    b'<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
    b'<sheetData><row r="1"><c r="A1" t="inlineStr"><is><t>R\xc3\xa9f\xc3\xa9rence</t></is></c>'
    b'<c r="B1" t="inlineStr"><is><t>Nom</t></is></c></row>'
)
SHEET_TAIL = b"</sheetData></worksheet>"


# ------------------------------------------------------------------ XLSX archives


@pytest.fixture
def no_inflating(monkeypatch):
    """Fail loudly if any member of an archive is opened (decompressed)."""
    opened: list[str] = []
    real_open = zipfile.ZipFile.open

    def spy(self, name, mode="r", *args, **kwargs):
        if mode == "r":
            opened.append(getattr(name, "filename", name))
        return real_open(self, name, mode, *args, **kwargs)

    monkeypatch.setattr(zipfile.ZipFile, "open", spy)
    return opened


def test_zip_bomb_is_refused_on_its_declared_sizes_without_inflating(
    app, session, org, no_inflating
):
    def bomb(fh):  # 64 MB of one repeated cell compress about a thousand times
        fh.write(SHEET_HEAD + b'<row r="2">')
        block = b"<c><v>1</v></c>" * 65536
        for _ in range(64):
            fh.write(block)
        fh.write(b"</row>" + SHEET_TAIL)

    data = with_sheet(xlsx([["Référence", "Nom"]]), bomb)
    assert len(data) < 1024 * 1024
    no_inflating.clear()  # building the file read the template's members
    with pytest.raises(FatalImportError, match="se décompresse plus de 100 fois"):
        run(app, session, org, "bombe.xlsx", data)
    assert no_inflating == []


def test_total_decompressed_size_is_capped(app, session, org, no_inflating):
    rng = random.Random(7)
    letters = string.ascii_letters
    rows = [["Référence", "Nom"]]
    rows += [[f"R{i}", "".join(rng.choices(letters, k=200))] for i in range(8000)]
    data = xlsx(rows)
    no_inflating.clear()
    with pytest.raises(FatalImportError, match="dépasse 1 Mo"):
        run(app, session, org, "gros.xlsx", data, max_unzipped_mb=1)
    assert no_inflating == []
    assert names(session, org) == {}


def test_an_archive_of_thousands_of_members_is_refused(app, session, org):
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as archive:
        for i in range(1500):
            archive.writestr(f"x/{i}.xml", b"")
    with pytest.raises(FatalImportError, match="plus de 1000 fichiers"):
        run(app, session, org, "membres.xlsx", out.getvalue())


def test_a_cell_beyond_the_columns_cap_names_its_row_and_column(app, session, org):
    def far_cell(fh):
        fh.write(SHEET_HEAD)
        fh.write(b'<row r="2"><c r="A2" t="inlineStr"><is><t>R1</t></is></c>')
        fh.write(b'<c r="XFD2"><v>1</v></c></row>' + SHEET_TAIL)

    data = with_sheet(xlsx([["Référence", "Nom"]]), far_cell)
    with pytest.raises(FatalImportError, match="ligne 2 : cellule remplie en colonne XFD"):
        run(app, session, org, "large.xlsx", data)


def test_empty_cells_beyond_the_columns_cap_are_ignored(app, session, org):
    # Spreadsheets write styled empty cells far to the right: only filled cells count.
    def wide(fh):
        fh.write(SHEET_HEAD)
        fh.write(b'<row r="2"><c r="A2" t="inlineStr"><is><t>R1</t></is></c>')
        fh.write(b'<c r="B2" t="inlineStr"><is><t>Durand</t></is></c>')
        fh.write(b'<c r="XFD2" s="1"/>' * 1000)
        fh.write(b"</row>" + SHEET_TAIL)

    data = with_sheet(xlsx([["Référence", "Nom"]]), wide)
    result = run(app, session, org, "vide.xlsx", data)
    assert (result.imported, result.rejected) == (1, [])


def test_xlsx_cell_too_long_is_refused_with_row_and_column(app, session, org):
    data = xlsx([["Référence", "Nom"], ["R1", "D" * 1001]])
    with pytest.raises(FatalImportError, match="ligne 2, colonne B : cellule de plus de 1000"):
        run(app, session, org, "long.xlsx", data)


def test_xlsx_rows_beyond_the_cap_are_refused(app, session, org):
    data = xlsx([["Référence", "Nom"]] + [[f"R{i}", "Durand"] for i in range(6)])
    with pytest.raises(FatalImportError, match="ligne 7 : le fichier dépasse 5 lignes"):
        run(app, session, org, "lignes.xlsx", data, max_rows=5)


def test_xlsx_name_with_a_line_break_is_rejected(app, session, org):
    data = xlsx([["Référence", "Nom", "Adresse"], ["R1", "Du\npont", "1 rue X"],
                 ["R2", "Martin", "1 rue X\nBât. B"]])  # fmt: skip
    result = run(app, session, org, "sauts.xlsx", data)
    assert [(r.line, r.reason) for r in result.rejected] == [
        (2, "nom : retour à la ligne ou caractère de contrôle interdit")
    ]
    session.flush()
    address = session.scalar(select(Senior.address).where(Senior.external_ref == "R2"))
    assert address == "1 rue X Bât. B"  # an address on two lines stays welcome


# ------------------------------------------------------------------ CSV caps


def test_a_header_of_100000_columns_is_refused_before_matching(app, session, org):
    header = ";".join(["Référence"] + [f"Colonne {i}" for i in range(100_000)])
    with pytest.raises(FatalImportError, match="ligne 1 : ligne de plus de 100302 caractères"):
        run(app, session, org, "large.csv", (header + "\nR1\n").encode())
    header = ";".join(["Référence"] + [f"C{i}" for i in range(100)])
    with pytest.raises(FatalImportError, match=r"ligne 1 : plus de 100 colonnes \(colonne 101"):
        run(app, session, org, "large.csv", (header + "\nR1\n").encode())


def test_header_matching_is_linear():
    # Quadratic before: each unknown name was looked up in a list of the previous ones.
    header = match_header([f"Colonne {i}" for i in range(100_000)], header_lookup())
    assert len(header.unknown) == 100_000 and header.columns == {}


def test_a_file_without_line_breaks_is_refused(app, session, org):
    data = b"R\xc3\xa9f\xc3\xa9rence;Nom\n" + b";" * 200_000
    with pytest.raises(FatalImportError, match="ligne 2 : ligne de plus de"):
        run(app, session, org, "plat.csv", data)


def test_csv_cell_too_long_names_line_and_column(app, session, org):
    data = f"{HEADER}R1;{'D' * 1001};Anne;;\n".encode()
    with pytest.raises(FatalImportError, match=r"ligne 2, colonne 2 \(Nom\) : cellule de plus"):
        run(app, session, org, "long.csv", data)


def test_csv_rows_beyond_the_cap_change_nothing(app, session, org):
    data = (HEADER + "".join(f"R{i};Durand;Anne;;\n" for i in range(4))).encode()
    with pytest.raises(FatalImportError, match="ligne 5 : le fichier dépasse 3 lignes"):
        run(app, session, org, "lignes.csv", data, max_rows=3, import_batch_size=1)
    session.rollback()
    assert names(session, org) == {}


# ------------------------------------------------------------------ bad cells


@pytest.mark.parametrize(
    ("gir", "reason"),
    [
        ("GIR 99999999999999999999", "GIR invalide : GIR 99999999999999999999 (1 à 6 attendu)"),
        ("9" * 900, f"GIR invalide : {'9' * 900} (1 à 6 attendu)"),
        ("GIR 0", "GIR invalide : GIR 0 (1 à 6 attendu)"),
    ],
)
def test_huge_gir_is_a_rejected_row(app, session, org, gir, reason):
    result = run(app, session, org, "gir.csv", f"{HEADER}R1;Durand;Anne;;{gir}\n".encode())
    assert [(r.line, r.reason) for r in result.rejected] == [(2, reason)]


def test_a_gir_beyond_pythons_integer_parsing_limit_is_a_rejected_row(app, session, org):
    gir = "9" * 5000  # int() refuses more than 4300 digits: this was a 500
    data = f"{HEADER}R1;Durand;Anne;;{gir}\n".encode()
    result = run(app, session, org, "gir.csv", data, max_cell_chars=10_000)
    assert [(r.line, r.reason[:12]) for r in result.rejected] == [(2, "GIR invalide")]


@pytest.mark.parametrize(
    "name", ['"Du\nrand"', '"Du\rrand"', "Du\x1brand", "Du\u2028rand", "Du\x00rand"]
)
def test_names_refuse_line_breaks_and_control_characters(app, session, org, name):
    data = f"{HEADER}R1;Martin;Anne;;\nR2;{name};Anne;;\n".encode()
    if "\x00" in name:
        with pytest.raises(FatalImportError, match="ligne 3 : caractère nul"):
            run(app, session, org, "noms.csv", data)
        return
    result = run(app, session, org, "noms.csv", data)
    assert [(r.line, r.reason) for r in result.rejected] == [
        (3, "nom : retour à la ligne ou caractère de contrôle interdit")
    ]
    assert result.imported == 1


def test_control_characters_in_other_cells_reject_the_row(app, session, org):
    data = f"{HEADER}R1;Durand;Anne;06 12\x1b34 56 78;\nR2;Martin;Anne;;\n".encode()
    result = run(app, session, org, "ctl.csv", data)
    assert [(r.line, r.reason) for r in result.rejected] == [
        (2, "téléphone portable : retour à la ligne ou caractère de contrôle interdit")
    ]


# ------------------------------------------------------------------ one import at a time


def test_a_second_import_of_the_same_organisation_is_refused(app, session, org):
    other = app.extensions["outreach.sessionmaker"]()
    try:
        with app.app_context():
            import_lock(other, org.id)  # the first import, still running
            with pytest.raises(ImportBusy, match="un import est déjà en cours"):
                run(app, session, org, "a.csv", f"{HEADER}R1;Durand;Anne;;\n".encode())
            session.rollback()
            assert names(session, org) == {}
            # Another organisation imports meanwhile; and once the first ends, this one does.
            second = make_org(session, "autre-bailleur")
            session.commit()
            assert run(app, session, second, "b.csv", f"{HEADER}R1;Noel;A;;\n".encode()).imported
            session.commit()
            other.rollback()
            assert run(app, session, org, "a.csv", f"{HEADER}R1;Durand;Anne;;\n".encode()).imported
    finally:
        other.close()


# ------------------------------------------------------------------ web page


@pytest.fixture
def manager(client, session, org):
    user = make_user(session, org, "manager")
    session.commit()
    login(client, user.email)
    return client


def upload(client, content: bytes, filename: str):
    page = client.get("/seniors/import").text
    data = {"csrf_token": csrf_from(page), "file": (io.BytesIO(content), filename)}
    return client.post("/seniors/import", data=data, content_type="multipart/form-data")


def test_web_huge_gir_and_late_nul_answer_in_french(session, org, manager):
    resp = upload(manager, f"{HEADER}R1;Durand;Anne;;GIR 99999999999999999999\n".encode(), "g.csv")
    assert resp.status_code == 200 and "GIR invalide" in resp.text
    late_nul = (HEADER + "".join(f"S{i};Martin;Anne;;\n" for i in range(3000))).encode()
    resp = upload(manager, late_nul + b"S9;Du\x00rand;Anne;;\n", "n.csv")
    assert resp.status_code == 400
    assert "ligne 3002 : caractère nul" in resp.text
    assert names(session, org) == {}


def test_web_second_import_is_told_an_import_is_running(app, session, org, manager):
    other = app.extensions["outreach.sessionmaker"]()
    try:
        with app.app_context():
            import_lock(other, org.id)
        resp = upload(manager, f"{HEADER}R1;Durand;Anne;;\n".encode(), "a.csv")
    finally:
        other.close()
    assert resp.status_code == 409
    assert "un import est déjà en cours" in resp.text
    assert names(session, org) == {}


class FullDisk(tempfile.SpooledTemporaryFile):  # type: ignore[type-arg]
    def write(self, *_args: Any) -> int:
        self.close()  # werkzeug drops it unclosed when the write fails
        raise OSError(errno.ENOSPC, "No space left on device")


def test_web_full_disk_while_the_upload_is_written(session, org, manager, monkeypatch):
    page = manager.get("/seniors/import").text
    monkeypatch.setattr("werkzeug.formparser.SpooledTemporaryFile", FullDisk)
    data = {"csrf_token": csrf_from(page), "file": (io.BytesIO(HEADER.encode()), "a.csv")}
    resp = manager.post("/seniors/import", data=data, content_type="multipart/form-data")
    assert resp.status_code == 507
    text = html.unescape(resp.text)
    assert "espace disque insuffisant" in text and "Rien n'a été modifié" in text
    assert names(session, org) == {}


# ------------------------------------------------------------------ CLI


def invoke(app, *args: str):
    return CliRunner().invoke(cli, ["import-roster", *args], obj=ScriptInfo(create_app=lambda: app))


def test_cli_full_disk_while_writing_the_report(app, session, org, tmp_path):
    roster = tmp_path / "r.csv"
    roster.write_bytes(f"{HEADER}R1;Durand;Anne;;\nR2;;Anne;;\n".encode())
    result = invoke(app, str(roster), "--org", org.slug, "--report", "/dev/full")
    assert result.exit_code == 2
    assert "Traceback" not in result.output
    assert result.stdout.splitlines()[0] == (
        "error: impossible d'écrire le rapport /dev/full (espace disque insuffisant sur le serveur)"
    )
    assert names(session, org) == {}


def test_cli_report_cells_cannot_run_as_formulas(app, session, org, tmp_path):
    roster = tmp_path / "r.csv"
    roster.write_bytes(
        f'{HEADER}=HYPERLINK("http://x.example");;Anne;;\n+1;;A;;\n@SUM(1);;A;;\n'.encode()
    )
    report = tmp_path / "rapport.csv"
    result = invoke(app, str(roster), "--org", org.slug, "--report", str(report))
    assert result.exit_code == 1
    with report.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh, delimiter=";"))
    assert [row[1] for row in rows[1:]] == ['\'=HYPERLINK("http://x.example")', "'+1", "'@SUM(1)"]


# ------------------------------------------------------------------ export, then import


def test_an_export_re_imports_unchanged(app, session, org):
    referent = make_user(session, org, "social_worker", email="referente@example.org")
    make_senior(session, org, external_ref="-42", last_name="=Dupont", first_name="@Anne",
                address="+3 rue des Lilas", gir=4, qpv=True, referent_id=referent.id,
                phone_landline="+33247123456", birth_date=date(1938, 2, 1))  # fmt: skip
    make_senior(session, org, external_ref="0042", last_name="Lefèvre", first_name="Hélène",
                consent_status=ConsentStatus.withdrawn, phone_mobile="+447911123456")  # fmt: skip
    refused = make_senior(session, org, external_ref="A-7", last_name="Cœur",
                          consent_status=ConsentStatus.refused, consent_phone=False,
                          consent_sms=False)  # fmt: skip
    refused.emergency_contacts.append(
        EmergencyContact(organisation_id=org.id, name="Famille Cœur", phone="+33611223344")
    )
    make_senior(session, org, external_ref="U1", last_name="Noël", first_name="",
                consent_status=ConsentStatus.unknown, consent_phone=False, consent_sms=False,
                sex="F", housing_type="collectif", area="rural")  # fmt: skip
    session.commit()
    with app.app_context():
        stmt = select(Senior).where(Senior.organisation_id == org.id).order_by(Senior.id)
        exported = "".join(csv_chunks(session, stmt)).encode("utf-8")
    session.rollback()
    result = run(app, session, org, "export.csv", exported)
    assert result.rejected == []
    assert (result.imported, result.updated, result.unchanged) == (0, 0, 4)
    assert names(session, org)["-42"] == "=Dupont"


def test_export_cells_are_still_protected_for_spreadsheets(app, session, org):
    make_senior(session, org, external_ref="-42", last_name="=Dupont")
    session.commit()
    with app.app_context():
        text = "".join(csv_chunks(session, select(Senior)))
    assert "'-42;" in text and ";'=Dupont;" in text
