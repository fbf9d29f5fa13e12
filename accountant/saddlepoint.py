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
from .cumulants import _TILT_CACHE, mechanism_tilted
from .privacy_loss import directions_of, loss_for

__all__ = ["compute", "spa_terms", "saddle_point"]

_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)
_BE = 0.56            # Berry–Esseen constant, independent non-identical summands
_INPUT_REL_OK = 1e-6  # largest input error (relative) still called certified
_T_FACTORS = (0.6, 0.8, 1.25)  # extra tilts tried for δ(ε), relative to the saddle point


def _log_q(z):
    """log q(z) = log(√(2π)·e^{z²/2}·Φ̄(z)) (Mills ratio × √(2π)), stable for all z."""
    return _LOG_SQRT_2PI + 0.5 * z * z + log_sf_normal(z)


class _Curve:
    """Σ_i T_i·(K, K′, K″, P_t) of one direction, memoised in t."""

    def __init__(self, schedule, direction):
        self.parts = [(m, s) for m, s in schedule.counts()]
        self.direction = direction
        self.memo = {}
        self.per_t = {}
        self.hi = sum(s * float(loss_for(m, direction).hi_loss) for m, s in self.parts)

    def at(self, t):
        t = float(t)
        r = self.memo.get(t)
        if r is None:
            K = K1 = K2 = P = errK = K3 = K4 = 0.0
            rel = 0.0
            near = False
            tilts = []
            for i, (m, s) in enumerate(self.parts):
                tl = _TILT_CACHE.get((m, self.direction, t))
                if tl is None:
                    # centre hint: K′ extrapolated from the nearest evaluated tilt
                    if near is False:
                        near = self._nearest(t)
                    hint = (None if near is None or len(near) <= i
                            else near[i].K1 + near[i].K2 * (t - near[i].t))
                    tl = mechanism_tilted(m, self.direction, t, hint)
                tilts.append(tl)
                K += s * tl.K
                K1 += s * tl.K1
                K2 += s * tl.K2
                P += s * tl.Pt
                errK += s * tl.abs_err_K
                rel = max(rel, tl.rel_err)
                K3 += s * tl.K3
                K4 += s * tl.K4
            r = (K, K1, K2, P, errK, rel, K3, K4)
            # Stored only when complete, so a hint list always has one entry per part.
            self.per_t[t] = tilts
            self.memo[t] = r
        return r

    def _nearest(self, t):
        if not self.per_t:
            return None
        best = min(self.per_t, key=lambda u: abs(math.log(u / t)))
        return self.per_t[best] if abs(math.log(best / t)) < 0.5 else None

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


def _newton_cross(g, slope, s, tol, s_max=30.0, floor=None):
    """Bracket [a, b] (in s = log t) of the point where the decreasing function g changes
    from > 0 to ≤ 0, with b − a ≤ tol: a first Newton step from the analytic ``slope``,
    then secant steps that overshoot the predicted root by tol/4 (so that both sides get
    sampled), and bisection whenever a step leaves the bracket. Returns (a, b); b is None
    when g > 0 up to s_max, a is None when g ≤ 0 down to s = −60 or at a point where
    ``floor(s)`` is True (left of it nothing is asked for, e.g. ε < 0)."""
    a = b = None
    prev = None
    left = 0.25
    for _ in range(100):
        gs = g(s)
        if gs > 0:
            a = s if a is None or s > a else a
        else:
            b = s if b is None or s < b else b
            if a is None and floor is not None and floor(s):
                return None, b
        if a is not None and b is not None and b - a <= tol:
            return a, b
        if not math.isfinite(gs):
            # δ_lower = 0 here: the crossing is a little to the left (small steps keep
            # the secant informative once finite values appear).
            step = -left if b is None or a is None else None
            left *= 2.0
            prev = None
        else:
            d = None
            if prev is not None and prev[1] != gs and math.isfinite(prev[1]):
                d = (gs - prev[1]) / (s - prev[0])
            if d is None or not d < 0:
                d = slope(s)
            step = -gs / d if d < 0 else (1.0 if gs > 0 else -1.0)
            step = max(-2.0, min(2.0, step))
            step += math.copysign(0.25 * tol, step)
            prev = (s, gs)
        if step is None:
            nxt = 0.5 * (a + b)
        else:
            nxt = s + step
        if a is not None and b is not None and not (a < nxt < b):
            nxt = 0.5 * (a + b)
        if nxt > s_max:
            if a is not None and a >= s_max:
                return a, None
            nxt = s_max
        if nxt < -60.0:
            if b is not None and b <= -60.0:
                return None, b
            nxt = -60.0
        s = nxt
    return a, b


