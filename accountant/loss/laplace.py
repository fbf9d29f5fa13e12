"""Privacy loss of the Laplace mechanism: P = Lap(0, b), Q = Lap(s, b).

L(x) = (|x| − |x − s|)/b is −s/b for x ≤ 0, (2x − s)/b on (0, s) and s/b for x ≥ s, so L has
atoms at ±s/b. Everything is closed form.
"""
from __future__ import annotations

import math
from fractions import Fraction
from typing import Optional, Tuple

import numpy as np

from ..core.rounding import _KAPPA, _NEG, _U, round_up
from .base import PrivacyLoss
from .results import (CALL_WORK, PldCells, PldSupport, StepMoments, Tilted, from_central,
                      higher_cumulants, moment_sums)

_CALL_WORK = CALL_WORK


class LaplaceLoss(PrivacyLoss):
    cgf_exact = True      # closed form (docs/math.md §2.2)

    def __init__(self, scale: float, sensitivity: float = 1.0, direction: str = "remove") -> None:
        self.scale = float(scale)
        self.sensitivity = float(sensitivity)
        self.direction = direction
        self.eps0 = self.sensitivity / self.scale
        self.lo_loss, self.hi_loss = -self.eps0, self.eps0

    def __repr__(self):
        return f"LaplaceLoss(scale={self.scale}, sensitivity={self.sensitivity})"

    def loss(self, x: float | np.ndarray) -> float | np.ndarray:
        x = np.asarray(x, dtype=float)
        out = (np.abs(x) - np.abs(x - self.sensitivity)) / self.scale
        return out if out.ndim else float(out)

    def inverse_loss(self, eps: float | np.ndarray) -> float | np.ndarray:
        e = np.asarray(eps, dtype=float)
        out = np.where(e <= -self.eps0, -np.inf,
                       np.where(e >= self.eps0, np.inf, (e * self.scale + self.sensitivity) / 2))
        return out if out.ndim else float(out)

    def log_hockey_stick(self, eps: float | np.ndarray) -> float | np.ndarray:
        """δ(ε) = 1 − e^{(ε − s/b)/2} on [−s/b, s/b), 1 − e^ε below, 0 from s/b on."""
        e = np.asarray(eps, dtype=float)
        with np.errstate(divide="ignore"):
            mid = np.log(-np.expm1(np.minimum((e - self.eps0) / 2, -0.0)))
            low = np.log(-np.expm1(np.minimum(e, -0.0)))
        out = np.where(e >= self.eps0, -np.inf, np.where(e < -self.eps0, low, mid))
        return out if out.ndim else float(out)

    def log_sf(self, eps: float | np.ndarray, under: str = "Q") -> float | np.ndarray:
        """log P[L > ε]; the atoms at ±s/b carry ½e^{-s/b}-type masses."""
        if under not in ("P", "Q"):
            raise ValueError(f"under must be 'P' or 'Q', got {under!r}")
        e = np.asarray(eps, dtype=float)
        b, s = self.scale, self.sensitivity
        x = np.clip((e * b + s) / 2, 0.0, s)
        if under == "Q":
            # Q = Lap(s, b): P[X > x] = 1 − ½e^{(x−s)/b} for x ≤ s.
            val = np.log1p(-0.5 * np.exp((x - s) / b))
        else:
            val = np.log(0.5) - x / b
        with np.errstate(divide="ignore"):
            out = np.where(e >= self.eps0, -np.inf, np.where(e < -self.eps0, 0.0, val))
        return out if out.ndim else float(out)

    def moments(self, under: str) -> StepMoments:
        """Moments of L under "P" or "Q": exact atoms plus Gauss–Legendre panels."""
        return _laplace_moments(self, under)

    def tilted(self, t: float, centre: Optional[float] = None) -> Tilted:
        """The law of L under Q tilted by e^{tL} (``centre`` is not needed here)."""
        return _laplace_tilted(self, t)

    def sup_loss_upper(self) -> Fraction:
        """sup L = s/b exactly, as a rational."""
        return Fraction(self.sensitivity) / Fraction(self.scale)

    def sup_loss_lower(self) -> Fraction:
        """sup L = s/b exactly (the bound of both sides)."""
        return self.sup_loss_upper()

    # -- certified one-step answers (docs/math.md §2.2) -----------------------------------
    def log_delta_bound(self, eps: float, side: str) -> float:
        """δ(ε) = 1 − e^{(ε − ε₀)/2} on [−ε₀, ε₀), 0 above, with ε₀ = s/b taken exactly
        (rational arithmetic), not as the rounded quotient: t = (ε − ε₀)/2 is then one
        rounding away from exact and −expm1(t) two."""
        t = (Fraction(eps) - Fraction(self.sensitivity) / Fraction(self.scale)) / 2
        if t >= 0:
            return _NEG
        tf = float(t)
        up = side == "upper"
        tf = tf * (1.0 + 2 * _U) if up else tf * (1.0 - 2 * _U)
        if tf >= 0:
            return _NEG
        ld = math.log(-math.expm1(tf))
        pad = _KAPPA * _U * (abs(ld) + 1.0)
        return ld + pad if up else ld - pad

    def delta_zero_above(self) -> float:
        """δ(ε) = 0 for ε ≥ s/b: the rounded ε₀ pushed past the exact one."""
        return self.eps0 * (1.0 + 4 * _U) + 1e-300

    def epsilon_bound(self, delta: float, side: str = "upper",
                      guess: Optional[float] = None) -> float:
        """ε(δ) = max(0, ε₀ + 2·log(1 − δ)) in closed form. The root search on log δ cannot
        resolve δ near 1: its pad of κu on log δ is 64 times the whole of log δ at
        δ = 1 − 2⁻⁵³, where the bracket was [0, 37.7] around the true 29.31 (s/b = 102.8).
        log1p is within 1 ulp; 4u on it and rational arithmetic for the rest (ε₀ exact) leave
        only the final rounding, taken outward."""
        if not 0.0 < delta < 1.0:
            raise ValueError(f"delta must be in (0, 1), got {delta!r}")
        lg = math.log1p(-delta)                       # < 0
        lg = Fraction(lg) * (1 - Fraction(4, 2 ** 53) if side == "upper"
                             else 1 + Fraction(4, 2 ** 53))
        e = Fraction(self.sensitivity) / Fraction(self.scale) + 2 * lg
        if e <= 0:
            return 0.0
        if side == "upper":
            return round_up(e)
        f = float(e)
        return f if Fraction(f) <= e else math.nextafter(f, 0.0)

    def eps0_bracket(self) -> Tuple[float, float]:
        """(down, up): the doubles next to the exact s/b on either side. ``eps0`` is the
        nearest one and may lie below s/b (b = 6.9e8: by 1e-25, and δ(eps0) = 4.5e-26)."""
        exact = Fraction(self.sensitivity) / Fraction(self.scale)
        f = float(exact)
        if Fraction(f) == exact:
            return f, f
        return (f, math.nextafter(f, math.inf)) if Fraction(f) < exact else \
            (math.nextafter(f, 0.0), f)

    def pld_support(self, log_tau_lo: float, log_tau_hi: float, floor: float) -> PldSupport:
        """The whole loss range [−ε₀, ε₀] with its two atoms (docs/math.md §4), for the ε₀
        rounded up (see :meth:`pld_cells`); no tail is left out."""
        _, e_up = self.eps0_bracket()
        return PldSupport(min(float(self.lo_loss), -e_up), max(float(self.hi_loss), e_up),
                          None, True, 2)

    def pld_cells(self, i0: int, h: float, npts: int) -> Tuple[PldCells, PldCells]:
        """(upper, lower) :class:`PldCells` on ε_i = (i0 + i)·h. The rounded s/b may lie an
        ulp below the true one: the top atom then sat below its true place (δ there is not
        0 but ~ulp/2, which decides ε at δ = 1e-300). The upper cells are built for the ε₀
        rounded up (a dominating pair), the lower ones for ε₀ rounded down (a dominated
        pair), on one grid covering both."""
        e_dn, e_up = self.eps0_bracket()
        a, b, Fb, Qb, r0, Pt, dtop = self._cells_at(i0, h, npts, e_up)
        lw = math.log(dtop) if dtop > 0 else -math.inf
        up = PldCells(a, b, Fb, Qb, r0, Pt, dtop, lw)
        if e_dn == e_up:
            return up, up
        a, b, Fb, Qb, r0, Pt, _ = self._cells_at(i0, h, npts, e_dn)
        return up, PldCells(a, b, Fb, Qb, r0, Pt, dtop, lw)

    def _cells_at(self, i0: int, h: float, npts: int, eps0: float | None = None):
        """Cell integrals of the PLD discretisation on the grid ε_i = (i0 + i)·h, i < npts,
        in closed form (docs/math.md §2.2, §4, :mod:`accountant.accountants.pld._kernels`):
        ``(a, b, Fb, Qb, r0, Pt, dtop)`` with, for cell i = (ε_i, ε_{i+1}],
        a_i = E_P[expm1(L − ε_i); cell]/expm1(h) and b_i = E_P[e^h − e^{L−ε_i}; cell]/expm1(h);
        Fb = P[L ≤ ε_0], Qb = Q[L ≤ ε_0], r0 = E_P[(e^{ε_0} − e^L)_+], Pt = P[L > ε_{n}],
        dtop = δ(ε_n). The grid must cover [−ε₀, ε₀] (ε_0 ≤ −s/b, ε_n ≥ s/b).
        ``eps0`` replaces s/b (the profile grows with ε₀, so an ε₀ rounded up gives a
        dominating pair and one rounded down a dominated pair).

        Under P, L has an atom ½ at −ε₀, an atom ½e^{−ε₀} at ε₀ and the density
        ¼e^{−(ℓ+ε₀)/2} on (−ε₀, ε₀). On the part [ε_i + t0, ε_i + t1] of a cell (c = the
        density at ε_i):
        ∫ c e^{−t/2}(e^t − 1) dt = 2c·e^{t0/2}·expm1((t1 − t0)/2)·(−expm1(−(t0 + t1)/2)),
        ∫ c e^{−t/2}(e^h − e^t) dt = 2c·e^{t0/2}·expm1((t1 − t0)/2)·expm1(h − (t0 + t1)/2),
        products of non-negative factors (no cancellation, a few ulps each), unlike
        differences of the tail probabilities, which lose everything at s/b ≳ 30.
        """
        e0 = self.eps0 if eps0 is None else float(eps0)
        em1h = math.expm1(h)
        ncell = npts - 1
        eps = (i0 + np.arange(npts)) * h
        if not (eps[0] <= -e0 and eps[-1] >= e0):
            raise ValueError("the PLD grid must cover the Laplace loss range")
        el = eps[:-1]
        t0 = np.clip(-e0 - el, 0.0, h)
        t1 = np.clip(e0 - el, 0.0, h)
        width = np.maximum(t1 - t0, 0.0)
        # log of 2c = ½e^{−(ε_i + ε₀)/2}, then ×e^{t0/2}
        lc = math.log(0.5) - 0.5 * (el + e0) + 0.5 * t0
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            common = np.where(width > 0, np.exp(lc) * np.expm1(0.5 * width), 0.0)
            a = common * -np.expm1(-0.5 * (t0 + t1)) / em1h
            b = common * np.expm1(np.maximum(h - 0.5 * (t0 + t1), 0.0)) / em1h
        Fb = Qb = 0.0
        # Atom ½ at −ε₀ (Q-mass ½e^{−ε₀}).
        j = int(np.searchsorted(eps, -e0, side="left"))   # eps[j] ≥ −ε₀ > eps[j−1]
        if j == 0:
            Fb, Qb = 0.5, 0.5 * math.exp(-e0)
        else:
            t = -e0 - eps[j - 1]
            a[j - 1] += 0.5 * math.expm1(t) / em1h
            b[j - 1] += 0.5 * math.exp(t) * math.expm1(h - t) / em1h
        # Atom ½e^{−ε₀} at ε₀ (Q-mass ½).
        k = int(np.searchsorted(eps, e0, side="left"))
        if 0 < k <= ncell:
            t = e0 - eps[k - 1]
            m = 0.5 * math.exp(-e0)
            a[k - 1] += m * math.expm1(t) / em1h
            b[k - 1] += m * math.exp(t) * math.expm1(h - t) / em1h
        return a, b, Fb, Qb, 0.0, 0.0, 0.0

    def cgf(self, t: float | np.ndarray) -> float | np.ndarray:
        """K_Y(t) = log[ (1+t)/(1+2t)·e^{t s/b} + t/(1+2t)·e^{−(1+t) s/b} ] (Mironov 2017,
        Laplace RDP with α = 1 + t); the removable singularity at t = −½ is taken by its limit."""
        def one(t):
            t = float(t)
            if not t > -1.0:
                raise ValueError(f"t must be > -1 for the CGF, got {t!r}")
            if t == 0.0:
                return 0.0
            e0 = self.eps0
            if abs(1 + 2 * t) < 1e-9:
                # limit (l'Hôpital): N′(−½)/2 with N(t) = (1+t)e^{t e0} + t e^{−(1+t)e0},
                # N′(−½) = e^{−e0/2}(2 + e0); so K(−½) = −e0/2 + log(1 + e0/2).
                return -e0 / 2 + math.log1p(e0 / 2)
            a = math.log((1 + t) / (1 + 2 * t)) + t * e0 if (1 + t) / (1 + 2 * t) > 0 else None
            bterm = t / (1 + 2 * t)
            if a is not None and bterm >= 0:
                lb = math.log(bterm) - (1 + t) * e0 if bterm > 0 else -math.inf
                m = max(a, lb)
                return m + math.log(math.exp(a - m) + math.exp(lb - m))
            # −1 < t < −½: both coefficients have signs that still give a positive sum.
            return math.log((1 + t) / (1 + 2 * t) * math.exp(t * e0)
                            + t / (1 + 2 * t) * math.exp(-(1 + t) * e0))
        if np.ndim(t):
            return np.array([one(ti) for ti in np.ravel(t)]).reshape(np.shape(t))
        return one(t)

