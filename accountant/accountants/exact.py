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
from functools import lru_cache

import numpy as np

from ..loss import _mixture_kernels as _km
from ..core.special import log_sf_normal
from ..core._optimize import find_root
from ..loss import GaussianMixtureLoss, LaplaceLoss, privacy_losses

_U = 2.0 ** -53           # unit round-off
_KAPPA = 64.0             # safety factor on the first-order error bounds
_MU_REL = 8 * _U          # relative uncertainty of a μ from gaussian_mu (≤ 3u, doubled)
_NEG = -math.inf
_LOG_SQRT_2PI = 0.5 * math.log(2.0 * math.pi)
_SQRT2 = math.sqrt(2.0)
_GL_X, _GL_W = (list(map(float, a)) for a in np.polynomial.legendre.leggauss(12))


# ----------------------------------------------------------------------------------------
# log-space scalars
# ----------------------------------------------------------------------------------------
def _log1mexp(x: float) -> float:
    """log(1 − e^x) for x ≤ 0 (−inf at x ≥ 0)."""
    if x >= 0.0:
        return _NEG
    if x > -0.6931471805599453:
        return math.log(-math.expm1(x))
    return math.log1p(-math.exp(x))


def _logaddexp(a: float, b: float) -> float:
    if a == _NEG:
        return b
    if b == _NEG:
        return a
    if a < b:
        a, b = b, a
    return a + math.log1p(math.exp(b - a))


def _lse(vals) -> float:
    vals = [v for v in vals if v > _NEG]
    if not vals:
        return _NEG
    top = max(vals)
    return top + math.log(math.fsum(math.exp(v - top) for v in vals))


_TINY = 2.2250738585072014e-308   # below it doubles are subnormal: one ulp is 5e-324


def exp_up(log_value: float) -> float:
    """e^log_value as an upper bound: a positive value that underflows becomes the smallest
    positive double, never 0 (0 would claim δ = 0 exactly). Among subnormals one rounding
    of exp is up to half the value (the log-space margins do not cover it): the next
    double up is returned there."""
    if log_value == _NEG:
        return 0.0
    v = math.exp(min(log_value, 709.0))
    return math.nextafter(v, math.inf) if v < _TINY else v


def exp_down(log_value: float) -> float:
    """e^log_value as a lower bound: the next double down among subnormals (see
    :func:`exp_up`; a true 1.31e-323 was reported as the lower bound 1.5e-323)."""
    v = math.exp(min(log_value, 709.0))
    return math.nextafter(v, 0.0) if 0.0 < v < _TINY else v


def _signed_sum(terms):
    """Σ sign·e^log over ``terms`` = [(sign, log|t|)], as (sign, log|Σ|, log Σ|t|)."""
    lp = _lse([l for s, l in terms if s > 0])
    ln = _lse([l for s, l in terms if s < 0])
    gross = _logaddexp(lp, ln)
    if lp == ln:
        return 0, _NEG, gross
    if lp > ln:
        return 1, lp + _log1mexp(ln - lp), gross
    return -1, ln + _log1mexp(lp - ln), gross


# ----------------------------------------------------------------------------------------
# Schedule-level facts
# ----------------------------------------------------------------------------------------
def pure_epsilon(schedule, direction=None) -> float:
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


def gaussian_mu(schedule) -> float | None:
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


def gaussian_mu_rel(schedule) -> float:
    """A bound on the relative rounding error of :func:`gaussian_mu`."""
    return _MU_REL


def gaussian_result(schedule, method: str, delta=None, epsilon=None):
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
# μ-GDP
# ----------------------------------------------------------------------------------------
def _hazard_gap(t: float) -> float:
    """h(t) − t for the standard normal hazard h = φ/Φ̄ (> 0). Relative error measured
    against mpmath ≤ 61u(1 + t²) below t = 3 (erfc, then one cancelling subtraction) and
    ≤ 1.6u above (the continued fraction of the Mills ratio, evaluated backwards from 80,
    40, 28 or 16 levels on [3, 4), [4, 6), [6, 10), [10, ∞))."""
    if t < 3.0:
        return math.exp(-0.5 * t * t - _LOG_SQRT_2PI) / (0.5 * math.erfc(t / _SQRT2)) - t
    v = t
    for k in range(80 if t < 4.0 else 40 if t < 6.0 else 28 if t < 10.0 else 16, 1, -1):
        v = t + k / v
    return 1.0 / v


