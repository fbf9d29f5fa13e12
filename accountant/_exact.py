"""Exact values every accountant can lean on: μ-GDP closed forms and one-step profiles.

* A schedule of Gaussian mechanisms is exactly μ-GDP with μ² = Σ T_i (s_i/σ_i)²
  (Dong, Roth, Su 2019, Cor. 3.3), whose profile is
  δ(ε) = Φ(−ε/μ + μ/2) − e^ε Φ(−ε/μ − μ/2) (Balle & Wang 2018, Thm 8).
* For any schedule, the composition is at least as leaky as any one of its steps
  (post-processing: drop the other outputs), so the exact one-step ε(δ) of each distinct
  mechanism is a proven lower bound on the composed ε.
"""
from __future__ import annotations

import math

import numpy as np

from ._kernels.special import log_sf_normal
from ._optimize import find_root
from .privacy_loss import GaussianMixtureLoss, privacy_losses


def pure_epsilon(schedule) -> float:
    """Σ T_i · max over directions of sup L_i: the pure-DP ε of the schedule (basic
    composition of ε₀-DP steps, δ = 0); inf unless every step is pure DP (Laplace)."""
    total = 0.0
    for m, steps in schedule.counts():
        total += steps * max(float(pl.hi_loss) for pl in privacy_losses(m))
    return total


def gaussian_mu(schedule) -> float | None:
    """μ of a schedule made only of Gaussian mechanisms (q = 1), else None."""
    total = 0.0
    for m, steps in schedule.counts():
        for pl in privacy_losses(m):
            if not (isinstance(pl, GaussianMixtureLoss) and pl.pm.shape[0] == 1
                    and pl.qm.shape[0] == 1):
                return None
        pl = privacy_losses(m)[0]
        shift = (pl.qm[0] - pl.pm[0]) / pl.sigma
        total += steps * shift * shift
    return math.sqrt(total)


def gaussian_result(schedule, method: str, delta=None, epsilon=None):
    """The exact answer for a Gaussian-only schedule (μ-GDP, Dong–Roth–Su 2019), as a
    certified Result whose bracket only covers the rounding of the closed form; None when
    the schedule has other mechanisms."""
    from .bounds import Result
    mu = gaussian_mu(schedule)
    if mu is None:
        return None
    details = {"exact": "mu-GDP", "mu": mu}
    if delta is not None:
        # a relative 1e-12 each side covers the floating-point evaluation of the closed form
        up = gdp_epsilon(mu, delta, "upper") * (1 + 1e-12)
        lo = gdp_epsilon(mu, delta, "lower") * (1 - 1e-12)
        return Result("epsilon", delta, up, lo, up, True, method, details=details)
    d = gdp_delta(mu, epsilon)
    return Result("delta", epsilon, d, max(0.0, d * (1 - 1e-12)), min(1.0, d * (1 + 1e-12)),
                  True, method, details=details)


def gdp_log_delta(mu: float, eps: float) -> float:
    """log δ(ε) of μ-GDP, in log space (no 1 − cdf)."""
    if mu == 0.0:
        return -math.inf
    a = log_sf_normal(eps / mu - mu / 2)
    b = eps + log_sf_normal(eps / mu + mu / 2)
    if b >= a:
        return -math.inf
    return float(a + math.log(-math.expm1(b - a)))


def gdp_delta(mu: float, eps: float) -> float:
    return math.exp(gdp_log_delta(mu, eps))


def _root_side(f, lo, hi, side):
    """Root of a decreasing f on [lo, hi], returned on the requested side: "upper" gives x
    with f(x) ≤ 0 (a valid upper bound on ε), "lower" gives x with f(x) ≥ 0."""
    x = find_root(f, lo, hi, xtol=1e-14, rtol=1e-14)
    step = 1e-14 * max(1.0, abs(x))
    for _ in range(64):
        v = f(x)
        if (side == "upper" and v <= 0) or (side == "lower" and v >= 0):
            return max(x, 0.0)
        x = x + step if side == "upper" else x - step
        step *= 2
    return max(x, 0.0)


def gdp_epsilon(mu: float, delta: float, side: str = "upper") -> float:
    """The ε of μ-GDP at δ (0 when δ(0) ≤ δ), rounded to the requested side."""
    if mu == 0.0 or gdp_log_delta(mu, 0.0) <= math.log(delta):
        return 0.0
    hi = max(1.0, mu * mu / 2 + mu * math.sqrt(2 * max(1.0, -math.log(delta))) + 1)
    while gdp_log_delta(mu, hi) > math.log(delta):
        hi *= 2
    return _root_side(lambda e: gdp_log_delta(mu, e) - math.log(delta), 0.0, hi, side)


def one_step_epsilon(pl, delta: float, side: str = "upper") -> float:
    """Exact ε(δ) of one step of a privacy loss: the root of δ(ε) = δ (0 if δ(0) ≤ δ),
    rounded to the requested side."""
    ld = math.log(delta)
    f = lambda e: float(pl.log_hockey_stick(np.array([e]))[0]) - ld
    if f(0.0) <= 0:
        return 0.0
    hi = 1.0
    if math.isfinite(pl.hi_loss):
        hi = pl.hi_loss
        if f(hi * (1 - 1e-15)) > 0:
            return float(hi)
    else:
        while f(hi) > 0:
            hi *= 2
    return _root_side(f, 0.0, hi, side)


def composed_lower_epsilon(schedule, delta: float) -> float:
    """A proven lower bound on the composed ε: exact for Gaussian-only schedules, otherwise
    the largest exact one-step ε over the schedule's mechanisms and directions."""
    mu = gaussian_mu(schedule)
    if mu is not None:
        return gdp_epsilon(mu, delta, "lower")
    best = 0.0
    for m, _ in schedule.counts():
        for pl in privacy_losses(m):
            best = max(best, one_step_epsilon(pl, delta, "lower"))
    return best


def composed_lower_delta(schedule, eps: float) -> float:
    """A proven lower bound on the composed δ(ε) (see :func:`composed_lower_epsilon`)."""
    mu = gaussian_mu(schedule)
    if mu is not None:
        return gdp_delta(mu, eps)
    best = 0.0
    for m, _ in schedule.counts():
        for pl in privacy_losses(m):
            best = max(best, float(pl.hockey_stick(np.array([eps]))[0]))
    return best


def basic_composition_epsilon(schedule, delta: float) -> float:
    """Basic composition (Dwork et al. 2006): every step at δ/T gives ε ≤ Σ T_i ε_i(δ/T).

    Loose in general but exact in the limit q → 0 or σ → ∞, where it certifies ε = 0 as
    soon as T·δ_i(0) ≤ δ, which RDP conversion never reaches.
    """
    total_steps = schedule.steps
    total = 0.0
    for m, steps in schedule.counts():
        total += steps * max(one_step_epsilon(pl, delta / total_steps, "upper")
                             for pl in privacy_losses(m))
    return total


def basic_composition_delta(schedule, eps: float) -> float:
    """Basic composition: every step at ε/T gives δ ≤ Σ T_i δ_i(ε/T) (clipped at 1)."""
    total_steps = schedule.steps
    e = np.array([eps / total_steps])
    total = 0.0
    for m, steps in schedule.counts():
        total += steps * max(float(pl.hockey_stick(e)[0]) for pl in privacy_losses(m))
    return min(1.0, total)
