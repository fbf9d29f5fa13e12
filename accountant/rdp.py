"""Rényi-DP accountant.

The RDP of one step in a direction is D_α(Q‖P) = K_Y(α−1)/(α−1), read from the privacy
loss (notes/math.md §1, §3); RDP adds over steps; each direction is converted to (ε, δ)
separately and the worse is reported. The conversion is Canonne, Kamath & Steinke 2020
(arXiv 2004.00010, Prop. 12):

    ε(δ) = min_α  R(α) + log1p(−1/α) − (log δ + log α)/(α − 1),
    log δ(ε) = min_α (α − 1)(R(α) − ε + log1p(−1/α)) − log α,

valid for every real α > 1. The order is optimised continuously: a coarse geometric scan,
then Brent's method on log(α − 1) around the best scanned order; the minimum over every
evaluated order is returned, so adding orders can only lower the bound.

Laplace steps also satisfy pure ε₀-DP; the pure bound Σ T_i ε₀,i is taken when it is lower,
and so is basic composition (each step at δ/T), which is what certifies ε → 0 as q → 0
or σ → ∞.
The lower bound reported beside the upper one is exact for Gaussian-only schedules (μ-GDP)
and otherwise the exact ε of the leakiest single step (post-processing).
"""
from __future__ import annotations

import math

import numpy as np
from scipy.optimize import minimize_scalar

from . import _exact
from .api import register
from .bounds import Result
from .privacy_loss import directions_of, loss_for

# Coarse scan of orders (α); Brent refines between neighbours of the best one.
_SCAN = np.array([1.01, 1.05, 1.1, 1.25, 1.5, 1.75, 2.0, 2.5, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0,
                  12.0, 16.0, 20.0, 24.0, 32.0, 40.0, 48.0, 64.0, 96.0, 128.0, 192.0, 256.0,
                  384.0, 512.0, 768.0, 1024.0, 2048.0, 4096.0, 8192.0, 16384.0])


def rdp_of(schedule, direction: str, order: float) -> float:
    """Total RDP of the schedule at ``order`` in ``direction``: Σ T_i K_i(α−1)/(α−1)."""
    total = 0.0
    for m, steps in schedule.counts():
        k = loss_for(m, direction).cgf(order - 1.0)
        total += steps * k
    return total / (order - 1.0)


def epsilon_from_rdp(order: float, rdp: float, delta: float) -> float:
    """CKS 2020 Prop. 12 at one order (may be negative; callers clip at 0)."""
    return rdp + math.log1p(-1.0 / order) - (math.log(delta) + math.log(order)) / (order - 1.0)


def log_delta_from_rdp(order: float, rdp: float, eps: float) -> float:
    return (order - 1.0) * (rdp - eps + math.log1p(-1.0 / order)) - math.log(order)


def _minimise(objective, orders=None):
    """min over α of objective(α): scan, then Brent on log(α−1). Returns (value, α)."""
    scan = _SCAN if orders is None else np.asarray(orders, dtype=float)
    vals = np.array([objective(a) for a in scan])
    # An order whose divergence could not be evaluated is skipped, never trusted.
    vals[~np.isfinite(vals)] = np.inf
    if not np.any(np.isfinite(vals)):
        raise RuntimeError("internal error: no RDP order could be evaluated")
    best = int(np.argmin(vals))
    value, alpha = float(vals[best]), float(scan[best])
    if orders is not None:
        return value, alpha
    lo = scan[max(best - 1, 0)]
    hi = scan[min(best + 1, len(scan) - 1)]
    if hi > lo:
        seen = {}

        def f(u):
            a = 1.0 + math.exp(u)
            val = objective(a)
            if not math.isfinite(val):
                val = math.inf
            seen[a] = val
            return val
        minimize_scalar(f, bounds=(math.log(lo - 1.0), math.log(hi - 1.0)), method="bounded",
                        options={"xatol": 1e-4})
        for a, val in seen.items():
            if val < value:
                value, alpha = val, a
    return value, alpha


def _pure_epsilon(schedule) -> float:
    total = 0.0
    for m, steps in schedule.counts():
        total += steps * max(loss_for(m, d).pure_epsilon for d in directions_of(schedule))
    return total


@register("rdp")
def compute(schedule, *, delta=None, epsilon=None, orders=None) -> Result:
    """RDP ε(δ) or δ(ε) of a schedule.

    Parameters
    ----------
    orders : optional fixed list of orders α > 1 (disables the continuous search, e.g. to
        reproduce a peer's grid).
    """
    if orders is not None:
        orders = np.asarray(orders, dtype=float)
        if orders.ndim != 1 or orders.size == 0 or not np.all(orders > 1) or not np.all(np.isfinite(orders)):
            raise ValueError("orders must be a non-empty list of finite numbers in (1, inf)")
    dirs = directions_of(schedule)
    pure = _pure_epsilon(schedule)
    if delta is not None:
        worst, info = 0.0, {}
        for d in dirs:
            val, alpha = _minimise(lambda a: epsilon_from_rdp(a, rdp_of(schedule, d, a), delta),
                                   orders)
            val = max(val, 0.0)
            if val >= worst:
                worst, info = val, {"order": alpha, "direction": d}
        upper = min(worst, pure)
        if pure <= worst:
            info = {"pure_dp": True}
        basic = _exact.basic_composition_epsilon(schedule, delta)
        if basic < upper:
            upper, info = basic, {"basic_composition": True}
        lower = min(_exact.composed_lower_epsilon(schedule, delta), upper)
        return Result("epsilon", delta, upper, lower, upper, True, "rdp", details=info)
    worst, info = -math.inf, {}
    for d in dirs:
        val, alpha = _minimise(lambda a: log_delta_from_rdp(a, rdp_of(schedule, d, a), epsilon),
                               orders)
        if val >= worst:
            worst, info = val, {"order": alpha, "direction": d}
    upper = min(1.0, math.exp(worst))
    basic = _exact.basic_composition_delta(schedule, epsilon)
    if basic < upper:
        upper, info = basic, {"basic_composition": True}
    if epsilon >= pure:
        upper = 0.0
    lower = min(_exact.composed_lower_delta(schedule, epsilon), upper)
    return Result("delta", epsilon, upper, lower, upper, True, "rdp", details=info)
