"""Edgeworth accountant (Wang, Gao, Zhang, Shen, Su 2022, arXiv 2206.04236): an estimate.

The composed privacy loss is a sum of independent per-step losses, so its cumulants are
sums of the per-step cumulants (:mod:`accountant.accountants.cumulants`). With s = √K₂, z = (x−K₁)/s,
γ = K₃/s³, κ = K₄/s⁴, λ = K₅/s⁵ the Edgeworth tail is (docs/math.md §5.1)

    S̃(x) = Q(z) + φ(z)·[ γ/6·He₂ + (κ/24·He₃ + γ²/72·He₅) + (λ/120·He₄ + γκ/144·He₆ + γ³/1296·He₈) ]

keeping the first bracket for ``order=1``, two for ``order=2`` (default) and all three for
``order=3``. δ̃(ε) = S̃_Y(ε) − e^ε·S̃_X(ε) with each tail clipped to [0, 1]; ε(δ) is the
largest ε with δ̃(ε) > δ (the conservative crossing rule). Each direction of an add/remove
pair is composed separately and the larger value is reported.

The estimate is neither an upper nor a lower bound: ``certified`` is always False. The
result's ``lower``/``upper`` are the finite-sample interval of the Derumigny–Girard–
Guyonvarch bound (arXiv 2101.05780, Theorem 2.1 in its appendix forms A.2 (independent,
non-identical) and A.3 (i.i.d.), "no continuity" case, centred moments) on
sup_x |F(x) − F̃₁(x)| for the order-1 expansion F̃₁ of each of X and Y. That interval is
usually vacuous ([0, inf]) at DP-SGD sizes (its error term is of order 1/√(n·q)); the
result then says so in ``warnings`` ("vacuous_interval") and ``details["interval"]``.

A direction whose cumulants the quadrature cannot give (NaN: out of floating-point range
or beyond the quadrature's work cap, :mod:`accountant.accountants.cumulants`) is refused with a
ValueError: an estimate without one of its directions is not an estimate, and NaN, which
compares false everywhere, used to score that direction ε = 0 silently. So is a direction
whose loss is so far from normal that the expansion's coefficients leave the double range
(a step sampled at q = 1e-300 has skewness ≈ 1e150; :func:`_check_shape`). Moments that no
law has (quadrature noise at subnormal scales: a fourth moment of 0 beside a positive
variance) give no DGG bound: that side of the interval is vacuous, and says so.
"""
from __future__ import annotations

import math
from functools import lru_cache
from typing import TYPE_CHECKING, Optional, Sequence, Tuple

import numpy as np
from scipy.special import ndtr

from . import _edgeworth_kernels as _ke
from .api import register
from ..core.bounds import Result
from .cumulants import mechanism_moments
from ..loss import directions_of, loss_for

if TYPE_CHECKING:
    from ..core.mechanisms import Schedule
    from ..loss.results import StepMoments

__all__ = ["compute", "edgeworth_delta", "dgg_bound", "composed_cumulants"]

_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
# Diagnostics thresholds: beyond these the correction terms are not small in the tails.
_SKEW_WARN = 0.5
_KURT_WARN = 1.0


# ----------------------------------------------------------------------------------------
# Composed cumulants and the Edgeworth tail
# ----------------------------------------------------------------------------------------
@lru_cache(maxsize=4096)
def composed_cumulants(schedule: Schedule, direction: str, under: str) -> Tuple[float, ...]:
    """(K₁..K₅) of the composed loss: sums of per-step cumulants over the schedule."""
    K = [0.0] * 5
    for mech, steps in schedule.counts():
        c = mechanism_moments(mech, direction, under).cumulants
        for j in range(5):
            K[j] += steps * c[j]
    return tuple(float(k) for k in K)


def _shape(K):
    """(s, γ, κ, λ) for K₂ > 0, as the kernels' ``_shape``: one factor of s at a time,
    because s³ underflows to 0 (a division by zero) for K₂ below ~1e-205. Python floats:
    an overflow is inf, without numpy's RuntimeWarning."""
    _, K2, K3, K4, K5 = (float(c) for c in K)
    s = math.sqrt(K2)
    return s, K3 / s / s / s, K4 / K2 / K2, K5 / K2 / K2 / s


