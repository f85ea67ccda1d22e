"""outreach: telephone and SMS outreach for isolated seniors in social housing."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask


def create_app(config_override: Mapping[str, Any] | None = None) -> Flask:
    """Build the web application.

    ``config_override`` is a nested mapping shaped like the TOML file; tests use it to pick
    the database and fakes by configuration rather than by patching.
    """
    from outreach import db
    from outreach.config import database_url, load_config
    from outreach.web import init_web

    config = load_config(config_override)
    app = Flask(__name__, template_folder="web/templates", static_folder="web/static")
    app.config["OUTREACH"] = config
    app.config["SECRET_KEY"] = config["app"]["secret_key"]
    app.config["TESTING"] = config["app"]["env"] == "testing"
    app.config["MAX_CONTENT_LENGTH"] = config["roster"]["max_upload_mb"] * 1024 * 1024
    production = config["app"]["env"] == "production"
    app.config.update(
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
        SESSION_COOKIE_SECURE=production,
        REMEMBER_COOKIE_SECURE=production,
        REMEMBER_COOKIE_HTTPONLY=True,
    )
    if config["app"]["proxy_count"] > 0:
        from werkzeug.middleware.proxy_fix import ProxyFix

        n = config["app"]["proxy_count"]
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=n, x_proto=n, x_host=n)  # type: ignore[method-assign]
    db.init_app(app, database_url(config), config["database"]["echo"])
    init_web(app)
    from outreach.web.webhooks import mount_webhooks

    mount_webhooks(app)

    from outreach.cli import register_flask_cli

    register_flask_cli(app)
    return app
