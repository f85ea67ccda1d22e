"""The integer programme of one département's draw, solved by HiGHS.

Tenants of one profile (``quotas.Profile``) are interchangeable, so the programme has one
integer variable per profile cell: how many of its tenants are drawn (0 to the cell's
count). The panel size is exact (or every drawable tenant when there are fewer); each share
and each landlord's number is a range of whole numbers, widened by a deviation variable
that the objective makes expensive. So a quota set the listing cannot meet still gives the
closest draw, and its deviations are what the report shows.

Within the tolerances the objective first brings each share and each landlord's number as
close to its target as the listing allows (a tolerance is room, not an aim: a panel at 63 %
women when 57 % is asked is within ±6 but not what was asked), then keeps the panel close
to the listing's own mix (the L1 distance of each cell to its proportional share), so that
the draw does not pile up in a few cells. HiGHS runs with one thread and a fixed seed: the
same listing gives the same counts.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence

import highspy

from outreach.panel.quotas import (
    SHARES,
    Profile,
    Settings,
    count_bounds,
    landlord_targets,
    share_bounds,
)

# Past this the solver stops with the best draw found (a deviation still shows in the
# report): a département of tens of thousands of rows solves in well under a second.
TIME_LIMIT_S = 60.0
# The cost of one senior away from a target within its tolerance: more than the 2 the mix
# term can save by moving one senior, so targets come first.
NEAR = 3.0


_banner_shown = False


def _highs() -> highspy.Highs:
    """A solver instance. HiGHS prints its banner on stdout, at the C level, the first time
    one is made in a process, whatever its options: that would land in the middle of the
    CLI's quota table, so the first one is made with stdout pointed at /dev/null."""
    global _banner_shown
    if _banner_shown:
        return highspy.Highs()
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as devnull:
            os.dup2(devnull.fileno(), 1)
            h = highspy.Highs()
    finally:
        os.dup2(saved, 1)
        os.close(saved)
    _banner_shown = True
    return h


class _Model:
    def __init__(self, seed: int) -> None:
        self.h = _highs()
        self.h.setOptionValue("output_flag", False)
        self.h.setOptionValue("threads", 1)
        self.h.setOptionValue("random_seed", seed % 2_147_483_647)
        self.h.setOptionValue("time_limit", TIME_LIMIT_S)
        self.h.setOptionValue("mip_rel_gap", 1e-2)
        self.inf = highspy.kHighsInf
        self.columns = 0

    def column(self, cost: float, low: float, high: float, integer: bool = False) -> int:
        self.h.addCol(cost, low, high, 0, [], [])
        if integer:
            self.h.changeColIntegrality(self.columns, highspy.HighsVarType.kInteger)
        self.columns += 1
        return self.columns - 1

    def row(self, low: float, high: float, terms: Sequence[tuple[int, float]]) -> None:
        self.h.addRow(low, high, len(terms), [i for i, _ in terms], [v for _, v in terms])

    def ranged(self, cols: Sequence[int], low: int, high: int, weight: float) -> None:
        """low <= sum(cols) <= high, each side softened by a costly deviation."""
        under = self.column(weight, 0, self.inf)
        over = self.column(weight, 0, self.inf)
        self.row(low, self.inf, [*((c, 1.0) for c in cols), (under, 1.0)])
        self.row(-self.inf, high, [*((c, 1.0) for c in cols), (over, -1.0)])

    def near(self, cols: Sequence[int], goal: float, weight: float) -> None:
        """Costs ``weight`` per senior between sum(cols) and ``goal``."""
        gap = self.column(weight, 0, self.inf)
        self.row(-self.inf, goal, [*((c, 1.0) for c in cols), (gap, -1.0)])
        self.row(goal, self.inf, [*((c, 1.0) for c in cols), (gap, 1.0)])


def solve(
    cells: Mapping[Profile, int], settings: Settings, weights: Mapping[int, int], seed: int
) -> dict[Profile, int]:
    """How many tenants to draw from each cell (cells sorted, zero counts left out)."""
    profiles = sorted(cells, key=profile_order)
    available = sum(cells.values())
    size = min(settings.size, available)
    if size == 0:
        return {}
    model = _Model(seed)
    # A deviation of one senior beyond a tolerance must cost more than any rearrangement
    # can save: moving one senior changes each "near" term by at most 2 × NEAR per quota
    # and the mix by at most 2.
    near_terms = 2 * len(SHARES) + len(weights)
    weight = 2.0 * NEAR * near_terms * size + 4.0 * size + 1
    x = [model.column(0.0, 0, cells[p], integer=True) for p in profiles]
    for p, col in zip(profiles, x, strict=True):
        expected = size * cells[p] / available
        gap = model.column(1.0, 0, model.inf)
        model.row(-model.inf, expected, [(col, 1.0), (gap, -1.0)])
        model.row(expected, model.inf, [(col, 1.0), (gap, 1.0)])
    model.row(size, size, [(col, 1.0) for col in x])
    for quota in SHARES:
        target, tolerance = settings.shares[quota.key]
        for side, goal in ((True, target), (False, 100 - target)):
            cols = [c for p, c in zip(profiles, x, strict=True) if quota.yes(p) is side]
            low, high = share_bounds(goal, tolerance, size)
            model.ranged(cols, low, high, weight)
            model.near(cols, size * goal / 100, NEAR)
    for org, target in landlord_targets(settings, weights).items():
        cols = [c for p, c in zip(profiles, x, strict=True) if p.organisation_id == org]
        low, high = count_bounds(target, settings.landlord_tolerance, size)
        model.ranged(cols, low, high, weight)
        model.near(cols, target, NEAR)
    model.h.run()
    values = model.h.getSolution().col_value
    counts = {p: round(values[c]) for p, c in zip(profiles, x, strict=True)}
    return {p: n for p, n in counts.items() if n > 0}


def profile_order(p: Profile) -> tuple[str, ...]:
    """A total order over profiles, None included, for a stable programme."""
    return tuple("" if v is None else str(v) for v in p)