# ----------------------------------------------------------------------------------------
# Laplace: L has atoms at ±a (a = s/b) and an exponential density on (−a, a)
# (under P: ¼e^{−(l+a)/2}; under Q: ¼e^{(l−a)/2}); everything is an exact sum of the
# atoms plus Gauss–Legendre panels on which the exponential varies by at most e^{8}.
# ----------------------------------------------------------------------------------------
_GL_X, _GL_W = np.polynomial.legendre.leggauss(40)


def _laplace_parts(a: float, under: str, t: float):
    """(atom locations, log atom masses, log density coefficient λ, log c0) for the law of L
    under P (t ignored), Q, or Q tilted by e^{tL} (unnormalised): density e^{c0 + λ l}."""
    if under == "P":
        return np.array([-a, a]), np.array([math.log(0.5), math.log(0.5) - a]), -0.5, math.log(0.25) - a / 2
    # Q tilted by e^{tL}: atoms e^{∓ta} times Q's atoms, density times e^{tl}.
    return (np.array([-a, a]), np.array([math.log(0.5) - a - t * a, math.log(0.5) + t * a]),
            0.5 + t, math.log(0.25) - a / 2)


def _laplace_integrals(a, atoms, logm, lam, c0, c, shift):
    """Σ over atoms and the density of e^{−shift}·[1, d, d², d³, d⁴, d⁵, |d|, |d|³], d = l − c."""
    # Panels: split at c (the kink of |d|) and so that λ·width ≤ 8 on each; where the
    # exponential is below e^{-60} of its peak (|λ| large: strong tilts) it is dropped.
    lo_end, hi_end = -a, a
    if lam * 2 * a > 60.0:
        lo_end = a - 60.0 / lam
    elif -lam * 2 * a > 60.0:
        hi_end = -a - 60.0 / lam
    ends = [lo_end, hi_end]
    if lo_end < c < hi_end:
        ends.insert(1, c)
    xs, lw = [atoms], [logm]
    for lo, hi in zip(ends[:-1], ends[1:]):
        m = max(1, int(math.ceil(abs(lam) * (hi - lo) / 8.0)))
        edges = np.linspace(lo, hi, m + 1)
        half = 0.5 * np.diff(edges)
        x = (0.5 * (edges[:-1] + edges[1:]))[:, None] + half[:, None] * _GL_X[None, :]
        xs.append(x.ravel())
        lw.append((c0 + lam * x + np.log(half[:, None] * _GL_W[None, :])).ravel())
    x = np.concatenate(xs)
    w = np.exp(np.concatenate(lw) - shift)
    return moment_sums(w, x - c)


