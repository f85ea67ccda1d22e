"""Every value a page may show has its French label: a cause or an alert event without one
would show as a raw code ("help_requested") to a social worker."""

from __future__ import annotations

import re
from pathlib import Path

from outreach.escalation.models import AlertCause
from outreach.web.alerts_forms import CAUSE_LABELS, EVENT_LABELS

SOURCE = Path(__file__).resolve().parents[2] / "outreach"


def test_every_alert_cause_has_a_label():
    assert set(CAUSE_LABELS) == set(AlertCause)


def test_every_alert_event_written_has_a_label():
    written = set()
    for path in SOURCE.rglob("*.py"):
        code = path.read_text(encoding="utf-8")
        written |= set(re.findall(r'AlertEvent\([^)]*action="([a-z_]+)"', code))
        written |= set(re.findall(r'_event\(\s*session,\s*alert,\s*"([a-z_]+)"', code))
    assert {"opened", "resolved", "escalated", "erased"} <= written  # the scan sees them
    assert written - set(EVENT_LABELS) == set()
