"""Gateway accounts and each organisation's gateway settings (issue 12).

A deployment has a default Twilio account (``[telephony]``: ``account_sid``, ``auth_token``,
the rates) and may declare named ones (``[telephony.accounts.<name>]``) for landlords that
pay for their own. An organisation names its account (``Organisation.gateway_account``, NULL:
the default) and may present its own caller ID and SMS sender, so that a senior recognises
her landlord; what it leaves empty is the configuration's. Twilio limits the rate per
account, so the dispatcher paces each account on its own.

With the simulator backend every account is the simulator's single account: the demo and
the tests run organisations that name an account without real credentials.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from outreach.roster.phones import InvalidPhone, is_mobile, normalise_phone
from outreach.telephony.gateway import Gateway, GatewayError, Inbound, RemoteStatus, Sent

log = logging.getLogger("outreach.telephony")

# The default account's name: what an organisation without gateway_account uses.
DEFAULT = ""
NAME_RE = re.compile(r"^[a-z][a-z0-9_]{0,31}$")
# The keys of one [telephony.accounts.<name>] table, with their types.
ACCOUNT_KEYS: dict[str, type | tuple[type, ...]] = {
    "account_sid": str,
    "auth_token": str,
    "calls_per_second": (int, float),
    "sms_per_second": (int, float),
}
SENDER_MAX = 11


@dataclass(frozen=True)
class Account:
    """One gateway account, with the credentials its backend uses."""

    name: str
    account_sid: str
    auth_token: str
    calls_per_second: float
    sms_per_second: float


def env_names(name: str) -> tuple[str, str]:
    """The environment variables that carry account ``name``'s SID and token."""
    return f"TWILIO_ACCOUNT_SID_{name.upper()}", f"TWILIO_AUTH_TOKEN_{name.upper()}"


def apply_env(config: dict[str, dict[str, Any]], environ: Mapping[str, str]) -> None:
    """Take the declared accounts' secrets from the environment where set (a new mapping:
    the declared one may be the schema's default or the caller's override)."""
    tables = config["telephony"]["accounts"]
    accounts: dict[str, Any] = {}
    for name, table in tables.items():
        table = dict(table) if isinstance(table, Mapping) else table
        if isinstance(table, dict) and isinstance(name, str):
            for key, var in zip(("account_sid", "auth_token"), env_names(name), strict=True):
                if environ.get(var):
                    table[key] = environ[var]
        accounts[name] = table
    config["telephony"]["accounts"] = accounts


def validate(config: dict[str, dict[str, Any]]) -> str | None:
    """What is wrong with ``telephony.accounts`` (the message names the key), or None."""
    tel = config["telephony"]
    sids = {tel["account_sid"]} if tel["account_sid"] else set()
    for name, table in tel["accounts"].items():
        where = f"telephony.accounts.{name}"
        if not NAME_RE.match(name):
            return f"{where}: a name is lowercase letters, digits and _ (32 at most)"
        if not isinstance(table, Mapping):
            return f"{where} must be a table"
        values: Mapping[str, Any] = table
        for key, value in values.items():
            if key not in ACCOUNT_KEYS:
                return f"{where}: unknown key {where}.{key}"
            if isinstance(value, bool) or not isinstance(value, ACCOUNT_KEYS[key]):
                return f"{where}.{key} has the wrong type ({type(value).__name__})"
            if isinstance(value, (int, float)) and value <= 0:  # a rate
                return f"{where}.{key} must be positive"
        if tel["backend"] == "twilio":
            if not (table.get("account_sid") and table.get("auth_token")):
                sid_var, token_var = env_names(name)
                return f"{where}: the twilio backend needs {sid_var} and {token_var}"
            if table["account_sid"] in sids:
                # Webhooks find their account by AccountSid: one SID, one account.
                return f"{where}.account_sid: already the SID of another account"
            sids.add(table["account_sid"])
    return None


def accounts(config: dict[str, dict[str, Any]]) -> dict[str, Account]:
    """Every account by name, the default one under ``DEFAULT``."""
    tel = config["telephony"]
    simulator = tel["backend"] == "simulator"
    sim = config["simulator"]
    found = {
        DEFAULT: Account(
            DEFAULT,
            sim["account_sid"] if simulator else tel["account_sid"],
            sim["auth_token"] if simulator else tel["auth_token"],
            tel["calls_per_second"],
            tel["sms_per_second"],
        )
    }
    for name, table in tel["accounts"].items():
        found[name] = Account(
            name,
            sim["account_sid"] if simulator else table.get("account_sid", ""),
            sim["auth_token"] if simulator else table.get("auth_token", ""),
            table.get("calls_per_second", tel["calls_per_second"]),
            table.get("sms_per_second", tel["sms_per_second"]),
        )
    return found


