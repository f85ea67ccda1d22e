"""HTTP layer: blueprints, templates and static files. Handlers parse, call, render."""

from __future__ import annotations

from flask import Flask, g, redirect, request, url_for
from flask_login import current_user

from outreach import db
from outreach.timezone import PARIS
from outreach.web import converters
from outreach.web.extensions import babel, csrf, limiter, login_manager

# Endpoints reachable without a login; everything else requires one.
PUBLIC_ENDPOINTS = frozenset({"auth.login", "static", "health"})


def init_web(app: Flask) -> None:
    config = app.config["OUTREACH"]
    app.config["BABEL_DEFAULT_LOCALE"] = config["app"]["default_locale"]
    app.config["BABEL_DEFAULT_TIMEZONE"] = PARIS.key
    app.config["RATELIMIT_STORAGE_URI"] = config["app"]["ratelimit_storage_uri"]
    app.config["RATELIMIT_HEADERS_ENABLED"] = False

    # The int converter and the NUL-byte check come first: before any rule, before the login.
    converters.register(app)

    # Registered before CSRFProtect so that an anonymous request is sent to the login page
    # whatever its method.
    @app.before_request
    def _require_login():
        # Deny by default: a new endpoint is private unless listed in PUBLIC_ENDPOINTS.
        if request.endpoint in PUBLIC_ENDPOINTS or current_user.is_authenticated:
            return None
        if request.endpoint is None:
            return None  # 404 handled by Flask
        return redirect(url_for("auth.login", next=request.full_path))

    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = "Veuillez vous connecter pour accéder à cette page."
    login_manager.session_protection = "strong"
    csrf.init_app(app)
    babel.init_app(app)
    limiter.init_app(app)

    from outreach.web import (
        alerts,
        audit,
        auth,
        calls,
        campaigns,
        canicule_board,
        corrections,
        doorknock,
        history,
        on_duty,
        partners,
        privacy,
        privacy_docs,
        queue,
        reports,
        roster,
        views,
    )
    from outreach.web.errors import register_error_handlers
    from outreach.web.filters import register_filters

    app.register_blueprint(auth.bp)
    app.register_blueprint(views.bp)
    app.register_blueprint(roster.bp)
    app.register_blueprint(queue.bp)
    app.register_blueprint(calls.bp)
    history.register()  # the senior page's history providers
    app.register_blueprint(campaigns.bp)
    app.register_blueprint(canicule_board.bp)  # the canicule board and bilan
    app.register_blueprint(partners.bp)
    app.register_blueprint(alerts.bp)
    app.register_blueprint(on_duty.bp)
    app.register_blueprint(corrections.bp)
    app.register_blueprint(audit.bp)
    app.register_blueprint(privacy_docs.bp)
    app.register_blueprint(privacy.bp)  # the senior's rights: export, erasure
    app.register_blueprint(reports.bp)  # figures of a period as files (issue 11)
    app.register_blueprint(doorknock.bp)  # passages à domicile, proximity staff (issue 12)
    from outreach.web import readiness

    app.register_blueprint(readiness.bp)  # the canicule pre-season check (issue 12)
    from outreach.web import rehearsal

    app.register_blueprint(rehearsal.bp)  # the rehearsal's page, played by a job (issue 12)
    from outreach.web import org_gateway

    app.register_blueprint(org_gateway.bp)  # caller ID, SMS sender, account (issue 12)
    from outreach.web import vigilance

    app.register_blueprint(vigilance.bp)  # Météo-France proposals, their banner (issue 12)
    from outreach.web import workshops

    app.register_blueprint(workshops.bp)  # collective workshops (issue 13)
    from outreach.web import panel_agreements

    app.register_blueprint(panel_agreements.bp)  # the panel's accords de principe (issue 13)
    from outreach.web import panel_listing

    app.register_blueprint(panel_listing.bp)  # the landlords' anonymised listings (issue 13)
    from outreach.web import panel_draw

    app.register_blueprint(panel_draw.bp)  # the panel's quotas and draw (issue 13)
    from outreach.vigilance.standin import mount_standin

    mount_standin(app)  # the demo's recorded maps, with vigilance.standin only
    register_filters(app)
    register_error_handlers(app)  # the pages only: /twilio/ is another app (webhooks.py)

    @app.get("/health")
    def health() -> tuple[dict[str, str], int]:
        # What a load balancer or a supervisor polls: "ok" only if the database answers.
        try:
            with db.get_engine().connect() as conn:
                conn.exec_driver_sql("SELECT 1")
        except Exception as exc:  # noqa: BLE001 - whatever it is, the service is down
            db.outage_log().failed(exc, "health")
            return {"status": "down", "database": "down"}, 503
        db.outage_log().succeeded()
        return {"status": "ok", "database": "ok"}, 200

    @app.after_request
    def _commit(response):
        if response.status_code < 500:
            db.commit_request_session()
            if "db_session" in g:
                db.outage_log().succeeded()
        return response

    hsts = config["app"]["env"] == "production"

    @app.after_request
    def _security_headers(response):
        if hsts:
            # Browsers then refuse plain HTTP to this host for a year, even from a typed URL
            # (production is served over HTTPS only: SESSION_COOKIE_SECURE).
            response.headers.setdefault(
                "Strict-Transport-Security", "max-age=31536000; includeSubDomains"
            )
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault(
            "Content-Security-Policy", "default-src 'self'; img-src 'self' data:"
        )
        if request.endpoint != "static":
            response.headers.setdefault("Cache-Control", "no-store")
        return response
