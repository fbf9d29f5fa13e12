"""numba kernels of the saddle-point accountant (docs/math.md §6): the SPA-CLT value and
its error bound in log space at a fixed tilt, crossings in ε at that tilt, and the Hermite
surrogate of K between two lattice tilts. The tilted quantities come from the privacy loss
(:meth:`accountant.loss.base.PrivacyLoss.tilted`)."""
from __future__ import annotations

import math

import numpy as np
from numba import njit

from ..core.special import LOG_SQRT_2PI, log1mexp, log_mills_tail, log_sf_normal, logaddexp

# ----------------------------------------------------------------------------------------
# Saddle-point accountant (docs/math.md §6): SPA-CLT and its error bound in log space at
# a fixed tilt, crossings in ε at that tilt, and the Hermite surrogate of K between two
# lattice tilts (accountant/accountants/saddlepoint.py).
# ----------------------------------------------------------------------------------------
_LOG_2BE = math.log(2.0 * 0.56)   # 2 × Berry–Esseen constant (Shevtsova 2010)


_U = 2.0 ** -53                   # unit round-off


@njit(cache=True, error_model="numpy")
def _log_q(z):
    """log q(z) = log(√(2π)·e^{z²/2}·Φ̄(z)) (the log Mills ratio).

    Past z = 25 from the asymptotic series directly (−log z + log Σ…): adding z²/2 back
    to log Φ̄(z) ≈ −z²/2 − … would keep only the absolute rounding of z²/2 (1e-2 at
    z = 1e7, i.e. a 1 % error in δ)."""
    if z > 25.0:
        return log_mills_tail(z)
    return LOG_SQRT_2PI + 0.5 * z * z + log_sf_normal(z)


@njit(cache=True, error_model="numpy")
def _rq(z):
    """Rounding bound (absolute) of :func:`_log_q` at z: a few ulp of the terms summed."""
    if z > 25.0:
        return 8.0 * _U * (abs(math.log(z)) + 1.0)
    return 8.0 * _U * (1.0 + 0.5 * z * z + abs(log_sf_normal(z)))


@njit(cache=True, error_model="numpy")
def _log1mexp_err(d, dd):
    """(log(1 − e^d), bound on its error) for d ≤ 0 known to ±dd (absolute).

    The slope of log(1 − e^d) is 1/expm1(−d): where −d is not resolved from 0 by its
    error the value is only bounded above (by log(−d + dd)) and the error returned is
    infinite, which the caller turns into an error bound with no lower side."""
    md = -d
    if md > 2.0 * dd:
        v = log1mexp(d)
        return v, dd / math.expm1(md - dd) + 4.0 * _U * abs(v)
    return math.log(max(md, 0.0) + dd), math.inf


