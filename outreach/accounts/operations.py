"""Writes on organisations, users and memberships. Operations flush; callers commit."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.security import check_password_hash, generate_password_hash

from outreach.accounts.models import Membership, Organisation, Role, User
from outreach.accounts.passwords import password_problem
from outreach.audit.operations import record
from outreach.db import utcnow

SLUG_RE = re.compile(r"^[a-z0-9][a-z0-9-]{1,62}$")
EMAIL_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")

# A hash computed once so that an unknown e-mail costs the same time as a wrong password.
_DUMMY_HASH = generate_password_hash("not-a-real-password")


class AccountError(ValueError):
    """Invalid input for an account operation; the message is shown to the operator."""


def create_organisation(
    session: Session, slug: str, name: str, parent_slug: str | None = None
) -> Organisation:
    slug = slug.strip().lower()
    if not SLUG_RE.match(slug):
        raise AccountError(f"invalid slug {slug!r}: lowercase letters, digits and dashes")
    if not name.strip():
        raise AccountError("the organisation needs a name")
    if session.scalar(select(Organisation.id).where(Organisation.slug == slug)):
        raise AccountError(f"organisation {slug!r} already exists")
    parent_id = None
    if parent_slug:
        parent = get_organisation(session, parent_slug)
        if parent is None:
            raise AccountError(f"unknown parent organisation {parent_slug!r}")
        parent_id = parent.id
    org = Organisation(slug=slug, name=name.strip(), parent_id=parent_id)
    session.add(org)
    session.flush()
    return org


def get_organisation(session: Session, slug: str) -> Organisation | None:
    return session.scalar(select(Organisation).where(Organisation.slug == slug.strip().lower()))


def find_user(session: Session, email: str) -> User | None:
    return session.scalar(select(User).where(func.lower(User.email) == email.strip().lower()))


def create_user(
    session: Session,
    email: str,
    name: str,
    password: str,
    memberships: list[tuple[Organisation, Role]] = (),  # type: ignore[assignment]
    phone: str | None = None,
) -> User:
    email = email.strip().lower()
    if not EMAIL_RE.match(email):
        raise AccountError(f"invalid e-mail address {email!r}")
    if find_user(session, email) is not None:
        raise AccountError(f"a user with e-mail {email!r} already exists")
    if problem := password_problem(password, email):
        raise AccountError(problem)
    user = User(
        email=email,
        name=name.strip() or email,
        password_hash=generate_password_hash(password),
        phone=phone,
    )
    session.add(user)
    for org, role in memberships:
        user.memberships.append(Membership(organisation=org, role=Role(role)))
    session.flush()
    return user


def set_password(session: Session, user: User, password: str) -> None:
    """Give ``user`` a new password (same rules as at creation) and end every session
    opened with the old one: a password is changed because someone else may know it."""
    if problem := password_problem(password, user.email):
        raise AccountError(problem)
    user.password_hash = generate_password_hash(password)
    end_sessions(user)
    session.flush()


def set_active(session: Session, user: User, active: bool) -> None:
    """Activate or deactivate ``user``; deactivating also ends the sessions already open."""
    if user.active and not active:
        end_sessions(user)
    user.active = active
    session.flush()


def end_sessions(user: User) -> None:
    """Make every session cookie issued to ``user`` so far worthless (logout, password
    change, deactivation): the cookie carries the version it was issued with, and the user
    loader refuses an older one (see ``User.get_id``)."""
    user.session_version = (user.session_version or 0) + 1


def add_membership(session: Session, user: User, org: Organisation, role: Role) -> Membership:
    existing = next((m for m in user.memberships if m.organisation_id == org.id), None)
    if existing is not None:
        existing.role = role
        session.flush()
        return existing
    membership = Membership(user=user, organisation=org, role=role)
    session.add(membership)
    session.flush()
    return membership


def authenticate(session: Session, email: str, password: str) -> User | None:
    """The active user with this e-mail and password, else None (same cost either way)."""
    user = find_user(session, email)
    if user is None:
        check_password_hash(_DUMMY_HASH, password)
        return None
    if not check_password_hash(user.password_hash, password) or not user.active:
        return None
    user.last_login_at = utcnow()
    return user


def set_on_duty(
    session: Session,
    org: Organisation,
    user: User | None,
    phone: str | None,
    *,
    user_id: int | None = None,
    via: str | None = None,
) -> Organisation:
    """Name the organisation's on-duty social worker (referent of the seniors without one)
    and the number that receives urgent alerts by SMS; ``None`` leaves a value unchanged.

    Audit event ``on_duty`` by ``user_id`` (None from the command line, ``via="cli"``),
    saying whether someone and a phone are on duty, never who or which number."""
    from outreach.roster.phones import InvalidPhone, normalise_phone

    if user is not None:
        roles = {m.role for m in user.memberships if m.organisation_id == org.id}
        if not roles & {Role.social_worker, Role.manager, Role.admin}:
            raise AccountError(f"{user.email} is not a social worker or manager of {org.slug}")
        org.on_duty_user_id = user.id
    if phone is not None:
        try:
            org.on_duty_phone = normalise_phone(phone) if phone else None
        except InvalidPhone as exc:
            raise AccountError(f"on-duty phone: {exc}") from exc
    details: dict[str, object] = {
        "user": org.on_duty_user_id is not None,
        "phone": bool(org.on_duty_phone),
    }
    if via:
        details["via"] = via
    record(
        session,
        action="on_duty",
        entity="organisation",
        entity_id=org.id,
        organisation_id=org.id,
        user_id=user_id,
        details=details,
    )
    session.flush()
    return org


def set_gateway_settings(
    session: Session,
    org: Organisation,
    config: dict[str, dict[str, Any]],
    *,
    caller_id: str | None = None,
    sms_sender: str | None = None,
    account: str | None = None,
    user_id: int | None = None,
    via: str | None = None,
) -> Organisation:
    """Set the caller ID, SMS sender and Twilio account the organisation's calls and SMS
    use (issue 12); ``None`` leaves a value unchanged, ``""`` returns to the configuration's.

    The caller ID is a number in E.164, never an 06/07 mobile; the sender an alphanumeric
    name of at most 11 characters or a two-way number; the account a name of
    ``[telephony.accounts]``. Audit event ``gateway_settings`` with the new values (numbers
    of the organisation, not of a person)."""
    from outreach.telephony.accounts import InvalidSetting, check_caller_id, check_sms_sender

    changed: list[str] = []
    for field, value, check in (
        ("caller_id", caller_id, check_caller_id),
        ("sms_sender", sms_sender, check_sms_sender),
    ):
        if value is None:
            continue
        try:
            setattr(org, field, check(value))
        except InvalidSetting as exc:
            raise AccountError(_gateway_problem(field, exc.reason)) from exc
        changed.append(field)
    if account is not None:
        if account and account not in config["telephony"]["accounts"]:
            raise AccountError(f"unknown gateway account {account!r} (telephony.accounts)")
        org.gateway_account = account or None
        changed.append("account")
    details: dict[str, object] = {
        "fields": changed,
        "caller_id": org.caller_id,
        "sms_sender": org.sms_sender,
        "account": org.gateway_account,
    }
    if via:
        details["via"] = via
    record(
        session,
        action="gateway_settings",
        entity="organisation",
        entity_id=org.id,
        organisation_id=org.id,
        user_id=user_id,
        details=details,
    )
    session.flush()
    return org


def _gateway_problem(field: str, reason: str) -> str:
    what = {"caller_id": "caller ID", "sms_sender": "SMS sender"}[field]
    return {
        "invalid": f"{what}: not a valid number",
        "mobile": f"{what}: an 06/07 mobile number is refused for automated calls and SMS",
        "too_long": f"{what}: an alphanumeric sender has at most 11 characters",
        "characters": f"{what}: letters, digits and spaces only",
    }[reason]