def _gdp_parts(mu: float, eps: float):
    """(a, a_err, s, s_err) with log δ(ε) = a + log(1 − e^s) for μ-GDP:
    a = log Φ̄(ε/μ − μ/2), s = ε − log Φ̄(ε/μ − μ/2) + log Φ̄(ε/μ + μ/2) < 0, and bounds on
    the absolute error of each (see the module docstring)."""
    zbar = eps / mu
    half = 0.5 * mu
    z1 = zbar - half
    a = log_sf_normal(z1)
    a_err = _KAPPA * _U * (1.0 + abs(a) + (max(z1, 0.0) + 1.6) * (abs(zbar) + abs(z1)))
    if mu <= 8.0:
        # s = ∫_{z1}^{z2} (t − h(t)) dt: the linear part integrates to ε − μ·z̄ = 0 on the
        # symmetric panels; only the smooth t − h(t) ≈ −1/t is summed.
        n = max(1, math.ceil(mu))
        w = mu / n
        total = 0.0
        tmax = 0.0
        for k in range(n):
            c = z1 + (k + 0.5) * w
            part = 0.0
            for x, wt in zip(_GL_X, _GL_W):
                t = c + 0.5 * w * x
                tmax = max(tmax, abs(t))
                part -= wt * _hazard_gap(t)
            total += 0.5 * w * part
        s = total
        s_err = _KAPPA * _U * (abs(s) * (4.0 + tmax * tmax) + mu * (abs(zbar) + half + 1.0))
    else:
        z2 = zbar + half
        b = eps + log_sf_normal(z2)
        s = b - a
        s_err = _KAPPA * _U * (abs(a) + abs(b) + abs(eps) + 1.0
                               + (max(z1, 0.0) + 1.6) * (abs(zbar) + abs(z1))
                               + (max(z2, 0.0) + 1.6) * (abs(zbar) + abs(z2)))
    return a, a_err, s, s_err


def gdp_log_delta(mu: float, eps: float) -> float:
    """log δ(ε) of μ-GDP (the nearest value; :func:`gdp_log_delta_bound` for a bound)."""
    if mu == 0.0:
        return _NEG
    a, _, s, _ = _gdp_parts(mu, eps)
    return a + _log1mexp(s)


def gdp_log_delta_bound(mu: float, eps: float, side: str, mu_rel: float = _MU_REL) -> float:
    """A proven upper (``side="upper"``) or lower bound on log δ(ε) of μ'-GDP for every μ'
    within a relative ``mu_rel`` of ``mu`` (δ grows with μ)."""
    if mu == 0.0:
        return _NEG
    up = side == "upper"
    m = mu * (1.0 + mu_rel) if up else mu * (1.0 - mu_rel)
    a, a_err, s, s_err = _gdp_parts(m, eps)
    if up:
        ld = a + a_err + (_log1mexp(s - s_err) if s - s_err < 0 else 0.0)
        return ld + _KAPPA * _U * (abs(ld) + 1.0)
    ld = a - a_err + _log1mexp(s + s_err)
    return ld - _KAPPA * _U * (abs(ld) + 1.0)


def gdp_delta(mu: float, eps: float) -> float:
    """δ(ε) of μ-GDP, nearest value (not a bound: :func:`gdp_delta_bracket`)."""
    return math.exp(gdp_log_delta(mu, eps))


def gdp_delta_bracket(mu: float, eps: float, mu_rel: float = _MU_REL):
    """(lower, upper): a proven bracket on δ(ε) of μ-GDP (μ known to a relative mu_rel)."""
    lo = exp_down(gdp_log_delta_bound(mu, eps, "lower", mu_rel))
    up = min(1.0, exp_up(gdp_log_delta_bound(mu, eps, "upper", mu_rel)))
    return min(lo, up), up


