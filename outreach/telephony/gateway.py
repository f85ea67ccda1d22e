"""The gateway interface and its Twilio backend.

The interface is deliberately small: place a call, send an SMS, fetch a call's or a
message's status, list the SMS received since a moment. Both backends of
``telephony.backend`` use the same Twilio code: ``twilio`` talks to
``telephony.api_base_url`` (Twilio's, or any provider that speaks its REST API),
``simulator`` to the embedded simulator's local address, so the demo and the tests run the
code that production runs.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol, TypeVar

import requests
from requests.adapters import HTTPAdapter
from twilio.base.exceptions import TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from outreach.roster.phones import is_special

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
# What Twilio answers when its geographic permissions block a destination (calls, SMS):
# answered here, before any request, for a premium-rate or special number.
ERROR_CALL_BLOCKED, ERROR_SMS_BLOCKED = 21215, 21408


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


@dataclass(frozen=True)
class Inbound:
    """An SMS received on our number, as the gateway's message list gives it."""

    sid: str
    from_: str
    to: str
    body: str
    sent_at: datetime | None
    account_sid: str = ""
    num_segments: str = "1"


class Gateway(Protocol):
    # ``caller_id`` / ``sender``: the organisation's own (issue 12), instead of the
    # gateway's; passed only when the organisation has one.
    def place_call(
        self,
        to: str,
        url: str,
        status_callback: str,
        machine_detection: bool = True,
        *,
        caller_id: str | None = None,
    ) -> Sent: ...

    def send_sms(
        self, to: str, body: str, status_callback: str | None = None, *, sender: str | None = None
    ) -> Sent: ...

    def fetch_call(self, sid: str) -> RemoteStatus: ...

    def fetch_message(self, sid: str) -> RemoteStatus: ...

    # Optional (a gateway without a message list lacks it): the SMS received on our number
    # since ``since``, oldest first; the reconciler applies those no webhook brought.
    # def list_inbound(self, since: datetime) -> list[Inbound]: ...

    # Optional: when the last request of ``kind`` ("call", "sms") actually left, on
    # time.monotonic(), or None; the dispatcher's pacer spaces departures, not intentions.
    # def last_departure(self, kind: str) -> float | None: ...


# -- when a request actually leaves ------------------------------------------------------
# The rate a gateway enforces is counted on requests as they reach it. The first request on
# a new HTTP client leaves late (connection and TLS set-up, twilio-python's lazy set-up), so
# pacing the moments requests are *started* lets the next one follow it too closely. The
# connections below note the moment a request's bytes were all handed to the socket; each
# gateway records it per kind, process-wide, so that the next dispatcher run (a new gateway)
# keeps its distance from the last run's last request too.

_sent = threading.local()
_departures: dict[tuple[str, str, str], float] = {}
_departures_lock = threading.Lock()


class _StampedHTTPConnection(HTTPConnection):
    def request(self, *args: Any, **kwargs: Any) -> None:
        super().request(*args, **kwargs)
        _sent.at = time.monotonic()


class _StampedHTTPSConnection(HTTPSConnection):
    def request(self, *args: Any, **kwargs: Any) -> None:
        super().request(*args, **kwargs)
        _sent.at = time.monotonic()


class _StampedHTTPPool(HTTPConnectionPool):
    ConnectionCls = _StampedHTTPConnection


class _StampedHTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _StampedHTTPSConnection


class _StampingAdapter(HTTPAdapter):
    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        # A new mapping: the default one is shared by every pool manager of the process.
        self.poolmanager.pool_classes_by_scheme = {
            "http": _StampedHTTPPool,
            "https": _StampedHTTPSPool,
        }


class _BaseUrlHttpClient(TwilioHttpClient):
    """twilio-python's HTTP client with Twilio's API host swapped for another base URL, on
    connections that note when each request left."""

    def __init__(self, base_url: str, timeout: float) -> None:
        super().__init__(timeout=timeout)
        self.base_url = base_url.rstrip("/")
        assert self.session is not None
        pool = min(32, (os.cpu_count() or 1) + 4)  # as twilio-python's own adapter
        for prefix in ("https://", "http://"):
            self.session.mount(prefix, _StampingAdapter(pool_maxsize=pool))

    def request(self, method: str, url: str, *args: Any, **kwargs: Any):
        if url.startswith(TWILIO_API):
            url = self.base_url + url[len(TWILIO_API) :]
        return super().request(method, url, *args, **kwargs)


