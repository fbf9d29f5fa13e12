"""Argument checks shared by the API, the accountants and the CLI: the one place where
input is validated.

Every check raises ``ValueError`` whose message names the argument and the allowed range,
so that the CLI can print it as a one-line error. Numbers must be real numbers of a numeric
type — Python ``int``/``float``, ``fractions.Fraction``, numpy scalars — never ``bool`` or a
string (``"2.0"`` is refused: the CLI converts its own text); integers must fit what the
kernels compute exactly (≤ :data:`MAX_COUNT`); choices are exact strings. A sequence of
numbers (:func:`items`) is an ordered collection, never a str or bytes, whose every element
is checked as a number on its own (``sensitivities[1]`` in the message).
"""
from __future__ import annotations

import math
import numbers
from collections.abc import Mapping, Set

#: Largest integer argument (steps, examples per user, …): every integer up to 2**53 is
#: exact in the float64 kernels.
MAX_COUNT = 2 ** 53
#: Noise multipliers outside this range are refused: below it the one-step privacy loss
#: (~1/σ²) leaves the floating-point range of the kernels, above it every ε is 0 to
#: double precision.
NOISE_RANGE = (1e-6, 1e12)


def _show(value) -> str:
    """A short repr for messages (a 400-digit integer is not printed in full)."""
    text = repr(value)
    return text if len(text) <= 40 else f"{text[:20]}…({len(text)} characters)"


def _as_float(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        raise ValueError(f"{name} must be a real number (int, float or numpy scalar), got "
                         f"{type(value).__name__} {_show(value)}")
    try:
        # NaN is left to the range checks, which all fail on it and name the allowed range.
        return float(value)
    except OverflowError:
        raise ValueError(f"{name} must be a finite real number, got {_show(value)}") from None


def positive(name: str, value, *, allow_inf: bool = False) -> float:
    """A float in (0, inf) (or (0, inf] with ``allow_inf``)."""
    v = _as_float(name, value)
    if not v > 0 or (math.isinf(v) and not allow_inf):
        hi = "inf]" if allow_inf else "inf)"
        raise ValueError(f"{name} must be in (0, {hi}, got {_show(value)}")
    return v


def nonnegative(name: str, value) -> float:
    """A finite float in [0, inf)."""
    v = _as_float(name, value)
    if not (0 <= v < math.inf):
        raise ValueError(f"{name} must be in [0, inf), got {_show(value)}")
    return v


def probability(name: str, value) -> float:
    """A probability in [0, 1]."""
    v = _as_float(name, value)
    if not (0 <= v <= 1):
        raise ValueError(f"{name} must be in [0, 1], got {_show(value)}")
    return v


def open_probability(name: str, value) -> float:
    """A probability in (0, 1) (a false-positive rate, a prior)."""
    v = _as_float(name, value)
    if not (0 < v < 1):
        raise ValueError(f"{name} must be in (0, 1), got {_show(value)}")
    return v


def sample_rate(name: str, value, *, allow_zero: bool = False) -> float:
    """A probability in (0, 1] (or [0, 1] with ``allow_zero``: a rate of 0 samples no one,
    which the mechanisms accept and the accountants answer with ε = 0 exactly)."""
    if allow_zero:
        return probability(name, value)
    v = _as_float(name, value)
    if not (0 < v <= 1):
        raise ValueError(f"{name} must be in (0, 1], got {_show(value)}")
    return v


def noise_multiplier(name: str, value) -> float:
    """A noise scale in :data:`NOISE_RANGE`; 0 gets its own explanation (no noise, no
    privacy)."""
    v = _as_float(name, value)
    if v == 0:
        raise ValueError(f"{name} must be in (0, inf), got {_show(value)}: a mechanism "
                         "without noise is not private (epsilon = inf)")
    v = positive(name, value)
    lo, hi = NOISE_RANGE
    if not lo <= v <= hi:
        raise ValueError(f"{name} must be in [{lo:g}, {hi:g}] (the range the accountants "
                         f"compute), got {_show(value)}")
    return v


def delta(name: str, value) -> float:
    """A delta in (0, 1)."""
    v = _as_float(name, value)
    if not (0 < v < 1):
        raise ValueError(f"{name} must be in (0, 1), got {_show(value)}")
    return v


def epsilon(name: str, value) -> float:
    """An epsilon in [0, inf)."""
    return nonnegative(name, value)


def count(name: str, value, *, minimum: int = 1, maximum: int = MAX_COUNT) -> int:
    """An integer in [``minimum``, ``maximum``] (floats accepted only when integral)."""
    what = f"{name} must be an integer >= {minimum} and <= {maximum}"
    if isinstance(value, bool):
        raise ValueError(f"{what}, got {value!r}")
    if isinstance(value, numbers.Integral):
        v = int(value)
    else:
        f = _as_float(name, value)
        if not math.isfinite(f) or f != math.floor(f):
            raise ValueError(f"{what}, got {_show(value)}")
        v = int(f)
    if not minimum <= v <= maximum:
        raise ValueError(f"{what}, got {_show(value)}")
    return v


def choice(name: str, value, allowed) -> str:
    """``value`` when it is exactly one of the strings ``allowed``."""
    if not isinstance(value, str) or value not in allowed:
        opts = ", ".join(repr(a) for a in allowed)
        raise ValueError(f"{name} must be one of {opts}, got {_show(value)}")
    return value


def items(name: str, value) -> tuple:
    """The elements of ``value``, an ordered collection (list, tuple, range, 1-D numpy
    array, …), for the caller to check one by one (as ``name[i]``).

    A str or bytes is refused although it is iterable: its elements are characters or
    byte codes, never the numbers meant (``b"01"`` used to pass as the shifts 48 and 49).
    So are sets and mappings: elements are paired by position with another sequence's,
    and they have no order to pair by."""
    if isinstance(value, (str, bytes, bytearray, memoryview, Set, Mapping)):
        raise ValueError(f"{name} must be a sequence of real numbers (list, tuple or 1-D "
                         f"array), got {type(value).__name__} {_show(value)}")
    try:
        return tuple(value)
    except TypeError:
        raise ValueError(f"{name} must be a sequence of real numbers (list, tuple or 1-D "
                         f"array), got {type(value).__name__} {_show(value)}") from None
