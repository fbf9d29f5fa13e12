"""Privacy loss of truncated Poisson sampling (docs/math.md §11; Ganesh 2025, arXiv
2508.15089): each of n records enters the batch with probability q, a batch larger than B
is cut to a uniformly random B of its records, and the sum gets N(0, σ²).

The dominating pair (§11.2) is a public-coin mixture (:class:`PublicMixtureLoss`) of

* with probability 1 − p: the Poisson-subsampled Gaussian pair at rate q, sensitivity 1;
* with probability p: the Poisson-subsampled pair at rate ρ and sensitivity 2,
  N(0) vs (1 − ρ)N(0) + ρN(2) (remove) and its swap (add),

where p = P[Bin(n − 1, q) ≥ B] is the probability that the other records alone fill the
batch and ρ = (B/n)·P[Bin(n, q) ≥ B + 1]/p the probability that the record is sampled and
kept, given that. Both are computed in 256-bit arithmetic with the tail of the sum bounded
(:func:`binomial_sf_bracket`), then p rounded down and ρ up: the pair stays dominating
(§11.3).
"""
from __future__ import annotations

import math
from fractions import Fraction
from typing import Tuple

import mpmath

from ..core.mechanisms import TruncatedSubsampledGaussian
from ..core.rounding import round_up
from .base import PrivacyLoss
from .mixture import GaussianMixtureLoss
from .public_mixture import PublicMixtureLoss
from .registry import identity_loss, register_loss

__all__ = ["binomial_sf_bracket", "truncation_parameters", "truncated_pair"]

_PREC = 256
# Relative error allowed for the 256-bit evaluation (a few hundred roundings of 2⁻²⁵⁶ and
# loggamma's own error at that precision): 2⁻²⁰⁰ is a factor 2⁵⁶ above them.
_REL = Fraction(1, 2 ** 200)
# The sums run over ~18 standard deviations of the binomial (to a relative 2⁻²³⁶): at a
# variance N·q·(1 − q) of 1e8 that is 2e5 terms, ~2 s. Beyond it the step is refused.
MAX_BINOMIAL_VARIANCE = 1e8
# Tails below 2⁻¹¹⁰⁰ are reported as the bracket [0, 2⁻¹¹⁰⁰] (every weight built from them
# then rounds to 0 or to the smallest double anyway).
_FLOOR_FRACTION = Fraction(1, 2 ** 1100)
_FLOOR = mpmath.mpf(2) ** -1100


def _to_fraction(x) -> Fraction:
    """The exact rational value of an mpmath number."""
    man, exp = mpmath.mpf(x).man_exp
    return Fraction(int(man)) * (Fraction(2) ** int(exp))


def _round_down(x: Fraction) -> float:
    """The largest double ≤ the rational x ≥ 0."""
    f = float(x)
    return math.nextafter(f, 0.0) if Fraction(f) > x else f


def binomial_sf_bracket(N: int, k: int, q: float) -> Tuple[Fraction, Fraction]:
    """(lower, upper) rationals around P[Bin(N, q) ≥ k] (docs/math.md §11.3).

    The terms t_s = C(N, s)q^s(1 − q)^{N−s} are summed in 256-bit arithmetic from the one
    nearest the mean outwards by the ratio t_{s±1}/t_s; past the mode the ratios decrease,
    so the rest of the series after t_s is at most t_s·r/(1 − r) (r the current ratio),
    which is added to the upper value. Above the mean the tail itself is summed; at or
    below it 1 − P[Bin ≤ k − 1] (then ≥ ~½: no loss of relative accuracy). Arithmetic error
    is allowed for by a relative 2⁻²⁰⁰ on each side."""
    if k <= 0:
        return Fraction(1), Fraction(1)
    if k > N:
        return Fraction(0), Fraction(0)
    if q == 0.0:
        return Fraction(0), Fraction(0)
    if q == 1.0:
        return Fraction(1), Fraction(1)
    if N * q * (1.0 - q) > MAX_BINOMIAL_VARIANCE:
        raise ValueError(
            f"dataset_size * sample_rate * (1 - sample_rate) must be <= "
            f"{MAX_BINOMIAL_VARIANCE:g} for truncated Poisson sampling (the certified "
            f"binomial tails sum ~18 standard deviations of terms), got {N * q * (1 - q):.4g}")
    with mpmath.workprec(_PREC):
        Q = mpmath.mpf(q)
        R = 1 - Q
        odds = Q / R
        tail = k > N * q
        s = k if tail else k - 1
        t = mpmath.exp(mpmath.loggamma(N + 1) - mpmath.loggamma(s + 1)
                       - mpmath.loggamma(N - s + 1) + s * mpmath.log(Q)
                       + (N - s) * mpmath.log(R))
        total = t
        eps = mpmath.mpf(2) ** -(_PREC - 20)
        rest = mpmath.mpf(0)
        while True:
            if tail:
                if s >= N:
                    break
                r = (N - s) * odds / (s + 1)
                t = t * r
                s += 1
            else:
                if s <= 0:
                    break
                r = s / ((N - s + 1) * odds)
                t = t * r
                s -= 1
            total += t
            if r < 1:
                bound = t * r / (1 - r)
                if bound <= eps * total:
                    rest = bound
                    break
        if tail and total + rest < _FLOOR:
            # far below the double range (exact rationals of 2^-1e8 cost megabytes)
            return Fraction(0), _FLOOR_FRACTION
        lo, hi = _to_fraction(total), _to_fraction(total + rest)
    lo, hi = lo * (1 - _REL), hi * (1 + _REL)
    if tail:
        return max(lo, Fraction(0)), min(hi, Fraction(1))
    return max(1 - hi, Fraction(0)), min(1 - lo, Fraction(1))