def _bracket(z, g, k, l5, order):
    """The polynomial multiplying φ(z) in S̃ − Q(z)."""
    z2 = z * z
    he2 = z2 - 1.0
    out = g / 6.0 * he2
    if order >= 2:
        he3 = z * (z2 - 3.0)
        he5 = z * (z2 * (z2 - 10.0) + 15.0)
        out = out + k / 24.0 * he3 + g * g / 72.0 * he5
    if order >= 3:
        he4 = z2 * (z2 - 6.0) + 3.0
        he6 = z2 * (z2 * (z2 - 15.0) + 45.0) - 15.0
        he8 = z2 * (z2 * (z2 * (z2 - 28.0) + 210.0) - 420.0) + 105.0
        out = out + l5 / 120.0 * he4 + g * k / 144.0 * he6 + g ** 3 / 1296.0 * he8
    return out


def _tail(x, K, order):
    """S̃(x), clipped to [0, 1] (vectorised)."""
    if K[1] <= 0.0:
        return np.where(np.asarray(x) < K[0], 1.0, 0.0)
    s, g, k, l5 = _shape(K)
    z = (np.asarray(x, dtype=float) - K[0]) / s
    with np.errstate(over="ignore", invalid="ignore"):
        ph = _INV_SQRT_2PI * np.exp(-0.5 * z * z)
        # where φ underflows the correction is below the smallest double; the polynomial
        # alone may overflow there (0·inf = NaN), as in the kernels' _tail_value
        corr = np.where(ph > 0.0, ph * _bracket(z, g, k, l5, order), 0.0)
    return np.clip(ndtr(-z) + corr, 0.0, 1.0)


def edgeworth_delta(eps: float | np.ndarray, KX: Sequence[float], KY: Sequence[float],
                    order: int = 2) -> np.ndarray:
    """δ̃(ε) = S̃_Y(ε) − e^ε·S̃_X(ε) (tails clipped to [0, 1]; may be negative)."""
    eps = np.asarray(eps, dtype=float)
    with np.errstate(over="ignore", invalid="ignore"):
        sx = _tail(eps, KX, order)
        out = _tail(eps, KY, order) - np.where(sx > 0, np.exp(eps) * sx, 0.0)
    return out


# ----------------------------------------------------------------------------------------
# Derumigny–Girard–Guyonvarch bound on sup |F − F̃₁| (no-continuity case, skewed)
# ----------------------------------------------------------------------------------------
def dgg_bound(parts: Sequence[Tuple[int, StepMoments]]) -> float:
    """sup_x |P(S ≤ x) − F̃₁(x)| for S a sum of independent steps.

    Parameters
    ----------
    parts : sequence of (steps, StepMoments) — the distinct step laws and their counts.

    Returns
    -------
    Δ ≥ 0 (inf when the theorem gives nothing). Derumigny, Girard, Guyonvarch (2023),
    Sankhya A 86, Theorem 2.1 (appendix Theorems A.3 for one distinct law, A.2 otherwise),
    with the centred moments B̄² = mean variance, K₄ = mean E X⁴/B̄⁴, K₃ = mean E|X|³/B̄³,
    λ₃ = mean E X³/B̄³, K̃₃ = K₃ + mean E|X|·σ²/B̄³, minimised over its free ε ∈ (0, 1/3)
    (kernels in :mod:`accountant.accountants._edgeworth_kernels`).
    """
    n = sum(s for s, _ in parts)
    if len(parts) == 1:
        shape = _dgg_shape(parts[0][1])
    else:
        shape = _dgg_shape_of(parts, n)
    if shape is None:
        return math.inf
    val = _ke.dgg_min(len(parts) == 1, float(n), *shape)
    return float(max(val, 0.0)) if math.isfinite(val) else math.inf


@lru_cache(maxsize=4096)
def _dgg_shape(m):
    """(K₄, K₃, K̃₃, λ₃) of one step law (i.i.d. steps: independent of their number)."""
    return _dgg_shape_of(((1, m),), 1)


