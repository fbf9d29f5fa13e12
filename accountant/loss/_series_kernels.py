"""numba quadrature of moment vectors of the privacy loss of a Gaussian-mixture pair.

One adaptive Gauss–Kronrod (7/15) pass integrates a whole vector of moments at once, each
component to its own relative tolerance (epsabs = 0), so that cumulants κ₁..κ₅ and the
tilted quantities of the saddle-point accountant cost two passes each.

Weights w(x) (normalised densities, x the outcome, L = log Q/P):

    kind 0   P(x)                                   (X = L under P)
    kind 1   Q(x)                                   (Y = L under Q)
    kind 2   exp((1+t)·log Q − t·log P − shift)      (Q tilted by e^{tL}, unnormalised)
    kind 3   P·(expm1(L) − L)   in component 1       (≥ 0; integrates to −E_P[L])
    kind 4   P·(L·e^L − expm1(L)) in component 1     (≥ 0; integrates to  E_Q[L])

For kinds 0–2 the components are, with d = L − c:
    [w, w·d, w·d², w·d³, w·d⁴, w·d⁵, w·|d|, w·|d|³].
Kinds 3 and 4 express the means as integrals of non-negative functions (E_P[e^L] = 1), so
the mean keeps full relative accuracy when it is far smaller than E|L|.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

from ._mixture_kernels import _small_expm1_minus, _small_yexp_minus, _WG, _WGK, _XGK, log_parts
from ..core.special import LOG_SQRT_2PI, log1mexp, log_mills_tail, log_sf_normal, logaddexp

NV = 8


@njit(cache=True)
def _values(kind, x, pm, plw, qm, qlw, sigma, t, shift, c, out):
    A, B, base, L = log_parts(x, pm, plw, qm, qlw, sigma)
    if kind == 0:
        w = math.exp(base + A)
    elif kind == 1:
        w = math.exp(base + B)
    elif kind == 2:
        w = math.exp(base + B + t * L - shift)
    else:
        w = math.exp(base + A)
        out[0] = w
        if L > 1.0:
            # P·e^L = Q: written with Q's own exponent, so that e^L overflowing where P
            # underflows (σ = 0.05: L ≈ 950 at the panels' ends) does not make 0·inf = NaN
            # (which used to turn every cumulant of the direction into NaN). For L > 1
            # kind 4 adds positive terms and kind 3's difference e^L − (1 + L) keeps at
            # least a quarter of e^L: no cancellation to speak of.
            wq = math.exp(base + B)
            g = wq - w * (1.0 + L) if kind == 3 else wq * (L - 1.0) + w
            out[1] = g
        else:
            g = _small_expm1_minus(L) if kind == 3 else _small_yexp_minus(L)
            out[1] = w * g
        for k in range(2, NV):
            out[k] = 0.0
        return
    d = L - c
    ad = abs(d)
    out[0] = w
    out[1] = w * d
    out[2] = out[1] * d
    out[3] = out[2] * d
    out[4] = out[3] * d
    out[5] = out[4] * d
    out[6] = w * ad
    out[7] = w * ad * ad * ad


@njit(cache=True)
def _gk15v(kind, a, b, pm, plw, qm, qlw, sigma, t, shift, c, res, err, buf):
    mid = 0.5 * (a + b)
    half = 0.5 * (b - a)
    resk = np.zeros(NV)
    resg = np.zeros(NV)
    _values(kind, mid, pm, plw, qm, qlw, sigma, t, shift, c, buf)
    for k in range(NV):
        resk[k] = buf[k] * _WGK[7]
        resg[k] = buf[k] * _WG[3]
    for j in range(7):
        dx = half * _XGK[j]
        _values(kind, mid - dx, pm, plw, qm, qlw, sigma, t, shift, c, buf)
        for k in range(NV):
            resk[k] += _WGK[j] * buf[k]
            if j % 2 == 1:
                resg[k] += _WG[j // 2] * buf[k]
        _values(kind, mid + dx, pm, plw, qm, qlw, sigma, t, shift, c, buf)
        for k in range(NV):
            resk[k] += _WGK[j] * buf[k]
            if j % 2 == 1:
                resg[k] += _WG[j // 2] * buf[k]
    for k in range(NV):
        res[k] = resk[k] * half
        err[k] = abs((resk[k] - resg[k]) * half)


@njit(cache=True)
def integrate_moments(kind, breaks, pm, plw, qm, qlw, sigma, t, shift, c, rtol, need=255,
                      visits=100000):
    """Adaptive vector Gauss–Kronrod over the panels given by sorted ``breaks``.

    A panel is accepted when, for every component k in the bit mask ``need``, its Kronrod–Gauss difference is below
    rtol·|panel value| or below 1e-2·rtol·(Σ over the initial panels of |value_k|). Returns
    (values, error estimates), both of length NV; the error estimate bounds the sum of the
    accepted panels' Kronrod–Gauss differences (a conservative proxy for analytic
    integrands). After ``visits`` panel visits (100 000 by default; callers lower it for
    mixtures with many components, whose every evaluation costs more) the remaining
    panels are accepted as they are (their differences still enter the error estimate):
    a tilted law far out of the panels' reach costs a bounded time and reports its error.
    Also returns the number of 15-point panel evaluations done (the work, for budgets).
    More initial panels than the stack holds: NaN values (out of reach), no work.
    """
    npan = breaks.shape[0] - 1
    cap = 40000
    if npan + 2 >= cap:
        return np.full(NV, np.nan), np.full(NV, np.inf), 0
    sa = np.empty(cap)
    sb = np.empty(cap)
    sv = np.empty((cap, NV))
    se = np.empty((cap, NV))
    depth = np.empty(cap, dtype=np.int64)
    scale = np.zeros(NV)
    buf = np.empty(NV)
    res = np.empty(NV)
    er = np.empty(NV)
    for i in range(npan):
        _gk15v(kind, breaks[i], breaks[i + 1], pm, plw, qm, qlw, sigma, t, shift, c, res, er, buf)
        sa[i] = breaks[i]
        sb[i] = breaks[i + 1]
        for k in range(NV):
            sv[i, k] = res[k]
            se[i, k] = er[k]
            scale[k] += abs(res[k])
        depth[i] = 0
    total = np.zeros(NV)
    terr = np.zeros(NV)
    n = npan
    evals = npan
    budget = visits       # panel visits: beyond it panels are accepted as they are
    while n > 0:
        n -= 1
        ok = True
        budget -= 1
        for k in range(NV):
            if budget < 0 or not (need >> k) & 1:
                continue
            e = se[n, k]
            if e != e:
                break     # NaN: halving cannot help (and would run to depth 50 everywhere)
            if not (e <= rtol * scale[k] * 1e-2 or e <= rtol * abs(sv[n, k])):
                ok = False
                break
        if ok or depth[n] >= 50 or n + 2 >= cap:
            for k in range(NV):
                total[k] += sv[n, k]
                terr[k] += se[n, k]
            continue
        a = sa[n]
        b = sb[n]
        d = depth[n]
        m = 0.5 * (a + b)
        _gk15v(kind, a, m, pm, plw, qm, qlw, sigma, t, shift, c, res, er, buf)
        sa[n] = a
        sb[n] = m
        for k in range(NV):
            sv[n, k] = res[k]
            se[n, k] = er[k]
        depth[n] = d + 1
        _gk15v(kind, m, b, pm, plw, qm, qlw, sigma, t, shift, c, res, er, buf)
        sa[n + 1] = m
        sb[n + 1] = b
        for k in range(NV):
            sv[n + 1, k] = res[k]
            se[n + 1, k] = er[k]
        depth[n + 1] = d + 1
        n += 2
        evals += 2
    return total, terr, evals


# Offsets (in σ) of the panel ends around each centre: out to ±38σ, where a Gaussian factor
# is below e^{-700} of its peak.
_OFF = np.array([-38.0, -16.0, -8.0, -4.0, -2.0, -1.0, 0.0, 1.0, 2.0, 4.0, 8.0, 16.0, 38.0])


@njit(cache=True)
def breakpoints(pm, qm, sigma, t, xc):
    """Sorted panel ends around every component mean and every tilted peak (1+t)c_j − t·a_i,
    merged when closer than σ/2, plus ``xc`` (the kink of |L − c|) when finite and inside."""
    nc = pm.shape[0] + qm.shape[0] + pm.shape[0] * qm.shape[0]
    cen = np.empty(nc)
    k = 0
    for i in range(pm.shape[0]):
        cen[k] = pm[i]
        k += 1
    for j in range(qm.shape[0]):
        cen[k] = qm[j]
        k += 1
    for j in range(qm.shape[0]):
        for i in range(pm.shape[0]):
            cen[k] = (1.0 + t) * qm[j] - t * pm[i]
            k += 1
    pts = np.empty(nc * _OFF.shape[0])
    k = 0
    for i in range(nc):
        for j in range(_OFF.shape[0]):
            pts[k] = cen[i] + sigma * _OFF[j]
            k += 1
    pts = np.sort(pts)
    keep = np.empty(pts.shape[0] + 1)
    m = 1
    keep[0] = pts[0]
    for i in range(1, pts.shape[0]):
        if pts[i] - keep[m - 1] >= 0.5 * sigma:
            keep[m] = pts[i]
            m += 1
    if keep[m - 1] != pts[-1]:
        keep[m - 1] = pts[-1]
    if math.isfinite(xc) and keep[0] < xc < keep[m - 1]:
        # insert xc unless it coincides with an end
        out = np.empty(m + 1)
        n = 0
        done = False
        for i in range(m):
            if not done and xc <= keep[i]:
                if xc < keep[i]:
                    out[n] = xc
                    n += 1
                done = True
            out[n] = keep[i]
            n += 1
        return out[:n]
    return keep[:m]


# ----------------------------------------------------------------------------------------
# Derumigny–Girard–Guyonvarch bound (arXiv 2101.05780, appendix Theorems A.2 / A.3, the
# "no continuity", skewed case): scalar kernels, minimised over the free ε ∈ (0, 1/3).
# Only Γ(3/2, ·) and γ(3/2, ·) appear, which have closed forms in erf/erfc.
# ----------------------------------------------------------------------------------------
_PSI = 1.0253          # |Ψ(t)| ≤ 1.0253/(2π|t|), the smoothing-kernel constant of DGG
_CHI1 = 0.09916191
_SQRT_PI = math.sqrt(math.pi)


@njit(cache=True)
def _upper_gamma_15(x):
    """Γ(3/2, x) = √x e^{−x} + (√π/2)·erfc(√x)."""
    r = math.sqrt(x)
    return r * math.exp(-x) + 0.5 * _SQRT_PI * math.erfc(r)


@njit(cache=True)
def _lower_gamma_15(x):
    """γ(3/2, x) = (√π/2)·erf(√x) − √x e^{−x}, x ≥ 0."""
    r = math.sqrt(x)
    return 0.5 * _SQRT_PI * math.erf(r) - r * math.exp(-x)


@njit(cache=True)
def _dgg_common(e, n, K4, K3t):
    return 0.1995 * K3t / math.sqrt(n) + (0.031 * K3t * K3t
                                          + 0.327 * K4 * (1.0 / 12 + 1.0 / (4 * (1 - 3 * e) ** 2))) / n


@njit(cache=True)
def dgg_iid(e, n, K4, K3, K3t, lam):
    """Theorem A.3 (i.i.d. summands), eq. (17) with the remainder r₁,ₙ of eq. (21)."""
    a3 = abs(lam)
    w = (1 - 3 * e) ** 2
    e3 = math.exp(e * e / 6 + e * e / (2 * (1 - 3 * e)) ** 2)
    P2 = (48 * e * math.sqrt(K4 / n) + 4 * e * e * K4 / n
          + 96 * math.sqrt(2 * e) * a3 / (K4 ** 0.25 * n ** 0.25)
          + 32 * e * lam * lam / math.sqrt(K4 * n)
          + 16 * math.sqrt(2.0) * K4 ** 0.25 * a3 * e ** 1.5 / n ** 0.75)
    e2 = math.exp(e * e * (1.0 / 6 + 1 / (2 * w) + 2 * P2 / (576 * w)))
    denom = 2 * w * math.pi
    brace = K4 / 12 + 1 / (4 * w) + P2 / (576 * w)
    Rn = (_PSI / denom * K4 / (24 * n * n) * 8 * math.gamma(5.0)
          + _PSI / denom * K4 * K4 / (576 * n ** 3) * 16 * math.gamma(6.0)
          + _PSI / math.pi * e2 / (8 * n * n) * brace * 16 * math.gamma(6.0)
          + _PSI / denom * a3 / (6 * n ** 1.5) * 2 ** 0.5 * math.gamma(2.5)
          + _PSI / denom * lam * lam / (36 * n * n) * 8 * math.gamma(5.0)
          + _PSI / denom * K4 * a3 / (72 * n ** 2.5) * 2 ** 3.5 * math.gamma(5.5)
          + _PSI / math.pi * e2 * a3 / (12 * n ** 1.5) * brace * 2 ** 3.5 * math.gamma(5.5))
    mlg = min(math.sqrt(2 * e) * (n / K4) ** 0.25, 2 * math.sqrt(n) / K3t)
    r1 = ((14.1961 + 67.0415) * K3t ** 4 / (16 * math.pi ** 4 * n * n)
          + 4.3394 * a3 * K3t ** 3 / (8 * math.pi ** 3 * n * n)
          + Rn + 1.306 * (e2 - e3) * lam * lam / (36 * n)
          + a3 * (_upper_gamma_15(mlg) - _upper_gamma_15(2 * math.sqrt(n) / K3t)) / math.sqrt(n)
          + _PSI * 2 ** 2.5 * K3 / (3 * math.pi * math.sqrt(n))
          * (_upper_gamma_15(mlg * mlg / 8) - _upper_gamma_15(4 * n / (8 * K3t * K3t))))
    return _dgg_common(e, n, K4, K3t) + (0.054 * a3 * K3t + 0.037 * e3 * lam * lam) / n + r1


@njit(cache=True)
def dgg_inid(e, n, K4, K3, K3t, lam):
    """Theorem A.2 (independent, non-identical summands), eq. (11) with r₁,ₙ of eq. (15);
    inf when its Δ-term needs the generalised incomplete gamma (n/K₄ tiny: vacuous)."""
    a3 = abs(lam)
    w = (1 - 3 * e) ** 2
    P1 = (144 + 48 * e + 4 * e * e) / 576 + (96 * math.sqrt(2 * e) + 32 * e
                                             + 16 * math.sqrt(2.0) * e ** 1.5) / 576
    e1 = math.exp(e * e * (1.0 / 6 + 2 * P1 / w))
    denom = w * math.pi
    r = K4 / n
    Rn = (_PSI / (48 * denom) * r ** 1.5 * 8 * math.gamma(5.0)
          + _PSI / (24 * 24 * 2 * denom) * r * r * 16 * math.gamma(6.0)
          + _PSI * e1 / (2 * math.pi) * r * r * (1.0 / 24 + P1 / (2 * w)) ** 2 * 16 * math.gamma(6.0)
          + _PSI / (12 * denom) * r ** 1.25 * 2 ** 2.5 * math.gamma(4.5)
          + _PSI / (72 * denom) * r ** 1.5 * 8 * math.gamma(5.0)
          + _PSI / (144 * denom) * r ** 1.75 * 2 ** 3.5 * math.gamma(5.5)
          + _PSI * e1 / (6 * math.pi) * a3 * K4 / n ** 1.5 * (1.0 / 24 + P1 / (2 * w))
          * 16 * math.gamma(6.0))
    D = (1 - 4 * _CHI1 - math.sqrt(r)) / 2
    if D <= 0:
        return np.inf
    up = 2 * D * min(e * math.sqrt(n / K4), 2 * n / (K3t * K3t))
    lo = 4 * D * n / (K3t * K3t)
    curly = 0.5 * D ** -1.5 * abs(_lower_gamma_15(lo) - _lower_gamma_15(up))
    mlg = min(math.sqrt(2 * e) * (n / K4) ** 0.25, 2 * math.sqrt(n) / K3t)
    r1 = ((14.1961 + 67.0415) * K3t ** 4 / (16 * math.pi ** 4 * n * n)
          + 4.3394 * a3 * K3t ** 3 / (8 * math.pi ** 3 * n * n) + Rn
          + a3 * (_upper_gamma_15(mlg) - _upper_gamma_15(2 * math.sqrt(n) / K3t)) / math.sqrt(n)
          + _PSI * K3 * curly / (6 * math.pi * math.sqrt(n)))
    return _dgg_common(e, n, K4, K3t) + (0.054 * a3 * K3t + 0.037 * e1 * lam * lam) / n + r1


@njit(cache=True)
def _dgg_at(iid, k, n, K4, K3, K3t, lam):
    e = 0.005 * k
    return dgg_iid(e, n, K4, K3, K3t, lam) if iid else dgg_inid(e, n, K4, K3, K3t, lam)


@njit(cache=True)
def dgg_min(iid, n, K4, K3, K3t, lam):
    """min over ε ∈ {0.005, 0.010, …, 0.325} of the DGG bound (every ε gives a valid bound):
    every 8th grid point, then the fine grid within 7 points of the best of those (the
    bound is unimodal in ε; on 2 538 random inputs this equals the full 65-point minimum)."""
    best = np.inf
    kb = 1
    for k in range(1, 66, 8):
        v = _dgg_at(iid, k, n, K4, K3, K3t, lam)
        if v < best:
            best = v
            kb = k
    for k in range(max(1, kb - 7), min(65, kb + 7) + 1):
        if (k - 1) % 8 == 0:
            continue
        v = _dgg_at(iid, k, n, K4, K3, K3t, lam)
        if v < best:
            best = v
    return best


# ----------------------------------------------------------------------------------------
# Edgeworth tails and the ε(δ) search (docs/math.md §5), scalar kernels.
# K holds the composed cumulants (K₁..K₅); order 1, 2 or 3 correction brackets.
# ----------------------------------------------------------------------------------------
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


@njit(cache=True)
def _bracket(z, g, k, l5, order):
    z2 = z * z
    out = g / 6.0 * (z2 - 1.0)
    if order >= 2:
        out += k / 24.0 * z * (z2 - 3.0) + g * g / 72.0 * z * (z2 * (z2 - 10.0) + 15.0)
    if order >= 3:
        he4 = z2 * (z2 - 6.0) + 3.0
        he6 = z2 * (z2 * (z2 - 15.0) + 45.0) - 15.0
        he8 = z2 * (z2 * (z2 * (z2 - 28.0) + 210.0) - 420.0) + 105.0
        out += l5 / 120.0 * he4 + g * k / 144.0 * he6 + g ** 3 / 1296.0 * he8
    return out


@njit(cache=True)
def _shape(K):
    """(s, γ, κ, λ) = (√K₂, K₃/s³, K₄/s⁴, K₅/s⁵) for K₂ > 0, dividing by s (or K₂) one
    factor at a time: s³ underflows to 0 for K₂ below ~1e-205 (a division by zero) and
    overflows above ~1e205 (γ silently 0); one factor at a time, a quotient overflows only
    when the standardised cumulant itself is beyond the double range."""
    s = math.sqrt(K[1])
    return s, K[2] / s / s / s, K[3] / K[1] / K[1], K[4] / K[1] / K[1] / s


@njit(cache=True)
def _tail_value(z, g, k, l5, order):
    """Q(z) + φ(z)·bracket(z), not clipped."""
    q = 0.5 * math.erfc(z / math.sqrt(2.0))
    ph = _INV_SQRT_2PI * math.exp(-0.5 * z * z)
    if ph == 0.0:
        # |z| > 38.6: the correction φ·polynomial is below the smallest double, and the
        # polynomial alone may overflow (0·inf = NaN, which min/max would clip to 0 unseen)
        return q
    return q + ph * _bracket(z, g, k, l5, order)


@njit(cache=True)
def ew_tail(x, K, order):
    """S̃(x) clipped to [0, 1]."""
    if K[1] <= 0.0:
        return 1.0 if x < K[0] else 0.0
    s, g, k, l5 = _shape(K)
    v = _tail_value((x - K[0]) / s, g, k, l5, order)
    return min(1.0, max(0.0, v))


@njit(cache=True)
def _exp_times(eps, s):
    if s <= 0.0:
        return 0.0
    v = eps + math.log(s)
    return math.exp(v) if v < 709.0 else np.inf


@njit(cache=True)
def ew_delta(eps, KX, KY, order):
    """δ̃(ε) = S̃_Y(ε) − e^ε S̃_X(ε) (may be negative)."""
    return ew_tail(eps, KY, order) - _exp_times(eps, ew_tail(eps, KX, order))


@njit(cache=True)
def ew_interval(eps, KX, KY, dX, dY, upper):
    """The DGG δ-bound at ε: upper (True) or lower end, in [0, 1]."""
    sy = ew_tail(eps, KY, 1)
    sx = ew_tail(eps, KX, 1)
    if upper:
        v = min(sy + dY, 1.0) - _exp_times(eps, max(sx - dX, 0.0))
    else:
        v = max(sy - dY, 0.0) - _exp_times(eps, min(sx + dX, 1.0))
    return min(max(v, 0.0), 1.0)


@njit(cache=True)
def _value(what, eps, KX, KY, order, dX, dY):
    if what == 0:
        return ew_delta(eps, KX, KY, order)
    return ew_interval(eps, KX, KY, dX, dY, what == 2)


@njit(cache=True)
def _bisect(what, a, b, delta, KX, KY, order, dX, dY):
    """Shrink [a, b] with value(a) > δ ≥ value(b) to width 1e-13·max(1, b)."""
    for _ in range(200):
        if b - a <= 1e-13 * max(1.0, abs(b)):
            break
        m = 0.5 * (a + b)
        if _value(what, m, KX, KY, order, dX, dY) > delta:
            a = m
        else:
            b = m
    return a, b


@njit(cache=True)
def ew_search(what, grid, delta, KX, KY, order, dX, dY, last):
    """Crossings of value(ε) = δ on a grid, refined by bisection.

    what: 0 = Edgeworth δ̃, 1 = DGG lower end, 2 = DGG upper end.
    last=True: the largest ε with value > δ (returns the left end of the final bracket,
    −1 when none, +inf when the last grid point is still above). last=False: the smallest
    ε with value ≤ δ (right end of the bracket; +inf when none, 0 when the first point).
    """
    n = grid.shape[0]
    if last:
        for i in range(n - 1, -1, -1):
            if _value(what, grid[i], KX, KY, order, dX, dY) > delta:
                if i == n - 1:
                    return np.inf
                a, b = _bisect(what, grid[i], grid[i + 1], delta, KX, KY, order, dX, dY)
                return a
        return -1.0
    for i in range(n):
        if not _value(what, grid[i], KX, KY, order, dX, dY) > delta:
            if i == 0:
                return 0.0
            a, b = _bisect(what, grid[i - 1], grid[i], delta, KX, KY, order, dX, dY)
            return b
    return np.inf


@njit(cache=True)
def _tails2(x, K0, s, g, k, l5, order, degenerate):
    """(S̃ at ``order``, S̃ at order 1), each clipped to [0, 1]."""
    if degenerate:
        v = 1.0 if x < K0 else 0.0
        return v, v
    z = (x - K0) / s
    q = 0.5 * math.erfc(z / math.sqrt(2.0))
    ph = _INV_SQRT_2PI * math.exp(-0.5 * z * z)
    if ph == 0.0:
        # as in _tail_value: no correction below the smallest double, no 0·inf
        v = min(1.0, max(0.0, q))
        return v, v
    b1 = g / 6.0 * (z * z - 1.0)
    b = _bracket(z, g, k, l5, order) if order > 1 else b1
    return min(1.0, max(0.0, q + ph * b)), min(1.0, max(0.0, q + ph * b1))


@njit(cache=True)
def ew_prepare(KX, KY, top, npts, order, dX, dY):
    """The search grid (npts points on [0, top]) and, on it, δ̃ (row 0) and the DGG lower
    and upper δ-bounds (rows 1, 2) — the same numbers as :func:`ew_delta` and
    :func:`ew_interval`, with the normal tail and density computed once per point."""
    grid = np.empty(npts)
    vals = np.empty((3, npts))
    dgx = KX[1] <= 0.0
    dgy = KY[1] <= 0.0
    sx, gx, kx, lx = (1.0, 0.0, 0.0, 0.0) if dgx else _shape(KX)
    sy, gy, ky, ly = (1.0, 0.0, 0.0, 0.0) if dgy else _shape(KY)
    step = top / (npts - 1)
    for i in range(npts):
        x = i * step if i < npts - 1 else top     # as numpy.linspace
        grid[i] = x
        tx, tx1 = _tails2(x, KX[0], sx, gx, kx, lx, order, dgx)
        ty, ty1 = _tails2(x, KY[0], sy, gy, ky, ly, order, dgy)
        if x < 700.0:
            # e^x·S for S ∈ [0, 1]: one exp per point (as _exp_times up to rounding)
            ex = math.exp(x)
            vals[0, i] = ty - ex * tx
            lo = max(ty1 - dY, 0.0) - ex * min(tx1 + dX, 1.0)
            up = min(ty1 + dY, 1.0) - ex * max(tx1 - dX, 0.0)
        else:
            vals[0, i] = ty - _exp_times(x, tx)
            lo = max(ty1 - dY, 0.0) - _exp_times(x, min(tx1 + dX, 1.0))
            up = min(ty1 + dY, 1.0) - _exp_times(x, max(tx1 - dX, 0.0))
        vals[1, i] = min(max(lo, 0.0), 1.0)
        vals[2, i] = min(max(up, 0.0), 1.0)
    return grid, vals


@njit(cache=True)
def _falsi(what, a, b, delta, KX, KY, order, dX, dY):
    """Shrink [a, b] with value(a) > δ ≥ value(b) to width 1e-13·max(1, b) (Illinois
    regula falsi, bisecting where it would not move inside the bracket)."""
    fa = _value(what, a, KX, KY, order, dX, dY) - delta
    fb = _value(what, b, KX, KY, order, dX, dY) - delta
    side = 0
    for _ in range(200):
        if b - a <= 1e-13 * max(1.0, abs(b)):
            break
        m = 0.5 * (a + b)
        if fa != fb:
            y = b - fb * (b - a) / (fb - fa)
            if a < y < b:
                m = y
        fm = _value(what, m, KX, KY, order, dX, dY) - delta
        if fm > 0:
            a, fa = m, fm
            if side == 1:
                fb *= 0.5
            side = 1
        else:
            b, fb = m, fm
            if side == -1:
                fa *= 0.5
            side = -1
    return a, b


@njit(cache=True)
def _shrink(what, a, b, delta, KX, KY, order, dX, dY):
    # δ̃ (smooth): regula falsi; the DGG bounds (kinks where a tail is clipped): bisection
    if what == 0:
        return _falsi(what, a, b, delta, KX, KY, order, dX, dY)
    return _bisect(what, a, b, delta, KX, KY, order, dX, dY)


@njit(cache=True)
def ew_search_grid(what, grid, vals, delta, KX, KY, order, dX, dY, last):
    """:func:`ew_search` on values precomputed by :func:`ew_prepare` (row ``what``)."""
    n = grid.shape[0]
    if last:
        for i in range(n - 1, -1, -1):
            if vals[what, i] > delta:
                if i == n - 1:
                    return np.inf
                a, b = _shrink(what, grid[i], grid[i + 1], delta, KX, KY, order, dX, dY)
                return a
        return -1.0
    for i in range(n):
        if not vals[what, i] > delta:
            if i == 0:
                return 0.0
            a, b = _shrink(what, grid[i - 1], grid[i], delta, KX, KY, order, dX, dY)
            return b
    return np.inf


@njit(cache=True)
def ew_non_monotone_vals(vals, floor):
    """:func:`ew_non_monotone` on δ̃ precomputed on the grid."""
    scale = 0.0
    for i in range(vals.shape[0]):
        scale = max(scale, abs(vals[i]))
    for i in range(1, vals.shape[0]):
        if vals[i - 1] < floor:
            break
        if vals[i] - vals[i - 1] > 1e-12 * max(scale, 1e-300):
            return True
    return False


@njit(cache=True)
def ew_non_monotone(grid, KX, KY, order, floor):
    """True when δ̃ increases somewhere on the grid (beyond rounding) where it is still
    above ``floor``: the far tail, where the expansion's polynomial terms outgrow the
    Gaussian and no query reads it, is not reported."""
    prev = ew_delta(grid[0], KX, KY, order)
    scale = abs(prev)
    vals = np.empty(grid.shape[0])
    vals[0] = prev
    for i in range(1, grid.shape[0]):
        vals[i] = ew_delta(grid[i], KX, KY, order)
        scale = max(scale, abs(vals[i]))
    for i in range(1, grid.shape[0]):
        if vals[i - 1] < floor:
            break
        if vals[i] - vals[i - 1] > 1e-12 * max(scale, 1e-300):
            return True
    return False


@njit(cache=True)
def ew_negative_density(K, order):
    """True when the Edgeworth density −dS̃/dx is negative somewhere on z ∈ [−10, 10]."""
    if K[1] <= 0.0:
        return False
    s, g, k, l5 = _shape(K)
    for i in range(201):
        z = -10.0 + 0.1 * i
        z2 = z * z
        v = 1.0 + g / 6.0 * z * (z2 - 3.0)
        if order >= 2:
            v += k / 24.0 * (z2 * (z2 - 6.0) + 3.0) + g * g / 72.0 * (z2 * (z2 * (z2 - 15.0) + 45.0) - 15.0)
        if order >= 3:
            he5 = z * (z2 * (z2 - 10.0) + 15.0)
            he7 = z * (z2 * (z2 * (z2 - 21.0) + 105.0) - 105.0)
            he9 = z * (z2 * (z2 * (z2 * (z2 - 36.0) + 378.0) - 1260.0) + 945.0)
            v += l5 / 120.0 * he5 + g * k / 144.0 * he7 + g ** 3 / 1296.0 * he9
        if v < 0.0:
            return True
    return False


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
