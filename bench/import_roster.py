"""Roster import throughput and memory on a 100,000-row CSV, into a fresh SQLite database.

Figures: rows per second for a first import (all new) and a second one of the same file
(all unchanged), in wall-clock time and in CPU time of this process (which does not suffer
when other programs share the machine), and the process's peak resident memory from
``resource.getrusage`` (``ru_maxrss``) measured before and after each import, so that its
growth shows what the import itself costs. tracemalloc is not used: it slows Python down
several times and would distort the rate. ``BENCH_ROSTER_ROWS`` changes the row count.
"""

from __future__ import annotations

import csv
import os
import random
import resource
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

LAST = ["Martin", "Bernard", "Dubois", "Thomas", "Robert", "Richard", "Petit", "Durand",
        "Leroy", "Moreau", "Simon", "Laurent", "Lefèvre", "Michel", "Garcia",
        "Fournier"]  # fmt: skip
FIRST_F = ["Jeanne", "Marie", "Hélène", "Odette", "Agnès", "Geneviève", "Simone", "Françoise"]
FIRST_H = ["Jean", "Pierre", "André", "René", "François", "Marcel", "Lucien", "Gérard"]
PLACES = [("37000", "Tours"), ("37100", "Tours"), ("20090", "Ajaccio"),
          ("97400", "Saint-Denis"), ("75011", "Paris"), ("69003", "Lyon"),
          ("13013", "Marseille"), ("59000", "Lille")]  # fmt: skip
HEADER = [
    "Référence", "Civilité", "Nom", "Prénom", "Date de naissance", "Sexe", "Téléphone fixe",
    "Téléphone portable", "Adresse", "Code postal", "Commune", "Résidence", "Type de logement",
    "Zone", "QPV", "Vit seul(e)", "Logement adapté", "Registre canicule", "Consentement",
    "Date du consentement", "GIR", "Contact d'urgence", "Téléphone contact d'urgence", "Référent",
]  # fmt: skip
PHONE_STYLES = [
    lambda d: " ".join(d[i : i + 2] for i in range(0, 10, 2)),
    lambda d: ".".join(d[i : i + 2] for i in range(0, 10, 2)),
    lambda d: "+33 " + d[1] + " " + " ".join(d[i : i + 2] for i in range(2, 10, 2)),
    lambda d: d,
    lambda d: "33" + d[1:],
]
REFERENTS = [f"referente{i}@example.org" for i in range(5)]


def write_roster(path: Path, rows: int, seed: int = 1941) -> None:
    rng = random.Random(seed)
    with path.open("w", encoding="utf-8", newline="") as fh:
        out = csv.writer(fh, delimiter=";")
        out.writerow(HEADER)
        for n in range(rows):
            female = rng.random() < 0.6
            birth = date(1925, 1, 1) + timedelta(days=rng.randrange(40 * 365))
            postcode, city = rng.choice(PLACES)
            mobile = f"06{n:08d}"
            landline = f"0247{rng.randrange(10**6):06d}" if rng.random() < 0.5 else ""
            consent = rng.choice(["Oui", "Oui", "Oui", "Non", ""])
            contact = rng.random() < 0.3
            out.writerow([
                f"LOC{n:07d}", "Mme" if female else "M.", rng.choice(LAST),
                rng.choice(FIRST_F if female else FIRST_H),
                birth.strftime("%d/%m/%Y") if n % 2 else birth.isoformat(),
                "F" if female else "H", rng.choice(PHONE_STYLES)(landline) if landline else "",
                rng.choice(PHONE_STYLES)(mobile), f"{rng.randrange(1, 200)}, rue des Tilleuls",
                postcode, city, f"Résidence {rng.randrange(1, 300)}",
                rng.choice(["Collectif", "Collectif", "Collectif", "Individuel"]),
                rng.choice(["Urbain", "Rural"]), rng.choice(["Oui", "Non"]),
                rng.choice(["Oui", "Non", "X", ""]), rng.choice(["Oui", "Non"]),
                rng.choice(["Oui", ""]), consent, "05/01/2024" if consent == "Oui" else "",
                rng.choice(["", "", "4", "5", "6"]), "Famille Martin" if contact else "",
                "06 12 34 56 78" if contact else "", rng.choice(REFERENTS + ["", "", ""]),
            ])  # fmt: skip


def max_rss_mb() -> float:
    # ru_maxrss is in kilobytes on Linux, in bytes on macOS.
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss / (1024 * 1024 if sys.platform == "darwin" else 1024)


def main() -> None:
    from sqlalchemy import func, select

    from outreach import create_app
    from outreach.accounts.models import Role
    from outreach.accounts.operations import create_organisation, create_user, get_organisation
    from outreach.cli import upgrade_database
    from outreach.db import session_scope
    from outreach.roster.importer import import_roster
    from outreach.roster.models import Senior

    rows = int(os.environ.get("BENCH_ROSTER_ROWS", "100000"))
    with tempfile.TemporaryDirectory(prefix="outreach-bench-") as tmp:
        tmpdir = Path(tmp)
        roster = tmpdir / "roster.csv"
        write_roster(roster, rows)
        size_mb = roster.stat().st_size / 1e6
        url = f"sqlite:///{tmpdir / 'bench.sqlite3'}"
        upgrade_database(url)
        app = create_app(
            {"app": {"instance_path": str(tmpdir)}, "database": {"url": url, "echo": False}}
        )
        with app.app_context():
            with session_scope() as session:
                org = create_organisation(session, "bench", "Bailleur du banc d'essai")
                for email in REFERENTS:
                    create_user(
                        session, email, email, "bench-password", [(org, Role.social_worker)]
                    )
            print(f"   {rows} rows, {size_mb:.1f} MB CSV; SQLite at {tmpdir.name}", flush=True)
            for label in ("first import (all new)", "second import (all unchanged)"):
                rss_before = max_rss_mb()
                started, cpu_started = time.perf_counter(), time.process_time()
                with session_scope() as session, roster.open("rb") as fh:
                    org = get_organisation(session, "bench")
                    config = app.config["OUTREACH"]
                    result = import_roster(session, org, fh, roster.name, config=config)
                elapsed = time.perf_counter() - started
                cpu = time.process_time() - cpu_started
                rss = f"{rss_before:.0f} MB before, {max_rss_mb():.0f} MB after"
                print(f"   {label}: {result.summary()}", flush=True)
                print(
                    f"     {elapsed:.1f} s wall, {rows / elapsed:,.0f} rows/s; "
                    f"{cpu:.1f} s CPU, {rows / cpu:,.0f} rows per CPU second",
                    flush=True,
                )
                print(f"     peak RSS (getrusage ru_maxrss): {rss}", flush=True)
            with session_scope() as session:
                stored = session.scalar(select(func.count()).select_from(Senior))
            assert stored == rows - len(result.rejected), (stored, rows)
            app.extensions["outreach.engine"].dispose()


if __name__ == "__main__":
    main()
