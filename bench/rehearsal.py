"""A canicule rehearsal of 10,000 generated seniors (issue 12), full steps (not quick).

Plays the day as `outreach canicule rehearse --org X --seniors 10000 --cps 5 --staff 10`
would, prints the hourly lines and the verdict line, and the wall time. The goal: 0
unaccounted, and the last first attempt within 1.1 of the floor N / rate.
``BENCH_REHEARSAL_SENIORS`` and ``BENCH_REHEARSAL_CPS`` change the size and the rate.
"""

from __future__ import annotations

import os
import time
from datetime import date

from outreach.config import load_config
from outreach.rehearsal.run import Settings, rehearse

SENIORS = int(os.environ.get("BENCH_REHEARSAL_SENIORS", "10000"))
CPS = float(os.environ.get("BENCH_REHEARSAL_CPS", "5"))


def main() -> None:
    started = time.perf_counter()
    result = rehearse(
        Settings(seniors=SENIORS, cps=CPS, staff=10, seed=1, day=date(2027, 7, 15)),
        load_config({"app": {"env": "testing"}}),
        out=lambda line: print(f"   {line}", flush=True),
    )
    print(
        f"   rehearsal of {SENIORS} seniors at {CPS:g} calls/s: "
        f"{time.perf_counter() - started:.0f} s of wall time, "
        f"unaccounted {result.final.unaccounted}, ratio {result.ratio:.2f}",
        flush=True,
    )


if __name__ == "__main__":
    main()
