"""Privacy loss of one epoch of random allocation (docs/math.md §12).

Each record takes part in exactly k of the t steps of an epoch, chosen uniformly at
random; each step adds N(0, σ²) to its clipped sum. For k = 1 the remove pair is
P = N(0, σ²I_t), Q = (1/t)Σ_i N(e_i, σ²I_t) (Feldman & Shenfeld, arXiv 2502.08202;
Chua et al., arXiv 2412.16802), whose loss is

    L = log(S/t),   S = Σ_i W_i,   W_i = e^{Y_i},   Y_i ~ N(−1/(2σ²), 1/σ²) i.i.d. under P,

and the add pair is the swapped one. Both hockey sticks are convex functions of S
(remove: E_P[(S/t − e^ε)_+], add: E_P[(1 − e^ε·S/t)_+]) and stay convex in each epoch's S
under composition, so a law of S that is larger in convex order gives a dominating pair
in *both* directions and one that is smaller a dominated pair (§12.1). The law of S is
bounded both ways on a geometric lattice (:mod:`._allocation_kernels`): mean-preserving
splits (upper) and merges of outcomes into their means (lower, a post-processing). The two
finite pairs that result are :class:`~accountant.loss.finite.FiniteLoss` objects, which
answer the PLD cells and the one-epoch hockey-stick bounds.

k > 1: the upper bound is the k-fold composition of the 1-of-⌊t/k⌋ epoch (the
decomposition bound of Feldman & Shenfeld, §12.3); the lower bound is the sum of the
epoch's outputs, a Gaussian pair N(0, tσ²) vs N(k, tσ²) (post-processing).

Only the PLD accountant (and one-epoch exact answers) can use this loss: no RDP bound of
this pair is implemented, and the Edgeworth and saddle-point accountants need cumulants
and tilted laws it does not provide; those questions raise ValueError naming method='pld'.

Size: the one-coordinate quadrature, the lattice surgery and binary powering of one
epoch, the k > 1 composition and the loss that answers the interface belong together
(each step's rounding feeds the next one's error terms, §12.2); the numba kernels are
already apart in :mod:`._allocation_kernels`.
"""
from __future__ import annotations

import math
import threading
from typing import Optional, Tuple

import numpy as np
from scipy.special import ndtr

from ..core.mechanisms import RandomAllocation
from ..core.rounding import _KAPPA, _U
from . import _allocation_kernels as _ka
from .base import PrivacyLoss
from .finite import FiniteLoss
from .mixture import GaussianMixtureLoss
from .registry import register_loss
from .results import PldCells, PldSupport, StepMoments, Tilted

__all__ = ["RandomAllocationLoss"]

# Tail mass cut off (pair surgery, §12.2) per coordinate and per level: far below any δ a
# DP-SGD run asks for; below it the upper bound stays valid but is loose.
_LOG_TAIL = math.log(1e-45)
_SIGMA_MIN = 0.3          # below, the lattice of one coordinate needs > 1e5 points
_GL_X, _GL_W = np.polynomial.legendre.leggauss(8)
_MAX_COPIES_POINTS = 6000  # the k-fold composition is coarsened above this many points
# Final lattice step: the spread of L over this many steps (the error is second order in
# the step, §12.2), within [_DLT_MIN, _DLT_MAX].
_STEPS_PER_SD = 56.0
_DLT_MIN, _DLT_MAX = 2e-5, 8e-3
# Pair operations of the sums of one epoch (~3 ns each): past this the final lattice step
# is doubled (a coarser, still certified bracket) and the epoch rebuilt; a step past
# _DLT_REFUSE is refused.
_MAX_WORK = 1.5e9
_DLT_REFUSE = 0.1


class _TooMuchWork(Exception):
    pass


def _refuse(what: str) -> ValueError:
    return ValueError(f"RandomAllocation has no {what} (no published bound of this pair is "
                      "implemented); use method='pld'")


# ----------------------------------------------------------------------------------------
# The law of S = W_1 + … + W_t in convex order, both ways (docs/math.md §12.2)
# ----------------------------------------------------------------------------------------
class _Up:
    """Upper representation: masses ``p`` at e^{(off+i)·dlt} (defective: the cut tails are
    counted in tau_P / tau_Q by the caller)."""

    __slots__ = ("p", "off", "dlt")

    def __init__(self, p, off, dlt):
        self.p, self.off, self.dlt = p, int(off), float(dlt)


