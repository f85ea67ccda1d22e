"""One simulated outbound call: its status callbacks, its TwiML requests, its callee.

Timeline (Twilio's order): ``initiated`` → ``ringing`` → after ``ring_seconds`` either a
final no-answer/busy/failed status, or the answer: the TwiML request to ``Url`` (with
``AnsweredBy`` when machine detection was asked), the ``answered`` callback, then the
document is played verb by verb; a key pressed posts to the ``<Gather>`` action, a
``<Redirect>`` posts to its URL, a ``<Hangup>`` or the end of the document ends the call with
the final ``completed`` callback. Every step runs at a time on the simulator's clock.
"""

from __future__ import annotations

import logging
import math
import random
from collections import deque
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urljoin

from outreach.telephony.simulator import twiml
from outreach.telephony.simulator.resources import API_VERSION, Outgoing, rfc2822

log = logging.getLogger(__name__)

Handler = Callable[[datetime], list[Outgoing]]
Schedule = Callable[[datetime, Handler], None]

# Twilio gives up on a document that keeps redirecting; so does the simulator.
MAX_ROUND_TRIPS = 10
FINAL_STATUSES = {"completed", "busy", "no-answer", "failed", "canceled"}
ANSWERED_BY = {"human": "human", "machine": "machine_start", "fax": "fax"}
STEP = timedelta(seconds=1)


