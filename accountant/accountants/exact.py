"""Exact values every accountant can lean on: μ-GDP closed forms and one-step profiles,
each returned as a proven bracket (its own rounding included), never as a bare float.

* A schedule of Gaussian mechanisms is exactly μ-GDP with μ² = Σ T_i (s_i/σ_i)²
  (Dong, Roth, Su 2019, Cor. 3.3), whose profile is
  δ(ε) = Φ(−ε/μ + μ/2) − e^ε Φ(−ε/μ − μ/2) (Balle & Wang 2018, Thm 8).
* For any schedule, the composition is at least as leaky as any one of its steps
  (post-processing: drop the other outputs), so the exact one-step ε(δ) of each distinct
  mechanism is a proven lower bound on the composed ε.

Every caller (PLD and RDP for one step and for Gaussian-only schedules, the RDP lower
bound and basic composition, the group baselines' lower bound, sessions, calibration) gets
these values through the bound functions below, so the rounding is paid for once, here.

Rounding. A certified value leaving this module is rounded outward (upper bounds up, lower
bounds down) by an error bound computed *at that point* from the terms of the evaluation:
the bracket widens where the floating-point evaluation is ill-conditioned and nowhere else.

* μ-GDP. log δ = a + log(1 − e^s) with a = log Φ̄(ε/μ − μ/2) and
  s = ε − log Φ̄(ε/μ − μ/2) + log Φ̄(ε/μ + μ/2) < 0. Written as that difference, s is a
  difference of two numbers of size z²/2 ≈ 700 whose difference can be 1e-8 (μ small, δ
  tiny): 8 digits lost. Here, for μ ≤ 8, s = ∫_{z1}^{z2} (t − h(t)) dt with h = φ/Φ̄ the
  normal hazard (since ε = μ·(z1 + z2)/2 exactly), by 12-point Gauss–Legendre per unit
  panel of t − h(t) ≈ −1/t evaluated without cancellation (erfc below t = 3, the continued
  fraction h(t) − t = 1/(t + 2/(t + 3/(t + …))) above). Worst relative error of δ against
  mpmath (60 digits) over μ ∈ [1e-6, 100], δ ∈ [1e-300, 0.9]: 2.6e-13 for μ ≤ 8 (the
  two-tail form: 5.6e-6 at μ = 1e-6), 1.8e-12 above (the two-tail form, well conditioned
  there). μ itself is summed with fsum (≤ 3u) and treated as known to 8u.
* One step of a Gaussian-mixture pair. δ(ε) = f(x*) with
  f(x) = Σ_u c_u Φ̄((x − u)/σ) = Q(X > x) − e^ε P(X > x) over the distinct means u,
  c_u = w_Q(u) − e^ε w_P(u), and x* the root of L = ε. At the mean both distributions share
  (0, for every pair the package builds) a weight ≥ ½ is taken as 1 − (the other weights),
  so c_0 = e^ε S_P − S_Q − expm1(ε) is formed without cancellation: the privacy-loss core
  stores 1 − q as a double, whose absolute error 1e-16 became a relative error of 3.5e-4
  at q = 1e-9, σ = 1e4, ε = 0 (δ = 3.99e-14) and of 0.67 at σ = 5e5. f(x) ≤ δ(ε) for every
  x, so the lower bound is f at a point x_a certified to be ≤ x* (g(x) = Σ_u c_u φ((x − u)/σ),
  ∝ q(x) − e^ε p(x), certified ≤ 0) minus f's rounding bound; the upper bound adds the mass
  f can miss between x_a and x*, ≤ |g(x_a)|·P(X > x_a)/p(x_a) (there e^ε p − q ≤
  p·(e^ε − e^{L(x_a)}) since L increases). Weights are taken to sum to 1 exactly (a
  MixtureOfGaussians is validated to 1e-12).
* Laplace. δ(ε) = 1 − e^{(ε − ε₀)/2} with ε₀ = s/b taken in rational arithmetic, so δ is not
  reported as 0 between the rounded quotient and the true ε₀ (b = 30: 2.3e-19 was).

The error bounds are first order: each elementary operation contributes u = 2⁻⁵³ times the
size of what it acts on (|log| of each term; z² for a normal tail at a rounded argument;
the gross Σ|c_u|Φ̄ of a cancelling sum), times ``_KAPPA``. On the grid of the measurement
(789 one-step points over Gaussian, Poisson/fixed subsampled Gaussian σ ∈ [0.3, 5e5],
q ∈ [1e-9, 0.999], ELS, mixtures and Laplace, δ from 0.5 down to 1e-300, and 130 μ-GDP
points) the bounds already hold with κ = 1 and fail at 29 (one step) and 19 (GDP) points
with κ = 1/4: the model is within a factor 4 of the actual error, and κ = 64 leaves at
least a factor 64 of room. Typical brackets are 1e-13 (GDP) to 1e-11 (mixtures) of ε wide;
the widest, 5e-3 of δ, are at σ = 5e5, where the two tails cancel to 1e-7 and the bracket
says so. tests/test_exact_padding.py checks the brackets against mpmath.
"""
from __future__ import annotations

