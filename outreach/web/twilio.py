"""Twilio webhooks: signature first, then a thin call into the telephony domain.

Every request must carry a valid ``X-Twilio-Signature`` computed over the public URL
(``telephony.public_base_url`` + path + query) and the POST parameters; anything else gets
403 before the database is touched. Replies are immediate: no gateway call happens here;
status callbacks and inbound SMS are stored and applied by a job (``telephony/inbox.py``).
"""

from __future__ import annotations

import hmac
from datetime import UTC, datetime
from urllib.parse import parse_qsl

from flask import Blueprint, Response, abort, current_app, g, request
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from outreach.db import get_engine, get_session
from outreach.telephony import ivr
from outreach.telephony.gateway import credentials
from outreach.telephony.inbox import accept, row_values, status_engine
from outreach.telephony.urls import public_url
from outreach.telephony.writebehind import StatusBuffer

bp = Blueprint("twilio", __name__, url_prefix="/twilio")
XML = "text/xml; charset=utf-8"
EMPTY_MESSAGING = str(MessagingResponse())


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


@bp.post("/voice/answer")
def voice_answer() -> Response:
    config = current_app.config["OUTREACH"]
    twiml = ivr.answer(get_session(), config, _params(), request.args.get("a"), _now())
    return Response(twiml, content_type=XML)


@bp.post("/voice/gather")
def voice_gather() -> Response:
    config = current_app.config["OUTREACH"]
    twiml = ivr.gather(
        get_session(), config, _params(), request.args.get("a"), request.args.get("round"), _now()
    )
    return Response(twiml, content_type=XML)


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
