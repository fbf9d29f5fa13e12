"""Saddle-point accountant: unit values, closed forms, containment of certified values."""
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import brentq
from scipy.special import log_ndtr

import accountant as acc
from accountant import saddlepoint as S
from accountant.mechanisms import as_schedule


def _gdp_delta(mu, eps):
    """μ-GDP δ(ε) = Φ(−ε/μ + μ/2) − e^ε Φ(−ε/μ − μ/2), evaluated in log space."""
    a = log_ndtr(-eps / mu + mu / 2)
    b = eps + log_ndtr(-eps / mu - mu / 2)
    return math.exp(a) * -math.expm1(min(b - a, 0.0))


def _gdp_eps(mu, delta):
    if _gdp_delta(mu, 0.0) <= delta:
        return 0.0
    return brentq(lambda e: _gdp_delta(mu, e) - delta, 0.0, 10 * mu + mu * mu + 50, xtol=1e-14)


def test_unit_values_math_md():
    # notes/math.md §6: σ=2, q=0.01, T=3000, ε=1 (remove direction).
    sch = as_schedule(acc.SubsampledGaussian(2.0, 0.01), 3000)
    curve = S._Curve(sch, "remove")
    t0 = S.saddle_point(curve, 1.0)
    K, K1, K2, P = curve.at(t0)[:4]
    assert t0 == pytest.approx(12.321536, rel=1e-5)
    assert K / 3000 == pytest.approx(2.416223e-3, rel=1e-5)
    assert K1 / 3000 == pytest.approx(3.854084e-4, rel=1e-5)
    assert K2 / 3000 == pytest.approx(3.199609e-5, rel=1e-5)
    assert P / 3000 == pytest.approx(4.304107e-7, rel=1e-5)
    clt, err, _ = S.spa_terms(1.0, t0, *curve.at(t0))
    assert clt == pytest.approx(4.645800e-5, rel=1e-5)
    assert err == pytest.approx(8.742834e-6, rel=1e-5)


def test_certified_interval_contains_peer_values():
    # dp_accounting 0.6.0 PLD (add/remove, grid 2e-5): δ(1) = 4.6486e-5 and ε(1e-5) =
    # 1.11954 for σ=2, q=0.01, T=3000 (recorded numbers, not imported).
    m = acc.SubsampledGaussian(2.0, 0.01)
    r = acc.delta(m, epsilon=1.0, steps=3000, method="saddlepoint")
    assert r.certified and r.lower <= 4.6486e-5 <= r.upper
    assert r.estimate == pytest.approx(4.6486e-5, rel=2e-3)
    r = acc.epsilon(m, delta=1e-5, steps=3000, method="saddlepoint")
    assert r.certified and r.lower <= 1.11954 <= r.upper
    assert r.estimate == pytest.approx(1.11954, abs=2e-4)
    assert r.details["clt"] == pytest.approx(1.11954, abs=2e-4)
    assert float(r) == r.upper


@pytest.mark.parametrize("sigma,T", [(5.0, 100), (20.0, 1000), (1.0, 4), (0.7, 2)])
def test_gaussian_closed_form(sigma, T):
    # q = 1: the tilted law is exactly normal, SPA-CLT is exact.
    mu = math.sqrt(T) / sigma
    for eps in (0.0, 0.5, 2.0, 5.0):
        r = acc.delta(acc.Gaussian(sigma), epsilon=eps, steps=T, method="saddlepoint")
        ex = _gdp_delta(mu, eps)
        assert r.details["clt"] == pytest.approx(ex, rel=1e-9, abs=1e-300)
        assert r.lower <= ex * (1 + 1e-12) and ex <= r.upper * (1 + 1e-12)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sigma=st.floats(0.3, 30.0), steps=st.integers(1, 20000), log_delta=st.floats(-12, -1))
def test_gaussian_eps_contains_closed_form(sigma, steps, log_delta):
    mu = math.sqrt(steps) / sigma
    delta = 10 ** log_delta
    r = acc.epsilon(acc.Gaussian(sigma), delta=delta, steps=steps, method="saddlepoint")
    ex = _gdp_eps(mu, delta)
    if r.certified:
        assert r.lower - 1e-9 <= ex <= r.upper + 1e-9
    assert r.estimate == pytest.approx(ex, rel=1e-6, abs=1e-9)


