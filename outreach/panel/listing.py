"""Importing a landlord's anonymised listing of its senior tenants (issue 13, "The listing").

The file is read like a roster (``roster.readers``: CSV or XLSX, French headers, hostile
files refused) and reported like one (``roster.importer``: rejected rows with their line and
reason, the same exit codes). What differs:

- no identity: a column carrying a name, a phone, an e-mail or a street address refuses the
  file as a whole, naming the column, and nothing is stored (``listing_rows``);
- a birth date keeps only its year (the report says how many rows);
- the file is the landlord's whole listing: rows are upserted by reference, and rows absent
  from the file are removed, except those drawn into a panel (``PanelMember``), which are
  kept and counted. A row rejected in the new file keeps its stored version (the tenant is
  still there), and a file of which no row could be taken in removes nothing.

``import_listing`` flushes, never commits; the caller's transaction is the only one, so a
fatal error or a dry run rolled back changes nothing.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime
from typing import BinaryIO

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from outreach.accounts.models import Organisation
from outreach.audit.operations import record
from outreach.campaigns.schedule import paris_today
from outreach.db import utcnow
from outreach.panel.listing_rows import (
    AGE_FIELDS,
    IGNORED_FIELDS,
    LISTING_HEADERS,
    ListingValues,
    identity_columns,
    parse_listing_row,
)
from outreach.panel.models import ListingRow, PanelMember
from outreach.roster.guards import import_lock, unprotect
from outreach.roster.importer import ImportResult, RejectedRow, RowError, cell_text
from outreach.roster.readers import FatalImportError, HeaderMap, ReadLimits, open_roster

REFERENCE_LENGTH = 64  # ListingRow.reference
CHUNK = 500  # ids per DELETE ... IN (...)


class IdentityColumns(FatalImportError):
    """The listing carries names, phones, e-mails or addresses: refused as a whole."""

    def __init__(self, columns: list[tuple[str, str]]) -> None:
        self.columns = [name for name, _ in columns]
        named = " ; ".join(f"« {name} » ({kind})" for name, kind in columns)
        super().__init__(
            f"colonnes refusées : {named}. Une liste anonymisée ne contient ni nom, ni "
            "prénom, ni téléphone, ni e-mail, ni adresse : retirez ces colonnes du fichier "
            "puis recommencez (rien n'a été importé)"
        )


@dataclass
class ListingResult(ImportResult):
    removed: int = 0  # absent from the file: removed from the listing
    kept: int = 0  # absent from the file but drawn into a panel: kept
    dates_cut: int = 0  # full birth dates of which only the year was kept
    under_65: int = 0  # taken in, but never drawn (nobody under 65)

    def summary(self) -> str:
        text = super().summary() + f", removed {self.removed}"
        if self.kept:
            text += f", kept {self.kept} (absent from the file but drawn into a panel)"
        if self.dates_cut:
            text += f"\nbirth dates reduced to their year: {self.dates_cut} rows"
        if self.under_65:
            text += f"\nunder 65 (listed, never drawn): {self.under_65} rows"
        return text


def import_listing(
    session: Session,
    organisation: Organisation,
    stream: BinaryIO,
    filename: str,
    *,
    config: dict,
    dry_run: bool = False,
    user_id: int | None = None,
    progress: Callable[[int], None] | None = None,
    now: datetime | None = None,
) -> ListingResult:
    """Replace ``organisation``'s listing by the file's rows; flush, never commit.

    The signature is ``import_roster``'s, so the CLI and the page run both alike. Raises
    FatalImportError (``IdentityColumns`` for a column carrying an identity) when the file
    cannot be imported at all; the caller must then roll back.
    """
    now = now or utcnow()
    today = paris_today(now)
    roster_config = config["roster"]
    if not dry_run:
        import_lock(session, organisation.id)  # ImportBusy when another import runs
    configured = roster_config.get("headers") or {}
    extra = {name: spellings for name, spellings in configured.items() if name in LISTING_HEADERS}
    limits = ReadLimits.from_config(roster_config)

    def check_header(header: HeaderMap) -> None:
        if refused := identity_columns(header.unknown, configured):
            raise IdentityColumns(refused)
        _check_columns(header.fields)

    header, rows = open_roster(stream, filename, extra, limits, LISTING_HEADERS, check_header)
    ignored = [header.labels[i] for i, name in header.columns.items() if name in IGNORED_FIELDS]
    result = ListingResult(unknown_columns=[*header.unknown, *ignored])
    seen: dict[str, int] = {}  # reference -> first line: every reference of the file
    batch: list[ListingValues] = []
    for count, (line, raw) in enumerate(rows, start=1):
        raw = {key: unprotect(value) for key, value in raw.items()}
        ref = cell_text(raw.get("external_ref"))
        try:
            if not ref:
                raise RowError("référence manquante")
            if len(ref) > REFERENCE_LENGTH:
                raise RowError(f"référence trop longue ({REFERENCE_LENGTH} caractères au plus)")
            if ref in seen:
                raise RowError(f"référence en double (déjà présente ligne {seen[ref]})")
            seen[ref] = line
            batch.append(parse_listing_row(line, ref, raw, today))
        except RowError as exc:
            result.rejected.append(RejectedRow(line, ref or None, str(exc)))
        if len(batch) >= roster_config.get("import_batch_size", 1000):
            _apply_batch(session, organisation.id, batch, result, dry_run, now)
            batch = []
        if progress and count % 1000 == 0:
            progress(1000)
    _apply_batch(session, organisation.id, batch, result, dry_run, now)
    result.rejected.sort(key=lambda r: r.line)
    if result.imported + result.updated + result.unchanged:
        _remove_absent(session, organisation.id, seen, result, dry_run)
    if not dry_run:
        counts = {"imported": result.imported, "updated": result.updated,
                  "unchanged": result.unchanged, "rejected": len(result.rejected),
                  "removed": result.removed, "kept": result.kept}  # fmt: skip
        record(session, action="import", entity="panel_listing",
               organisation_id=organisation.id, user_id=user_id, details=counts)  # fmt: skip
        session.flush()
    return result


def _check_columns(fields: set[str]) -> None:
    if "postcode" not in fields:
        raise FatalImportError("aucune colonne « Code postal » : elle est obligatoire")
    if not fields & set(AGE_FIELDS):
        raise FatalImportError(
            "aucune colonne « Année de naissance », « Date de naissance » ni « Tranche d'âge » "
            ": l'âge est obligatoire pour le tirage"
        )


def _apply_batch(
    session: Session,
    org_id: int,
    batch: list[ListingValues],
    result: ListingResult,
    dry_run: bool,
    now: datetime,
) -> None:
    if not batch:
        return
    stmt = select(ListingRow).where(
        ListingRow.organisation_id == org_id,
        ListingRow.reference.in_([row.reference for row in batch]),
    )
    existing = {row.reference: row for row in session.scalars(stmt)}
    touched = list(existing.values())
    for parsed in batch:
        result.dates_cut += parsed.date_cut
        result.under_65 += parsed.values["age_band"] == "lt65"
        stored = existing.get(parsed.reference)
        if stored is None:
            result.imported += 1
            if not dry_run:
                row = ListingRow(organisation_id=org_id, reference=parsed.reference,
                                 imported_at=now, **parsed.values)  # fmt: skip
                session.add(row)
                touched.append(row)
        elif any(getattr(stored, name) != value for name, value in parsed.values.items()):
            result.updated += 1
            if not dry_run:
                for name, value in parsed.values.items():
                    setattr(stored, name, value)
                stored.imported_at = now
        else:
            result.unchanged += 1
    session.flush()
    for row in touched:  # memory stays flat whatever the size of the listing
        session.expunge(row)


def _remove_absent(
    session: Session, org_id: int, seen: dict[str, int], result: ListingResult, dry_run: bool
) -> None:
    """Remove the stored rows whose reference the file no longer has, unless drawn."""
    stmt = select(ListingRow.id, ListingRow.reference).where(ListingRow.organisation_id == org_id)
    absent = [row_id for row_id, ref in session.execute(stmt) if ref not in seen]
    for chunk in _chunks(absent):
        drawn = set(
            session.scalars(
                select(PanelMember.listing_row_id)
                .where(PanelMember.listing_row_id.in_(chunk))
                .distinct()
            )
        )
        result.kept += len(drawn)
        gone = [row_id for row_id in chunk if row_id not in drawn]
        result.removed += len(gone)
        if gone and not dry_run:
            session.execute(delete(ListingRow).where(ListingRow.id.in_(gone)))


def _chunks(ids: list[int]) -> Iterator[list[int]]:
    for start in range(0, len(ids), CHUNK):
        yield ids[start : start + CHUNK]
