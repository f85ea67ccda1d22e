"""One simulated outbound SMS: its status callbacks and the senior's reply.

Timeline: ``sent`` a second after creation, then ``delivered`` for a mobile or
``undelivered`` (error 30006, landline or unreachable) for anything else, then, for a
delivered message, the senior's reply (if any) ``reply_seconds`` later, posted to the
inbound SMS webhook as a message from the senior to the outbound message's sender.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from outreach.telephony.simulator.resources import API_VERSION, Outgoing, rfc2822

log = logging.getLogger(__name__)

Handler = Callable[[datetime], list[Outgoing]]
Schedule = Callable[[datetime, Handler], None]
# Called with (time, sender, recipient, text) of the reply; returns the inbound webhook.
Reply = Callable[[datetime, str, str, str], list[Outgoing]]

STEP = timedelta(seconds=1)
UNDELIVERED = (30006, "Landline or unreachable carrier")


class Message:
    """The state of one outbound message, driven by scheduled handlers."""

    def __init__(
        self,
        resource: dict[str, Any],
        status_callback: str,
        mobile: bool,
        reply: str | None,
        settings: dict[str, Any],
        schedule: Schedule,
        on_reply: Reply,
    ) -> None:
        self.resource = resource
        self.status_callback = status_callback
        self.mobile = mobile
        self.reply = reply
        self.settings = settings
        self.schedule = schedule
        self.on_reply = on_reply

    @property
    def sid(self) -> str:
        return str(self.resource["sid"])

    def start(self, at: datetime) -> None:
        """Schedule the message's first event (``sent``) a second after ``at``."""
        self.schedule(at + STEP, self._sent)

    def _set(self, at: datetime, status: str, **fields: Any) -> None:
        self.resource.update(status=status, date_updated=rfc2822(at), **fields)
        log.debug("message %s: %s", self.sid, status)

    def _callback(self, **extra: str) -> list[Outgoing]:
        if not self.status_callback:
            return []
        r = self.resource
        params = {
            "MessageSid": r["sid"],
            "SmsSid": r["sid"],
            "AccountSid": r["account_sid"],
            "From": r["from"],
            "To": r["to"],
            "MessageStatus": r["status"],
            "SmsStatus": r["status"],
            "ApiVersion": API_VERSION,
        } | extra
        return [Outgoing(self.status_callback, params)]

    def _sent(self, at: datetime) -> list[Outgoing]:
        self._set(at, "sent", date_sent=rfc2822(at))
        self.schedule(at + STEP, self._delivery)
        return self._callback()

    def _delivery(self, at: datetime) -> list[Outgoing]:
        if not self.mobile:
            code, message = UNDELIVERED
            self._set(at, "undelivered", error_code=code, error_message=message)
            return self._callback(ErrorCode=str(code))
        self._set(at, "delivered")
        if self.reply is not None:
            wait = timedelta(seconds=self.settings["reply_seconds"])
            senior, sender, reply = self.resource["to"], self.resource["from"], self.reply
            self.schedule(at + wait, lambda t: self.on_reply(t, senior, sender, reply))
        return self._callback()


def inbound_params(resource: dict[str, Any]) -> dict[str, str]:
    """The inbound SMS webhook's parameters for a received message resource."""
    return {
        "MessageSid": resource["sid"],
        "SmsMessageSid": resource["sid"],
        "SmsSid": resource["sid"],
        "AccountSid": resource["account_sid"],
        "From": resource["from"],
        "To": resource["to"],
        "Body": resource["body"],
        "NumMedia": "0",
        "NumSegments": resource["num_segments"],
        "SmsStatus": "received",
        "ApiVersion": API_VERSION,
    }
