"""numba kernels for a pair of Gaussian mixtures with a common σ.

P = Σ_i u_i N(a_i, σ²), Q = Σ_j w_j N(c_j, σ²); the privacy loss L(x) = log Q(x)/P(x) is
increasing in x for every pair the package builds (checked at construction). Arguments are
plain arrays: means and log-weights of P and Q, and σ.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

from .special import NEG_INF, LOG_SQRT_2PI, log_sf_normal, log1mexp


@njit(cache=True)
def log_kernel(x, means, logw, sigma):
    """log Σ_j w_j exp(−(x − m_j)²/(2σ²)) (the mixture density without its 1/(σ√2π))."""
    return _lse_linear(x, means, logw, sigma * sigma) - 0.5 * x * x / (sigma * sigma)


@njit(cache=True)
def loss(x, pm, plw, qm, qlw, sigma):
    """L(x) = log Q(x) − log P(x), computed relative to the nearest component so that
    ±∞ tails stay finite where the ratio is."""
    # Subtracting a common quadratic keeps both logsumexps finite for |x| large.
    lp = NEG_INF
    lq = NEG_INF
    n = pm.shape[0]
    m = qm.shape[0]
    best = NEG_INF
    for i in range(n):
        v = plw[i] + (x * pm[i] - 0.5 * pm[i] * pm[i]) / (sigma * sigma)
        if v > best:
            best = v
    s = 0.0
    for i in range(n):
        s += math.exp(plw[i] + (x * pm[i] - 0.5 * pm[i] * pm[i]) / (sigma * sigma) - best)
    lp = best + math.log(s)
    best = NEG_INF
    for j in range(m):
        v = qlw[j] + (x * qm[j] - 0.5 * qm[j] * qm[j]) / (sigma * sigma)
        if v > best:
            best = v
    s = 0.0
    for j in range(m):
        s += math.exp(qlw[j] + (x * qm[j] - 0.5 * qm[j] * qm[j]) / (sigma * sigma) - best)
    lq = best + math.log(s)
    return lq - lp


@njit(cache=True)
def loss_derivative(x, pm, plw, qm, qlw, sigma):
    """L′(x) = (E_Q-posterior[mean] − E_P-posterior[mean]) / σ²."""
    s2 = sigma * sigma
    best = NEG_INF
    for i in range(pm.shape[0]):
        v = plw[i] + (x * pm[i] - 0.5 * pm[i] * pm[i]) / s2
        if v > best:
            best = v
    num = 0.0
    den = 0.0
    for i in range(pm.shape[0]):
        e = math.exp(plw[i] + (x * pm[i] - 0.5 * pm[i] * pm[i]) / s2 - best)
        num += e * pm[i]
        den += e
    mp = num / den
    best = NEG_INF
    for j in range(qm.shape[0]):
        v = qlw[j] + (x * qm[j] - 0.5 * qm[j] * qm[j]) / s2
        if v > best:
            best = v
    num = 0.0
    den = 0.0
    for j in range(qm.shape[0]):
        e = math.exp(qlw[j] + (x * qm[j] - 0.5 * qm[j] * qm[j]) / s2 - best)
        num += e * qm[j]
        den += e
    return (num / den - mp) / s2


@njit(cache=True)
def inverse_loss(eps, pm, plw, qm, qlw, sigma, lo_loss, hi_loss):
    """x with L(x) = eps by safeguarded Newton on a bracket; ±inf outside (lo_loss, hi_loss)."""
    if eps <= lo_loss:
        return -np.inf
    if eps >= hi_loss:
        return np.inf
    # Bracket: L grows at least like the slope of its dominant components far out.
    lo = -1.0
    hi = 1.0
    step = 1.0 + sigma * sigma
    while loss(lo, pm, plw, qm, qlw, sigma) > eps:
        hi = lo
        lo -= step
        step *= 2.0
    step = 1.0 + sigma * sigma
    while loss(hi, pm, plw, qm, qlw, sigma) < eps:
        lo = hi
        hi += step
        step *= 2.0
    x = 0.5 * (lo + hi)
    for _ in range(200):
        f = loss(x, pm, plw, qm, qlw, sigma) - eps
        if f == 0.0:
            return x
        if f > 0:
            hi = x
        else:
            lo = x
        d = loss_derivative(x, pm, plw, qm, qlw, sigma)
        xn = x - f / d if d > 0 else 0.5 * (lo + hi)
        if not (lo < xn < hi):
            xn = 0.5 * (lo + hi)
        if abs(xn - x) <= 1e-15 * (1.0 + abs(x)):
            return xn
        x = xn
        if hi - lo <= 1e-15 * (1.0 + abs(x)):
            break
    return x


@njit(cache=True)
def log_sf_mixture(x, means, logw, sigma):
    """log P[Z > x] for Z ~ Σ_j w_j N(m_j, σ²)."""
    best = NEG_INF
    n = means.shape[0]
    for j in range(n):
        v = logw[j] + log_sf_normal((x - means[j]) / sigma)
        if v > best:
            best = v
    if best == NEG_INF:
        return NEG_INF
    s = 0.0
    for j in range(n):
        s += math.exp(logw[j] + log_sf_normal((x - means[j]) / sigma) - best)
    return best + math.log(s)


@njit(cache=True)
def log_hockey_stick(eps, pm, plw, qm, qlw, sigma, lo_loss, hi_loss):
    """log δ(ε), δ(ε) = Q[L > ε] − e^ε P[L > ε] (exact for one step)."""
    if eps >= hi_loss:
        return NEG_INF
    if eps <= lo_loss:
        # Every outcome has L > ε: δ = 1 − e^ε (lo_loss < 0 always holds).
        return log1mexp(eps)
    x = inverse_loss(eps, pm, plw, qm, qlw, sigma, lo_loss, hi_loss)
    lq = log_sf_mixture(x, qm, qlw, sigma)
    lp = log_sf_mixture(x, pm, plw, sigma)
    return lq + log1mexp(eps + lp - lq)


@njit(cache=True)
def log_hockey_stick_array(eps, pm, plw, qm, qlw, sigma, lo_loss, hi_loss):
    out = np.empty(eps.shape[0])
    for k in range(eps.shape[0]):
        out[k] = log_hockey_stick(eps[k], pm, plw, qm, qlw, sigma, lo_loss, hi_loss)
    return out


@njit(cache=True)
def log_sf_loss_array(eps, pm, plw, qm, qlw, sigma, lo_loss, hi_loss, under_q):
    """log P[L > ε] under Q (under_q) or P, for each ε."""
    out = np.empty(eps.shape[0])
    for k in range(eps.shape[0]):
        e = eps[k]
        if e >= hi_loss:
            out[k] = NEG_INF
        elif e < lo_loss:
            out[k] = 0.0
        else:
            x = inverse_loss(e, pm, plw, qm, qlw, sigma, lo_loss, hi_loss)
            if under_q:
                out[k] = log_sf_mixture(x, qm, qlw, sigma)
            else:
                out[k] = log_sf_mixture(x, pm, plw, sigma)
    return out


# ----------------------------------------------------------------------------------------
# Quadrature of moments of L.
#
# Integrand kinds (x is the outcome; densities are normalised):
#   0  exp((1+t)·log Q − t·log P − shift)                 → E_Q[e^{tL}]·e^{−shift}
#   1  Q·(expm1(tL) − tL)                                 (≥ 0)
#   2  P·(e^L·L − expm1(L))                               (≥ 0; integrates to KL(Q‖P))
#   3  Q·(L − c)^p                                        central moments under Q
#   4  P·(L − c)^p                                        central moments under P
#   5  exp((1+t)·log Q − t·log P − shift)·|L − c|^p       tilted absolute moments
#   6  (1) + t·(2)                                        one pass for E_Q[e^{tL}] − 1
# Kinds 1 and 2 give E_Q[e^{tL}] − 1 = ∫(1) + t·∫(2) as a sum of non-negative parts, so
# that tiny CGFs keep their relative accuracy (no 1 + tiny − 1 cancellation).
# ----------------------------------------------------------------------------------------

_XGK = np.array([0.991455371120812639206854697526329, 0.949107912342758524526189684047851,
                 0.864864423359769072789712788640926, 0.741531185599394439863864773280788,
                 0.586087235467691130294144845693013, 0.405845151377397166906606412076961,
                 0.207784955007898467600689403773245, 0.000000000000000000000000000000000])
_WGK = np.array([0.022935322010529224963732008058970, 0.063092092629978553290700663189204,
                 0.104790010322250183839876322541518, 0.140653259715525918745189590510238,
                 0.169004726639267902826583426598550, 0.190350578064785409913256402421014,
                 0.204432940075298892414161999234649, 0.209482141084727828012999174891714])
_WG = np.array([0.129484966168869693270611432679082, 0.279705391489276667901467771423780,
                0.381830050505118944950369775488975, 0.417959183673469387755102040816327])


@njit(cache=True)
def _small_expm1_minus(y):
    """expm1(y) − y without cancellation."""
    if abs(y) < 1e-2:
        # y²/2 + y³/6 + y⁴/24 + y⁵/120 + y⁶/720
        return y * y * (0.5 + y * (1.0 / 6 + y * (1.0 / 24 + y * (1.0 / 120 + y / 720.0))))
    return math.expm1(y) - y


@njit(cache=True)
def _small_yexp_minus(y):
    """y·e^y − expm1(y) = 1 + e^y(y − 1) without cancellation."""
    if abs(y) < 1e-2:
        # y²/2 + y³/3 + y⁴/8 + y⁵/30 + y⁶/144
        return y * y * (0.5 + y * (1.0 / 3 + y * (0.125 + y * (1.0 / 30 + y / 144.0))))
    return y * math.exp(y) - math.expm1(y)


@njit(cache=True)
def _lse_linear(x, means, logw, s2):
    """log Σ_j w_j exp((x·m_j − m_j²/2)/σ²): the log density plus x²/(2σ²) + log σ√2π."""
    best = NEG_INF
    for j in range(means.shape[0]):
        v = logw[j] + (x * means[j] - 0.5 * means[j] * means[j]) / s2
        if v > best:
            best = v
    if best == NEG_INF:
        return NEG_INF
    s = 0.0
    for j in range(means.shape[0]):
        s += math.exp(logw[j] + (x * means[j] - 0.5 * means[j] * means[j]) / s2 - best)
    return best + math.log(s)


@njit(cache=True)
def integrand(kind, x, pm, plw, qm, qlw, sigma, t, shift, c, p):
    s2 = sigma * sigma
    A = _lse_linear(x, pm, plw, s2)
    B = _lse_linear(x, qm, qlw, s2)
    base = -0.5 * x * x / s2 - math.log(sigma) - LOG_SQRT_2PI
    L = B - A
    if kind == 0:
        return math.exp(base + B + t * L - shift)
    if kind == 1:
        return math.exp(base + B) * _small_expm1_minus(t * L)
    if kind == 2:
        return math.exp(base + A) * _small_yexp_minus(L)
    if kind == 3:
        return math.exp(base + B) * (L - c) ** p
    if kind == 4:
        return math.exp(base + A) * (L - c) ** p
    if kind == 5:
        return math.exp(base + B + t * L - shift) * abs(L - c) ** p
    if kind == 6:
        return (math.exp(base + B) * _small_expm1_minus(t * L)
                + t * math.exp(base + A) * _small_yexp_minus(L))
    return 0.0


@njit(cache=True)
def _gk15(kind, a, b, pm, plw, qm, qlw, sigma, t, shift, c, p):
    mid = 0.5 * (a + b)
    half = 0.5 * (b - a)
    fc = integrand(kind, mid, pm, plw, qm, qlw, sigma, t, shift, c, p)
    resk = fc * _WGK[7]
    resg = fc * _WG[3]
    for j in range(7):
        dx = half * _XGK[j]
        f1 = integrand(kind, mid - dx, pm, plw, qm, qlw, sigma, t, shift, c, p)
        f2 = integrand(kind, mid + dx, pm, plw, qm, qlw, sigma, t, shift, c, p)
        resk += _WGK[j] * (f1 + f2)
        if j % 2 == 1:
            resg += _WG[j // 2] * (f1 + f2)
    return resk * half, abs((resk - resg) * half)


@njit(cache=True)
def integrate(kind, breaks, pm, plw, qm, qlw, sigma, t, shift, c, p, rtol):
    """Adaptive Gauss–Kronrod (7/15) over the panels given by sorted ``breaks``.

    Returns (integral, error estimate). Panels are bisected until each one's Kronrod–Gauss
    difference is below rtol·|total| (taking the initial total as the scale) or 60 levels.
    """
    npan = breaks.shape[0] - 1
    cap = 20000
    sa = np.empty(cap)
    sb = np.empty(cap)
    sv = np.empty(cap)
    se = np.empty(cap)
    depth = np.empty(cap, dtype=np.int64)
    total = 0.0
    scale = 0.0
    for i in range(npan):
        v, e = _gk15(kind, breaks[i], breaks[i + 1], pm, plw, qm, qlw, sigma, t, shift, c, p)
        sa[i] = breaks[i]
        sb[i] = breaks[i + 1]
        sv[i] = v
        se[i] = e
        depth[i] = 0
        scale += abs(v)
    if scale == 0.0:
        return 0.0, 0.0
    n = npan
    result = 0.0
    err = 0.0
    # Process as a stack; accepted panels are summed.
    while n > 0:
        n -= 1
        a = sa[n]
        b = sb[n]
        v = sv[n]
        e = se[n]
        d = depth[n]
        if e <= rtol * scale * 1e-2 or e <= rtol * abs(v) or d >= 60 or n + 2 >= cap:
            result += v
            err += e
            continue
        m = 0.5 * (a + b)
        v1, e1 = _gk15(kind, a, m, pm, plw, qm, qlw, sigma, t, shift, c, p)
        v2, e2 = _gk15(kind, m, b, pm, plw, qm, qlw, sigma, t, shift, c, p)
        sa[n] = a
        sb[n] = m
        sv[n] = v1
        se[n] = e1
        depth[n] = d + 1
        sa[n + 1] = m
        sb[n + 1] = b
        sv[n + 1] = v2
        se[n + 1] = e2
        depth[n + 1] = d + 1
        n += 2
    return result, err


@njit(cache=True)
def tilted_log_peak(x_candidates, pm, plw, qm, qlw, sigma, t):
    """max over candidates of (1+t)·log Q − t·log P (normalised), the shift for kind 0."""
    best = NEG_INF
    for k in range(x_candidates.shape[0]):
        x = x_candidates[k]
        lP = log_kernel(x, pm, plw, sigma) - math.log(sigma) - LOG_SQRT_2PI
        lQ = log_kernel(x, qm, qlw, sigma) - math.log(sigma) - LOG_SQRT_2PI
        if lQ == NEG_INF:
            continue
        v = (1.0 + t) * lQ - t * lP
        if v > best:
            best = v
    return best