def _root_side(f, lo, hi, side):
    """Root of a decreasing f on [lo, hi], returned on the requested side: "upper" gives x
    with f(x) ≤ 0 (a valid upper bound on ε), "lower" gives x with f(x) ≥ 0; either is
    checked by evaluating f there, so f may be any bound, smooth or not."""
    x = find_root(f, lo, hi, xtol=1e-300, rtol=1e-15)
    step = max(abs(x), 1e-300) * 2.0 ** -52
    for _ in range(1100):
        v = f(x)
        if (side == "upper" and v <= 0) or (side == "lower" and v >= 0):
            return max(x, 0.0)
        x = x + step if side == "upper" else x - step
        step *= 2
        if side == "lower" and x <= lo:
            return lo                 # f(lo) > 0 is known
        if side == "upper" and x >= hi:
            return hi                 # f(hi) ≤ 0 is known
    raise RuntimeError("internal error: no certified root found")


def _epsilon_from_bound(log_bound, delta: float, side: str, top: float, guess=None) -> float:
    """ε(δ) from a bound on log δ(·): the smallest certified ε (side "upper") or the
    largest ε certified to lie below the true one (side "lower"). ``top`` is a point where
    the bound on δ is 0 (inf when there is none); ``guess`` (e.g. the other side's root)
    only saves evaluations: the root is bracketed around it by widening steps."""
    if not delta > 0.0:
        # (basic composition's δ/T can underflow; its caller refuses that case first)
        raise ValueError(f"delta must be in (0, 1), got {delta!r}")
    ld = math.log(delta)
    f = lambda e: log_bound(e, side) - ld
    if f(0.0) <= 0:
        return 0.0
    if guess is not None and 0.0 < guess < top:
        fg, r = f(guess), 1e-13
        while r < 1.0:
            e = guess * (1.0 + r) if fg > 0 else guess * (1.0 - r)
            if e >= top or e <= 0.0:
                break
            fe = f(e)
            if (fe > 0) != (fg > 0):
                lo, hi = (guess, e) if fg > 0 else (e, guess)
                return _root_side(f, lo, hi, side)
            r *= 64.0
    lo = 0.0
    if math.isfinite(top):
        hi = top
    else:
        # Doubling, then ×1e4 steps past 1e4: a bound that cannot certify anything (the
        # loss lies below its rounding) took 1000 evaluations, 13 s, to reach 1e300.
        hi = 1.0
        while f(hi) > 0:
            lo = hi                   # f(lo) > 0 is known: the root lies above
            hi *= 2.0 if hi < 1e4 else 1e4
            if hi > 1e300:
                # δ certified above the target at lo proves ε > lo (lower side),
                # nothing finite on the upper side
                return math.inf if side == "upper" else lo
    return _root_side(f, lo, hi, side)


def _gdp_direct_log_delta(mu: float, eps: float) -> float:
    """log δ(ε) of μ-GDP by the direct two-tail form: cheap, and only used for a guess."""
    a = log_sf_normal(eps / mu - mu / 2)
    b = eps + log_sf_normal(eps / mu + mu / 2)
    return a + _log1mexp(b - a) if b < a else _NEG


def gdp_epsilon(mu: float, delta: float, side: str = "upper", mu_rel: float = _MU_REL) -> float:
    """The ε of μ-GDP at δ (0 when δ(0) ≤ δ), as a proven bound on the requested side
    (μ known to a relative ``mu_rel``)."""
    if mu == 0.0:
        return 0.0
    ld = math.log(delta)
    guess = None
    if _gdp_direct_log_delta(mu, 0.0) > ld:
        hi = 1.0
        while _gdp_direct_log_delta(mu, hi) > ld and hi < 1e300:
            hi *= 2.0
        guess = find_root(lambda e: _gdp_direct_log_delta(mu, e) - ld, 0.0, hi,
                          xtol=1e-300, rtol=1e-12)
    return _epsilon_from_bound(lambda e, sd: gdp_log_delta_bound(mu, e, sd, mu_rel),
                               delta, side, math.inf, guess if guess and guess > 0 else None)


