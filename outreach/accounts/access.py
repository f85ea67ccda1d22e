"""What a user may see and do: the one place where queries are scoped.

Every query that serves a user goes through ``scoped()`` or ``get_or_404()``, which add
``organisation_id IN (the organisations where the user holds a role that grants the
permission)``. Forgetting the scope therefore means not calling these helpers, which
reviews and the URL-walking test catch.
"""

from __future__ import annotations

from typing import Any, TypeVar

from flask import abort
from flask_login import current_user
from sqlalchemy import ColumnElement, Select, and_, exists, false, or_, select
from sqlalchemy.orm import Session

from outreach.accounts.models import Role, User
from outreach.doorknock.models import DoorKnock, ProximityResidence

R = Role
PERMISSIONS: dict[str, frozenset[Role]] = {
    "roster.view": frozenset({R.caller, R.social_worker, R.manager, R.admin}),
    "roster.edit": frozenset({R.caller, R.social_worker, R.manager, R.admin}),
    "roster.import": frozenset({R.manager, R.admin}),
    "roster.export": frozenset({R.manager, R.admin}),
    "audit.view": frozenset({R.manager, R.admin}),
    # The senior's rights: her data exported for her (a DPO is a manager or an admin), and
    # erased for good, which only an admin may do.
    "privacy.export": frozenset({R.manager, R.admin}),
    "privacy.erase": frozenset({R.admin}),
    # The staff queue: volunteers work it too, but see neither social notes nor alerts.
    "queue.work": frozenset({R.caller, R.volunteer, R.social_worker, R.manager, R.admin}),
    "notes.view": frozenset({R.caller, R.social_worker, R.manager, R.admin}),
    "campaigns.manage": frozenset({R.manager, R.admin}),
    # Alerts and what they hold (signals, social notes, referrals): never volunteers.
    "alerts.view": frozenset({R.social_worker, R.manager, R.admin}),
    "alerts.manage": frozenset({R.social_worker, R.manager, R.admin}),
    "partners.view": frozenset({R.caller, R.social_worker, R.manager, R.admin}),
    "partners.manage": frozenset({R.social_worker, R.manager, R.admin}),
    # The figures of a period and their files (funders' reports): aggregates, no names.
    "reports.view": frozenset({R.manager, R.admin}),
    # An organisation's caller ID, SMS sender and Twilio account: a wrong caller ID makes
    # every call look like someone else's, so only its administrators change them.
    "organisation.gateway": frozenset({R.admin}),
    # Door-knocks when a senior cannot be reached (issue 12): the proximity staff's only
    # permission, limited to their residences by ``scoped_doorknocks``.
    "doorknock.work": frozenset({R.proximity, R.social_worker, R.manager, R.admin}),
    # The regional panel (issue 13). Listings and draws hold no names, so an association's
    # managers act for their member landlords too (``panel_org_ids``).
    "panel.listing": frozenset({R.manager, R.admin}),  # upload a listing
    "panel.manage": frozenset({R.manager, R.admin}),  # quotas, draws, freezing the panel
    "panel.agreements": frozenset({R.caller, R.social_worker, R.manager, R.admin}),
    # Collective workshops: managers plan and invite; staff see them and record attendance.
    "workshops.manage": frozenset({R.manager, R.admin}),
    "workshops.view": frozenset({R.caller, R.social_worker, R.manager, R.admin}),
}

# The largest id of an INTEGER primary key (PostgreSQL's int4).
MAX_ID = 2**31 - 1

T = TypeVar("T")
# Any select, whatever its columns: scoped() gives back the type it was given.
S = TypeVar("S", bound="Select[*tuple[Any, ...]]")


def org_ids(permission: str, user: User | None = None) -> list[int]:
    """The organisations where ``user`` (default: the logged-in user) holds ``permission``."""
    user = user if user is not None else current_user
    if user is None or not getattr(user, "is_authenticated", False):
        return []
    roles = PERMISSIONS[permission]
    return sorted({m.organisation_id for m in user.memberships if m.role in roles})


def can(permission: str, organisation_id: int | None = None, user: User | None = None) -> bool:
    """Whether the user holds ``permission`` anywhere, or in one organisation."""
    ids = org_ids(permission, user)
    return bool(ids) if organisation_id is None else organisation_id in ids


def require(permission: str) -> list[int]:
    """Abort with 403 unless the user holds ``permission`` somewhere; return the org ids."""
    ids = org_ids(permission)
    if not ids:
        abort(403)
    return ids


def scoped(stmt: S, model: Any, permission: str, user: User | None = None) -> S:
    """Restrict ``stmt`` to rows of ``model`` in the user's organisations for ``permission``."""
    ids = org_ids(permission, user)
    if not ids:
        return stmt.where(false())
    return stmt.where(model.organisation_id.in_(ids))


def get_or_404(session: Session, model: type[T], id_: int, permission: str) -> T:
    """Load one row the user may see, or 404: another landlord's row is indistinguishable
    from a missing one, so ids leak nothing."""
    # An id the database cannot hold (a typed or forged form value) is a missing row, not
    # an overflow error.
    obj = session.get(model, id_) if 0 < id_ <= MAX_ID else None
    if obj is None or getattr(obj, "organisation_id", None) not in org_ids(permission):
        abort(404)
    return obj


def scoped_doorknocks(stmt: S, user: User | None = None) -> S:
    """Restrict a select of ``DoorKnock`` to the knocks the user may work.

    Proximity staff see only the residences they cover (``proximity_residence``) in their
    organisations; the other roles holding ``doorknock.work`` see every residence of theirs.
    """
    user = user if user is not None else current_user
    if user is None or not getattr(user, "is_authenticated", False):
        return stmt.where(false())
    roles = PERMISSIONS["doorknock.work"]
    held = [m for m in user.memberships if m.role in roles]
    whole = [m.organisation_id for m in held if m.role != Role.proximity]
    near = [m.organisation_id for m in held if m.role == Role.proximity]
    allowed: list[ColumnElement[bool]] = []
    if whole:
        allowed.append(DoorKnock.organisation_id.in_(whole))
    if near:
        covered = exists().where(
            ProximityResidence.user_id == user.id,
            ProximityResidence.organisation_id == DoorKnock.organisation_id,
            ProximityResidence.residence == DoorKnock.residence,
        )
        allowed.append(and_(DoorKnock.organisation_id.in_(near), covered))
    return stmt.where(or_(*allowed)) if allowed else stmt.where(false())


def panel_org_ids(session: Session, permission: str, user: User | None = None) -> list[int]:
    """The organisations whose panel work the user may do with ``permission``: those where
    she holds it and, for an association among them, its member landlords (``parent_id``).

    Only for the panel's anonymous rows (listings, draws, members' references): a member
    landlord's seniors stay scoped by ``org_ids``/``scoped``.
    """
    from outreach.accounts.models import Organisation

    ids = org_ids(permission, user)
    if not ids:
        return []
    members = session.scalars(select(Organisation.id).where(Organisation.parent_id.in_(ids)))
    return sorted(set(ids) | set(members))
