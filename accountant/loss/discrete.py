"""Privacy losses of the discrete and guarantee-level steps (docs/math.md §10): the
discrete Laplace and discrete Gaussian mechanisms, k-ary randomized response, a step known
only to be (ε, δ)-DP and a step known only to be (ξ, ρ)-zCDP.

The first four are pairs with finitely many atoms (:class:`~accountant.loss.finite.FiniteLoss`;
the discrete Gaussian's infinitely many are truncated with proven tail bounds, §10.3). A
zCDP step has no known pair, only the bound D_α ≤ ξ + ρα: :class:`ZCDPLoss` answers the
CGF (RDP) and a one-step upper bound, and every other accountant refuses it.

Size: five mechanism families with their registrations; the discrete Gaussian (closed-form
CGF by theta functions, truncation bounds, moments) is the largest part.
"""
from __future__ import annotations

import math
from fractions import Fraction
from typing import Optional, Tuple

import numpy as np

from ..core.mechanisms import (ZCDP, DiscreteGaussian, DiscreteLaplace, EpsilonDelta,
                               RandomizedResponse)
from ..core.rounding import _U
from .base import PrivacyLoss
from .finite import FiniteLoss
from .registry import register_loss
from .results import CALL_WORK, PldCells, PldSupport, StepMoments, Tilted

__all__ = ["DiscreteGaussianLoss", "EpsilonDeltaLoss", "ZCDPLoss", "discrete_laplace_loss",
           "randomized_response_loss", "MAX_DISCRETE_GAUSSIAN_ATOMS"]

_NEG = -math.inf
# Relative error of a mass formed by a handful of correctly rounded operations (log1p,
# expm1, a product, a quotient): a few u each; 32u leaves room.
_MASS_REL = 32 * _U


def _log_delta_from_cgf(cgf_upper, eps: float, centre: float) -> float:
    """An upper bound on log δ(ε) of one step from upper bounds on its CGF K_Y(t), t > 0:
    min over orders α = 1 + t of the RDP conversion (Canonne, Kamath & Steinke 2020,
    Prop. 12; docs/math.md §3.2), log δ ≤ K(α − 1) − (α − 1)ε + (α − 1)log(1 − 1/α) − log α,
    each order's value rounded up, so that the minimum over the orders tried is a bound.
    Orders: a geometric scan and a finer one around ``centre`` (a guess of the best α)."""
    def f(al):
        k = cgf_upper(al - 1.0)
        if k is None or not k < math.inf:
            return math.inf
        a = math.log1p(-1.0 / al)
        v = k - (al - 1.0) * (eps - a) - math.log(al)
        err = abs(k) + (al - 1.0) * (abs(eps) + abs(a)) + abs(math.log(al)) + abs(v)
        return v + 64 * _U * err
    orders = np.concatenate([1.0 + np.geomspace(1e-6, 1e6, 121),
                             max(centre, 1.0 + 1e-9) * np.geomspace(0.5, 2.0, 41)])
    best = math.inf
    for al in orders.tolist():
        if al > 1.0:
            best = min(best, f(al))
    return min(best, 0.0)


def _sensitivity(mechanism, base: int) -> int:
    """An integer query moves by Δ under add/remove and by 2Δ under replace-one (the two
    records' contributions each move it by Δ), as the clipped mechanisms' 1 and 2."""
    return 2 * base if mechanism.neighboring == "replace_one" else base


