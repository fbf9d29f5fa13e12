"""Certified one-step hockey stick of a Gaussian-mixture pair: δ(ε) = f(x*) with
f(x) = Σ_u c_u Φ̄((x − u)/σ), each side a proven bound that includes the rounding of its
evaluation (the method and its error model: :mod:`accountant.accountants.exact`, module
docstring; docs/math.md §2). Called through
:meth:`accountant.loss.mixture.GaussianMixtureLoss.log_delta_bound`.
"""
from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

from ..core.rounding import _KAPPA, _NEG, _U, _log1mexp, _logaddexp, _lse, _signed_sum
from ..core.special import log_sf_normal
from . import _mixture_kernels as _km
from .gdp import gdp_log_delta_bound

_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)


class _Pair:
    """A Gaussian-mixture pair with weights re-derived so that each sums to 1 exactly."""

    __slots__ = ("sigma", "pm", "plw", "qm", "qlw", "arrays", "means", "coef", "lo", "hi",
                 "hi_err", "mu")


def _complement(means, logw, shared):
    """Log weights with the shared component's weight (if ≥ ½) replaced by 1 − Σ others,
    and (index, log Σ others) of that component (None when kept as given)."""
    logw = [float(v) for v in logw]
    if len(means) == 1:
        return [0.0], (0, _NEG)
    cands = [i for i, m in enumerate(means) if m in shared]
    if not cands:
        return logw, None
    j = max(cands, key=lambda i: logw[i])
    if logw[j] < math.log(0.5):
        return logw, None
    rest = math.fsum(math.exp(v) for i, v in enumerate(logw) if i != j)
    logw[j] = math.log1p(-rest)
    return logw, (j, math.log(rest) if rest > 0 else _NEG)


@lru_cache(maxsize=4096)
def _pair(pl) -> _Pair:
    p = _Pair()
    p.sigma = float(pl.sigma)
    p.pm, p.qm = [float(v) for v in pl.pm], [float(v) for v in pl.qm]
    shared = set(p.pm) & set(p.qm)
    p.plw, pc = _complement(p.pm, pl.plw, shared)
    p.qlw, qc = _complement(p.qm, pl.qlw, shared)
    p.arrays = (np.array(p.pm), np.array(p.plw), np.array(p.qm), np.array(p.qlw), p.sigma)
    p.means = sorted(set(p.pm) | set(p.qm))
    # Per mean: how its coefficient w_Q(u) − e^ε w_P(u) is formed:
    # (Q log weight or None, Q complement log S or None, same for P).
    p.coef = []
    for u in p.means:
        qi = p.qm.index(u) if u in p.qm else None
        pi = p.pm.index(u) if u in p.pm else None
        q_s = qc[1] if (qi is not None and qc is not None and qc[0] == qi) else None
        p_s = pc[1] if (pi is not None and pc is not None and pc[0] == pi) else None
        p.coef.append((u, None if qi is None else p.qlw[qi], q_s,
                       None if pi is None else p.plw[pi], p_s))
    p.lo = p.qlw[0] - p.plw[0] if p.qm[0] == p.pm[0] else (_NEG if p.qm[0] > p.pm[0] else None)
    if p.qm[-1] == p.pm[-1]:
        p.hi = p.qlw[-1] - p.plw[-1]
        p.hi_err = _KAPPA * _U * (abs(p.qlw[-1]) + abs(p.plw[-1]) + abs(p.hi))
    else:
        p.hi, p.hi_err = math.inf, 0.0
    p.mu = (p.qm[0] - p.pm[0]) / p.sigma if len(p.pm) == 1 and len(p.qm) == 1 else None
    return p


def _log_abs_expm1(x: float) -> float:
    return x + math.log1p(-math.exp(-x)) if x > 1.0 else math.log(abs(math.expm1(x)))


