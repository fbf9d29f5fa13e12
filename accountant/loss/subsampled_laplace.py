"""Privacy loss of the Poisson-subsampled Laplace mechanism (docs/math.md §2.7).

Remove: P = Lap(0, b), Q = (1 − q)Lap(0, b) + q·Lap(1, b); add: P = (1 − q)Lap(0, b) +
q·Lap(−1, b), Q = Lap(0, b) (the swapped pair, reflected so that L increases with the
outcome). Both are functions of the plain Laplace loss ℓ = (|x| − |x − 1|)/b, whose law μ
under Lap(0, b) has an atom ½ at −a, an atom ½e^{−a} at a and the density ¼e^{−(ℓ+a)/2} on
(−a, a), a = 1/b (§2.2). With g(ℓ) = log(1 − q + q·e^ℓ):

    remove: L = g(ℓ), P = μ, Q = e^g·μ;      add: L = −g(ℓ), P = e^g·μ, Q = μ,

so every law an accountant asks about — P, Q, Q tilted by e^{tL} — is e^{λg}·μ for one real
λ. Closed forms: the hockey stick, the tails, the PLD cell integrals (e^L is affine in e^ℓ,
and μ's density is exponential in ℓ) and the CGF at integer orders of the remove direction
(a binomial sum). The CGF at other orders, the moments and the tilted laws have no
elementary form (they are incomplete-beta/polylog integrals) and are Gauss–Legendre sums
over μ's atoms and density, with panels laid out from the exponential rate of the weight.
q = 1 is the Laplace mechanism and q = 0 the identity: ``privacy_losses`` serves those with
:class:`~accountant.loss.laplace.LaplaceLoss` and the identity loss.

Size: one family answering every question of the privacy-loss interface (hockey stick and
its certified bounds, tails, PLD support and cells, CGF, moments, tilted laws); each answer
is a closed form or a quadrature over the same layout of μ.
"""
from __future__ import annotations

import math
from fractions import Fraction
from typing import Optional, Sequence, Tuple

import numpy as np

from ..core.mechanisms import SubsampledLaplace
from .registry import identity_loss, register_loss
from ..core.special import expm1_minus_x as _e1, x_exp_minus_expm1 as _e2
from .base import PrivacyLoss
from .laplace import LaplaceLoss
from .results import (CALL_WORK, PldCells, PldSupport, StepMoments, Tilted, from_central,
                      higher_cumulants, moment_sums)

__all__ = ["SubsampledLaplaceLoss"]

_U = 2.0 ** -53
_LOG_HALF = math.log(0.5)
_LOG_QUARTER = math.log(0.25)
# Quadrature (docs/math.md §2.7): 32-point Gauss–Legendre panels of width ≤ 1 on which the
# log-weight varies by ≤ 8. g is analytic in the strip |Im ℓ| < π, so a unit panel sits
# well inside its Bernstein ellipse and the rule is accurate to rounding for every
# integrand used here (powers of L, |L − c| cut at its kink, exponentials of λg). Density below e^{−80} of the
# largest weight is left out (relative effect < 1e-30 at any width the layout accepts).
_GL_X, _GL_W = np.polynomial.legendre.leggauss(32)
_DROP = 80.0
_RATE = 8.0
_MAX_PANELS = 40_000
# Claimed relative error of the quadratures (moments, tilted laws): measured against
# mpmath at 1e-13 or better (tests/test_subsampled_laplace.py); 1e-12 leaves room.
_QUAD_REL = 1e-12
# Below this |K| the CGF is taken from the sign-definite split E[e^{λg}] − 1 = E[ψ_λ(g)],
# which keeps the relative accuracy of K ~ q² (a log of 1 + 1e-14 loses it all).
_SPLIT = 0.1
# Integer orders of the remove direction up to this use the binomial closed form.
_MAX_BINOMIAL = 512


def _g(ell, q: float, lq: float, l1q: float):
    """g(ℓ) = log(1 − q + q·e^ℓ) (ℓ = −inf gives log(1 − q))."""
    ell = np.asarray(ell, dtype=float)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        z = q * np.expm1(np.minimum(ell, 700.0))
        # below z = −½ the argument of log1p carries u absolute against a sum 1 + z that
        # may be 1e-13 (q near 1, ℓ ≪ 0: 1e-3 of log g lost, −inf once z rounds to −1);
        # there 1 − q + q·e^ℓ is a sum of two positive terms, taken by log-sum-exp
        small = np.where(z < -0.5, np.logaddexp(l1q, lq + ell), np.log1p(np.maximum(z, -0.5)))
        # past 700 expm1(ℓ) overflows: factor e^ℓ out (not earlier: ℓ + log q cancels
        # against the log1p term where q·e^ℓ ≪ 1, q = 1e-30 at ℓ = 30)
        big = ell + lq + np.log1p(np.exp(l1q - lq - ell))
    out = np.where(ell > 700.0, big, small)
    return out if out.ndim else float(out)


def _ginv(y, q: float, lq: float, l1q: float):
    """ℓ with g(ℓ) = y; −inf where e^y ≤ 1 − q (below the range of g)."""
    y = np.asarray(y, dtype=float)
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        em = np.expm1(np.minimum(y, 30.0))
        z = em / q
        # log1p keeps the relative accuracy of small ℓ; where em/q overflows, q is below
        # em's rounding and log(em) − log q is exact enough
        small = np.where(np.isfinite(z), np.log1p(np.maximum(z, -1.0)), np.log(em) - lq)
        big = y - lq + np.log1p(-np.exp(l1q - y))
    out = np.where(y > 30.0, big, small)
    out = np.where(np.isnan(out), -np.inf, out)
    return out if out.ndim else float(out)




class _Layout:
    """Atoms and quadrature nodes of μ: ``ell`` (the two atoms first), ``lmu`` (log μ-weights,
    Gauss–Legendre weights included), ``G`` = g(ell), ``to_lo`` = ell + a and
    ``to_hi`` = a − ell formed without cancellation near their end; ``ok`` False when out
    of reach."""

    __slots__ = ("ell", "lmu", "G", "to_lo", "to_hi", "ok", "points")

    def __init__(self, ell, lmu, G, ok, to_lo=None, to_hi=None):
        self.ell, self.lmu, self.G, self.ok = ell, lmu, G, ok
        self.to_lo, self.to_hi = to_lo, to_hi
        self.points = int(ell.shape[0])


