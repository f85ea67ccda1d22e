"""A senior with something in every table that can hold her data (the rights tests)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

import pytest

from outreach.accounts.models import User
from outreach.audit.models import AuditEvent
from outreach.calls.models import Attempt, AttemptChannel, Severity, Signal, SignalKind
from outreach.calls.outcomes import Disposition, Outcome
from outreach.campaigns.models import (
    Campaign,
    CampaignKind,
    ChannelPolicy,
    Skip,
    SkipReason,
    Task,
    TaskState,
)
from outreach.escalation.models import Alert, AlertCause, AlertEvent
from outreach.notifications.models import Notification
from outreach.partners.models import Partner, PartnerKind, Referral
from outreach.roster.models import (
    ConsentChange,
    ConsentEvent,
    ConsentSource,
    ConsentStatus,
    EmergencyContact,
    Senior,
)
from outreach.telephony.inbox import WebhookInbox
from outreach.telephony.models import GatewayHealth
from tests.factories import make_org, make_senior, make_user

NOW = datetime(2026, 3, 10, 9, 30, tzinfo=UTC)
FIRST, LAST = "Zéphyrine", "Quintavalle"
MOBILE, LANDLINE = "+33698765431", "+33247112233"
REF = "RGPD-0042"
# What must be gone from the database once she is erased (her numbers as they are written).
TRACES = [LAST, FIRST, MOBILE, LANDLINE, "0698765431", "0247112233", "06 98 76 54 31", REF]


@dataclass
class Held:
    org_id: int
    senior_id: int
    other_id: int
    manager: User
    admin: User
    caller: User
    attempt_id: int
    alert_id: int


@pytest.fixture
def held(session) -> Held:
    org = make_org(session, "bailleur-rgpd", "Touraine Logement")
    manager = make_user(session, org, "manager")
    admin = make_user(session, org, "admin")
    caller = make_user(session, org, "caller")
    senior = make_senior(
        session, org, external_ref=REF, first_name=FIRST, last_name=LAST,
        birth_date=date(1938, 5, 17), phone_mobile=MOBILE, phone_landline=LANDLINE,
        address="12 rue des Tilleuls", postcode="37300", city="Joué-lès-Tours",
        residence="Les Tilleuls bât. B", consent_source="courrier du 3 mars",
        pause_reason="hôpital Bretonneau", departement="37",
    )  # fmt: skip
    other = make_senior(session, org, first_name="Odette", last_name="Ribaud",
                        phone_mobile="+33611112222")  # fmt: skip
    senior.emergency_contacts.append(
        EmergencyContact(
            organisation_id=org.id,
            name=f"Paul {LAST}",
            relation="fils",
            phone="+33611223344",
            notes="appeler le soir",
        )  # fmt: skip
    )
    session.add(
        ConsentEvent(
            organisation_id=org.id,
            senior_id=senior.id,
            at=NOW - timedelta(days=30),
            change=ConsentChange.given,
            source=ConsentSource.import_,
            status=ConsentStatus.given,
            phone=True,
            sms=True,
            stated_on=date(2026, 2, 1),
            detail="courrier",
        )  # fmt: skip
    )
    campaign = Campaign(organisation_id=org.id, name="Courtoisie 2026", kind=CampaignKind.courtesy)
    session.add(campaign)
    session.flush()
    done = Task(organisation_id=org.id, campaign_id=campaign.id, senior_id=senior.id,
                due_date=date(2026, 3, 2), channel=ChannelPolicy.staff, state=TaskState.done,
                outcome=Outcome.reached_concern, completed_at=NOW - timedelta(days=8))  # fmt: skip
    upcoming = Task(organisation_id=org.id, campaign_id=campaign.id, senior_id=senior.id,
                    due_date=date(2026, 3, 12), channel=ChannelPolicy.staff)  # fmt: skip
    session.add_all([done, upcoming])
    session.flush()
    call = Attempt(organisation_id=org.id, senior_id=senior.id, task_id=done.id,
                   channel=AttemptChannel.staff, user_id=caller.id,
                   started_at=NOW - timedelta(days=8), ended_at=NOW - timedelta(days=8),
                   disposition=Disposition.reached_concern, outcome=Outcome.reached_concern,
                   notes=f"Mme {LAST} se sent seule depuis le départ de son fils",
                   duration_seconds=312)  # fmt: skip
    reply = Attempt(organisation_id=org.id, senior_id=senior.id, channel=AttemptChannel.sms,
                    direction="inbound", started_at=NOW - timedelta(days=7),
                    reply=f"C'est {FIRST}, rappelez-moi au 06 98 76 54 31",
                    outcome=Outcome.reply_to_read)  # fmt: skip
    session.add_all([call, reply])
    session.flush()
    session.add(
        Signal(
            organisation_id=org.id,
            attempt_id=call.id,
            senior_id=senior.id,
            kind=SignalKind.isolation,
            severity=Severity.concern,
            note="ne sort plus de chez elle",
            created_at=NOW - timedelta(days=8),
        )  # fmt: skip
    )
    alert = Alert(organisation_id=org.id, senior_id=senior.id, cause=AlertCause.concern_signal,
                  severity=Severity.concern, summary=f"Signal : isolement ({FIRST} {LAST})",
                  opened_at=NOW - timedelta(days=8), due_at=NOW - timedelta(days=5))  # fmt: skip
    session.add(alert)
    session.flush()
    session.add(AlertEvent(alert_id=alert.id, at=alert.opened_at, action="opened",
                           detail=f"Signal : isolement ({FIRST} {LAST})"))  # fmt: skip
    partner = Partner(organisation_id=org.id, name="CCAS de Joué-lès-Tours", kind=PartnerKind.ccas)
    session.add(partner)
    session.flush()
    session.add(
        Referral(
            organisation_id=org.id,
            senior_id=senior.id,
            partner_id=partner.id,
            alert_id=alert.id,
            user_id=manager.id,
            note=f"portage de repas pour {LAST}",
            created_at=NOW - timedelta(days=6),
        )  # fmt: skip
    )
    session.add(
        Skip(
            organisation_id=org.id,
            campaign_id=campaign.id,
            senior_id=senior.id,
            day=date(2026, 2, 20),
            reason=SkipReason.paused,
            detail="Courtoisie 2026",
        )  # fmt: skip
    )
    # Copies in other tables: the gateway's payloads, the outbox, the audit, the gateway state.
    session.add_all(
        [
            WebhookInbox(kind="sms_inbound", attempt_ref=None, received_at=NOW,
                         params={"From": MOBILE, "Body": f"C'est {FIRST}"}),
            WebhookInbox(kind="voice_status", attempt_ref=str(call.id), received_at=NOW,
                         params={"CallStatus": "completed"}),
            WebhookInbox(kind="sms_inbound", attempt_ref=None, received_at=NOW,
                         params={"From": "+33611112222", "Body": "OK"}),
            Notification(dedupe_key="n1", channel="email", recipient=manager.email,
                         subject=f"Alerte — réf. {REF}", body=f"Mme {LAST} : alerte à suivre"),
            Notification(dedupe_key="n2", channel="sms", recipient=MOBILE, subject="",
                         body="bonjour"),
            Notification(dedupe_key="n3", channel="email", recipient=manager.email,
                         subject="Vos alertes", body="1 alerte, réf. REF77"),
            AuditEvent(action="search", entity="roster", organisation_id=org.id,
                       details={"q": f"{LAST} {FIRST}"}),
            AuditEvent(action="view", entity="senior", entity_id=senior.id,
                       organisation_id=org.id, user_id=manager.id, at=NOW - timedelta(days=1)),
            GatewayHealth(name="twilio", last_error=f"21211 invalid To {MOBILE}"),
        ]
    )  # fmt: skip
    session.commit()
    return Held(org.id, senior.id, other.id, manager, admin, caller, call.id, alert.id)


def get_senior(session, held: Held) -> Senior:
    session.rollback()  # see what a request or a command committed
    senior = session.get(Senior, held.senior_id)
    assert senior is not None
    session.refresh(senior)
    return senior
