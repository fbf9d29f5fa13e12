"""Outward-rounded scalars in log space, shared by every certified evaluation.

A certified value is rounded outward (upper bounds up, lower bounds down) by an error
bound computed at the point (docs/math.md §9): ``exp_up``/``exp_down`` leave log space
without claiming 0 or 1 where the truth is not, ``round_up`` turns an exact rational into
the next double, and ``epsilon_from_bound`` inverts a certified bound on log δ(ε) on the
requested side.
"""
from __future__ import annotations

import math
from fractions import Fraction
from typing import Callable, Optional

from ._optimize import find_root

_U = 2.0 ** -53           # unit round-off
_KAPPA = 64.0             # safety factor on the first-order error bounds
_NEG = -math.inf


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



def round_up(x: Fraction) -> float:
    """The smallest double ≥ the rational x."""
    f = float(x)
    return math.nextafter(f, math.inf) if Fraction(f) < x else f


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


def epsilon_from_bound(log_bound: Callable[[float, str], float], delta: float, side: str,
                       top: float, guess: Optional[float] = None) -> float:
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


def guard_log_delta(out: float, side: str) -> float:
    """A bound on log δ made safe to use: an evaluation that broke down (NaN: ELS(1e12,
    1e-15, 256) at ε = 2e144) proves nothing — NaN compared as "not above the target" and
    certified ε = 3e144 — and an upper bound never exceeds log 1."""
    if out != out:
        return 0.0 if side == "upper" else _NEG
    return min(out, 0.0) if side == "upper" else out
