"""Saddle-point accountant (Alghamdi, Gomez, Asoodeh, Calmon, Kosut, Sankar, ICML 2023,
arXiv 2208.09595): an estimate with a rigorous error bound relative to δ.

For one direction let S = Σ L_i under Q (independent steps) and K(t) = Σ_i T_i K_i(t) its
CGF. For every t > 0 the exact identity

    δ(ε) = e^{K(t) − tε} · E_t[ g_t(S − ε) ],   g_t(u) = e^{−tu}(1 − e^{−u})₊,

holds, where E_t is under the law tilted by e^{tS} (mean K′(t), variance K″(t)).
**SPA-CLT** replaces the tilted law of S by the normal N(K′(t), K″(t)):

    δ_CLT = e^{K − tε − γ²/2}·(q(α) − q(β))/√(2π),  γ = (K′ − ε)/√K″,
    α = t√K″ − γ, β = α + √K″,  q(z) = √(2π)e^{z²/2}Φ̄(z)          (notes/math.md §6).

**Error bound** (valid for ANY t > 0): g_t rises from 0 to max g_t = t^t/(1+t)^{1+t} and
falls back, so its total variation is 2·max g_t, and the Berry–Esseen theorem for
independent, non-identically distributed summands (Shevtsova 2010, constant 0.5600) gives

    |δ − δ_CLT| ≤ e^{K − tε}·t^t/(1+t)^{1+t}·1.12·Σ T_i P_{t,i} / K″^{3/2},

P_{t,i} = E_t|L_i − K_i′(t)|³ (Alghamdi et al., Theorem 5 for i.i.d. steps; the sum form is the
same argument with the non-i.i.d. Berry–Esseen bound). The saddle point t₀ solves
K′(t₀) = ε + 1/t₀ + 1/(1+t₀) (it nearly minimises the bound); root-finding errors do not
affect validity. **SPA-MSD** (the method of steepest descent at t₀) is the estimate:
δ_MSD = e^{F(t₀)}/√(2π F″(t₀)), F(t) = K(t) − tε − log t − log(1+t).

Quadrature errors of K, K′, K″, P_t (reported by the adaptive rule) are propagated into
the bound; ``certified=True`` only when they are small and the interval is not vacuous.
Add/remove pairs: each direction is composed separately and the larger value reported.
"""
from __future__ import annotations

import math

from ._kernels.special import log_sf_normal
from .api import register
from .bounds import Result
from .cumulants import mechanism_tilted
from .privacy_loss import directions_of, loss_for

__all__ = ["compute", "spa_terms", "saddle_point"]

_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)
_BE = 0.56            # Berry–Esseen constant, independent non-identical summands
_INPUT_REL_OK = 1e-6  # largest input error (relative) still called certified


def _log_q(z):
    """log q(z) = log(√(2π)·e^{z²/2}·Φ̄(z)) (Mills ratio × √(2π)), stable for all z."""
    return _LOG_SQRT_2PI + 0.5 * z * z + log_sf_normal(z)


class _Curve:
    """Σ_i T_i·(K, K′, K″, P_t) of one direction, memoised in t."""

    def __init__(self, schedule, direction):
        self.parts = [(m, s) for m, s in schedule.counts()]
        self.direction = direction
        self.memo = {}
        self.hi = sum(s * float(loss_for(m, direction).hi_loss) for m, s in self.parts)

    def at(self, t):
        t = float(t)
        r = self.memo.get(t)
        if r is None:
            K = K1 = K2 = P = errK = K3 = K4 = 0.0
            rel = 0.0
            for m, s in self.parts:
                tl = mechanism_tilted(m, self.direction, t)
                K += s * tl.K
                K1 += s * tl.K1
                K2 += s * tl.K2
                P += s * tl.Pt
                errK += s * tl.abs_err_K
                rel = max(rel, tl.rel_err)
                K3 += s * tl.K3
                K4 += s * tl.K4
            r = (K, K1, K2, P, errK, rel, K3, K4)
            self.memo[t] = r
        return r

    def eps_of(self, t):
        """The ε for which t is the saddle point: K′(t) − 1/t − 1/(1+t)."""
        return self.at(t)[1] - 1.0 / t - 1.0 / (1.0 + t)