# ----------------------------------------------------------------------------------------
# One step of a privacy loss
# ----------------------------------------------------------------------------------------
class _Pair:
    """A Gaussian-mixture pair with weights re-derived so that each sums to 1 exactly."""

    __slots__ = ("sigma", "pm", "plw", "qm", "qlw", "arrays", "means", "coef", "lo", "hi",
                 "hi_err", "mu")


def _complement(means, logw, shared):
    """Log weights with the shared component's weight (if ≥ ½) replaced by 1 − Σ others,
    and (index, log Σ others) of that component (None when kept as given)."""
    logw = [float(v) for v in logw]
    if len(means) == 1:
        return [0.0], (0, _NEG)
    cands = [i for i, m in enumerate(means) if m in shared]
    if not cands:
        return logw, None
    j = max(cands, key=lambda i: logw[i])
    if logw[j] < math.log(0.5):
        return logw, None
    rest = math.fsum(math.exp(v) for i, v in enumerate(logw) if i != j)
    logw[j] = math.log1p(-rest)
    return logw, (j, math.log(rest) if rest > 0 else _NEG)


@lru_cache(maxsize=4096)
def _pair(pl) -> _Pair:
    p = _Pair()
    p.sigma = float(pl.sigma)
    p.pm, p.qm = [float(v) for v in pl.pm], [float(v) for v in pl.qm]
    shared = set(p.pm) & set(p.qm)
    p.plw, pc = _complement(p.pm, pl.plw, shared)
    p.qlw, qc = _complement(p.qm, pl.qlw, shared)
    p.arrays = (np.array(p.pm), np.array(p.plw), np.array(p.qm), np.array(p.qlw), p.sigma)
    p.means = sorted(set(p.pm) | set(p.qm))
    # Per mean: how its coefficient w_Q(u) − e^ε w_P(u) is formed:
    # (Q log weight or None, Q complement log S or None, same for P).
    p.coef = []
    for u in p.means:
        qi = p.qm.index(u) if u in p.qm else None
        pi = p.pm.index(u) if u in p.pm else None
        q_s = qc[1] if (qi is not None and qc is not None and qc[0] == qi) else None
        p_s = pc[1] if (pi is not None and pc is not None and pc[0] == pi) else None
        p.coef.append((u, None if qi is None else p.qlw[qi], q_s,
                       None if pi is None else p.plw[pi], p_s))
    p.lo = p.qlw[0] - p.plw[0] if p.qm[0] == p.pm[0] else (_NEG if p.qm[0] > p.pm[0] else None)
    if p.qm[-1] == p.pm[-1]:
        p.hi = p.qlw[-1] - p.plw[-1]
        p.hi_err = _KAPPA * _U * (abs(p.qlw[-1]) + abs(p.plw[-1]) + abs(p.hi))
    else:
        p.hi, p.hi_err = math.inf, 0.0
    p.mu = (p.qm[0] - p.pm[0]) / p.sigma if len(p.pm) == 1 and len(p.qm) == 1 else None
    return p


def _log_abs_expm1(x: float) -> float:
    return x + math.log1p(-math.exp(-x)) if x > 1.0 else math.log(abs(math.expm1(x)))


def _coefficient(c, eps):
    """(u, sign, log|c_u|, log gross, error factor) of c_u = w_Q(u) − e^ε w_P(u); the
    absolute error of c_u is ≤ κu·gross·factor (gross = the sum of the magnitudes of the
    terms it is formed from)."""
    u, qlw, q_s, plw, p_s = c
    terms = []
    if q_s is not None and p_s is not None:
        if q_s == p_s:
            # the same complement on both sides (replace-one): c = −(1 − S)·expm1(ε), no
            # cancellation at all
            if eps == 0.0:
                return u, 0, _NEG, _NEG, 1.0
            lc = _log_abs_expm1(eps) + math.log1p(-math.exp(q_s))
            return u, -1 if eps > 0 else 1, lc, lc, 4.0 + abs(eps) + abs(q_s)
        # (1 − S_Q) − e^ε(1 − S_P) = e^ε S_P − S_Q − expm1(ε)
        if eps != 0.0:
            terms.append((-1 if eps > 0 else 1, _log_abs_expm1(eps)))
        terms += [(-1, q_s), (1, eps + p_s)]
    else:
        if qlw is not None:
            terms += [(1, 0.0), (-1, q_s)] if q_s is not None else [(1, qlw)]
        if plw is not None:
            terms += [(-1, eps), (1, eps + p_s)] if p_s is not None else [(-1, eps + plw)]
    terms = [(s, l) for s, l in terms if l > _NEG]
    sign, lc, gross = _signed_sum(terms)
    factor = 3.0 + abs(eps) + max((abs(l) for _, l in terms), default=0.0)
    return u, sign, lc, gross, factor


