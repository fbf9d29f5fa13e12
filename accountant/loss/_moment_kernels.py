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
