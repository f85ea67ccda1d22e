"""Helpers shared by the telephony benchmarks: a throwaway PostgreSQL database, percentiles
and a free local port."""

from __future__ import annotations

import contextlib
import os
import socket
import uuid
from collections.abc import Iterator, Sequence

from sqlalchemy.engine import make_url


def postgres_base_url() -> str | None:
    """The server named by ``BENCH_DATABASE_URL`` or ``TEST_DATABASE_URL``, if any."""
    return os.environ.get("BENCH_DATABASE_URL") or os.environ.get("TEST_DATABASE_URL")


@contextlib.contextmanager
def postgres_database(base: str) -> Iterator[str]:
    """A fresh, migrated database on the server of ``base``, dropped on the way out (even
    when connections are still open: a gunicorn worker killed late must not leave it)."""
    import psycopg

    from outreach.cli import upgrade_database

    url = make_url(base).set(drivername="postgresql+psycopg")
    admin = url.set(drivername="postgresql").render_as_string(hide_password=False)
    name = f"outreach_bench_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    try:
        full = url.set(database=name).render_as_string(hide_password=False)
        upgrade_database(full)
        yield full
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def percentile(sorted_values: Sequence[float], q: float) -> float:
    """The ``q`` quantile (0..1) of an already sorted sequence, nearest rank."""
    if not sorted_values:
        raise ValueError("no values")
    rank = max(1, min(len(sorted_values), round(q * len(sorted_values))))
    return sorted_values[rank - 1]


def free_port() -> int:
    """A TCP port free on the loopback now (the server binds it right after)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]
