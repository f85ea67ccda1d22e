"""Configuration: defaults, a TOML file named by OUTREACH_CONFIG, environment overrides.

Every key is declared once in ``SCHEMA`` with its type and default; ``config.example.toml``
documents the same keys. An unknown key or a value of the wrong type stops the start with a
message naming the key, because a typo in a production file must not silently fall back to a
default (a wrong call window or rate limit would go unnoticed until it hurts someone).
"""

from __future__ import annotations

import os
import tomllib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

DEFAULT_SECRET_KEY = "dev-only-change-me"


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


# Section -> key -> declaration. Dotted names ("app.secret_key") are used in messages.
SCHEMA: dict[str, dict[str, Key]] = {
    "app": {
        "env": Key(str, "development", _one_of("development", "production", "testing")),
        "secret_key": Key(str, DEFAULT_SECRET_KEY),
        "default_locale": Key(str, "fr"),
        "timezone": Key(str, "Europe/Paris"),
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
    },
    "queue": {
        # A claimed senior returns to the queue after this many minutes without an outcome.
        "claim_minutes": Key(int, 20, _positive),
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
    },
}

# Environment variables that may carry a value, with the key they set.
ENV_OVERRIDES = {
    "DATABASE_URL": ("database", "url"),
    "SECRET_KEY": ("app", "secret_key"),
    "TWILIO_ACCOUNT_SID": ("telephony", "account_sid"),
    "TWILIO_AUTH_TOKEN": ("telephony", "auth_token"),
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
    if app["env"] == "production" and len(app["secret_key"]) < 32:
        raise ConfigError("app.secret_key: must be at least 32 characters in production")
    for field, headers in config["roster"]["headers"].items():
        if not isinstance(headers, list) or not all(isinstance(h, str) for h in headers):
            raise ConfigError(f"roster.headers.{field} must be a list of header names")
    from outreach.roster.readers import FatalImportError, header_lookup

    try:
        header_lookup(config["roster"]["headers"])
    except FatalImportError as exc:
        raise ConfigError(f"roster.headers: {exc}") from exc


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
