import math

import pytest

from accountant.core._optimize import find_root, minimize_bounded


@pytest.mark.parametrize("f,a,b,root,tol", [
    (lambda x: x * x - 2.0, 0.0, 2.0, math.sqrt(2.0), 1e-12),
    (lambda x: math.exp(-x) - 1e-12, 0.0, 100.0, 12 * math.log(10), 1e-10),
    # flat (triple) root: only the bisection guard gets there; f is ~1e-15 within 1e-5
    (lambda x: (x - 0.3) ** 3, -5.0, 5.0, 0.3, 1e-4),
    (lambda x: -math.atan(x - 7.0), 0.0, 1e6, 7.0, 1e-9),
])
def test_find_root(f, a, b, root, tol):
    x = find_root(f, a, b, xtol=1e-13, rtol=1e-13)
    assert abs(x - root) <= tol


def test_find_root_needs_a_sign_change():
    with pytest.raises(ValueError):
        find_root(lambda x: x * x + 1, -1.0, 1.0)


def test_minimize_bounded():
    x, fx = minimize_bounded(lambda u: (u - 1.234) ** 2 + 5.0, -10.0, 10.0, xatol=1e-6)
    assert x == pytest.approx(1.234, abs=1e-5) and fx == pytest.approx(5.0, abs=1e-9)
    # minimum at the end of the interval
    x, fx = minimize_bounded(lambda u: u, 2.0, 3.0, xatol=1e-6)
    assert x == pytest.approx(2.0, abs=1e-5)