def _dgg_shape_of(parts, n):
    """(K₄, K₃, K̃₃, λ₃) of ``parts`` (n steps in all), or None when the moments cannot be
    those of any law.

    Every ratio is taken step law by step law against B̄² and one factor of B̄ at a time:
    B̄³ and B̄⁴ underflow to 0 (a division by zero) for B̄² below ~1e-205. Moments that
    break an inequality every law obeys (:func:`_possible`; then also B̄² > 0,
    1 ≤ K₃ ≤ K₄^{3/4}, |λ₃| ≤ K₃ ≤ K̃₃ ≤ 2K₃ for the averages) are quadrature noise — at
    subnormal scales the fourth moment came out 0 or negative — and the theorem, fed them,
    would divide by zero or certify an interval from wrong numbers; the caller reports no
    bound (inf: the vacuous interval) instead."""
    if not n > 0:
        return None
    moments = [(st, m.mu2, m.mu3, m.mu4, m.abs1, m.abs3) for st, m in parts]
    if not all(_possible(*row[1:]) for row in moments):
        return None
    B2 = math.fsum(st * mu2 for st, mu2, *_ in moments) / n
    if not (B2 > 0 and math.isfinite(B2)):
        return None
    B = math.sqrt(B2)
    K4 = math.fsum(st * (mu4 / B2 / B2) for st, _, _, mu4, _, _ in moments) / n
    K3 = math.fsum(st * (abs3 / B / B / B) for st, *_, abs3 in moments) / n
    lam = math.fsum(st * (mu3 / B / B / B) for st, _, mu3, *_ in moments) / n
    K3t = K3 + math.fsum(st * (abs1 / B) * (mu2 / B2) for st, mu2, _, _, abs1, _ in moments) / n
    shape = (K4, K3, K3t, lam)
    if not all(math.isfinite(x) for x in shape):
        return None
    if not (K4 >= 1.0 and 1.0 <= K3 <= K4 ** 0.75 and abs(lam) <= K3 <= K3t <= 2.0 * K3):
        return None
    return shape


_SQRT_TINIEST = math.sqrt(math.ulp(0.0))


def _possible(mu2, mu3, mu4, abs1, abs3):
    """True when centred moments obey what every law's do: finite, E X² ≥ 0, and for
    E X² > 0 Lyapunov's E|X| ≤ σ ≤ (E|X|³)^{1/3} ≤ (E X⁴)^{1/4} and |E X³| ≤ E|X|³ (as
    scale-free ratios, one factor of σ at a time, so that no power underflows)."""
    if not all(math.isfinite(x) for x in (mu2, mu3, mu4, abs1, abs3)) or mu2 < 0:
        return False
    if mu2 == 0:
        # a point mass, up to a variance below the smallest double: E|X| ≤ σ < √5e-324
        return mu3 == mu4 == abs3 == 0 and abs1 <= _SQRT_TINIEST
    b = math.sqrt(mu2)
    r4 = mu4 / mu2 / mu2
    r3 = abs3 / b / b / b
    return r4 >= 1.0 and 1.0 <= r3 <= r4 ** 0.75 and abs(mu3 / b / b / b) <= r3 and abs1 / b <= 1.0


def _dgg_for(parts, direction, under):
    return dgg_bound([(s, mechanism_moments(m, direction, under)) for m, s in parts])


@lru_cache(maxsize=4096)
def _hi_loss(mechanism, direction):
    return float(loss_for(mechanism, direction).hi_loss)


# ----------------------------------------------------------------------------------------
# The accountant (searches and diagnostics run in numba: accountant/accountants/_edgeworth_kernels.py)
# ----------------------------------------------------------------------------------------
def _hi_loss_total(parts, direction):
    """Σ T·sup L: beyond it δ = 0 exactly (pure-DP part of bounded losses)."""
    tot = 0.0
    for m, s in parts:
        tot += s * _hi_loss(m, direction)
    return tot


def _top(KX, KY, hi_total):
    """Right end of the search grid: 40 sd above the mean of Y, or the largest loss."""
    s = math.sqrt(max(KY[1], 1e-300))
    top = max(KY[0] + 40.0 * s, 1.0)
    if math.isfinite(hi_total):
        top = min(top, max(hi_total, 1e-12))
    return top


_NGRID = 257


def _check_cumulants(schedule, direction, KX, KY):
    """Refuse a direction whose cumulants are not finite numbers (a variance ≥ 0).

    Every comparison with NaN is false, so NaN cumulants made δ̃ NaN on the whole grid,
    the search found no ε with δ̃ > δ and the direction was scored ε = 0 — silently
    dropping the leakier direction (issue 13: ε 0.092 where PLD says up to 624). An
    estimate without one of its directions is not an estimate of the mechanism, so this
    is an error, not a warning."""
    for under, K in (("P", KX), ("Q", KY)):
        if not (np.all(np.isfinite(K)) and K[1] >= 0.0):
            bad = ", ".join(f"{m!r} x {s}" for m, s in schedule.counts()
                            if not all(math.isfinite(c) for c in
                                       mechanism_moments(m, direction, under).cumulants))
            raise ValueError(
                f"method 'edgeworth': the cumulants of the privacy loss ({direction} "
                f"direction, under {under}) are out of the quadrature's reach"
                + (f" for {bad}" if bad else "")
                + "; no estimate without that direction: use method='pld' or 'rdp'")