class Call:
    """The state and the scripted behaviour of one call, driven by scheduled handlers."""

    def __init__(
        self,
        resource: dict[str, Any],
        params: dict[str, Any],
        outcome: str,
        digits: list[str] | None,
        rng: random.Random,
        settings: dict[str, Any],
        schedule: Schedule,
        dial_status: str = "completed",
    ) -> None:
        self.resource = resource
        self.url: str = params["Url"]
        self.status_callback: str = params.get("StatusCallback") or ""
        # Twilio sends only "completed" when no event was asked for.
        self.events: set[str] = set(params.get("StatusCallbackEvent") or ["completed"])
        self.amd = (params.get("MachineDetection") or "").lower() in ("enable", "detectmessageend")
        self.outcome = outcome
        # Scripted keys are used in order, then nothing more is pressed.
        self.digits = deque(digits) if digits is not None else None
        self.rng = rng
        self.settings = settings
        self.schedule = schedule
        self.sequence = 0
        self.round_trips = 0
        self.answered_at: datetime | None = None
        self.ended = False
        # What a <Dial> of this call reports to its action (DialCallStatus).
        self.dial_status = dial_status

    @property
    def sid(self) -> str:
        return str(self.resource["sid"])

    # -- parameters --------------------------------------------------------------------

    def _common(self) -> dict[str, str]:
        r = self.resource
        params = {
            "CallSid": r["sid"],
            "AccountSid": r["account_sid"],
            "From": r["from"],
            "To": r["to"],
            "Caller": r["from"],
            "Called": r["to"],
            "CallStatus": r["status"],
            "ApiVersion": API_VERSION,
            "Direction": r["direction"],
        }
        if self.amd and r["answered_by"]:
            params["AnsweredBy"] = r["answered_by"]
        return params

    def _status_callback(self, event: str, at: datetime, **extra: str) -> list[Outgoing]:
        final = self.resource["status"] in FINAL_STATUSES
        if not self.status_callback or (event not in self.events and not final):
            return []
        params = self._common() | extra
        params["CallbackSource"] = "call-progress-events"
        params["SequenceNumber"] = str(self.sequence)
        params["Timestamp"] = rfc2822(at)
        self.sequence += 1
        return [Outgoing(self.status_callback, params)]

    def _set(self, at: datetime, status: str, **fields: Any) -> None:
        self.resource.update(status=status, date_updated=rfc2822(at), **fields)
        log.debug("call %s: %s", self.sid, status)

    # -- progress ----------------------------------------------------------------------

    def start(self, at: datetime) -> None:
        """Schedule the call's first event (``initiated``) at ``at``."""
        self.schedule(at, self._initiated)

    def ring_in(self, at: datetime) -> None:
        """An inbound call: answered by our number at ``at`` (its voice URL requested)."""
        self.schedule(at, self._answer)

    def _initiated(self, at: datetime) -> list[Outgoing]:
        self._set(at, "initiated")
        if self.outcome == "failed":
            # A call that cannot be set up never rings.
            self.schedule(at + STEP, lambda t: self._unanswered(t, "failed"))
        else:
            self.schedule(at + STEP, self._ringing)
        return self._status_callback("initiated", at)

    def _ringing(self, at: datetime) -> list[Outgoing]:
        self._set(at, "ringing")
        ring = timedelta(seconds=self.settings["ring_seconds"])
        if self.outcome == "busy":
            self.schedule(at + STEP, lambda t: self._unanswered(t, "busy"))
        elif self.outcome == "no-answer":
            self.schedule(at + ring, lambda t: self._unanswered(t, "no-answer"))
        else:
            self.schedule(at + ring, self._answer)
        return self._status_callback("ringing", at)

    def _unanswered(self, at: datetime, status: str) -> list[Outgoing]:
        self.ended = True
        self._set(at, status, end_time=rfc2822(at), duration="0")
        return self._status_callback("completed", at, CallDuration="0", Duration="0")

    def _answer(self, at: datetime) -> list[Outgoing]:
        self.answered_at = at
        answered_by = ANSWERED_BY[self.outcome] if self.amd else None
        self._set(at, "in-progress", start_time=rfc2822(at), answered_by=answered_by)
        return [self._request(self.url, at, {})] + self._status_callback("answered", at)

    def _request(self, url: str, at: datetime, extra: dict[str, str]) -> Outgoing:
        """A TwiML request (the answer URL, a gather action, a redirect)."""
        self.round_trips += 1
        return Outgoing(
            url,
            self._common() | extra,
            lambda status, body: self._on_twiml(url, at, status, body),
        )

    def _follow(self, url: str, extra: dict[str, str]) -> Handler:
        def handler(at: datetime) -> list[Outgoing]:
            if self.ended:
                return []
            if self.round_trips >= MAX_ROUND_TRIPS:
                log.info("call %s: %d TwiML requests, hanging up", self.sid, self.round_trips)
                return self._end(at)
            return [self._request(url, at, extra)]

        return handler

    def _end(self, at: datetime) -> list[Outgoing]:
        if self.ended:
            return []
        self.ended = True
        assert self.answered_at is not None
        seconds = round((at - self.answered_at).total_seconds())
        self._set(at, "completed", end_time=rfc2822(at), duration=str(seconds))
        # Duration: billed minutes, rounded up, as Twilio sends it; CallDuration: seconds.
        minutes = str(math.ceil(seconds / 60))
        return self._status_callback("completed", at, CallDuration=str(seconds), Duration=minutes)

    # -- the callee in front of a TwiML document ----------------------------------------

    def _on_twiml(self, url: str, at: datetime, status: int, body: str) -> None:
        if self.ended:
            return
        try:
            if not 200 <= status < 300:
                raise twiml.TwiMLError(f"HTTP {status}")
            verbs = twiml.parse(body)
        except twiml.TwiMLError as exc:
            # Twilio plays "an application error has occurred" and hangs up.
            log.warning("call %s: unusable TwiML (%s), hanging up", self.sid, exc)
            self.schedule(at, self._end)
            return
        self._play(verbs, url, at)

    def _play(self, verbs: list[twiml.Verb], url: str, at: datetime) -> None:
        talk = timedelta(seconds=self.settings["talk_seconds"])
        t = at
        for verb in verbs:
            if isinstance(verb, twiml.Say):
                t += talk
            elif isinstance(verb, twiml.Pause):
                t += timedelta(seconds=verb.seconds)
            elif isinstance(verb, twiml.Gather):
                for prompt in verb.prompts:
                    t += (
                        talk if isinstance(prompt, twiml.Say) else timedelta(seconds=prompt.seconds)
                    )
                digit = self._press()
                if digit is not None:
                    action = urljoin(url, verb.action or url)
                    self.schedule(t + STEP, self._follow(action, {"Digits": digit}))
                    return
                # Nothing pressed: Twilio waits ``timeout`` then goes on with the next verb.
                t += timedelta(seconds=verb.timeout)
            elif isinstance(verb, twiml.Dial):
                # The other side rings; answered, the two talk.
                t += timedelta(seconds=min(verb.timeout, self.settings["ring_seconds"]))
                if self.dial_status == "completed":
                    t += talk
                if verb.action:
                    extra = {"DialCallStatus": self.dial_status}
                    self.schedule(t, self._follow(urljoin(url, verb.action), extra))
                    return
            elif isinstance(verb, twiml.Redirect):
                self.schedule(t, self._follow(urljoin(url, verb.url), {}))
                return
            elif isinstance(verb, twiml.Hangup):
                break
        self.schedule(t, self._end)

    def _press(self) -> str | None:
        """The key the callee presses at a ``<Gather>``, or None."""
        if self.outcome != "human":
            return None  # answering machines and faxes never press
        if self.digits is not None:
            choice = self.digits.popleft() if self.digits else "none"
        else:
            weights = self.settings["digit_weights"]
            choice = self.rng.choices(list(weights), list(weights.values()))[0]
        return None if choice == "none" else choice
