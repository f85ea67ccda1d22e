"""Configuration: the documented example, defaults, environment overrides and refusals.

Pure tests: ``load_config(override, environ={...})`` never reads the real environment.
"""

import tomllib
from pathlib import Path

import pytest

from outreach import create_app
from outreach.config import (
    DEFAULT_SECRET_KEY,
    ENV_OVERRIDES,
    SCHEMA,
    ConfigError,
    database_url,
    load_config,
)

EXAMPLE = Path(__file__).resolve().parent.parent / "config.example.toml"
# Long and varied: production refuses a key of one repeated character (web/test_sessions.py).
LONG_SECRET = "0123456789abcdef" * 3
# What production needs besides its secret: the real gateway, with credentials of its own.
PRODUCTION_TELEPHONY = {
    "backend": "twilio",
    "caller_id": "+33970000000",
    "account_sid": "AC" + "5" * 32,
    "auth_token": "a-token-of-our-own",
}


def _keys(tree: dict) -> set[str]:
    return {f"{section}.{key}" for section, keys in tree.items() for key in keys}


def test_example_loads_and_gives_the_defaults():
    from_example = load_config(environ={"OUTREACH_CONFIG": str(EXAMPLE)})
    assert from_example == load_config(environ={})
    for section, keys in SCHEMA.items():
        for key, decl in keys.items():
            assert from_example[section][key] == decl.default, f"{section}.{key}"


def test_example_documents_every_key_and_only_those():
    with EXAMPLE.open("rb") as fh:
        example = tomllib.load(fh)
    assert set(example) == set(SCHEMA)
    documented, declared = _keys(example), _keys(SCHEMA)
    assert declared - documented == set(), "keys missing from config.example.toml"
    assert documented - declared == set(), "keys in config.example.toml that do not exist"
    # Every key carries a comment (the line above it or the block above it).
    lines = EXAMPLE.read_text(encoding="utf-8").splitlines()
    for i, line in enumerate(lines):
        if "=" in line and not line.lstrip().startswith("#") and not line.startswith("["):
            above = lines[i - 1].strip()
            assert above.startswith("#") or "=" in above, f"no comment above: {line}"


def test_example_mentions_every_environment_override():
    text = EXAMPLE.read_text(encoding="utf-8")
    for var in ENV_OVERRIDES:
        assert var in text


@pytest.mark.parametrize(
    ("override", "name"),
    [
        ({"apps": {"env": "production"}}, "[apps]"),
        ({"app": {"secret": "x"}}, "app.secret"),
        ({"telephony": {"calls_per_sec": 2}}, "telephony.calls_per_sec"),
    ],
)
def test_unknown_section_or_key_is_refused(override, name):
    with pytest.raises(ConfigError, match="unknown") as err:
        load_config(override, environ={})
    assert name in str(err.value)


@pytest.mark.parametrize(
    ("override", "name"),
    [
        ({"telephony": {"calls_per_second": "fast"}}, "telephony.calls_per_second"),
        ({"app": {"page_size": True}}, "app.page_size"),
        ({"database": {"echo": "yes"}}, "database.echo"),
        ({"roster": {"headers": ["Nom"]}}, "roster.headers"),
        ({"app": {"default_locale": 1}}, "app.default_locale"),
    ],
)
def test_wrong_type_is_refused(override, name):
    with pytest.raises(ConfigError, match="wrong type") as err:
        load_config(override, environ={})
    assert name in str(err.value)


@pytest.mark.parametrize(
    ("override", "name"),
    [
        ({"app": {"env": "staging"}}, "app.env"),
        ({"app": {"page_size": 0}}, "app.page_size"),
        ({"telephony": {"calls_per_second": -1}}, "telephony.calls_per_second"),
        ({"telephony": {"backend": "plivo"}}, "telephony.backend"),
        ({"roster": {"headers": {"last_name": "Nom"}}}, "roster.headers.last_name"),
    ],
)
def test_invalid_value_is_refused(override, name):
    with pytest.raises(ConfigError) as err:
        load_config(override, environ={})
    assert name in str(err.value)


