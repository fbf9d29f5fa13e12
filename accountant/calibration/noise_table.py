"""The shipped noise table (``accountant/data/noise_table.npz``): reading it, its axes, and
the calibrated grid points it keeps (:func:`exact_entry`). A data layer below both
:func:`accountant.calibrate` (``lookup=True`` answers exact grid points from it) and
:func:`accountant.lookup_noise` (docs/math.md §8), so neither imports the other for it.
"""
from __future__ import annotations

from array import array
from functools import lru_cache
from typing import Optional, Tuple

__all__ = ["exact_entry", "table_axes"]

_FILE = "noise_table.npz"


class _Table:
    __slots__ = ("q", "rows", "deltas", "neg_up", "neg_lo", "scale", "log_s", "eps_range",
                 "exact", "exact_axes", "exact_rtol", "all_steps")

    def __init__(self, path=None):
        import numpy as np
        try:
            if path is None:
                from importlib.resources import files
                path = files("accountant").joinpath("data").joinpath(_FILE)
            with path.open("rb") if hasattr(path, "open") else open(path, "rb") as fh:
                z = np.load(fh)
                data = {k: z[k] for k in z.files}
        except (FileNotFoundError, ModuleNotFoundError, OSError):
            raise RuntimeError("the lookup table accountant/data/noise_table.npz is missing "
                               "from this installation") from None
        if int(data.get("format", 1)) != 2:
            raise RuntimeError("accountant/data/noise_table.npz has an old format; rebuild "
                               "it with python -m accountant.calibration.lookup_build")
        # Plain lists and arrays: bisect on them costs ~100 ns a probe, numpy far more.
        self.q = [float(x) for x in data["q"]]
        rs = [int(x) for x in data["row_start"]]
        steps = [int(x) for x in data["steps"]]
        j0 = [int(x) for x in data["j0"]]
        nj = [int(x) for x in data["nj"]]
        off = [int(x) for x in data["offset"]]
        self.rows = [(steps[rs[a]:rs[a + 1]],
                      [(j0[c], nj[c], off[c]) for c in range(rs[a], rs[a + 1])])
                     for a in range(len(self.q))]
        self.all_steps = sorted(set(steps))
        self.deltas = [float(x) for x in data["delta"]]
        self.scale = float(data["scale"])
        self.log_s = float(data["sigma_log_step"])
        self.eps_range = tuple(float(x) for x in data["epsilon_range"])
        up = np.cumsum(data["dup"], dtype=np.int32)
        gap = data["gap"]
        lo = up - gap.astype(np.int32)
        # A lower bound may always be lowered: clamped into int16 (never used: ε ≥ 1 here).
        np.maximum(lo, -32767, out=lo)
        lo[gap == int(data["gap_none"])] = -32767
        # Columns decrease along σ; negated they increase, as bisect needs.
        np.negative(up, out=up)
        np.negative(lo, out=lo)
        self.neg_up = array("h", up.astype(np.int16).tobytes())
        self.neg_lo = array("h", lo.astype(np.int16).tobytes())
        self.exact, self.exact_axes, self.exact_rtol = {}, None, None
        if "exact_noise_multiplier" in data:
            e = data["exact_epsilon"].tolist()
            d = data["exact_delta"].tolist()
            qq = data["exact_sample_rate"].tolist()
            tt = [int(x) for x in data["exact_steps"]]
            sig = data["exact_noise_multiplier"].tolist()
            ce = data["exact_certified_epsilon"].tolist()
            self.exact_axes = (e, d, qq, tt)
            self.exact_rtol = float(data["exact_rtol"])
            for i, ei in enumerate(e):
                for j, dj in enumerate(d):
                    for k, qk in enumerate(qq):
                        for m, tm in enumerate(tt):
                            s = sig[i][j][k][m]
                            if s == s:
                                self.exact[(ei, dj, qk, tm)] = (s, ce[i][j][k][m])


@lru_cache(maxsize=1)
def _table() -> _Table:
    return _Table()


def table_axes() -> dict:
    """Ranges and nodes of the shipped table: ``epsilon`` (lowest, highest), ``delta``,
    ``sample_rate`` and ``steps`` (all nodes; each sample-rate row uses a subset of the
    steps), and ``rtol`` of the calibrated grid points kept for exact hits."""
    t = _table()
    return {"epsilon": t.eps_range, "delta": tuple(t.deltas), "sample_rate": tuple(t.q),
            "steps": tuple(t.all_steps), "rtol": t.exact_rtol}


def table_rtol() -> float:
    """The rtol of the calibrations kept in the shipped table."""
    return float(_table().exact_rtol)


def exact_entry(epsilon: float, delta: float, sample_rate: float, steps: int,
                rtol: Optional[float] = None) -> Optional[Tuple[float, float]]:
    """(σ, certified ε) when the query is exactly one of the calibrated grid points kept in
    the table (and their rtol is ≤ ``rtol``), else None. These are
    :func:`accountant.calibrate`'s own answers, precomputed."""
    try:
        t = _table()
    except RuntimeError:
        return None
    if t.exact_axes is None:
        return None
    if rtol is not None and t.exact_rtol > rtol * (1 + 1e-9):
        return None
    e, d, qq, tt = t.exact_axes

    def find(axis, x):
        for a in axis:
            if abs(a - x) <= 1e-12 * abs(x):
                return a
        return None

    key = (find(e, epsilon), find(d, delta), find(qq, sample_rate),
           steps if steps in tt else None)
    if None in key:
        return None
    return t.exact.get(key)