# ----------------------------------------------------------------------------------------
# Discrete Laplace (docs/math.md §10.2)
# ----------------------------------------------------------------------------------------
def discrete_laplace_loss(a: float, sens: int) -> FiniteLoss:
    """P(x) = tanh(a/2)·e^{−a|x|} on ℤ vs the same shifted by Δ = ``sens``:
    L(x) = a(|x| − |x − Δ|) takes the values a·(2x − Δ), x = 0..Δ, with P-masses
    1/(1 + e^{−a}) at x = 0 (all x ≤ 0), tanh(a/2)e^{−ax} for 0 < x < Δ and
    e^{−aΔ}/(1 + e^{−a}) at x = Δ (all x ≥ Δ). Symmetric (x ↦ Δ − x)."""
    x = np.arange(sens + 1, dtype=float)
    ell = a * (2.0 * x - sens)
    l1 = math.log1p(math.exp(-a))                 # log(1 + e^{−a})
    lc = math.log(-math.expm1(-a)) - l1           # log tanh(a/2)
    lp = lc - a * x
    lp[0] = -l1
    if sens >= 1:
        lp[-1] = -a * sens - l1
    # ℓ = a·k with |k| ≤ Δ an integer: one rounding (2x − Δ is exact), |error| ≤ u|ℓ|
    loc = 2 * _U * a * sens
    return FiniteLoss(ell, lp, mass_rel=_MASS_REL + 2 * loc + 2 * _U * a * sens,
                      loc_err=loc, sup_exact=Fraction(a) * sens)


@register_loss(DiscreteLaplace)
def _discrete_laplace(mechanism: DiscreteLaplace) -> Tuple[PrivacyLoss, ...]:
    return (discrete_laplace_loss(mechanism.noise_parameter,
                                  _sensitivity(mechanism, mechanism.sensitivity)),)


# ----------------------------------------------------------------------------------------
# Randomized response (docs/math.md §10.2)
# ----------------------------------------------------------------------------------------
def randomized_response_loss(p: float, k: int) -> FiniteLoss:
    """k-ary randomized response, true bucket 0 vs 1: outcome 0 has P = 1 − p + p/k and
    Q = p/k (loss −ε), outcome 1 the swap (+ε), the k − 2 others P = Q = p/k (loss 0), with
    ε = log(1 + k(1 − p)/p). Symmetric."""
    eps = math.log1p(k * (1.0 - p) / p)
    lpk = math.log(p) - math.log(k)
    l_big = math.log1p(-p + p / k) if p < 1.0 else lpk   # log(1 − p + p/k)
    ell = [-eps, eps, 0.0]
    lp = [l_big, lpk, lpk + math.log(k - 2) if k > 2 else _NEG]
    # ε: 1 − p, k(1 − p), /p, log1p: ≤ 5u relative (log1p damps its argument's error)
    loc = 8 * _U * eps
    return FiniteLoss(ell, lp, mass_rel=_MASS_REL + 2 * loc, loc_err=loc)


@register_loss(RandomizedResponse)
def _randomized_response(mechanism: RandomizedResponse) -> Tuple[PrivacyLoss, ...]:
    return (randomized_response_loss(mechanism.noise_parameter, mechanism.num_buckets),)


# ----------------------------------------------------------------------------------------
# (ε, δ) steps (docs/math.md §10.2)
# ----------------------------------------------------------------------------------------
class EpsilonDeltaLoss(FiniteLoss):
    """The tight dominating pair of an (ε, δ)-DP step (Kairouz, Oh & Viswanath 2015):
    P-mass δ at −∞, (1 − δ)e^ε/(1 + e^ε) at −ε, (1 − δ)/(1 + e^ε) at +ε, Q-mass δ at +∞.
    Its profile is δ + (1 − δ)(e^ε − e^{ε'})₊/(1 + e^ε) at ε' ≥ −ε (docs/math.md §10.2), the
    largest profile of any (ε, δ)-DP pair. With δ > 0 its CGF, moments and tilted laws are infinite:
    RDP, Edgeworth and the saddle point refuse it (ValueError naming method='pld')."""

    def __init__(self, epsilon: float, delta: float) -> None:
        self.epsilon = float(epsilon)
        self.delta = float(delta)
        e = self.epsilon
        l1d = math.log1p(-self.delta)
        lden = e + math.log1p(math.exp(-e))          # log(1 + e^ε)
        super().__init__([-e, e], [l1d + e - lden, l1d - lden],
                         log_q_inf=math.log(self.delta) if self.delta > 0 else _NEG,
                         log_p_ninf=math.log(self.delta) if self.delta > 0 else _NEG,
                         mass_rel=_MASS_REL, loc_err=0.0, sup_exact=Fraction(e))

    def __repr__(self):
        return f"EpsilonDeltaLoss(epsilon={self.epsilon!r}, delta={self.delta!r})"

    def cgf(self, t: float | np.ndarray) -> float | np.ndarray:
        if self.delta > 0 and np.any(np.asarray(t, dtype=float) > 0):
            raise ValueError(
                f"an (epsilon, delta) step with delta > 0 (delta = {self.delta!r}) has "
                "infinite Renyi divergence at every order > 1: method='rdp' cannot account "
                "it; use method='pld'")
        return super().cgf(t)