import math
from fractions import Fraction
from typing import TYPE_CHECKING, Optional, Sequence, Tuple

import numpy as np

from ..core.dominating import undominated
from ..core.rounding import _U, exp_down, exp_up, guard_log_delta
from ..loss import privacy_losses
from ..loss.gdp import (_MU_REL, gdp_delta, gdp_delta_bracket, gdp_epsilon, gdp_log_delta,
                        gdp_log_delta_bound)

if TYPE_CHECKING:
    from ..core.bounds import Result
    from ..core.mechanisms import Schedule
    from ..loss.base import PrivacyLoss

# (gdp_* and exp_up/exp_down are re-exported: callers get every exact value from here)
__all__ = ["pure_epsilon", "gaussian_mu", "gaussian_mu_rel", "gaussian_result",
           "gdp_delta", "gdp_delta_bracket", "gdp_epsilon", "gdp_log_delta",
           "gdp_log_delta_bound", "exp_up", "exp_down", "one_step_log_delta_bound",
           "one_step_delta_bracket", "one_step_epsilon", "one_step_epsilon_bracket",
           "composed_lower_epsilon", "composed_lower_delta", "single_step_exceeds",
           "basic_composition_epsilon", "basic_composition_delta"]

# The closed forms and their rounding bounds live with the losses they describe
# (loss/gdp.py, loss/_mixture_exact.py, loss/laplace.py); this module asks the loss and
# composes the answers into schedule-level bounds.


# ----------------------------------------------------------------------------------------
# Schedule-level facts
# ----------------------------------------------------------------------------------------
def pure_epsilon(schedule: Schedule, direction: Optional[str] = None) -> float:
    """Σ T_i · max over directions of sup L_i: the pure-DP ε of the schedule (basic
    composition of ε₀-DP steps, δ = 0); inf unless every step is pure DP (Laplace).
    With ``direction``, only that direction's losses (the bound for one direction).

    Summed in rational arithmetic from the exact s/b of each Laplace step and rounded up
    to the next double, so ``ε ≥ pure_epsilon`` proves δ(ε) = 0."""
    from ..loss import loss_for
    total = Fraction(0)
    for m, steps in schedule.counts():
        best = Fraction(0)
        for pl in (privacy_losses(m) if direction is None else (loss_for(m, direction),)):
            val = pl.sup_loss_upper()
            if val is None:
                return math.inf
            best = max(best, val)
        total += steps * best
    return _round_up(total)


def _round_up(x: Fraction) -> float:
    """The smallest double ≥ the rational x."""
    f = float(x)
    return math.nextafter(f, math.inf) if Fraction(f) < x else f


def gaussian_mu(schedule: Schedule) -> float | None:
    """μ of a schedule made only of Gaussian mechanisms (q = 1), else None. Each term
    T_i·(s_i/σ_i)² carries three roundings and the sum is correctly rounded (fsum), so μ is
    within 3u of the exact value whatever the number of mechanisms (:data:`_MU_REL` = 8u
    covers it)."""
    terms = []
    for m, steps in schedule.counts():
        shifts = [pl.gaussian_shift for pl in privacy_losses(m)]
        if any(s is None for s in shifts):
            return None
        shift = shifts[0]
        terms.append(steps * (shift * shift))
    return math.sqrt(math.fsum(terms))


