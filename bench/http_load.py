"""A WSGI app served by gunicorn, and client processes that send it prepared requests.

Clients are processes, not threads, so that their own Python work does not share a GIL
with the measurement; each keeps one HTTP/1.1 connection alive, as Twilio's callers do.
Everything stays on the loopback.
"""

from __future__ import annotations

import contextlib
import http.client
import multiprocessing as mp
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.support import percentile

ROOT = Path(__file__).resolve().parent.parent
GUNICORN = str(Path(sys.executable).with_name("gunicorn"))

# (path with query, urlencoded body, headers)
Request = tuple[str, bytes, dict[str, str]]


@dataclass
class Figures:
    requests: int
    seconds: float
    p50: float
    p95: float
    statuses: Counter[int]
    reconnects: int

    @property
    def rate(self) -> float:
        return self.requests / self.seconds

    def line(self) -> str:
        return f"{self.rate:,.0f} req/s, p50 {self.p50 * 1000:.1f} ms, p95 {self.p95 * 1000:.1f} ms"


@contextlib.contextmanager
def gunicorn(
    app: str, port: int, env: dict[str, str], log: Path, workers: int, threads: int
) -> Iterator[None]:
    """``app`` ("module:name") served by gunicorn's gthread workers until the block ends;
    the block starts once a worker answers."""
    proc = subprocess.Popen(
        [GUNICORN, "--workers", str(workers), "--worker-class", "gthread", "--threads",
         str(threads), "--bind", f"127.0.0.1:{port}", "--error-logfile", str(log),
         "--log-level", "warning", app],
        cwd=ROOT, env=env,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                raise SystemExit(f"gunicorn {app} exited:\n{log.read_text()}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
                conn.request("GET", "/")
                conn.getresponse().read()
                conn.close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise SystemExit(f"gunicorn {app} is not answering") from None
                time.sleep(0.2)
        yield
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _post(conn: http.client.HTTPConnection, request: Request) -> int:
    path, body, headers = request
    conn.request("POST", path, body, headers)
    response = conn.getresponse()
    response.read()
    return response.status


def _client(port: int, requests: list[Request], barrier: Any, out: Any) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
    statuses: Counter[int] = Counter()
    latencies, reconnects = [], 0
    barrier.wait()
    first = time.perf_counter()
    for request in requests:
        started = time.perf_counter()
        try:
            status = _post(conn, request)
        except (http.client.RemoteDisconnected, ConnectionResetError, BrokenPipeError):
            # The server closed an idle keep-alive connection: send again on a new one
            # (webhooks are idempotent, as Twilio's own retries require).
            conn.close()
            reconnects += 1
            status = _post(conn, request)
        latencies.append(time.perf_counter() - started)
        statuses[status] += 1
    out.put((first, time.perf_counter(), statuses, latencies, reconnects))
    conn.close()


def load(port: int, per_client: list[list[Request]]) -> Figures:
    """Send each client's requests in order, all clients at once, and time them from the
    first request to the last (perf_counter is CLOCK_MONOTONIC, shared by processes)."""
    ctx = mp.get_context("fork")
    barrier, out = ctx.Barrier(len(per_client)), ctx.Queue()
    procs = [ctx.Process(target=_client, args=(port, r, barrier, out)) for r in per_client]
    for p in procs:
        p.start()
    results = [out.get(timeout=900) for _ in procs]
    for p in procs:
        p.join()
    statuses: Counter[int] = Counter()
    for r in results:
        statuses.update(r[2])
    latencies = sorted(x for r in results for x in r[3])
    seconds = max(r[1] for r in results) - min(r[0] for r in results)
    return Figures(len(latencies), seconds, percentile(latencies, 0.5),
                   percentile(latencies, 0.95), statuses, sum(r[4] for r in results))  # fmt: skip