def _laplace_moments(loss: LaplaceLoss, under: str) -> StepMoments:
    a = loss.eps0
    atoms, logm, lam, c0 = _laplace_parts(a, under, 0.0)
    # Mean in closed form: E_Q[L] = KL(Q‖P) = a − 1 + e^{−a} = −E_P[L] (symmetric pair).
    kl = a + math.expm1(-a)
    mean = kl if under == "Q" else -kl
    v = _laplace_integrals(a, atoms, logm, lam, c0, mean, 0.0)
    mu = v / v[0]
    return from_central(mean, mu[2], mu[3], mu[4], mu[5], mu[6], mu[7], 1e-13)


def _laplace_tilted(loss: LaplaceLoss, t: float) -> Tilted:
    a = loss.eps0
    atoms, logm, lam, c0 = _laplace_parts(a, "Q", t)
    K = float(loss.cgf(t))
    v1 = _laplace_integrals(a, atoms, logm, lam, c0, 0.0, K)
    c = v1[1] / v1[0]
    v = _laplace_integrals(a, atoms, logm, lam, c0, c, K)
    r = v[1] / v[0]
    K1 = c + r
    K2 = v[2] / v[0] - r * r
    Pt = v[7] / v[0] + 3.0 * abs(r) * (v[2] / v[0] + 2 * abs(r) * v[6] / v[0] + r * r)
    k3, k4, k5 = higher_cumulants(v, v[0], r)
    return Tilted(t, K, float(K1), float(K2), float(Pt), 1e-13 * (1 + abs(K)), 1e-12, k3, k4, k5,
                  _CALL_WORK)