def by_sid(config: dict[str, dict[str, Any]], account_sid: str) -> Account | None:
    """The account whose SID is ``account_sid`` (webhooks carry it as AccountSid)."""
    if not account_sid:
        return None
    return next((a for a in accounts(config).values() if a.account_sid == account_sid), None)


# -- which account and which sender each organisation's requests use --------------------


@dataclass(frozen=True)
class Route:
    """How an organisation's calls and SMS leave: through which account (None: one the
    configuration does not declare, so nothing is sent), from which caller ID and sender
    (None: the gateway's, i.e. the configuration's)."""

    account: str | None
    caller_id: str | None = None
    sms_sender: str | None = None


def routes(
    session: Session, config: dict[str, dict[str, Any]], organisation_ids: list[int] | None = None
) -> dict[int, Route]:
    """The route of every organisation (or of those listed), by organisation id."""
    from outreach.accounts.models import Organisation

    declared = config["telephony"]["accounts"]
    stmt = select(
        Organisation.id,
        Organisation.slug,
        Organisation.gateway_account,
        Organisation.caller_id,
        Organisation.sms_sender,
    )
    if organisation_ids is not None:
        stmt = stmt.where(Organisation.id.in_(organisation_ids))
    found = {}
    for row in session.execute(stmt):
        account = row.gateway_account or DEFAULT
        if account != DEFAULT and account not in declared:
            # Removed from the configuration since it was chosen: sending through the
            # default account would present a number that account may not own.
            log.warning("organisation %s: gateway account %r is not configured", row.slug, account)
            found[row.id] = Route(None)
            continue
        found[row.id] = Route(account, row.caller_id, row.sms_sender)
    return found


class Accounts:
    """The accounts one dispatcher run sends through: a gateway client per account (the
    default one given, the others given or made by ``make_gateway`` when first needed) and
    the route of each organisation, read at the start of the run."""

    def __init__(
        self,
        session: Session,
        config: dict[str, dict[str, Any]],
        default: Gateway,
        gateways: Mapping[str, Gateway] | None = None,
    ) -> None:
        self.session = session
        self.config = config
        self.settings = accounts(config)
        self.gateways: dict[str, Gateway] = {DEFAULT: default, **(gateways or {})}
        self.routes: dict[int, Route] = {}

    def load(self) -> dict[str, list[int] | None]:
        """Read every organisation's route; return the accounts in use, each with its
        organisations' ids (None: every organisation, when all use one account, as in most
        deployments: the due tasks are then read as before, unfiltered)."""
        self.routes = routes(self.session, self.config)
        by_account: dict[str, list[int]] = {}
        for org_id, route in self.routes.items():
            if route.account is not None:
                by_account.setdefault(route.account, []).append(org_id)
        if len(by_account) <= 1 and all(r.account is not None for r in self.routes.values()):
            return {next(iter(by_account), DEFAULT): None}
        return dict(by_account)

    def route(self, organisation_id: int) -> Route:
        """The organisation's route (read now if it was created during the run)."""
        if organisation_id not in self.routes:
            self.routes.update(routes(self.session, self.config, [organisation_id]))
        return self.routes.get(organisation_id, Route(None))

    def gateway(self, account: str) -> Gateway:
        """The account's gateway client, one per account."""
        if account not in self.gateways:
            from outreach.telephony.gateway import make_gateway

            self.gateways[account] = make_gateway(self.config, account or None)
        return self.gateways[account]

    def rate(self, account: str, kind: str) -> float:
        """The account's rate of ``kind`` ("call", "sms") per second."""
        settings = self.settings[account]
        return settings.calls_per_second if kind == "call" else settings.sms_per_second

    def for_org(self, organisation_id: int) -> Gateway:
        """The gateway of the organisation's account, presenting its caller ID and sender."""
        route = self.route(organisation_id)
        assert route.account is not None  # the dispatcher skips an unconfigured account
        return OrgGateway(self.gateway(route.account), route)

    def any(self) -> Gateway:
        """What ``reconcile`` looks SIDs up with: the default account's gateway, or every
        account in use (each real account once) when organisations use others."""
        sids = {self.settings[DEFAULT].account_sid}
        others = []
        for name in sorted({r.account for r in self.routes.values() if r.account}):
            if self.settings[name].account_sid not in sids:
                sids.add(self.settings[name].account_sid)
                others.append(self.gateway(name))
        if not others:
            return self.gateway(DEFAULT)
        return AnyAccount([self.gateway(DEFAULT), *others])


