"""The simulator as a local service: the REST front on a port, a driver thread, and the
webhook deliverer that signs requests as Twilio does."""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol
from urllib.parse import urlsplit

import requests
from flask import Flask
from twilio.request_validator import RequestValidator
from werkzeug.serving import BaseWSGIServer, WSGIRequestHandler, make_server

from outreach.config import ConfigError
from outreach.telephony.simulator.engine import Deliver, Simulator
from outreach.telephony.simulator.rest import RestApp

log = logging.getLogger(__name__)

# How often the driver thread runs due events: fine enough for the demo to feel live.
DRIVE_SECONDS = 0.2
WEBHOOK_TIMEOUT_SECONDS = 5.0


class _Poster(Protocol):
    """What the deliverer needs of ``requests.Session`` (tests pass a fake)."""

    def post(
        self, url: str, *, data: dict[str, str], headers: dict[str, str], timeout: float
    ) -> requests.Response: ...


class WebhookDeliverer:
    """Posts a webhook as Twilio does: form data signed in ``X-Twilio-Signature``.

    A webhook that cannot be delivered is logged (its path only: the query holds ids, the
    form holds phone numbers and texts) and dropped, as Twilio drops it after its retries.
    """

    def __init__(
        self,
        auth_token: str,
        timeout: float = WEBHOOK_TIMEOUT_SECONDS,
        session: _Poster | None = None,
    ) -> None:
        self.validator = RequestValidator(auth_token)
        self.timeout = timeout
        self.session: _Poster = session or requests.Session()

    def __call__(self, url: str, params: dict[str, str]) -> tuple[int, str]:
        headers = {
            "X-Twilio-Signature": self.validator.compute_signature(url, params),
            "User-Agent": "TwilioProxy/1.1 (outreach simulator)",
        }
        try:
            response = self.session.post(url, data=params, headers=headers, timeout=self.timeout)
        except requests.RequestException as exc:
            log.warning(
                "simulator: webhook to %s dropped (%s)", urlsplit(url).path, type(exc).__name__
            )
            return 0, ""
        if response.status_code >= 400:
            log.warning(
                "simulator: webhook to %s answered HTTP %d",
                urlsplit(url).path,
                response.status_code,
            )
        return response.status_code, response.text


class _QuietHandler(WSGIRequestHandler):
    # The request lines hold nothing personal, but one per REST call drowns the app's log.
    def log_request(self, code: int | str = "-", size: int | str = "-") -> None:
        pass


class SimulatorServer:
    """The simulator on 127.0.0.1:<simulator.port> with a thread running its events.

    ``deliver`` and ``clock`` default to signed HTTP posts and the real clock. It refuses
    to exist in production (``app.env``): a simulated call rings no one, and its outcomes
    would be taken for real ones.
    """

    def __init__(
        self,
        config: dict[str, dict[str, Any]],
        webhook_base_url: str,
        *,
        deliver: Deliver | None = None,
        clock: Callable[[], datetime] | None = None,
        host: str = "127.0.0.1",
    ) -> None:
        if config.get("app", {}).get("env") == "production":
            raise ConfigError("telephony.backend: the simulator never runs in production")
        settings = config["simulator"]
        self.simulator = Simulator(
            settings,
            settings["account_sid"],
            settings["auth_token"],
            webhook_base_url,
            deliver or WebhookDeliverer(settings["auth_token"]),
            clock,
        )
        self.host = host
        self._requested_port = int(settings["port"])
        self._server: BaseWSGIServer | None = None
        self._threads: list[threading.Thread] = []
        self._stopping = threading.Event()

    @property
    def port(self) -> int:
        """The port listened on (the real one when 0 was asked for)."""
        if self._server is None:
            raise RuntimeError("simulator server not started")
        return int(self._server.port)

    @property
    def base_url(self) -> str:
        """What ``telephony.api_base_url`` would be for this server."""
        return f"http://{self.host}:{self.port}"

    def start(self, drive: bool = True) -> SimulatorServer:
        """Listen and start the driver; returns self. Raises OSError when the port is taken.

        ``drive=False`` leaves running the due events to the caller (``simulator.run_due``):
        the rehearsal plays them on its own simulated clock, between its other steps."""
        if self._server is not None:
            return self
        # Bind here rather than in werkzeug: on a port in use, werkzeug prints a message and
        # calls sys.exit(1), which would end the whole scheduler process; an OSError lets the
        # caller carry on without the simulator.
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        listener = socket.create_server((self.host, self._requested_port), family=family)
        try:
            self._server = make_server(
                self.host,
                self._requested_port,
                RestApp(self.simulator),
                threaded=True,
                request_handler=_QuietHandler,
                fd=listener.fileno(),
            )
        finally:
            listener.close()  # werkzeug listens on its own duplicate of the socket
        self._stopping.clear()
        self._threads = [
            threading.Thread(target=self._server.serve_forever, name="simulator-http", daemon=True)
        ]
        if drive:
            self._threads.append(
                threading.Thread(target=self._drive, name="simulator-driver", daemon=True)
            )
        for thread in self._threads:
            thread.start()
        log.info("simulator: listening on %s", self.base_url)
        return self

    def stop(self) -> None:
        """Stop listening and driving; events still pending are dropped."""
        if self._server is None:
            return
        self._stopping.set()
        self._server.shutdown()
        self._server.server_close()
        for thread in self._threads:
            thread.join(timeout=WEBHOOK_TIMEOUT_SECONDS + 1)
        self._server = None
        self._threads = []

    def __enter__(self) -> SimulatorServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _drive(self) -> None:
        while not self._stopping.wait(DRIVE_SECONDS):
            try:
                self.simulator.run_due()
            except Exception:
                # Keep driving: one broken event must not stop every later call.
                log.exception("simulator: running due events failed")


def start_for_app(app: Flask) -> SimulatorServer:
    """Start the simulator for ``app``: webhooks to ``telephony.public_base_url``.

    With ``simulator.port`` 0 the port picked is written back into the app's configuration,
    where the gateway reads it.
    """
    config = app.config["OUTREACH"]
    server = SimulatorServer(config, config["telephony"]["public_base_url"]).start()
    if not config["simulator"]["port"]:
        config["simulator"]["port"] = server.port
    app.extensions["outreach.simulator"] = server
    return server
