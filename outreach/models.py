"""Imports every model module so that Base.metadata knows all tables (Alembic, tests)."""

from outreach.accounts.models import Membership, Organisation, User  # noqa: F401
from outreach.audit.models import AuditEvent  # noqa: F401
from outreach.calls.models import Attempt, Signal  # noqa: F401
from outreach.campaigns.models import Campaign, Skip, Task  # noqa: F401
from outreach.doorknock.models import DoorKnock, ProximityResidence  # noqa: F401
from outreach.escalation.models import Alert, AlertEvent, AlertSource  # noqa: F401
from outreach.notifications.models import Notification  # noqa: F401
from outreach.panel.models import Draw, ListingRow, PanelMember, Quota  # noqa: F401
from outreach.partners.models import Partner, Referral  # noqa: F401
from outreach.privacy.models import Erasure  # noqa: F401
from outreach.rehearsal.models import RehearsalRun  # noqa: F401
from outreach.reports.models import ReportRollupMonth  # noqa: F401
from outreach.roster.models import ConsentEvent, EmergencyContact, Senior  # noqa: F401
from outreach.telephony.inbox import WebhookInbox  # noqa: F401
from outreach.telephony.models import GatewayHealth  # noqa: F401
from outreach.vigilance.models import VigilanceColour, VigilanceMap, VigilanceProposal  # noqa: F401
from outreach.workshops.models import Invitation, Workshop  # noqa: F401
