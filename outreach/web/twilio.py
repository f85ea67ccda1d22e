"""Twilio webhooks: signature first, then a thin call into the telephony domain.

Every request must carry a valid ``X-Twilio-Signature`` computed over the public URL
(``telephony.public_base_url`` + path + query) and the POST parameters; anything else gets
403 before the database is touched. Replies are immediate: no gateway call happens here.
"""

from __future__ import annotations

from datetime import UTC, datetime

from flask import Blueprint, Response, abort, current_app, request
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from outreach.db import get_session
from outreach.telephony import ivr, sms
from outreach.telephony.gateway import credentials
from outreach.telephony.urls import public_url

bp = Blueprint("twilio", __name__, url_prefix="/twilio")
XML = "text/xml; charset=utf-8"


@bp.before_request
def _verify_signature() -> None:
    config = current_app.config["OUTREACH"]
    _, token = credentials(config)
    url = public_url(config, request.path, request.query_string.decode("latin-1"))
    signature = request.headers.get("X-Twilio-Signature", "")
    if not token or not signature:
        abort(403)
    if not RequestValidator(token).validate(url, request.form.to_dict(), signature):
        abort(403)


def _params() -> dict[str, str]:
    return request.form.to_dict()


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
    ivr.status(get_session(), _params(), request.args.get("a"), _now())
    return "", 204


@bp.post("/sms/status")
def sms_status() -> tuple[str, int]:
    sms.status(get_session(), _params(), request.args.get("a"), _now())
    return "", 204


@bp.post("/sms/inbound")
def sms_inbound() -> Response:
    sms.inbound(get_session(), _params(), _now())
    # No automatic answer: Twilio itself confirms STOP on its numbers.
    return Response(str(MessagingResponse()), content_type=XML)
