"""Certified δ(ε) at many ε from one composition: the PLD's privacy profile for the
trade-off curves (docs/math.md §15.2).

:func:`delta_profile` refines the grid exactly as a δ(ε) query at the centre ε does
(:func:`accountant.accountants.pld.bracket.delta_refine`) and keeps each direction's
composed upper and lower PLDs. Their bounds hold at *every* ε (the window's truncation,
round-off and +∞ terms are bounded for every ε, docs/math.md §4.3); they are sharpest near
the centre, where the window and the tilt were chosen. The profile of the mechanism is the
max over directions, so the max of the directions' upper bounds is an upper bound and the
max of their lower bounds a lower bound.
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING, Optional, Tuple

import numpy as np

from .. import exact as _exact
from ..api import register_profile
from .bracket import chernoff_delta, check_options, delta_refine

if TYPE_CHECKING:
    from ...core.mechanisms import Schedule


class WindowProfile:
    """Certified lower and upper bounds on δ(ε), ε ≥ 0, from composed discrete PLDs."""

    certified = True
    method = "pld"

    def __init__(self, directions: list, pure: float, center: float, h: float,
                 warnings: tuple = ()) -> None:
        self._dirs = directions
        self._pure = pure
        self.center = center
        self.grid_step = h
        self.warnings = tuple(warnings)
        tops = [D.up.e_lo + (D.up.n - 1) * D.h for D in directions if D.up is not None]
        bots = [D.up.e_lo for D in directions if D.up is not None]
        self.window = (max(0.0, min(bots, default=center)), max(tops, default=center))

    def bounds(self, eps: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
        """(lower, upper) arrays: proven bounds on δ at each ε of ``eps`` (all ≥ 0)."""
        e = np.asarray(eps, dtype=float).ravel()
        lo = np.zeros(e.shape)
        up = np.zeros(e.shape)
        for D in self._dirs:
            if D.up is None:
                up = np.maximum(up, [chernoff_delta(D, float(x)) for x in e])
                continue
            up = np.maximum(up, D.delta_upper_many(e))
            lo = np.maximum(lo, D.delta_lower_many(e))
        # δ = 0 at and above the pure-DP cap (docs/math.md §10.5)
        capped = e >= self._pure
        lo[capped] = 0.0
        up[capped] = 0.0
        lo = np.minimum(lo, 1.0)
        if np.any(lo > up):
            raise RuntimeError("internal error: a PLD profile's lower bound exceeds its upper "
                               "bound")
        return lo, up


@register_profile("pld")
def delta_profile(schedule: "Schedule", center: float, rtol: Optional[float] = None,
                  atol: Optional[float] = None, h: Optional[float] = None,
                  closed_form: bool = True, **options) -> Optional[WindowProfile]:
    """The composed profile sharpest at ``center``; None when the schedule is answered
    exactly without a composition (Gaussian only, one step), where δ(ε) queries are exact
    and cheap."""
    if options.get("sides", "both") != "both":
        raise ValueError(f"sides={options['sides']!r:.20} does not apply to trade-off "
                         "curves (they read both compositions); leave sides out")
    rtol, atol, h, closed_form = check_options(rtol, atol, h, closed_form, **options)
    if closed_form and (_exact.gaussian_mu(schedule) is not None or schedule.steps == 1):
        return None
    pure = _exact.pure_epsilon(schedule)
    c = min(max(float(center), 0.0), pure if math.isfinite(pure) else math.inf)
    best, history, warns = delta_refine(schedule, c, 1e-3 if rtol is None else rtol,
                                        0.0 if atol is None else atol, h)
    return WindowProfile([b[2] for b in best.values()], pure, c, history[-1][0], warns)
