"""μ-GDP: the profile of one Gaussian pair, δ(ε) = Φ(−ε/μ + μ/2) − e^ε Φ(−ε/μ − μ/2)
(Balle & Wang 2018, Thm 8; Dong, Roth, Su 2019), as certified bounds in log space and its
inverse ε(δ) on either side. How the rounding is bounded: :mod:`accountant.accountants.exact`
(module docstring) and docs/math.md §2.1.
"""
from __future__ import annotations

import math
from typing import Tuple

import numpy as np

from ..core._optimize import find_root
from ..core.rounding import _KAPPA, _NEG, _U, _log1mexp, epsilon_from_bound, exp_down, exp_up
from ..core.special import log_sf_normal

_MU_REL = 8 * _U          # relative uncertainty of a μ from gaussian_mu (≤ 3u, doubled)
_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)
_SQRT2 = math.sqrt(2.0)
_GL_X, _GL_W = (list(map(float, a)) for a in np.polynomial.legendre.leggauss(12))


def _hazard_gap(t: float) -> float:
    """h(t) − t for the standard normal hazard h = φ/Φ̄ (> 0). Relative error measured
    against mpmath ≤ 61u(1 + t²) below t = 3 (erfc, then one cancelling subtraction) and
    ≤ 1.6u above (the continued fraction of the Mills ratio, evaluated backwards from 80,
    40, 28 or 16 levels on [3, 4), [4, 6), [6, 10), [10, ∞))."""
    if t < 3.0:
        return math.exp(-0.5 * t * t - _LOG_SQRT_2PI) / (0.5 * math.erfc(t / _SQRT2)) - t
    v = t
    for k in range(80 if t < 4.0 else 40 if t < 6.0 else 28 if t < 10.0 else 16, 1, -1):
        v = t + k / v
    return 1.0 / v


def _gdp_parts(mu: float, eps: float):
    """(a, a_err, s, s_err) with log δ(ε) = a + log(1 − e^s) for μ-GDP:
    a = log Φ̄(ε/μ − μ/2), s = ε − log Φ̄(ε/μ − μ/2) + log Φ̄(ε/μ + μ/2) < 0, and bounds on
    the absolute error of each (see the module docstring)."""
    zbar = eps / mu
    half = 0.5 * mu
    z1 = zbar - half
    a = log_sf_normal(z1)
    a_err = _KAPPA * _U * (1.0 + abs(a) + (max(z1, 0.0) + 1.6) * (abs(zbar) + abs(z1)))
    if mu <= 8.0:
        # s = ∫_{z1}^{z2} (t − h(t)) dt: the linear part integrates to ε − μ·z̄ = 0 on the
        # symmetric panels; only the smooth t − h(t) ≈ −1/t is summed.
        n = max(1, math.ceil(mu))
        w = mu / n
        total = 0.0
        tmax = 0.0
        for k in range(n):
            c = z1 + (k + 0.5) * w
            part = 0.0
            for x, wt in zip(_GL_X, _GL_W):
                t = c + 0.5 * w * x
                tmax = max(tmax, abs(t))
                part -= wt * _hazard_gap(t)
            total += 0.5 * w * part
        s = total
        s_err = _KAPPA * _U * (abs(s) * (4.0 + tmax * tmax) + mu * (abs(zbar) + half + 1.0))
    else:
        z2 = zbar + half
        b = eps + log_sf_normal(z2)
        s = b - a
        s_err = _KAPPA * _U * (abs(a) + abs(b) + abs(eps) + 1.0
                               + (max(z1, 0.0) + 1.6) * (abs(zbar) + abs(z1))
                               + (max(z2, 0.0) + 1.6) * (abs(zbar) + abs(z2)))
    return a, a_err, s, s_err


def gdp_log_delta(mu: float, eps: float) -> float:
    """log δ(ε) of μ-GDP (the nearest value; :func:`gdp_log_delta_bound` for a bound)."""
    if mu == 0.0:
        return _NEG
    a, _, s, _ = _gdp_parts(mu, eps)
    return a + _log1mexp(s)


def gdp_log_delta_bound(mu: float, eps: float, side: str, mu_rel: float = _MU_REL) -> float:
    """A proven upper (``side="upper"``) or lower bound on log δ(ε) of μ'-GDP for every μ'
    within a relative ``mu_rel`` of ``mu`` (δ grows with μ)."""
    if mu == 0.0:
        return _NEG
    up = side == "upper"
    m = mu * (1.0 + mu_rel) if up else mu * (1.0 - mu_rel)
    a, a_err, s, s_err = _gdp_parts(m, eps)
    if up:
        ld = a + a_err + (_log1mexp(s - s_err) if s - s_err < 0 else 0.0)
        return ld + _KAPPA * _U * (abs(ld) + 1.0)
    ld = a - a_err + _log1mexp(s + s_err)
    return ld - _KAPPA * _U * (abs(ld) + 1.0)


def gdp_delta(mu: float, eps: float) -> float:
    """δ(ε) of μ-GDP, nearest value (not a bound: :func:`gdp_delta_bracket`)."""
    return math.exp(gdp_log_delta(mu, eps))


def gdp_delta_bracket(mu: float, eps: float, mu_rel: float = _MU_REL) -> Tuple[float, float]:
    """(lower, upper): a proven bracket on δ(ε) of μ-GDP (μ known to a relative mu_rel)."""
    lo = exp_down(gdp_log_delta_bound(mu, eps, "lower", mu_rel))
    up = min(1.0, exp_up(gdp_log_delta_bound(mu, eps, "upper", mu_rel)))
    return min(lo, up), up


def _gdp_direct_log_delta(mu: float, eps: float) -> float:
    """log δ(ε) of μ-GDP by the direct two-tail form: cheap, and only used for a guess."""
    a = log_sf_normal(eps / mu - mu / 2)
    b = eps + log_sf_normal(eps / mu + mu / 2)
    return a + _log1mexp(b - a) if b < a else _NEG


def gdp_epsilon(mu: float, delta: float, side: str = "upper", mu_rel: float = _MU_REL) -> float:
    """The ε of μ-GDP at δ (0 when δ(0) ≤ δ), as a proven bound on the requested side
    (μ known to a relative ``mu_rel``)."""
    if mu == 0.0:
        return 0.0
    ld = math.log(delta)
    guess = None
    if _gdp_direct_log_delta(mu, 0.0) > ld:
        hi = 1.0
        while _gdp_direct_log_delta(mu, hi) > ld and hi < 1e300:
            hi *= 2.0
        guess = find_root(lambda e: _gdp_direct_log_delta(mu, e) - ld, 0.0, hi,
                          xtol=1e-300, rtol=1e-12)
    return epsilon_from_bound(lambda e, sd: gdp_log_delta_bound(mu, e, sd, mu_rel),
                               delta, side, math.inf, guess if guess and guess > 0 else None)