def _sum_bound(coefs, x, sigma, log_kernel):
    """Σ_u c_u·K((x − u)/σ) for K = e^{log_kernel}, as (sign, log|Σ|, log of a bound on its
    rounding error). ``log_kernel(z)`` is log Φ̄(z) or −z²/2, both of relative error
    ≲ u(3 + |log K| + (|z| + 1.6)(|z| + (|x| + |u|)/σ)) at a rounded z."""
    terms, err = [], []
    for u, sign, lc, gross, factor in coefs:
        z = (x - u) / sigma
        lk = log_kernel(z)
        nk = 3.0 + abs(lk) + (abs(z) + 1.6) * ((abs(x) + abs(u)) / sigma + abs(z))
        if sign != 0:
            terms.append((sign, lc + lk))
            err.append(lc + lk + math.log(nk))
        if gross > _NEG:
            err.append(gross + lk + math.log(factor))
    sign, ls, _ = _signed_sum(terms)
    if sign != 0:
        err.append(ls + math.log(abs(ls) + 3.0))     # the final sums and logarithms
    return sign, ls, math.log(_KAPPA * _U) + _lse(err)


def _log_density_kernel(z):
    return -0.5 * z * z


def _mixture_log_delta_bound(p: _Pair, eps: float, side: str) -> float:
    """Bound on log δ(ε) of one step of the pair, ε ≥ 0 below the top of the loss.

    f(x) = Σ_u c_u Φ̄((x − u)/σ) = Q(X > x) − e^ε P(X > x) ≤ δ(ε) for every x, with equality
    at the root x* of L = ε. The lower bound is f at a point x_a certified to lie at or
    below x* — where g(x) = Σ_u c_u φ((x − u)/σ) ∝ q(x) − e^ε p(x) is certified ≤ 0 with
    its rounding bound — minus f's rounding bound. The upper bound adds the mass f can miss
    between x_a and x*: there e^ε p − q = p·(e^ε − e^L) ≤ p·(e^ε − e^{L(x_a)}) = p·|g(x_a)|/p(x_a),
    so δ(ε) − f(x_a) ≤ |g(x_a)|·P(X > x_a)/p(x_a)."""
    up = side == "upper"
    sig = p.sigma
    coefs = [_coefficient(c, eps) for c in p.coef]
    x = float(_km.inverse_loss(eps, *p.arrays, -math.inf if p.lo is None else p.lo, p.hi))
    if not math.isfinite(x):
        return 0.0 if up else _NEG

    _, lg, le = _sum_bound(coefs, x, sig, _log_density_kernel)
    ref = max(lg, le)            # scale of g near the root (keeps the secant in range)

    def g_up(y):                 # (upper bound on g(y)·e^-ref, ≤ 0 iff certified; log|g|; log err)
        sg, lg, le = _sum_bound(coefs, y, sig, _log_density_kernel)
        a, b = math.exp(min(lg - ref, 700.0)), math.exp(min(le - ref, 700.0))
        if sg < 0 and lg >= le:                      # g(y) ≤ 0 proven: y ≤ x*
            return min(0.0, b - a), lg, le
        return max(sg * a + b, 1e-300), lg, le

    v0, lg, le = g_up(x)
    if v0 > 0:
        # Move left to a point where g's upper bound is ≤ 0 (certified x ≤ x*): secant
        # steps on the bound, at least doubling the distance each time.
        y0, y1 = x, x - (abs(x) + sig) * 1e-13
        # Beyond 64σ below both x and every mean, L is its lower limit to within e^-2000:
        # nothing further left certifies what nearer points did not (the walk went on to
        # x = -1e105 at 0.2 ms a step for ELS(1e12, 1e-15, 256)).
        stop = min(x, p.means[0]) - 64.0 * sig
        for _ in range(200):
            v1, lg, le = g_up(y1)
            if v1 <= 0:
                break
            if y1 < stop:
                return 0.0 if up else _NEG
            slope = (v0 - v1) / (y0 - y1)
            jump = 1.25 * v1 / slope if slope > 0 and math.isfinite(slope) else math.inf
            y0, v0, y1 = y1, v1, y1 - max(min(jump, 64 * (y0 - y1)), 2 * (y0 - y1))
        else:
            return 0.0 if up else _NEG
        x = y1
    elif lg > le + 2.0:
        # x is certified but well left of the root (the root finder's tolerance): the
        # missed mass is first order in the distance, so step right by secant towards
        # where g is −(a few times its error), keeping the last certified point.
        h = (abs(x) + sig) * 1e-9
        for _ in range(3):
            v1, lg1, le1 = g_up(x + h)
            if v1 > 0 or not (lg1 < lg):
                break
            slope = (v1 - v0) / h
            if not (slope > 0):
                break
            x, v0, lg, le = x + h, v1, lg1, le1
            target = -4.0 * math.exp(min(le - ref, 700.0))
            h = (target - v0) / slope
            if not (h > 0):
                break
    sign, ld, log_err = _sum_bound(coefs, x, sig, log_sf_normal)
    if sign <= 0:
        ld = _NEG
    if not up:
        return ld + _log1mexp(log_err - ld) if ld > log_err else _NEG
    log_p = _lse([lw - 0.5 * ((x - m) / sig) * ((x - m) / sig) for m, lw in zip(p.pm, p.plw)])
    log_pbar = _lse([lw + log_sf_normal((x - m) / sig) for m, lw in zip(p.pm, p.plw)])
    miss = _logaddexp(lg, le) - log_p + log_pbar + math.log(2.0)
    return _logaddexp(_logaddexp(ld, log_err), miss)


