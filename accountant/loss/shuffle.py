"""Shuffled fixed-size batches (:class:`~accountant.core.mechanisms.Shuffle`): a certified
bracket, not a tight value (docs/math.md §13).

No tight privacy loss is known for DP-SGD whose epoch is a random permutation of the data
cut into batches of B. One unit of steps is one epoch of m = ⌈n/B⌉ training steps, and the
loss answers the accountants with two different pairs:

* **Upper side** (every upper bound, RDP's CGF, the upper PLD): the unamplified Gaussian
  N(0, σ²) vs N(Δ, σ²), Δ = 1 (add/remove, as zero-out) or 2 (replace-one). Each record is
  in exactly one batch per epoch, so for every fixed batching the epoch is one Gaussian step
  at the sensitivity Δ; the shuffled epoch is the mixture of those over the permutation,
  and the hockey stick is jointly convex, so it is no worse (§13.1).
* **Lower side** (``log_delta_bound(side="lower")``, the lower PLD): the shuffle attack of
  Chua et al. (arXiv 2403.17673, 2411.04205). Two neighbouring datasets whose epoch outputs
  are, after removing known constants, Q = (1/m)Σ_t N(a·e_t, σ²I_m) and
  P = (1/m)Σ_t N(b·e_t, σ²I_m) (a = 2, b = 1 under add/remove), and the statistic
  M = max_t of the m noisy batch sums, quantised into bins: post-processing, so the pair of
  the bin laws is *dominated* by the mechanism's (§13.2). Its CDFs are closed forms,
  Q[M ≤ x] = Φ((x − a)/σ)·Φ(x/σ)^{m−1}, and the bin masses are computed in log space
  without cancellation, with an error bound per bin (§13.3) that the finite-atom loss
  (:class:`~accountant.loss.finite.FiniteLoss`) lowers the pair by.

The same datasets are used in every epoch, so the composed pair of the bins is a
post-processing of the composed mechanism: composing the dominated pair over epochs gives
a lower bound on the ε of the training run. Two directions ("remove": with the target vs
without; "add": the pair swapped), so that in a mixed schedule every step's lower pair
compares the same ordered datasets. Edgeworth and the saddle point need one privacy-loss
law and refuse (ValueError).

Poisson accounting at rate B/n does **not** apply to shuffled batches: at small σ the lower
bound here lies above it (Chua et al. 2024). Every Result of a schedule with Shuffle steps
says so in ``details["notes"]`` (:data:`NOTE`).
"""
from __future__ import annotations

import math
from fractions import Fraction
from typing import Optional, Tuple

import numpy as np
from numba import njit

from ..core.mechanisms import Shuffle
from ..core.rounding import _KAPPA, _U
from ..core.special import log_cdf_normal, log1mexp
from .base import PrivacyLoss
from .finite import FiniteLoss
from .mixture import GaussianMixtureLoss
from .registry import register_loss
from .results import PldCells, PldSupport, StepMoments, Tilted

__all__ = ["ShuffleLoss", "NOTE", "shuffle_bins"]

#: What every Result of a schedule with Shuffle steps says (``details["notes"]``).
NOTE = ("shuffled fixed-size batches: Poisson accounting (rate B/n) does not apply; the "
        "bracket is [a proven lower bound from the shuffle attack of Chua et al. "
        "(arXiv 2403.17673), the proven upper bound without amplification] and no tight "
        "value is known (docs/math.md §13)")

# Bins of the max statistic: width in loss units (the loss changes by about this much per
# bin), mass left in each end bin, and a cap on the count (the width grows past it).
_H_BIN = 5e-4
_LOG_TAU = math.log(1e-40)
_MAX_BINS = 200_000
# Losses of the bins are kept within the PLD grid (|ℓ| ≤ 600): end bins are widened.
_MAX_BIN_LOSS = 500.0
# 8-point Gauss–Legendre for the mass of a short interval (docs/math.md §13.3): its
# remainder is below 1e-30 relative where it is used (w·(|α| + w) ≤ ½).
_GL_X, _GL_W = np.polynomial.legendre.leggauss(8)