class SubsampledLaplaceLoss(PrivacyLoss):
    """L = ±log(1 − q + q·e^ℓ) of the Poisson-subsampled Laplace pair, 0 < q < 1
    (docs/math.md §2.7); ``direction`` "remove" (+) or "add" (−)."""

    cgf_exact = False     # quadrature at non-integer orders (docs/math.md §3.1)

    def __init__(self, scale: float, sample_rate: float, direction: str = "remove") -> None:
        if direction not in ("remove", "add"):
            raise ValueError(f"direction must be 'remove' or 'add', got {direction!r}")
        q = float(sample_rate)
        if not 0.0 < q < 1.0:
            raise ValueError(f"sample_rate must be in (0, 1) here (q = 1 is LaplaceLoss, "
                             f"q = 0 the identity), got {sample_rate!r}")
        self.scale = float(scale)
        self.q = q
        self.direction = direction
        self.sign = 1.0 if direction == "remove" else -1.0
        self.a = 1.0 / self.scale
        self._lq, self._l1q = math.log(q), math.log1p(-q)
        # g′(ℓ) = 1/(1 + e^{−(ℓ − ℓc)}): the logistic centre of g
        self._lc = self._l1q - self._lq
        a = self.a
        g_lo, g_hi = float(self.g(-a)), float(self.g(a))
        e_lo, e_hi = self._g_err(-a, g_lo), self._g_err(a, g_hi)
        if direction == "remove":
            self.lo_loss, self.hi_loss = g_lo, g_hi
            self._lo_br = (g_lo - e_lo, g_lo + e_lo)
            self._hi_br = (g_hi - e_hi, g_hi + e_hi)
        else:
            self.lo_loss, self.hi_loss = -g_hi, -g_lo
            self._lo_br = (-g_hi - e_hi, -g_hi + e_hi)
            self._hi_br = (-g_lo - e_lo, -g_lo + e_lo)
        # P- and Q-weights are e^{λg}·μ with these λ (module docstring)
        self._lam_P = 0.0 if direction == "remove" else 1.0
        self._lam_Q = 1.0 - self._lam_P
        self._cgf_cache: dict = {}

    def __repr__(self):
        return (f"SubsampledLaplaceLoss(scale={self.scale}, sample_rate={self.q}, "
                f"direction={self.direction!r})")

    # -- g, its inverse and its rounding ----------------------------------------------------
    def g(self, ell: float | np.ndarray) -> float | np.ndarray:
        """g(ℓ) = log(1 − q + q·e^ℓ)."""
        return _g(ell, self.q, self._lq, self._l1q)

    def ginv(self, y: float | np.ndarray) -> float | np.ndarray:
        """ℓ with g(ℓ) = y (−inf below log(1 − q))."""
        return _ginv(y, self.q, self._lq, self._l1q)

    def _dg(self, ell):
        """g′(ℓ) ∈ (0, 1)."""
        with np.errstate(over="ignore"):
            return 1.0 / (1.0 + np.exp(-(np.asarray(ell, dtype=float) - self._lc)))

    def _g_err(self, ell: float, val: float) -> float:
        """A bound on the rounding of g(±a): first order in the roundings of 1/b (≤ u,
        amplified by ∂g/∂log a = a·g′), of expm1, the product and log1p, times 16 (the
        log-sum-exp branches of :func:`_g` carry log q, log(1 − q) and a instead: their sizes
        enter the same way)."""
        x = abs(ell)
        cond = x * float(self._dg(ell)) + 2.0 + abs(val)
        if ell > 700.0 or self.q * -math.expm1(min(ell, 0.0)) > 0.5:
            cond += abs(self._lq) + abs(self._l1q) + x
        return 16.0 * _U * cond + 1e-300

    # -- interface: loss and its inverse ----------------------------------------------------
    def _ell_of_x(self, x):
        # remove: ℓ = (|x| − |x − 1|)/b; add (reflected): ℓ = (|x| − |x + 1|)/b
        if self.direction == "remove":
            return (np.abs(x) - np.abs(x - 1.0)) / self.scale
        return (np.abs(x) - np.abs(x + 1.0)) / self.scale

    def loss(self, x: float | np.ndarray) -> float | np.ndarray:
        """L(x), increasing in the outcome x (docs/math.md §2.7)."""
        x = np.asarray(x, dtype=float)
        out = self.sign * self.g(self._ell_of_x(x))
        out = np.asarray(out, dtype=float)
        return out if out.ndim else float(out)

    def inverse_loss(self, eps: float | np.ndarray) -> float | np.ndarray:
        """x with L(x) = ε on (lo_loss, hi_loss); −inf / +inf at or beyond the ends."""
        e = np.asarray(eps, dtype=float)
        ell = self.ginv(self.sign * e)
        with np.errstate(invalid="ignore"):
            x = (self.scale * ell + 1.0) / 2.0 if self.direction == "remove" else \
                -(self.scale * ell + 1.0) / 2.0
        out = np.where(e <= self.lo_loss, -np.inf, np.where(e >= self.hi_loss, np.inf, x))
        return out if out.ndim else float(out)

    # -- the top of the loss ----------------------------------------------------------------
    def eps0_bracket(self) -> Tuple[float, float]:
        """(down, up) around the exact sup L: the PLD builds its upper PMF with the top atom
        at ``up`` and its lower PMF with it at ``down`` (see :meth:`pld_cells`)."""
        return self._hi_br

    def sup_loss_upper(self) -> Fraction:
        """sup L rounded up (g(±a) plus its rounding bound), as a rational."""
        return Fraction(self._hi_br[1])

    def sup_loss_lower(self) -> Fraction:
        """sup L rounded down (the lower end of its rounding bracket), as a rational."""
        return Fraction(self._hi_br[0])

    # -- hockey stick and tails -------------------------------------------------------------
    def _distances(self, e):
        """For ε in [lo_loss, hi_loss): T = a − ℓ_ε (remove) or S = ℓ_ε + a with
        ℓ_ε = g⁻¹(−ε) (add), the μ-distance from ε's preimage to the end that holds the top
        of L. Both lie in [0, 2a]."""
        a = self.a
        if self.direction == "remove":
            d = a - self.ginv(e)
        else:
            d = self.ginv(-e) + a
        return np.clip(d, 0.0, 2.0 * a)

    def log_hockey_stick(self, eps: float | np.ndarray) -> float | np.ndarray:
        """log δ(ε) in closed form (docs/math.md §2.7): with D the distance of
        :meth:`_distances`, δ = (q/2)·[(1 − e^{−D}) + (1 − e^{−D/2})²] (remove) and
        δ = (1 − (1 − q)e^ε)/2·[same bracket] (add); 1 − e^ε below the range, 0 above."""
        e = np.asarray(eps, dtype=float)
        inside = (e >= self.lo_loss) & (e < self.hi_loss)
        ei = np.where(inside, e, 0.5 * (self.lo_loss + self.hi_loss))
        d = self._distances(ei)
        with np.errstate(divide="ignore", invalid="ignore"):
            br = np.log(-np.expm1(-d) + np.expm1(-0.5 * d) ** 2)
            if self.direction == "remove":
                mid = math.log(0.5 * self.q) + br
            else:
                # e^ε·q·e^{ℓ_ε} = 1 − (1 − q)e^ε = −(expm1(ε) − q e^ε), formed as
                # e^ε·(expm1(−ε) + q) so that nothing cancels
                mid = ei + np.log(np.expm1(-ei) + self.q) + _LOG_HALF + br
            low = np.log(-np.expm1(np.minimum(e, -0.0)))
        out = np.where(e >= self.hi_loss, -np.inf, np.where(e < self.lo_loss, low, mid))
        return out if out.ndim else float(out)

    def log_sf(self, eps: float | np.ndarray, under: str = "Q") -> float | np.ndarray:
        """log P[L > ε] under "P" or "Q" in closed form (docs/math.md §2.7)."""
        if under not in ("P", "Q"):
            raise ValueError(f"under must be 'P' or 'Q', got {under!r}")
        e = np.asarray(eps, dtype=float)
        inside = (e >= self.lo_loss) & (e < self.hi_loss)
        ei = np.where(inside, e, 0.5 * (self.lo_loss + self.hi_loss))
        d = self._distances(ei)
        a, q = self.a, self.q
        with np.errstate(divide="ignore", invalid="ignore"):
            # μ(ℓ > ℓ_ε) = ½e^{−a + T/2}; ν(ℓ > ℓ_ε) = 1 − ½e^{−T/2} (ν = e^ℓ·μ); and for
            # the add direction μ(ℓ < ℓ_ε) = 1 − ½e^{−S/2}, ν(ℓ < ℓ_ε) = ½e^{S/2 − a}
            l_mu_far = _LOG_HALF - a + 0.5 * d
            l_far_c = np.log1p(-0.5 * np.exp(-0.5 * d))
            if self.direction == "remove":
                if under == "P":
                    val = l_mu_far
                else:
                    val = np.logaddexp(self._l1q + l_mu_far, self._lq + l_far_c)
            else:
                if under == "Q":
                    val = l_far_c
                else:
                    val = np.logaddexp(self._l1q + l_far_c, self._lq + l_mu_far)
        out = np.where(e >= self.hi_loss, -np.inf, np.where(e < self.lo_loss, 0.0, val))
        return out if out.ndim else float(out)

    # -- PLD cells ---------------------------------------------------------------------------
    def _atoms(self, top: float, bottom: float):
        """[(location, log P-mass)] of the two atoms of L with the top one at ``top`` and
        the bottom one at ``bottom``. The Q-mass of each atom is kept and its P-mass set to
        Q-mass·e^{−location}: moving an atom up with its Q-mass fixed raises δ(ε) =
        E_Q[(1 − e^{ε−L})_+] at every ε, under any composition (a dominating measure), and
        moving it down lowers it (docs/math.md §2.7)."""
        a = self.a
        g_lo, g_hi = float(self.g(-a)), float(self.g(a))
        if self.direction == "remove":
            # μ-atom ½ at −a → L = g(−a); μ-atom ½e^{−a} at a → L = g(a)
            lq_bot, lq_top = _LOG_HALF + g_lo, _LOG_HALF - a + g_hi
        else:
            # L = −g: the μ-atom at a (Q-mass ½e^{−a}) is the bottom, at −a (½) the top
            lq_bot, lq_top = _LOG_HALF - a, _LOG_HALF
        return [(bottom, lq_bot - bottom, lq_bot), (top, lq_top - top, lq_top)]

    def pld_support(self, log_tau_lo: float, log_tau_hi: float, floor: float) -> PldSupport:
        """The whole loss range with its two atoms, each at the far end of its rounding
        bracket (docs/math.md §2.7, §4); no tail is left out."""
        return PldSupport(min(float(self.lo_loss), self._lo_br[0]),
                          max(float(self.hi_loss), self._hi_br[1]), None, True, 2)

    def pld_cells(self, i0: int, h: float, npts: int) -> Tuple[PldCells, PldCells]:
        """(upper, lower) :class:`PldCells`: the atoms at the upper ends of their rounding
        brackets (a dominating pair) and at the lower ends (a dominated one)."""
        dn, up_ = self._hi_br
        a, b, Fb, Qb, r0, Pt, dtop = self._cells_at(i0, h, npts, up_)
        up = PldCells(a, b, Fb, Qb, r0, Pt, dtop, -math.inf)
        if dn == up_:
            return up, up
        a, b, Fb, Qb, r0, Pt, _ = self._cells_at(i0, h, npts, dn)
        return up, PldCells(a, b, Fb, Qb, r0, Pt, dtop, -math.inf)

    # -- certified one-step answers (docs/math.md §2.7) ------------------------------------
    def log_delta_bound(self, eps: float, side: str) -> float:
        """log δ(ε) from the closed form, widened by 1e-10 + 64u·|log δ| (its error against
        mpmath at 50 digits is ≤ 1e-13 relative over the tests' grid: a factor 1000 of
        room). Near the top, where sup L is known only to its rounding bracket, the upper
        side reads δ at the largest double below the computed sup (δ decreases in ε) and the
        lower side says 0."""
        eps = float(eps)
        up = side == "upper"
        if eps >= self._hi_br[1]:
            return -math.inf
        if eps >= self.hi_loss or (eps >= self._hi_br[0] and not up):
            if not up:
                return -math.inf
            eps = math.nextafter(float(self.hi_loss), -math.inf)
        ld = float(self.log_hockey_stick(eps))
        if ld == -math.inf:
            return ld if not up else math.log(1e-300)
        pad = 1e-10 + 64 * _U * abs(ld)
        return ld + pad if up else ld - pad

    def delta_zero_above(self) -> float:
        return self._hi_br[1]

    def _cells_at(self, i0: int, h: float, npts: int, eps0: float | None = None):
        """Cell integrals of the PLD discretisation on ε_i = (i0 + i)·h, in closed form
        (docs/math.md §2.7, §4; the contract of ``LaplaceLoss.pld_cells``):
        ``(a, b, Fb, Qb, r0, Pt, dtop)`` with a_i = E_P[expm1(L − ε_i); cell]/expm1(h),
        b_i = E_P[e^h − e^{L−ε_i}; cell]/expm1(h), and the masses at or below ε_0.

        ``eps0`` is where the top atom is put: above the computed sup L (the upper end of
        :meth:`eps0_bracket`) both atoms go to the upper ends of their rounding brackets
        (a dominating pair), below it to the lower ends (a dominated one).

        On the continuous part, e^L − e^{ε_i} = q(e^ℓ − e^{ℓ_i}) (remove) with μ's density
        exponential in ℓ, so each cell is q·¼e^{−a/2}·F(ℓ*, t0, t1) with
        F = e^{ℓ*/2}·2e^{t0/2}·expm1((t1 − t0)/2)·(−expm1(−(t0 + t1)/2)), t0 ≤ t1 the
        distances from the reference ℓ* to the ends of the cell's ℓ-interval: a product of
        non-negative factors, formed in log space, with the width of an interior cell
        ℓ_{i+1} − ℓ_i = log1p(e^{ε_i}·expm1(h)/(expm1(ε_i) + q)) (no difference of logs).
        """
        top = self.hi_loss if eps0 is None else float(eps0)
        if top > self.hi_loss:
            bottom = self._lo_br[1]
        elif top < self.hi_loss:
            bottom = self._lo_br[0]
        else:
            bottom = self.lo_loss
        em1h = math.expm1(h)
        lem1h = math.log(em1h)
        eps = (i0 + np.arange(npts)) * h
        if not (eps[0] <= min(bottom, self.lo_loss) and eps[-1] >= max(top, self.hi_loss)):
            raise ValueError("the PLD grid must cover the subsampled Laplace loss range")
        ncell = npts - 1
        a_out, b_out = self._continuous_cells(eps, h, lem1h)
        Fb = Qb = r0 = 0.0
        for loc, lp, lqm in self._atoms(top, bottom):
            k, t, s = _place(loc, i0, h, npts)
            if k < 1:
                # at or below ε_0 (on the exact grid): counted in the masses at ε_0, with
                # its share of r0 = E_P[(e^{ε_0} − e^L)₊]; ε_0 ≤ inf L, so this is loc = ε_0
                # in practice
                Fb += math.exp(lp)
                Qb += math.exp(lqm)
                r0 += math.exp(lp + i0 * h) * -math.expm1(min(-s, 0.0))
                continue
            if k > ncell:
                raise ValueError("the PLD grid must cover the subsampled Laplace loss range")
            m = math.exp(lp)
            a_out[k - 1] += m * math.expm1(t) / em1h
            b_out[k - 1] += m * math.exp(t) * math.expm1(s) / em1h
        return a_out, b_out, Fb, Qb, r0, 0.0, 0.0

    def _continuous_cells(self, eps, h, lem1h):
        """(a, b) of the density part of L on the grid ``eps`` (see :meth:`pld_cells`)."""
        q, A = self.q, self.a
        remove = self.direction == "remove"
        with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
            # ℓ-point of each grid value: the preimage of ε (remove) or of −ε (add)
            P = self.ginv(eps if remove else -eps)
            Pi, Pn = P[:-1], P[1:]
            ei, en = eps[:-1], eps[1:]
            if remove:
                lo_l, hi_l = Pi, Pn
                # ℓ_{i+1} − ℓ_i = log(y_{i+1}/y_i), y = 1 + expm1(ε)/q
                H = np.log1p(np.exp(ei) * math.expm1(h) / (np.expm1(ei) + q))
            else:
                lo_l, hi_l = Pn, Pi
                H = np.log1p(np.exp(-en) * math.expm1(h) / (np.expm1(-en) + q))
            c_lo = np.maximum(lo_l, -A)
            c_hi = np.minimum(hi_l, A)
            has = c_hi > c_lo
            unclipped = (c_lo == lo_l) & (c_hi == hi_l) & np.isfinite(lo_l)
            width = np.where(unclipped, H, c_hi - c_lo)
            width = np.where(has, width, 0.0)
            # log of q·¼e^{−a/2}·2 = q·½e^{−a/2}
            base = self._lq + _LOG_HALF - 0.5 * A
            lw1 = np.log(np.expm1(0.5 * width))

            def ref_form(half_exp, t_near):
                # log ∫ over the cell of q·μ(dℓ)|e^ℓ − e^{ℓ*}|, half_exp = (ℓ* + t0)/2: the
                # near end over 2 when the cell lies above ℓ*, that plus t0 when below
                return (base + half_exp + lw1
                        + np.log(-np.expm1(-(2.0 * t_near + width) / 2.0)))

            # μ-mass and ∫e^ℓ dμ of the clipped interval (for the direct forms)
            l_mu = _LOG_HALF - 0.5 * (A + c_lo) + np.log(-np.expm1(-0.5 * width))
            l_emu = _LOG_HALF + 0.5 * (c_lo - A) + lw1
            if remove:
                # a: reference ℓ_i (the interval lies above it), b: ℓ_{i+1} (below it)
                ta = np.where(np.isfinite(Pi), c_lo - Pi, 0.0)
                la = ref_form(0.5 * c_lo, ta)
                # ε_i ≤ log(1 − q): no ℓ_i; e^L − e^{ε_i} = (1 − q − e^{ε_i}) + q·e^ℓ
                coef = np.log(-(np.expm1(ei) + q))
                la_direct = np.logaddexp(coef + l_mu, self._lq + l_emu)
                la = np.where(np.isfinite(Pi), la, la_direct) - ei
                tb = Pn - c_hi
                lb = ref_form(0.5 * c_hi + tb, tb) - ei
            else:
                # a: reference m_i = Pi (the interval lies below it); b: m_{i+1} = Pn (above)
                ta = Pi - c_hi
                la = ref_form(0.5 * c_hi + ta, ta)
                tb = np.where(np.isfinite(Pn), c_lo - Pn, 0.0)
                lb = ref_form(0.5 * c_lo, tb)
                coef = np.log(-(np.expm1(-en) + q))
                lb_direct = np.logaddexp(coef + l_mu, self._lq + l_emu)
                lb = np.where(np.isfinite(Pn), lb, lb_direct) + h
            a_out = np.where(has, np.exp(la - lem1h), 0.0)
            b_out = np.where(has, np.exp(lb - lem1h), 0.0)
        a_out = np.where(np.isfinite(a_out), a_out, 0.0)
        b_out = np.where(np.isfinite(b_out), b_out, 0.0)
        return np.ascontiguousarray(a_out), np.ascontiguousarray(b_out)

    # -- quadrature over μ -----------------------------------------------------------------
    def _phi(self, ell, lam):
        """log of μ's density times e^{λg}, up to the constant log¼ − a/2."""
        return -0.5 * ell + lam * self.g(ell)

    def _dphi(self, ell, lam):
        return -0.5 + lam * self._dg(ell)

    def _peak(self, lam: float) -> float:
        """The largest log-weight of e^{λg}·μ: at an end of the density (its log is
        convex for λ > ½ and decreasing otherwise, g being convex) or at an atom."""
        a = self.a
        const = _LOG_QUARTER - 0.5 * a
        return max(const + self._phi(-a, lam), const + self._phi(a, lam),
                   _LOG_HALF + lam * float(self.g(-a)), _LOG_HALF - a + lam * float(self.g(a)))

    def _kept(self, lam: float, thr: float):
        """The ℓ-intervals where μ's density times e^{λg} is above e^{thr}: one interval or
        two end pieces (φ is convex or monotone), ends found by bisection; and φ's
        stationary point (None if φ is monotone)."""
        a = self.a
        const = _LOG_QUARTER - 0.5 * a
        f = lambda x: const + float(self._phi(x, lam)) - thr

        def root(lo, hi, increasing):
            # bisection on a monotone piece: f(lo), f(hi) of opposite signs
            for _ in range(200):
                mid = 0.5 * (lo + hi)
                if hi - lo <= 1e-9 * max(1.0, abs(mid)):
                    break
                if (f(mid) >= 0) == increasing:
                    hi = mid
                else:
                    lo = mid
            return lo if increasing else hi

        stat = None
        if lam > 0.5:
            stat = self._lc - math.log(2.0 * lam - 1.0)   # φ′ = 0
        if stat is None or stat >= a:
            # decreasing on [−a, a]
            if f(-a) < 0:
                return [], stat
            return [(-a, a if f(a) >= 0 else root(-a, a, False))], stat
        if stat <= -a:
            if f(a) < 0:
                return [], stat
            return [(-a if f(-a) >= 0 else root(-a, a, True), a)], stat
        if f(stat) >= 0:
            return [(-a, a)], stat
        out = []
        if f(-a) >= 0:
            out.append((-a, root(-a, stat, False)))
        if f(a) >= 0:
            out.append((root(stat, a, True), a))
        return out, stat

    def _layout(self, lams: Sequence[float], cuts: Sequence[float] = ()) -> _Layout:
        """Atoms and Gauss–Legendre nodes for a sum of integrals against e^{λg}·μ, one per
        λ of ``lams`` with a common scale: each is kept where it is within e^{−80} of the
        largest of them all (at large tilts the P and Q terms, e^{−K} of the tilted one,
        drop out), and each panel is sized by the steepest λ kept on it; panel ends at
        ``cuts`` (kinks of the integrand, such as |L − c|)."""
        a = self.a
        thr = max(self._peak(float(lam)) for lam in lams) - _DROP
        kept, ends = [], [-a, a]
        for lam in lams:
            iv, st = self._kept(float(lam), thr)
            kept.append((float(lam), iv))
            for u, v in iv:
                ends += [u, v]
            if st is not None and -a < st < a:
                ends.append(st)
        ends += [c for c in cuts if -a < c < a]
        covered = [(u, v) for _, iv in kept for u, v in iv]
        if covered:
            u0, v0 = min(u for u, _ in covered), max(v for _, v in covered)
            if v0 - u0 > _MAX_PANELS:
                return self._failed_layout()
            grid = np.arange(math.ceil(u0), math.floor(v0) + 1.0)
            pts = np.unique(np.concatenate([np.asarray(ends, dtype=float), grid]))
            pts = pts[(pts >= u0) & (pts <= v0)]
            l, r = pts[:-1], pts[1:]
            mid = 0.5 * (l + r)
            rate = np.full(l.shape, -1.0)
            for lam, iv in kept:
                on = np.zeros(l.shape, dtype=bool)
                for u, v in iv:
                    on |= (mid > u) & (mid < v)
                if on.any():
                    steep = np.maximum(np.abs(self._dphi(l, lam)), np.abs(self._dphi(r, lam)))
                    rate = np.where(on, np.maximum(rate, steep), rate)
            keep = rate >= 0.0
            l, r, rate = l[keep], r[keep], rate[keep]
            n = np.maximum(1, np.ceil(rate * (r - l) / _RATE)).astype(np.int64)
            if int(n.sum()) > _MAX_PANELS:
                return self._failed_layout()
            # n[i] equal sub-panels of each piece, without a Python loop. Each panel's right
            # end is the next one's left end, the same double: panels 1e-9 wide at ℓ = 0.5
            # (t ~ 1e7) are 1e-8 of their width apart otherwise, and the sum drifted by 1e-10
            idx = np.repeat(np.arange(l.shape[0]), n)
            k = np.arange(idx.shape[0]) - np.repeat(np.cumsum(n) - n, n)
            L = l[idx] + k * ((r - l)[idx] / n[idx])
            R = np.where(k + 1 == n[idx], r[idx], np.append(L[1:], 0.0))
            half = 0.5 * (R - L)
            mid = 0.5 * (L + R)
            x = (mid[:, None] + half[:, None] * _GL_X[None, :]).ravel()
            # distances to the ends from the panel ends (a − R and L + a are exact near
            # their end, Sterbenz), not a − x: the tilted law at t ~ 1e7 lives within 1e-5
            # of an end, where a − x keeps only u·a/1e-5 of its digits
            to_hi = ((a - R)[:, None] + half[:, None] * (1.0 - _GL_X)[None, :]).ravel()
            to_lo = ((L + a)[:, None] + half[:, None] * (1.0 + _GL_X)[None, :]).ravel()
            with np.errstate(divide="ignore"):
                lw = (_LOG_QUARTER - 0.5 * (x + a)
                      + np.log(half[:, None] * _GL_W[None, :]).ravel())
        else:
            x = lw = to_hi = to_lo = np.zeros(0)
        ell = np.concatenate([[-a, a], x])
        lmu = np.concatenate([[_LOG_HALF, _LOG_HALF - a], lw])
        return _Layout(ell, lmu, np.asarray(self.g(ell), dtype=float), True,
                       np.concatenate([[0.0, 2.0 * a], to_lo]),
                       np.concatenate([[2.0 * a, 0.0], to_hi]))

    @staticmethod
    def _failed_layout() -> _Layout:
        z = np.zeros(0)
        return _Layout(z, z, z, False)

    def _cut_at(self, c: float) -> Tuple[float, ...]:
        """The ℓ where L = c, if inside (−a, a) (the kink of |L − c|)."""
        if not self.lo_loss < c < self.hi_loss:
            return ()
        x = float(self.ginv(self.sign * c))
        return (x,) if -self.a < x < self.a else ()

    # -- CGF ------------------------------------------------------------------------------
    def _lam_tilt(self, t: float) -> float:
        """λ of Q tilted by e^{tL}: e^{tL}·Q = e^{(λ_Q + sign·t)g}·μ."""
        return self._lam_Q + self.sign * t

    def _cgf_binomial(self, n: int) -> float:
        """log E_μ[(1 − q + q·e^ℓ)^n] = log Σ_k C(n,k)(1 − q)^{n−k} q^k M(k) with
        M(k) = E_μ[e^{kℓ}] = ½e^{−ka} + ½e^{(k−1)a} + ¼e^{(k−1)a}(1 − e^{−(2k−1)a})/(k − ½)
        (k ≥ 1; M(0) = 1): positive terms only (docs/math.md §2.7)."""
        a = self.a
        k = np.arange(n + 1, dtype=float)
        lg = np.array([math.lgamma(j + 1.0) for j in range(n + 1)])
        lc = lg[n] - lg - lg[::-1]
        with np.errstate(divide="ignore"):
            km = k[1:]
            lm = np.logaddexp(np.logaddexp(_LOG_HALF - km * a, _LOG_HALF + (km - 1) * a),
                              _LOG_QUARTER + (km - 1) * a
                              + np.log(-np.expm1(-(2 * km - 1) * a)) - np.log(km - 0.5))
        lm = np.concatenate([[0.0], lm])
        terms = lc + (n - k) * self._l1q + k * self._lq + lm
        m = terms.max()
        return float(m + math.log(np.exp(terms - m).sum()))

    def _cgf_scalar(self, t: float) -> float:
        if not t > -1.0:
            raise ValueError(f"t must be > -1 for the CGF, got {t!r}")
        if t == 0.0:
            return 0.0
        hit = self._cgf_cache.get(t)
        if hit is not None:
            return hit
        lam = self._lam_tilt(t)
        val = math.nan
        if self.direction == "remove" and lam == math.floor(lam) and 2 <= lam <= _MAX_BINOMIAL:
            val = self._cgf_binomial(int(lam))
        if not abs(val) > _SPLIT:
            # λ − 1 from t itself: 1 + t rounds away the low digits of a small t
            tau = t if self.direction == "remove" else -(1.0 + t)
            val = self._cgf_quadrature(lam, tau)
        if len(self._cgf_cache) < 100_000:
            self._cgf_cache[t] = val
        return val

    def _cgf_quadrature(self, lam: float, tau: float | None = None) -> float:
        """log E_μ[e^{λg}]: a log-sum-exp over the nodes, or where that is small, log1p of
        E_μ[ψ_λ(g)] with ψ_λ(x) = expm1(λx) − λ·expm1(x), which has one sign (E_μ[e^g] = 1)
        and is formed without cancellation (docs/math.md §2.7); ``tau`` = λ − 1 exactly."""
        lay = self._layout((lam, 0.0, 1.0))
        if not lay.ok:
            return math.nan
        lw, G = lay.lmu, lay.G
        z = lw + lam * G
        m = float(z.max())
        direct = m + math.log(float(np.exp(z - m).sum()))
        if abs(direct) > _SPLIT or not math.isfinite(direct):
            return direct
        return math.log1p(float(self._psi_weighted(G, lw, lam, tau).sum()))

    @staticmethod
    def _psi_weighted(x, lw, lam: float, tau: float | None = None):
        """e^{lw}·(expm1(λx) − λ·expm1(x)), term by term in a form without cancellation:
        for λ ≤ ½ as e1(λx) − λ·e1(x) (e1(y) = expm1(y) − y; one sign when λ ≤ 0, a
        cancellation of at most (1 + λ)/(1 − λ) ≤ 3 otherwise); for λ > ½, with τ = λ − 1,
        as e^x·e1(τx) + τ·e2(x) (e2(x) = x·e^x − expm1(x); one sign when τ ≥ 0, at most a
        factor 3 lost otherwise). Exponentials are combined with the weights before they are
        taken, so nothing overflows where e^{λx}·μ does not."""
        w = np.exp(lw)
        with np.errstate(over="ignore", invalid="ignore"):
            if lam <= 0.5:
                y = lam * x
                ta = np.where(np.abs(y) <= 0.5, w * _e1(np.where(np.abs(y) <= 0.5, y, 0.0)),
                              np.exp(lw + y) - w * (1.0 + y))
                tb = np.where(np.abs(x) <= 0.5, w * _e1(np.where(np.abs(x) <= 0.5, x, 0.0)),
                              np.exp(lw + x) - w * (1.0 + x))
                return ta - lam * tb
            tau = lam - 1.0 if tau is None else tau
            y = tau * x
            t1 = np.where(np.abs(y) <= 0.5,
                          np.exp(lw + x) * _e1(np.where(np.abs(y) <= 0.5, y, 0.0)),
                          np.exp(lw + lam * x) - np.exp(lw + x) * (1.0 + y))
            t2 = np.where(np.abs(x) <= 0.5, w * _e2(np.where(np.abs(x) <= 0.5, x, 0.0)),
                          np.exp(lw + x) * (x - 1.0) + w)
            return t1 + tau * t2

    def cgf(self, t: float | np.ndarray) -> float | np.ndarray:
        """K_Y(t) = log E_Q[e^{tL}] = log E_μ[e^{λg}], λ = 1 + t (remove) or −t (add), real
        t > −1 (docs/math.md §2.7): the binomial closed form at integer orders of the
        remove direction (2 ≤ λ ≤ 512), Gauss–Legendre panels otherwise. NaN where the
        panel layout is out of reach (the RDP accountant then skips that order)."""
        if np.ndim(t):
            arr = np.asarray(t, dtype=float)
            return np.array([self._cgf_scalar(float(v)) for v in arr.ravel()]).reshape(arr.shape)
        return self._cgf_scalar(float(t))

    def cgf_upper(self, t: float) -> Optional[float]:
        """A proven upper bound on K_Y(t), t > 0: x ↦ x^{1+t} and x ↦ x^{−t} are convex, so
        (1 − q + q·e^ℓ)^λ ≤ 1 − q + q·e^{λℓ} and K_Y(t) ≤ log1p(q·expm1(K_Lap(t))) in both
        directions, K_Lap the Laplace CGF at s = 1 (docs/math.md §2.7). Raised by 1e-12
        relative for the rounding of the closed forms."""
        if not t > 0:
            return None
        kl = LaplaceLoss(self.scale, 1.0).cgf(float(t))
        # log(1 − q + q·e^{K_Lap}) is g(K_Lap)
        return max(float(self.g(kl)), 0.0) * (1.0 + 1e-12) + 1e-300

    @property
    def quadrature_size(self) -> int:
        return 2

    def _below_top(self, lay: _Layout):
        """D = sup L − L at the layout's points, ≥ 0. Remove: sup L = g(a) and
        D = −log(1 − κ + κe^{−(a−ℓ)}), κ = q e^a/e^{g(a)}; add: sup L = −g(−a) and
        D = log(1 − κ + κe^{ℓ+a}), κ = q e^{−a}/e^{g(−a)} — both g-shaped in the distance to
        the end, so accurate where that distance is small."""
        a = self.a
        # log κ and log(1 − κ) each from its own logistic form (κ rounds to 1 at a = 100)
        z = self._l1q - self._lq + (-a if self.direction == "remove" else a)
        lk, l1k = -float(np.logaddexp(0.0, z)), -float(np.logaddexp(0.0, -z))
        if self.direction == "remove":
            return -np.asarray(_g(-lay.to_hi, math.exp(lk), lk, l1k))
        return np.asarray(_g(lay.to_lo, math.exp(lk), lk, l1k))

    # -- moments and tilted laws ---------------------------------------------------------------
    def moments(self, under: str) -> StepMoments:
        """Moments of L under "P" or "Q" (docs/math.md §5, §2.7): the mean from the
        non-negative integrands −E_P[L] = E_P[expm1 L − L], E_Q[L] = E_P[L e^L − expm1 L]
        (no cancellation at small q), then the central moments about it in one pass."""
        if under not in ("P", "Q"):
            raise ValueError(f"under must be 'P' or 'Q', got {under!r}")
        lp = self._lam_P
        lay = self._layout((lp, self._lam_Q))
        if not lay.ok:
            return _failed_moments()
        L = self.sign * lay.G
        lwp = lay.lmu + lp * lay.G
        with np.errstate(over="ignore", invalid="ignore"):
            if under == "Q":
                # w_P·(L e^L − expm1 L); past L = 1 as w_Q·(L − 1 + e^{−L}) (no overflow)
                big = L > 1.0
                terms = np.where(big, np.exp(lwp + L) * (L - 1.0 + np.exp(-np.where(big, L, 0.0))),
                                 np.exp(lwp) * _e2(np.where(big, 0.0, L)))
                mean = float(terms.sum())
            else:
                big = L > 1.0
                terms = np.where(big, np.exp(lwp + L) - np.exp(lwp) * (1.0 + L),
                                 np.exp(lwp) * _e1(np.where(big, 0.0, L)))
                mean = -float(terms.sum())
        if not math.isfinite(mean):
            return _failed_moments()
        lam = self._lam_Q if under == "Q" else lp
        lay = self._layout((lam,), self._cut_at(mean))
        if not lay.ok:
            return _failed_moments()
        w = np.exp(lay.lmu + lam * lay.G)
        v = moment_sums(w, self.sign * lay.G - mean)
        m0 = v[0]
        mu = v / m0
        r = mu[1]
        mu2 = mu[2] - r * r
        mu3 = mu[3] - 3 * r * mu[2] + 2 * r ** 3
        mu4 = mu[4] - 4 * r * mu[3] + 6 * r * r * mu[2] - 3 * r ** 4
        mu5 = mu[5] - 5 * r * mu[4] + 10 * r * r * mu[3] - 10 * r ** 3 * mu[2] + 4 * r ** 5
        rel = _QUAD_REL + 4.0 * abs(m0 - 1.0)
        # The mean stays the one from the one-signed integrand: the residual r of the
        # central pass is a sum of both signs, accurate only to u·E|L| (3e-11 of the mean
        # at q = 1e-5); it serves only to re-centre the central moments.
        return from_central(mean, mu2, mu3, mu4, mu5, mu[6], mu[7], rel)

    def tilted(self, t: float, centre: Optional[float] = None) -> Tilted:
        """K, K′, K″, P_t and K‴..K^(5) of L under Q tilted by e^{tL}, t > 0
        (docs/math.md §6, §2.7): the law e^{λg − K}·μ, λ = λ_Q ± t, summed over the atoms
        and the panels; ``centre`` (a guess of K′) is accepted and not needed."""
        t = float(t)
        lam = self._lam_tilt(t)
        K = float(self.cgf(t))
        work = CALL_WORK
        if not math.isfinite(K):
            return _failed_tilted(t, work)
        # Weights of the tilted law as e^{−|λ|·D + (λ·g(end) − K)}·μ with D = sup L − L ≥ 0
        # formed from the distance to the end of (−a, a) that holds sup L: at t ~ 1e7 the
        # exponent λ·g ~ 3e6 carries an absolute rounding of 6e-10, and the moments of a law
        # of sd 4e-11 were read from weights that far off; the constant only scales them.
        top = self.hi_loss
        g_end = float(self.g(self.a if self.direction == "remove" else -self.a))
        C = lam * g_end - K
        lay = self._layout((self._lam_P, lam, self._lam_Q))
        if not lay.ok:
            return _failed_tilted(t, work)
        work += lay.points * 22.0 / 15.0
        D = self._below_top(lay)
        w = np.exp(lay.lmu - abs(lam) * D + C)
        mD = float((w * D).sum() / w.sum())
        if mD <= 0.5 * abs(top):
            # K′ = sup L − E_t[D]: no cancellation (each term is accurate, E_t[D] ≤ sup L/2)
            c = top - mD
        else:
            # K′(t) = E_P[L e^{(1+t)L}]/e^K from the one-signed E_P[L e^{(1+t)L} − expm1 L]
            # (E_P[e^L] = 1): a sum Σ w·L of both signs keeps only u·E|L| absolute, 1.5e-11
            # of K′ at q = 1e-5
            L = self.sign * lay.G
            c = float(_lx_expm1(L, lay.lmu + self._lam_P * lay.G - K, 1.0 + t).sum())
        if not (math.isfinite(c) and math.isfinite(mD)):
            return _failed_tilted(t, work)
        # central moments about E_t[D] (d = E_t[D] − D = L − K′), panels cut at the kink
        lay = self._layout((lam,), self._cut_at(top - mD))
        if not lay.ok:
            return _failed_tilted(t, work)
        work += lay.points * 22.0 / 15.0
        D = self._below_top(lay)
        w = np.exp(lay.lmu - abs(lam) * D + C)
        mD = float((w * D).sum() / w.sum())
        v = moment_sums(w, mD - D)
        m0 = v[0]
        if not (m0 > 0 and np.all(np.isfinite(v))):
            return _failed_tilted(t, work)
        r = v[1] / m0
        # (r re-centres the central moments only; see the mean above)
        K1 = c
        K2 = v[2] / m0 - r * r
        # |E|d − r|³ − E|d|³| ≤ 3|r|·E(|d| + |r|)²: keep P_t an upper value
        Pt = v[7] / m0 + 3.0 * abs(r) * (v[2] / m0 + 2 * abs(r) * v[6] / m0 + r * r)
        k3, k4, k5 = higher_cumulants(v, m0, r)
        # m0 = e^{(quadrature K) − K}: its distance from 1 measures the two evaluations'
        # disagreement (the binomial and split forms of K are not the same sum) beyond the
        # rounding of K and λ·g(end) themselves
        dK = abs(math.log(m0))
        abs_err_K = 1e-13 * (1.0 + abs(K)) + 2.0 * dK
        excess = max(0.0, dK - 8.0 * _U * (1.0 + abs(K) + abs(lam * g_end)))
        rel = (_QUAD_REL + 4.0 * excess
               + (16.0 * _U * mD / math.sqrt(K2) if K2 > 0 else math.inf))
        return Tilted(t, K, float(K1), float(K2), float(Pt), abs_err_K, rel, k3, k4, k5,
                      float(work))


