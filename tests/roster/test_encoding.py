"""Encoding of CSV rosters: one encoding per file or a refusal, and no mojibake written over
a stored name (issue 10: one stray Windows-1252 byte turned "Dupônt" into "DupÃ´nt")."""

from __future__ import annotations

import io
from typing import Any

import pytest
from sqlalchemy import select

from outreach.roster.encoding import CHUNK, detect_encoding
from outreach.roster.importer import FatalImportError, import_roster
from outreach.roster.models import Senior
from outreach.roster.readers import open_roster
from tests.factories import make_org, make_senior

HEADER = "Référence;Nom;Prénom\n"


@pytest.fixture
def org(session):
    org = make_org(session, "bailleur-encodage")
    make_senior(session, org, external_ref="R1", last_name="Dupônt", first_name="Hélène")
    session.commit()
    return org


def run(app, session, org, data: bytes, name: str = "f.csv", **kwargs: Any):
    with app.app_context():
        config = app.config["OUTREACH"]
        return import_roster(session, org, io.BytesIO(data), name, config=config, **kwargs)


def stored(session, org) -> dict[str, tuple[str, str]]:
    session.expire_all()
    rows = session.execute(
        select(Senior.external_ref, Senior.last_name, Senior.first_name).where(
            Senior.organisation_id == org.id
        )
    )
    return {ref: (last, first) for ref, last, first in rows}


def encoding_of(data: bytes) -> str:
    return detect_encoding(io.BytesIO(data))


def test_one_stray_windows_1252_byte_in_a_utf8_file_is_refused_with_its_line(app, session, org):
    data = (HEADER + "R1;Dupônt;Hélène\nR2;Lefèvre;Zoé\n").encode() + b"R3;Caf\xe9;Anne\n"
    with pytest.raises(FatalImportError, match="encodage incohérent ligne 4"):
        run(app, session, org, data)
    session.rollback()
    assert stored(session, org) == {"R1": ("Dupônt", "Hélène")}


def test_the_line_is_right_beyond_the_first_chunk():
    lines = [HEADER] + [f"R{i};Crème;Anne\n" for i in range(CHUNK // 15)]
    data = "".join(lines).encode() + b"X;Caf\xe9;Anne\n"
    with pytest.raises(FatalImportError, match=f"encodage incohérent ligne {len(lines) + 1} "):
        encoding_of(data)


def test_clean_files_get_their_encoding():
    assert encoding_of((HEADER + "R1;Dupônt;Hélène\n").encode()) == "utf-8-sig"
    assert encoding_of((HEADER + "R1;Dupônt;Hélène\n").encode("cp1252")) == "cp1252"
    assert encoding_of(b"Ref;Nom\nR1;Caf\xe9\n") == "cp1252"  # one accent, no UTF-8 at all
    assert encoding_of((HEADER + "R1;Dupont;Anne\n").encode()) == "utf-8-sig"
    assert encoding_of("\ufeffRéf;Nom\n".encode()) == "utf-8-sig"


def test_a_windows_1252_file_with_a_name_written_oddly_is_still_windows_1252():
    # "Ã©" typed on purpose is valid UTF-8 by accident: one pair among many accents.
    body = "".join(f"R{i};Lefèvre;Hélène\n" for i in range(30)) + "X;JOÃ\u00a9;A\n"
    assert encoding_of((HEADER + body).encode("cp1252")) == "cp1252"


@pytest.mark.parametrize("codec", ["cp850", "mac_roman"])
def test_dos_and_mac_exports_are_refused(codec):
    data = (HEADER + "".join(f"R{i};Lefèvre;Hélène\n" for i in range(5))).encode(codec)
    # cp850's "è" is a byte Windows-1252 leaves undefined; its "é" decodes as "‚".
    with pytest.raises(FatalImportError, match="encodage du fichier non reconnu"):
        encoding_of(data)
    if codec == "cp850":
        with pytest.raises(FatalImportError, match="ne ressemblent pas à du français"):
            encoding_of((HEADER + "R1;Hélène;Zoé\n").encode(codec))


def test_a_late_nul_byte_is_refused_with_its_line():
    data = (HEADER + "R1;Dupont;Anne\n" * 5000).encode() + b"R2;Du\x00pont;Anne\n"
    with pytest.raises(FatalImportError, match="ligne 5002 : caractère nul"):
        encoding_of(data)


def test_utf16_with_bom_still_reads():
    _, rows = open_roster(io.BytesIO((HEADER + "R1;Dupônt;A\n").encode("utf-16")), "f.csv")
    assert [values["last_name"] for _, values in rows] == ["Dupônt"]


@pytest.mark.parametrize(
    ("name", "shown"),
    [("DupÃ´nt", "Ã´"), ("LefÃ¨vre", "Ã¨"), ("Lâ€™Hôte", "â€™"), ("Ã‰mile", "Ã‰"), ("CÅ“ur", "Å“")],
)
def test_mojibake_never_overwrites_a_stored_name(app, session, org, name, shown):
    data = (HEADER + f"R1;{name};Hélène\nR2;{name};Anne\nR3;Martin;Anne\n").encode()
    result = run(app, session, org, data)
    reason = f"nom : « {shown} » ressemble à un texte mal décodé"
    assert [(r.line, r.reason.startswith(reason)) for r in result.rejected] == [
        (2, True),
        (3, True),
    ]
    assert (result.imported, result.updated) == (1, 0)
    session.commit()
    assert stored(session, org)["R1"] == ("Dupônt", "Hélène")
    assert "R2" not in stored(session, org)


def test_mojibake_in_the_first_name_or_the_address_is_refused_too(app, session, org):
    data = (
        "Référence;Nom;Prénom;Adresse\nR1;Dupônt;HÃ©lÃ¨ne;\nR2;Martin;Anne;3 rue de lâ€™Église\n"
    ).encode()
    result = run(app, session, org, data)
    assert [(r.line, r.reason.split(" :")[0]) for r in result.rejected] == [
        (2, "prénom"),
        (3, "adresse"),
    ]


def test_real_names_are_not_mistaken_for_mojibake(app, session, org):
    names = ["Dupônt", "JOÃO", "Ådne", "Âge", "Œuvre", "L’Hôte", "Müller", "Ñúñez"]
    data = (HEADER + "".join(f"N{i};{n};Anne\n" for i, n in enumerate(names))).encode()
    result = run(app, session, org, data)
    assert result.rejected == []
    assert result.imported == len(names)
