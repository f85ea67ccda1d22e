"""The simulator's core: Twilio's calls and messages as a deterministic event queue.

No threads and no sockets here: the REST front (``rest.py``) calls ``create_call`` and
``create_message``, a driver (``server.py``, or a test) calls ``run_due`` with the time, and
webhooks go out through the injected ``deliver``. Every event carries the time it was due,
so a fake clock replays a run exactly; a seeded run also replays the same choices, since
each call and message draws its own generator from the seeded one when it is created.

A lock guards the state because the WSGI server is threaded, but webhooks are delivered
outside it: a webhook handler may call the REST API back (send an SMS) while it runs.
"""

from __future__ import annotations

import heapq
import itertools
import logging
import random
import threading
from collections import deque
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

from outreach.config import SCHEMA
from outreach.telephony.simulator import listing
from outreach.telephony.simulator.calls import Call
from outreach.telephony.simulator.messages import Message, inbound_params
from outreach.telephony.simulator.resources import (
    Outgoing,
    Script,
    TwilioError,
    Webhook,
    call_resource,
    every,
    first,
    is_mobile,
    is_valid_number,
    message_resource,
    new_sid,
    not_found,
    rfc2822,
)

log = logging.getLogger(__name__)

Deliver = Callable[[str, dict[str, str]], tuple[int, str]]
Clock = Callable[[], datetime]