class _Lo:
    """Lower representation: per cell of e^{k·dlt}, mass ``m`` and mass × position / e^{k·dlt}
    (``R``)."""

    __slots__ = ("m", "R", "off", "dlt")

    def __init__(self, m, R, off, dlt):
        self.m, self.R, self.off, self.dlt = m, R, int(off), float(dlt)


#: Most Gauss–Legendre panels per lattice cell in :func:`_coordinate`.
_MAX_PANELS = 2000


def _coordinate(sigma: float, dlt: float, t: int):
    """One coordinate W = e^Y on the lattice of step ``dlt``: (_Up, _Lo, p_out, q_out),
    p_out / q_out the P / shifted-Q mass of Y outside the lattice (cut off in the upper
    representation, merged into the end atoms in the lower one). Cell masses and first
    moments by 8-point Gauss–Legendre on panels of ≤ 0.05 standard deviations of Y (the rule
    is exact to rounding there)."""
    mu, s = -0.5 / sigma ** 2, 1.0 / sigma
    z = math.sqrt(2.0 * (math.log(t) - _LOG_TAIL))
    k_lo = math.floor((mu - z * s) / dlt)
    k_hi = math.ceil((-mu + z * s) / dlt)
    ks = np.arange(k_lo, k_hi, dtype=np.int64)
    # panels of at most 0.05 standard deviations of Y per cell
    npan = max(1, math.ceil(dlt / s / 0.05))
    if npan > _MAX_PANELS:
        # σ so large that a lattice cell spans thousands of standard deviations of Y: the
        # quadrature would need npan panels per cell (σ = 4e10 asked for 2 GiB, fuzzing)
        raise ValueError(
            f"noise_multiplier too large for the random-allocation lattice (got {sigma:.6g}; "
            f"the lattice resolves sigma up to about {_MAX_PANELS * 0.05 / dlt:.3g} at this "
            "grid step): account the step as Gaussian(noise_multiplier / sqrt(num_selections)),"
            " a proven upper bound without amplification")
    half = 0.5 * dlt / npan
    u = (half * (1.0 + _GL_X)[None, :] + 2 * half * np.arange(npan)[:, None]).ravel()
    gw = np.tile(half * _GL_W, npan)
    y = ks[:, None] * dlt + u[None, :]
    w = gw[None, :] * np.exp(-0.5 * ((y - mu) / s) ** 2) / (s * math.sqrt(2 * math.pi))
    em1 = math.expm1(dlt)
    eu = np.expm1(u)[None, :]
    a = (w * eu).sum(axis=1) / em1                                 # to the upper point
    b = (w * np.expm1(dlt - u)[None, :] * np.exp(u)[None, :]).sum(axis=1) / em1
    n = ks.shape[0]
    p = np.zeros(n + 1)
    p[:-1] += b
    p[1:] += a
    m = w.sum(axis=1)
    R = (w * np.exp(u)[None, :]).sum(axis=1)
    y_lo, y_hi = k_lo * dlt, k_hi * dlt
    # tails: P-mass and first moment E[e^Y; ·] = P[Y' ∈ ·], Y' ~ N(−mu, s)
    pb, pt = float(ndtr((y_lo - mu) / s)), float(ndtr(-(y_hi - mu) / s))
    qb, qt = float(ndtr((y_lo + mu) / s)), float(ndtr(-(y_hi + mu) / s))
    m[0] += pb
    R[0] += qb * math.exp(-y_lo)
    m[-1] += pt
    R[-1] += math.exp(math.log(qt) - (k_hi - 1) * dlt) if qt > 0 else 0.0
    up = _Up(p, k_lo, dlt)
    lo = _Lo(m, R, k_lo, dlt)
    return up, lo, pb + pt, qb + qt


def _refine_up(x: _Up, dlt: float) -> _Up:
    p, off, d = x.p, x.off, x.dlt
    while d > dlt * 1.5:
        q = np.zeros(2 * p.shape[0] - 1)
        q[::2] = p
        p, off, d = q, 2 * off, d / 2
    return _Up(p, off, d)


def _relattice_lo(x: _Lo, dlt: float, lo_out: Optional[int] = None,
                  n_out: Optional[int] = None) -> _Lo:
    if lo_out is None:
        lo_out = math.floor(x.off * x.dlt / dlt) - 2
        n_out = math.ceil((x.off + x.m.shape[0] + 2) * x.dlt / dlt) + 2 - lo_out
    m, R = _ka.rebin_lo(x.m, x.R, x.off, x.dlt, dlt, lo_out, n_out)
    return _Lo(m, R, lo_out, dlt)