@njit(cache=True, error_model="numpy")
def spa_log(eps, t, K, K1, K2, P, errK, rel):
    """(log δ_CLT, log of the error bound with the propagated input and rounding errors)
    at ε, tilt t.

    δ_CLT = e^{K − tε − γ²/2}·(q(α) − q(β))/√(2π) and err = e^{K − tε}·t^t/(1+t)^{1+t}·
    1.12·P/K″^{3/2}. Input errors (absolute errK in K, relative ``rel`` in K′, K″ and P)
    and the rounding of this evaluation are added to err, so that δ_CLT ± err brackets
    the true δ whatever the tilt. With f = e^{errK} − 1 + 10·rel (as before) the error
    returned is

        err·(1 + f)·e^{eta_e} + δ_CLT·((1 + f)·e^{eta} − 1),

    eta_e bounding the rounding of log err, and eta that of log δ_CLT plus the
    first-order effect on it of rel in K′ and K″ (which move γ, α, β), term by term.
    Where q(α) − q(β) is not resolved from 0 by its own error (K″ below ~1e-28) δ_CLT is
    only bounded above: the value returned is that bound and the error is ≥ it.

    At α < 0 the Gaussian factors e^{−γ²/2} and e^{α²/2} (inside q(α)) are each huge
    where tilts are extreme (tiny t: γ ≈ 1/(t√K″) reaches 1e7), and their quotient was
    formed by subtracting two numbers of size γ²/2 ≈ 1e14: an absolute error of ~1e-2 in
    log δ, enough to report δ_CLT = 1.019 and a "certified" δ > 1. There the exact
    identity (α² − γ²)/2 = t²K″/2 − t(K′ − ε) gives

        log δ_CLT = K − tK′ + t²K″/2 + log Φ̄(α) + log(1 − q(β)/q(α)),

    with no large cancelling terms.
    """
    if not (K2 > 0.0 and P > 0.0 and t > 0.0 and math.isfinite(K) and math.isfinite(K1)
            and math.isfinite(K2) and math.isfinite(P) and math.isfinite(eps)):
        # Nothing to approximate with: δ_CLT = 1 and an infinite error (no bound at all).
        return 0.0, np.inf
    s = math.sqrt(K2)
    D = K1 - eps
    gam = D / s
    ts = t * s
    alpha = ts - gam
    beta = alpha + s
    # First-order absolute errors of γ, α, β: rounding and the relative input error rel
    # of K′ (through K′ − ε) and of K″ (through s).
    hrel = 0.5 * rel
    dgam = abs(gam) * (3.0 * _U + hrel) + (_U * abs(D) + rel * abs(K1)) / s
    dalpha = dgam + ts * (3.0 * _U + hrel) + _U * abs(alpha)
    dbeta = dalpha + s * (2.0 * _U + hrel) + _U * abs(beta)
    if alpha >= 0.0:
        la = _log_q(alpha)
        lb = _log_q(beta)
        # |d log q/dz| ≤ 1 for z ≥ 0 (q′ = zq − 1 and z < 1/q(z) < z + 1/z)
        dla = dalpha + _rq(alpha)
        dlb = dbeta + _rq(beta)
        d = lb - la
        l1, dl1 = _log1mexp_err(d, dla + dlb + _U * abs(d))
        g2 = 0.5 * gam * gam
        base = K - t * eps
        log_clt = base - g2 + la + l1 - LOG_SQRT_2PI
        eta = (abs(gam) * dgam + dla
               + 6.0 * _U * (abs(K) + abs(t * eps) + g2 + abs(la) + abs(l1) + 1.0))
    else:
        lsa = log_sf_normal(alpha)
        # log Φ̄ has slope −φ/Φ̄ ∈ (−0.8, 0) for z < 0; erfc is good to a few ulp
        dlsa = dalpha + 8.0 * _U * (1.0 + abs(lsa))
        if beta < 0.0:
            lsb = log_sf_normal(beta)
            h = 0.5 * s * (alpha + beta)           # (β² − α²)/2, as (β − α)(β + α)/2
            d = h + lsb - lsa
            dd = ((0.5 * s + 1.0) * (dalpha + dbeta) + abs(h) * (hrel + 4.0 * _U)
                  + 8.0 * _U * (2.0 + abs(lsa) + abs(lsb)))
        else:
            lb = _log_q(beta)
            la_rest = LOG_SQRT_2PI + 0.5 * alpha * alpha
            d = lb - la_rest - lsa
            dd = (dbeta + _rq(beta) + (abs(alpha) + 1.0) * dalpha
                  + 8.0 * _U * (1.0 + la_rest + abs(lsa)))
        l1, dl1 = _log1mexp_err(d, dd + _U * abs(d))
        m = K - t * K1 + 0.5 * t * t * K2
        log_clt = m + lsa + l1
        eta = (t * rel * abs(K1) + 0.5 * t * t * K2 * rel + dlsa
               + 6.0 * _U * (abs(K) + abs(t * K1) + 0.5 * t * t * K2 + abs(lsa) + abs(l1)))
    log_gmax = t * math.log(t) - (1.0 + t) * math.log1p(t)
    base = K - t * eps
    lp = math.log(P)
    lk = math.log(K2)
    log_err = base + log_gmax + _LOG_2BE + lp - 1.5 * lk
    eta_e = 8.0 * _U * (abs(K) + abs(t * eps) + abs(t * math.log(t)) + (1.0 + t) * math.log1p(t)
                        + abs(lp) + 1.5 * abs(lk) + 2.0)
    lf = math.log1p(math.expm1(errK) + 10.0 * rel)
    log_err += eta_e + lf
    if math.isinf(dl1):
        # δ_CLT is only bounded above (by e^{log_clt + eta}): an error ≥ δ_CLT·e^{eta}
        # leaves no lower side
        eta += math.log(2.0)
    else:
        eta += dl1
    hc = math.expm1(eta + lf)
    if hc > 0.0:
        log_err = logaddexp(log_err, log_clt + math.log(hc))
    if not log_err == log_err or not log_clt == log_clt:
        # an input error too large to propagate (errK ~ 1e3 at tilts ~ 1e16): no bound
        return 0.0, np.inf
    return log_clt, log_err