# Largest |coefficient| of a Hermite polynomial in the correction brackets. Where φ(z) > 0
# (|z| < 38.6; beyond it the kernels drop the correction) every |He_j(z)|, j ≤ 9, is below
# 1e15, so each term of a bracket, and their sum, stays finite below this cap; above it
# the terms overflow, inf − inf is NaN and the tails would be clipped from NaN unseen.
_COEF_CAP = 1e290


def _check_shape(direction, under, K, order):
    """(γ, κ) of K (None when K₂ = 0: a point mass), or a ValueError when the expansion of
    this order cannot be evaluated in double precision.

    A positive variance so small against the higher cumulants that γ, κ or λ (or the
    products the brackets use) leave the double range belongs to a loss that is nothing
    like a normal law — a subsampled step at q = 1e-300 has γ ≈ 1e150 — and the expansion
    gives no number there: refused, as cumulants the quadrature cannot give are."""
    if not K[1] > 0.0:
        return None
    _, g, k, l5 = _shape(K)
    coefs = [g / 6.0]
    if order >= 2:
        coefs += [k / 24.0, g * g / 72.0]
    if order >= 3:
        coefs += [l5 / 120.0, g * k / 144.0, g * g * g / 1296.0]   # not **: it raises
    if not all(math.isfinite(c) and abs(c) <= _COEF_CAP for c in coefs):
        raise ValueError(
            f"method 'edgeworth': the privacy loss ({direction} direction, under {under}) "
            f"is too far from a normal law for the order-{order} expansion to be evaluated "
            f"(variance {K[1]:.3g}, skewness {g:.3g}, excess kurtosis {k:.3g}); "
            "no estimate: use method='pld' or 'rdp'")
    return g, k


@lru_cache(maxsize=1024)
def _curve(schedule, direction, order, interval):
    """Everything a query needs for one direction, cached per (schedule, direction, order):
    cumulant sums, the search grid with δ̃ and the DGG δ-bounds on it, the DGG bounds
    and the diagnostics."""
    parts = schedule.counts()
    KX = np.array(composed_cumulants(schedule, direction, "P"))
    KY = np.array(composed_cumulants(schedule, direction, "Q"))
    _check_cumulants(schedule, direction, KX, KY)
    hi_total = _hi_loss_total(parts, direction)
    warn = []
    for under, K in (("P", KX), ("Q", KY)):
        shape = _check_shape(direction, under, K, order)
        if shape is None:
            continue
        if _ke.ew_negative_density(K, order):
            warn.append("negative_density")
        if abs(shape[0]) > _SKEW_WARN:
            warn.append("large_skewness")
        if abs(shape[1]) > _KURT_WARN:
            warn.append("large_kurtosis")
    dX = dY = math.inf
    if interval:
        dX = _dgg_for(parts, direction, "P")
        dY = _dgg_for(parts, direction, "Q")
    grid, vals = _ke.ew_prepare(KX, KY, _top(KX, KY, hi_total), _NGRID, order,
                                min(dX, 2.0), min(dY, 2.0))
    return {"KX": KX, "KY": KY, "hi": hi_total, "grid": grid, "vals": vals,
            "warn": tuple(warn), "dX": dX, "dY": dY}


def _direction_eps(c, delta, order, interval):
    KX, KY, grid, hi_total = c["KX"], c["KY"], c["grid"], c["hi"]
    vals = c["vals"]
    # Δ ≥ 1 clips every tail to [0, 1] just as Δ = inf does (kernels get finite numbers).
    dX, dY = min(c["dX"], 2.0), min(c["dY"], 2.0)
    # Conservative rule: the largest ε with δ̃(ε) > δ.
    r = _ke.ew_search_grid(0, grid, vals, delta, KX, KY, order, dX, dY, True)
    if r < 0:
        est = 0.0
    elif math.isinf(r):
        est = float(grid[-1]) if math.isfinite(hi_total) and grid[-1] >= hi_total else math.inf
    else:
        est = float(r)
    lo, up = 0.0, math.inf
    if interval and (dX < 1.0 or dY < 1.0):
        # lower: the largest ε with δ_lower(ε) > δ (true δ(ε) > δ there, so ε_true ≥ ε)
        r = _ke.ew_search_grid(1, grid, vals, delta, KX, KY, order, dX, dY, True)
        lo = 0.0 if r < 0 else (float(grid[-1]) if math.isinf(r) else float(r))
        # upper: the smallest ε with δ_upper(ε) ≤ δ (true δ(ε) ≤ δ there)
        up = float(_ke.ew_search_grid(2, grid, vals, delta, KX, KY, order, dX, dY, False))
        if math.isfinite(hi_total):
            up = min(up, hi_total)
        lo = min(lo, up)
    elif interval and math.isfinite(hi_total):
        up = hi_total
    return est, lo, up


