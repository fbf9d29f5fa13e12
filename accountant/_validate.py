"""Argument checks shared by the API, the accountants and the CLI.

Every check raises ``ValueError`` whose message names the argument and the allowed range,
so that the CLI can print it as a one-line error.
"""
from __future__ import annotations

import math
import numbers


def _as_float(name: str, value) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real):
        try:
            value = float(value)
        except (TypeError, ValueError):
            raise ValueError(f"{name} must be a real number, got {value!r}") from None
    # NaN is left to the range checks, which all fail on it and name the allowed range.
    return float(value)


def positive(name: str, value, *, allow_inf: bool = False) -> float:
    """A float in (0, inf) (or (0, inf] with ``allow_inf``)."""
    v = _as_float(name, value)
    if not v > 0 or (math.isinf(v) and not allow_inf):
        hi = "inf]" if allow_inf else "inf)"
        raise ValueError(f"{name} must be in (0, {hi}, got {value!r}")
    return v


def nonnegative(name: str, value) -> float:
    """A finite float in [0, inf)."""
    v = _as_float(name, value)
    if not (0 <= v < math.inf):
        raise ValueError(f"{name} must be in [0, inf), got {value!r}")
    return v


def sample_rate(name: str, value, *, allow_zero: bool = False) -> float:
    """A probability in (0, 1] (or [0, 1] with ``allow_zero``: a rate of 0 samples no one,
    which the mechanisms accept and the accountants answer with ε = 0 exactly)."""
    v = _as_float(name, value)
    if allow_zero:
        if not (0 <= v <= 1):
            raise ValueError(f"{name} must be in [0, 1], got {value!r}")
        return v
    if not (0 < v <= 1):
        raise ValueError(f"{name} must be in (0, 1], got {value!r}")
    return v


def noise_multiplier(name: str, value) -> float:
    """A noise scale in (0, inf); 0 gets its own explanation (no noise, no privacy)."""
    v = _as_float(name, value)
    if v == 0:
        raise ValueError(f"{name} must be in (0, inf), got {value!r}: a mechanism without "
                         "noise is not private (epsilon = inf)")
    return positive(name, value)


def delta(name: str, value) -> float:
    """A delta in (0, 1)."""
    v = _as_float(name, value)
    if not (0 < v < 1):
        raise ValueError(f"{name} must be in (0, 1), got {value!r}")
    return v


def epsilon(name: str, value) -> float:
    """An epsilon in [0, inf)."""
    return nonnegative(name, value)


def count(name: str, value, *, minimum: int = 1) -> int:
    """An integer >= ``minimum`` (floats accepted only when integral)."""
    if isinstance(value, bool):
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    if isinstance(value, numbers.Integral):
        v = int(value)
    else:
        f = _as_float(name, value)
        if not math.isfinite(f) or f != math.floor(f):
            raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
        v = int(f)
    if v < minimum:
        raise ValueError(f"{name} must be an integer >= {minimum}, got {value!r}")
    return v


def choice(name: str, value, allowed) -> str:
    if value not in allowed:
        opts = ", ".join(repr(a) for a in allowed)
        raise ValueError(f"{name} must be one of {opts}, got {value!r}")
    return value