@njit(cache=True, error_model="numpy")
def spa_log_msd(eps, t, K, K2, K3, K4, log_clt):
    """log δ_MSD: steepest descent through the saddle, two terms (log_clt when K3 = K4 = 0:
    the tilted law is normal and SPA-CLT is exact)."""
    if K3 == 0.0 and K4 == 0.0:
        return log_clt
    F = K - t * eps - math.log(t) - math.log1p(t)
    F2 = K2 + 1.0 / t ** 2 + 1.0 / (1.0 + t) ** 2
    F3 = K3 - 2.0 / t ** 3 - 2.0 / (1.0 + t) ** 3
    F4 = K4 + 6.0 / t ** 4 + 6.0 / (1.0 + t) ** 4
    corr = 1.0 + F4 / (8 * F2 * F2) - 5 * F3 * F3 / (24 * F2 ** 3)
    if not corr > 0.0:
        return -np.inf
    return F - 0.5 * math.log(2 * math.pi * F2) + math.log(corr)


@njit(cache=True, error_model="numpy")
def spa_node(t, K, K1, K2, P, errK, rel, K3, K4):
    """At the saddle ε of tilt t: (ε, log δ_CLT, log err, log δ_MSD, F″)."""
    eps = K1 - 1.0 / t - 1.0 / (1.0 + t)
    lc, le = spa_log(eps, t, K, K1, K2, P, errK, rel)
    lm = spa_log_msd(eps, t, K, K2, K3, K4, lc)
    return eps, lc, le, lm, K2 + 1.0 / t ** 2 + 1.0 / (1.0 + t) ** 2


@njit(cache=True, error_model="numpy")
def _h_bound(upper, eps, t, K, K1, K2, P, errK, rel, log_d):
    lc, le = spa_log(eps, t, K, K1, K2, P, errK, rel)
    if upper:
        # NaN never passes for "δ_upper ≤ δ": an undefined bound is no bound
        h = logaddexp(lc, le) - log_d
        return h if h == h else np.inf
    if le < lc:
        return lc + log1mexp(le - lc) - log_d
    return -np.inf


@njit(cache=True, error_model="numpy")
def _refine(upper, a, ha, b, hb, t, K, K1, K2, P, errK, rel, log_d, tol):
    """Shrink [a, b] (h(a) > 0 ≥ h(b)) to b − a ≤ tol·max(1, b) by Illinois regula falsi
    (bisecting where a value is infinite)."""
    side = 0
    for _ in range(200):
        if b - a <= tol * max(1.0, abs(b)):
            break
        x = 0.5 * (a + b)
        if math.isfinite(ha) and math.isfinite(hb) and ha != hb:
            y = b - hb * (b - a) / (hb - ha)
            if a < y < b:
                x = y
        hx = _h_bound(upper, x, t, K, K1, K2, P, errK, rel, log_d)
        if hx == 0.0:
            return x, x
        if hx > 0:
            a, ha = x, hx
            if side == 1:
                hb *= 0.5
            side = 1
        else:
            b, hb = x, hx
            if side == -1:
                ha *= 0.5
            side = -1
    return a, b


@njit(cache=True, error_model="numpy")
def spa_upper_eps(t, K, K1, K2, P, errK, rel, log_d, eps0, tol):
    """Smallest ε ≥ 0 (to tol relative) with δ_upper(ε; t) = δ_CLT + err ≤ δ at the FIXED
    tilt t: the returned ε has been evaluated and satisfies it, so it bounds the true ε(δ)
    from above (the error bound holds at every t > 0, and δ_upper is decreasing in ε)."""
    x = max(eps0, 0.0)
    hx = _h_bound(True, x, t, K, K1, K2, P, errK, rel, log_d)
    a, ha, b, hb = -1.0, 0.0, -1.0, 0.0
    slope = -(t + 1.0)
    prev, hprev = x, np.nan
    for _ in range(200):
        if hx > 0:
            a, ha = x, hx
        else:
            b, hb = x, hx
            if x == 0.0:
                return 0.0
        if a >= 0.0 and b >= 0.0:
            break
        if math.isfinite(hprev) and math.isfinite(hx) and x != prev and hx != hprev:
            d = (hx - hprev) / (x - prev)
            if d < 0:
                slope = d
        prev, hprev = x, hx
        step = -hx / slope if math.isfinite(hx) else -1.0
        step = max(-2.0 - 0.5 * abs(x), min(2.0 + 0.5 * abs(x), step))
        # overshoot a little so the next point lands on the other side
        step += math.copysign(1e-9 * max(1.0, abs(x)), step)
        x = max(0.0, x + step)
        hx = _h_bound(True, x, t, K, K1, K2, P, errK, rel, log_d)
    if b < 0.0:
        return np.inf
    a, b = _refine(True, a, ha, b, hb, t, K, K1, K2, P, errK, rel, log_d, tol)
    return b


