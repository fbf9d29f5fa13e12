"""What the PLD accountant asks of a Gaussian-mixture pair (docs/math.md §4): where its
grid must reach (:func:`support`) and the cell integrals on a grid (:func:`cells`).
Called through :meth:`accountant.loss.mixture.GaussianMixtureLoss.pld_support` and
``pld_cells``.
"""
from __future__ import annotations

import math

import numpy as np

from ..core.rounding import _logaddexp
from . import _mixture_kernels as _km
from . import _mixture_pld_kernels as _kc
from .results import PldCells, PldSupport

_U = 2.0 ** -52            # unit round-off (generous: 2u)
_LOG_QUARTER = math.log(0.25)


def _tail_z(log_tau):
    """z with Φ̄(z) ≤ e^{−z²/2}/2 ≤ e^log_tau."""
    return math.sqrt(max(2.0 * (math.log(0.5) - log_tau), 0.0))


def _grid_end(means, logw, sigma, log_tau, sign):
    """An outcome x with mixture mass ≤ tau = e^log_tau beyond it (above for sign = 1,
    below for −1), component by component: w_j·Φ̄(z) ≤ tau/K. A component of weight
    ≤ tau/K needs no room at all (ELS puts weights of 1e-200 on shifts of 100σ: they set
    the grid end at a loss of 4681 and the accountant refused). Only accuracy depends on
    it: the mass beyond the grid is accounted exactly by the caller."""
    lK = math.log(means.shape[0])
    best = None
    for c, lw in zip(means, logw):
        lr = log_tau - lK - lw
        if lr >= 0.0:
            continue
        x = c + sign * sigma * _tail_z(min(lr, _LOG_QUARTER))
        best = x if best is None else (max(best, x) if sign > 0 else min(best, x))
    if best is None:  # every component is lighter than tau/K: the heaviest one decides
        j = int(np.argmax(logw))
        best = means[j] + sign * sigma * _tail_z(_LOG_QUARTER)
    return float(best)


def _lower_extension(pl, e_lo, tau_hi, tau_lo, floor):
    """A loss ε ≤ e_lo below which the P-mass no longer matters to the lower PLD:
    e^ε·P[L ≤ ε] ≤ 1e-3·e^tau_hi (on [0, e^ε] the lowered profile 1 − u undershoots the
    true one by at most that), searched in steps of σ/2 from the Q-tail point down to P's
    own tail (P[X < x] ≤ e^tau_lo; both taus are logarithms) or to ``floor``. Only
    accuracy depends on it."""
    pm, plw, qm, qlw, sigma = pl.args
    x = _grid_end(qm, qlw, sigma, tau_lo, -1.0)
    x_stop = _grid_end(pm, plw, sigma, tau_lo, -1.0)
    lt = math.log(1e-3) + tau_hi
    L = e_lo
    for _ in range(400):
        if L < floor:
            break
        lF = _km.log_sf_mixture(-x, -pm, plw, sigma)      # log P[X < x]
        if L + lF <= lt or x <= x_stop:
            break
        x -= 0.5 * sigma
        L = _km.loss(x, *pl.args)
        if L != L:
            return e_lo
    return min(L, e_lo)


def support(pl, log_tau_lo: float, log_tau_hi: float, floor: float) -> PldSupport:
    """Grid ends: Q[X < x_lo] ≤ tau_lo and Q[X > x_hi] ≤ tau_hi, component by component
    (w_j·Φ̄(z) ≤ tau/K for each of the K components of Q), as losses; where L is bounded,
    its bound. The grid ends come from Q's tails (what the upper PLD needs); the lowered
    chords also want P's lower tail (``e_lower``, see :func:`_lower_extension`)."""
    pm, plw, qm, qlw, sigma = pl.args
    lo, hi = pl.lo_loss, pl.hi_loss
    if math.isfinite(lo):
        e_lo = lo
    else:
        e_lo = _km.loss(_grid_end(qm, qlw, sigma, log_tau_lo, -1.0), *pl.args)
    if math.isfinite(hi):
        e_hi = hi
    else:
        e_hi = _km.loss(_grid_end(qm, qlw, sigma, log_tau_hi, 1.0), *pl.args)
    e_lower = None
    if not math.isfinite(lo) and e_lo == e_lo:
        e_lower = _lower_extension(pl, e_lo, log_tau_hi, log_tau_lo, floor)
    return PldSupport(float(e_lo), float(e_hi), e_lower, False,
                      pm.shape[0] + qm.shape[0])


def cells(pl, i0: int, h: float, npts: int) -> PldCells:
    """The cell integrals on ε_i = (i0 + i)·h, one set serving both PLD sides."""
    pm, plw, qm, qlw, sigma = pl.args
    lo, hi = pl.lo_loss, pl.hi_loss
    e0 = i0 * h
    xs, a, b = _kc.mixture_cells(e0, h, npts, pm, plw, qm, qlw, sigma, lo, hi)
    x0, xn = xs[0], xs[-1]
    lFb = _km.log_sf_mixture(-x0, -pm, plw, sigma) if x0 > -np.inf else -np.inf
    lQb = _km.log_sf_mixture(-x0, -qm, qlw, sigma) if x0 > -np.inf else -np.inf
    Fb, Qb = math.exp(lFb), math.exp(lQb)
    if lFb > -np.inf:
        d = lQb - e0 - lFb
        r0 = math.exp(e0 + lFb) * (-math.expm1(min(d, 0.0)))
    else:
        r0 = 0.0
    Pt = math.exp(_km.log_sf_mixture(xn, pm, plw, sigma)) if xn < np.inf else 0.0
    en = e0 + (npts - 1) * h
    ldtop = float(_km.log_hockey_stick(en, pm, plw, qm, qlw, sigma, lo, hi))
    dtop = math.exp(ldtop)
    # Q-mass outside the integrated span (see _mixture_pld_kernels.mixture_cells), rounded up.
    cmin, cmax = min(pm.min(), qm.min()), max(pm.max(), qm.max())
    llost = _logaddexp(_km.log_sf_mixture(cmax + _kc.SPAN_Z * sigma, qm, qlw, sigma),
                       _km.log_sf_mixture(-(cmin - _kc.SPAN_Z * sigma), -qm, qlw, sigma))
    lw_inf = _logaddexp(ldtop, llost)
    lw_inf += 64 * _U * (abs(lw_inf) + 1.0) if lw_inf > -math.inf else 0.0
    return PldCells(a, b, Fb, Qb, r0, Pt, dtop, lw_inf)
