"""Roster queries: the filtered and searched list of seniors, shared by the list page and the
CSV export so that "export what I see" is true by construction.

Domain code: no HTTP, no scoping. The web layer passes the result through
``access.scoped()`` before running it.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Boolean, ColumnElement, Select, and_, func, literal, or_, select
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.orm import Session
from sqlalchemy.sql.functions import FunctionElement

from outreach.accounts.models import Membership, Role, User
from outreach.roster.models import ConsentStatus, Senior
from outreach.roster.phones import InvalidPhone, normalise_phone

# Age bands of the landlords' panels (DOMAIN.md): code -> (min age included, max age excluded).
AGE_BANDS: dict[str, tuple[int | None, int | None]] = {
    "lt65": (None, 65),
    "65-74": (65, 75),
    "75-84": (75, 85),
    "85+": (85, None),
}
STATUSES = ("active", "left", "all")
REFERENT_ROLES = (Role.social_worker, Role.manager)

# Characters a phone number may be typed with; anything else makes the query a name.
_PHONE_LIKE = re.compile(r"^\+?[\d\s.\-/()]+$")
# Accented letters and their base letter, for accent-insensitive search. Both cases are
# listed because lower() may leave non-ASCII letters alone (SQLite, PostgreSQL in "C").
_ACCENTS = {
    "a": "àâäáãÀÂÄÁÃ",
    "c": "çÇ",
    "e": "éèêëÉÈÊË",
    "i": "îïíìÎÏÍÌ",
    "n": "ñÑ",
    "o": "ôöóòõÔÖÓÒÕ",
    "u": "ùûüúÙÛÜÚ",
    "y": "ÿŸ",
}
_FROM = "".join(_ACCENTS.values())
_TO = "".join(base * len(chars) for base, chars in _ACCENTS.items())


class _accent_match(FunctionElement[bool]):
    """``column`` contains a word, ignoring case and accents.

    PostgreSQL: ``translate(lower(column), accented, plain) LIKE pattern``, one function
    call. SQLite has no translate() and chokes on deeply nested replace(), so there the word
    becomes a GLOB pattern with a character class per letter: "elo" -> "*[eEéè…][lL][oOô…]*".
    Arguments: column, LIKE pattern, GLOB pattern, accented letters, plain letters.
    """

    type = Boolean()
    name = "accent_match"
    inherit_cache = True


@compiles(_accent_match)
def _accent_match_default(element: Any, compiler: Any, **kw: Any) -> str:
    column, like, _glob, from_, to = (compiler.process(c, **kw) for c in element.clauses)
    return f"translate(lower({column}), {from_}, {to}) LIKE {like}"


@compiles(_accent_match, "sqlite")
def _accent_match_sqlite(element: Any, compiler: Any, **kw: Any) -> str:
    column, _like, glob, _from, _to = (compiler.process(c, **kw) for c in element.clauses)
    return f"{column} GLOB {glob}"


def _glob_char(char: str) -> str:
    if char in _ACCENTS:
        return f"[{char}{char.upper()}{_ACCENTS[char]}]"
    if char.isalpha() and char.upper() != char:
        return f"[{char}{char.upper()}]"
    if char in "*?[":
        return f"[{char}]"
    return char


def contains_folded(column: Any, word: str) -> ColumnElement[bool]:
    """Whether ``column`` contains ``word``, case- and accent-insensitively."""
    word = fold(word)
    escaped = word.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    glob = "*" + "".join(_glob_char(c) for c in word) + "*"
    return _accent_match(
        column, literal(f"%{escaped}%"), literal(glob), literal(_FROM), literal(_TO)
    )


@dataclass(frozen=True)
class RosterFilters:
    """What the user asked for; every field optional, ``None`` meaning "any"."""

    q: str = ""
    organisation_id: int | None = None
    departement: str | None = None
    age_band: str | None = None
    lives_alone: bool | None = None
    canicule_register: bool | None = None
    consent_status: ConsentStatus | None = None
    status: str = "active"

    def active_names(self) -> list[str]:
        """Names of the filters in use (for the audit trail: names, never the values)."""
        names = []
        for name in (
            "q",
            "organisation_id",
            "departement",
            "age_band",
            "lives_alone",
            "canicule_register",
            "consent_status",
        ):
            if getattr(self, name) not in (None, ""):
                names.append(name)
        if self.status != "all":
            names.append("status")
        return names


def fold(text: str) -> str:
    """Lower-case ``text`` and strip its accents, like ``_fold_sql`` does in the database."""
    decomposed = unicodedata.normalize("NFKD", text.lower())
    return "".join(c for c in decomposed if not unicodedata.combining(c))


def years_before(day: date, years: int) -> date:
    """The same calendar day ``years`` earlier; 29 February becomes the 28th."""
    try:
        return day.replace(year=day.year - years)
    except ValueError:
        return day.replace(year=day.year - years, day=28)


def _age_band_clause(band: str, today: date) -> ColumnElement[bool]:
    low, high = AGE_BANDS[band]
    clauses: list[ColumnElement[bool]] = [Senior.birth_date.is_not(None)]
    if low is not None:
        # At least ``low`` years old: born on or before the same day ``low`` years ago.
        clauses.append(Senior.birth_date <= years_before(today, low))
    if high is not None:
        clauses.append(Senior.birth_date > years_before(today, high))
    return and_(*clauses)


def _phone_clause(query: str, region: str) -> ColumnElement[bool] | None:
    """Match a typed phone number against the stored E.164 numbers, whole or partial."""
    digits = re.sub(r"\D", "", query)
    if len(digits) < 2:
        return None
    phones = (Senior.phone_mobile, Senior.phone_landline)
    try:
        e164 = normalise_phone(query, region)
    except InvalidPhone:
        e164 = None
    if e164:
        return or_(*(p == e164 for p in phones))
    if digits.startswith("0") and not query.strip().startswith("+"):
        # "06 12 34": a national prefix, which in E.164 follows "+33".
        prefix = "+33" + digits[1:]
        return or_(*(p.startswith(prefix, autoescape=True) for p in phones))
    return or_(*(p.contains(digits, autoescape=True) for p in phones))


def _search_clause(query: str, region: str) -> ColumnElement[bool] | None:
    query = query.strip()
    if not query:
        return None
    ref = contains_folded(Senior.external_ref, query)
    if _PHONE_LIKE.match(query):
        phone = _phone_clause(query, region)
        return ref if phone is None else or_(ref, phone)
    # Every word must appear in a name or the reference: "jeanne martin" finds her.
    columns = (Senior.last_name, Senior.first_name, Senior.external_ref)
    return and_(*(or_(*(contains_folded(c, w) for c in columns)) for w in query.split()))


def roster_select(filters: RosterFilters, today: date, region: str = "FR") -> Select[Any]:
    """The seniors matching ``filters``, sorted by last then first name (not scoped)."""
    stmt = select(Senior)
    search = _search_clause(filters.q, region)
    if search is not None:
        stmt = stmt.where(search)
    if filters.organisation_id is not None:
        stmt = stmt.where(Senior.organisation_id == filters.organisation_id)
    if filters.departement:
        stmt = stmt.where(Senior.departement == filters.departement.upper())
    if filters.age_band in AGE_BANDS:
        stmt = stmt.where(_age_band_clause(filters.age_band, today))
    if filters.lives_alone is not None:
        stmt = stmt.where(Senior.lives_alone.is_(filters.lives_alone))
    if filters.canicule_register is not None:
        stmt = stmt.where(Senior.canicule_register.is_(filters.canicule_register))
    if filters.consent_status is not None:
        stmt = stmt.where(Senior.consent_status == filters.consent_status)
    if filters.status == "active":
        stmt = stmt.where(Senior.active.is_(True))
    elif filters.status == "left":
        stmt = stmt.where(Senior.active.is_(False))
    # lower() so that "MARTIN" and "Martin" from different files sort together.
    return stmt.order_by(func.lower(Senior.last_name), func.lower(Senior.first_name), Senior.id)


def count_rows(session: Session, stmt: Select[Any]) -> int:
    """How many rows ``stmt`` returns (ordering dropped, it only costs time)."""
    return session.scalar(select(func.count()).select_from(stmt.order_by(None).subquery())) or 0


def page_of(session: Session, stmt: Select[Any], page: int, size: int) -> list[Any]:
    """One page (1-based) of ``stmt``'s rows."""
    return list(session.scalars(stmt.limit(size).offset((max(page, 1) - 1) * size)))


def departements_of(session: Session, stmt: Select[Any]) -> list[str]:
    """The distinct départements among the rows of ``stmt`` (for the filter's choices)."""
    sub = stmt.order_by(None).subquery()
    rows = session.scalars(
        select(sub.c.departement).where(sub.c.departement.is_not(None)).distinct()
    )
    return sorted(rows)


def referent_candidates(session: Session, organisation_id: int) -> list[User]:
    """Active social workers and managers of the organisation, who may follow a senior."""
    stmt = (
        select(User)
        .join(Membership, Membership.user_id == User.id)
        .where(
            Membership.organisation_id == organisation_id,
            Membership.role.in_(REFERENT_ROLES),
            User.active.is_(True),
        )
        .order_by(User.name, User.id)
    )
    return list(session.scalars(stmt))
