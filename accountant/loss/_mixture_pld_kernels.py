"""numba kernels of a Gaussian-mixture pair's PLD cells (docs/math.md §4): the outcome
points x_i where the loss crosses the grid ε_i = e0 + i·h, and the cell integrals

* ``a_i = E_P[expm1(L − ε_i); cell i] / expm1(h)`` and
  ``b_i = E_P[e^h − e^{L−ε_i}; cell i] / expm1(h)``, so a_i + b_i = P[cell i],

the cell's mass and a_i as integrals of non-negative functions by Gauss–Legendre quadrature
in the outcome x (no difference of nearby tail probabilities is ever taken), b_i as the mass
minus a_i (docs/math.md §4). The PLD accountant reads them through
:meth:`accountant.loss.mixture.GaussianMixtureLoss.pld_cells`.
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit

from ..core.special import LOG_SQRT_2PI
from ._mixture_kernels import _loss_and_slope, _lse_linear, inverse_loss

# Gauss–Legendre nodes/weights on [-1, 1]. n nodes integrate e^{bt} on [-1, 1] with relative
# error ≈ c_n·b^{2n} (c_2 = 3.7e-3, c_3 = 3.2e-5, c_4 = 1.4e-7, c_6 = 7.7e-13, c_8 = 1.1e-18):
# each cell gets the fewest nodes that keep this ≤ ~6e-14, 1/8 of the accountant's per-step
# quadrature margin (docs/math.md §4).
_X2, _W2 = np.polynomial.legendre.leggauss(2)
_X3, _W3 = np.polynomial.legendre.leggauss(3)
_X4, _W4 = np.polynomial.legendre.leggauss(4)
_X6, _W6 = np.polynomial.legendre.leggauss(6)
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
def _lse_coef(x, k, c):
    """log Σ_j e^{c_j + k_j·x}: :func:`_lse_linear` with its per-component constants
    precomputed (c_j = log w_j − m_j²/(2σ²), k_j = m_j/σ²). The generic loops with their
    divisions cost 35 ns a call, most of a cell's time; one or two components are unrolled."""
    n = k.shape[0]
    if n == 1:
        return c[0] + k[0] * x
    if n == 2:
        v0 = c[0] + k[0] * x
        v1 = c[1] + k[1] * x
        if v0 >= v1:
            return v0 + math.log1p(math.exp(v1 - v0))
        return v1 + math.log1p(math.exp(v0 - v1))
    best = -np.inf
    jb = -1
    for j in range(n):
        v = c[j] + k[j] * x
        if v > best:
            best = v
            jb = j
    if best == -np.inf:
        return best
    # log1p of the non-dominant terms only: keeps L accurate to ~1e-16 *relative* when the
    # mixture is nearly one component (as :func:`_lse_linear`)
    s = 0.0
    for j in range(n):
        if j != jb:
            s += math.exp(c[j] + k[j] * x - best)
    return best + math.log1p(s)


@njit(cache=True)
def _ab(a, s, em1h):
    """(a_i, b_i) from the sums Σ dens·(e^{L−ε_i} − 1) and Σ dens of a cell. b = Σ
    dens·(e^h − e^d) = em1h·Σ dens − a: the cell's mass integrand is the bare density
    (error c_n·b^{2n}); the split between a and b errs by ~u·em1h·Σ dens, i.e. relative
    ~u/h, which moves e^L within its cell by ~u·e^L (docs/math.md §4: a shift of the
    step's loss by ~u, far inside the quadrature margin)."""
    b = em1h * s - a
    # Round-off at the cell ends can make a term a hair negative; the true values are ≥ 0.
    if a < 0.0:
        a = 0.0
    if b < 0.0:
        b = 0.0
    return a / em1h, b / em1h