@register_loss(EpsilonDelta)
def _epsilon_delta(mechanism: EpsilonDelta) -> Tuple[PrivacyLoss, ...]:
    return (EpsilonDeltaLoss(mechanism.epsilon, mechanism.delta),)


# ----------------------------------------------------------------------------------------
# zCDP steps (docs/math.md §10.4)
# ----------------------------------------------------------------------------------------
def _zcdp_refusal(what: str) -> ValueError:
    return ValueError(f"a ZCDP step is known only through its Renyi divergences "
                      f"(D_alpha <= xi + rho*alpha): {what} is not defined for it; "
                      "use method='rdp'")


class ZCDPLoss(PrivacyLoss):
    """A step known only to satisfy D_α(Q‖P) ≤ ξ + ρα for all α > 1 (both directions).
    K_Y(t) = t·D_{1+t} ≤ t(ξ + ρ(1 + t)) is what the RDP accountant reads (an upper bound
    taken as the value: ``cgf_exact``, no quadrature margin); the one-step δ(ε) is bounded
    above by the RDP conversion at the best order and below by 0 (nothing else is known)."""

    cgf_exact = True

    def __init__(self, rho: float, xi: float) -> None:
        self.rho = float(rho)
        self.xi = float(xi)
        self.direction = "remove"

    def __repr__(self):
        return f"ZCDPLoss(rho={self.rho!r}, xi={self.xi!r})"

    def cgf(self, t: float | np.ndarray) -> float | np.ndarray:
        def one(t):
            t = float(t)
            if t == 0.0:
                return 0.0
            if not t > 0.0:
                raise ValueError(f"t must be > 0 for the CGF of a ZCDP step (Renyi orders "
                                 f"above 1 only), got {t!r}")
            v = t * (self.xi + self.rho * (1.0 + t))
            return v * (1.0 + 8 * _U)             # four roundings, taken upward
        if np.ndim(t):
            return np.array([one(x) for x in np.ravel(t)]).reshape(np.shape(t))
        return one(t)

    def cgf_upper(self, t: float) -> Optional[float]:
        return float(self.cgf(t)) if t > 0 else None

    def _log_delta_rdp(self, eps: float) -> float:
        return _log_delta_from_cgf(self.cgf_upper, eps,
                                   (eps - self.xi) / (2 * self.rho) + 0.5 if self.rho > 0
                                   else 1e6)

    def log_hockey_stick(self, eps: float | np.ndarray) -> float | np.ndarray:
        """Not known: the RDP-conversion upper bound of :meth:`log_delta_bound` (an upper
        bound on log δ(ε), used by the accountants only to rank steps)."""
        e = np.asarray(eps, dtype=float)
        out = np.array([self._log_delta_rdp(float(x)) for x in e.ravel()]).reshape(e.shape)
        return out if out.ndim else float(out)

    def log_delta_bound(self, eps: float, side: str) -> float:
        """Upper: the RDP conversion (docs/math.md §10.4); lower: δ ≥ 0 (−inf)."""
        if side == "upper":
            return self._log_delta_rdp(float(eps))
        return _NEG

    def sup_loss_upper(self) -> Optional[Fraction]:
        return None

    def log_sf(self, eps: float | np.ndarray, under: str = "Q") -> float | np.ndarray:
        raise _zcdp_refusal("the law of its privacy loss")

    def moments(self, under: str) -> StepMoments:
        raise _zcdp_refusal("the moments of its privacy loss (Edgeworth)")

    def tilted(self, t: float, centre: Optional[float] = None) -> Tilted:
        raise _zcdp_refusal("the tilted law of its privacy loss (saddle point)")

    def pld_support(self, log_tau_lo: float, log_tau_hi: float, floor: float) -> PldSupport:
        raise _zcdp_refusal("the privacy-loss distribution (PLD)")

    def pld_cells(self, i0: int, h: float, npts: int) -> Tuple[PldCells, PldCells]:
        raise _zcdp_refusal("the privacy-loss distribution (PLD)")


