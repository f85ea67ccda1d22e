"""The draw of a regional panel from 60,000 generated listing rows (issue 13).

An association with four landlords of different sizes (24,000, 18,000, 12,000 and 6,000
tenants) spread over six départements, default quotas (100 per département): the time of
the draw (reading the listings, one integer programme per département, the reserve, the
rows written) into a fresh SQLite database, and whether every quota was met.
``BENCH_PANEL_ROWS`` changes the size. Same as `outreach panel draw --association bench
--seed 1` on that data.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

ROWS = int(os.environ.get("BENCH_PANEL_ROWS", "60000"))
DEPARTEMENTS = ("18", "28", "36", "37", "41", "45")
LANDLORD_SHARES = (0.4, 0.3, 0.2, 0.1)


def main() -> None:
    from sqlalchemy import func, select

    from outreach import create_app
    from outreach.accounts.operations import create_organisation
    from outreach.cli import upgrade_database
    from outreach.db import session_scope
    from outreach.panel.draw import run_draw
    from outreach.panel.generate import insert_listing, listing_rows
    from outreach.panel.models import PanelMember

    with tempfile.TemporaryDirectory(prefix="outreach-bench-") as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.sqlite3'}"
        upgrade_database(url)
        app = create_app({"app": {"instance_path": tmp}, "database": {"url": url, "echo": False}})
        with app.app_context():
            with session_scope() as session:
                association = create_organisation(session, "bench", "Association du banc")
                for i, share in enumerate(LANDLORD_SHARES, start=1):
                    org = create_organisation(session, f"bench-{i}", f"Bailleur {i}", "bench")
                    insert_listing(
                        session, listing_rows(org.id, DEPARTEMENTS, int(ROWS * share), seed=i)
                    )
            print(f"   {ROWS} listing rows, {len(DEPARTEMENTS)} départements, "
                  f"{len(LANDLORD_SHARES)} landlords", flush=True)  # fmt: skip
            for seed in (1, 2):
                started, cpu = time.perf_counter(), time.process_time()
                with session_scope() as session:
                    association = session.merge(association)
                    draw = run_draw(session, association, seed)
                    feasible, draw_id = draw.feasible, draw.id
                elapsed, cpu = time.perf_counter() - started, time.process_time() - cpu
                with session_scope() as session:
                    members = session.scalar(
                        select(func.count()).where(PanelMember.draw_id == draw_id)
                    )
                print(f"   draw (seed {seed}): {elapsed:.2f} s ({cpu:.2f} s CPU), "
                      f"{members} members and reserve, "
                      f"all quotas met: {'yes' if feasible else 'NO'}", flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
