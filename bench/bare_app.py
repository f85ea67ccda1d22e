"""The baseline of the webhook benchmark: the least a Flask app can do for the same request.

Served by gunicorn exactly like ``wsgi:app`` (``gunicorn bench.bare_app:app``), it answers
the status callback's path with 204 without reading the form, checking a signature or
touching a database, so the ratio of the two rates is what outreach's own work costs.
"""

from __future__ import annotations

from flask import Flask

app = Flask(__name__)


@app.post("/twilio/voice/status")
def voice_status() -> tuple[str, int]:
    return "", 204