def _place(loc: float, i0: int, h: float, npts: int) -> Tuple[int, float, float]:
    """(k, t, s): the grid point ε_k = (i0 + k)·h with ε_{k−1} < loc ≤ ε_k, and the distances
    t = loc − ε_{k−1}, s = ε_k − loc, in exact arithmetic on the exact grid (t + s = h), each
    rounded once: an atom a hair below a grid point (log(1 − q + q·e^{−a}) = −1e-9 on a
    grid of step ½) kept s = 1e-9 only to 5e-8 as h − t."""
    x, hh = Fraction(loc), Fraction(h)
    j = math.ceil(x / hh)           # ε_j = j·h ≥ loc > ε_{j−1}
    k = j - i0
    if k < 1:
        # at or below ε_0: s = ε_0 − loc ≥ 0 (t unused)
        return k, 0.0, float(i0 * hh - x)
    if k >= npts:
        return k, 0.0, 0.0
    return k, float(x - (j - 1) * hh), float(j * hh - x)


def _lx_expm1(L, lw, lam: float):
    """e^{lw}·(L·expm1(λL) − e1(L)) = e^{lw}·(L·e^{λL} − expm1 L) ≥ 0 for λ ≥ 1, term by
    term: near 0 both parts are ~L² (the difference ≥ half the first), past L = 1 the
    exponentials are taken with the weight so that nothing overflows."""
    w = np.exp(lw)
    small = np.abs(L) <= 1.0
    Ls = np.where(small, L, 0.0)
    y = lam * Ls
    with np.errstate(over="ignore", invalid="ignore"):
        # w·expm1(λL), with e^{λL} taken together with the weight where λL is large
        wexp = np.where(np.abs(y) <= 0.5, w * np.expm1(np.where(np.abs(y) <= 0.5, y, 0.0)),
                        np.exp(lw + y) - w)
        near = Ls * wexp - w * _e1(Ls)
        far = L * np.exp(lw + lam * L) - np.exp(lw + L) + w
    return np.where(small, near, far)




def _failed_moments() -> StepMoments:
    """Moments beyond the panel budget: NaN values, infinite error (refused by the
    accountants, as for the mixtures)."""
    nan = math.nan
    return StepMoments(nan, nan, nan, nan, nan, nan, nan, nan, nan, nan, nan, math.inf)


def _failed_tilted(t: float, work: float) -> Tilted:
    nan = math.nan
    return Tilted(t, nan, nan, nan, nan, math.inf, math.inf, nan, nan, nan, float(work))


@register_loss(SubsampledLaplace)
def _subsampled_laplace(mechanism: SubsampledLaplace) -> Tuple[PrivacyLoss, ...]:
    b, q = mechanism.noise_multiplier, mechanism.sample_rate
    if q == 0.0:
        return identity_loss(b)
    if q == 1.0:
        # the Laplace mechanism: one symmetric direction, its own closed forms
        return (LaplaceLoss(b, 1.0),)
    return SubsampledLaplaceLoss(b, q, "remove"), SubsampledLaplaceLoss(b, q, "add")