class _Tables:
    """f0, λ and D2 of one lattice step (cached: every level of a query reuses them)."""

    _cache: dict = {}

    @classmethod
    def get(cls, dlt):
        hit = cls._cache.get(dlt)
        if hit is None:
            if len(cls._cache) >= 32:      # (a few MB each at the finest steps)
                cls._cache.clear()
            D2 = _ka.split_span(dlt)
            f0, lam = _ka.pair_tables(dlt, D2)
            hit = cls._cache[dlt] = (f0, lam, D2)
        return hit


class _Sum:
    """Builds the two representations of S_t by binary powering, with per-level cuts."""

    def __init__(self, sigma: float, t: int, dlt_f: float):
        self.sigma, self.t, self.dlt_f = sigma, t, dlt_f
        self.tau_P = 0.0
        self.tau_Q = 0.0
        self.levels = 0
        self.max_points = 0
        self.work = 0.0

    def dlt_for(self, copies: int) -> float:
        """Lattice step for a sum of ``copies`` coordinates: coarser by 2 for every factor 4
        of copies missing to t (its rounding enters S_t diluted by t/copies, §12.2)."""
        e = max(0, int(round(math.log2(self.t / copies) / 2)))
        return self.dlt_f * 2.0 ** e

    def cut(self, up: _Up, lo: _Lo, copies: int, mult: int) -> Tuple[_Up, _Lo]:
        """Pair surgery (§12.2): lattice points of the upper law at the two ends whose P-mass
        and Q-cost (E[S_b; R] + P(R)(t − copies))/t are ≤ e^{_LOG_TAIL} are cut; the lower
        law merges the same ends into the end atoms (a post-processing). The part occurs
        ``mult`` times in S_t (a block of the binary powering is inside every later block)
        and each occurrence is cut: the costs count ``mult`` times."""
        p, off, dlt = up.p, up.off, up.dlt
        tau = math.exp(_LOG_TAIL)
        lv = (off + np.arange(p.shape[0])) * dlt - math.log(self.t)
        qc = p * (np.exp(lv) + (self.t - copies) / self.t)
        cp, cq = np.cumsum(p), np.cumsum(qc)
        i = int(np.searchsorted(np.maximum(cp, cq), tau, side="right"))   # cut [0, i)
        rp, rq = np.cumsum(p[::-1]), np.cumsum(qc[::-1])
        j = int(np.searchsorted(np.maximum(rp, rq), tau, side="right"))   # cut last j
        n = p.shape[0]
        if i + j >= n:
            return up, lo
        self.tau_P += mult * ((cp[i - 1] if i else 0.0) + (rp[j - 1] if j else 0.0))
        self.tau_Q += mult * ((cq[i - 1] if i else 0.0) + (rq[j - 1] if j else 0.0))
        p2 = p[i:n - j].copy()
        up2 = _Up(p2, off + i, dlt)
        lo2 = _relattice_lo(lo, dlt, off + i, p2.shape[0])
        return up2, lo2

    def combine(self, x, y, copies: int, mult: int):
        """(_Up, _Lo) of the sum of two independent parts, at the lattice of ``copies``."""
        (ux, lx), (uy, ly) = x, y
        dlt = self.dlt_for(copies)
        ux, uy = _refine_up(ux, dlt), _refine_up(uy, dlt)
        lx, ly = _relattice_lo(lx, dlt), _relattice_lo(ly, dlt)
        f0, lam, D2 = _Tables.get(dlt)
        nx, ny = ux.p.shape[0], uy.p.shape[0]
        self.work += 2.0 * (nx * min(ny, D2 + 1) + ny * min(nx, D2 + 1))
        if self.work > _MAX_WORK:
            raise _TooMuchWork()
        p, off = _ka.conv_up(ux.p, ux.off, uy.p, uy.off, dlt, f0, lam, D2)
        m, R, loff = _ka.conv_lo(lx.m, lx.R, lx.off, ly.m, ly.R, ly.off, dlt, f0, D2)
        lo = _Lo(m, R, loff, dlt)
        up = _Up(p, off, dlt)
        lo = _relattice_lo(lo, dlt, off, p.shape[0])
        self.levels += 1
        self.max_points = max(self.max_points, p.shape[0])
        return self.cut(up, lo, copies, mult)

    def run(self):
        t = self.t
        up, lo, p_out, q_out = _coordinate(self.sigma, self.dlt_for(1), t)
        # Cutting Y outside the lattice for every coordinate (event A, §12.2).
        self.tau_P += t * p_out
        self.tau_Q += q_out + (t - 1) * p_out
        block, copies, acc, acc_n = (up, lo), 1, None, 0
        for j in range(t.bit_length()):
            if (t >> j) & 1:
                acc_n += copies
                acc = block if acc is None else self.combine(acc, block, acc_n, 1)
            if copies * 2 <= t and (t >> (j + 1)):
                block = self.combine(block, block, copies * 2, t // (copies * 2))
                copies *= 2
        return acc


class _Epoch:
    """The bounds on one epoch's pair, shared by both directions: per direction a finite
    dominating pair (:class:`~accountant.loss.finite.FiniteLoss`: lattice atoms, the cut
    masses at ±∞, the rounding bound ρ as its ``mass_rel``) carrying the finite dominated
    pair (k = 1) as its ``lower``."""

    def __init__(self, sigma: float, t: int, k: int):
        self.sigma, self.t, self.k = sigma, t, k
        self._lock = threading.Lock()
        self._done = False

    def build(self):
        with self._lock:
            if not self._done:
                self._build()
                self._done = True
        return self

    def _build(self):
        sigma, t, k = self.sigma, self.t, self.k
        m = t // k                                   # 1-of-m epochs, k of them (§12.3)
        sd = math.sqrt(math.log1p(math.expm1(1.0 / sigma ** 2) / m))
        dlt = min(max(sd / _STEPS_PER_SD, _DLT_MIN), _DLT_MAX)
        while True:
            s = _Sum(sigma, m, dlt)
            try:
                (up, lo) = s.run()
                break
            except _TooMuchWork:
                dlt *= 2.0
                if dlt > _DLT_REFUSE:
                    raise ValueError(f"num_steps too large for the random-allocation PLD "
                                     f"(t = {m} steps per selection at noise_multiplier "
                                     f"{sigma}: the epoch's lattice exceeds the work "
                                     "budget); use Poisson subsampling as a proxy") from None
        # Rounding: every mass is a sum of ≤ n non-negative products, per level; the
        # one-coordinate masses carry ≤ 1e-13 relative (§12.2). ρ bounds the relative
        # error of every computed mass.
        n = max(s.max_points, up.p.shape[0], 2 * _Tables.get(up.dlt)[2])
        rho = (s.levels + 1) * (1e-13 + 4.0 * n * _U) * _KAPPA
        self.rho = rho
        tau_P, tau_Q = s.tau_P, s.tau_Q
        logm = math.log(m)
        if k == 1:
            p, off, d = up.p, up.off, up.dlt
        else:
            p, off, d, tau_P, tau_Q = _compose_copies(up, k, m, tau_P, tau_Q)
            # k factors each within ρ, and the rounding of ≤ 2·bit_length(k) direct
            # convolutions of ≤ 2·_MAX_COPIES_POINTS-term sums.
            rho = k * rho + _KAPPA * 2 * k.bit_length() * 8 * _MAX_COPIES_POINTS * _U
            self.rho = rho
        keep = p > 0
        idx = (off + np.arange(p.shape[0]))[keep]
        up_ell = idx * d - k * logm
        up_lp = np.log(p[keep])
        self.dlt = d
        lo_ell = lo_lp = None
        if k == 1:
            mm, R = lo.m, lo.R
            keep = mm > 0
            lidx = (lo.off + np.arange(mm.shape[0]))[keep]
            ell = lidx * lo.dlt + np.log(R[keep] / mm[keep]) - logm
            # ÷(1 + 2ρ) and an atom at loss 0 (P = Q) keep the computed pair below the
            # exact lower pair (§12.2).
            lo_ell = np.concatenate([ell, [0.0]])
            lo_lp = np.concatenate([np.log(mm[keep]) - math.log1p(2 * rho),
                                    [math.log(rho) - math.log1p(2 * rho)]])
        ltp = math.log(tau_P * (1 + 1e-12)) if tau_P > 0 else -math.inf
        ltq = math.log(tau_Q * (1 + 1e-12)) if tau_Q > 0 else -math.inf
        self.pairs = {}
        for direction in ("remove", "add"):
            # add: the swapped pair; P' = Q = e^ℓ·P, loss −ℓ; the P-only and Q-only masses
            # exchange places.
            sgn = 1.0 if direction == "remove" else -1.0
            shift = 0.0 if direction == "remove" else 1.0
            lower = None
            if lo_ell is not None:
                lower = FiniteLoss(sgn * lo_ell, lo_lp + shift * lo_ell, direction=direction,
                                   whole=False)
            qi, pn = (ltq, ltp) if direction == "remove" else (ltp, ltq)
            self.pairs[direction] = FiniteLoss(sgn * up_ell, up_lp + shift * up_ell, qi, pn,
                                               direction=direction, lower=lower,
                                               mass_rel=rho, whole=False)

    def pair(self, direction: str) -> FiniteLoss:
        """The finite dominating pair of ``direction`` (with its dominated pair attached as
        ``lower`` for k = 1)."""
        self.build()
        return self.pairs[direction]


def _compose_copies(up: _Up, k: int, m: int, tau_P: float, tau_Q: float):
    """Upper law of the composition of k independent copies of the 1-of-m epoch (remove
    direction): the product of the e^{L_i} is a sum of lattice indices. Ends are cut as in
    §12.2 (P-cost P(R), Q-cost Q(R)) and the lattice is coarsened (mean-preserving splits
    in e^L, ≥ in convex order) above _MAX_COPIES_POINTS points."""
    logm = math.log(m)
    tau = math.exp(_LOG_TAIL)

    def cut(p, off, d, copies, tp, tq, mult):
        lq = (off + np.arange(p.shape[0])) * d - copies * logm
        qm = p * np.exp(np.minimum(lq, 700.0))
        cp, cq = np.cumsum(p), np.cumsum(qm)
        i = int(np.searchsorted(np.maximum(cp, cq), tau, side="right"))
        rp, rq = np.cumsum(p[::-1]), np.cumsum(qm[::-1])
        j = int(np.searchsorted(np.maximum(rp, rq), tau, side="right"))
        n = p.shape[0]
        if i + j >= n:
            return p, off, tp, tq
        tp += mult * ((cp[i - 1] if i else 0.0) + (rp[j - 1] if j else 0.0))
        tq += mult * ((cq[i - 1] if i else 0.0) + (rq[j - 1] if j else 0.0))
        return p[i:n - j].copy(), off + i, tp, tq

    def coarsen(p, off, d):
        while p.shape[0] > _MAX_COPIES_POINTS:
            p, off = _ka.coarsen_up(p, off, 1.0 / (1.0 + math.exp(d)))
            d *= 2
        return p, off, d

    def conv(a, b):
        (pa, oa, da, ca), (pb, ob, db, cb) = a, b
        while da < db:
            pa, oa = _ka.coarsen_up(pa, oa, 1.0 / (1.0 + math.exp(da)))
            da *= 2
        while db < da:
            pb, ob = _ka.coarsen_up(pb, ob, 1.0 / (1.0 + math.exp(db)))
            db *= 2
        return _ka.lattice_conv(pa, pb), oa + ob, da, ca + cb

    # Total probability mass of the cut parts in the k-fold composition: the cut of one
    # copy is an event of that copy's output (P-cost ≤ its P-mass, Q-cost ≤ its Q-mass).
    tp, tq = k * tau_P, k * tau_Q
    block = (up.p, up.off, up.dlt, 1)
    acc = None
    for j in range(k.bit_length()):
        if (k >> j) & 1:
            if acc is None:
                acc = block
            else:
                p, off, d, c = conv(acc, block)
                p, off, tp, tq = cut(p, off, d, c, tp, tq, 1)
                p, off, d = coarsen(p, off, d)
                acc = (p, off, d, c)
        if k >> (j + 1):
            p, off, d, c = conv(block, block)
            p, off, tp, tq = cut(p, off, d, c, tp, tq, k // c)   # inside k // c later parts
            p, off, d = coarsen(p, off, d)
            block = (p, off, d, c)
    p, off, d, _ = acc
    return p, off, d, tp, tq


# ----------------------------------------------------------------------------------------
# The loss
# ----------------------------------------------------------------------------------------
class RandomAllocationLoss(PrivacyLoss):
    """One epoch of random allocation in one direction (docs/math.md §12): certified upper
    and lower PLD cells and one-epoch hockey-stick bounds; no CGF, moments or tilted laws."""

    def __init__(self, sigma: float, num_steps: int, num_selections: int,
                 direction: str, epoch: Optional[_Epoch] = None) -> None:
        if direction not in ("remove", "add"):
            raise ValueError(f"direction must be 'remove' or 'add', got {direction!r}")
        if not sigma >= _SIGMA_MIN:
            raise ValueError(f"noise_multiplier must be >= {_SIGMA_MIN} for random allocation "
                             f"(the lattice of one step would be too large), got {sigma!r}")
        self.sigma = float(sigma)
        self.num_steps = int(num_steps)
        self.num_selections = int(num_selections)
        self.direction = direction
        self.epoch = epoch if epoch is not None else _Epoch(self.sigma, self.num_steps,
                                                            self.num_selections)
        k, t = self.num_selections, self.num_steps
        # k > 1: the lower pair is the sum of the outputs, N(0, tσ²) vs N(k, tσ²).
        self._gauss = (None if k == 1 else
                       GaussianMixtureLoss(self.sigma * math.sqrt(t), [0.0], [1.0], [float(k)],
                                           [1.0], direction))
        self.lo_loss, self.hi_loss = -math.inf, math.inf

    @property
    def bracket_only(self) -> bool:
        """k > 1: the two sides are different pairs (the decomposition bound above, the
        summed outputs below, docs/math.md §12.3), so the PLD refinement settles each side
        instead of narrowing a gap no grid closes (it refined to h ≈ 1e-5 for nothing,
        4–9 s per multi-epoch query)."""
        return self.num_selections > 1

    def __repr__(self):
        return (f"RandomAllocationLoss(sigma={self.sigma}, num_steps={self.num_steps}, "
                f"num_selections={self.num_selections}, direction={self.direction!r})")

    # -- questions this loss does not answer ---------------------------------------------
    def cgf(self, t: float | np.ndarray) -> float | np.ndarray:
        raise _refuse("CGF (RDP)")

    def moments(self, under: str) -> StepMoments:
        raise _refuse("cumulants (Edgeworth)")

    def tilted(self, t: float, centre: Optional[float] = None) -> Tilted:
        raise _refuse("tilted law (saddle point)")

    def loss(self, x: float | np.ndarray) -> float | np.ndarray:
        raise _refuse("closed-form loss of an outcome")

    def inverse_loss(self, eps: float | np.ndarray) -> float | np.ndarray:
        raise _refuse("closed-form inverse loss")

    # -- hockey stick and PLD: the finite pairs answer (docs/math.md §10.1, §12.2) ----------
    def log_hockey_stick(self, eps: float | np.ndarray) -> float | np.ndarray:
        """An estimate of log δ(ε) of one epoch: the dominating pair's (within the bracket)."""
        return self.epoch.pair(self.direction).log_hockey_stick(eps)

    def log_delta_bound(self, eps: float, side: str) -> float:
        """A proven bound on log δ(ε) of one epoch: the hockey stick of the dominating
        (``"upper"``) or dominated (``"lower"``) pair of §12.2 (for k > 1 the lower one is
        the Gaussian sum pair's, §12.3), with the rounding of its evaluation."""
        if side == "lower" and self._gauss is not None:
            return self._gauss.log_delta_bound(float(eps), "lower")
        return self.epoch.pair(self.direction).log_delta_bound(float(eps), side)

    def pld_support(self, log_tau_lo: float, log_tau_hi: float, floor: float) -> PldSupport:
        """The finite pairs' grid ends (atoms beyond them are accounted exactly by the
        cells); for k > 1 widened to the Gaussian sum pair's."""
        sup = self.epoch.pair(self.direction).pld_support(log_tau_lo, log_tau_hi, floor)
        if self._gauss is None:
            return sup
        gs = self._gauss.pld_support(log_tau_lo, log_tau_hi, floor)
        return PldSupport(min(sup.e_lo, gs.e_lo), max(sup.e_hi, gs.e_hi), gs.e_lower, False,
                          max(sup.cost, gs.cost))

    def pld_cells(self, i0: int, h: float, npts: int) -> Tuple[PldCells, PldCells]:
        """(upper, lower) cells on ε_i = (i0 + i)·h of the dominating and dominated pairs
        (§12.2; for k > 1 the lower ones are the Gaussian sum pair's)."""
        up, lo = self.epoch.pair(self.direction).pld_cells(i0, h, npts)
        if self._gauss is not None:
            lo = self._gauss.pld_cells(i0, h, npts)[1]
        return up, lo


@register_loss(RandomAllocation)
def _random_allocation(mechanism: RandomAllocation) -> Tuple[PrivacyLoss, ...]:
    sigma, t, k = mechanism.noise_multiplier, mechanism.num_steps, mechanism.num_selections
    epoch = _Epoch(float(sigma), int(t), int(k))
    return (RandomAllocationLoss(sigma, t, k, "remove", epoch),
            RandomAllocationLoss(sigma, t, k, "add", epoch))
