"""Webhook addresses as Twilio sees them: built from ``telephony.public_base_url``.

Signatures are computed by Twilio over the exact URL it requested, so the URLs handed to it
and the URL a webhook is checked against are both built here, from the same public base,
whatever proxy sits in between.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

PATHS = {
    "voice_answer": "/twilio/voice/answer",
    "voice_gather": "/twilio/voice/gather",
    "voice_status": "/twilio/voice/status",
    "sms_status": "/twilio/sms/status",
    "sms_inbound": "/twilio/sms/inbound",
    "voice_inbound": "/twilio/voice/inbound",
    "voice_inbound_dial": "/twilio/voice/inbound/dial",
}


def webhook_url(config: dict[str, dict[str, Any]], name: str, **params: Any) -> str:
    base = config["telephony"]["public_base_url"].rstrip("/")
    query = f"?{urlencode(params)}" if params else ""
    return f"{base}{PATHS[name]}{query}"


def public_url(config: dict[str, dict[str, Any]], path: str, query_string: str) -> str:
    """The URL Twilio requested, from a request's path and raw query string."""
    base = config["telephony"]["public_base_url"].rstrip("/")
    return f"{base}{path}" + (f"?{query_string}" if query_string else "")
