"""The SMS preview of the campaign page: the campaign's sms.txt rendered for one senior.

The manager sees the text as it will leave (with the footer ``ensure_compliant`` adds),
what it costs (GSM-7 or UCS-2, how many SMS) and what the script itself misses, so that a
circumflex or a forgotten STOP is caught before thousands of messages go out.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from outreach.accounts.models import Organisation
from outreach.calls.scripts import ScriptNotFound, script_context
from outreach.campaigns import targeting
from outreach.campaigns.models import Campaign
from outreach.roster.models import Senior
from outreach.telephony import sms_text


def _sample_senior(session: Session, campaign: Campaign, today: date) -> tuple[Senior, bool]:
    """The first senior the campaign targets, else a fictive one: (senior, is_real)."""
    try:
        where = targeting.clause(campaign.targeting or {}, today)
    except targeting.TargetingError:
        where = None
    if where is not None:
        senior = session.scalars(
            select(Senior)
            .where(Senior.organisation_id == campaign.organisation_id, Senior.active, where)
            .order_by(Senior.id)
            .limit(1)
        ).first()
        if senior is not None:
            return senior, True
    # Never added to the session: a transient object only read by the template context.
    fictive = Senior(
        civility="Mme",
        first_name="Jeanne",
        last_name="Martin",
        birth_date=date(today.year - 82, 1, 1),
        lives_alone=True,
        city=None,
    )
    return fictive, False


def sms_preview(
    session: Session, campaign: Campaign, organisation: Organisation, today: date
) -> dict[str, Any] | None:
    """What the campaign's SMS looks like, or None when its script has no sms.txt.

    Keys: ``text`` (as sent), ``script_text`` (as the script renders it), ``info``
    (``SmsInfo`` of the sent text), ``forcing`` (the characters forcing UCS-2, named),
    ``problems`` (what the script misses, in French), ``senior`` (display name),
    ``age`` and ``real`` (whether the sample is a senior of the roster).
    """
    senior, real = _sample_senior(session, campaign, today)
    context = script_context(senior, organisation, campaign, "", today)
    try:
        script_text = sms_text.render_sms(campaign.script, context)
    except ScriptNotFound:
        return None
    text = sms_text.ensure_compliant(script_text, organisation.name)
    info = sms_text.analyse(text)
    return {
        "text": text,
        "script_text": script_text,
        "info": info,
        "forcing": [sms_text.describe_char(c) for c in info.ucs2_characters],
        "problems": sms_text.problems(script_text, [organisation.name]),
        "senior": senior.display_name,
        "age": senior.age_on(today),
        "real": real,
    }
