"""The service's one time zone: Europe/Paris, the only place it is named.

The database stores UTC; this zone is applied at the edges: the calendar day of a task,
call windows, the scheduler's cron triggers, dates shown and typed in the pages, the
texts of notifications. It is a constant and not a setting on purpose: the call windows,
the French public holidays and the consumer-code calling hours are rules of metropolitan
France, so a deployment elsewhere needs more than another clock, and a setting read in
some places and not in others would let the pages and the scheduler disagree on the day.

``campaigns.schedule`` re-exports ``PARIS`` for the modules that import it from there.
"""

from __future__ import annotations

from zoneinfo import ZoneInfo

PARIS = ZoneInfo("Europe/Paris")