@njit(cache=True, error_model="numpy")
def spa_lower_eps(t, K, K1, K2, P, errK, rel, log_d, eps_hi, eps_start, tol):
    """Largest ε (to tol relative) found with δ_lower(ε; t) = δ_CLT − err > δ at the FIXED
    tilt t, searching left of ``eps_hi`` (where δ_lower ≤ δ_upper ≤ δ); −1 when none is
    found down to ε = 0. The returned ε has been evaluated and satisfies δ_lower > δ, so
    the true ε(δ) exceeds it."""
    b = eps_hi
    hb = _h_bound(False, b, t, K, K1, K2, P, errK, rel, log_d)
    if hb > 0:
        return b
    # δ_lower(·; t) peaks near the saddle ε of t: try there first, then further left.
    x = min(max(eps_start, 0.0), b)
    d = max(1e-3 * max(1.0, abs(b)), b - x)
    for _ in range(60):
        hx = _h_bound(False, x, t, K, K1, K2, P, errK, rel, log_d)
        if hx > 0:
            a, b = _refine(False, x, hx, b, hb, t, K, K1, K2, P, errK, rel, log_d, tol)
            return a
        if x <= 0.0:
            return -1.0
        b, hb = x, hx
        if math.isfinite(hx):
            # Newton guess with the slope −(t+1) (log δ decreases ~tε), at least d
            step = max(d, -hx / (t + 1.0) * 1.5)
        else:
            step = d
        d *= 2.0
        x = max(0.0, x - step)
    return -1.0


@njit(cache=True, error_model="numpy")
def spa_eps_bounds(t, K, K1, K2, P, errK, rel, log_d, tol):
    """(ε upper, ε lower) at the fixed tilt t: :func:`spa_upper_eps` started at the saddle
    ε of t, then :func:`spa_lower_eps` left of it (−1 when no lower point is found)."""
    eps0 = K1 - 1.0 / t - 1.0 / (1.0 + t)
    up = spa_upper_eps(t, K, K1, K2, P, errK, rel, log_d, eps0, tol)
    if not math.isfinite(up):
        return up, -1.0
    return up, spa_lower_eps(t, K, K1, K2, P, errK, rel, log_d, up, eps0, tol)


# Surrogate of K and its t-derivatives K^(1..4) between two lattice tilts (s = log t):
# each K^(q) is interpolated on its own by the Hermite polynomial matching it and its
# first m_q = n − q s-derivatives at both ends (degree 2m_q + 1), from K..K^(5) at the
# nodes. n = 5 gives degrees 11, 9, 7, 5, 3; n = 4 one derivative less each, to estimate
# the error. Interpolating each derivative directly, rather than differentiating the
# interpolant of K, keeps every value to rounding relative to itself however short the
# interval.
NQ = 6


def _hinv(m):
    A = np.empty((m + 1, m + 1))
    for j in range(m + 1):
        for i in range(m + 1, 2 * m + 2):
            A[j, i - m - 1] = math.factorial(i) / math.factorial(i - j)
    out = np.zeros((NQ, NQ))
    out[: m + 1, : m + 1] = np.linalg.inv(A)
    return out


HINV = np.stack([_hinv(m) for m in range(NQ)])
_FACT = np.array([1.0, 1.0, 2.0, 6.0, 24.0, 120.0])
# Stirling numbers of the second kind: (t d/dt)^j f = Σ_i S(j, i) t^i f^(i)
_STIR = np.array([[1.0, 0.0, 0.0, 0.0, 0.0, 0.0],
                  [0.0, 1.0, 0.0, 0.0, 0.0, 0.0],
                  [0.0, 1.0, 1.0, 0.0, 0.0, 0.0],
                  [0.0, 1.0, 3.0, 1.0, 0.0, 0.0],
                  [0.0, 1.0, 7.0, 6.0, 1.0, 0.0],
                  [0.0, 1.0, 15.0, 25.0, 10.0, 1.0]])


