"""The embedded telephony simulator: a local stand-in for Twilio.

It speaks Twilio's REST API for calls and messages (``rest``) and calls the application's
webhooks back in Twilio's order and formats, signed with the configured auth token
(``calls``, ``messages``), so that the production gateway code, pointed at it, runs end to end in
the demo and the tests. ``engine`` is the deterministic core (an event queue on an
injectable clock), ``twiml`` reads the application's answers, ``server`` serves it all on
127.0.0.1 with a thread that runs due events.
"""

from outreach.telephony.simulator.engine import Simulator
from outreach.telephony.simulator.resources import TwilioError, Webhook
from outreach.telephony.simulator.server import SimulatorServer, WebhookDeliverer, start_for_app

__all__ = [
    "Simulator",
    "SimulatorServer",
    "TwilioError",
    "Webhook",
    "WebhookDeliverer",
    "start_for_app",
]