@njit(cache=True)
def _log_cdf_at(z, shift, m):
    """log F(z) = log Φ(z − shift) + (m − 1)·log Φ(z) for every z (z in units of σ)."""
    out = np.empty(z.shape[0])
    for i in range(z.shape[0]):
        out[i] = log_cdf_normal(z[i] - shift) + (m - 1) * log_cdf_normal(z[i])
    return out


@njit(cache=True)
def _log_ratio_step(z, w, shift, gx, gw):
    """log(Φ(z_k + w_k − shift)/Φ(z_k − shift)) for each bin [z_k, z_k + w_k]:
    log1p(I/Φ(α)) with I = ∫_α^{α+w} φ, α = z_k − shift (docs/math.md §13.3).

    Narrow bins (w·(|α| + w) ≤ ½): I = φ(α)·∫_0^w e^{−αs − s²/2} ds by Gauss–Legendre, a
    sum of positive terms. Wider ones: I as a difference of the two tails on the side
    where they are small (Φ̄ for α ≥ 0, Φ below), whose ratio is then at most e^{−½}, so
    the difference loses at most a factor 1/(1 − e^{−½}) < 3 in relative accuracy. The
    widths w_k are the edges' own differences (each exact to one rounding): a nominal
    width would not tile the edges, an error of u·|z|/w per bin (1e-11 measured)."""
    out = np.empty(z.shape[0])
    for i in range(z.shape[0]):
        a = z[i] - shift
        wi = w[i]
        if wi * (abs(a) + wi) <= 0.5:
            half = 0.5 * wi
            s = 0.0
            for j in range(gx.shape[0]):
                t = half * (1.0 + gx[j])
                s += gw[j] * math.exp(-a * t - 0.5 * t * t)
            lphi = -0.5 * a * a - 0.9189385332046728
            li = lphi + math.log(half * s)
        elif a >= 0.0:
            la = log_cdf_normal(-a)                  # log Φ̄(α)
            li = la + log1mexp(log_cdf_normal(-(a + wi)) - la)
        else:
            lb = log_cdf_normal(a + wi)
            li = lb + log1mexp(log_cdf_normal(a) - lb)
        out[i] = math.log1p(math.exp(li - log_cdf_normal(a)))
    return out


def _edge_search(f, target, lo, hi):
    """z in [lo, hi] with f(z) ≈ target for increasing f (bisection; the edges only set
    how much mass the end bins hold, never the validity of the pair)."""
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if f(mid) < target:
            lo = mid
        else:
            hi = mid
        if hi - lo < 1e-9 * (1.0 + abs(mid)):
            break
    return 0.5 * (lo + hi)