def _coefficient(c, eps):
    """(u, sign, log|c_u|, log gross, error factor) of c_u = w_Q(u) − e^ε w_P(u); the
    absolute error of c_u is ≤ κu·gross·factor (gross = the sum of the magnitudes of the
    terms it is formed from)."""
    u, qlw, q_s, plw, p_s = c
    terms = []
    if q_s is not None and p_s is not None:
        if q_s == p_s:
            # the same complement on both sides (replace-one): c = −(1 − S)·expm1(ε), no
            # cancellation at all
            if eps == 0.0:
                return u, 0, _NEG, _NEG, 1.0
            lc = _log_abs_expm1(eps) + math.log1p(-math.exp(q_s))
            return u, -1 if eps > 0 else 1, lc, lc, 4.0 + abs(eps) + abs(q_s)
        # (1 − S_Q) − e^ε(1 − S_P) = e^ε S_P − S_Q − expm1(ε)
        if eps != 0.0:
            terms.append((-1 if eps > 0 else 1, _log_abs_expm1(eps)))
        terms += [(-1, q_s), (1, eps + p_s)]
    else:
        if qlw is not None:
            terms += [(1, 0.0), (-1, q_s)] if q_s is not None else [(1, qlw)]
        if plw is not None:
            terms += [(-1, eps), (1, eps + p_s)] if p_s is not None else [(-1, eps + plw)]
    terms = [(s, l) for s, l in terms if l > _NEG]
    sign, lc, gross = _signed_sum(terms)
    factor = 3.0 + abs(eps) + max((abs(l) for _, l in terms), default=0.0)
    return u, sign, lc, gross, factor


def _sum_bound(coefs, x, sigma, log_kernel):
    """Σ_u c_u·K((x − u)/σ) for K = e^{log_kernel}, as (sign, log|Σ|, log of a bound on its
    rounding error). ``log_kernel(z)`` is log Φ̄(z) or −z²/2, both of relative error
    ≲ u(3 + |log K| + (|z| + 1.6)(|z| + (|x| + |u|)/σ)) at a rounded z."""
    terms, err = [], []
    for u, sign, lc, gross, factor in coefs:
        z = (x - u) / sigma
        lk = log_kernel(z)
        nk = 3.0 + abs(lk) + (abs(z) + 1.6) * ((abs(x) + abs(u)) / sigma + abs(z))
        if sign != 0:
            terms.append((sign, lc + lk))
            err.append(lc + lk + math.log(nk))
        if gross > _NEG:
            err.append(gross + lk + math.log(factor))
    sign, ls, _ = _signed_sum(terms)
    if sign != 0:
        err.append(ls + math.log(abs(ls) + 3.0))     # the final sums and logarithms
    return sign, ls, math.log(_KAPPA * _U) + _lse(err)


def _log_density_kernel(z):
    return -0.5 * z * z