def _uniq(seq):
    out = []
    for w in seq:
        if w not in out:
            out.append(w)
    return tuple(out)


@register("edgeworth")
def compute(schedule: Schedule, *, delta: Optional[float] = None, epsilon: Optional[float] = None,
            order: int = 2, interval: bool = True, **options) -> Result:
    """ε(δ) or δ(ε) by the Edgeworth expansion of the composed privacy loss.

    Parameters
    ----------
    schedule : Schedule (validated, merged).
    delta, epsilon : exactly one is given.
    order : 1, 2 (default) or 3 — number of correction brackets kept.
    interval : compute the Derumigny–Girard–Guyonvarch finite-sample interval (default).

    Returns
    -------
    Result with ``certified=False``; ``estimate`` the Edgeworth value (clipped to be
    non-negative), ``lower``/``upper`` the DGG interval (possibly [0, inf], then
    ``vacuous`` is True and ``warnings`` holds "vacuous_interval").
    """
    if options:
        raise ValueError(f"unknown option(s) for method 'edgeworth': {', '.join(sorted(options))}")
    if isinstance(order, bool) or order not in (1, 2, 3):
        raise ValueError(f"order must be 1, 2 or 3, got {order!r}")
    order = int(order)
    interval = bool(interval)
    warn = []
    details = {"order": order, "directions": {}}
    iid = len(schedule.counts()) == 1
    details["interval_theorem"] = ("Derumigny-Girard-Guyonvarch Thm A.3 (i.i.d.)" if iid else
                                   "Derumigny-Girard-Guyonvarch Thm A.2 (independent, non-identical)")
    est = lo = up = 0.0
    for d in directions_of(schedule):
        c = _curve(schedule, d, order, interval)
        warn += c["warn"]
        if delta is not None:
            e_d, lo_d, up_d = _direction_eps(c, delta, order, interval)
        else:
            eps = float(epsilon)
            e_d = min(max(_ke.ew_delta(eps, c["KX"], c["KY"], order), 0.0), 1.0)
            if eps >= c["hi"]:
                e_d = lo_d = up_d = 0.0
            elif interval:
                lo_d = _ke.ew_interval(eps, c["KX"], c["KY"], c["dX"], c["dY"], False)
                up_d = _ke.ew_interval(eps, c["KX"], c["KY"], c["dX"], c["dY"], True)
            else:
                lo_d, up_d = 0.0, 1.0
        if any(x != x for x in (e_d, lo_d, up_d)):
            # NaN compares false everywhere (max() would keep the other direction): never
            # let a direction drop out of the worst case silently
            raise ValueError(f"method 'edgeworth': the {d} direction produced no number "
                             "(NaN) at this query; use method='pld' or 'rdp'")
        # Monotonicity matters down to a little below the δ the answer is read at.
        floor = 1e-3 * (delta if delta is not None else max(e_d, 1e-300))
        if _ke.ew_non_monotone_vals(c["vals"][0], floor):
            warn.append("non_monotone_delta")
        est, lo, up = max(est, e_d), max(lo, lo_d), max(up, up_d)
        dd = {"estimate": e_d, "lower": lo_d, "upper": up_d,
              "K_X": tuple(float(k) for k in c["KX"]), "K_Y": tuple(float(k) for k in c["KY"])}
        if interval:
            dd.update(dgg_delta_X=c["dX"], dgg_delta_Y=c["dY"])
        details["directions"][d] = dd
    if delta is not None:
        quantity, at, top = "epsilon", delta, math.inf
        if not interval:
            lo, up = 0.0, math.inf
        if not math.isfinite(est):
            warn.append("no_crossing")
    else:
        quantity, at, top = "delta", float(epsilon), 1.0
    if lo <= 0.0 and up >= top:
        warn.append("vacuous_interval")
        if interval:
            why = ("the Derumigny-Girard-Guyonvarch bound on sup|F - F~| of each tail ("
                   + ", ".join(f"{k}: X {dd['dgg_delta_X']:.3g}, Y {dd['dgg_delta_Y']:.3g}"
                               for k, dd in details["directions"].items())
                   + f") is too large at this delta; the interval [0, {top:g}] is vacuous")
        else:
            why = "interval not computed (interval=False)"
        details["interval"] = "vacuous: " + why
    else:
        details["interval"] = "finite-sample interval (Derumigny-Girard-Guyonvarch), rigorous"
    details["certified_note"] = "Edgeworth estimate: neither an upper nor a lower bound"
    return Result(quantity, at, float(est), float(lo), float(up), False, "edgeworth",
                  warnings=_uniq(warn), details=details)
