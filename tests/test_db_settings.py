"""Settings every PostgreSQL connection of the application gets."""

from __future__ import annotations

import pytest

from outreach.db import get_engine
from tests.conftest import own_app


def test_postgresql_jit_is_off_and_the_urls_options_are_kept(database_url):
    if not database_url.startswith("postgresql"):
        pytest.skip("a PostgreSQL setting")
    with own_app(database_url + "?options=-cstatement_timeout%3D12345") as app:
        with app.app_context(), get_engine().connect() as conn:
            assert conn.exec_driver_sql("SHOW jit").scalar() == "off"
            assert conn.exec_driver_sql("SHOW statement_timeout").scalar() == "12345ms"