def shuffle_bins(sigma: float, m: int, a: float, b: float, h_bin: float = _H_BIN,
                 ) -> Tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """The binned law of M = max of m noisy batch sums under Q (shift a) and P (shift b),
    a > b ≥ 0, noise σ (docs/math.md §13.3).

    Returns ``(z, log_p, log_q, rel)``: the edges z_0 < … < z_K (in units of σ), the log
    masses of the bins (−∞, z_0], (z_k, z_{k+1}], (z_K, ∞), and a bound on the relative
    error of every computed mass.
    The bins have equal width w = h_bin·σ/(a − b) in z (the loss changes by about h_bin
    per bin where the bump's coordinate decides the max), from where P[M ≤ z] = 1e-40 to
    where Q[M > z] = 1e-40. Not cached: the loss keeps the pair it builds (up to 200 000
    bins, a few MB; 0.03–0.5 s to build).
    """
    aq, bp = a / sigma, b / sigma
    fq = lambda z: float(_log_cdf_at(np.array([z]), aq, m)[0])
    fp = lambda z: float(_log_cdf_at(np.array([z]), bp, m)[0])
    lo = -40.0 - aq
    hi = aq + 40.0
    z_lo = _edge_search(fp, _LOG_TAU, lo, hi)
    # Q[M > z] = −expm1(log F_Q(z)) ≤ τ
    z_hi = _edge_search(lambda z: -float(log1mexp(fq(z))), -_LOG_TAU, lo, hi)
    if m == 1:
        # one batch: M is the batch sum itself; cover both laws' bulk
        z_lo = min(z_lo, bp - 12.0)
    w = h_bin * sigma / (a - b)
    nb = int(math.ceil((z_hi - z_lo) / w))
    if nb > _MAX_BINS:
        nb = _MAX_BINS
        w = (z_hi - z_lo) / nb
    z = z_lo + w * np.arange(nb + 1)           # the edges: these doubles define the bins
    lfq, lfp = _log_cdf_at(z, aq, m), _log_cdf_at(z, bp, m)
    wk = np.diff(z)
    lrz = _log_ratio_step(z[:-1], wk, 0.0, _GL_X, _GL_W)
    # log F(z_{k+1}) − log F(z_k) = log Φ-step of the shifted coordinate + (m − 1)·step
    dq = _log_ratio_step(z[:-1], wk, aq, _GL_X, _GL_W) + (m - 1) * lrz
    dp = _log_ratio_step(z[:-1], wk, bp, _GL_X, _GL_W) + (m - 1) * lrz
    with np.errstate(divide="ignore"):
        inner_q = lfq[1:] + np.log(-np.expm1(-dq))
        inner_p = lfp[1:] + np.log(-np.expm1(-dp))
    top_q, top_p = float(log1mexp(lfq[-1])), float(log1mexp(lfp[-1]))
    log_q = np.concatenate(([lfq[0]], inner_q, [top_q]))
    log_p = np.concatenate(([lfp[0]], inner_p, [top_p]))
    # Error bound (docs/math.md §13.3): κu·(20 + |log F| + 2(|z| + shift + 1)²) covers the
    # log-Φ evaluations (a few ulp relative each, |log F| absolute after the m-fold sum),
    # the rounded arguments z − shift and shift = a/σ (a bin moved by u(|z| + shift)
    # changes its mass by that times |d log density/dz| ≤ |z| + shift + 1, and log Φ by
    # that times φ/Φ ≤ |z| + shift + 1), and the sums of positive terms.
    zz = np.abs(z) + max(aq, bp) + 1.0
    lam = np.maximum(np.abs(lfq), np.abs(lfp))
    rel_edge = _KAPPA * _U * (3.0 * (20.0 + lam) + 2.0 * zz * zz)
    rel = float(rel_edge.max())
    return z, log_p, log_q, rel


