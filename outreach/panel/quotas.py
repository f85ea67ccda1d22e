"""The association's quotas per département, and what a set of drawn rows achieves.

Settings are stored as JSON in ``Quota.settings``; absent keys take the defaults of the
issue (DOMAIN.md, "The landlords' practice"). Shares are percentages of the panel, their
tolerances points; landlords' shares are numbers of seniors (±3 by default) following each
landlord's weight among the département's drawable rows unless set by hand.

Every share quota is a yes/no attribute checked on both sides (women and men, urban and
rural...): a row whose attribute is unknown counts toward neither side, so drawing her
moves both shares away from their targets. Rows without an age band, or under 65, are
never drawn (``eligible``): "nobody under 65" must be provable.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, NamedTuple

from flask_babel import lazy_gettext as _l

from outreach.roster.models import Area, HousingType, Sex

DEFAULT_SIZE = 100
MAX_SIZE = 10_000
# INSEE, population aged 65 and over: about 57 % women.
INSEE_WOMEN_65_PLUS = 57.0
DEFAULT_LANDLORD_TOLERANCE = 3
# "75+": a listing that gives only the two bands of the default quotas (panel.listing_rows).
OLD_BANDS = ("75-84", "85+", "75+")
DRAWABLE_BANDS = ("65-74", *OLD_BANDS)


class Profile(NamedTuple):
    """What makes two tenants interchangeable for the draw (one cell of the programme)."""

    organisation_id: int
    age: str | None  # "65-74" or "75+" (None: unknown, never drawn)
    sex: str | None
    housing: str | None
    qpv: bool | None
    area: str | None
    alone: bool | None
    adapted: bool | None


def age_group(band: str | None) -> str | None:
    """The quota's two age groups from the listing's bands; None when not drawable."""
    if band == "65-74":
        return "65-74"
    if band in OLD_BANDS:
        return "75+"
    return None


@dataclass(frozen=True)
class ShareQuota:
    """A yes/no share of the panel: ``yes`` tells whether a profile is on the first side
    (True), the second (False) or neither (None, an unknown attribute)."""

    key: str
    label: Any
    other_label: Any
    default_target: float
    default_tolerance: float
    yes: Callable[[Profile], bool | None]


def _known(value: Any, first: Any) -> bool | None:
    return None if value is None else value == first


SHARES: tuple[ShareQuota, ...] = (
    ShareQuota("age", _l("65–74 ans"), _l("75 ans et plus"), 50, 2,
               lambda p: _known(p.age, "65-74")),
    ShareQuota("women", _l("Femmes"), _l("Hommes"), INSEE_WOMEN_65_PLUS, 6,
               lambda p: _known(p.sex, Sex.female.value)),
    ShareQuota("collectif", _l("Logement collectif"), _l("Logement individuel"), 75, 3,
               lambda p: _known(p.housing, HousingType.collectif.value)),
    ShareQuota("qpv", _l("En QPV"), _l("Hors QPV"), 30, 3, lambda p: p.qpv),
    ShareQuota("urban", _l("Zone urbaine"), _l("Zone rurale"), 50, 5,
               lambda p: _known(p.area, Area.urbain.value)),
    ShareQuota("alone", _l("Vit seul(e)"), _l("Vit en couple"), 50, 5, lambda p: p.alone),
    ShareQuota("adapted", _l("Logement adapté"), _l("Logement non adapté"), 50, 5,
               lambda p: p.adapted),
)  # fmt: skip
SHARE_KEYS = tuple(q.key for q in SHARES)


class QuotaError(ValueError):
    """Quota settings that cannot be used; the message is French, for the manager."""


@dataclass(frozen=True)
class Settings:
    """One département's quotas, defaults filled in and validated."""

    size: int
    shares: dict[str, tuple[float, float]]  # key -> (target %, tolerance in points)
    landlord_tolerance: float
    landlords: dict[int, int]  # organisation id -> seniors set by hand

    def as_json(self) -> dict[str, Any]:
        return {
            "size": self.size,
            **{k: {"target": t, "tolerance": tol} for k, (t, tol) in self.shares.items()},
            "landlord_tolerance": self.landlord_tolerance,
            "landlords": {str(k): v for k, v in sorted(self.landlords.items())},
        }


def _number(value: Any, what: str) -> float:
    if isinstance(value, bool) or value is None or value == "":
        raise QuotaError(f"{what} : un nombre est attendu")
    try:
        number = float(str(value).replace(",", ".").strip())
    except ValueError:
        raise QuotaError(f"{what} : « {value} » n'est pas un nombre") from None
    if not math.isfinite(number):
        raise QuotaError(f"{what} : « {value} » n'est pas un nombre")
    return number


