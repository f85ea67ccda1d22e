"""An association, its landlords and generated listings, for the draw's tests."""

from __future__ import annotations

from dataclasses import dataclass

from outreach.accounts.models import Organisation
from outreach.accounts.operations import create_organisation
from outreach.panel.generate import insert_listing, listing_rows


@dataclass
class Region:
    association: Organisation
    landlords: list[Organisation]


def make_region(session, sizes=(600, 300), departements=("37", "45"), slug="region") -> Region:
    """An association with one landlord per ``sizes`` entry, each with a listing of that many
    tenants spread over ``departements``."""
    association = create_organisation(session, slug, "Association régionale")
    landlords = []
    for i, count in enumerate(sizes, start=1):
        org = create_organisation(session, f"{slug}-bailleur-{i}", f"Bailleur {i}", slug)
        insert_listing(session, listing_rows(org.id, departements, count, seed=i))
        landlords.append(org)
    session.flush()
    return Region(association, landlords)
