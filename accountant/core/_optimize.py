"""Small scalar solvers (root and minimum on an interval).

scipy.optimize costs about a second to import, more than the whole RDP computation the
CLI does; these two routines are all the accountants need from it.
"""
from __future__ import annotations

import math

_GOLD = 0.5 * (3.0 - math.sqrt(5.0))


def find_root(f, a: float, b: float, *, xtol: float = 1e-14, rtol: float = 1e-14,
              maxiter: int = 500) -> float:
    """A root of ``f`` on [a, b] where f(a) and f(b) differ in sign.

    Illinois regula falsi (superlinear) with a bisection step whenever the interval does not
    shrink by half in two steps, so it never does worse than bisection.
    """
    fa, fb = f(a), f(b)
    if fa == 0.0:
        return a
    if fb == 0.0:
        return b
    if (fa > 0) == (fb > 0):
        raise ValueError("find_root needs f(a) and f(b) of opposite signs")
    side = 0
    width = abs(b - a)
    for _ in range(maxiter):
        c = (a * fb - b * fa) / (fb - fa)
        if not (min(a, b) < c < max(a, b)):
            c = 0.5 * (a + b)
        fc = f(c)
        if fc == 0.0:
            return c
        if (fc > 0) == (fb > 0):
            b, fb = c, fc
            if side == -1:
                fa *= 0.5
            side = -1
        else:
            a, fa = c, fc
            if side == 1:
                fb *= 0.5
            side = 1
        if abs(b - a) <= xtol + rtol * abs(c):
            return c
        if abs(b - a) > 0.5 * width:
            m = 0.5 * (a + b)
            fm = f(m)
            if fm == 0.0:
                return m
            if (fm > 0) == (fb > 0):
                b, fb = m, fm
            else:
                a, fa = m, fm
            side = 0
        width = abs(b - a)
    return 0.5 * (a + b)


def minimize_bounded(f, a: float, b: float, *, xatol: float = 1e-3, maxiter: int = 200):
    """Golden-section search for a minimum of a unimodal ``f`` on [a, b].

    Returns (x, f(x)) for the best point evaluated.
    """
    x1 = a + _GOLD * (b - a)
    x2 = b - _GOLD * (b - a)
    f1, f2 = f(x1), f(x2)
    best = (x1, f1) if f1 <= f2 else (x2, f2)
    for _ in range(maxiter):
        if b - a <= xatol:
            break
        if f1 <= f2:
            b, x2, f2 = x2, x1, f1
            x1 = a + _GOLD * (b - a)
            f1 = f(x1)
            if f1 < best[1]:
                best = (x1, f1)
        else:
            a, x1, f1 = x1, x2, f2
            x2 = b - _GOLD * (b - a)
            f2 = f(x2)
            if f2 < best[1]:
                best = (x2, f2)
    return best
