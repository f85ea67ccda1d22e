"""The simulator's REST front: Twilio's routes for calls and messages, as a WSGI app.

Plain werkzeug: five routes, HTTP basic auth with the account SID and auth token, Twilio's
JSON bodies and error bodies, so that twilio-python (and thus the production gateway code)
talks to it as it talks to Twilio.
"""

from __future__ import annotations

import hmac
import json
import logging
from collections.abc import Iterable
from typing import Any

from werkzeug.exceptions import MethodNotAllowed, NotFound
from werkzeug.routing import Map, Rule
from werkzeug.wrappers import Request, Response

from outreach.telephony.simulator import listing
from outreach.telephony.simulator.engine import Simulator
from outreach.telephony.simulator.resources import API_VERSION, TwilioError, down_error

log = logging.getLogger(__name__)

ACCOUNT = f"/{API_VERSION}/Accounts/<account>"
ROUTES = Map(
    [
        Rule(f"{ACCOUNT}/Calls.json", endpoint="create_call", methods=["POST"]),
        Rule(f"{ACCOUNT}/Calls/<sid>.json", endpoint="fetch_call", methods=["GET"]),
        Rule(f"{ACCOUNT}/Messages.json", endpoint="create_message", methods=["POST"]),
        Rule(f"{ACCOUNT}/Messages.json", endpoint="list_messages", methods=["GET"]),
        Rule(f"{ACCOUNT}/Messages/<sid>.json", endpoint="fetch_message", methods=["GET"]),
    ]
)


def _json(body: dict[str, Any], status: int) -> Response:
    return Response(json.dumps(body), status=status, content_type="application/json")


class RestApp:
    """WSGI app serving ``simulator``'s calls and messages under Twilio's URLs."""

    def __init__(self, simulator: Simulator) -> None:
        self.simulator = simulator

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Iterable[bytes]:
        response = self.handle(Request(environ))
        return response(environ, start_response)

    def handle(self, request: Request) -> Response:
        """One request: down switch, authentication, route, then the simulator."""
        try:
            return self._handle(request)
        except TwilioError as exc:
            if exc.status >= 500:
                log.info("simulator: %s %s -> %d", request.method, request.path, exc.status)
            response = _json(exc.body(), exc.status)
            if exc.status == 401:
                response.headers["WWW-Authenticate"] = 'Basic realm="Twilio API"'
            return response

    def _handle(self, request: Request) -> Response:
        sim = self.simulator
        if (down := sim.down) is not None:
            raise down_error(down)
        self._authenticate(request)
        try:
            endpoint, args = ROUTES.bind_to_environ(request.environ).match()
        except NotFound:
            raise TwilioError(
                404, 20404, f"The requested resource {request.path} was not found"
            ) from None
        except MethodNotAllowed:
            raise TwilioError(405, 20004, "Method not allowed") from None
        if args["account"] != sim.account_sid:
            raise TwilioError(404, 20404, f"The requested resource {request.path} was not found")
        if endpoint == "create_call":
            return _json(sim.create_call(request.form.to_dict(flat=False)), 201)
        if endpoint == "create_message":
            return _json(sim.create_message(request.form.to_dict(flat=False)), 201)
        if endpoint == "list_messages":
            args = request.args.to_dict()
            return _json(listing.page(sim.list_messages(args), request.path, args), 200)
        if endpoint == "fetch_call":
            return _json(sim.fetch_call(args["sid"]), 200)
        return _json(sim.fetch_message(args["sid"]), 200)

    def _authenticate(self, request: Request) -> None:
        auth = request.authorization
        sim = self.simulator
        ok = (
            auth is not None
            and auth.type == "basic"
            and hmac.compare_digest((auth.username or "").encode(), sim.account_sid.encode())
            and hmac.compare_digest((auth.password or "").encode(), sim.auth_token.encode())
        )
        if not ok:
            raise TwilioError(401, 20003, "Authenticate")
