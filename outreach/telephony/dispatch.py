"""The dispatcher: due IVR and SMS tasks go to the gateway at the allowed rate.

Outbox order, so that a crash never dials twice: the task is taken and its attempt row is
*committed* as ``dispatching`` before the gateway is called; the gateway's SID is recorded
in a second commit. A crash between the two leaves a ``dispatching`` attempt without SID,
which ``reconcile`` settles at the next start without calling again (see there). The
webhook URLs carry the attempt id, so callbacks of such a call still find their attempt.

One dispatcher runs at a time (the scheduler's leader). Rates are held by a pacer per
channel that spaces requests ``1/rate`` seconds apart as they leave, across runs too.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import exists, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from outreach.accounts.models import Organisation
from outreach.calls.models import Attempt, AttemptChannel
from outreach.calls.scripts import ScriptNotFound, script_context
from outreach.campaigns import lifecycle
from outreach.campaigns.models import Campaign, CampaignState, ChannelPolicy, Task, TaskState
from outreach.campaigns.schedule import in_window, paris_today
from outreach.roster.eligibility import ineligible
from outreach.roster.models import Senior
from outreach.telephony import accounts, contacts, health, sms
from outreach.telephony.gateway import ERROR_UNSUBSCRIBED, Gateway, GatewayError, Sent
from outreach.telephony.numbers import Target
from outreach.telephony.outcomes import to_staff
from outreach.telephony.reconcile import reconcile
from outreach.telephony.sms_text import ensure_compliant, render_sms
from outreach.telephony.status import CALL_RANK, DISPATCHING, NOT_SENT, SMS_RANK, UNKNOWN
from outreach.telephony.urls import webhook_url

AUTOMATED = (ChannelPolicy.ivr, ChannelPolicy.sms)
BATCH = 100


class Pacer:
    """Spaces the requests of one channel ``1/rate`` seconds apart, as the gateway sees them.

    ``wait`` returns at moments ``1/rate`` apart. A gateway counts requests as they reach it,
    though, and a request may leave late (the first one of an HTTP client sets up its
    connection and TLS): followed on time by the next, two would share one slot. So when
    the gateway reports when its requests actually left (``departed``, on the same clock),
    the next one also waits ``(1 s + GUARD) / rate`` after the previous one *left*. The
    gateway keeps that moment for the whole process, so the first request of the next
    dispatcher run (a new Pacer) keeps its distance from this run's last one. GUARD absorbs
    the network's jitter between leaving and arriving: no one-second window at the gateway
    holds more than ``rate`` requests, for a pace 2 % under the rate.
    """

    GUARD = 0.02

    def __init__(
        self,
        rate: float,
        clock: Callable[[], float],
        sleep: Callable[[float], None],
        departed: Callable[[], float | None] | None = None,
    ):
        self.interval = 1.0 / rate
        self.spacing = (1.0 + self.GUARD) / rate
        self.clock = clock
        self.sleep = sleep
        self.departed = departed
        self.next_at: float | None = None

    @classmethod
    def for_gateway(
        cls,
        rate: float,
        gateway: Gateway,
        kind: str,
        clock: Callable[[], float],
        sleep: Callable[[float], None],
    ) -> Pacer:
        """A pacer of ``kind`` ("call", "sms") requests to ``gateway``, paced on their
        departures when the gateway notes them (``last_departure``, on time.monotonic) and
        ``clock`` is that clock too (tests that drive a fake clock are paced on it alone)."""
        last = getattr(gateway, "last_departure", None)
        if last is None or clock is not time.monotonic:
            return cls(rate, clock, sleep)
        return cls(rate, clock, sleep, lambda: last(kind))

    def _due(self) -> float | None:
        due = self.next_at
        left = self.departed() if self.departed is not None else None
        if left is not None:
            due = left + self.spacing if due is None else max(due, left + self.spacing)
        return due

    def ready_at(self) -> float:
        due = self._due()
        return self.clock() if due is None else due

    def wait(self) -> None:
        now = self.clock()
        due = self._due()
        if due is not None and now < due:
            self.sleep(due - now)
            now = due
        self.next_at = now + self.interval


@dataclass
class DispatchResult:
    calls: int = 0
    sms: int = 0
    cancelled: int = 0
    not_sent: int = 0
    reconciled: int = 0
    failed_over: int = 0
    gateway_down: bool = False
    busy_seconds: float = 0.0  # the dispatcher's own time, sleeps excluded
    skipped: set[int] = field(default_factory=set)

    def summary(self) -> str:
        down = ", gateway failing" if self.gateway_down else ""
        return (
            f"dispatch: {self.calls} calls, {self.sms} SMS, {self.cancelled} cancelled, "
            f"{self.not_sent} not sent, {self.reconciled} reconciled, "
            f"{self.failed_over} to staff{down}"
        )


class Dispatcher:
    def __init__(
        self,
        session: Session,
        config: dict[str, dict[str, Any]],
        gateway: Gateway,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        monotonic: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
        gateways: Mapping[str, Gateway] | None = None,
    ) -> None:
        self.session = session
        self.config = config
        self.tel = config["telephony"]
        self.gateway = gateway
        self.clock = clock
        self.monotonic = monotonic
        self.sleep = sleep
        # One gateway client per account (``gateway``: the default one; the named accounts'
        # are ``gateways`` or made when first needed) and one pacer per account and channel.
        self.accounts = accounts.Accounts(session, config, gateway, gateways)
        self.pacers: dict[tuple[str, ChannelPolicy], Pacer] = {}
        self.result = DispatchResult()
        self._slept = 0.0
        self._windows: dict[tuple[int, str | None], bool] = {}

    def _sleep(self, seconds: float) -> None:
        self._slept += seconds
        self.sleep(seconds)

    # -- the run -------------------------------------------------------------------------

    def run(self, max_seconds: float | None = None) -> DispatchResult:
        """Send what is due until nothing is left or ``max_seconds`` have passed."""
        budget = self.tel["dispatch_max_seconds"] if max_seconds is None else max_seconds
        start = self.monotonic()
        now = self.clock()
        lanes = self.accounts.load()
        self.result.reconciled = reconcile(self.session, self.config, self.accounts.any(), now)
        self.result.failed_over = health.fail_over_if_down(self.session, self.config, now)
        self.session.commit()
        # Each lane (an account's channel) reads its own queue and refills it when empty, so
        # that each keeps its own rate whatever the order of the due tasks (one campaign's
        # calls all before another's SMS, one landlord's before another's); a lane found
        # empty rests until the next run.
        queues: dict[tuple[str, ChannelPolicy], list[int]] = {
            (a, c): [] for a in lanes for c in AUTOMATED
        }
        rested: set[tuple[str, ChannelPolicy]] = set()
        while self.monotonic() - start < budget and not self.result.gateway_down:
            for lane in queues:
                if not queues[lane] and lane not in rested:
                    queues[lane] = self._due(self.clock(), lane[1], lanes[lane[0]])
                    if not queues[lane]:
                        rested.add(lane)
            ready = [lane for lane in queues if queues[lane]]
            if not ready:
                break
            # Serve the lane whose pacer is ready first.
            lane = min(ready, key=lambda lane: self._pacer(*lane).ready_at())
            self._one(queues[lane].pop(0))
        if self.result.gateway_down:
            self.result.failed_over += health.fail_over_if_down(
                self.session, self.config, self.clock()
            )
        self.session.commit()
        self.result.busy_seconds = self.monotonic() - start - self._slept
        return self.result

    def _open_campaigns(self, now: datetime) -> list[int]:
        rows = self.session.execute(
            select(Campaign.id, Campaign.call_window, Campaign.skip_holidays).where(
                Campaign.state == CampaignState.active,
                Campaign.channel_policy.in_(
                    [ChannelPolicy.ivr, ChannelPolicy.sms, ChannelPolicy.ivr_then_staff]
                ),
            )
        ).all()
        return [r.id for r in rows if in_window(now, r.call_window or {}, r.skip_holidays)]

    def _pacer(self, account: str, channel: ChannelPolicy) -> Pacer:
        """The pacer of one account's channel: Twilio counts its rate per account."""
        key = (account, channel)
        if key not in self.pacers:
            ivr = channel == ChannelPolicy.ivr
            self.pacers[key] = Pacer.for_gateway(
                self.accounts.rate(account, "call" if ivr else "sms"),
                self.accounts.gateway(account),
                "call" if ivr else "sms",
                self.monotonic,
                self._sleep,
            )
        return self.pacers[key]

    # -- the due tasks -----------------------------------------------------------------

    def _due(
        self, now: datetime, channel: ChannelPolicy, organisation_ids: list[int] | None = None
    ) -> list[int]:
        """Ids of the next due tasks of one channel (of some organisations: one account's),
        most urgent first; for calls, a senior with a call in flight is left for later."""
        campaign_ids = self._open_campaigns(now)
        if not campaign_ids:
            return []
        stmt = (
            select(Task.id)
            .where(
                Task.campaign_id.in_(campaign_ids),
                Task.state == TaskState.pending,
                Task.lead_id.is_(None),  # one contact a day: the senior's leading task only
                Task.channel == channel,
                Task.due_date <= paris_today(now),
                or_(Task.not_before.is_(None), Task.not_before <= now),
            )
            # Within a priority, everyone's first attempt before anyone's retry: in a
            # heatwave the question is whether anyone was forgotten, so the last senior's
            # first call must not wait behind others' second and third ones.
            # (A call on her other number keeps ``attempts`` at 0: a round of her numbers is
            # one try, see telephony.numbers; so "tried already" is read off the attempts.)
            .order_by(
                Task.priority,
                exists().where(Attempt.task_id == Task.id, Attempt.direction == "outbound"),
                Task.due_date,
                Task.fragility_rank,
                Task.id,
            )
            .limit(BATCH)
        )
        if channel == ChannelPolicy.ivr:
            stmt = stmt.where(
                ~exists().where(
                    Attempt.senior_id == Task.senior_id,
                    Attempt.channel == AttemptChannel.ivr,
                    Attempt.ended_at.is_(None),
                )
            )
        if self.result.skipped:
            stmt = stmt.where(Task.id.not_in(self.result.skipped))
        if organisation_ids is not None:
            stmt = stmt.where(Task.organisation_id.in_(organisation_ids))
        return list(self.session.scalars(stmt))

    # -- one task ------------------------------------------------------------------------

    def _one(self, task_id: int) -> None:
        s = self.session
        now = self.clock()
        task = s.get(Task, task_id, populate_existing=True)
        if task is None or task.state != TaskState.pending or task.channel not in AUTOMATED:
            return
        senior = s.get(Senior, task.senior_id)
        campaign = s.get(Campaign, task.campaign_id)
        assert senior is not None and campaign is not None
        channel = ChannelPolicy(task.channel)
        key = (campaign.id, senior.departement)
        if key not in self._windows:
            self._windows[key] = in_window(
                now, campaign.call_window or {}, campaign.skip_holidays, senior.departement
            )
        if not self._windows[key]:
            self.result.skipped.add(task.id)  # a local holiday: not today for this senior
            return
        channel_checked = contacts.checked_channel(task, campaign)
        reason = ineligible(senior, channel_checked, paris_today(now), campaign.kind)
        if reason is not None:
            lifecycle.close(s, task, TaskState.cancelled, now, reason=reason.value)
            s.commit()
            self.result.cancelled += 1
            return
        # Which of her numbers (telephony.numbers), or her emergency contact's.
        target = contacts.target(s, task, senior, now)
        if target is None:
            contacts.no_target(s, task, now)
            s.commit()
            return
        body = None
        if channel == ChannelPolicy.sms:
            body = self._sms_body(senior, campaign, now, target.script)
            if body is None:
                self.result.skipped.add(task.id)
                return
        account = self.accounts.route(task.organisation_id).account
        if account is None:  # an account no longer configured: warned, nothing sent
            self.result.skipped.add(task.id)
            return
        attempt = self._write_outbox(task, channel, now, target)
        if attempt is None:
            return
        self._pacer(account, channel).wait()
        self._send(task, attempt, senior, channel, body)

    def _sms_body(
        self, senior: Senior, campaign: Campaign, now: datetime, script: str | None = None
    ) -> str | None:
        org = self.session.get(Organisation, senior.organisation_id)
        assert org is not None
        context = script_context(senior, org, campaign, "", paris_today(now))
        try:
            text = render_sms(script or campaign.script, context)
        except ScriptNotFound:
            return None
        return ensure_compliant(text, org.name)

    def _write_outbox(
        self, task: Task, channel: ChannelPolicy, now: datetime, target: Target
    ) -> Attempt | None:
        """Take the task and commit its attempt, with the number it dials, before any
        request leaves."""
        s = self.session
        if not lifecycle.mark_queued(s, task.id):
            s.rollback()
            return None
        attempt = Attempt(
            organisation_id=task.organisation_id,
            task_id=task.id,
            senior_id=task.senior_id,
            channel=AttemptChannel(channel.value),
            started_at=now,
            gateway_status=DISPATCHING,
            phone=target.phone,
            contact_id=target.contact_id,
        )
        s.add(attempt)
        try:
            s.commit()
        except IntegrityError:
            # The database refused a second call in flight for this senior.
            s.rollback()
            self.result.skipped.add(task.id)
            return None
        return attempt

    def _send(
        self,
        task: Task,
        attempt: Attempt,
        senior: Senior,
        channel: ChannelPolicy,
        body: str | None,
    ) -> None:
        s = self.session
        try:
            sent = self._request(attempt, senior, channel, body)
        except GatewayError as exc:
            self._failed(task, attempt, channel, exc)
            return
        ranks = CALL_RANK if channel == ChannelPolicy.ivr else SMS_RANK
        # Callbacks may have come first and moved the attempt on: never move it back.
        s.execute(
            update(Attempt)
            .where(Attempt.id == attempt.id, Attempt.gateway_sid.is_(None))
            .values(gateway_sid=sent.sid)
            .execution_options(synchronize_session=False)
        )
        s.execute(
            update(Attempt)
            .where(Attempt.id == attempt.id, Attempt.gateway_status == DISPATCHING)
            .values(gateway_status=sent.status if sent.status in ranks else "queued")
            .execution_options(synchronize_session=False)
        )
        health.record_ok(s, self.clock())
        s.commit()
        if channel == ChannelPolicy.ivr:
            self.result.calls += 1
        else:
            self.result.sms += 1

    def _request(
        self, attempt: Attempt, senior: Senior, channel: ChannelPolicy, body: str | None
    ) -> Sent:
        tries = self.tel["request_tries"]
        for i in range(tries):
            try:
                to = attempt.phone  # chosen at outbox time (telephony.numbers, contacts)
                assert to is not None
                if channel == ChannelPolicy.ivr:
                    return self.accounts.for_org(senior.organisation_id).place_call(
                        to,
                        webhook_url(self.config, "voice_answer", a=attempt.id),
                        webhook_url(self.config, "voice_status", a=attempt.id),
                    )
                assert body is not None
                return self.accounts.for_org(senior.organisation_id).send_sms(
                    to, body, webhook_url(self.config, "sms_status", a=attempt.id)
                )
            except GatewayError as exc:
                if not exc.retryable or i == tries - 1:
                    raise
                self._sleep(0.5 * 2**i)  # 0.5 s, 1 s, 2 s...
        raise AssertionError("unreachable")

    def _failed(
        self, task: Task, attempt: Attempt, channel: ChannelPolicy, exc: GatewayError
    ) -> None:
        """The gateway did not take the request (or may have: ``ambiguous``)."""
        s = self.session
        now = self.clock()
        s.refresh(task)
        s.refresh(attempt)
        attempt.ended_at = now
        attempt.error_code = exc.code
        self.result.not_sent += 1
        if exc.ambiguous:
            # Maybe placed: never repeat it blindly; a person checks instead.
            attempt.gateway_status = UNKNOWN
            task.disposition = "uncertain"
            to_staff(task, now)
        elif exc.retryable:
            # Nothing was placed: the outbox entry goes, and the task waits for the gateway
            # without losing a try.
            s.delete(attempt)
            lifecycle.reopen(task)
            task.attempts = max(0, task.attempts - 1)
            health.record_failure(s, now, str(exc))
            self.result.gateway_down = True
        else:
            attempt.gateway_status = NOT_SENT
            if exc.code == ERROR_UNSUBSCRIBED:
                sms.settle(s, attempt, NOT_SENT, exc.code, now)
            elif contacts.refused_number(s, task, attempt, exc.code, now):
                pass  # her other number at once, or the fallback's next step
            else:
                # Refused for this number (invalid, not reachable): a person looks at it.
                task.disposition = f"refused_{exc.code or exc.status}"
                to_staff(task, now)
        s.commit()


def dispatch(
    session: Session, config: dict[str, dict[str, Any]], gateway: Gateway, **kwargs: Any
) -> DispatchResult:
    """One dispatcher run (the `dispatch` job)."""
    return Dispatcher(session, config, gateway, **kwargs).run()