def _laplace_log_delta_bound(pl: LaplaceLoss, eps: float, side: str) -> float:
    """δ(ε) = 1 − e^{(ε − ε₀)/2} on [−ε₀, ε₀), 0 above, with ε₀ = s/b taken exactly
    (rational arithmetic), not as the rounded quotient: t = (ε − ε₀)/2 is then one
    rounding away from exact and −expm1(t) two."""
    t = (Fraction(eps) - Fraction(pl.sensitivity) / Fraction(pl.scale)) / 2
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


def one_step_log_delta_bound(pl, eps: float, side: str) -> float:
    """A proven upper (``side="upper"``) or lower bound on log δ(ε) of one step of the
    privacy loss ``pl``, ε ≥ 0."""
    eps = float(eps)
    if eps < 0:
        raise ValueError(f"epsilon must be in [0, inf), got {eps!r}")
    if isinstance(pl, LaplaceLoss):
        return _laplace_log_delta_bound(pl, eps, side)
    if not isinstance(pl, GaussianMixtureLoss):
        raise TypeError(f"no certified one-step evaluation for {type(pl).__name__}")
    p = _pair(pl)
    if p.mu is not None:                      # one Gaussian each side: μ-GDP
        out = gdp_log_delta_bound(p.mu, eps, side, 8 * _U)
    elif eps >= p.hi + p.hi_err:
        return _NEG
    elif eps > p.hi - p.hi_err:
        # Where the top of the loss is uncertain: 0 below, δ at a point below it above.
        if side != "upper":
            return _NEG
        out = _mixture_log_delta_bound(p, max(0.0, p.hi - 2.0 * p.hi_err), "upper")
    else:
        out = _mixture_log_delta_bound(p, eps, side)
    if out != out:
        # An evaluation that broke down (ELS(1e12, 1e-15, 256) at ε = 2e144: NaN) proves
        # nothing; NaN compared as "not above the target" and certified ε = 3e144.
        return 0.0 if side == "upper" else _NEG
    return min(out, 0.0) if side == "upper" else out


