"""Telephony: automated IVR calls and SMS through a Twilio-compatible gateway.

- ``gateway``: the small interface (place a call, send an SMS, fetch a status) and the
  Twilio backend, which also drives the embedded simulator (``simulator/``);
- ``status``: the forward-only state machine of gateway statuses;
- ``dispatch``: the outbox dispatcher that sends due IVR and SMS tasks at the allowed rate;
- ``ivr`` and ``sms``: what the webhooks do (TwiML, digits, replies, opt-outs);
- ``tasks``: the scheduled jobs.
"""
