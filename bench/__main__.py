"""Run every benchmark, or those named: `python -m bench [import_roster ...]`.

To add one, write ``bench/<name>.py`` with a ``main()`` that prints its figures and add the
module name to ``BENCHES``.
"""

from __future__ import annotations

import importlib
import sys
import time

BENCHES = [
    "import_roster",
    "import_xlsx_memory",
    "generation",
    "webhooks",
    "dispatch",
    "reports",
    "rehearsal",
    "panel",
]


def main(argv: list[str] | None = None) -> int:
    wanted = sys.argv[1:] if argv is None else argv
    unknown = [name for name in wanted if name not in BENCHES]
    if unknown:
        print(f"unknown bench: {', '.join(unknown)} (known: {', '.join(BENCHES)})", file=sys.stderr)
        return 2
    for name in wanted or BENCHES:
        print(f"== {name}", flush=True)
        started = time.perf_counter()
        importlib.import_module(f"bench.{name}").main()
        print(f"   ({time.perf_counter() - started:.1f} s in all)", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