def settings_from(raw: Mapping[str, Any] | None) -> Settings:
    """Validated settings from stored or submitted JSON; raises ``QuotaError`` in French."""
    raw = raw or {}
    unknown = set(raw) - {"size", "landlord_tolerance", "landlords", *SHARE_KEYS}
    if unknown:
        raise QuotaError(f"réglage inconnu : {', '.join(sorted(unknown))}")
    size = _number(raw.get("size", DEFAULT_SIZE), "Taille du panel")
    if size != int(size) or not 1 <= size <= MAX_SIZE:
        raise QuotaError(f"Taille du panel : un nombre entier entre 1 et {MAX_SIZE} est attendu")
    shares: dict[str, tuple[float, float]] = {}
    for quota in SHARES:
        entry = raw.get(quota.key) or {}
        if not isinstance(entry, Mapping):
            raise QuotaError(f"{quota.label} : cible et tolérance attendues")
        target = _number(entry.get("target", quota.default_target), f"{quota.label} (cible)")
        tolerance = _number(
            entry.get("tolerance", quota.default_tolerance), f"{quota.label} (tolérance)"
        )
        if not 0 <= target <= 100:
            raise QuotaError(f"{quota.label} : la cible doit être entre 0 et 100 %")
        if not 0 <= tolerance <= 50:
            raise QuotaError(f"{quota.label} : la tolérance doit être entre 0 et 50 points")
        shares[quota.key] = (target, tolerance)
    landlord_tolerance = _number(
        raw.get("landlord_tolerance", DEFAULT_LANDLORD_TOLERANCE), "Tolérance par bailleur"
    )
    if not 0 <= landlord_tolerance <= size:
        raise QuotaError("Tolérance par bailleur : entre 0 et la taille du panel")
    landlords: dict[int, int] = {}
    hand = raw.get("landlords") or {}
    if not isinstance(hand, Mapping):
        raise QuotaError("Parts des bailleurs : une liste par bailleur est attendue")
    for key, value in hand.items():
        count = _number(value, "Part d'un bailleur")
        if count != int(count) or count < 0:
            raise QuotaError("Part d'un bailleur : un nombre entier de seniors est attendu")
        try:
            landlords[int(key)] = int(count)
        except ValueError:
            raise QuotaError(f"Part d'un bailleur : bailleur inconnu « {key} »") from None
    if sum(landlords.values()) > size:
        raise QuotaError(
            f"Parts des bailleurs : {sum(landlords.values())} seniors fixés à la main, "
            f"plus que la taille du panel ({int(size)})"
        )
    return Settings(int(size), shares, landlord_tolerance, landlords)


def landlord_targets(settings: Settings, weights: Mapping[int, int]) -> dict[int, float]:
    """Seniors expected of each landlord: set by hand, or the rest of the panel shared by
    the weight (drawable rows) of the landlords not set by hand."""
    size = settings.size
    fixed = {org: n for org, n in settings.landlords.items() if org in weights}
    free = {org: w for org, w in weights.items() if org not in fixed}
    rest = max(0, size - sum(fixed.values()))
    total = sum(free.values())
    targets = {org: float(n) for org, n in fixed.items()}
    for org, weight in free.items():
        targets[org] = rest * weight / total if total else 0.0
    return targets


def share_bounds(target: float, tolerance: float, size: int) -> tuple[int, int]:
    """The whole numbers of seniors that meet a share of ``size`` within its tolerance."""
    low = math.ceil((target - tolerance) * size / 100 - 1e-9)
    high = math.floor((target + tolerance) * size / 100 + 1e-9)
    return max(0, low), min(size, high)


def count_bounds(target: float, tolerance: float, size: int) -> tuple[int, int]:
    """The whole numbers of seniors within ``tolerance`` seniors of ``target``."""
    low = math.ceil(target - tolerance - 1e-9)
    high = math.floor(target + tolerance + 1e-9)
    return max(0, low), min(size, high)


def _line(key: str, label: str, unit: str, target: float, tol: float, achieved: float) -> dict:
    deviation = max(0.0, abs(achieved - target) - tol)
    deviation = 0.0 if deviation < 1e-9 else round(deviation, 2)
    return {
        "key": key,
        "label": label,
        "unit": unit,
        "target": round(target, 2),
        "tolerance": tol,
        "achieved": round(achieved, 2),
        "deviation": deviation,
        "met": deviation == 0.0,
    }


def achieved(
    settings: Settings,
    profiles: Iterable[Profile],
    weights: Mapping[int, int],
    names: Mapping[int, str],
    available: int | None = None,
) -> dict[str, Any]:
    """What ``profiles`` (the drawn rows of one département) achieve against the quotas:
    {"size", "target_size", "met", "quotas": [{key, label, unit, target, tolerance, achieved,
    deviation, met}]}. Shares in % of the rows given, landlords in seniors.

    ``available`` (drawable rows) explains a short panel; it changes no figure.
    """
    rows = list(profiles)
    size = len(rows)
    lines = [_line("size", str(_l("Taille du panel")), "n", settings.size, 0, size)]
    for quota in SHARES:
        target, tol = settings.shares[quota.key]
        sides = [quota.yes(p) for p in rows]
        for side, key, label, goal in (
            (True, quota.key, quota.label, target),
            (False, f"{quota.key}_other", quota.other_label, 100 - target),
        ):
            count = sum(1 for s in sides if s is side)
            pct = 100 * count / size if size else 0.0
            lines.append(_line(key, str(label), "%", goal, tol, pct))
    under = sum(1 for p in rows if p.age not in ("65-74", "75+"))
    lines.append(_line("under_65", str(_l("Moins de 65 ans ou âge inconnu")), "n", 0, 0, under))
    targets = landlord_targets(settings, weights)
    for org in sorted(targets, key=lambda o: (names.get(o, ""), o)):
        count = sum(1 for p in rows if p.organisation_id == org)
        name = names.get(org, str(org))
        lines.append(
            _line(f"landlord:{org}", name, "n", targets[org], settings.landlord_tolerance, count)
        )
    report: dict[str, Any] = {
        "size": size,
        "target_size": settings.size,
        "met": all(line["met"] for line in lines),
        "quotas": lines,
    }
    if available is not None:
        report["available"] = available
    return report
