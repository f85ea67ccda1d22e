"""Writes of the pre-season check: the test SMS campaign, and the proximity list's export.

Operations flush, never commit, and write their own audit events (the page and the command
line leave the same trail).
"""

from __future__ import annotations

from collections import Counter
from datetime import date, datetime
from typing import Any

from sqlalchemy.orm import Session

from outreach.audit.operations import record
from outreach.campaigns.models import Campaign, CampaignKind, ChannelPolicy
from outreach.campaigns.operations import create_campaign
from outreach.readiness.check import CANICULE_LIST, Readiness
from outreach.readiness.export import proximity_workbook

TEST_SCRIPT = "canicule_test"


def create_test_sms_campaign(
    session: Session, organisation_id: int, today: date, *, user_id: int | None = None
) -> Campaign:
    """A draft one-off SMS campaign to the canicule list with the test script
    (``call_scripts/canicule_test/sms.txt``: "répondez OK pour confirmer ..."), for the
    manager to review and start on the campaign page.

    One SMS each (a test is not retried) and its own message: another campaign's call the
    same day does not replace it, since the point is to try the number by SMS.
    """
    campaign = create_campaign(
        session,
        organisation_id,
        f"Test SMS avant l'été {today.year}",
        CampaignKind.custom,
        created_by_id=user_id,
        channel_policy=ChannelPolicy.sms,
        targeting=dict(CANICULE_LIST),
        script=TEST_SCRIPT,
        max_attempts=1,
        max_attempts_per_day=1,
        own_message=True,
    )
    record(
        session,
        action="create",
        entity="campaign",
        entity_id=campaign.id,
        organisation_id=organisation_id,
        user_id=user_id,
        details={"kind": "custom", "script": TEST_SCRIPT},
    )
    session.flush()
    return campaign


def export_proximity_list(
    session: Session,
    readiness: Readiness,
    organisation_names: dict[int, str],
    now: datetime,
    *,
    user_id: int | None = None,
    via: str | None = None,
) -> bytes:
    """Record the export (one event per organisation, with its row count), then return the
    XLSX list for the proximity staff."""
    rows = Counter(e.organisation_id for e in readiness.entries)
    extra: dict[str, Any] = {"via": via} if via else {}
    for org_id in readiness.organisation_ids:
        record(
            session,
            action="export",
            entity="roster",
            organisation_id=org_id,
            user_id=user_id,
            details={"rows": rows.get(org_id, 0), "filters": ["canicule_readiness"], **extra},
        )
    session.flush()
    return proximity_workbook(readiness, organisation_names, now)