CALL_EVENTS = ["initiated", "ringing", "answered", "completed"]
_T = TypeVar("_T")


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
        self._account = (http.base_url, account_sid)

    def place_call(
        self,
        to: str,
        url: str,
        status_callback: str,
        machine_detection: bool = True,
        *,
        caller_id: str | None = None,
    ) -> Sent:
        if is_special(to):
            # Never dialled, whatever the roster holds (a number stored before the check).
            raise GatewayError(
                "premium-rate or special number refused", code=ERROR_CALL_BLOCKED, status=400
            )
        extra = {"machine_detection": "Enable"} if machine_detection else {}
        call = self._departing(
            "call",
            lambda: self.client.calls.create(
                to=to,
                from_=caller_id or self.caller_id,
                url=url,
                method="POST",
                status_callback=status_callback,
                status_callback_method="POST",
                status_callback_event=CALL_EVENTS,
                **extra,
            ),
        )
        return Sent(call.sid, call.status)

    def send_sms(
        self, to: str, body: str, status_callback: str | None = None, *, sender: str | None = None
    ) -> Sent:
        if is_special(to):
            raise GatewayError(
                "premium-rate or special number refused", code=ERROR_SMS_BLOCKED, status=400
            )
        extra = {"status_callback": status_callback} if status_callback else {}
        msg = self._departing(
            "sms",
            lambda: self.client.messages.create(
                to=to, from_=sender or self.sms_sender, body=body, **extra
            ),
        )
        return Sent(msg.sid, msg.status)

    def list_inbound(self, since: datetime) -> list[Inbound]:
        """The SMS received on our number (``sms_sender``, where replies arrive) and sent on
        or after ``since``, oldest first.

        Twilio filters ``DateSent>=`` by day (GMT), so the list is asked from the start of
        ``since``'s day and trimmed here; every page is read (1000 records a page).
        """
        day = since.date().isoformat()
        records = self._do(
            lambda: self.client.messages.list(
                to=self.sms_sender, date_sent_after=day, page_size=1000
            )
        )
        received = [
            Inbound(
                sid=m.sid,
                from_=m.from_ or "",
                to=m.to or "",
                body=m.body or "",
                sent_at=m.date_sent,
                account_sid=m.account_sid or "",
                num_segments=str(m.num_segments or "1"),
            )
            for m in reversed(records)  # listed newest first
            if m.direction == "inbound" and (m.date_sent is None or m.date_sent >= since)
        ]
        # Stable: messages of the same second keep the gateway's order.
        received.sort(key=lambda m: m.sent_at or since)
        return received

    def last_departure(self, kind: str) -> float | None:
        """When the last request of ``kind`` ("call", "sms") of this account left this
        process (time.monotonic()), or None."""
        return _departures.get((*self._account, kind))

    def _departing(self, kind: str, request: Callable[[], _T]) -> _T:
        """``request`` (a call or an SMS), noting when it left for the pacer."""
        _sent.at = None
        try:
            return self._do(request)
        finally:
            at = getattr(_sent, "at", None)
            if at is not None:
                key = (*self._account, kind)
                with _departures_lock:
                    _departures[key] = max(at, _departures.get(key, at))

    def fetch_call(self, sid: str) -> RemoteStatus:
        call = self._do(lambda: self.client.calls(sid).fetch())
        duration = int(call.duration) if call.duration not in (None, "") else None
        return RemoteStatus(call.sid, call.status, getattr(call, "answered_by", None), duration)

    def fetch_message(self, sid: str) -> RemoteStatus:
        msg = self._do(lambda: self.client.messages(sid).fetch())
        return RemoteStatus(msg.sid, msg.status, error_code=msg.error_code)

    @staticmethod
    def _do(request):
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


def credentials(config: dict[str, dict[str, Any]], account: str | None = None) -> tuple[str, str]:
    """(account SID, auth token) of the default account, or of the named ``account``
    ([telephony.accounts.<name>]): the simulator's own when it is the backend."""
    tel = config["telephony"]
    if tel["backend"] == "simulator":
        return config["simulator"]["account_sid"], config["simulator"]["auth_token"]
    if account:
        table = tel["accounts"][account]
        return table["account_sid"], table["auth_token"]
    return tel["account_sid"], tel["auth_token"]


# A number from the range ARCEP keeps for fiction and tests, for the simulator only.
SIMULATOR_CALLER_ID = "+33999000000"


def make_gateway(config: dict[str, dict[str, Any]], account: str | None = None) -> Gateway:
    """The gateway chosen by ``telephony.backend``, for the default account or the named
    ``account`` (one client per account: Twilio's rates are per account)."""
    tel = config["telephony"]
    sid, token = credentials(config, account)
    if tel["backend"] == "simulator":
        base = simulator_base_url(config)
        caller_id = tel["caller_id"] or SIMULATOR_CALLER_ID
    else:
        base = tel["api_base_url"]
        caller_id = tel["caller_id"]
    return TwilioGateway(
        sid, token, base, caller_id, tel["sms_sender"], tel["request_timeout_seconds"]
    )
