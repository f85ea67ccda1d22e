"""Error pages in French, in the site's layout, with a way back home.

Registered on the pages app only. The Twilio webhooks are served by a separate Flask app
(``web/webhooks.py``) that keeps Werkzeug's plain, short answers: Twilio reads the status
code, never a page, and an unsigned request must learn nothing about the application.

The 500 page rolls the request's database session back first (a failed flush leaves it
unusable) and renders for an anonymous visitor: no query, no name, no message from the
exception, whatever broke. If even that fails, a fixed page is sent.

A database that cannot be reached answers 503 with its own page, and one log line a minute
for the whole outage (``db.OutageLog``) instead of a traceback per request.
"""

from __future__ import annotations

from typing import Any

from flask import Flask, current_app, g, render_template, request
from flask_babel import gettext as _
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException, InternalServerError

from outreach.db import is_outage, outage_log
from outreach.web.converters import NulByte
from outreach.web.extensions import login_manager

HANDLED = (400, 403, 404, 405, 409, 413, 429)

# The last resort when the layout itself cannot be rendered: no template, no translation.
FALLBACK_500 = """<!doctype html>
<html lang="fr"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Erreur · outreach</title></head>
<body style="font-family: system-ui, sans-serif; font-size: 18px; margin: 2rem;">
<h1>Une erreur est survenue</h1>
<p>Votre dernière action n'a pas été enregistrée. Réessayez dans un instant.</p>
<p><strong>Si vous étiez en ligne avec une personne en danger : appelez le&nbsp;15.</strong></p>
<p><a href="/">Revenir à l'accueil</a></p>
</body></html>
"""


def _texts(code: int, exc: HTTPException | None) -> tuple[str, list[str]]:
    """The page's title and paragraphs for ``code``."""
    if code == 400 and isinstance(exc, CSRFError):
        return _("Le formulaire a expiré"), [
            _("Par sécurité, un formulaire resté ouvert trop longtemps n'est plus accepté."),
            _("Revenez à la page précédente, rechargez-la puis recommencez."),
        ]
    if code == 400 and isinstance(exc, NulByte):
        return _("Caractère non autorisé"), [
            _("Ce qui a été envoyé contient un caractère invisible qui n'est pas accepté."),
            _("Revenez à la page précédente et retapez le texte au lieu de le coller."),
        ]
    if code == 400:
        return _("Demande incomplète"), [
            _("Ce qui a été envoyé est incomplet ou ne correspond pas à la page."),
            _("Revenez à la page précédente, rechargez-la puis recommencez."),
        ]
    if code == 403:
        return _("Accès refusé"), [
            _("Votre compte ne permet pas d'ouvrir cette page."),
            _("Si vous en avez besoin pour votre travail, demandez-le à votre responsable."),
        ]
    if code == 404:
        return _("Page introuvable"), [
            _("Cette page n'existe pas, n'existe plus, ou ne dépend pas de votre organisation."),
            _("Si vous avez saisi l'adresse, vérifiez-la ; sinon repartez de l'accueil."),
        ]
    if code == 405:
        return _("Action impossible depuis cette adresse"), [
            _("Cette page ne s'ouvre pas de cette façon."),
            _("Repartez de l'accueil et utilisez les boutons de l'application."),
        ]
    if code == 409:
        return _("Ce n'est plus possible"), [
            _("Quelqu'un a peut-être déjà fait cette action, ou l'appel est déjà terminé."),
            _("Revenez à la page précédente et rechargez-la pour voir où en sont les choses."),
        ]
    if code == 413:
        limit = current_app.config["OUTREACH"]["roster"]["max_upload_mb"]
        return _("Fichier trop volumineux"), [
            _("Ce qui a été envoyé dépasse %(limit)s Mo : rien n'a été enregistré.", limit=limit),
            _("Enregistrez le fichier en CSV ou découpez-le en plusieurs fichiers."),
        ]
    if code == 503:
        return _("Service momentanément indisponible"), [
            _("La base de données ne répond pas : votre dernière action n'a pas été enregistrée."),
            _("Réessayez dans quelques minutes ; l'équipe technique en est avertie."),
        ]
    if code == 429:
        return _("Trop de tentatives"), [
            _("Par sécurité, les essais sont limités quand ils se suivent de trop près."),
            _("Attendez une minute puis réessayez."),
        ]
    return _("Une erreur est survenue"), [
        _("Votre dernière action n'a pas été enregistrée. Réessayez dans un instant."),
        _(
            "Si le problème continue, prévenez votre responsable en indiquant l'heure et ce "
            "que vous faisiez."
        ),
    ]


def _render(code: int, exc: HTTPException | None, **context: Any) -> str:
    title, paragraphs = _texts(code, exc)
    return render_template(
        "errors/error.html", code=code, title=title, paragraphs=paragraphs, **context
    )


def _emergency() -> str:
    # A caller may be on the phone with a senior when the page fails. No line break
    # between « le » and « 15 ».
    return _("Si vous étiez en ligne avec une personne en danger : appelez le\u00a015.")


def http_error(exc: HTTPException) -> tuple[str, int, list[tuple[str, str]]]:
    """A French page for a 4xx, keeping the exception's headers (``Allow`` of a 405)."""
    code = exc.code or 500
    headers = [(k, v) for k, v in exc.get_headers() if k.lower() != "content-type"]
    return _render(code, exc), code, headers


def server_error(exc: Exception) -> tuple[str, int]:
    """The 500 page: rolls the session back, then renders without touching the database."""
    _discard_session()
    try:
        # An anonymous user hides the navigation, which would query the database (the
        # overdue alerts) and show the user's name.
        anonymous = login_manager.anonymous_user()
        return _render(500, None, current_user=anonymous, emergency=_emergency()), 500
    except Exception:
        current_app.logger.exception("the 500 page could not be rendered")
        return FALLBACK_500, 500


def database_unavailable(exc: Exception) -> tuple[str, int, list[tuple[str, str]]]:
    """503 when the database cannot be reached; any other database error is a bug and goes
    on to the 500 page with its traceback."""
    if not is_outage(exc):
        raise exc
    outage_log().failed(exc, f"page {request.endpoint or request.path}")
    _discard_session(quiet=True)
    try:
        anonymous = login_manager.anonymous_user()
        # Flask-Login's template context would load the user again, from the database: the
        # request is served as anonymous from here on.
        g._login_user = anonymous
        page = _render(503, None, current_user=anonymous, emergency=_emergency())
    except Exception:  # noqa: BLE001 - already said once a minute: no traceback each time
        page = FALLBACK_500
    return page, 503, [("Retry-After", "60")]


def _discard_session(quiet: bool = False) -> None:
    """Roll back and close the request's session so that nothing after uses it broken."""
    session = g.pop("db_session", None)
    if session is None:
        return
    try:
        session.rollback()
    except Exception:
        if not quiet:  # during an outage, every rollback fails the same way
            current_app.logger.exception("rollback after an error failed")
    finally:
        try:
            session.close()
        except Exception:
            if not quiet:
                current_app.logger.exception("closing the session after an error failed")


def register_error_handlers(app: Flask) -> None:
    for code in HANDLED:
        app.register_error_handler(code, http_error)
    app.register_error_handler(InternalServerError, server_error)
    # Every outage error (db.OUTAGE_ERRORS) is a SQLAlchemyError; others are re-raised.
    app.register_error_handler(SQLAlchemyError, database_unavailable)