def test_the_removed_timezone_key_is_refused_with_a_hint(tmp_path):
    # The zone is a constant (outreach/timezone.py): a file copied from an older example
    # must say what to do, not just "unknown key".
    path = tmp_path / "outreach.toml"
    path.write_text('[app]\ntimezone = "Europe/Paris"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="app.timezone was removed.*delete the line"):
        load_config(environ={"OUTREACH_CONFIG": str(path)})


def test_the_same_checks_apply_to_the_file(tmp_path):
    path = tmp_path / "outreach.toml"
    path.write_text('[telephony]\ncalls_per_second = "fast"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_config(environ={"OUTREACH_CONFIG": str(path)})
    assert str(path) in str(err.value) and "telephony.calls_per_second" in str(err.value)


def test_a_float_rate_and_extra_headers_are_accepted():
    override = {
        "telephony": {"calls_per_second": 2.5},
        "roster": {"headers": {"phone_mobile": ["Tél 2"]}},
    }
    config = load_config(override, environ={})
    assert config["telephony"]["calls_per_second"] == 2.5
    assert config["roster"]["headers"] == {"phone_mobile": ["Tél 2"]}


def test_production_refuses_the_default_secret_key(monkeypatch):
    for var in ("OUTREACH_CONFIG", *ENV_OVERRIDES):
        monkeypatch.delenv(var, raising=False)
    with pytest.raises(ConfigError, match=r"app\.secret_key"):
        create_app({"app": {"env": "production"}})
    with pytest.raises(ConfigError, match=r"app\.secret_key"):
        load_config({"app": {"env": "production", "secret_key": "short"}}, environ={})
    config = load_config(
        {
            "app": {"env": "production", "secret_key": LONG_SECRET},
            "telephony": PRODUCTION_TELEPHONY,
        },
        environ={},
    )
    assert config["app"]["secret_key"] == LONG_SECRET
    # The default key stays acceptable outside production (the demo, the tests).
    assert load_config(environ={})["app"]["secret_key"] == DEFAULT_SECRET_KEY


def test_environment_overrides_apply_over_the_file(tmp_path):
    path = tmp_path / "outreach.toml"
    path.write_text(
        '[app]\nsecret_key = "from-the-file"\n[telephony]\naccount_sid = "ACfile"\n',
        encoding="utf-8",
    )
    environ = {
        "OUTREACH_CONFIG": str(path),
        "DATABASE_URL": "postgresql://u:p@db/outreach",
        "SECRET_KEY": "from-the-environment",
        "TWILIO_ACCOUNT_SID": "ACenv",
        "TWILIO_AUTH_TOKEN": "token-env",
    }
    config = load_config(environ=environ)
    assert config["database"]["url"] == "postgresql://u:p@db/outreach"
    assert config["app"]["secret_key"] == "from-the-environment"
    assert config["telephony"]["account_sid"] == "ACenv"
    assert config["telephony"]["auth_token"] == "token-env"
    # An empty variable does not wipe a value from the file.
    config = load_config(environ={"OUTREACH_CONFIG": str(path), "SECRET_KEY": ""})
    assert config["app"]["secret_key"] == "from-the-file"


def test_a_production_secret_may_come_from_the_environment():
    config = load_config(
        {"app": {"env": "production"}, "telephony": PRODUCTION_TELEPHONY},
        environ={"SECRET_KEY": LONG_SECRET},
    )
    assert config["app"]["secret_key"] == LONG_SECRET


def test_production_refuses_the_simulator_backend():
    with pytest.raises(ConfigError, match=r"^telephony\.backend: production refuses the simulator"):
        load_config({"app": {"env": "production", "secret_key": LONG_SECRET}}, environ={})
    # Outside production the simulator stays the default (the demo, the tests).
    assert load_config(environ={})["telephony"]["backend"] == "simulator"


@pytest.mark.parametrize(
    ("override", "environ", "key"),
    [
        # The simulator's token, published in config.example.toml, as the Twilio token.
        ({"telephony": {"auth_token": "simulator-auth-token"}}, {}, "telephony.auth_token"),
        ({}, {"TWILIO_AUTH_TOKEN": "simulator-auth-token"}, "telephony.auth_token"),
        # The test suite's secret key, published with it, as the SMTP password.
        ({"mail": {"password": "test-secret-key"}}, {}, "mail.password"),
    ],
)
def test_production_refuses_published_secrets(override, environ, key):
    config = {
        "app": {"env": "production", "secret_key": LONG_SECRET},
        "telephony": dict(PRODUCTION_TELEPHONY),
    }
    for section, values in override.items():
        config[section] = {**config.get(section, {}), **values}
    if environ:
        del config["telephony"]["auth_token"]
    with pytest.raises(ConfigError) as err:
        load_config(config, environ=environ)
    assert str(err.value).startswith(f"{key}: production refuses a value published")
    # The same values are fine outside production.
    config["app"]["env"] = "development"
    load_config(config, environ=environ)


def test_the_simulator_never_starts_in_production():
    from outreach.telephony.simulator import SimulatorServer

    config = load_config(
        {
            "app": {"env": "production", "secret_key": LONG_SECRET},
            "telephony": PRODUCTION_TELEPHONY,
            "simulator": {"port": 0},
        },
        environ={},
    )
    with pytest.raises(ConfigError, match="simulator never runs in production"):
        SimulatorServer(config, "https://outreach.example.org")
    config["app"]["env"] = "development"
    server = SimulatorServer(config, "https://outreach.example.org").start()
    server.stop()


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        ("postgres://u:p@db:5432/outreach", "postgresql+psycopg://u:p@db:5432/outreach"),
        ("postgresql://u@db/outreach", "postgresql+psycopg://u@db/outreach"),
        ("postgresql+psycopg://u@db/outreach", "postgresql+psycopg://u@db/outreach"),
    ],
)
def test_postgres_urls_use_psycopg(url, expected):
    assert database_url(load_config(environ={"DATABASE_URL": url})) == expected


