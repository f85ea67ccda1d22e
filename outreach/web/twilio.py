"""Twilio webhooks: signature first, then a thin call into the telephony domain.

Every request must carry a valid ``X-Twilio-Signature`` computed over the public URL
(``telephony.public_base_url`` + path + query) and the POST parameters; anything else gets
403 before the database is touched. Replies are immediate: no gateway call happens here;
status callbacks and inbound SMS are stored and applied by a job (``telephony/inbox.py``).

When the database cannot be reached, a signed request is answered 503, so that Twilio tries
again later, and the outage is logged once a minute (``db.OutageLog``), not per request. The
voice webhooks are the exception: the senior on the line hears a short apology instead.
"""

from __future__ import annotations

import hmac
import logging
import traceback
from collections.abc import Callable
from datetime import UTC, datetime
from urllib.parse import parse_qsl

from flask import Blueprint, Response, abort, current_app, g, request
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse
from twilio.twiml.voice_response import VoiceResponse

from outreach.db import get_engine, get_session, is_outage, outage_log
from outreach.telephony import accounts, inbound, ivr
from outreach.telephony.gateway import credentials
from outreach.telephony.inbox import accept, row_values, status_engine, write_rows
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
    params = _form()
    # Each Twilio account signs with its own token: the request names its account
    # (AccountSid; without one, the default account). An account not configured here is
    # refused before anything else.
    account = accounts.by_sid(config, params["AccountSid"]) if params.get("AccountSid") else None
    if params.get("AccountSid") and account is None:
        abort(403)
    token = account.auth_token if account is not None else credentials(config)[1]
    url = public_url(config, request.path, request.query_string.decode("latin-1"))
    signature = request.headers.get("X-Twilio-Signature", "")
    if not token or not signature:
        abort(403)
    # twilio's own signature, computed once for the one URL we publish (its validate() also
    # tries the URL with and without a port, which a configured public URL never needs).
    expected = RequestValidator(token).compute_signature(url, params)
    if not hmac.compare_digest(expected, signature):
        abort(403)
    # A NUL byte (signed, so really sent: a phone can put one in an SMS) cannot be stored
    # in a PostgreSQL text column; dropped here, it cannot make a STOP fail to apply.
    g.twilio_params = {k.replace("\x00", ""): v.replace("\x00", "") for k, v in params.items()}


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
    most processes, the scheduler or the CLI, never receive webhooks). While the database
    is known to be down, the callback is written at once instead, so that the answer says
    whether it was stored (503 and Twilio retries, or the database is back)."""
    extensions = current_app.extensions
    buffer = extensions.get("outreach.status_buffer")
    if buffer is None:
        buffer = extensions.setdefault(
            "outreach.status_buffer",
            StatusBuffer(status_engine(get_engine()), outage=outage_log()),
        )
    row = row_values(buffer.engine, kind, request.args.get("a"), _params(), _now())
    if outage_log().down:
        write_rows(buffer.engine, [row])
        outage_log().succeeded()
        return
    buffer.put(row)


def _now() -> datetime:
    # A rehearsal plays the day on its own simulated clock (outreach.rehearsal), webhooks
    # included; everywhere else this is the real time.
    clock = current_app.extensions.get("outreach.clock")
    return clock() if clock is not None else datetime.now(UTC)


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
        outage_log().succeeded()
    except Exception as exc:  # noqa: BLE001 - a caller must never hear an error page
        outage = is_outage(exc)
        if session is not None:
            try:
                session.rollback()
            except Exception:  # noqa: BLE001 - the connection itself may be gone
                if not outage:
                    log.warning("voice webhook: rollback failed too")
        if outage:
            outage_log().failed(exc, f"webhook {request.path}; apology played")
            return Response(_apology(), content_type=XML)
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


@bp.errorhandler(SQLAlchemyError)  # the outage errors are all SQLAlchemyErrors
def _database_unavailable(exc: Exception) -> tuple[str, int, dict[str, str]]:
    """503 when the database cannot be reached (Twilio tries again); any other database
    error goes on to Flask's 500."""
    if not is_outage(exc):
        raise exc
    outage_log().failed(exc, f"webhook {request.path}")
    session = g.pop("db_session", None)
    if session is not None:
        try:
            session.rollback()
            session.close()
        except Exception:  # noqa: BLE001 - the connection is gone; the pool drops it
            pass
    return "", 503, {"Retry-After": "60"}


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


@bp.post("/voice/inbound")
def voice_inbound() -> Response:
    """A call received on one of our numbers (a senior calling back): telephony.inbound."""
    config = current_app.config["OUTREACH"]
    return _voice(lambda s: inbound.answer(s, config, _params(), _now()))


@bp.post("/voice/inbound/dial")
def voice_inbound_dial() -> Response:
    """The end of a call put through to the on-duty phone (its ``<Dial>`` action)."""
    config = current_app.config["OUTREACH"]
    return _voice(lambda s: inbound.dial_result(s, config, _params(), _now()))


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
    outage_log().succeeded()
    # No automatic answer: Twilio itself confirms STOP on its numbers.
    return Response(EMPTY_MESSAGING, content_type=XML)
