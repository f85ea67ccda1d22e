"""Configuration: defaults, a TOML file named by OUTREACH_CONFIG, environment overrides.

Every key is declared once in ``SCHEMA`` with its type and default; ``config.example.toml``
documents the same keys. An unknown key or a value of the wrong type stops the start with a
message naming the key, because a typo in a production file must not silently fall back to a
default (a wrong call window or rate limit would go unnoticed until it hurts someone).
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEFAULT_SECRET_KEY = "dev-only-change-me"
# The embedded simulator's credentials: published here and in config.example.toml.
SIMULATOR_ACCOUNT_SID = "AC00000000000000000000000000000000"
SIMULATOR_AUTH_TOKEN = "simulator-auth-token"
# Secrets anyone can read in this repository (the defaults, the example file, the test
# suite): production refuses them wherever a secret goes, as it refuses the default key.
PUBLISHED_SECRETS = frozenset({DEFAULT_SECRET_KEY, SIMULATOR_AUTH_TOKEN, "test-secret-key"})
# Keys that hold a secret, checked against PUBLISHED_SECRETS in production.
SECRET_KEYS = (("app", "secret_key"), ("telephony", "auth_token"), ("mail", "password"))


class ConfigError(ValueError):
    """A configuration value is missing, unknown or invalid; the message names the key."""


@dataclass(frozen=True)
class Key:
    type: type | tuple[type, ...]
    default: Any
    check: Callable[[Any], str | None] | None = None


def _one_of(*choices: str) -> Callable[[Any], str | None]:
    return lambda v: None if v in choices else f"must be one of {', '.join(choices)}"


def _positive(v: Any) -> str | None:
    return None if v > 0 else "must be positive"


def _hhmm_list(v: list[Any]) -> str | None:
    ok = v and all(isinstance(t, str) and re.fullmatch(r"([01]\d|2[0-3]):[0-5]\d", t) for t in v)
    return None if ok else 'must be a non-empty list of "HH:MM" times'


# Keys that existed once and were removed, with what replaces them: a file still holding one
# is refused with this hint rather than a bare "unknown key".
REMOVED_KEYS = {
    "app.timezone": "the time zone is fixed (Paris, see outreach/timezone.py): delete the line",
}

# Section -> key -> declaration. Dotted names ("app.secret_key") are used in messages.
SCHEMA: dict[str, dict[str, Key]] = {
    "app": {
        "env": Key(str, "development", _one_of("development", "production", "testing")),
        "secret_key": Key(str, DEFAULT_SECRET_KEY),
        "default_locale": Key(str, "fr"),
        "instance_path": Key(str, "instance"),
        "page_size": Key(int, 50, _positive),
        "login_rate_limit": Key(str, "10 per minute"),
        "ratelimit_storage_uri": Key(str, "memory://"),
        # Reverse proxies in front of the app whose X-Forwarded-* headers are trusted
        # (0: none). Needed behind nginx so rate limits see the client, not the proxy.
        "proxy_count": Key(int, 0),
    },
    "database": {
        # Empty means an SQLite file under the instance folder.
        "url": Key(str, ""),
        "echo": Key(bool, False),
    },
    "roster": {
        "default_region": Key(str, "FR"),
        # Extra header spellings: canonical field -> list of accepted headers.
        "headers": Key(dict, {}),
        "import_batch_size": Key(int, 1000, _positive),
        "max_upload_mb": Key(int, 50, _positive),
        # Caps on what a file may hold, checked while reading (hostile or broken files).
        "max_rows": Key(int, 200_000, _positive),
        "max_columns": Key(int, 100, _positive),
        "max_cell_chars": Key(int, 1000, _positive),
        # XLSX: the most the archive may decompress to (declared sizes, checked first).
        "max_unzipped_mb": Key(int, 200, _positive),
    },
    "queue": {
        # A claimed senior returns to the queue after this many minutes without an outcome.
        "claim_minutes": Key(int, 20, _positive),
        # An outcome recorded sooner than this after the claim is refused: two presses of
        # Enter right after taking a senior must not record a call that was never made.
        "min_call_seconds": Key(int, 10),
        # The author of an outcome may correct it for this long (a manager at any time).
        "correction_minutes": Key(int, 30, _positive),
    },
    "scheduler": {
        # How often a standby scheduler retries to take the lead.
        "standby_poll_seconds": Key((int, float), 5, _positive),
        # `outreach serve` also runs the scheduler in a thread (the one-command demo).
        "run_in_serve": Key(bool, True),
    },
    "telephony": {
        "backend": Key(str, "simulator", _one_of("simulator", "twilio")),
        "account_sid": Key(str, ""),
        "auth_token": Key(str, ""),
        "api_base_url": Key(str, "https://api.twilio.com"),
        "public_base_url": Key(str, "http://127.0.0.1:5000"),
        "caller_id": Key(str, ""),
        "sms_sender": Key(str, "OUTREACH"),
        "voice": Key(str, "Polly.Lea"),
        "calls_per_second": Key((int, float), 1, _positive),
        "sms_per_second": Key((int, float), 1, _positive),
        # What an answering machine or fax hears: a short message, or nothing (hang up).
        "machine_action": Key(str, "message", _one_of("message", "hangup")),
        "request_timeout_seconds": Key((int, float), 10, _positive),
        # Tries of one request when the gateway answers 429/5xx or cannot be reached.
        "request_tries": Key(int, 3, _positive),
        # Gateway failing for longer than this: the day's IVR tasks of ivr_then_staff
        # campaigns go to the staff queue and the managers are told.
        "failover_minutes": Key(int, 30, _positive),
        # A dispatcher run stops after this long (the next run goes on).
        "dispatch_max_seconds": Key((int, float), 50, _positive),
        # A call with no final status after this long is looked up at the gateway.
        "stale_call_minutes": Key(int, 20, _positive),
        # Named Twilio accounts, [telephony.accounts.<name>] (issue 12): checked and read by
        # outreach/telephony/accounts.py; secrets from TWILIO_ACCOUNT_SID_<NAME> and
        # TWILIO_AUTH_TOKEN_<NAME>.
        "accounts": Key(dict, {}),
    },
    "escalation": {
        # Which signal severities open an alert (an urgent one: urgent; a concern: concern).
        "signal_severities": Key(list, ["urgent", "concern"]),
        # A canicule senior still unreached after the day's last attempt: urgent alert.
        "canicule_unreached": Key(bool, True),
        # A courtesy senior unreached on this many cycles in a row: concern (0: never).
        "courtesy_unreached_cycles": Key(int, 3),
        # Dispositions that tell the referent of a life event (info alert).
        "life_event_dispositions": Key(list, ["deceased", "absent"]),
        # Due times by severity.
        "urgent_due_minutes": Key(int, 60, _positive),
        "concern_due_working_days": Key(int, 2, _positive),
        "info_due_days": Key(int, 7, _positive),
        # Past its due time an alert is recalled to its referent; this long after its due
        # time, to the organisation's managers too.
        "escalate_urgent_minutes": Key(int, 60, _positive),
        "escalate_other_hours": Key(int, 24, _positive),
        # Hour (Paris time) of the morning digest sent to each social worker.
        "digest_hour": Key(int, 8),
        # Courtesy cadence of a senior in reinforced follow-up, in days.
        "reinforced_every_days": Key(int, 7, _positive),
    },
    "canicule": {
        # After the day's last automated attempt (and the SMS to her mobile), her first
        # emergency contact with a phone is "call"ed, texted ("sms"), both ("call_and_sms":
        # the SMS when the call brings no answer) or not at all ("none") (telephony.contacts).
        "contact_policy": Key(str, "call", _one_of("call", "sms", "call_and_sms", "none")),
        # Minutes after that SMS to her, to let her answer, before her contact is called.
        "contact_after_minutes": Key(int, 30),
        # Minutes a contact has to reply to the SMS before the alert (the call window's end
        # comes first when sooner).
        "contact_reply_minutes": Key(int, 60, _positive),
    },
    "reports": {
        # The weekly e-mail of the figures to each manager (off unless asked for), on this
        # weekday (0: Monday) at this hour, Paris time.
        "weekly_digest": Key(bool, False),
        "digest_weekday": Key(int, 0),
        "digest_hour": Key(int, 8),
        # Days after a month's end before its rollups are trusted (reports.rollups).
        "rollup_settle_days": Key(int, 7),
    },
    "inbound": {
        # A call received in office hours goes through to the on-duty phone (telephony.inbound).
        "forward_to_on_duty": Key(bool, False),
        # Weekday -> [["09:00", "17:00"]], Paris time, like a call window; holidays closed.
        "office_hours": Key(
            dict, {d: [["09:00", "17:00"]] for d in ("mon", "tue", "wed", "thu", "fri")}
        ),
        "dial_timeout_seconds": Key(int, 20, _positive),
    },
    "retention": {
        # How long personal data is kept (README, "Retention"); privacy.retention applies it
        # every night.
        "notes_months": Key(int, 24, _positive),
        "details_months": Key(int, 36, _positive),
        "departed_months": Key(int, 12, _positive),
        "payload_days": Key(int, 30, _positive),
        "audit_years": Key(int, 5, _positive),
        # Calls received that a person had to return (telephony.inbound): the caller's number.
        "inbound_calls_months": Key(int, 12, _positive),
    },
    "mail": {
        "backend": Key(str, "console", _one_of("console", "smtp")),
        "sender": Key(str, "outreach@localhost"),
        "host": Key(str, "localhost"),
        "port": Key(int, 587, _positive),
        "username": Key(str, ""),
        "password": Key(str, ""),
        "starttls": Key(bool, True),
        "timeout_seconds": Key((int, float), 10, _positive),
    },
    "privacy": {
        # The landlord's data protection officer, named in the record of processing and in
        # the notice given to seniors (empty: the documents say "à compléter").
        "dpo_name": Key(str, ""),
        "dpo_email": Key(str, ""),
        "dpo_address": Key(str, ""),
        # Who hosts the service (a processor in the record of processing).
        "hosting_provider": Key(str, ""),
        # After an erasure, how long to wait for transactions that may still see her old rows
        # (PostgreSQL keeps them while any transaction of the cluster is older) before the
        # rewrite of the files is put off to the night.
        "compact_wait_seconds": Key((int, float), 10, _positive),
    },
    "vigilance": {
        # Météo-France's DPVigilance API (the key from METEOFRANCE_API_KEY; without one the
        # vigilance job does nothing). The demo points it at the stand-in (vigilance.standin).
        "api_base_url": Key(str, "https://public-api.meteofrance.fr/public/DPVigilance/v1"),
        "api_key": Key(str, ""),
        # Canicule colour from which managers get a proposal: 2 jaune, 3 orange, 4 rouge.
        "threshold": Key(int, 3, lambda v: None if 2 <= v <= 4 else "must be 2, 3 or 4"),
        # Paris times after Météo-France's updates (6h, 16h), and every hour in between.
        "poll_times": Key(list, ["06:10", "16:10"], _hhmm_list),
        "hourly": Key(bool, True),
        # The channel pre-filled in a proposal (and used by auto_activate).
        "channel": Key(str, "ivr_then_staff", _one_of("staff", "ivr", "sms", "ivr_then_staff")),
        "request_timeout_seconds": Key((int, float), 10, _positive),
        # Days a stored map is kept (the bilan of a season needs its maps; older ones go).
        "keep_days": Key(int, 400, _positive),
        # Serve recorded maps at /_standin/vigilance/<name> (demo, tests); never in production.
        "standin": Key(bool, False),
    },
    "simulator": {
        # Port of the embedded Twilio-compatible simulator (`outreach serve` starts it).
        "port": Key(int, 5055),
        "account_sid": Key(str, SIMULATOR_ACCOUNT_SID),
        "auth_token": Key(str, SIMULATOR_AUTH_TOKEN),
        # 0: a different random run each time; any other value replays the same run.
        "seed": Key(int, 0),
        # What a called senior does (weights, normalised).
        "answer_weights": Key(
            dict, {"human": 60, "no-answer": 15, "busy": 10, "machine": 12, "fax": 3}
        ),
        # What a senior who answered presses ("none": nothing, the menu is repeated).
        "digit_weights": Key(dict, {"1": 70, "2": 15, "3": 5, "none": 10}),
        # How a senior replies to an SMS ("none": no reply).
        "reply_weights": Key(
            dict, {"OK": 55, "AIDE": 10, "STOP": 5, "Merci, bonne journée": 5, "none": 25}
        ),
        # Seconds of ringing, of talk, and before an SMS reply.
        "ring_seconds": Key((int, float), 2),
        "talk_seconds": Key((int, float), 4),
        "reply_seconds": Key((int, float), 6),
    },
}

# Environment variables that may carry a value, with the key they set.
ENV_OVERRIDES = {
    "DATABASE_URL": ("database", "url"),
    "SECRET_KEY": ("app", "secret_key"),
    "TWILIO_ACCOUNT_SID": ("telephony", "account_sid"),
    "TWILIO_AUTH_TOKEN": ("telephony", "auth_token"),
    "SMTP_PASSWORD": ("mail", "password"),
    "METEOFRANCE_API_KEY": ("vigilance", "api_key"),
}


def _defaults() -> dict[str, dict[str, Any]]:
    return {s: {k: decl.default for k, decl in keys.items()} for s, keys in SCHEMA.items()}


def _merge(target: dict[str, dict[str, Any]], source: Mapping[str, Any], origin: str) -> None:
    for section, values in source.items():
        if section not in SCHEMA:
            raise ConfigError(f"{origin}: unknown section [{section}]")
        if not isinstance(values, Mapping):
            raise ConfigError(f"{origin}: [{section}] must be a table")
        for key, value in values.items():
            decl = SCHEMA[section].get(key)
            name = f"{section}.{key}"
            if decl is None and name in REMOVED_KEYS:
                raise ConfigError(f"{origin}: {name} was removed; {REMOVED_KEYS[name]}")
            if decl is None:
                raise ConfigError(f"{origin}: unknown key {name}")
            # bool is an int in Python; refuse it where a number is expected.
            if (isinstance(value, bool) and decl.type is not bool) or not isinstance(
                value, decl.type
            ):
                raise ConfigError(f"{origin}: {name} has the wrong type ({type(value).__name__})")
            if decl.check and (problem := decl.check(value)):
                raise ConfigError(f"{origin}: {name} {problem}")
            target[section][key] = value


def load_config(
    override: Mapping[str, Any] | None = None, environ: Mapping[str, str] | None = None
) -> dict[str, dict[str, Any]]:
    """Build the configuration: defaults, then the TOML file, then environment, then override.

    ``override`` is a nested mapping like the TOML file (tests use it to choose fakes).
    """
    environ = os.environ if environ is None else environ
    config = _defaults()
    path = environ.get("OUTREACH_CONFIG")
    if path:
        try:
            with Path(path).open("rb") as fh:
                data = tomllib.load(fh)
        except OSError as exc:
            raise ConfigError(f"OUTREACH_CONFIG: cannot read {path}: {exc.strerror}") from exc
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"OUTREACH_CONFIG: {path} is not valid TOML: {exc}") from exc
        _merge(config, data, path)
    for var, (section, key) in ENV_OVERRIDES.items():
        if environ.get(var):
            config[section][key] = environ[var]
    if override:
        _merge(config, override, "override")
    from outreach.telephony import accounts

    accounts.apply_env(config, environ)
    validate(config)
    return config


def validate(config: dict[str, dict[str, Any]]) -> None:
    """Cross-key checks that a single key's declaration cannot express."""
    app = config["app"]
    if app["env"] == "production" and app["secret_key"] == DEFAULT_SECRET_KEY:
        raise ConfigError(
            "app.secret_key: production refuses the default secret key; "
            "set SECRET_KEY or app.secret_key"
        )
    if app["env"] == "production":
        _validate_secret_key(app["secret_key"])
    if app["env"] == "production":
        _validate_production(config)
    _validate_telephony(config)
    if config["vigilance"]["standin"] and app["env"] == "production":
        raise ConfigError("vigilance.standin: the recorded maps are never served in production")
    esc = config["escalation"]
    if not set(esc["signal_severities"]) <= {"urgent", "concern"}:
        raise ConfigError('escalation.signal_severities: only "urgent" and "concern"')
    from outreach.calls.models import Disposition

    unknown = set(esc["life_event_dispositions"]) - {d.value for d in Disposition}
    if unknown:
        raise ConfigError(f"escalation.life_event_dispositions: unknown {sorted(unknown)[0]!r}")
    if not 0 <= esc["digest_hour"] <= 23:
        raise ConfigError("escalation.digest_hour must be between 0 and 23")
    if not 0 <= config["reports"]["digest_weekday"] <= 6:
        raise ConfigError("reports.digest_weekday must be between 0 (Monday) and 6 (Sunday)")
    if not 0 <= config["reports"]["digest_hour"] <= 23:
        raise ConfigError("reports.digest_hour must be between 0 and 23")
    if config["reports"]["rollup_settle_days"] < 0:
        raise ConfigError("reports.rollup_settle_days must be 0 or more")
    from outreach.campaigns.schedule import parse_window

    try:
        parse_window(config["inbound"]["office_hours"])
    except (ValueError, TypeError) as exc:
        raise ConfigError(f"inbound.office_hours: {exc}") from exc
    if esc["courtesy_unreached_cycles"] < 0:
        raise ConfigError("escalation.courtesy_unreached_cycles must be 0 or more")
    for field, headers in config["roster"]["headers"].items():
        if not isinstance(headers, list) or not all(isinstance(h, str) for h in headers):
            raise ConfigError(f"roster.headers.{field} must be a list of header names")
    from outreach.roster.readers import FatalImportError, header_lookup

    try:
        header_lookup(config["roster"]["headers"])
    except FatalImportError as exc:
        raise ConfigError(f"roster.headers: {exc}") from exc