def saddle_point(curve, eps):
    """t₀ > 0 with K′(t₀) − 1/t₀ − 1/(1+t₀) = ε (Newton in log t on the increasing
    ε(t), whose derivative is t·F″(t) in s = log t)."""
    def g(s):
        return eps - curve.eps_of(math.exp(s))

    def slope(s):
        t = math.exp(s)
        return -t * (curve.at(t)[2] + 1.0 / t ** 2 + 1.0 / (1.0 + t) ** 2)

    a, b = _newton_cross(g, slope, 0.0, 1e-12, s_max=40.0)
    if a is None:
        return math.exp(b)
    if b is None:
        return math.exp(a)
    return math.exp(0.5 * (a + b))


def _delta_direction(curve, eps):
    """(δ_CLT, lower, upper, δ_MSD, t₀, inputs-ok) of one direction at ε."""
    if eps >= curve.hi:
        return 0.0, 0.0, 0.0, 0.0, math.inf, True
    t0 = saddle_point(curve, eps)
    clt, err, msd = spa_terms(eps, t0, *curve.at(t0))
    lo = max(0.0, clt - err)
    up = min(1.0, clt + err)
    ok = curve.at(t0)[5] <= _INPUT_REL_OK
    # The bound holds for every t > 0: a few tilts around t₀ can only tighten the
    # interval (and rescue it where the tilted law is far from normal, e.g. where K′
    # jumps between mixture components and t₀ sits on the jump).
    for f in _T_FACTORS:
        c_f, e_f, _ = spa_terms(eps, t0 * f, *curve.at(t0 * f))
        up = min(up, c_f + e_f)
        lo = max(lo, c_f - e_f)
        ok = ok and curve.at(t0 * f)[5] <= _INPUT_REL_OK
    return clt, lo, max(up, lo), msd, t0, ok


def _eps_direction(curve, delta):
    """ε-interval and estimates of one direction at δ, searching along the saddle curve.

    For a tilt t the saddle ε(t) = K′(t) − 1/t − 1/(1+t) is increasing in t. Upper:
    a point ε(t) with δ_upper ≤ δ just right of the crossing (every such ε bounds the true
    ε from above, since the true δ(ε) ≤ δ_upper(ε) and δ is non-increasing). Lower: a
    point with δ_lower > δ just left of the crossing (then the true ε exceeds it).
    Both are checked at the returned points, so search errors cannot break validity.
    """
    log_d = math.log(delta)

    def vals(s):
        t = math.exp(s)
        r = curve.at(t)
        clt, err, msd = spa_terms(curve.eps_of(t), t, *r)
        return curve.eps_of(t), clt, err, msd

    def slope(s):
        # d log δ/ds ≈ −t·dε/ds = −t²·F″(t) along the saddle curve.
        t = math.exp(s)
        return -t * t * (curve.at(t)[2] + 1.0 / t ** 2 + 1.0 / (1.0 + t) ** 2)

    def g_of(fn):
        def g(s):
            v = fn(vals(s))
            return math.log(v) - log_d if v > 0 else -math.inf
        return g

    tol = 1e-9
    bounded = math.isfinite(curve.hi)
    out = {}
    s_start = 0.0
    fns = (("clt", lambda v: v[1]), ("upper", lambda v: min(1.0, v[1] + v[2])),
           ("lower", lambda v: max(0.0, v[1] - v[2])), ("msd", lambda v: v[3]))
    guess = {}
    for name, fn in fns:
        a, b = _newton_cross(g_of(fn), slope, guess.get(name, s_start), tol,
                             floor=lambda s: curve.eps_of(math.exp(s)) <= 0.0)
        if name == "clt" and a is not None and b is not None:
            # The other curves differ from SPA-CLT by slowly varying factors: one Newton
            # step from the CLT crossing with the known factor starts each search close.
            s_start = 0.5 * (a + b)
            e, clt, err, msd = vals(s_start)
            d = slope(s_start)
            for nm, f in fns[1:]:
                v = f((e, clt, err, msd))
                if v > 0 and clt > 0 and d < 0:
                    guess[nm] = s_start - math.log(v / clt) / d
        if b is None and name == "lower":
            # δ_lower > δ at every tilt tried: the last point checked is the proven bound
            val = vals(a)[0] if a is not None else 0.0
        elif b is None:        # δ-value stays above δ: up to the supremum of the loss
            val = curve.hi if bounded else math.inf
        elif a is None:        # below δ already at the smallest ε
            val = 0.0
        elif name == "upper":
            val = vals(b)[0]
        elif name == "lower":
            val = vals(a)[0]
        else:
            val = 0.5 * (vals(a)[0] + vals(b)[0])
        out[name] = max(val, 0.0)
    upper = min(out["upper"], curve.hi) if bounded else out["upper"]
    lower = min(out["lower"], upper)
    ok = all(v[5] <= _INPUT_REL_OK for v in curve.memo.values())
    return out["msd"], out["clt"], lower, upper, ok


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
