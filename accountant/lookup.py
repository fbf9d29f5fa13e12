"""Microsecond noise-multiplier lookup in the shipped precomputed table.

The table (``accountant/data/noise_table.npz``, built by
:func:`accountant.tables.build_lookup`) holds, for a grid of (ε, δ, q, T), the σ returned
by :func:`accountant.calibration.calibrate` with the PLD accountant (Poisson sampling,
add/remove): its certified ε is ≤ the grid ε, and it is within the table's rtol of the
optimum.

Conservative answers: the true ε of DP-SGD grows with q and T and shrinks with σ, and the
smallest σ meeting (ε, δ) grows as ε or δ shrink. So the entry at the grid point
(ε′, δ′, q′, T′) with ε′ ≤ ε, δ′ ≤ δ, q′ ≥ q, T′ ≥ T (the nearest such point on each axis)
is a σ whose certified ε at (q′, T′) is ≤ ε′ ≤ ε, hence a valid σ for the query. Outside
the grid there is no dominating point and :func:`lookup_noise` returns None (or calibrates
with ``fallback=True``).
"""
from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from functools import lru_cache

__all__ = ["lookup_noise", "exact_entry", "table_axes"]

_FILE = "noise_table.npz"


class _Table:
    __slots__ = ("eps", "delta", "q", "steps", "sigma", "ceps", "rtol")

    def __init__(self):
        import numpy as np
        try:
            from importlib.resources import files
            blob = files("accountant").joinpath("data").joinpath(_FILE)
            with blob.open("rb") as fh:
                z = np.load(fh)
                data = {k: z[k] for k in z.files}
        except (FileNotFoundError, ModuleNotFoundError, OSError):
            raise RuntimeError("the lookup table accountant/data/noise_table.npz is missing "
                               "from this installation") from None
        # Plain Python lists: bisect and indexing on them cost ~100 ns each.
        self.eps = [float(x) for x in data["epsilon"]]
        self.delta = [float(x) for x in data["delta"]]
        self.q = [float(x) for x in data["sample_rate"]]
        self.steps = [int(x) for x in data["steps"]]
        self.sigma = data["noise_multiplier"].tolist()
        self.ceps = data["certified_epsilon"].tolist()
        self.rtol = float(data["rtol"])


@lru_cache(maxsize=1)
def _table() -> _Table:
    return _Table()


def table_axes() -> dict:
    """The grid of the shipped table (epsilon, delta, sample_rate, steps) and its rtol."""
    t = _table()
    return {"epsilon": tuple(t.eps), "delta": tuple(t.delta), "sample_rate": tuple(t.q),
            "steps": tuple(t.steps), "rtol": t.rtol}


def _check(epsilon, delta, sample_rate, steps):
    # Inline checks (the validators cost more than the lookup itself).
    if not (isinstance(epsilon, (int, float)) and epsilon > 0 and epsilon < math.inf):
        raise ValueError(f"epsilon must be in (0, inf), got {epsilon!r}")
    if not (isinstance(delta, (int, float)) and 0 < delta < 1):
        raise ValueError(f"delta must be in (0, 1), got {delta!r}")
    if not (isinstance(sample_rate, (int, float)) and 0 < sample_rate <= 1):
        raise ValueError(f"sample_rate must be in (0, 1], got {sample_rate!r}")
    if isinstance(steps, bool) or not isinstance(steps, int) or steps < 1:
        if isinstance(steps, float) and steps.is_integer() and steps >= 1:
            return int(steps)
        raise ValueError(f"steps must be an integer >= 1, got {steps!r}")
    return steps


def lookup_noise(epsilon, delta, sample_rate, steps, *, fallback=False, **calibrate_options):
    """A certified-sufficient noise multiplier from the shipped table, in microseconds.

    Returns the σ of the nearest dominating grid point (ε′ ≤ ε, δ′ ≤ δ, q′ ≥ q, T′ ≥ T),
    or None when the query is outside the grid (or that cell is out of range). With
    ``fallback=True`` the query is calibrated instead (``calibrate(...).noise_multiplier``,
    options passed on).
    """
    steps = _check(epsilon, delta, sample_rate, steps)
    t = _table()
    i = bisect_right(t.eps, epsilon * (1 + 1e-12)) - 1
    j = bisect_right(t.delta, delta * (1 + 1e-12)) - 1
    k = bisect_left(t.q, sample_rate * (1 - 1e-12))
    m = bisect_left(t.steps, steps)
    if i >= 0 and j >= 0 and k < len(t.q) and m < len(t.steps):
        s = t.sigma[i][j][k][m]
        if s == s:  # not NaN
            return s
    if fallback:
        from .calibration import calibrate
        return calibrate(epsilon, delta, sample_rate, steps, **calibrate_options).noise_multiplier
    return None


def exact_entry(epsilon, delta, sample_rate, steps, rtol=None):
    """(σ, certified ε) when the query is exactly a grid point of the table (and the
    table's rtol is ≤ ``rtol``), else None."""
    try:
        t = _table()
    except RuntimeError:
        return None
    if rtol is not None and t.rtol > rtol * (1 + 1e-9):
        return None

    def find(axis, x):
        p = bisect_left(axis, x * (1 - 1e-12))
        if p < len(axis) and abs(axis[p] - x) <= 1e-12 * abs(x):
            return p
        return None

    i, j, k = find(t.eps, epsilon), find(t.delta, delta), find(t.q, sample_rate)
    m = bisect_left(t.steps, steps)
    if None in (i, j, k) or m >= len(t.steps) or t.steps[m] != steps:
        return None
    s = t.sigma[i][j][k][m]
    if s != s:
        return None
    return s, t.ceps[i][j][k][m]
