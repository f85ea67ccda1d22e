"""CSV export of a roster selection, in the import's format so that an export re-imports.

The file is what French spreadsheets open without a question: ``;`` separated, UTF-8 with
a BOM (without it Excel reads UTF-8 as Windows-1252 and mangles the accents), CRLF line
ends. Rows are streamed in batches, so exporting 100,000 seniors costs little memory.

A cell that starts with ``=``, ``+``, ``-``, ``@``, a tab or a carriage return would be
run as a formula by the spreadsheet (CSV injection: a last name "=HYPERLINK(...)" typed in
a landlord's file becomes a link to anywhere); such cells get a leading apostrophe, which
spreadsheets read as "this is text". Phones are written in the national format
("06 12 34 56 78") or, abroad, with the 00 international prefix ("00 44 20 ..."), which are
safe as they are and which the importer reads back to the same E.164 number.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Iterable, Iterator
from datetime import date
from typing import Any

import phonenumbers
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, selectinload

from outreach.accounts.models import User
from outreach.audit.operations import record
from outreach.roster.models import ConsentStatus, Senior
from outreach.roster.readers import DEFAULT_HEADERS

BOM = "\ufeff"
DELIMITER = ";"
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
BATCH = 500


def neutralise(cell: str) -> str:
    """Make a cell inert for spreadsheets: a leading apostrophe before formula triggers."""
    return "'" + cell if cell.startswith(FORMULA_STARTS) else cell


def export_phone(e164: str | None) -> str:
    """French numbers in the national format, others with the 00 prefix (never a "+")."""
    if not e164:
        return ""
    try:
        number = phonenumbers.parse(e164, None)
    except phonenumbers.NumberParseException:
        return e164
    if number.country_code == 33:
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.NATIONAL)
    return phonenumbers.format_out_of_country_calling_number(number, "FR")


def _date(value: date | None) -> str:
    return value.strftime("%d/%m/%Y") if value else ""


def _bool(value: bool | None) -> str:
    return "oui" if value else "non"


def _enum(value: Any) -> str:
    return value.value if value is not None else ""


def _consent(senior: Senior) -> str:
    # The import file carries one "Consentement" column: yes, no or unknown.
    if senior.consent_status == ConsentStatus.given:
        return "oui"
    if senior.consent_status in (ConsentStatus.refused, ConsentStatus.withdrawn):
        return "non"
    return ""


def _contact(senior: Senior, attr: str) -> Any:
    contacts = senior.emergency_contacts
    return getattr(contacts[0], attr) if contacts else None


# Import field -> how to write it. The header is the importer's first spelling of the field.
Getter = Callable[[Senior, str | None], str]
COLUMNS: dict[str, Getter] = {
    "external_ref": lambda s, _: s.external_ref,
    "civility": lambda s, _: s.civility or "",
    "last_name": lambda s, _: s.last_name,
    "first_name": lambda s, _: s.first_name,
    "birth_date": lambda s, _: _date(s.birth_date),
    "sex": lambda s, _: _enum(s.sex),
    "phone_landline": lambda s, _: export_phone(s.phone_landline),
    "phone_mobile": lambda s, _: export_phone(s.phone_mobile),
    "address": lambda s, _: s.address or "",
    "postcode": lambda s, _: s.postcode or "",
    "city": lambda s, _: s.city or "",
    "residence": lambda s, _: s.residence or "",
    "floor": lambda s, _: s.floor or "",
    "door_code": lambda s, _: s.door_code or "",
    "access_notes": lambda s, _: s.access_notes or "",
    "housing_type": lambda s, _: _enum(s.housing_type),
    "area": lambda s, _: _enum(s.area),
    "qpv": lambda s, _: _bool(s.qpv),
    "lives_alone": lambda s, _: _bool(s.lives_alone),
    "adapted_housing": lambda s, _: _bool(s.adapted_housing),
    "canicule_register": lambda s, _: _bool(s.canicule_register),
    "consent": lambda s, _: _consent(s),
    "consent_date": lambda s, _: _date(s.consent_date),
    "gir": lambda s, _: str(s.gir) if s.gir is not None else "",
    "emergency_name": lambda s, _: _contact(s, "name") or "",
    "emergency_phone": lambda s, _: export_phone(_contact(s, "phone")),
    "referent": lambda s, email: email or "",
}
HEADERS = [DEFAULT_HEADERS[field][0] for field in COLUMNS]


def _line(cells: list[str]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, delimiter=DELIMITER, lineterminator="\r\n").writerow(cells)
    return buffer.getvalue()


def export_roster(
    session: Session,
    stmt: Select[Any],
    organisation_ids: Iterable[int],
    user_id: int | None,
    filter_names: list[str],
) -> Iterator[str]:
    """Record the export, then return the CSV chunks of the seniors selected by ``stmt``.

    One audit event "export" per organisation in ``organisation_ids`` (each landlord's trail
    shows its own exports) with its row count and the names of the filters used, written
    now, in the caller's transaction, not while the rows stream. Not a generator itself for
    that reason: the chunks are read later, from the returned iterator.
    """
    sub = stmt.order_by(None).subquery()
    per_org: dict[int, int] = dict(
        session.execute(
            select(sub.c.organisation_id, func.count()).group_by(sub.c.organisation_id)
        ).all()
    )
    for org_id in organisation_ids:
        record(
            session,
            action="export",
            entity="roster",
            organisation_id=org_id,
            user_id=user_id,
            details={"rows": per_org.get(org_id, 0), "filters": filter_names},
        )
    session.flush()
    return csv_chunks(session, stmt)


def csv_chunks(session: Session, stmt: Select[Any]) -> Iterator[str]:
    """The CSV text of the seniors selected by ``stmt`` (already scoped), in chunks.

    The BOM and the header come first, then batches of rows.
    """
    yield BOM + _line(HEADERS)
    query = (
        stmt.outerjoin(User, User.id == Senior.referent_id)
        .add_columns(User.email)
        .options(selectinload(Senior.emergency_contacts))
        .execution_options(yield_per=BATCH)
    )
    lines: list[str] = []
    for senior, referent_email in session.execute(query):
        lines.append(_line([neutralise(get(senior, referent_email)) for get in COLUMNS.values()]))
        if len(lines) >= BATCH:
            yield "".join(lines)
            lines = []
    if lines:
        yield "".join(lines)