@register_loss(ZCDP)
def _zcdp(mechanism: ZCDP) -> Tuple[PrivacyLoss, ...]:
    return (ZCDPLoss(mechanism.rho, mechanism.xi),)


# ----------------------------------------------------------------------------------------
# Discrete Gaussian (docs/math.md §10.3)
# ----------------------------------------------------------------------------------------
#: Largest number of atoms of a truncated discrete Gaussian pair (about 75σ + Δ): past
#: σ ≈ 1.3e4 the hockey stick and the PLD refuse it (ValueError); RDP (closed form) and the
#: moments (the continuous Gaussian's, exact to e^{−2π²σ²}) need no atoms.
MAX_DISCRETE_GAUSSIAN_ATOMS = 1_000_000
# Truncation: the tail mass of each side is below e^{_LOG_TAIL} (1e-304) of the total.
_LOG_TAIL = -700.0
# Above this σ, sums of polynomials times e^{−(x−c)²/2σ²} over ℤ equal the integrals to a
# relative e^{−2π²σ²}·(2πσ²)^5 < e^{−900} (Poisson summation): the moments are Gaussian.
_SIGMA_CONTINUOUS = 7.0


def _log_theta_ratio(frac: float, sigma: float) -> float:
    """log Θ(c)/Θ(0) ≤ 0 with Θ(c) = Σ_{x∈ℤ} e^{−(x−c)²/2σ²} and c ≡ ``frac`` (mod 1).

    σ ≥ ½: Poisson summation, Θ(c) ∝ 1 + 2Σ_k e^{−2π²σ²k²}cos 2πkc, so
    log Θ(c)/Θ(0) = log1p(−4Σ_k e^{−2π²σ²k²} sin²(πkc) / (1 + 2Σ_k e^{−2π²σ²k²})),
    no cancellation; σ < ½: the direct sums (terms decay faster than e^{−2x²})."""
    f = frac - math.floor(frac)
    if f == 0.0:
        return 0.0
    if sigma >= 0.5:
        a = 2.0 * math.pi ** 2 * sigma * sigma
        num = den = 0.0
        k = 1
        while True:
            w = math.exp(-a * k * k)
            if w < 1e-30 * max(den, 1e-300) or w == 0.0:
                break
            den += w
            num += w * math.sin(math.pi * k * f) ** 2
            k += 1
        return math.log1p(-4.0 * num / (1.0 + 2.0 * den))
    s2 = 2.0 * sigma * sigma
    m = int(math.ceil(sigma * 12.0)) + 2
    xs = np.arange(-m, m + 2, dtype=float)
    lt = -(xs - f) ** 2 / s2
    l0 = -(xs ** 2) / s2
    # each sum scaled by its own largest term (at σ = 1e-3 every term of Θ(c) is below
    # e^{−745} of Θ(0)'s largest: a common scale underflowed to log 0)
    t1, t0 = float(lt.max()), float(l0.max())
    return min(t1 + math.log(math.fsum(np.exp(lt - t1).tolist()))
               - t0 - math.log(math.fsum(np.exp(l0 - t0).tolist())), 0.0)