def truncation_parameters(n: int, q: float, B: int) -> Tuple[Fraction, Fraction, Fraction,
                                                                Fraction]:
    """(p_lo, p_hi, m_lo, m_hi): rational brackets on p = P[Bin(n − 1, q) ≥ B] and
    m = p·ρ = (B/n)·P[Bin(n, q) ≥ B + 1] (docs/math.md §11.2)."""
    p_lo, p_hi = binomial_sf_bracket(n - 1, B, q)
    s_lo, s_hi = binomial_sf_bracket(n, B + 1, q)
    c = Fraction(B, n)
    return p_lo, p_hi, c * s_lo, c * s_hi


def _poisson(sigma: float, rate: float, shift: float) -> Tuple[PrivacyLoss, PrivacyLoss]:
    """(remove, add): N(0) vs (1 − rate)N(0) + rate·N(shift) and the swapped pair, reflected
    (docs/math.md §2.3), built as ``loss._mixture_pair`` builds the Poisson pairs (not
    imported from there: the package imports this module). At rate 1 the weight-0
    component is dropped: the Gaussian pair, one object per direction."""
    remove = GaussianMixtureLoss(sigma, [0.0], [1.0], [0.0, shift], [1.0 - rate, rate],
                                 "remove")
    add = GaussianMixtureLoss(sigma, [0.0, -shift], [1.0 - rate, rate], [0.0], [1.0], "add")
    return remove, add


def truncated_pair(sigma: float, q: float, B: int, n: int) -> Tuple[PrivacyLoss, ...]:
    """The (remove, add) losses of :class:`TruncatedSubsampledGaussian` (docs/math.md §11.2,
    §11.3): the public mixture (1 − p′)·A + p′·B(ρ′) with p′ ≤ p the weight rounded down and
    ρ′ ≥ m/p′ rounded up. Where p is below 2⁻¹⁰⁰⁰ (or rounding would push ρ′ past 1) the
    conservative mixture (1 − p_hi)·A + p_hi·B(q) is used instead (B(q) dominates both A
    and B(ρ)); where p = 0 exactly (B ≥ n) the step is the Poisson pair A."""
    if q == 0.0:
        return identity_loss(sigma)
    p_lo, p_hi, _, m_hi = truncation_parameters(n, q, B)
    a_rm, a_add = _poisson(sigma, q, 1.0)
    if p_hi == 0:
        return (a_rm, a_add) if q < 1.0 else (a_rm,)
    p_dn = _round_down(p_lo)
    rho = None
    if p_dn >= 2.0 ** -1000:
        # w_a rounded up: the normalised weight of B(ρ′), p_dn/S, is then ≤ p_dn ≤ p
        w_a = round_up(1 - Fraction(p_dn))
        S = Fraction(w_a) + Fraction(p_dn)
        exact = m_hi * S / Fraction(p_dn)
        if exact <= 1:
            rho = round_up(exact)
            weight = p_dn
    if rho is None:
        # w_a rounded down: the normalised weight of B(q) is then ≥ p_hi ≥ p
        weight = round_up(p_hi)
        w_a = _round_down(1 - Fraction(weight))
        rho = q
    b_rm, b_add = _poisson(sigma, rho, 2.0)
    ws = [w_a, weight]
    return (PublicMixtureLoss([a_rm, b_rm], ws), PublicMixtureLoss([a_add, b_add], ws))


@register_loss(TruncatedSubsampledGaussian)
def _truncated(mechanism: TruncatedSubsampledGaussian) -> Tuple[PrivacyLoss, ...]:
    return truncated_pair(mechanism.noise_multiplier, mechanism.sample_rate,
                          mechanism.max_batch_size, mechanism.dataset_size)