def _validate_secret_key(key: str) -> None:
    """A session key must be hard to guess: long once spaces are ignored (a value of spaces,
    or padded with them, passes a bare length check), and not one character repeated."""
    if len(key.strip()) < 32:
        raise ConfigError(
            "app.secret_key: must be at least 32 characters in production, spaces around it "
            'not counted (python -c "import secrets; print(secrets.token_hex(32))")'
        )
    if len(set(key)) < 8:
        raise ConfigError("app.secret_key: too few different characters to be a secret")


def _validate_production(config: dict[str, dict[str, Any]]) -> None:
    """Production never runs on the demo's stand-ins: the simulator cannot place a real call
    (every automated call would "succeed" without ringing anyone), and a published secret
    lets anyone sign webhooks (invent a senior's answer) or sessions."""
    secrets = [(f"{section}.{key}", config[section][key]) for section, key in SECRET_KEYS]
    # Each named Twilio account's token too: it signs that account's webhooks.
    secrets += [
        (f"telephony.accounts.{name}.auth_token", table.get("auth_token"))
        for name, table in config["telephony"]["accounts"].items()
        if isinstance(table, Mapping)
    ]
    for name, value in secrets:
        if value in PUBLISHED_SECRETS:
            raise ConfigError(
                f"{name}: production refuses a value published with outreach "
                "(a default, the example file or the tests); set a secret of your own"
            )
    if config["telephony"]["backend"] == "simulator":
        raise ConfigError(
            'telephony.backend: production refuses the simulator; set backend = "twilio" '
            "(the simulator calls no one and would report outcomes that never happened)"
        )


