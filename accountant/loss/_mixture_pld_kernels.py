"""numba kernels of a Gaussian-mixture pair's PLD cells (docs/math.md §4): the outcome
points x_i where the loss crosses the grid ε_i = e0 + i·h, and the cell integrals

* ``a_i = E_P[expm1(L − ε_i); cell i] / expm1(h)`` and
  ``b_i = E_P[e^h − e^{L−ε_i}; cell i] / expm1(h)``, so a_i + b_i = P[cell i],

both integrals of non-negative functions by Gauss–Legendre quadrature in the outcome x (no
difference of nearby tail probabilities is ever taken). The PLD accountant reads them
through :meth:`accountant.loss.mixture.GaussianMixtureLoss.pld_cells`.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

from ..core.special import LOG_SQRT_2PI
from ._mixture_kernels import _loss_and_slope, _lse_linear, inverse_loss

# Gauss–Legendre nodes/weights on [-1, 1]. n nodes integrate e^{bt} on [-1, 1] with relative
# error ≈ c_n·b^{2n} (c_2 = 7e-3, c_3 = 6e-5, c_8 = 2e-18): panels are sized accordingly.
_X2, _W2 = np.polynomial.legendre.leggauss(2)
_X3, _W3 = np.polynomial.legendre.leggauss(3)
_X4, _W4 = np.polynomial.legendre.leggauss(4)
_X8, _W8 = np.polynomial.legendre.leggauss(8)
#: Half-width (in σ) of the outcome span integrated around the mixture components.
SPAN_Z = 40.0



@njit(cache=True)
def inverse_sweep(e0, h, npts, pm, plw, qm, qlw, sigma, lo_loss, hi_loss):
    """x_i = L⁻¹(e0 + i·h) for i < npts: Newton warm-started from the previous point (the
    grid is increasing and L is increasing), falling back to the core's safeguarded solver."""
    s2 = sigma * sigma
    xs = np.empty(npts)
    prev = np.nan
    dprev = 0.0
    for i in range(npts):
        eps = e0 + i * h
        if eps <= lo_loss:
            xs[i] = -np.inf
            continue
        if eps >= hi_loss:
            xs[i] = np.inf
            continue
        ok = False
        if prev == prev and abs(prev) < np.inf:
            x = prev
            if i >= 3 and abs(xs[i - 2]) < np.inf and abs(xs[i - 3]) < np.inf:
                # Quadratic extrapolation of the smooth x(ε): error O(h³), so one Newton
                # step usually meets the tolerance.
                x = 3.0 * prev - 3.0 * xs[i - 2] + xs[i - 3]
                d1 = prev - xs[i - 2]
                if not (prev < x < prev + 2.0 * d1):
                    x = prev + d1
            elif dprev > 0:
                step = h / dprev
                if step < 2.0 * sigma:
                    x = prev + step
            for _ in range(40):
                L, d = _loss_and_slope(x, pm, plw, qm, qlw, s2)
                if not (d > 0):
                    break
                dprev = d
                dx = (eps - L) / d
                # Cap the step so that a flat stretch of L cannot throw x far away.
                lim = 2.0 * sigma + abs(x) * 0.5
                if dx > lim:
                    dx = lim
                elif dx < -lim:
                    dx = -lim
                x += dx
                if abs(dx) <= 1e-6 * (sigma + abs(x)):
                    # Quadratic convergence: the step just taken leaves an error ~dx²·L″/L′
                    # (~1e-12 relative). The cell integrals are insensitive to it at first
                    # order: a misplaced end only moves a sliver of mass within the spread.
                    ok = True
                    break
        if not ok:
            x = inverse_loss(eps, pm, plw, qm, qlw, sigma, lo_loss, hi_loss)
            dprev = _loss_and_slope(x, pm, plw, qm, qlw, s2)[1]
        xs[i] = x
        prev = x
    return xs


@njit(cache=True)
def _closed_form_inverse(e0, h, npts, pm, plw, qm, qlw, sigma, lo_loss, hi_loss):
    """L⁻¹ in closed form for the pairs with at most two components where one component is
    shared (Gaussian; subsampled Gaussian remove / add). Empty array for other pairs.

    Gaussian N(a) vs N(c): L = ((c − a)x − (c² − a²)/2)/σ².
    Remove N(a) vs (1−q)N(a) + qN(a+c): e^L = 1 − q + q·e^{(c(x−a) − c²/2)/σ²}.
    Add (1−q)N(a) + qN(a−c) vs N(a): e^{−L} = 1 − q + q·e^{(−c(x−a) − c²/2)/σ²}.
    """
    s2 = sigma * sigma
    xs = np.empty(npts)
    kind = 0
    if pm.shape[0] == 1 and qm.shape[0] == 1:
        kind = 1
    elif pm.shape[0] == 1 and qm.shape[0] == 2 and qm[0] == pm[0]:
        kind = 2
    elif pm.shape[0] == 2 and qm.shape[0] == 1 and pm[1] == qm[0]:
        kind = 3
    if kind == 0:
        return np.empty(0)
    for i in range(npts):
        eps = e0 + i * h
        if eps <= lo_loss:
            xs[i] = -np.inf
            continue
        if eps >= hi_loss:
            xs[i] = np.inf
            continue
        if kind == 1:
            a = pm[0]
            c = qm[0]
            xs[i] = (eps * s2 + 0.5 * (c * c - a * a)) / (c - a)
        elif kind == 2:
            a = pm[0]
            c = qm[1] - a
            lq = qlw[1]
            # e^ε − (1 − q) = expm1(ε) + q
            v = math.expm1(eps) + math.exp(lq)
            xs[i] = a + (s2 * (math.log(v) - lq) + 0.5 * c * c) / c
        else:
            a = qm[0]
            c = a - pm[0]
            lq = plw[0]
            v = math.expm1(-eps) + math.exp(lq)
            xs[i] = a - (s2 * (math.log(v) - lq) + 0.5 * c * c) / c
    return xs


