"""The gateway's webhooks, served by a lean Flask app beside the main one.

Twilio's requests need none of what the pages need (login, session cookie, CSRF, rate
limits, translations, security headers for browsers): a separate app with only the
signature check and the handlers answers them faster, and cannot leak a page or a cookie
to an unauthenticated caller. It shares the main app's configuration and database engine;
``mount_webhooks`` routes every path under ``/twilio/`` to it, unchanged, so the URLs and
the signed URL stay those of DESIGN.md.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from flask import Flask, Response

from outreach import db

WEBHOOK_PREFIX = "/twilio/"


def create_webhook_app(main: Flask) -> Flask:
    from outreach.web import twilio

    hooks = Flask("outreach.webhooks")
    # The same objects, not copies: one configuration and one engine for both apps.
    hooks.config["OUTREACH"] = main.config["OUTREACH"]
    hooks.config["TESTING"] = main.config["TESTING"]
    # Twilio's requests are small forms; anything bigger is not from Twilio.
    hooks.config["MAX_CONTENT_LENGTH"] = 64 * 1024
    hooks.extensions = main.extensions
    db.register_teardown(hooks)
    hooks.register_blueprint(twilio.bp)

    @hooks.after_request
    def _commit(response: Response) -> Response:
        if response.status_code < 500:
            db.commit_request_session()
        return response

    return hooks


def mount_webhooks(main: Flask) -> None:
    """Send ``/twilio/...`` requests to the webhook app, everything else to ``main``."""
    hooks = create_webhook_app(main)
    pages = main.wsgi_app

    def dispatch(environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        if environ.get("PATH_INFO", "").startswith(WEBHOOK_PREFIX):
            return hooks.wsgi_app(environ, start_response)
        return pages(environ, start_response)

    main.wsgi_app = dispatch  # type: ignore[method-assign]
    main.extensions["outreach.webhooks"] = hooks