def _validate_telephony(config: dict[str, dict[str, Any]]) -> None:
    from outreach.roster.phones import InvalidPhone, is_mobile, normalise_phone

    tel = config["telephony"]
    if tel["caller_id"]:
        try:
            number = normalise_phone(tel["caller_id"])
        except InvalidPhone as exc:
            raise ConfigError(f"telephony.caller_id: not a valid number ({exc})") from exc
        if is_mobile(number):
            raise ConfigError(
                "telephony.caller_id: automated calls may not present an 06/07 mobile number "
                "in France; use a number meant for it (09 or a dedicated range)"
            )
    elif tel["backend"] == "twilio":
        raise ConfigError("telephony.caller_id: required with the twilio backend")
    sender = tel["sms_sender"]
    if not sender:
        raise ConfigError("telephony.sms_sender: required")
    if any(c.isalpha() for c in sender):
        if len(sender) > 11 or not all(c.isascii() and (c.isalnum() or c == " ") for c in sender):
            raise ConfigError(
                "telephony.sms_sender: an alphanumeric sender has at most 11 characters, "
                "letters, digits and spaces only"
            )
    else:
        try:
            number = normalise_phone(sender)
        except InvalidPhone as exc:
            raise ConfigError(f"telephony.sms_sender: not a valid number ({exc})") from exc
        if is_mobile(number):
            raise ConfigError(
                "telephony.sms_sender: application SMS from an 06/07 number are blocked "
                "by French operators; use an alphanumeric sender or a short code"
            )
    if tel["backend"] == "twilio" and not (tel["account_sid"] and tel["auth_token"]):
        raise ConfigError(
            "telephony: the twilio backend needs TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN"
        )
    from outreach.telephony import accounts

    if problem := accounts.validate(config):
        raise ConfigError(problem)
    for key in ("answer_weights", "digit_weights", "reply_weights"):
        weights = config["simulator"][key]
        if not weights or not all(
            isinstance(w, (int, float)) and not isinstance(w, bool) and w >= 0
            for w in weights.values()
        ):
            raise ConfigError(f"simulator.{key}: weights must be numbers, zero or more")
        if sum(weights.values()) <= 0:
            raise ConfigError(f"simulator.{key}: at least one weight must be positive")
    for key, allowed in (
        ("answer_weights", {"human", "no-answer", "busy", "machine", "fax", "failed"}),
        ("digit_weights", {"1", "2", "3", "none"}),
    ):
        unknown = set(config["simulator"][key]) - allowed
        if unknown:
            raise ConfigError(f"simulator.{key}: unknown outcome {sorted(unknown)[0]!r}")


def database_url(config: dict[str, dict[str, Any]]) -> str:
    """The SQLAlchemy URL: the configured one, else an SQLite file in the instance folder."""
    url = config["database"]["url"]
    if url:
        # Accept the plain scheme most hosts hand out and use psycopg 3 for it.
        if url.startswith("postgres://"):
            url = "postgresql+psycopg://" + url[len("postgres://") :]
        elif url.startswith("postgresql://"):
            url = "postgresql+psycopg://" + url[len("postgresql://") :]
        return url
    instance = Path(config["app"]["instance_path"]).resolve()
    instance.mkdir(parents=True, exist_ok=True)
    return f"sqlite:///{instance / 'outreach.sqlite3'}"