def test_heterogeneous_gaussian_schedule_sums_cgfs():
    sch = acc.Schedule([(acc.Gaussian(2.0), 10), (acc.Gaussian(4.0), 40), (acc.Gaussian(1.5), 3)])
    mu = math.sqrt(10 / 4 + 40 / 16 + 3 / 2.25)
    r = acc.delta(sch, epsilon=1.0, method="saddlepoint")
    assert r.details["clt"] == pytest.approx(_gdp_delta(mu, 1.0), rel=1e-10)
    r = acc.epsilon(sch, delta=1e-6, method="saddlepoint")
    assert r.certified and r.lower <= _gdp_eps(mu, 1e-6) <= r.upper


def test_mixed_schedule_between_its_parts():
    m1, m2 = acc.SubsampledGaussian(1.0, 0.01), acc.SubsampledGaussian(2.0, 0.01)
    e1 = acc.epsilon(m1, delta=1e-5, steps=1000, method="saddlepoint").estimate
    e2 = acc.epsilon(m2, delta=1e-5, steps=1000, method="saddlepoint").estimate
    mix = acc.epsilon(acc.Schedule([(m1, 500), (m2, 500)]), delta=1e-5, method="saddlepoint")
    assert e2 < mix.estimate < e1


def test_bounded_loss_and_laplace():
    # Laplace: pure ε0 = 1/b per step, so ε ≤ T/b; the add direction of the subsampled
    # Gaussian is bounded too.
    r = acc.epsilon(acc.Laplace(1.0), delta=1e-6, steps=50, method="saddlepoint")
    assert 0 < r.estimate <= r.upper <= 50 + 1e-9
    d = acc.delta(acc.Laplace(1.0), epsilon=60.0, steps=50, method="saddlepoint")
    assert d.estimate == d.upper == 0.0
    r = acc.epsilon(acc.SubsampledGaussian(0.5, 0.2), delta=1e-9, steps=3, method="saddlepoint")
    assert all(not math.isnan(v) and v >= 0 for v in (r.estimate, r.lower, r.upper))


def test_options_validated():
    with pytest.raises(ValueError, match="option"):
        acc.epsilon(acc.Gaussian(1.0), delta=1e-5, steps=1, method="saddlepoint", order=2)


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sigma=st.floats(0.5, 5.0), q=st.floats(1e-3, 0.2), steps=st.integers(1, 5000),
       log_delta=st.floats(-12, -2))
def test_never_nan(sigma, q, steps, log_delta):
    m = acc.SubsampledGaussian(sigma, q)
    r = acc.epsilon(m, delta=10 ** log_delta, steps=steps, method="saddlepoint")
    for v in (r.estimate, r.lower, r.upper):
        assert not math.isnan(v) and v >= 0
    assert r.lower <= r.estimate <= r.upper or not r.certified
    if r.certified:
        assert math.isfinite(r.upper)
        d = acc.delta(m, epsilon=r.upper, steps=steps, method="saddlepoint")
        assert d.lower <= d.upper and not math.isnan(d.estimate)


def _pld():
    try:
        import accountant.pld  # noqa: F401
    except ImportError:
        return False
    return "pld" in acc.built_methods()


@pytest.mark.skipif(not _pld(), reason="accountant.pld not built")
@settings(max_examples=3, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sigma=st.floats(0.6, 3.0), q=st.floats(2e-3, 0.1), steps=st.integers(10, 3000),
       log_delta=st.floats(-10, -3))
def test_certified_interval_contains_pld_bracket(sigma, q, steps, log_delta):
    m = acc.SubsampledGaussian(sigma, q)
    delta = 10 ** log_delta
    r = acc.epsilon(m, delta=delta, steps=steps, method="saddlepoint")
    p = acc.epsilon(m, delta=delta, steps=steps, method="pld")
    if r.certified and p.certified:
        # both bracket the same true ε: the brackets must overlap, and the saddle interval
        # (wider) holds the PLD one up to the PLD grid error
        assert r.lower <= p.upper + 1e-9 and p.lower <= r.upper + 1e-9
        tol = 1e-6 + 1e-3 * p.upper
        assert r.lower <= p.lower + tol and p.upper <= r.upper + tol