def gaussian_mu_rel(schedule: Schedule) -> float:
    """A bound on the relative rounding error of :func:`gaussian_mu`."""
    return _MU_REL


def gaussian_result(schedule: Schedule, method: str, delta: Optional[float] = None,
                    epsilon: Optional[float] = None) -> Optional[Result]:
    """The exact answer for a Gaussian-only schedule (μ-GDP, Dong–Roth–Su 2019), as a
    certified Result whose bracket covers the rounding of μ and of the closed form; None
    when the schedule has other mechanisms."""
    from ..core.bounds import Result
    mu = gaussian_mu(schedule)
    if mu is None:
        return None
    rel = gaussian_mu_rel(schedule)
    details = {"exact": "mu-GDP", "mu": mu}
    if delta is not None:
        up = gdp_epsilon(mu, delta, "upper", rel)
        lo = min(gdp_epsilon(mu, delta, "lower", rel), up)
        return Result("epsilon", delta, up, lo, up, True, method, details=details)
    lo, up = gdp_delta_bracket(mu, epsilon, rel)
    est = min(max(gdp_delta(mu, epsilon), lo), up)
    return Result("delta", epsilon, est, lo, up, True, method, details=details)



# ----------------------------------------------------------------------------------------
# One step of a privacy loss
# ----------------------------------------------------------------------------------------
def one_step_log_delta_bound(pl: PrivacyLoss, eps: float, side: str) -> float:
    """A proven upper (``side="upper"``) or lower bound on log δ(ε) of one step of the
    privacy loss ``pl``, ε ≥ 0 (the loss's own certified evaluation, docs/math.md §2)."""
    eps = float(eps)
    if eps < 0:
        raise ValueError(f"epsilon must be in [0, inf), got {eps!r}")
    return guard_log_delta(pl.log_delta_bound(eps, side), side)


def one_step_delta_bracket(pl: PrivacyLoss, eps: float) -> Tuple[float, float]:
    """(lower, upper): a proven bracket on the one-step δ(ε) of ``pl``."""
    lo = exp_down(one_step_log_delta_bound(pl, eps, "lower"))
    up = min(1.0, exp_up(one_step_log_delta_bound(pl, eps, "upper")))
    return min(lo, up), up


def one_step_epsilon(pl: PrivacyLoss, delta: float, side: str = "upper",
                     guess: Optional[float] = None) -> float:
    """Exact ε(δ) of one step of a privacy loss (0 if δ(0) ≤ δ), as a proven bound on the
    requested side (``guess`` only saves evaluations)."""
    return pl.epsilon_bound(delta, side, guess)


def _exceeds(pl, eps: float, delta: float) -> bool:
    """False when the one-step ε(δ) of ``pl`` is proven ≤ eps (δ(eps) ≤ δ, one bound)."""
    return one_step_log_delta_bound(pl, eps, "upper") > math.log(delta)


def one_step_epsilon_bracket(pls: Sequence[PrivacyLoss], delta: float, lower: bool = True,
                             ) -> Tuple[float, float]:
    """(lower, upper): proven bounds on max over ``pls`` (the directions of one mechanism)
    of the one-step ε(δ). A direction whose δ at the best upper bound so far is already
    ≤ δ cannot raise the maximum and costs one evaluation; the lower bound is taken on the
    direction that gave the upper one (any direction's lower bound is a lower bound on
    the maximum)."""
    up, arg = None, None
    for pl in pls:
        if up is not None and not _exceeds(pl, up, delta):
            continue
        u = one_step_epsilon(pl, delta, "upper", guess=up)
        if up is None or u > up:
            up, arg = u, pl
    lo = one_step_epsilon(arg, delta, "lower", guess=up) if (lower and up > 0) else 0.0
    return min(lo, up), up