def one_step_delta_bracket(pl, eps: float):
    """(lower, upper): a proven bracket on the one-step δ(ε) of ``pl``."""
    lo = exp_down(one_step_log_delta_bound(pl, eps, "lower"))
    up = min(1.0, exp_up(one_step_log_delta_bound(pl, eps, "upper")))
    return min(lo, up), up


def _top(pl) -> float:
    """A point where the upper bound on the one-step δ is 0 (inf if there is none)."""
    if isinstance(pl, LaplaceLoss):
        return pl.eps0 * (1.0 + 4 * _U) + 1e-300
    p = _pair(pl)
    if p.mu is not None or not math.isfinite(p.hi):
        return math.inf
    return p.hi + 2.0 * p.hi_err + 1e-300


def _laplace_epsilon(pl: LaplaceLoss, delta: float, side: str) -> float:
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
    e = Fraction(pl.sensitivity) / Fraction(pl.scale) + 2 * lg
    if e <= 0:
        return 0.0
    if side == "upper":
        return _round_up(e)
    f = float(e)
    return f if Fraction(f) <= e else math.nextafter(f, 0.0)


def one_step_epsilon(pl, delta: float, side: str = "upper", guess=None) -> float:
    """Exact ε(δ) of one step of a privacy loss (0 if δ(0) ≤ δ), as a proven bound on the
    requested side (``guess`` only saves evaluations)."""
    if isinstance(pl, LaplaceLoss):
        return _laplace_epsilon(pl, delta, side)
    return _epsilon_from_bound(lambda e, sd: one_step_log_delta_bound(pl, e, sd),
                               delta, side, _top(pl), guess)


def _exceeds(pl, eps: float, delta: float) -> bool:
    """False when the one-step ε(δ) of ``pl`` is proven ≤ eps (δ(eps) ≤ δ, one bound)."""
    return one_step_log_delta_bound(pl, eps, "upper") > math.log(delta)


def one_step_epsilon_bracket(pls, delta: float, lower: bool = True):
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
def composed_lower_epsilon(schedule, delta: float) -> float:
    """A proven lower bound on the composed ε: exact for Gaussian-only schedules, otherwise
    the largest exact one-step ε over the schedule's mechanisms and directions (a step whose
    δ at the best lower bound so far is ≤ δ cannot raise it and is skipped after one
    evaluation; the leakiest step by the core's estimate is taken first)."""
    mu = gaussian_mu(schedule)
    if mu is not None:
        return gdp_epsilon(mu, delta, "lower", gaussian_mu_rel(schedule))
    pls = [pl for m, _ in schedule.counts() for pl in privacy_losses(m)]
    if len(pls) > 1:
        score = lambda pl: float(np.asarray(pl.log_hockey_stick(np.array([1.0])))[0])
        pls.sort(key=score, reverse=True)
    best = 0.0
    for pl in pls:
        if best > 0 and not _exceeds(pl, best, delta):
            continue
        best = max(best, one_step_epsilon(pl, delta, "lower", guess=best if best > 0 else None))
    return best


def composed_lower_delta(schedule, eps: float) -> float:
    """A proven lower bound on the composed δ(ε) (see :func:`composed_lower_epsilon`)."""
    mu = gaussian_mu(schedule)
    if mu is not None:
        return gdp_delta_bracket(mu, eps, gaussian_mu_rel(schedule))[0]
    best = 0.0
    for m, _ in schedule.counts():
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


def basic_composition_epsilon(schedule, delta: float) -> float:
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


def basic_composition_delta(schedule, eps: float) -> float:
    """Basic composition: every step at ε/T gives δ ≤ Σ T_i δ_i(ε/T) (clipped at 1); ε/T
    is rounded down (so that Σ T_i·(ε/T) does not exceed ε), each δ_i and the sum up."""
    e = _share_down(eps, schedule.steps)
    terms = [steps * max(one_step_delta_bracket(pl, e)[1] for pl in privacy_losses(m))
             for m, steps in schedule.counts()]
    return min(1.0, math.fsum(terms) * (1.0 + 2 * (len(terms) + 2) * _U))