def spa_terms(eps, t, K, K1, K2, P, errK=0.0, rel=0.0, K3=0.0, K4=0.0):
    """(δ_CLT, error bound, δ_MSD) at ε using the tilt t and the composed K, K′, K″, ΣT·P_t.

    The error bound includes the propagated input errors: an absolute error errK in K moves
    δ by a factor e^{±errK}; relative errors ``rel`` in K″, P_t are covered by a factor 10.
    """
    s = math.sqrt(K2)
    gam = (K1 - eps) / s
    alpha = t * s - gam
    beta = alpha + s
    la = _log_q(alpha)
    lb = _log_q(beta)
    base = K - t * eps
    # q(α) − q(β) > 0 (q decreasing); log of the difference without cancellation.
    diff = la + math.log(-math.expm1(lb - la)) if lb < la else -math.inf
    log_clt = base - 0.5 * gam * gam + diff - _LOG_SQRT_2PI
    clt = math.exp(log_clt) if log_clt > -745 else 0.0
    log_gmax = t * math.log(t) - (1.0 + t) * math.log1p(t) if t > 0 else 0.0
    log_err = base + log_gmax + math.log(2 * _BE) + math.log(P) - 1.5 * math.log(K2)
    err = math.exp(min(log_err, 700.0))
    # Propagated input errors (conservative).
    err += (clt + err) * (math.expm1(errK) + 10.0 * rel)
    # Steepest descent on δ = (1/2πi)∫ e^{F(z)} dz through the saddle, two terms:
    # e^F/√(2πF″)·(1 + F⁗/(8F″²) − 5F‴²/(24F″³)).
    F = base - math.log(t) - math.log1p(t)
    F2 = K2 + 1.0 / t ** 2 + 1.0 / (1.0 + t) ** 2
    F3 = K3 - 2.0 / t ** 3 - 2.0 / (1.0 + t) ** 3
    F4 = K4 + 6.0 / t ** 4 + 6.0 / (1.0 + t) ** 4
    corr = 1.0 + F4 / (8 * F2 * F2) - 5 * F3 * F3 / (24 * F2 ** 3)
    msd = math.exp(min(F - 0.5 * math.log(2 * math.pi * F2), 700.0)) * max(corr, 0.0)
    if K3 == 0.0 and K4 == 0.0:
        # Gaussian tilted law (q = 1): SPA-CLT is exact, prefer it to the truncated series.
        msd = clt
    return clt, err, msd


def saddle_point(curve, eps):
    """t₀ > 0 with K′(t₀) − 1/t₀ − 1/(1+t₀) = ε (bisection/secant in log t)."""
    lo, hi = -20.0, 0.0
    while curve.eps_of(math.exp(lo)) > eps and lo > -60:
        lo -= 10.0
    while curve.eps_of(math.exp(hi)) < eps:
        hi += 1.0
        if hi > 25:
            break
    return math.exp(_solve(lambda s: curve.eps_of(math.exp(s)) - eps, lo, hi, 1e-13))


def _solve(f, a, b, tol):
    """Root of increasing f on [a, b] by the Illinois method (keeps a bracket)."""
    fa, fb = f(a), f(b)
    if fa >= 0:
        return a
    if fb <= 0:
        return b
    side = 0
    for _ in range(200):
        c = (a * fb - b * fa) / (fb - fa)
        if not (a < c < b):
            c = 0.5 * (a + b)
        fc = f(c)
        if fc == 0:
            return c
        if fc < 0:
            a, fa = c, fc
            if side == -1:
                fb *= 0.5
            side = -1
        else:
            b, fb = c, fc
            if side == 1:
                fa *= 0.5
            side = 1
        if b - a <= tol * max(1.0, abs(a)):
            break
    return 0.5 * (a + b)


def _bracket_search(f, a, b, tol):
    """For f > 0 at a and f ≤ 0 at b: a bracket [a', b'] ⊂ [a, b] of width ≤ tol with the same
    signs (Illinois steps on the values, then bisection as a fallback)."""
    fa, fb = f(a), f(b)
    side = 0
    for _ in range(200):
        if b - a <= tol * max(1.0, abs(a)):
            break
        c = (a * fb - b * fa) / (fb - fa) if fb != fa else 0.5 * (a + b)
        if not (a < c < b) or not math.isfinite(c):
            c = 0.5 * (a + b)
        fc = f(c)
        if fc > 0:
            a, fa = c, fc
            if side == -1:
                fb *= 0.5
            side = -1
        else:
            b, fb = c, fc
            if side == 1:
                fa *= 0.5
            side = 1
    return a, b


def _delta_direction(curve, eps):
    """(δ_CLT, lower, upper, δ_MSD, t₀, inputs-ok) of one direction at ε."""
    if eps >= curve.hi:
        return 0.0, 0.0, 0.0, 0.0, math.inf, True
    t0 = saddle_point(curve, eps)
    clt, err, msd = spa_terms(eps, t0, *curve.at(t0))
    lo = max(0.0, clt - err)
    up = min(1.0, clt + err)
    return clt, lo, up, msd, t0, curve.at(t0)[5] <= _INPUT_REL_OK