DEFAULTS: dict[str, Any] = {key: decl.default for key, decl in SCHEMA["simulator"].items()}
ANSWERS = {"human", "no-answer", "busy", "machine", "fax", "failed"}
# Twilio's opt-out keywords, plus the French ARRET that French operators honour.
STOP_WORDS = {"STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "ARRET", "ARRÊT"}
START_WORDS = {"START", "YES", "UNSTOP"}
INBOUND_PATH = "/twilio/sms/inbound"
INBOUND_CALL_PATH = "/twilio/voice/inbound"
DIAL_STATUSES = {"completed", "busy", "no-answer", "failed", "canceled"}
# Webhooks kept for inspection: enough for any test, bounded for a demo left running.
WEBHOOK_LOG_SIZE = 10_000


def _utcnow() -> datetime:
    return datetime.now(UTC)


class Simulator:
    """Twilio's calls and messages for one account, played on ``clock``.

    ``deliver(url, params)`` posts one signed webhook and returns (HTTP status, body), with
    status 0 when it could not be delivered; it must not raise.
    """

    def __init__(
        self,
        settings: Mapping[str, Any],
        account_sid: str,
        auth_token: str,
        webhook_base_url: str,
        deliver: Deliver,
        clock: Clock | None = None,
    ) -> None:
        self.settings: dict[str, Any] = DEFAULTS | dict(settings)
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.webhook_base_url = webhook_base_url.rstrip("/")
        self._deliver = deliver
        self._clock = clock or _utcnow
        self._rng = random.Random(self.settings["seed"] or None)
        self._queue: list[tuple[datetime, int, Callable[[datetime], list[Outgoing]]]] = []
        self._order = itertools.count()
        self._lock = threading.RLock()
        self._run_lock = threading.Lock()
        self._calls: dict[str, Call] = {}
        self._messages: dict[str, dict[str, Any]] = {}
        self._webhooks: deque[Webhook] = deque(maxlen=WEBHOOK_LOG_SIZE)
        self._scripts: dict[str, Script] = {}
        self._unsubscribed: set[str] = set()
        self._down: int | None = None

    # -- REST operations ---------------------------------------------------------------

    def create_call(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """Place a call from Twilio's form fields; returns the call resource (queued)."""
        to, from_, url = first(params, "To"), first(params, "From"), first(params, "Url")
        if not to:
            raise TwilioError(400, 21201, "No 'To' number is specified")
        if not from_:
            raise TwilioError(400, 21213, "No 'From' number is specified")
        if not url:
            raise TwilioError(400, 21205, "Url parameter is required")
        if not is_valid_number(to):
            raise TwilioError(400, 21211, "Invalid 'To' Phone Number")
        with self._lock:
            now = self._clock()
            drawn = self._choose(self.settings["answer_weights"])
            rng = random.Random(self._rng.getrandbits(64))
            script = self._scripts.get(to, Script())
            resource = call_resource(new_sid("CA"), self.account_sid, to, from_, now)
            call = Call(
                resource,
                {
                    "Url": url,
                    "StatusCallback": first(params, "StatusCallback"),
                    "StatusCallbackEvent": every(params, "StatusCallbackEvent"),
                    "MachineDetection": first(params, "MachineDetection"),
                },
                outcome=script.answer or drawn,
                digits=list(script.digits) if script.digits is not None else None,
                rng=rng,
                settings=self.settings,
                schedule=self._schedule,
            )
            self._calls[call.sid] = call
            call.start(now)
            log.debug("simulator: call %s queued", call.sid)
            return dict(resource)

    def fetch_call(self, sid: str) -> dict[str, Any]:
        """The call resource as ``GET .../Calls/<sid>.json`` returns it."""
        with self._lock:
            call = self._calls.get(sid)
            if call is None:
                raise not_found(self.account_sid, "Calls", sid)
            return dict(call.resource)

    def create_message(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """Send an SMS from Twilio's form fields; returns the message resource (queued)."""
        to, from_, body = first(params, "To"), first(params, "From"), first(params, "Body")
        if not to:
            raise TwilioError(400, 21604, "A 'To' phone number is required.")
        if not from_:
            raise TwilioError(400, 21603, "A 'From' phone number is required.")
        if not body:
            raise TwilioError(400, 21602, "Message body is required.")
        if not is_valid_number(to):
            raise TwilioError(400, 21211, "Invalid 'To' Phone Number")
        with self._lock:
            if to in self._unsubscribed:
                raise TwilioError(400, 21610, "Attempt to send to unsubscribed recipient")
            now = self._clock()
            drawn = self._choose(self.settings["reply_weights"])
            script = self._scripts.get(to, Script())
            reply = script.reply or drawn
            resource = message_resource(
                new_sid("SM"), self.account_sid, to, from_, body, now, "outbound-api"
            )
            message = Message(
                resource,
                first(params, "StatusCallback"),
                mobile=is_mobile(to),
                reply=None if reply == "none" else reply,
                settings=self.settings,
                schedule=self._schedule,
                on_reply=self._receive,
            )
            self._messages[message.sid] = resource
            message.start(now)
            log.debug("simulator: message %s queued", message.sid)
            return dict(resource)

    def fetch_message(self, sid: str) -> dict[str, Any]:
        """The message resource as ``GET .../Messages/<sid>.json`` returns it."""
        with self._lock:
            resource = self._messages.get(sid)
            if resource is None:
                raise not_found(self.account_sid, "Messages", sid)
            return dict(resource)

    def list_messages(self, filters: Mapping[str, str]) -> list[dict[str, Any]]:
        """Copies of the messages ``GET .../Messages.json`` lists with these filters (To,
        From, DateSent...; see ``listing``), newest first."""
        with self._lock:
            found = [dict(m) for m in self._messages.values() if listing.matches(m, filters)]
        found.reverse()
        return found

    # -- running -----------------------------------------------------------------------

    def run_due(self, now: datetime | None = None) -> int:
        """Run every event due by ``now`` (default: the clock), in order, including those
        that become due meanwhile; returns how many webhooks were posted."""
        now = now or self._clock()
        posted = 0
        with self._run_lock:
            while True:
                with self._lock:
                    if not self._queue or self._queue[0][0] > now:
                        break
                    at, _, handler = heapq.heappop(self._queue)
                    outgoing = handler(at)
                for out in outgoing:
                    status, body = self._deliver(out.url, out.params)
                    with self._lock:
                        self._webhooks.append(Webhook(out.url, dict(out.params), status, at))
                        if out.on_response is not None:
                            out.on_response(status, body)
                    posted += 1
        return posted

    def next_due(self) -> datetime | None:
        """When the next event is due, or None when nothing is pending."""
        with self._lock:
            return self._queue[0][0] if self._queue else None

    # -- test knobs --------------------------------------------------------------------

    def script_number(
        self,
        number: str,
        *,
        answer: str | None = None,
        digits: Iterable[str] | None = None,
        reply: str | None = None,
    ) -> None:
        """Force what ``number`` does on its next calls and messages (over the weights):
        ``answer`` one of human, no-answer, busy, machine, fax, failed; ``digits`` the keys
        pressed at successive ``<Gather>`` ("none": nothing), nothing once used up;
        ``reply`` the text of its SMS replies ("none": no reply)."""
        if answer is not None and answer not in ANSWERS:
            raise ValueError(f"unknown answer {answer!r}")
        with self._lock:
            self._scripts[number] = Script(
                answer, tuple(digits) if digits is not None else None, reply
            )

    def send_inbound(self, sender: str, recipient: str, body: str) -> None:
        """Make ``sender`` text ``body`` to ``recipient`` now, unprompted (a senior who
        texts AIDE, or START after a STOP)."""
        with self._lock:
            self._schedule(self._clock(), lambda t: self._receive(t, sender, recipient, body))

    def place_inbound_call(
        self, sender: str, recipient: str, *, dial_status: str = "completed"
    ) -> str:
        """Make ``sender`` call ``recipient`` (one of our numbers) now, as a senior calling
        back: its voice URL (``/twilio/voice/inbound``) is requested and its answer played;
        a ``<Dial>`` in it reports ``dial_status`` to its action. Returns the CallSid."""
        if dial_status not in DIAL_STATUSES:
            raise ValueError(f"unknown dial status {dial_status!r}")
        with self._lock:
            now = self._clock()
            resource = call_resource(new_sid("CA"), self.account_sid, recipient, sender, now)
            resource.update(direction="inbound", status="ringing")
            call = Call(
                resource,
                {"Url": self.webhook_base_url + INBOUND_CALL_PATH},
                outcome="human",
                digits=[],
                rng=random.Random(self._rng.getrandbits(64)),
                settings=self.settings,
                schedule=self._schedule,
                dial_status=dial_status,
            )
            self._calls[call.sid] = call
            call.ring_in(now)
            return call.sid

    def set_down(self, status: int | None) -> None:
        """Make the REST API answer ``status`` (e.g. 503) to everything; None restores it."""
        with self._lock:
            self._down = status

    @property
    def down(self) -> int | None:
        return self._down

    # -- inspection --------------------------------------------------------------------

    @property
    def calls(self) -> list[dict[str, Any]]:
        """Copies of the call resources, in creation order."""
        with self._lock:
            return [dict(c.resource) for c in self._calls.values()]

    @property
    def messages(self) -> list[dict[str, Any]]:
        """Copies of the message resources (outbound and received), in creation order."""
        with self._lock:
            return [dict(m) for m in self._messages.values()]

    @property
    def webhooks(self) -> list[Webhook]:
        """The webhooks posted (the latest ``WEBHOOK_LOG_SIZE``), in order, with the HTTP
        status each got."""
        with self._lock:
            return list(self._webhooks)

    @property
    def unsubscribed(self) -> frozenset[str]:
        """Numbers that replied STOP (and not START since): sending to them fails."""
        with self._lock:
            return frozenset(self._unsubscribed)

    # -- internals ---------------------------------------------------------------------

    def _schedule(self, at: datetime, handler: Callable[[datetime], list[Outgoing]]) -> None:
        heapq.heappush(self._queue, (at, next(self._order), handler))

    def _choose(self, weights: Mapping[str, float]) -> str:
        return self._rng.choices(list(weights), list(weights.values()))[0]

    def _receive(self, at: datetime, sender: str, recipient: str, text: str) -> list[Outgoing]:
        """An SMS from a senior: a received message, its opt-out keyword, its webhook."""
        resource = message_resource(
            new_sid("SM"), self.account_sid, recipient, sender, text, at, "inbound"
        )
        # Twilio's date_sent of a received message: when it posted the webhook.
        resource["date_sent"] = rfc2822(at)
        self._messages[resource["sid"]] = resource
        keyword = text.strip().upper()
        if keyword in STOP_WORDS:
            self._unsubscribed.add(sender)
        elif keyword in START_WORDS:
            self._unsubscribed.discard(sender)
        log.debug("simulator: message %s received", resource["sid"])
        return [Outgoing(self.webhook_base_url + INBOUND_PATH, inbound_params(resource))]