def _merge_ends(log_p: np.ndarray, log_q: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """Merge end bins (post-processing) until every bin's loss lies in ±_MAX_BIN_LOSS."""
    with np.errstate(invalid="ignore"):
        # (an empty bin, −inf − −inf, is NaN: never "ok", merged or dropped as mass 0)
        ell = log_q - log_p
    ok = np.nonzero(np.abs(ell) <= _MAX_BIN_LOSS)[0]
    if ok.size == 0:
        raise ValueError("noise_multiplier too small for the shuffle lower bound: every "
                         f"bin's privacy loss exceeds {_MAX_BIN_LOSS:g}")
    i, j = int(ok[0]), int(ok[-1])
    lp = log_p[i:j + 1].copy()
    lq = log_q[i:j + 1].copy()
    lp[0] = np.logaddexp.reduce(log_p[:i + 1])
    lq[0] = np.logaddexp.reduce(log_q[:i + 1])
    lp[-1] = np.logaddexp.reduce(log_p[j:])
    lq[-1] = np.logaddexp.reduce(log_q[j:])
    return lp, lq


def attack_shifts(mechanism: Shuffle) -> Tuple[float, float]:
    """(a, b): the batch-sum bumps of the two datasets of the attack (docs/math.md §13.2).

    Add/remove (zero-out): the other records contribute −1, the target +1 or nothing: the
    target's batch sits 2 (with it) or 1 (without) above the others. Replace-one: the
    target +1 or −1 against others at −1, bumps 2 and 0."""
    return (2.0, 1.0) if mechanism.neighboring == "add_remove" else (2.0, 0.0)


def steps_per_epoch(mechanism: Shuffle) -> int:
    """m = ⌈n/B⌉ (the last batch holds n − (m − 1)·B records when B does not divide n)."""
    return -(-mechanism.dataset_size // mechanism.batch_size)


def _refuse(what: str) -> ValueError:
    return ValueError(
        f"method {what!r} cannot account Shuffle steps: shuffled batches have no single "
        "privacy-loss law to expand, only a bracket [shuffle-attack lower bound, "
        "unamplified upper bound] (docs/math.md §13); use method='pld' or 'rdp'")


class ShuffleLoss(PrivacyLoss):
    """The bracket of one epoch of shuffled batches (docs/math.md §13): the Gaussian pair
    at the relation's sensitivity for every upper answer, the binned shuffle attack
    (a :class:`FiniteLoss`) for every lower one."""

    #: The CGF is the Gaussian's closed form (an upper bound on the true one, §13.1).
    cgf_exact = True
    #: Not a pair of single Gaussians: the μ-GDP closed form would present the upper
    #: bound as exact.
    gaussian_shift = None
    #: The two sides are different pairs: the PLD refinement settles each side instead of
    #: narrowing a gap no grid closes.
    bracket_only = True
    note = NOTE

    def __init__(self, mechanism: Shuffle, direction: str = "remove",
                 bins: Optional["_AttackBins"] = None) -> None:
        self.mechanism = mechanism
        self.direction = direction
        sigma = mechanism.noise_multiplier
        self.sensitivity = 2.0 if mechanism.neighboring == "replace_one" else 1.0
        self.m = steps_per_epoch(mechanism)
        # symmetric: the same Gaussian serves both directions
        self._up = GaussianMixtureLoss(sigma, [0.0], [1.0], [self.sensitivity], [1.0])
        self.lo_loss, self.hi_loss = self._up.lo_loss, self._up.hi_loss
        self._bins = bins if bins is not None else _AttackBins(mechanism, self.m)

    def __repr__(self):
        m = self.mechanism
        return (f"ShuffleLoss(noise_multiplier={m.noise_multiplier}, batch_size="
                f"{m.batch_size}, dataset_size={m.dataset_size}, "
                f"neighboring={m.neighboring!r}, direction={self.direction!r})")

    # -- the dominated pair, built on first use ------------------------------------------
    @property
    def lower_pair(self) -> FiniteLoss:
        """The binned attack pair in this loss's direction (docs/math.md §13.2, §13.3):
        "remove" compares the dataset with the target to the one without it, "add" the
        reverse (the pair swapped), each with its error bound."""
        return self._bins.pair(self.direction)

    # -- upper side: the Gaussian pair ---------------------------------------------------
    def loss(self, x: float | np.ndarray) -> float | np.ndarray:
        return self._up.loss(x)

    def inverse_loss(self, eps: float | np.ndarray) -> float | np.ndarray:
        return self._up.inverse_loss(eps)

    def log_hockey_stick(self, eps: float | np.ndarray) -> float | np.ndarray:
        """δ(ε) of the upper (unamplified Gaussian) pair: no exact value is known."""
        return self._up.log_hockey_stick(eps)

    def log_sf(self, eps: float | np.ndarray, under: str = "Q") -> float | np.ndarray:
        return self._up.log_sf(eps, under)

    def cgf(self, t: float | np.ndarray) -> float | np.ndarray:
        """K_Y(t) of the Gaussian pair: an upper bound on the shuffled epoch's (Rényi
        divergence is jointly quasi-convex, so the mixture over batchings is no larger than
        its worst batching, each at most the Gaussian's; docs/math.md §13.1)."""
        return self._up.cgf(t)

    def cgf_upper(self, t: float) -> Optional[float]:
        return self._up.cgf_upper(t)

    @property
    def quadrature_size(self) -> int:
        return self._up.quadrature_size

    @property
    def cgf_closed_at_integers(self) -> bool:
        return True

    def moments(self, under: str) -> StepMoments:
        raise _refuse("edgeworth")

    def tilted(self, t: float, centre: Optional[float] = None) -> Tilted:
        raise _refuse("saddlepoint")

    def sup_loss_upper(self) -> Optional[Fraction]:
        return None

    def delta_zero_above(self) -> float:
        return math.inf

    # -- both sides ----------------------------------------------------------------------
    def log_delta_bound(self, eps: float, side: str) -> float:
        """Upper: the Gaussian pair's certified bound; lower: the binned attack pair's,
        lowered by its error bound (docs/math.md §13)."""
        if side == "upper":
            return self._up.log_delta_bound(eps, "upper")
        return self.lower_pair.log_delta_bound(eps, "lower")

    def pld_support(self, log_tau_lo: float, log_tau_hi: float, floor: float) -> PldSupport:
        """The Gaussian's grid, widened to hold the attack pair's atoms."""
        g = self._up.pld_support(log_tau_lo, log_tau_hi, floor)
        f = self.lower_pair.pld_support(log_tau_lo, log_tau_hi, floor)
        e_lower = g.e_lower
        if f.e_lower is not None:
            e_lower = f.e_lower if e_lower is None else min(e_lower, f.e_lower)
        return PldSupport(min(g.e_lo, f.e_lo), max(g.e_hi, f.e_hi), e_lower, False,
                          g.cost + f.cost)

    def pld_cells(self, i0: int, h: float, npts: int) -> Tuple[PldCells, PldCells]:
        """(upper, lower): the Gaussian's cells and the attack pair's lowered cells."""
        up = self._up.pld_cells(i0, h, npts)[0]
        lo = self.lower_pair.pld_cells(i0, h, npts)[1]
        return up, lo


class _AttackBins:
    """The bins of one mechanism's attack, built on first use and shared by its two
    directions (docs/math.md §13.3)."""

    def __init__(self, mechanism: Shuffle, m: int) -> None:
        self.mechanism, self.m = mechanism, m
        self._pairs: dict = {}

    def pair(self, direction: str) -> FiniteLoss:
        hit = self._pairs.get(direction)
        if hit is None:
            a, b = attack_shifts(self.mechanism)
            _, log_p, log_q, rel = shuffle_bins(self.mechanism.noise_multiplier, self.m, a, b)
            lp, lq = _merge_ends(log_p, log_q)
            if direction == "add":
                lp, lq = lq, lp              # the pair swapped: D(without ‖ with)
            ell = lq - lp
            # The stored Q-mass e^{log p + ℓ} is rounded again (|log p| + |log q| absolute
            # in its log); the loss carries both masses' errors.
            big = 1.0 + float(np.max(np.abs(lq))) + float(np.max(np.abs(lp)))
            q_rel = rel + 4 * _U * big
            loc = 2.0 * rel + 4 * _U * big
            hit = self._pairs[direction] = FiniteLoss(ell, lp, direction=direction,
                                                      mass_rel=q_rel, loc_err=loc)
        return hit


@register_loss(Shuffle)
def _shuffle(mechanism: Shuffle) -> Tuple[PrivacyLoss, ...]:
    # Both directions: their upper sides are the same Gaussian, but in a schedule the
    # lower pairs of all steps must compare the same ordered datasets (docs/math.md §13.2).
    bins = _AttackBins(mechanism, steps_per_epoch(mechanism))
    return (ShuffleLoss(mechanism, "remove", bins), ShuffleLoss(mechanism, "add", bins))
