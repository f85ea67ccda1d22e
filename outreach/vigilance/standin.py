"""A local stand-in for DPVigilance: serves recorded maps, for the tests and the demo.

``GET /<name>/cartevigilance/encours`` answers the recorded map ``<name>.json`` (green,
orange, red, green-again under tests/fixtures/vigilance/), ``GET /cartevigilance/encours``
the one named by ``current``. Like the real API it wants an ``apikey`` header. The dates of a
recorded map are moved so that its "J" is ``today()``: the demo shows today's heatwave,
and a test chooses its day. The production client code is pointed at it
(``vigilance.api_base_url``), so the tests run what production runs.
"""

from __future__ import annotations

import json
import re
import threading
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from flask import Flask
from werkzeug.serving import make_server

from outreach.timezone import PARIS

MAPS_DIR = Path(__file__).resolve().parents[2] / "tests" / "fixtures" / "vigilance"
PREFIX = "/_standin/vigilance"
ENDPOINT = "/cartevigilance/encours"
_INSTANT = re.compile(r"^(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2}:\d{2})Z$")
_NAME = re.compile(r"^[a-z0-9-]{1,40}$")


def _paris_today() -> date:
    return datetime.now(UTC).astimezone(PARIS).date()


def _shift(node: Any, days: int) -> Any:
    if isinstance(node, dict):
        return {k: _shift(v, days) for k, v in node.items()}
    if isinstance(node, list):
        return [_shift(v, days) for v in node]
    if isinstance(node, str) and (m := _INSTANT.match(node)):
        moved = date.fromisoformat(m.group(1)) + timedelta(days=days)
        return f"{moved.isoformat()}T{m.group(2)}Z"
    return node


def redate(document: dict[str, Any], today: date) -> dict[str, Any]:
    """``document`` with every instant moved by whole days so that period J is ``today``."""
    periods = document.get("product", {}).get("periods", [])
    begin = next((p.get("begin_validity_time") for p in periods if p.get("echeance") == "J"), None)
    if not isinstance(begin, str):
        return document
    j_day = datetime.fromisoformat(begin.replace("Z", "+00:00")).astimezone(PARIS).date()
    return _shift(document, (today - j_day).days)


class StandIn:
    """The WSGI app. ``requests`` counts the calls received (what a test checks)."""

    def __init__(
        self,
        current: str = "green",
        today: Callable[[], date] = _paris_today,
        maps_dir: Path = MAPS_DIR,
    ) -> None:
        self.current = current
        self.today = today
        self.maps_dir = maps_dir
        self.requests = 0

    def _answer(
        self, start_response: Callable[..., Any], status: str, body: Any
    ) -> Iterable[bytes]:
        data = json.dumps(body).encode()
        start_response(
            status, [("Content-Type", "application/json"), ("Content-Length", str(len(data)))]
        )
        return [data]

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        self.requests += 1
        path = environ.get("PATH_INFO", "")
        if environ.get("REQUEST_METHOD") != "GET" or not path.endswith(ENDPOINT):
            return self._answer(start_response, "404 Not Found", {"message": "not found"})
        if not environ.get("HTTP_APIKEY"):
            refusal = {"code": 900902, "message": "Missing Credentials"}
            return self._answer(start_response, "401 Unauthorized", refusal)
        name = path[: -len(ENDPOINT)].strip("/") or self.current
        file = self.maps_dir / f"{name}.json"
        if not _NAME.match(name) or not file.is_file():
            return self._answer(start_response, "404 Not Found", {"message": "no such map"})
        text = file.read_text(encoding="utf-8")
        try:
            document = json.loads(text)
        except ValueError:
            # A recorded broken answer is served as it is (the malformed-map tests).
            start_response("200 OK", [("Content-Type", "application/json")])
            return [text.encode()]
        return self._answer(start_response, "200 OK", redate(document, self.today()))


@contextmanager
def running(standin: StandIn) -> Iterator[str]:
    """Serve ``standin`` on a free local port in a thread; yields its base URL."""
    server = make_server("127.0.0.1", 0, standin, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=5)


def mount_standin(app: Flask) -> None:
    """With ``vigilance.standin`` (never in production), serve the recorded maps under
    ``/_standin/vigilance/`` beside the pages, without a login, as the demo's Météo-France."""
    if not app.config["OUTREACH"]["vigilance"]["standin"]:
        return
    standin = StandIn()
    pages = app.wsgi_app

    def dispatch(environ: dict[str, Any], start_response: Callable[..., Any]) -> Any:
        path = environ.get("PATH_INFO", "")
        if path.startswith(PREFIX + "/"):
            return standin({**environ, "PATH_INFO": path[len(PREFIX) :]}, start_response)
        return pages(environ, start_response)

    app.wsgi_app = dispatch  # type: ignore[method-assign]
    app.extensions["outreach.vigilance_standin"] = standin
