"""Generated anonymised listings, for the tests and the benchmark of the draw.

The mix is that of a landlord's senior tenants (more collectif and more urban than the
quotas ask, a few tenants under 65 and a few unknown attributes), so a draw must select
rather than copy the listing.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Any

from sqlalchemy import insert
from sqlalchemy.orm import Session

from outreach.panel.models import ListingRow
from outreach.roster.models import Area, HousingType, Sex

BANDS = (("lt65", 0.02), ("65-74", 0.53), ("75-84", 0.30), ("85+", 0.15))
BIRTH_YEARS = {"lt65": (1962, 1966), "65-74": (1952, 1961), "75-84": (1942, 1951),
               "85+": (1925, 1941)}  # fmt: skip


def _pick(rng: random.Random, share: float, yes: Any, no: Any, unknown: float) -> Any:
    if rng.random() < unknown:
        return None
    return yes if rng.random() < share else no


def listing_rows(
    organisation_id: int,
    departements: Sequence[str],
    count: int,
    seed: int = 0,
    unknown: float = 0.01,
    prefix: str | None = None,
) -> list[dict[str, Any]]:
    """``count`` rows for one landlord spread over ``departements`` (values for an insert)."""
    rng = random.Random(f"listing:{organisation_id}:{seed}")
    prefix = prefix if prefix is not None else f"L{organisation_id}-"
    rows = []
    for i in range(count):
        band = rng.choices([b for b, _ in BANDS], [w for _, w in BANDS])[0]
        dept = departements[i % len(departements)]
        rows.append(
            {
                "organisation_id": organisation_id,
                "reference": f"{prefix}{i:06d}",
                "birth_year": rng.randint(*BIRTH_YEARS[band]),
                "age_band": band,
                "sex": _pick(rng, 0.58, Sex.female, Sex.male, unknown),
                "postcode": f"{dept}{rng.randint(0, 999):03d}",
                "departement": dept,
                "housing_type": _pick(
                    rng, 0.82, HousingType.collectif, HousingType.individuel, unknown
                ),
                "area": _pick(rng, 0.62, Area.urbain, Area.rural, unknown),
                "qpv": _pick(rng, 0.35, True, False, unknown),
                "lives_alone": _pick(rng, 0.58, True, False, unknown),
                "adapted": _pick(rng, 0.3, True, False, unknown),
            }
        )
    return rows


def insert_listing(session: Session, rows: list[dict[str, Any]]) -> None:
    """Insert generated rows in batches (flush, never commit)."""
    for start in range(0, len(rows), 5000):
        session.execute(insert(ListingRow), rows[start : start + 5000])
    session.flush()