@njit(cache=True)
def _panels(xl, xr, span_lo, span_hi, cmax, sigma, inv_s2):
    """(xl, xr, npan, nodes, weights) of one cell clipped to the integrated span (npan = 0:
    empty). Panels on which log p and L vary by O(1) at most, so Gauss–Legendre is near
    exact: var bounds 2b, b the integrand's log-slope times the half-width, and the
    relative error c_n·(var/2)^{2n} (header) is ≤ 6e-14 in every tier."""
    if xl < span_lo:
        xl = span_lo
    if xr > span_hi:
        xr = span_hi
    if not (xr > xl):
        return xl, xr, 0, _X2, _W2
    var = (xr - xl) * (max(abs(xl), abs(xr)) + cmax + sigma) * inv_s2
    if var <= 4e-3:
        return xl, xr, 1, _X2, _W2
    if var <= 0.05:
        return xl, xr, 1, _X3, _W3
    if var <= 0.25:
        # (small q: cells wide in x; 8 nodes here were a third of a query at q = 1e-3)
        return xl, xr, 1, _X4, _W4
    if var <= 1.4:
        return xl, xr, 1, _X6, _W6
    # 8 nodes: b = var/(2·npan) ≤ 1.5 → ≤ 1e-15.
    return xl, xr, min(int(math.ceil(var / 3.0)), 20000), _X8, _W8


@njit(cache=True)
def _cell_ab(xl, xr, el, em1h, kp, cp, kq, cq, sigma, span_lo, span_hi, cmax, inv_s2,
             lnorm):
    """(a, b) of one cell [xl, xr] in the outcome x (see module docstring); (kp, cp) and
    (kq, cq) the two mixtures' constants of :func:`_lse_coef`, inv_s2 = 1/σ², lnorm =
    log(σ√2π)."""
    xl, xr, npan, nodes, wts = _panels(xl, xr, span_lo, span_hi, cmax, sigma, inv_s2)
    if npan == 0:
        return 0.0, 0.0
    width = (xr - xl) / npan
    a = 0.0
    s = 0.0
    hs2 = 0.5 * inv_s2
    for k in range(npan):
        lo = xl + k * width
        mid = lo + 0.5 * width
        half = 0.5 * width
        for j in range(nodes.shape[0]):
            x = mid + half * nodes[j]
            lp_ = _lse_coef(x, kp, cp)
            lq_ = _lse_coef(x, kq, cq)
            dens = math.exp(lp_ - x * x * hs2 - lnorm) * wts[j] * half
            s += dens
            a += dens * math.expm1((lq_ - lp_) - el)
    return _ab(a, s, em1h)


@njit(cache=True)
def _shared_pair(pm, plw, qm, qlw, sigma):
    """(mode, base mean, base log-weight, w0, α, β) when a pair has at most two components
    with one shared (Gaussian; subsampled Gaussian remove / add), else mode 0. With g the
    base component's density and r(x) = w0 + e^{α+βx}:
    mode 1 (Gaussian): p = g, e^L = e^{α+βx};
    mode 2 (remove): p = g, e^L = r(x);
    mode 3 (add): p = g·r(x), e^L = 1/r(x)."""
    s2 = sigma * sigma
    if pm.shape[0] == 1 and qm.shape[0] == 1:
        b = (qm[0] - pm[0]) / s2
        al = qlw[0] - plw[0] - 0.5 * (qm[0] * qm[0] - pm[0] * pm[0]) / s2
        return 1, pm[0], plw[0], 0.0, al, b
    if pm.shape[0] == 1 and qm.shape[0] == 2 and qm[0] == pm[0]:
        b = (qm[1] - pm[0]) / s2
        al = qlw[1] - plw[0] - 0.5 * (qm[1] * qm[1] - pm[0] * pm[0]) / s2
        return 2, pm[0], plw[0], math.exp(qlw[0] - plw[0]), al, b
    if pm.shape[0] == 2 and qm.shape[0] == 1 and pm[1] == qm[0]:
        b = (pm[0] - qm[0]) / s2
        al = plw[0] - qlw[0] - 0.5 * (pm[0] * pm[0] - qm[0] * qm[0]) / s2
        return 3, qm[0], qlw[0], math.exp(plw[1] - qlw[0]), al, b
    return 0, 0.0, 0.0, 0.0, 0.0, 0.0