def test_empty_url_means_sqlite_in_the_instance_folder(tmp_path):
    instance = tmp_path / "inst"
    url = database_url(load_config({"app": {"instance_path": str(instance)}}, environ={}))
    assert url == f"sqlite:///{instance.resolve() / 'outreach.sqlite3'}"
    assert instance.is_dir()


def test_unreadable_file_is_named(tmp_path):
    missing = tmp_path / "nowhere.toml"
    with pytest.raises(ConfigError) as err:
        load_config(environ={"OUTREACH_CONFIG": str(missing)})
    assert str(missing) in str(err.value) and "cannot read" in str(err.value)


def test_invalid_toml_is_named(tmp_path):
    path = tmp_path / "broken.toml"
    path.write_text("[app\nenv = production\n", encoding="utf-8")
    with pytest.raises(ConfigError) as err:
        load_config(environ={"OUTREACH_CONFIG": str(path)})
    assert str(path) in str(err.value) and "not valid TOML" in str(err.value)


def test_the_cli_reports_a_configuration_error(tmp_path, monkeypatch, capsys):
    from outreach.cli import _create_app_for_cli

    path = tmp_path / "outreach.toml"
    path.write_text("[app]\npage_sise = 10\n", encoding="utf-8")
    monkeypatch.setenv("OUTREACH_CONFIG", str(path))
    with pytest.raises(SystemExit) as exit_:
        _create_app_for_cli()
    assert exit_.value.code == 2
    assert "app.page_sise" in capsys.readouterr().err


def test_unknown_field_in_roster_headers_is_refused_at_start():
    from outreach.config import ConfigError, load_config

    with pytest.raises(ConfigError, match="roster.headers"):
        load_config({"roster": {"headers": {"no_such_field": ["X"]}}}, environ={})


def test_proxy_count_makes_the_app_read_the_forwarded_client(tmp_path):
    from flask import request

    from outreach import create_app

    url = f"sqlite:///{tmp_path / 'p.sqlite3'}"
    environ = {"REMOTE_ADDR": "127.0.0.1", "HTTP_X_FORWARDED_FOR": "203.0.113.7"}
    seen = []
    for count in (0, 1):
        app = create_app(
            {"app": {"env": "testing", "proxy_count": count}, "database": {"url": url}}
        )
        app.before_request(lambda: seen.append(request.remote_addr))
        assert app.test_client().get("/health", environ_base=environ).status_code == 200
    assert seen == ["127.0.0.1", "203.0.113.7"]