@njit(cache=True, error_model="numpy")
def _sder(q, j, t, Ks, h):
    """h^j times the j-th s-derivative of K^(q) at t (Ks = K, K′, …, K^(5))."""
    if j == 0:
        return Ks[q]
    v = 0.0
    ti = 1.0
    for i in range(1, j + 1):
        ti *= t
        v += _STIR[j, i] * ti * Ks[q + i]
    return v * h ** j


@njit(cache=True, error_model="numpy")
def herm_coef(h, t0, A0, t1, A1, n):
    """Monomial coefficients in u = (s − s₀)/h (6 × 12: row q for K^(q)) of the Hermite
    interpolants on [s₀, s₀ + h] (t0 < t1 = t0·e^h; A0, A1 = K, K′, …, K^(5) at the ends),
    m_q = max(n − q, 0) derivatives each (n ≤ 5)."""
    c = np.zeros((NQ, 2 * NQ))
    d0 = np.empty(NQ)
    d1 = np.empty(NQ)
    rhs = np.empty(NQ)
    for q in range(NQ):
        m = max(n - q, 0)
        for j in range(m + 1):
            d0[j] = _sder(q, j, t0, A0, h)
            d1[j] = _sder(q, j, t1, A1, h)
            c[q, j] = d0[j] / _FACT[j]
        for j in range(m + 1):
            acc = d1[j]
            for i in range(j, m + 1):
                # d^j/du^j u^i at u = 1 is i!/(i−j)!
                f = 1.0
                for r in range(j):
                    f *= i - r
                acc -= c[q, i] * f
            rhs[j] = acc
        for i in range(m + 1):
            v = 0.0
            for j in range(m + 1):
                v += HINV[m, i, j] * rhs[j]
            c[q, m + 1 + i] = v
    return c


@njit(cache=True, error_model="numpy")
def herm_eval(c, scale, s0, h, u):
    """(t, K, K′, K″, K‴, K⁗) of the surrogate (coefficients c times ``scale``: T steps
    of one mechanism share its per-step coefficients) at s = s0 + u·h."""
    K = 0.0
    K1 = 0.0
    K2 = 0.0
    K3 = 0.0
    K4 = 0.0
    for i in range(2 * NQ - 1, -1, -1):
        K = K * u + c[0, i]
        K1 = K1 * u + c[1, i]
        K2 = K2 * u + c[2, i]
        K3 = K3 * u + c[3, i]
        K4 = K4 * u + c[4, i]
    return math.exp(s0 + u * h), scale * K, scale * K1, scale * K2, scale * K3, scale * K4


@njit(cache=True, error_model="numpy")
def _surr_g(what, c, scale, s0, h, u, target):
    t, K, K1, K2, K3, K4 = herm_eval(c, scale, s0, h, u)
    if not K2 > 0.0:
        return np.nan     # a poor surrogate (steep K′): the caller refines the interval
    eps = K1 - 1.0 / t - 1.0 / (1.0 + t)
    if what == 0:
        return target - eps
    lc, le = spa_log(eps, t, K, K1, K2, 1.0, 0.0, 0.0)
    if what == 1:
        return lc - target
    return spa_log_msd(eps, t, K, K2, K3, K4, lc) - target


@njit(cache=True, error_model="numpy")
def herm_root(what, c, scale, s0, h, target, g0, g1):
    """u ∈ [0, 1] where, on the surrogate, the decreasing function crosses zero:
    what 0: target − ε(t) (target = ε; the saddle point t₀ of ε), 1: log δ_CLT − target,
    2: log δ_MSD − target, both along the saddle curve ε(t) (target = log δ).
    g0 > 0 ≥ g1 are the values at the ends (the lattice nodes)."""
    a, b = 0.0, 1.0
    ga, gb = g0, g1
    side = 0
    for _ in range(100):
        if b - a <= 1e-13:
            break
        x = 0.5 * (a + b)
        if math.isfinite(ga) and math.isfinite(gb) and ga != gb:
            y = b - gb * (b - a) / (gb - ga)
            if a < y < b:
                x = y
        gx = _surr_g(what, c, scale, s0, h, x, target)
        if gx != gx:
            # no value there: interpolate the ends (the result is refined by the caller)
            gx = ga + (gb - ga) * (x - a) / (b - a) if math.isfinite(ga + gb) else -1.0
        if gx == 0.0:
            return x
        if gx > 0:
            a, ga = x, gx
            if side == 1:
                gb *= 0.5
            side = 1
        else:
            b, gb = x, gx
            if side == -1:
                ga *= 0.5
            side = -1
    return 0.5 * (a + b)