@njit(cache=True)
def _cell_ab_shared(xl, xr, el, em1h, mode, mu, lw, w0, al, be, sigma, span_lo, span_hi,
                    cmax, inv_s2, lnorm):
    """:func:`_cell_ab` for the pairs of :func:`_shared_pair`: two exponentials a node
    instead of four transcendental calls. e^{L−ε_i} − 1 is formed as e^{−ε_i}·e^L − 1: it
    errs by a few u absolutely (not relatively), so the a/b split errs by ~u/h relative,
    the size of the split error the log-domain form has from the rounding of L and ε_i
    themselves (~u·|ε_i|/h, docs/math.md §4). (None, None) when e^{α+βx} would overflow:
    the caller uses the log-domain form."""
    xl, xr, npan, nodes, wts = _panels(xl, xr, span_lo, span_hi, cmax, sigma, inv_s2)
    if npan == 0:
        return 0.0, 0.0
    lim = max(abs(al + be * xl), abs(al + be * xr))
    if lim > 600.0 or abs(el) > 600.0:
        return -1.0, -1.0
    emel = math.exp(-el)
    width = (xr - xl) / npan
    a = 0.0
    s = 0.0
    hs2 = 0.5 * inv_s2
    for k in range(npan):
        mid = xl + (k + 0.5) * width
        half = 0.5 * width
        for j in range(nodes.shape[0]):
            x = mid + half * nodes[j]
            dx = x - mu
            g = math.exp(lw - dx * dx * hs2 - lnorm) * wts[j] * half
            t = math.exp(al + be * x)
            if mode == 1:
                dens = g
                eL = t
            elif mode == 2:
                dens = g
                eL = w0 + t
            else:
                r = w0 + t
                dens = g * r
                eL = 1.0 / r
            s += dens
            a += dens * (emel * eL - 1.0)
    return _ab(a, s, em1h)


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
    cmin = min(pm.min(), qm.min())
    cmax_ = max(pm.max(), qm.max())
    cmax = max(abs(cmin), abs(cmax_))
    # Cells are integrated only within SPAN_Z·σ of the outermost components; the Q-mass
    # left out (< 2Φ̄(40) ≈ 1e-349 per step, below the smallest double) is added to the
    # upper PLD's mass at +∞ by the caller. (At 20σ it was 1e-88 and was not added: δ
    # near 1e-300 came out below the exact one-step value.)
    span_lo = cmin - SPAN_Z * sigma
    span_hi = cmax_ + SPAN_Z * sigma
    s2 = sigma * sigma
    kp = pm / s2
    cp = plw - 0.5 * pm * pm / s2
    kq = qm / s2
    cq = qlw - 0.5 * qm * qm / s2
    inv_s2 = 1.0 / s2
    lnorm = math.log(sigma) + LOG_SQRT_2PI
    mode, mu, lw, w0, al, be = _shared_pair(pm, plw, qm, qlw, sigma)
    for i in range(ncell):
        xl = xs[i]
        xr = xs[i + 1]
        if xr == -np.inf or xl == np.inf:
            continue
        el = e0 + i * h
        if mode != 0:
            ai, bi = _cell_ab_shared(xl, xr, el, em1h, mode, mu, lw, w0, al, be, sigma,
                                     span_lo, span_hi, cmax, inv_s2, lnorm)
            if ai >= 0.0:
                a[i], b[i] = ai, bi
                continue
        a[i], b[i] = _cell_ab(xl, xr, el, em1h, kp, cp, kq, cq, sigma, span_lo, span_hi,
                              cmax, inv_s2, lnorm)
    return xs, a, b
