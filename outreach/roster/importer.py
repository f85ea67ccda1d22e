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
from outreach.campaigns.schedule import PARIS, paris_today
from outreach.db import utcnow
from outreach.panel.agreements import link_members
from outreach.privacy.erasure import erased_digests
from outreach.roster import consent as consents
from outreach.roster.consent import IMPORT_SOURCE
from outreach.roster.eligibility import cancel_forbidden_in
from outreach.roster.guards import bad_text, import_lock, os_error_text, unprotect
from outreach.roster.models import Area, ConsentStatus, HousingType, Senior, Sex
from outreach.roster.operations import set_first_emergency_contact, update_senior
from outreach.roster.phones import InvalidPhone, SpecialPhone, departement_of, normalise_phone
from outreach.roster.readers import FatalImportError, ReadLimits, header_key, open_roster

__all__ = ["FatalImportError", "ImportResult", "RejectedRow", "import_roster", "run_import_command"]


@dataclass
class RejectedRow:
    line: int
    reference: str | None
    reason: str


@dataclass
class RowNote:
    """A row taken in, with something the user must know about it (line, reference, what)."""

    line: int
    reference: str | None
    text: str


@dataclass
class ImportResult:
    imported: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[RejectedRow] = field(default_factory=list)
    notes: list[RowNote] = field(default_factory=list)
    unknown_columns: list[str] = field(default_factory=list)

    def summary(self) -> str:
        return (
            f"imported {self.imported}, updated {self.updated}, "
            f"unchanged {self.unchanged}, rejected {len(self.rejected)}"
        )


class RowError(ValueError):
    """One row is rejected; the message is the reason shown to the user, in French."""


ERASED_REF = "référence d'une personne dont les données ont été effacées"


def erased_note(erasure: Any) -> str:
    """What the report says of a row whose reference belonged to an erased senior."""
    day = erasure.erased_at.astimezone(PARIS).strftime("%d/%m/%Y")
    why = "à sa demande" if erasure.reason == "request" else "(fin de la durée de conservation)"
    return f"référence effacée le {day} {why} : créée comme nouvelle personne"


LABELS = {
    "external_ref": "référence",
    "civility": "civilité",
    "last_name": "nom",
    "first_name": "prénom",
    "address": "adresse",
    "city": "commune",
    "residence": "résidence",
    "floor": "étage",
    "door_code": "code porte",
    "access_notes": "consigne d'accès",
    "phone_landline": "téléphone fixe",
    "phone_mobile": "téléphone portable",
    "emergency_name": "contact d'urgence",
    "emergency_phone": "téléphone du contact d'urgence",
}
FEMININE = {"civility", "address", "city", "residence", "access_notes"}
TEXT_FIELDS = ("civility", "last_name", "first_name", "address", "city", "residence",
               "floor", "door_code", "access_notes")  # fmt: skip
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
# At most 3 digits: "GIR 99999999999999999999" is refused as a value, not parsed.
GIR = re.compile(r"(?:gir\s*)?0*(\d{1,3})")


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


def parse_postcode(value: Any) -> str | None:
    """Five digits, or None for an empty cell; a postcode that a spreadsheet turned into
    a number of four digits gets its leading 0 back."""
    postcode = cell_text(value).replace(" ", "")
    if not postcode:
        return None
    if len(postcode) == 4 and postcode.isdigit():
        postcode = "0" + postcode
    if not POSTCODE.fullmatch(postcode):
        raise RowError(f"code postal invalide : {postcode}")
    return postcode


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
    if postcode := parse_postcode(raw.get("postcode")):
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
     "departement", "city", "residence", "floor", "door_code", "access_notes", "housing_type",
     "area", "consent_source", "consent_date", "gir", "referent_id"),
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
    session: Session,
    org_id: int,
    batch: list[ParsedRow],
    result: ImportResult,
    dry_run: bool,
    secret_key: str,
    now: datetime | None = None,
) -> None:
    now = now or utcnow()
    # Consent events of the batch, inserted in one statement once the seniors have ids.
    events: list[tuple[Senior, dict[str, Any]]] = []
    stmt = select(Senior).where(
        Senior.organisation_id == org_id, Senior.external_ref.in_([p.ref for p in batch])
    )
    if any(p.contact for p in batch):
        stmt = stmt.options(selectinload(Senior.emergency_contacts))
    existing = {s.external_ref: s for s in session.scalars(stmt)}
    touched: list[Senior] = list(existing.values())
    # References of erased seniors come back as new people (privacy.erasure): one query.
    new_refs = [p.ref for p in batch if p.ref not in existing]
    erased = erased_digests(session, org_id, new_refs, secret_key)
    for row in batch:
        senior = existing.get(row.ref)
        other = {k: v for k, v in row.values.items() if k not in consents.FILE_KEYS}
        if senior is not None and senior.erased_at is not None:
            # "effacé-<id>" in a file: the anonymous remainder never takes an identity back.
            result.rejected.append(RejectedRow(row.line, row.ref, ERASED_REF))
            continue
        if senior is None:
            if "last_name" not in row.values:
                result.rejected.append(RejectedRow(row.line, row.ref, "nom manquant"))
                continue
            result.imported += 1
            if row.ref in erased:
                result.notes.append(RowNote(row.line, row.ref, erased_note(erased[row.ref])))
            if dry_run:
                continue
            values = NEW_SENIOR | other
            senior = Senior(organisation_id=org_id, external_ref=row.ref, **values)
            if (event := consents.from_file(senior, row.values, now=now)[1]) is not None:
                events.append((senior, event))
            if row.contact:
                set_first_emergency_contact(senior, *row.contact)
            session.add(senior)
            touched.append(senior)
            continue
        changed = update_senior(senior, other, dry_run=dry_run)
        consent_changed, event = consents.from_file(senior, row.values, now=now, dry_run=dry_run)
        changed = consent_changed or changed
        if event is not None:
            events.append((senior, event))
        if row.contact:
            changed = set_first_emergency_contact(senior, *row.contact, dry_run=dry_run) or changed
        if changed:
            result.updated += 1
        else:
            result.unchanged += 1
    session.flush()
    consents.record_events(session, events)
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
    if not dry_run:
        import_lock(session, org_id)  # ImportBusy when another import runs
    limits = ReadLimits.from_config(roster_config)
    header, rows = open_roster(stream, filename, roster_config.get("headers"), limits)
    ctx = RowContext(roster_config.get("default_region", "FR"), _referents(session, org_id))
    batch_size = roster_config.get("import_batch_size", 1000)
    result = ImportResult(unknown_columns=header.unknown)
    seen: dict[str, int] = {}  # reference -> first line; the only state kept across batches
    batch: list[ParsedRow] = []
    pending = 0
    for line, raw in rows:
        pending += 1
        raw = {key: unprotect(value) for key, value in raw.items()}
        ref = cell_text(raw.get("external_ref"))
        try:
            if reason := _bad_cell(raw):
                raise RowError(reason)
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
            _apply_batch(session, org_id, batch, result, dry_run, config["app"]["secret_key"])
            batch = []
        if pending >= batch_size and progress:
            progress(pending)
            pending = 0
    if batch:
        _apply_batch(session, org_id, batch, result, dry_run, config["app"]["secret_key"])
    if pending and progress:
        progress(pending)
    result.rejected.sort(key=lambda r: r.line)
    if not dry_run and result.updated:
        # A consent withdrawn or a departure in the file takes effect on today's calls.
        cancel_forbidden_in(session, org_id, utcnow())
    if not dry_run:
        # The landlord's drawn panel members whose roster rows just came in.
        link_members(session, org_id)
        counts = {"imported": result.imported, "updated": result.updated}
        counts |= {"unchanged": result.unchanged, "rejected": len(result.rejected)}
        record(session, action="import", entity="roster", organisation_id=org_id,
               user_id=user_id, details=counts)  # fmt: skip
        session.flush()
    return result


