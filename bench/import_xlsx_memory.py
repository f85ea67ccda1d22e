"""Memory of importing a 50 MB XLSX roster: peak RSS over the idle process.

The file is generated with openpyxl in write-only mode, in a temporary directory: roster
rows (the columns of ``bench.import_roster``) plus a "Commentaire" column of 1,000 random
characters that the importer ignores, so that 50 MB of XLSX stays within the default caps
(``max_rows``, ``max_unzipped_mb``) instead of being refused, and the figure is the cost of
reading it whole. The import runs in a child process (a fresh interpreter, so nothing of the
generation counts): the app is created, the database migrated, openpyxl loaded, and the
peak resident memory (``VmHWM`` in /proc/self/status, ``ru_maxrss`` elsewhere) read; then
the file is imported into SQLite and the peak read again (the peak is first reset to
the current size through /proc/self/clear_refs, so that the migration's peak does not
hide the import's). The difference is what the import
itself costs. ``BENCH_XLSX_MB`` changes the target size.
"""

from __future__ import annotations

import json
import os
import random
import string
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from bench.import_roster import FIRST_F, FIRST_H, HEADER, LAST, PLACES, REFERENTS

# One row with its 1,000-character comment takes about 860 bytes of XLSX.
ROWS_PER_MB = 1160
GOAL_MB = 200


def write_xlsx(path: Path, rows: int, seed: int = 1941) -> None:
    from openpyxl import Workbook

    rng = random.Random(seed)
    letters = string.ascii_letters + string.digits + " "
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Locataires")
    sheet.append([*HEADER, "Commentaire"])
    for n in range(rows):
        female = rng.random() < 0.6
        postcode, city = rng.choice(PLACES)
        sheet.append([
            f"LOC{n:07d}", "Mme" if female else "M.", rng.choice(LAST),
            rng.choice(FIRST_F if female else FIRST_H),
            date(1925, 1, 1) + timedelta(days=rng.randrange(40 * 365)),
            "F" if female else "H", "", f"06{n:08d}", f"{rng.randrange(1, 200)}, rue des Tilleuls",
            postcode, city, f"Résidence {rng.randrange(1, 300)}", "Collectif",
            rng.choice(["Urbain", "Rural"]), rng.choice(["Oui", "Non"]), "Oui", "Non", "",
            "Oui", date(2024, 1, 5), rng.choice([None, 4, 5, 6]), "", "",
            rng.choice([*REFERENTS, ""]), "".join(rng.choices(letters, k=1000)),
        ])  # fmt: skip
    workbook.save(path)


def _status_mb(field: str) -> float | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return None


def idle_rss_mb() -> float:
    """The resident memory now, with the peak reset to it where Linux allows (so that the
    migration's own peak does not hide the import's)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass
    now = _status_mb("VmRSS")
    return now if now is not None else peak_rss_mb()


def peak_rss_mb() -> float:
    """The process's peak resident memory so far, in MB."""
    if (peak := _status_mb("VmHWM")) is not None:
        return peak
    import resource

    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / (1024 * 1024 if sys.platform == "darwin" else 1024)


def child(xlsx: Path, tmpdir: Path) -> None:
    """Import ``xlsx`` into a fresh SQLite database; print the figures as JSON."""
    import openpyxl  # noqa: F401 - loaded before the baseline, as in a serving process

    from outreach import create_app
    from outreach.accounts.models import Role
    from outreach.accounts.operations import create_organisation, create_user, get_organisation
    from outreach.cli import upgrade_database
    from outreach.db import session_scope
    from outreach.roster.importer import import_roster

    url = f"sqlite:///{tmpdir / 'bench.sqlite3'}"
    upgrade_database(url)
    app = create_app({"app": {"instance_path": str(tmpdir)}, "database": {"url": url}})
    with app.app_context():
        with session_scope() as session:
            org = create_organisation(session, "bench", "Bailleur du banc d'essai")
            for email in REFERENTS:
                create_user(session, email, email, "bench-password-1", [(org, Role.social_worker)])
        idle = idle_rss_mb()
        started = time.perf_counter()
        with session_scope() as session, xlsx.open("rb") as fh:
            org = get_organisation(session, "bench")
            result = import_roster(session, org, fh, xlsx.name, config=app.config["OUTREACH"])
        elapsed = time.perf_counter() - started
        figures = {"idle": idle, "peak": peak_rss_mb(), "seconds": elapsed}
        print(json.dumps(figures | {"summary": result.summary()}), flush=True)
        app.extensions["outreach.engine"].dispose()


def main() -> None:
    target = float(os.environ.get("BENCH_XLSX_MB", "50"))
    with tempfile.TemporaryDirectory(prefix="outreach-bench-") as tmp:
        tmpdir = Path(tmp)
        xlsx = tmpdir / "roster.xlsx"
        rows = int(target * ROWS_PER_MB)
        started = time.perf_counter()
        write_xlsx(xlsx, rows)
        size = xlsx.stat().st_size / 1e6
        print(f"   {rows} rows, {size:.1f} MB XLSX (written in "
              f"{time.perf_counter() - started:.0f} s)", flush=True)  # fmt: skip
        out = subprocess.run(
            [sys.executable, "-m", "bench.import_xlsx_memory", "--child", str(xlsx), tmp],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
        figures = json.loads(out.strip().splitlines()[-1])
        over = figures["peak"] - figures["idle"]
        print(f"   import: {figures['summary']} in {figures['seconds']:.0f} s", flush=True)
        print(
            f"   peak RSS: idle {figures['idle']:.0f} MB, during the import "
            f"{figures['peak']:.0f} MB: {over:.0f} MB over the idle process "
            f"(goal: under {GOAL_MB} MB)",
            flush=True,
        )


if __name__ == "__main__":
    if sys.argv[1:2] == ["--child"]:
        child(Path(sys.argv[2]), Path(sys.argv[3]))
    else:
        main()
