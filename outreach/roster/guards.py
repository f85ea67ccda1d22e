"""What the roster import refuses in a cell or in the way it is run, apart from formats.

- ``bad_text``: a name (or any text cell) with a line break or another control character
  (it would inject Markdown into a call script, or a NUL that PostgreSQL refuses), or that
  looks like mojibake, text decoded in the wrong encoding ("DupÃ´nt"): such a row is
  rejected with its line, never written over a good name.
- ``unprotect``: the apostrophe our exports put before a cell starting like a formula
  (``export.neutralise``) is removed on import, so that an export re-imports unchanged.
- ``import_lock``: one import at a time per organisation, across processes: two imports
  of the same roster at once would race on the same references.
"""

from __future__ import annotations

import errno
import fcntl
import re
from pathlib import Path
from typing import Any

from sqlalchemy import event, text
from sqlalchemy.orm import Session, SessionTransaction

from outreach.roster.readers import FatalImportError

# C0 and C1 control characters, DEL, and the Unicode line and paragraph separators.
CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
# UTF-8 read as Windows-1252 (or Latin-1): the lead byte of a two-byte sequence (Â, Ã, Å)
# or the three-byte "â€" followed by what a continuation byte (0x80-0xBF) becomes.
_CONTINUATION = "\u0080-\u00bf€‚ƒ„…†‡ˆ‰Š‹ŒŽ‘’“”•–—˜™š›œžŸ"
MOJIBAKE = re.compile(f"[ÂÃÅ][{_CONTINUATION}]|â€[{_CONTINUATION}]")
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")

BUSY = (
    "un import est déjà en cours pour cette organisation : attendez qu'il se termine puis "
    "recommencez (rien n'a été modifié)"
)
# pg_try_advisory_xact_lock(namespace, organisation id); the scheduler uses a one-key lock.
LOCK_NAMESPACE = 0x524F5354  # "ROST"


class ImportBusy(FatalImportError):
    """Another import into the same organisation is running."""


def bad_text(value: Any, label: str) -> str | None:
    """Why a text cell cannot be taken in (in French), or None when it can."""
    if not isinstance(value, str):
        return None
    if CONTROL.search(value):
        return f"{label} : retour à la ligne ou caractère de contrôle interdit"
    if match := MOJIBAKE.search(value):
        return (
            f"{label} : « {match.group()} » ressemble à un texte mal décodé (accents abîmés) ; "
            "vérifiez l'encodage du fichier (UTF-8 attendu)"
        )
    return None


def unprotect(value: Any) -> Any:
    """A cell without the leading apostrophe our exports add before a formula trigger."""
    if isinstance(value, str) and value.startswith("'") and value[1:2].startswith(FORMULA_STARTS):
        return value[1:]
    return value


def import_lock(session: Session, organisation_id: int) -> None:
    """Hold the organisation's import lock until the session's transaction ends, or raise
    ImportBusy at once (no waiting: the second import is told, not queued).

    PostgreSQL: a transaction-level advisory lock. SQLite (one machine): an exclusive
    ``flock`` on a file beside the database, released when the transaction ends.
    """
    bind = session.get_bind()
    if bind.dialect.name == "postgresql":
        got = session.execute(
            text("SELECT pg_try_advisory_xact_lock(:ns, :org)"),
            {"ns": LOCK_NAMESPACE, "org": organisation_id},
        ).scalar()
        if not got:
            raise ImportBusy(BUSY)
        return
    database = bind.engine.url.database
    held = session.info.setdefault("roster_import_locks", set())
    if not database or database == ":memory:" or organisation_id in held:
        return  # one connection, one process: nothing to race with; or held already
    path = Path(database).with_name(f"{Path(database).name}.import-{organisation_id}.lock")
    fh = path.open("a")
    try:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        fh.close()
        raise ImportBusy(BUSY) from None
    session.connection()  # make sure a transaction is open, so that its end releases

    held.add(organisation_id)

    def release(_session: Session, transaction: SessionTransaction) -> None:
        if transaction.parent is None and not fh.closed:
            fh.close()  # closing the file releases the flock
            held.discard(organisation_id)

    event.listen(session, "after_transaction_end", release)


def os_error_text(exc: OSError) -> str:
    """A system error in French, without a path or anything else from the file."""
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return "espace disque insuffisant sur le serveur"
    if exc.errno in (errno.EACCES, errno.EPERM):
        return "accès refusé par le système"
    if exc.errno == errno.ENOENT:
        return "fichier ou dossier introuvable"
    return f"erreur du système ({errno.errorcode.get(exc.errno or 0, 'inconnue')})"