def _dg_truncation(sigma: float, sens: int) -> Tuple[int, float]:
    """(n, log tail): keep x ∈ [−n, Δ + n]. For m ≥ 1, Σ_{x≥m} e^{−x²/2σ²} ≤
    e^{−m²/2σ²}(1 + σ²/m) (the first term plus the integral from m, Mills' bound), and
    Θ(0) ≥ 1, so each tail's mass (P's or Q's, either side) is ≤ e^{log tail}."""
    n = int(math.ceil(sigma * math.sqrt(2.0 * (-_LOG_TAIL + math.log1p(sigma))))) + 1
    m = n + 1
    log_tail = -(m / sigma) * m / 2.0 + math.log1p(sigma * sigma / m)
    return n, log_tail * (1 - 1e-12) + 1e-12


class DiscreteGaussianLoss(PrivacyLoss):
    """P = N_ℤ(0, σ²) vs Q = N_ℤ(Δ, σ²) (Canonne, Kamath & Steinke 2020, arXiv 2004.00010):
    L(x) = Δ(2x − Δ)/(2σ²) on the integers; symmetric (x ↦ Δ − x).

    * CGF in closed form: K_Y(t) = t(1 + t)Δ²/(2σ²) + log Θ(Δ(1 + t))/Θ(0) ≤ the continuous
      Gaussian's (Θ(c) ≤ Θ(0): Poisson summation), equal at integer orders (§10.3).
    * Hockey stick and PLD from the truncated pair (x ∈ [−n, Δ + n], tails ≤ e^{−700}):
      upper = the kept atoms plus both tails' Q-mass bound at +∞ (and their P-mass at
      −∞), which dominates; lower = the kept atoms with each tail merged into the end atom
      (post-processing); the merged masses differ from the kept ones by < 1e-300 relative,
      far below their rounding, so the stored numbers are the kept atoms' (§10.3).
    * Moments and tilted laws: exact sums over the atoms (σ < 7) or the continuous
      Gaussian's (σ ≥ 7, equal to e^{−900} relative, Poisson summation).
    """

    cgf_exact = True
    lo_loss = -math.inf
    hi_loss = math.inf

    def __init__(self, sigma: float, sens: int) -> None:
        self.sigma = float(sigma)
        self.sens = int(sens)
        self.direction = "remove"
        self._finite: Optional[FiniteLoss] = None

    def __repr__(self):
        return f"DiscreteGaussianLoss(sigma={self.sigma!r}, sensitivity={self.sens})"

    # -- the truncated pair (built on first use) ------------------------------------------
    @property
    def finite(self) -> FiniteLoss:
        if self._finite is None:
            self._finite = self._build()
        return self._finite

    def _atoms(self, centre: float, n: int):
        """(x, log of e^{−(x−centre)²/2σ²}) for the integers within n of ``centre``."""
        lo = math.floor(centre) - n
        x = np.arange(lo, lo + 2 * n + 2, dtype=float)
        return x, -((x - centre) / self.sigma) ** 2 / 2.0

    def _build(self) -> FiniteLoss:
        s, d = self.sigma, self.sens
        n, log_tail = _dg_truncation(s, d)
        count = 2 * n + d + 1
        if count > MAX_DISCRETE_GAUSSIAN_ATOMS:
            raise ValueError(
                f"noise_multiplier={s!r}: the discrete Gaussian's hockey stick and PLD sum "
                f"{count} atoms, above the cap of {MAX_DISCRETE_GAUSSIAN_ATOMS} (sigma up to "
                "about 1.3e4); use method='rdp' (closed form at any sigma)")
        x = np.arange(-n, d + n + 1, dtype=float)
        lw = -(x / s) ** 2 / 2.0
        # log Θ(0): the kept sum (the tails are < e^{−700} of it, below its rounding)
        top = float(lw.max())
        lz = top + math.log(math.fsum(np.exp(lw - top).tolist()))
        lp = lw - lz
        ell = d * (2.0 * x - d) / (2.0 * s * s)
        # Errors: the exponent x²/2σ² carries ~4 roundings (relative), the normaliser a
        # few u; ℓ three roundings. Both taken on the largest exponent kept.
        big = float(np.max(np.abs(lw)))
        loc = 4 * _U * float(np.max(np.abs(ell)))
        mass_rel = 8 * _U * (big + 4.0) + 2 * loc
        lower = FiniteLoss(ell, lp, mass_rel=mass_rel, loc_err=loc, whole=False)
        # both tails of Q above/below the kept range, each ≤ e^{log_tail} (Θ(0) ≥ 1)
        ltail = math.log(2.0) + log_tail + 1e-12
        return FiniteLoss(ell, lp, log_q_inf=ltail, log_p_ninf=ltail, lower=lower,
                          mass_rel=mass_rel, loc_err=loc, whole=False)

    # -- delegated to the truncated pair ----------------------------------------------------
    def loss(self, x: float | np.ndarray) -> float | np.ndarray:
        x = np.asarray(x, dtype=float)
        out = self.sens * (2.0 * x - self.sens) / (2.0 * self.sigma ** 2)
        return out if out.ndim else float(out)

    def inverse_loss(self, eps: float | np.ndarray) -> float | np.ndarray:
        e = np.asarray(eps, dtype=float)
        out = (e * 2.0 * self.sigma ** 2 / self.sens + self.sens) / 2.0
        return out if out.ndim else float(out)

    def log_hockey_stick(self, eps: float | np.ndarray) -> float | np.ndarray:
        """log δ(ε) of the truncated (dominating) pair: within e^{−700} of the true one
        (beyond the atom cap: the upper bound of :meth:`log_delta_bound`)."""
        if self._count() > MAX_DISCRETE_GAUSSIAN_ATOMS:
            e = np.asarray(eps, dtype=float)
            out = np.array([self.log_delta_bound(float(x), "upper")
                            for x in e.ravel()]).reshape(e.shape)
            return out if out.ndim else float(out)
        return self.finite.log_hockey_stick(eps)

    def log_sf(self, eps: float | np.ndarray, under: str = "Q") -> float | np.ndarray:
        return self.finite.log_sf(eps, under)

    def _count(self) -> int:
        n, _ = _dg_truncation(self.sigma, self.sens)
        return 2 * n + self.sens + 1

    def log_delta_bound(self, eps: float, side: str) -> float:
        """From the truncated pair; beyond the atom cap the RDP conversion of the closed-form
        CGF (upper) and δ ≥ 0 (lower): proven, looser, and no atoms (docs/math.md §10.3)."""
        if self._count() > MAX_DISCRETE_GAUSSIAN_ATOMS:
            if side != "upper":
                return _NEG
            mu2 = (self.sens / self.sigma) ** 2
            return _log_delta_from_cgf(self.cgf_upper, float(eps), float(eps) / mu2 + 0.5)
        return self.finite.log_delta_bound(eps, side)

    def pld_support(self, log_tau_lo: float, log_tau_hi: float, floor: float) -> PldSupport:
        return self.finite.pld_support(log_tau_lo, log_tau_hi, floor)

    def pld_cells(self, i0: int, h: float, npts: int) -> Tuple[PldCells, PldCells]:
        return self.finite.pld_cells(i0, h, npts)

    def sup_loss_upper(self) -> Optional[Fraction]:
        return None

    # -- CGF in closed form (docs/math.md §10.3) -------------------------------------------
    def cgf(self, t: float | np.ndarray) -> float | np.ndarray:
        """K_Y(t) = t(1 + t)μ²/2 + log Θ(Δ(1 + t))/Θ(0), μ = Δ/σ, t > −1."""
        def one(t):
            t = float(t)
            if not t > -1.0:
                raise ValueError(f"t must be > -1 for the CGF, got {t!r}")
            if t == 0.0:
                return 0.0
            mu2 = (self.sens / self.sigma) ** 2
            cont = t * (1.0 + t) * mu2 / 2.0
            # Δ(1 + t) mod 1 from t mod 1: Δ·t's fractional part (Δ integer)
            frac = (self.sens * (t - math.floor(t))) % 1.0
            corr = _log_theta_ratio(frac, self.sigma)
            val = cont + corr
            # the continuous part rounded up (a few roundings); corr ≤ 0 is proven, so
            # the value never exceeds the continuous bound by more than that
            return val + 8 * _U * (abs(cont) + abs(corr))
        if np.ndim(t):
            return np.array([one(x) for x in np.ravel(t)]).reshape(np.shape(t))
        return one(t)

    def cgf_upper(self, t: float) -> Optional[float]:
        """The continuous Gaussian's t(1 + t)μ²/2, rounded up (CKS 2020: Θ(c) ≤ Θ(0))."""
        if not t > 0:
            return None
        mu2 = (self.sens / self.sigma) ** 2
        return t * (1.0 + t) * mu2 / 2.0 * (1.0 + 8 * _U)

    # -- moments and tilted laws ----------------------------------------------------------
    def _law(self, centre: float):
        """(L values, normalised weights) of the discrete Gaussian N_ℤ(centre, σ²) pushed
        through L (truncated at e^{−700}, below rounding)."""
        n, _ = _dg_truncation(self.sigma, 0)
        x, lw = self._atoms(centre, n)
        w = np.exp(lw - lw.max())
        w = w / math.fsum(w.tolist())
        return self.loss(x), w

    def moments(self, under: str) -> StepMoments:
        from .results import from_central
        if under not in ("P", "Q"):
            raise ValueError(f"under must be 'P' or 'Q', got {under!r}")
        mu2 = (self.sens / self.sigma) ** 2
        if self.sigma >= _SIGMA_CONTINUOUS:
            m = mu2 / 2.0 if under == "Q" else -mu2 / 2.0
            sd = math.sqrt(mu2)
            return from_central(m, mu2, 0.0, 3 * mu2 * mu2, 0.0, sd * math.sqrt(2 / math.pi),
                                2 * math.sqrt(2 / math.pi) * sd ** 3, 1e-13)
        # the kept atoms (σ < 7: at most ~600), without the tails' masses at ±∞
        return self.finite.lower.moments(under)

    def tilted(self, t: float, centre: Optional[float] = None) -> Tilted:
        """Q tilted by e^{tL} is N_ℤ(Δ(1 + t), σ²): K = K_Y(t), and K′, K″, P_t from its atoms
        (σ < 7) or the Gaussian N(μ²(t + ½), μ²) (σ ≥ 7)."""
        t = float(t)
        K = float(self.cgf(t))
        mu2 = (self.sens / self.sigma) ** 2
        if self.sigma >= _SIGMA_CONTINUOUS:
            sd = math.sqrt(mu2)
            return Tilted(t, K, mu2 * (t + 0.5), mu2, 2 * math.sqrt(2 / math.pi) * sd ** 3,
                          16 * _U * (abs(K) + 1.0), 1e-13, 0.0, 0.0, 0.0, CALL_WORK)
        ell, w = self._law(self.sens * (1.0 + t))
        from .results import higher_cumulants, moment_sums
        c = float(np.sum(w * ell))
        v = moment_sums(w, ell - c)
        r = v[1] / v[0]
        K2 = max(v[2] / v[0] - r * r, 0.0)
        Pt = v[7] / v[0] + 3.0 * abs(r) * (v[2] / v[0] + 2 * abs(r) * v[6] / v[0] + r * r)
        k3, k4, k5 = higher_cumulants(v, v[0], r)
        return Tilted(t, K, c + r, float(K2), float(Pt), 16 * _U * (abs(K) + 1.0),
                      1e-12, k3, k4, k5, CALL_WORK)


@register_loss(DiscreteGaussian)
def _discrete_gaussian(mechanism: DiscreteGaussian) -> Tuple[PrivacyLoss, ...]:
    return (DiscreteGaussianLoss(mechanism.noise_multiplier,
                                 _sensitivity(mechanism, mechanism.sensitivity)),)
