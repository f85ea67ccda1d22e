"""The rehearsal's clock: simulated time that moves only when the rehearsal moves it.

Everything the rehearsal runs reads this clock (the dispatcher's pacing sleeps advance it,
the simulator's events and the jobs are due on it), so a day plays in minutes and a seeded
run replays exactly.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

_EPOCH = datetime(2000, 1, 1, tzinfo=UTC)


class VirtualClock:
    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("the rehearsal clock needs an aware datetime")
        self._now = start.astimezone(UTC)

    def now(self) -> datetime:
        return self._now

    def monotonic(self) -> float:
        """Seconds on the same simulated time line (for the dispatcher's pacers)."""
        return (self._now - _EPOCH).total_seconds()

    def sleep(self, seconds: float) -> None:
        """What a pacer's wait does here: simulated time passes, no real time."""
        if seconds > 0:
            self._now += timedelta(seconds=seconds)

    def advance_to(self, moment: datetime) -> None:
        if moment > self._now:
            self._now = moment
