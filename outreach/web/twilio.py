"""Twilio webhooks: signature first, then a thin call into the telephony domain.

Every request must carry a valid ``X-Twilio-Signature`` computed over the public URL
(``telephony.public_base_url`` + path + query) and the POST parameters; anything else gets
403 before the database is touched. Replies are immediate: no gateway call happens here;
status callbacks and inbound SMS are stored and applied by a job (``telephony/inbox.py``).
"""

from __future__ import annotations

import hmac
import logging
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from urllib.parse import parse_qsl

from flask import Blueprint, Response, abort, current_app, g, request
from sqlalchemy.orm import Session
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse
from twilio.twiml.voice_response import VoiceResponse

from outreach.db import get_engine, get_session
from outreach.telephony import ivr
from outreach.telephony.gateway import credentials
from outreach.telephony.inbox import accept, row_values, status_engine
from outreach.telephony.urls import public_url
from outreach.telephony.writebehind import StatusBuffer

bp = Blueprint("twilio", __name__, url_prefix="/twilio")
log = logging.getLogger("outreach.telephony")
XML = "text/xml; charset=utf-8"
EMPTY_MESSAGING = str(MessagingResponse())
APOLOGY = (
    "Nous sommes désolés, un incident technique interrompt cet appel. "
    "Nous vous rappellerons. Au revoir."
)


@bp.before_request
def _verify_signature() -> None:
    config = current_app.config["OUTREACH"]
    _, token = credentials(config)
    url = public_url(config, request.path, request.query_string.decode("latin-1"))
    signature = request.headers.get("X-Twilio-Signature", "")
    if not token or not signature:
        abort(403)
    params = _form()
    # twilio's own signature, computed once for the one URL we publish (its validate() also
    # tries the URL with and without a port, which a configured public URL never needs).
    expected = RequestValidator(token).compute_signature(url, params)
    if not hmac.compare_digest(expected, signature):
        abort(403)
    g.twilio_params = params


def _form() -> dict[str, str]:
    """The POST parameters. Twilio posts a plain url-encoded form without repeated keys:
    parsed directly, it costs a fraction of werkzeug's general form parser, which was the
    largest part of a status callback's time."""
    if request.mimetype == "application/x-www-form-urlencoded":
        return dict(parse_qsl(request.get_data(as_text=True), keep_blank_values=True))
    return request.form.to_dict()


def _params() -> dict[str, str]:
    return g.twilio_params


def _store_status(kind: str) -> None:
    """Hand a status callback to this process's write-behind buffer (made on first use:
    most processes, the scheduler or the CLI, never receive webhooks)."""
    extensions = current_app.extensions
    buffer = extensions.get("outreach.status_buffer")
    if buffer is None:
        buffer = extensions.setdefault(
            "outreach.status_buffer", StatusBuffer(status_engine(get_engine()))
        )
    buffer.put(row_values(buffer.engine, kind, request.args.get("a"), _params(), _now()))


def _now() -> datetime:
    return datetime.now(UTC)


def _voice(build: Callable[[Session], str]) -> Response:
    """TwiML from ``build``, committed here; whatever fails on the way, the senior hears a
    short apology and the call ends (Twilio would otherwise say "an application error has
    occurred", in English), and nothing of the request is kept. The log names the attempt,
    the exception type and where it was raised, never its message (SQL errors carry the
    statement's parameters: numbers, names)."""
    session = None
    try:
        session = get_session()
        twiml = build(session)
        session.commit()
    except Exception as exc:  # noqa: BLE001 - a caller must never hear an error page
        if session is not None:
            try:
                session.rollback()
            except Exception:  # noqa: BLE001 - the connection itself may be gone
                log.warning("voice webhook: rollback failed too")
        where = traceback.extract_tb(exc.__traceback__)[-1]
        log.error(
            "voice webhook %s: attempt %s: %s at %s:%s; apology played",
            request.path.rsplit("/", 1)[-1],
            _attempt_ref(),
            type(exc).__name__,
            where.filename.rsplit("/", 1)[-1],
            where.lineno,
        )
        twiml = _apology()
    return Response(twiml, content_type=XML)


def _attempt_ref() -> str:
    ref = request.args.get("a", "")
    return ref if ref.isascii() and ref.isdigit() and len(ref) <= 18 else "?"


def _apology() -> str:
    response = VoiceResponse()
    try:
        voice = current_app.config["OUTREACH"]["telephony"]["voice"]
    except (KeyError, TypeError):
        voice = None
    response.say(APOLOGY, language="fr-FR", **({"voice": voice} if voice else {}))
    response.hangup()
    return str(response)


@bp.post("/voice/answer")
def voice_answer() -> Response:
    config = current_app.config["OUTREACH"]
    return _voice(lambda s: ivr.answer(s, config, _params(), request.args.get("a"), _now()))


@bp.post("/voice/gather")
def voice_gather() -> Response:
    config = current_app.config["OUTREACH"]
    return _voice(
        lambda s: ivr.gather(
            s, config, _params(), request.args.get("a"), request.args.get("round"), _now()
        )
    )


@bp.post("/voice/status")
def voice_status() -> tuple[str, int]:
    _store_status("voice_status")
    return "", 204


@bp.post("/sms/status")
def sms_status() -> tuple[str, int]:
    _store_status("sms_status")
    return "", 204


@bp.post("/sms/inbound")
def sms_inbound() -> Response:
    accept(get_engine(), "sms_inbound", None, _params(), _now())
    # No automatic answer: Twilio itself confirms STOP on its numbers.
    return Response(EMPTY_MESSAGING, content_type=XML)
