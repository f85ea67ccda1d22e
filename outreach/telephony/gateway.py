"""The gateway interface and its Twilio backend.

The interface is deliberately small: place a call, send an SMS, fetch a call's or a
message's status. Both backends of ``telephony.backend`` use the same Twilio code:
``twilio`` talks to ``telephony.api_base_url`` (Twilio's, or any provider that speaks its
REST API), ``simulator`` to the embedded simulator's local address, so the demo and the
tests run the code that production runs.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any, Protocol

import requests
from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

TWILIO_API = "https://api.twilio.com"
# twilio-python logs request bodies (numbers, SMS texts) at INFO: keep personal data out.
logging.getLogger("twilio.http_client").setLevel(logging.WARNING)


class GatewayError(Exception):
    """A request the gateway did not carry out.

    ``retryable``: 429, 5xx or no connection; the request may be tried again.
    ``ambiguous``: sent but unanswered (read timeout): the call may have been placed, so it
    must not be repeated blindly.
    """

    def __init__(
        self,
        message: str,
        *,
        code: int | None = None,
        status: int | None = None,
        retryable: bool = False,
        ambiguous: bool = False,
    ) -> None:
        super().__init__(message)
        self.code = code
        self.status = status
        self.retryable = retryable
        self.ambiguous = ambiguous


# Twilio error 21610: the recipient replied STOP; the message is refused.
ERROR_UNSUBSCRIBED = 21610


@dataclass(frozen=True)
class Sent:
    sid: str
    status: str


@dataclass(frozen=True)
class RemoteStatus:
    sid: str
    status: str
    answered_by: str | None = None
    duration: int | None = None
    error_code: int | None = None


class Gateway(Protocol):
    def place_call(
        self, to: str, url: str, status_callback: str, machine_detection: bool = True
    ) -> Sent: ...

    def send_sms(self, to: str, body: str, status_callback: str | None = None) -> Sent: ...

    def fetch_call(self, sid: str) -> RemoteStatus: ...

    def fetch_message(self, sid: str) -> RemoteStatus: ...


class _BaseUrlHttpClient(TwilioHttpClient):
    """twilio-python's HTTP client with Twilio's API host swapped for another base URL."""

    def __init__(self, base_url: str, timeout: float) -> None:
        super().__init__(timeout=timeout)
        self.base_url = base_url.rstrip("/")

    def request(self, method: str, url: str, *args: Any, **kwargs: Any):  # type: ignore[no-untyped-def,override]
        if url.startswith(TWILIO_API):
            url = self.base_url + url[len(TWILIO_API) :]
        return super().request(method, url, *args, **kwargs)


CALL_EVENTS = ["initiated", "ringing", "answered", "completed"]


class TwilioGateway:
    """The Twilio REST API (or a compatible one at ``base_url``) through twilio-python."""

    def __init__(
        self,
        account_sid: str,
        auth_token: str,
        base_url: str,
        caller_id: str,
        sms_sender: str,
        timeout: float = 10,
    ) -> None:
        http = _BaseUrlHttpClient(base_url, timeout)
        self.client = Client(account_sid, auth_token, http_client=http)
        self.caller_id = caller_id
        self.sms_sender = sms_sender

    def place_call(
        self, to: str, url: str, status_callback: str, machine_detection: bool = True
    ) -> Sent:
        extra = {"machine_detection": "Enable"} if machine_detection else {}
        call = self._do(
            lambda: self.client.calls.create(
                to=to,
                from_=self.caller_id,
                url=url,
                method="POST",
                status_callback=status_callback,
                status_callback_method="POST",
                status_callback_event=CALL_EVENTS,
                **extra,
            )
        )
        return Sent(call.sid, call.status)

    def send_sms(self, to: str, body: str, status_callback: str | None = None) -> Sent:
        extra = {"status_callback": status_callback} if status_callback else {}
        msg = self._do(
            lambda: self.client.messages.create(to=to, from_=self.sms_sender, body=body, **extra)
        )
        return Sent(msg.sid, msg.status)

    def fetch_call(self, sid: str) -> RemoteStatus:
        call = self._do(lambda: self.client.calls(sid).fetch())
        duration = int(call.duration) if call.duration not in (None, "") else None
        return RemoteStatus(call.sid, call.status, getattr(call, "answered_by", None), duration)

    def fetch_message(self, sid: str) -> RemoteStatus:
        msg = self._do(lambda: self.client.messages(sid).fetch())
        return RemoteStatus(msg.sid, msg.status, error_code=msg.error_code)

    @staticmethod
    def _do(request):  # type: ignore[no-untyped-def]
        try:
            return request()
        except TwilioRestException as exc:
            retryable = exc.status == 429 or exc.status >= 500
            raise GatewayError(
                f"gateway refused: HTTP {exc.status}, code {exc.code}",
                code=exc.code,
                status=exc.status,
                retryable=retryable,
            ) from exc
        except requests.ConnectTimeout as exc:
            raise GatewayError("gateway unreachable (connect timeout)", retryable=True) from exc
        except requests.Timeout as exc:
            raise GatewayError("gateway did not answer in time", ambiguous=True) from exc
        except requests.ConnectionError as exc:
            raise GatewayError("gateway unreachable", retryable=True) from exc


def simulator_base_url(config: dict[str, dict[str, Any]], port: int | None = None) -> str:
    return f"http://127.0.0.1:{port or config['simulator']['port']}"


def credentials(config: dict[str, dict[str, Any]]) -> tuple[str, str]:
    """(account SID, auth token): the simulator's own when it is the backend."""
    tel = config["telephony"]
    if tel["backend"] == "simulator":
        return config["simulator"]["account_sid"], config["simulator"]["auth_token"]
    return tel["account_sid"], tel["auth_token"]


# A number from the range ARCEP keeps for fiction and tests, for the simulator only.
SIMULATOR_CALLER_ID = "+33999000000"


def make_gateway(config: dict[str, dict[str, Any]]) -> Gateway:
    """The gateway chosen by ``telephony.backend``."""
    tel = config["telephony"]
    sid, token = credentials(config)
    if tel["backend"] == "simulator":
        base = simulator_base_url(config)
        caller_id = tel["caller_id"] or SIMULATOR_CALLER_ID
    else:
        base = tel["api_base_url"]
        caller_id = tel["caller_id"]
    return TwilioGateway(
        sid, token, base, caller_id, tel["sms_sender"], tel["request_timeout_seconds"]
    )