class OrgGateway:
    """A gateway that presents one organisation's caller ID and SMS sender; the caller ID
    and sender are passed on only when the organisation has its own."""

    def __init__(self, gateway: Gateway, route: Route) -> None:
        self.gateway = gateway
        self.route = route

    def place_call(
        self,
        to: str,
        url: str,
        status_callback: str,
        machine_detection: bool = True,
        *,
        caller_id: str | None = None,
    ) -> Sent:
        """Place a call from the organisation's caller ID (the gateway's when it has none)."""
        caller_id = caller_id or self.route.caller_id
        if caller_id:
            return self.gateway.place_call(
                to, url, status_callback, machine_detection, caller_id=caller_id
            )
        return self.gateway.place_call(to, url, status_callback, machine_detection)

    def send_sms(
        self, to: str, body: str, status_callback: str | None = None, *, sender: str | None = None
    ) -> Sent:
        """Send an SMS from the organisation's sender (the gateway's when it has none)."""
        sender = sender or self.route.sms_sender
        if sender:
            return self.gateway.send_sms(to, body, status_callback, sender=sender)
        return self.gateway.send_sms(to, body, status_callback)

    def fetch_call(self, sid: str) -> RemoteStatus:
        """The call's status, from the account's gateway."""
        return self.gateway.fetch_call(sid)

    def fetch_message(self, sid: str) -> RemoteStatus:
        """The message's status, from the account's gateway."""
        return self.gateway.fetch_message(sid)


class AnyAccount:
    """The accounts' gateways as one, for what is looked up by SID (``reconcile``): a SID
    unknown to one account (404) is asked of the next; received SMS are listed from all."""

    def __init__(self, gateways: list[Gateway]) -> None:
        self.gateways = gateways

    def place_call(
        self,
        to: str,
        url: str,
        status_callback: str,
        machine_detection: bool = True,
        *,
        caller_id: str | None = None,
    ) -> Sent:
        """Through the first account (the default one): nothing routes a call here."""
        return OrgGateway(self.gateways[0], Route(DEFAULT)).place_call(
            to, url, status_callback, machine_detection, caller_id=caller_id
        )

    def send_sms(
        self, to: str, body: str, status_callback: str | None = None, *, sender: str | None = None
    ) -> Sent:
        """Through the first account (the default one)."""
        return OrgGateway(self.gateways[0], Route(DEFAULT)).send_sms(
            to, body, status_callback, sender=sender
        )

    def _first(self, fetch: str, sid: str) -> RemoteStatus:
        error: GatewayError | None = None
        for gateway in self.gateways:
            try:
                result: RemoteStatus = getattr(gateway, fetch)(sid)
                return result
            except GatewayError as exc:
                if exc.status != 404:
                    raise
                error = exc
        assert error is not None
        raise error

    def fetch_call(self, sid: str) -> RemoteStatus:
        """The call's status from the account that placed it."""
        return self._first("fetch_call", sid)

    def fetch_message(self, sid: str) -> RemoteStatus:
        """The message's status from the account that sent it."""
        return self._first("fetch_message", sid)

    def list_inbound(self, since: datetime) -> list[Inbound]:
        """The SMS each account received since ``since``, oldest first."""
        received: list[Inbound] = []
        for gateway in self.gateways:
            list_inbound = getattr(gateway, "list_inbound", None)
            if list_inbound is not None:
                received.extend(list_inbound(since))
        received.sort(key=lambda m: m.sent_at or since)
        return received


# -- an organisation's caller ID and SMS sender -----------------------------------------


class InvalidSetting(ValueError):
    """A caller ID or SMS sender refused; ``reason`` names why (for a French message)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def check_caller_id(value: str) -> str | None:
    """The E.164 form of a caller ID, None when empty. Refused: an unreadable number
    ("invalid") and an 06/07 mobile ("mobile"), which French rules forbid on automated
    calls since 2019."""
    try:
        number = normalise_phone(value)
    except InvalidPhone as exc:
        raise InvalidSetting("invalid") from exc
    if number is not None and is_mobile(number):
        raise InvalidSetting("mobile")
    return number


def check_sms_sender(value: str) -> str | None:
    """An SMS sender as stored, None when empty: an alphanumeric name of at most 11
    letters, digits and spaces with at least one letter (one-way), or a two-way number in
    E.164. Refused: "too_long", "characters", "invalid", "mobile" (French operators block
    application SMS from 06/07 numbers)."""
    text = value.strip()
    if not text:
        return None
    if any(c.isalpha() for c in text):
        if len(text) > SENDER_MAX:
            raise InvalidSetting("too_long")
        if not all(c.isascii() and (c.isalnum() or c == " ") for c in text):
            raise InvalidSetting("characters")
        return text
    return check_caller_id(text)