@njit(cache=True)
def _cell_ab(xl, xr, el, h, em1h, eh, pm, plw, qm, qlw, sigma, span_lo, span_hi, cmax):
    """(a, b) of one cell [xl, xr] in the outcome x (see module docstring)."""
    s2 = sigma * sigma
    if xl < span_lo:
        xl = span_lo
    if xr > span_hi:
        xr = span_hi
    if not (xr > xl):
        return 0.0, 0.0
    # Panels on which log p and L vary by O(1) at most, so Gauss–Legendre is near exact.
    z = (max(abs(xl), abs(xr)) + cmax + sigma) / s2
    var = (xr - xl) * z
    if var <= 4e-3:
        npan = 1
        nodes = _X2
        wts = _W2
    elif var <= 0.05:
        # 3 nodes: relative error ≈ 6e-5·b^6 with b = var/2 ≤ 0.025 → ≤ 2e-14.
        npan = 1
        nodes = _X3
        wts = _W3
    else:
        # 8 nodes: relative error ≈ 2e-18·b^16 with b = var/(2·npan) ≤ 1.5 → ≤ 2e-15.
        npan = int(math.ceil(var / 3.0))
        if npan > 20000:
            npan = 20000
        nodes = _X8
        wts = _W8
    width = (xr - xl) / npan
    a = 0.0
    b = 0.0
    lnorm = math.log(sigma) + LOG_SQRT_2PI
    for k in range(npan):
        lo = xl + k * width
        mid = lo + 0.5 * width
        half = 0.5 * width
        for j in range(nodes.shape[0]):
            x = mid + half * nodes[j]
            lp_ = _lse_linear(x, pm, plw, s2)
            lq_ = _lse_linear(x, qm, qlw, s2)
            dens = math.exp(lp_ - 0.5 * x * x / s2 - lnorm) * wts[j] * half
            d = (lq_ - lp_) - el
            a += dens * math.expm1(d)
            b += dens * (eh * -math.expm1(d - h))
    # Round-off at the cell ends can make a term a hair negative; the true values are ≥ 0.
    if a < 0.0:
        a = 0.0
    if b < 0.0:
        b = 0.0
    return a / em1h, b / em1h


@njit(cache=True)
def mixture_cells(e0, h, npts, pm, plw, qm, qlw, sigma, lo_loss, hi_loss):
    """Outcome points x_i and the cell integrals (a_i, b_i), i < npts − 1."""
    xs = _closed_form_inverse(e0, h, npts, pm, plw, qm, qlw, sigma, lo_loss, hi_loss)
    if xs.shape[0] == 0:
        xs = inverse_sweep(e0, h, npts, pm, plw, qm, qlw, sigma, lo_loss, hi_loss)
    ncell = npts - 1
    a = np.zeros(ncell)
    b = np.zeros(ncell)
    em1h = math.expm1(h)
    eh = math.exp(h)
    cmin = min(pm.min(), qm.min())
    cmax_ = max(pm.max(), qm.max())
    cmax = max(abs(cmin), abs(cmax_))
    # Cells are integrated only within SPAN_Z·σ of the outermost components; the Q-mass
    # left out (< 2Φ̄(40) ≈ 1e-349 per step, below the smallest double) is added to the
    # upper PLD's mass at +∞ by the caller. (At 20σ it was 1e-88 and was not added: δ
    # near 1e-300 came out below the exact one-step value.)
    span_lo = cmin - SPAN_Z * sigma
    span_hi = cmax_ + SPAN_Z * sigma
    for i in range(ncell):
        xl = xs[i]
        xr = xs[i + 1]
        if xr == -np.inf or xl == np.inf:
            continue
        el = e0 + i * h
        a[i], b[i] = _cell_ab(xl, xr, el, h, em1h, eh, pm, plw, qm, qlw, sigma, span_lo,
                              span_hi, cmax)
    return xs, a, b
