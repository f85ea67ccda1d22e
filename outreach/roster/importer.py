"""Roster import: validate each row of a landlord's file and upsert it by reference.

Rules the users rely on:
- a senior is found by (organisation, reference); a reference twice in one file rejects the
  second row; a senior missing from the file is left alone (never deleted);
- only the columns present in the file are applied, and an empty cell never erases a stored
  value (staff may have completed the record), except yes/no columns where empty means "Non";
- consent "Oui" gives phone and SMS consent (source "import"), "Non" records a refusal, empty
  changes nothing; a consent withdrawn in the application is not re-granted by a file;
- every rejected row is reported with its physical line and a reason in French.

Rows are streamed and processed in batches (``roster.import_batch_size``): one SELECT per
batch for the existing references, one flush, then the batch's objects leave the session,
so memory stays flat whatever the file size. ``import_roster`` flushes, never commits.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import func, select
from sqlalchemy.orm import Session, selectinload

from outreach.accounts.models import Membership, Organisation, User
from outreach.audit.operations import record
from outreach.campaigns.schedule import paris_today
from outreach.db import utcnow
from outreach.roster.eligibility import cancel_forbidden_in
from outreach.roster.models import Area, ConsentStatus, HousingType, Senior, Sex
from outreach.roster.operations import IMPORT_SOURCE, set_first_emergency_contact, update_senior
from outreach.roster.phones import InvalidPhone, SpecialPhone, departement_of, normalise_phone
from outreach.roster.readers import FatalImportError, header_key, open_roster

__all__ = ["FatalImportError", "ImportResult", "RejectedRow", "import_roster", "run_import_command"]


@dataclass
class RejectedRow:
    line: int
    reference: str | None
    reason: str


@dataclass
class ImportResult:
    imported: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[RejectedRow] = field(default_factory=list)
    unknown_columns: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"imported {self.imported}, updated {self.updated}, "
            f"unchanged {self.unchanged}, rejected {len(self.rejected)}"
        )


class RowError(ValueError):
    """One row is rejected; the message is the reason shown to the user, in French."""


LABELS = {
    "external_ref": "référence",
    "civility": "civilité",
    "last_name": "nom",
    "first_name": "prénom",
    "address": "adresse",
    "city": "commune",
    "residence": "résidence",
    "phone_landline": "téléphone fixe",
    "phone_mobile": "téléphone portable",
    "emergency_name": "contact d'urgence",
    "emergency_phone": "téléphone du contact d'urgence",
}
FEMININE = {"civility", "address", "city", "residence"}
TEXT_FIELDS = ("civility", "last_name", "first_name", "address", "city", "residence")
FLAG_FIELDS = {
    "qpv": "QPV",
    "lives_alone": "vit seul(e)",
    "adapted_housing": "logement adapté",
    "canicule_register": "registre canicule",
}
YES = {"oui", "o", "1", "x", "yes", "y", "vrai", "true"}
NO = {"non", "n", "0", "no", "faux", "false", ""}
SEXES = {"f": Sex.female, "femme": Sex.female, "feminin": Sex.female}
SEXES |= {"h": Sex.male, "homme": Sex.male, "m": Sex.male, "masculin": Sex.male}
HOUSING = {"collectif": HousingType.collectif, "individuel": HousingType.individuel}
AREAS = {"urbain": Area.urbain, "urbaine": Area.urbain, "rural": Area.rural, "rurale": Area.rural}
CIVILITIES = {"mme": "Mme", "madame": "Mme", "m": "M.", "mr": "M.", "monsieur": "M."}
FR_DATE = re.compile(r"(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})")
ISO_DATE = re.compile(r"(\d{4})-(\d{1,2})-(\d{1,2})(?:[ T]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?")
POSTCODE = re.compile(r"\d{5}")
GIR = re.compile(r"(?:gir\s*)?(\d+)")


def cell_text(value: Any) -> str:
    """A cell as trimmed text; spreadsheet numbers lose their ".0" (612345678.0)."""
    if type(value) is str:  # every CSV cell: the fast path
        return " ".join(value.split())
    if value is None:
        return ""
    if isinstance(value, bool):
        return "1" if value else "0"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime):
        return value.date().isoformat()
    return " ".join(str(value).split())


def parse_date(value: Any, label: str) -> date | None:
    if isinstance(value, datetime):
        value = value.date()
    if isinstance(value, date):
        parsed, text = value, value.strftime("%d/%m/%Y")
    else:
        text = cell_text(value)
        if not text:
            return None
        if m := FR_DATE.fullmatch(text):
            d, mo, y = (int(g) for g in m.groups())
        elif m := ISO_DATE.fullmatch(text):
            y, mo, d = (int(g) for g in m.groups())
        else:
            raise RowError(f"{label} illisible : {text} (JJ/MM/AAAA attendu)")
        try:
            parsed = date(y, mo, d)
        except ValueError:
            raise RowError(f"{label} impossible : {text}") from None
    if not date(1900, 1, 1) <= parsed <= paris_today(datetime.now(UTC)):
        raise RowError(f"{label} impossible : {text}")
    return parsed


def parse_choice(value: Any, choices: dict[str, Any], unknown: str, expected: str) -> Any:
    text = cell_text(value)
    if not text:
        return None
    try:
        return choices[header_key(text)]
    except KeyError:
        raise RowError(f"{unknown} : {text} ({expected} attendu)") from None


def parse_yes_no(value: Any, label: str) -> bool | None:
    """True, False, or None for an empty cell."""
    key = header_key(cell_text(value))
    if key in YES:
        return True
    if key in NO:
        return False if key else None
    raise RowError(f"{label} : valeur non reconnue « {cell_text(value)} » (Oui ou Non attendu)")


def parse_phone(value: Any, label: str, region: str) -> str | None:
    text = cell_text(value)
    try:
        return normalise_phone(text, region)
    except SpecialPhone as exc:
        raise RowError(f"{label} : {exc}") from None
    except InvalidPhone:
        raise RowError(f"{label} invalide : {text}") from None


def checked_text(value: Any, key: str, max_length: int) -> str:
    text = cell_text(value)
    if len(text) > max_length:
        too_long = "trop longue" if key in FEMININE else "trop long"
        raise RowError(f"{LABELS[key]} {too_long} ({max_length} caractères au plus)")
    return text


def column_length(name: str) -> int:
    return Senior.__table__.c[name].type.length  # type: ignore[attr-defined]


@dataclass
class ParsedRow:
    line: int
    ref: str
    values: dict[str, Any]  # Senior attributes to set
    contact: tuple[str | None, str | None] | None  # (name, phone) of the first contact


@dataclass
class RowContext:
    region: str
    referents: dict[str, int]  # lower-case e-mail -> user id, members of the organisation


def parse_row(line: int, ref: str, raw: dict[str, Any], ctx: RowContext) -> ParsedRow:
    """Validate one row; raise RowError with the reason when it cannot be imported."""
    values: dict[str, Any] = {}
    for key in TEXT_FIELDS:
        if key in raw and (text := checked_text(raw[key], key, column_length(key))):
            values[key] = CIVILITIES.get(header_key(text), text) if key == "civility" else text
    if "last_name" in raw and not values.get("last_name"):
        raise RowError("nom manquant")
    if (birth := parse_date(raw.get("birth_date"), "date de naissance")) is not None:
        values["birth_date"] = birth
    choices = (
        ("sex", SEXES, "sexe non reconnu", "F ou H"),
        ("housing_type", HOUSING, "type de logement non reconnu", "Collectif ou Individuel"),
        ("area", AREAS, "zone non reconnue", "Urbain ou Rural"),
    )
    for key, table, label, expected in choices:
        if (choice := parse_choice(raw.get(key), table, label, expected)) is not None:
            values[key] = choice
    for key in ("phone_landline", "phone_mobile"):
        if (phone := parse_phone(raw.get(key), LABELS[key], ctx.region)) is not None:
            values[key] = phone
    if postcode := cell_text(raw.get("postcode")).replace(" ", ""):
        if len(postcode) == 4 and postcode.isdigit():  # the leading 0 eaten by a spreadsheet
            postcode = "0" + postcode
        if not POSTCODE.fullmatch(postcode):
            raise RowError(f"code postal invalide : {postcode}")
        values["postcode"] = postcode
        values["departement"] = departement_of(postcode)
    for key, label in FLAG_FIELDS.items():
        if key in raw:
            values[key] = bool(parse_yes_no(raw[key], label))
    consent = parse_yes_no(raw.get("consent"), "consentement")
    if consent is not None:
        values["consent_status"] = ConsentStatus.given if consent else ConsentStatus.refused
        values["consent_phone"] = values["consent_sms"] = consent
        values["consent_source"] = IMPORT_SOURCE
    if (given_on := parse_date(raw.get("consent_date"), "date du consentement")) is not None:
        values["consent_date"] = given_on
    if gir_text := cell_text(raw.get("gir")):
        m = GIR.fullmatch(gir_text.lower())
        if not m or not 1 <= int(m.group(1)) <= 6:
            raise RowError(f"GIR invalide : {gir_text} (1 à 6 attendu)")
        values["gir"] = int(m.group(1))
    if email := cell_text(raw.get("referent")).lower():
        if email not in ctx.referents:
            raise RowError(f"référent inconnu : {email} (pas membre de l'organisation)")
        values["referent_id"] = ctx.referents[email]
    name = checked_text(raw.get("emergency_name"), "emergency_name", 200) or None
    phone = parse_phone(raw.get("emergency_phone"), LABELS["emergency_phone"], ctx.region)
    if phone and not name:
        raise RowError("contact d'urgence : nom manquant pour le téléphone")
    return ParsedRow(line, ref, values, (name, phone) if name or phone else None)


# Every attribute the import can set, with its value for a new senior. Giving all new rows
# the same set of columns lets SQLAlchemy insert a batch in one multi-row statement
# instead of one INSERT per distinct set of filled cells.
NEW_SENIOR: dict[str, Any] = dict.fromkeys(
    ("civility", "birth_date", "sex", "phone_landline", "phone_mobile", "address", "postcode",
     "departement", "city", "residence", "housing_type", "area", "consent_source",
     "consent_date", "gir", "referent_id"),
)  # fmt: skip
NEW_SENIOR |= dict.fromkeys((*FLAG_FIELDS, "consent_phone", "consent_sms"), False)
NEW_SENIOR |= {"first_name": "", "consent_status": ConsentStatus.unknown}


def _referents(session: Session, org_id: int) -> dict[str, int]:
    rows = session.execute(
        select(func.lower(User.email), User.id)
        .join(Membership, Membership.user_id == User.id)
        .where(Membership.organisation_id == org_id)
    )
    return {email: user_id for email, user_id in rows}


def _apply_batch(
    session: Session, org_id: int, batch: list[ParsedRow], result: ImportResult, dry_run: bool
) -> None:
    stmt = select(Senior).where(
        Senior.organisation_id == org_id, Senior.external_ref.in_([p.ref for p in batch])
    )
    if any(p.contact for p in batch):
        stmt = stmt.options(selectinload(Senior.emergency_contacts))
    existing = {s.external_ref: s for s in session.scalars(stmt)}
    touched: list[Senior] = list(existing.values())
    for row in batch:
        senior = existing.get(row.ref)
        if senior is None:
            if "last_name" not in row.values:
                result.rejected.append(RejectedRow(row.line, row.ref, "nom manquant"))
                continue
            result.imported += 1
            if dry_run:
                continue
            values = NEW_SENIOR | row.values
            senior = Senior(organisation_id=org_id, external_ref=row.ref, **values)
            if row.contact:
                set_first_emergency_contact(senior, *row.contact)
            session.add(senior)
            touched.append(senior)
            continue
        changed = update_senior(senior, row.values, dry_run=dry_run)
        if row.contact:
            changed = set_first_emergency_contact(senior, *row.contact, dry_run=dry_run) or changed
        if changed:
            result.updated += 1
        else:
            result.unchanged += 1
    session.flush()
    # Only this batch's objects leave the session, not the caller's (user, organisation).
    for senior in touched:
        session.expunge(senior)


def import_roster(
    session: Session,
    organisation: Organisation,
    stream: BinaryIO,
    filename: str,
    *,
    config: dict,
    dry_run: bool = False,
    user_id: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> ImportResult:
    """Import a roster file into ``organisation``; flush, never commit.

    ``config`` is the application configuration (``app.config["OUTREACH"]``). ``progress``
    is called with the number of rows just processed (tqdm's ``update``). With ``dry_run``
    the rows are checked and counted but nothing is written (the caller should still roll
    back). Raises FatalImportError when the file cannot be imported at all; the caller must
    then roll back, since earlier batches may have been flushed.
    """
    org_id = organisation.id
    roster_config = config["roster"]
    header, rows = open_roster(stream, filename, roster_config.get("headers"))
    ctx = RowContext(roster_config.get("default_region", "FR"), _referents(session, org_id))
    batch_size = roster_config.get("import_batch_size", 1000)
    result = ImportResult(unknown_columns=header.unknown)
    seen: dict[str, int] = {}  # reference -> first line; the only state kept across batches
    batch: list[ParsedRow] = []
    pending = 0
    for line, raw in rows:
        pending += 1
        ref = cell_text(raw.get("external_ref"))
        try:
            if not ref:
                raise RowError("référence manquante")
            if len(ref) > column_length("external_ref"):
                raise RowError("référence trop longue (64 caractères au plus)")
            if ref in seen:
                raise RowError(f"référence en double (déjà présente ligne {seen[ref]})")
            seen[ref] = line
            batch.append(parse_row(line, ref, raw, ctx))
        except RowError as exc:
            result.rejected.append(RejectedRow(line, ref or None, str(exc)))
        if len(batch) >= batch_size:
            _apply_batch(session, org_id, batch, result, dry_run)
            batch = []
        if pending >= batch_size and progress:
            progress(pending)
            pending = 0
    if batch:
        _apply_batch(session, org_id, batch, result, dry_run)
    if pending and progress:
        progress(pending)
    result.rejected.sort(key=lambda r: r.line)
    if not dry_run and result.updated:
        # A consent withdrawn or a departure in the file takes effect on today's calls.
        cancel_forbidden_in(session, org_id, utcnow())
    if not dry_run:
        counts = {"imported": result.imported, "updated": result.updated}
        counts |= {"unchanged": result.unchanged, "rejected": len(result.rejected)}
        record(session, action="import", entity="roster", organisation_id=org_id,
               user_id=user_id, details=counts)  # fmt: skip
        session.flush()
    return result


def write_report(path: Path, result: ImportResult) -> None:
    """The rejected rows as CSV for Excel: UTF-8 with BOM, ``;``-separated."""
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh, delimiter=";")
        writer.writerow(["line", "reference", "reason"])
        for row in result.rejected:
            writer.writerow([row.line, row.reference or "", row.reason])


def run_import_command(
    path: Path,
    org_slug: str,
    dry_run: bool,
    report_path: Path | None,
    show_progress: bool,
    echo: Callable[[str], Any],
) -> int:
    """The `outreach import-roster` command: 0 all rows in, 1 some rejected, 2 fatal.

    Runs in the current app context and one transaction: a fatal error, a report that
    cannot be written, or a dry run rolls it back, so nothing changes.
    """
    import sys

    from flask import current_app
    from tqdm import tqdm

    from outreach.accounts.operations import get_organisation
    from outreach.db import session_scope

    config = current_app.config["OUTREACH"]
    bar = tqdm(unit=" lignes", file=sys.stderr, disable=not show_progress, leave=False)
    try:
        with session_scope() as session:
            org = get_organisation(session, org_slug)
            if org is None:
                raise FatalImportError(f"organisation inconnue : {org_slug}")
            try:
                fh = Path(path).open("rb")
            except OSError as exc:
                raise FatalImportError(f"fichier illisible : {path} ({exc.strerror})") from exc
            with fh:
                result = import_roster(
                    session, org, fh, Path(path).name, config=config, dry_run=dry_run,
                    progress=lambda n: None if bar.update(n) else None,
                )  # fmt: skip
            if report_path is not None:
                try:
                    write_report(Path(report_path), result)
                except OSError as exc:
                    msg = f"impossible d'écrire le rapport {report_path} ({exc.strerror})"
                    raise FatalImportError(msg) from exc
            if dry_run:
                session.rollback()
    except FatalImportError as exc:
        bar.close()
        echo(f"error: {exc}")
        echo("nothing was changed")
        return 2
    bar.close()
    if dry_run:
        echo("dry run: nothing was changed")
    for row in result.rejected:
        ref = f"{row.reference}: " if row.reference else ""
        echo(f"line {row.line}: {ref}{row.reason}")
    if result.unknown_columns:
        echo(f"unknown columns (ignored): {', '.join(result.unknown_columns)}")
    echo(result.summary())
    return 1 if result.rejected else 0