def _bad_cell(raw: dict[str, Any]) -> str | None:
    """Why the row's cells cannot be taken in (control characters, mojibake), if so.

    Names refuse every control character, line breaks included; other cells only those
    that ``cell_text`` would not turn into a space (a NUL, an escape...): an address on two
    lines in a spreadsheet cell stays welcome.
    """
    for key, value in raw.items():
        if not isinstance(value, str) or (value.isprintable() and value.isascii()):
            continue
        label = LABELS.get(key, key)
        if key in NAME_FIELDS or CONTROL_NOT_SPACE.search(value):
            if reason := bad_text(value, label):
                return reason
        elif key in MOJIBAKE_FIELDS and (reason := bad_text(" ".join(value.split()), label)):
            return reason
    return None


NAME_FIELDS = {"external_ref", "civility", "last_name", "first_name", "emergency_name"}
MOJIBAKE_FIELDS = {"address", "city", "residence"}
CONTROL_NOT_SPACE = re.compile("[\x00-\x08\x0e-\x1b\x7f-\x84\x86-\x9f]")


def write_report(path: Path, result: ImportResult) -> None:
    """The rejected rows as CSV for Excel: UTF-8 with BOM, ``;``-separated, every cell made
    inert for spreadsheets like the roster export (a reference "=HYPERLINK(...)")."""
    from outreach.roster.export import neutralise

    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh, delimiter=";")
        writer.writerow(["line", "reference", "reason"])
        for row in result.rejected:
            writer.writerow([row.line, neutralise(row.reference or ""), neutralise(row.reason)])


def run_import_command(
    path: Path,
    org_slug: str,
    dry_run: bool,
    report_path: Path | None,
    show_progress: bool,
    echo: Callable[[str], Any],
    importer: Callable[..., ImportResult] = import_roster,
) -> int:
    """The `outreach import-roster` command: 0 all rows in, 1 some rejected, 2 fatal.

    Runs in the current app context and one transaction: a fatal error, a report that
    cannot be written, or a dry run rolls it back, so nothing changes. ``importer`` is
    ``import_roster`` or another import of the same shape (``panel.listing``).
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
                raise FatalImportError(
                    f"fichier illisible : {path} ({os_error_text(exc)})"
                ) from exc
            with fh:
                result = importer(
                    session, org, fh, Path(path).name, config=config, dry_run=dry_run,
                    progress=lambda n: None if bar.update(n) else None,
                )  # fmt: skip
            if report_path is not None:
                try:
                    write_report(Path(report_path), result)
                except OSError as exc:
                    msg = f"impossible d'écrire le rapport {report_path} ({os_error_text(exc)})"
                    raise FatalImportError(msg) from exc
            if dry_run:
                session.rollback()
    except (FatalImportError, OSError) as exc:
        # OSError: a temporary file (a spooled pipe) or the file itself failed mid-way,
        # a full disk most often; the transaction was rolled back on the way out.
        bar.close()
        text = str(exc) if isinstance(exc, FatalImportError) else os_error_text(exc)
        echo(f"error: {text}")
        echo("nothing was changed")
        return 2
    bar.close()
    if dry_run:
        echo("dry run: nothing was changed")
    for row in result.rejected:
        ref = f"{row.reference}: " if row.reference else ""
        echo(f"line {row.line}: {ref}{row.reason}")
    for note in result.notes:
        echo(f"line {note.line}: {note.reference}: {note.text}")
    if result.unknown_columns:
        echo(f"unknown columns (ignored): {', '.join(result.unknown_columns)}")
    echo(result.summary())
    return 1 if result.rejected else 0