def _eps_direction(curve, delta):
    """ε-interval and estimates of one direction at δ, searching along the saddle curve.

    For a tilt t the saddle ε(t) = K′(t) − 1/t − 1/(1+t) is increasing in t. Upper:
    the first ε(t) with δ_upper ≤ δ (every such ε bounds the true ε from above, since the
    true δ(ε) ≤ δ_upper(ε)). Lower: the last ε(t) with δ_lower > δ (then the true δ(ε) > δ,
    so the true ε exceeds it).
    """
    def vals(s):
        t = math.exp(s)
        e = curve.eps_of(t)
        r = curve.at(t)
        clt, err, msd = spa_terms(e, t, *r)
        return e, clt, err, msd, r[5]

    # s0: where the saddle ε is 0 (smaller ε are not asked for).
    s0 = math.log(saddle_point(curve, 0.0))
    # s_top: δ_upper ≤ δ there (or the loss is bounded and ε reached its supremum).
    s_top = s0 + 1.0
    bounded = math.isfinite(curve.hi)
    while True:
        e, clt, err, msd, rel = vals(s_top)
        if min(1.0, clt + err) <= delta and msd <= delta and clt <= delta:
            break
        if s_top > 16 or (bounded and e >= curve.hi * (1 - 1e-12)):
            break
        s_top += 1.0
    def search(fn):
        """Bracket in s where fn changes from > δ to ≤ δ; returns (ε_left, ε_right)."""
        a, b = s0, s_top
        if fn(vals(a)) <= delta:
            return None
        if fn(vals(b)) > delta:
            return "never"
        a, b = _bracket_search(lambda s: math.log(max(fn(vals(s)), 1e-320)) - math.log(delta),
                               a, b, 1e-12)
        return vals(a)[0], vals(b)[0]

    # Upper end of the certified interval.
    r = search(lambda v: min(1.0, v[1] + v[2]))
    if r is None:
        upper = max(vals(s0)[0], 0.0)
    elif r == "never":
        upper = curve.hi if bounded else math.inf
    else:
        upper = r[1]
    if bounded:
        upper = min(upper, curve.hi)
    # Lower end.
    r = search(lambda v: max(0.0, v[1] - v[2]))
    if r is None:
        lower = 0.0
    elif r == "never":
        lower = vals(s_top)[0] if not bounded else min(vals(s_top)[0], curve.hi)
    else:
        lower = max(r[0], 0.0)
    # Estimates: SPA-MSD and SPA-CLT crossings.
    est = {}
    for name, idx in (("msd", 3), ("clt", 1)):
        r = search(lambda v, i=idx: v[i])
        if r is None:
            est[name] = 0.0
        elif r == "never":
            est[name] = curve.hi if bounded else math.inf
        else:
            est[name] = max(0.5 * (r[0] + r[1]), 0.0)
    ok = all(v[5] <= _INPUT_REL_OK for v in curve.memo.values())
    lower = min(lower, upper)
    return est["msd"], est["clt"], lower, upper, ok


@register("saddlepoint")
def compute(schedule, *, delta=None, epsilon=None, **options) -> Result:
    """ε(δ) or δ(ε) by the saddle-point method with its rigorous error bound.

    Returns
    -------
    Result: ``estimate`` = SPA-MSD value, ``details["clt"]`` = SPA-CLT value,
    ``lower``/``upper`` the certified interval from the error bound; ``certified`` is True
    when that interval is not vacuous and the quadrature inputs are accurate.
    """
    if options:
        raise ValueError(f"unknown option(s) for method 'saddlepoint': {', '.join(sorted(options))}")
    dirs = directions_of(schedule)
    details = {"directions": {}, "theorem": "Alghamdi et al. 2023 (arXiv 2208.09595), SPA-CLT "
               "error bound with the Berry-Esseen constant 0.56 (non-identical steps)"}
    warn = []
    ok_all = True
    if epsilon is not None:
        eps = float(epsilon)
        est = clt_v = lo = up = 0.0
        for d in dirs:
            curve = _Curve(schedule, d)
            clt, lo_d, up_d, msd, t0, ok = _delta_direction(curve, eps)
            msd_c = min(max(msd, lo_d), up_d)
            details["directions"][d] = {"t0": t0, "clt": clt, "msd": msd, "lower": lo_d,
                                        "upper": up_d}
            est, clt_v, lo, up = max(est, msd_c), max(clt_v, clt), max(lo, lo_d), max(up, up_d)
            ok_all = ok_all and ok
        details["clt"] = clt_v
        quantity, at = "delta", eps
        vacuous = lo <= 0.0 and up >= 1.0
    else:
        est = clt_v = lo = up = 0.0
        for d in dirs:
            curve = _Curve(schedule, d)
            msd, clt, lo_d, up_d, ok = _eps_direction(curve, delta)
            msd_c = min(max(msd, lo_d), up_d)
            details["directions"][d] = {"msd": msd, "clt": clt, "lower": lo_d, "upper": up_d}
            est, clt_v, lo, up = max(est, msd_c), max(clt_v, clt), max(lo, lo_d), max(up, up_d)
            ok_all = ok_all and ok
        details["clt"] = clt_v
        quantity, at = "epsilon", delta
        vacuous = lo <= 0.0 and not math.isfinite(up)
        if not math.isfinite(est):
            est = up if math.isfinite(up) else est
    if vacuous:
        warn.append("vacuous_interval")
    if not ok_all:
        warn.append("inaccurate_inputs")
    certified = bool(ok_all and not vacuous and math.isfinite(up))
    if not math.isfinite(est):
        est = math.inf
    return Result(quantity, at, float(est), float(lo), float(up), certified, "saddlepoint",
                  warnings=tuple(warn), details=details)