def _mixture_log_delta_bound(p: _Pair, eps: float, side: str) -> float:
    """Bound on log δ(ε) of one step of the pair, ε ≥ 0 below the top of the loss.

    f(x) = Σ_u c_u Φ̄((x − u)/σ) = Q(X > x) − e^ε P(X > x) ≤ δ(ε) for every x, with equality
    at the root x* of L = ε. The lower bound is f at a point x_a certified to lie at or
    below x* — where g(x) = Σ_u c_u φ((x − u)/σ) ∝ q(x) − e^ε p(x) is certified ≤ 0 with
    its rounding bound — minus f's rounding bound. The upper bound adds the mass f can miss
    between x_a and x*: there e^ε p − q = p·(e^ε − e^L) ≤ p·(e^ε − e^{L(x_a)}) = p·|g(x_a)|/p(x_a),
    so δ(ε) − f(x_a) ≤ |g(x_a)|·P(X > x_a)/p(x_a)."""
    up = side == "upper"
    sig = p.sigma
    coefs = [_coefficient(c, eps) for c in p.coef]
    x = float(_km.inverse_loss(eps, *p.arrays, -math.inf if p.lo is None else p.lo, p.hi))
    if not math.isfinite(x):
        return 0.0 if up else _NEG

    _, lg, le = _sum_bound(coefs, x, sig, _log_density_kernel)
    ref = max(lg, le)            # scale of g near the root (keeps the secant in range)

    def g_up(y):                 # (upper bound on g(y)·e^-ref, ≤ 0 iff certified; log|g|; log err)
        sg, lg, le = _sum_bound(coefs, y, sig, _log_density_kernel)
        a, b = math.exp(min(lg - ref, 700.0)), math.exp(min(le - ref, 700.0))
        if sg < 0 and lg >= le:                      # g(y) ≤ 0 proven: y ≤ x*
            return min(0.0, b - a), lg, le
        return max(sg * a + b, 1e-300), lg, le

    v0, lg, le = g_up(x)
    if v0 > 0:
        # Move left to a point where g's upper bound is ≤ 0 (certified x ≤ x*): secant
        # steps on the bound, at least doubling the distance each time.
        y0, y1 = x, x - (abs(x) + sig) * 1e-13
        # Beyond 64σ below both x and every mean, L is its lower limit to within e^-2000:
        # nothing further left certifies what nearer points did not (the walk went on to
        # x = -1e105 at 0.2 ms a step for ELS(1e12, 1e-15, 256)).
        stop = min(x, p.means[0]) - 64.0 * sig
        for _ in range(200):
            v1, lg, le = g_up(y1)
            if v1 <= 0:
                break
            if y1 < stop:
                return 0.0 if up else _NEG
            slope = (v0 - v1) / (y0 - y1)
            jump = 1.25 * v1 / slope if slope > 0 and math.isfinite(slope) else math.inf
            y0, v0, y1 = y1, v1, y1 - max(min(jump, 64 * (y0 - y1)), 2 * (y0 - y1))
        else:
            return 0.0 if up else _NEG
        x = y1
    elif lg > le + 2.0:
        # x is certified but well left of the root (the root finder's tolerance): the
        # missed mass is first order in the distance, so step right by secant towards
        # where g is −(a few times its error), keeping the last certified point.
        h = (abs(x) + sig) * 1e-9
        for _ in range(3):
            v1, lg1, le1 = g_up(x + h)
            if v1 > 0 or not (lg1 < lg):
                break
            slope = (v1 - v0) / h
            if not (slope > 0):
                break
            x, v0, lg, le = x + h, v1, lg1, le1
            target = -4.0 * math.exp(min(le - ref, 700.0))
            h = (target - v0) / slope
            if not (h > 0):
                break
    sign, ld, log_err = _sum_bound(coefs, x, sig, log_sf_normal)
    if sign <= 0:
        ld = _NEG
    if not up:
        return ld + _log1mexp(log_err - ld) if ld > log_err else _NEG
    log_p = _lse([lw - 0.5 * ((x - m) / sig) * ((x - m) / sig) for m, lw in zip(p.pm, p.plw)])
    log_pbar = _lse([lw + log_sf_normal((x - m) / sig) for m, lw in zip(p.pm, p.plw)])
    miss = _logaddexp(lg, le) - log_p + log_pbar + math.log(2.0)
    return _logaddexp(_logaddexp(ld, log_err), miss)



def log_delta_bound(pl, eps: float, side: str) -> float:
    """A proven bound on log δ(ε) of one step of the mixture pair ``pl`` (ε ≥ 0)."""
    p = _pair(pl)
    if p.mu is not None:                      # one Gaussian each side: μ-GDP
        return gdp_log_delta_bound(p.mu, eps, side, 8 * _U)
    if eps >= p.hi + p.hi_err:
        return _NEG
    if eps > p.hi - p.hi_err:
        # Where the top of the loss is uncertain: 0 below, δ at a point below it above.
        if side != "upper":
            return _NEG
        return _mixture_log_delta_bound(p, max(0.0, p.hi - 2.0 * p.hi_err), "upper")
    return _mixture_log_delta_bound(p, eps, side)


def delta_zero_above(pl) -> float:
    """A point where the upper bound on the one-step δ is 0 (inf if there is none)."""
    p = _pair(pl)
    if p.mu is not None or not math.isfinite(p.hi):
        return math.inf
    return p.hi + 2.0 * p.hi_err + 1e-300
