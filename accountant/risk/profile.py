"""Where the risk layer reads the privacy profile δ(ε): a :class:`ProfileSource` gives
bounds on δ at many ε for one schedule and one method (docs/math.md §15.2).

Two kinds of reading, behind one interface:

* a method with a registered profile builder (the PLD accountant) composes once per
  *window* and answers every ε from it; the source keeps the windows it built and
  intersects their brackets (each is certified at every ε, sharpest near its centre);
* otherwise (closed forms, single steps, RDP, the estimate methods) each ε is one δ(ε)
  query of the public API, cached.
"""
from __future__ import annotations

import math
from typing import Dict, List, Tuple

import numpy as np

from ..accountants.api import profile_builder, query
from ..core.mechanisms import Schedule, active_part


class ProfileSource:
    """Bounds on the privacy profile δ(ε), ε ≥ 0, of ``schedule`` by ``method``."""

    def __init__(self, schedule: Schedule, method: str, options: dict,
                 window_rtol: float) -> None:
        self.schedule = schedule
        self.method = method
        self.options = dict(options)
        self.window_rtol = window_rtol
        self._active = active_part(schedule)
        self._builder = profile_builder(method) if self._active is not None else None
        self._windows: List = []
        self._query_mode = self._builder is None
        self._cache: Dict[float, Tuple[float, float, float]] = {}
        self.certified = True
        self.warnings: List[str] = []
        self.seconds = 0.0

    # -- windows (composed profiles) ------------------------------------------------------
    @property
    def windowed(self) -> bool:
        return not self._query_mode

    def covers(self, eps: float) -> bool:
        """True when a built window has ``eps`` well inside it (or no windows are needed)."""
        if self._query_mode:
            return True
        for w in self._windows:
            lo, hi = w.window
            half = 0.5 * (hi - lo)
            if abs(eps - w.center) <= 0.3 * half or (eps <= 0.0 and lo <= 0.0):
                return True
        return False

    def add_window(self, center: float) -> None:
        """Compose a window sharpest at ``center`` (no-op in query mode)."""
        if self._query_mode:
            return
        opts = dict(self.options)
        opts.setdefault("rtol", self.window_rtol)
        w = self._builder(self._active, max(float(center), 0.0), **opts)
        if w is None:                  # the method answers this schedule exactly per ε
            self._query_mode = True
            self._windows = []
            return
        self._windows.append(w)
        for msg in w.warnings:
            if msg not in self.warnings:
                self.warnings.append(msg)

    @property
    def n_windows(self) -> int:
        return len(self._windows)

    # -- bounds -----------------------------------------------------------------------------
    def bounds(self, eps: np.ndarray) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(lower, upper, estimate) of δ at each ε ≥ 0: proven bounds when
        ``self.certified`` (for estimate methods the method's own rigorous interval)."""
        e = np.asarray(eps, dtype=float)
        if self._query_mode:
            out = [self._query(float(x)) for x in e]
            lo = np.array([o[0] for o in out])
            up = np.array([o[1] for o in out])
            est = np.array([o[2] for o in out])
            return lo, up, est
        if not self._windows:
            raise RuntimeError("internal error: profile read before any window was built")
        lo = np.zeros(e.shape)
        up = np.ones(e.shape)
        for w in self._windows:
            l_, u_ = w.bounds(e)
            np.maximum(lo, l_, out=lo)
            np.minimum(up, u_, out=up)
        if np.any(lo > up):
            raise RuntimeError("internal error: two certified PLD windows disagree")
        return lo, up, up.copy()

    def _query(self, x: float):
        hit = self._cache.get(x)
        if hit is not None:
            return hit
        r = query("delta", self.schedule, x, 1, self.method, **self.options)
        self.seconds += r.seconds
        if not r.certified:
            self.certified = False
        for msg in r.warnings:
            if msg not in self.warnings:
                self.warnings.append(msg)
        lo, up = min(r.lower, 1.0), min(r.upper, 1.0)
        est = min(max(r.estimate, 0.0), 1.0)
        self._cache[x] = (lo, up, est)
        return lo, up, est


def initial_center(source: ProfileSource, alpha: float) -> float:
    """Where to compose the first window for the false-positive rate α: near the ε at
    δ = α (the threshold ε* with Q[L > ε*] = α lies close to it), from a coarse query of
    the same (windowed) method."""
    target = min(max(alpha, 1e-300), 0.5)
    r = query("epsilon", source.schedule, target, 1, source.method,
              **{**source.options, "rtol": 1e-2})
    val = float(r.upper)
    # ε* ≤ log(1/α): α = P[L > ε*] ≤ e^{−ε*} E_P[e^L] ≤ e^{−ε*} (Markov). Where δ = α
    # lies beyond it (a pure-DP cap far above, δ(ε) ≈ 1 up to it), a window there is
    # useless and slow: PLD at ε just below the cap took 20 s (Laplace(0.00814,
    # replace_one), 2 steps, α = 1e-100)
    cap = -math.log(target)
    return min(val, cap) if math.isfinite(val) else min(1.0, cap)