# ----------------------------------------------------------------------------------------
# Schedules: lower bounds and basic composition
# ----------------------------------------------------------------------------------------
def composed_lower_epsilon(schedule: Schedule, delta: float, floor: float = 0.0) -> float:
    """A proven lower bound on the composed ε: exact for Gaussian-only schedules, otherwise
    the largest exact one-step ε over the schedule's mechanisms and directions (a step whose
    δ at the best lower bound so far is ≤ δ cannot raise it and is skipped after one
    evaluation; the leakiest step by the core's estimate is taken first).

    ``floor``: a lower bound already proven by the caller; a step whose one-step ε is
    proven ≤ floor is skipped after one evaluation, and the result is max(floor, …). (A
    calibration spent 12 % of its time on one-step ε values far below its PLD bounds.)"""
    mu = gaussian_mu(schedule)
    if mu is not None:
        return gdp_epsilon(mu, delta, "lower", gaussian_mu_rel(schedule))
    # (only the undominated mechanisms can be the leakiest: 10⁴ distinct σ at one q
    # took 2.7 s of privacy losses and one-step bounds, for the smallest σ)
    pls = [pl for m, _ in undominated(schedule.counts()) for pl in privacy_losses(m)]
    if len(pls) > 1:
        score = lambda pl: float(np.asarray(pl.log_hockey_stick(np.array([1.0])))[0])
        pls.sort(key=score, reverse=True)
    best = max(float(floor), 0.0)
    for pl in pls:
        if best > 0 and not _exceeds(pl, best, delta):
            continue
        best = max(best, one_step_epsilon(pl, delta, "lower", guess=best if best > 0 else None))
    return best


def single_step_exceeds(schedule: Schedule, eps: float, delta: float) -> bool:
    """True when some single step of the schedule is proven to have ε(δ) > ``eps`` (its
    one-step δ(eps) is bounded below above δ): then ``eps`` cannot be an upper bound on the
    composition. One evaluation per undominated direction — the check behind a bracket
    whose lower side was not computed."""
    ld = math.log(delta)
    return any(one_step_log_delta_bound(pl, eps, "lower") > ld
               for m, _ in undominated(schedule.counts()) for pl in privacy_losses(m))


def composed_lower_delta(schedule: Schedule, eps: float) -> float:
    """A proven lower bound on the composed δ(ε) (see :func:`composed_lower_epsilon`)."""
    mu = gaussian_mu(schedule)
    if mu is not None:
        return gdp_delta_bracket(mu, eps, gaussian_mu_rel(schedule))[0]
    best = 0.0
    for m, _ in undominated(schedule.counts()):
        for pl in privacy_losses(m):
            best = max(best, one_step_delta_bracket(pl, eps)[0])
    return best


def _share_down(x: float, steps: int) -> float:
    """The largest double ≤ x/steps, checked in rational arithmetic (a relative margin
    does not round down among subnormals, where the quotient may round up by 50 %)."""
    f = x / steps
    while f > 0.0 and Fraction(f) * steps > Fraction(x):
        f = math.nextafter(f, 0.0)
    return f


def basic_composition_epsilon(schedule: Schedule, delta: float) -> float:
    """Basic composition (Dwork et al. 2006): every step at δ/T gives ε ≤ Σ T_i ε_i(δ/T).

    Loose in general but exact in the limit q → 0 or σ → ∞, where it certifies ε = 0 as
    soon as T·δ_i(0) ≤ δ, which RDP conversion never reaches. Each ε_i is a certified
    upper bound, δ/T is rounded down and the sum up.
    """
    per_step = _share_down(delta, schedule.steps)
    if per_step == 0.0:
        # δ/T below the smallest double: every step would have to hold at δ_i = 0, which
        # only pure DP does (and pure_epsilon covers that)
        return math.inf
    terms = [steps * one_step_epsilon_bracket(privacy_losses(m), per_step, lower=False)[1]
             for m, steps in schedule.counts()]
    return math.fsum(terms) * (1.0 + 2 * (len(terms) + 2) * _U)


def basic_composition_delta(schedule: Schedule, eps: float) -> float:
    """Basic composition: every step at ε/T gives δ ≤ Σ T_i δ_i(ε/T) (clipped at 1); ε/T
    is rounded down (so that Σ T_i·(ε/T) does not exceed ε), each δ_i and the sum up."""
    e = _share_down(eps, schedule.steps)
    terms = [steps * max(one_step_delta_bracket(pl, e)[1] for pl in privacy_losses(m))
             for m, steps in schedule.counts()]
    return min(1.0, math.fsum(terms) * (1.0 + 2 * (len(terms) + 2) * _U))
