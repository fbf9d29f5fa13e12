"""Edgeworth accountant: published values, honesty of its result, closed forms."""
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import brentq
from scipy.stats import norm

import accountant as acc
from accountant import edgeworth as E


def _gdp_delta(mu, eps):
    return norm.cdf(-eps / mu + mu / 2) - math.exp(eps) * norm.cdf(-eps / mu - mu / 2)


# Wang, Gao, Zhang, Shen, Su (2022), arXiv 2206.04236: order-1 Edgeworth ε for the
# subsampled Gaussian, σ = 0.8, q = 0.01, δ = 0.015, m compositions.
_EA = [(50, 0.0845), (100, 0.2185), (200, 0.4276), (500, 0.7916), (1000, 1.2287), (2000, 1.9129)]


@pytest.mark.parametrize("m,eps", _EA)
def test_ea_paper_order1(m, eps):
    r = acc.epsilon(acc.SubsampledGaussian(0.8, 0.01), delta=0.015, steps=m,
                    method="edgeworth", order=1)
    assert r.estimate == pytest.approx(eps, abs=2e-3)
    assert r.certified is False
    assert r.method == "edgeworth"


def test_order_changes_estimate_and_is_validated():
    m = acc.SubsampledGaussian(0.8, 0.01)
    vals = [acc.epsilon(m, delta=0.015, steps=1000, method="edgeworth", order=k).estimate
            for k in (1, 2, 3)]
    assert len(set(vals)) == 3 and all(v > 0 for v in vals)
    for bad in (0, 4, 1.5, True):
        with pytest.raises(ValueError, match="order"):
            acc.epsilon(m, delta=0.015, steps=10, method="edgeworth", order=bad)
    with pytest.raises(ValueError, match="option"):
        acc.epsilon(m, delta=0.015, steps=10, method="edgeworth", foo=1)


def test_gaussian_is_exact():
    # q = 1: L is normal, every correction vanishes and δ̃ is the μ-GDP closed form.
    sigma, T, eps = 3.0, 40, 1.5
    mu = math.sqrt(T) / sigma
    r = acc.delta(acc.Gaussian(sigma), epsilon=eps, steps=T, method="edgeworth")
    assert r.estimate == pytest.approx(_gdp_delta(mu, eps), rel=1e-12)
    ex = brentq(lambda e: _gdp_delta(mu, e) - 1e-3, 0, 50, xtol=1e-14)
    r = acc.epsilon(acc.Gaussian(sigma), delta=1e-3, steps=T, method="edgeworth")
    assert r.estimate == pytest.approx(ex, rel=1e-9)


def test_vacuous_interval_is_reported():
    # DP-SGD sizes: the DGG interval says nothing at δ = 1e-5.
    r = acc.epsilon(acc.SubsampledGaussian(1.1, 0.01), delta=1e-5, steps=1000,
                    method="edgeworth")
    assert r.lower == 0.0 and r.upper == math.inf
    assert r.vacuous and "vacuous_interval" in r.warnings
    assert r.details["interval"].startswith("vacuous")
    assert r.as_dict()["vacuous"] is True


def test_finite_interval_contains_truth():
    # Large n with a nearly Gaussian loss: the DGG interval is finite and must contain the
    # exact value (μ-GDP closed form for a Gaussian schedule).
    sigma, T, delta = 60.0, 20000, 0.2
    mu = math.sqrt(T) / sigma
    truth = brentq(lambda e: _gdp_delta(mu, e) - delta, 0, 50, xtol=1e-14)
    r = acc.epsilon(acc.Gaussian(sigma), delta=delta, steps=T, method="edgeworth")
    assert not r.vacuous
    assert r.lower <= truth <= r.upper
    d = acc.delta(acc.Gaussian(sigma), epsilon=0.5, steps=T, method="edgeworth")
    assert d.lower <= _gdp_delta(mu, 0.5) <= d.upper and d.upper < 1


def test_dgg_bound_properties():
    from accountant.cumulants import mechanism_moments
    mm = mechanism_moments(acc.SubsampledGaussian(1.0, 0.05), "remove", "Q")
    vals = [E.dgg_bound([(10 ** k, mm)]) for k in range(3, 9)]
    assert all(v > 0 for v in vals)
    assert all(a > b for a, b in zip(vals, vals[1:]))          # shrinks with n
    assert vals[-2] / vals[-1] == pytest.approx(10 ** 0.5, rel=0.05)  # ~ 0.1995·K̃₃/√n
    # Non-identical steps use Theorem A.2 (never smaller than the i.i.d. one here).
    mm2 = mechanism_moments(acc.SubsampledGaussian(1.2, 0.05), "remove", "Q")
    assert E.dgg_bound([(5 * 10 ** 5, mm), (5 * 10 ** 5, mm2)]) > 0


def test_heterogeneous_schedule_sums_cumulants():
    m1, m2 = acc.SubsampledGaussian(1.0, 0.01), acc.SubsampledGaussian(2.0, 0.02)
    sch = acc.Schedule([(m1, 300), (m2, 700)])
    r = acc.epsilon(sch, delta=1e-5, method="edgeworth")
    assert "non-identical" in r.details["interval_theorem"]
    from accountant.cumulants import mechanism_moments
    k = (300 * np.array(mechanism_moments(m1, "remove", "Q").cumulants)
         + 700 * np.array(mechanism_moments(m2, "remove", "Q").cumulants))
    np.testing.assert_allclose(r.details["directions"]["remove"]["K_Y"], k, rtol=1e-14)
    # Gaussian schedule: exact μ-GDP with μ² = Σ T/σ².
    g = acc.Schedule([(acc.Gaussian(2.0), 10), (acc.Gaussian(4.0), 40)])
    mu = math.sqrt(10 / 4 + 40 / 16)
    assert acc.delta(g, epsilon=1.0, method="edgeworth").estimate == pytest.approx(
        _gdp_delta(mu, 1.0), rel=1e-12)


def test_diagnostics_named():
    r = acc.epsilon(acc.SubsampledGaussian(0.8, 0.01), delta=0.015, steps=50,
                    method="edgeworth", order=1)
    for w in ("negative_density", "large_skewness"):
        assert w in r.warnings
    r = acc.epsilon(acc.Gaussian(5.0), delta=1e-5, steps=10, method="edgeworth")
    assert not {"negative_density", "large_skewness", "large_kurtosis"} & set(r.warnings)


def test_laplace_and_els_run():
    r = acc.epsilon(acc.Laplace(2.0), delta=1e-5, steps=200, method="edgeworth")
    assert 0 <= r.estimate <= 200 * 0.5 + 1e-9     # never above the pure-DP composition
    r = acc.epsilon(acc.ELS(noise_multiplier=2.0, sample_rate=0.01, max_examples_per_user=4),
                    delta=1e-6, steps=500, method="edgeworth")
    assert r.estimate > 0 and not r.certified


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sigma=st.floats(0.5, 5.0), q=st.floats(1e-3, 0.3), steps=st.integers(1, 5000),
       log_delta=st.floats(-12, -1), order=st.sampled_from([1, 2, 3]))
def test_never_nan_never_certified(sigma, q, steps, log_delta, order):
    m = acc.SubsampledGaussian(sigma, q)
    r = acc.epsilon(m, delta=10 ** log_delta, steps=steps, method="edgeworth", order=order)
    assert r.certified is False
    for v in (r.estimate, r.lower, r.upper):
        assert not math.isnan(v) and v >= 0
    assert r.lower <= r.upper
    if r.vacuous:
        assert "vacuous_interval" in r.warnings
    e = r.estimate if math.isfinite(r.estimate) else 1.0
    d = acc.delta(m, epsilon=e, steps=steps, method="edgeworth", order=order)
    assert d.certified is False and 0 <= d.estimate <= 1 and 0 <= d.lower <= d.upper <= 1


def test_non_monotone_warning_only_where_the_answer_is_read():
    # MNIST DP-SGD: δ̃ is monotone down to well below 1e-5; far-tail wiggles are not reported.
    r = acc.epsilon(acc.SubsampledGaussian(1.1, 256 / 60000), delta=1e-5, steps=14063,
                    method="edgeworth")
    assert "non_monotone_delta" not in r.warnings
    # 50 steps at q = 0.01: the order-1 expansion is far from Gaussian and bends upwards
    # right where δ = 0.015 is read.
    r = acc.epsilon(acc.SubsampledGaussian(0.8, 0.01), delta=0.015, steps=50,
                    method="edgeworth", order=1)
    assert "non_monotone_delta" in r.warnings


# ----------------------------------------------------------------------------------------
# Kernels behind the fast path: precomputed grid values, searches, DGG minimisation
# ----------------------------------------------------------------------------------------
def _cumulant_sets():
    from accountant.cumulants import mechanism_moments
    out = []
    for m, T in [(acc.SubsampledGaussian(0.8, 0.01), 50), (acc.SubsampledGaussian(1.1, 0.01), 3000),
                 (acc.SubsampledGaussian(2.0, 0.001), 100)]:
        KX = T * np.array(mechanism_moments(m, "remove", "P").cumulants)
        KY = T * np.array(mechanism_moments(m, "remove", "Q").cumulants)
        out.append((KX, KY))
    return out


@pytest.mark.parametrize("order", [1, 2, 3])
def test_grid_values_equal_pointwise_kernels(order):
    from accountant._kernels import edgeworth as K
    for KX, KY in _cumulant_sets():
        top = KY[0] + 40 * math.sqrt(KY[1])
        grid, vals = K.ew_prepare(KX, KY, top, 257, order, 0.05, 0.07)
        np.testing.assert_array_equal(grid, np.linspace(0.0, top, 257))
        for i in range(0, 257, 16):
            x = grid[i]
            tol = 1e-15 * math.exp(x)    # rounding of S_Y − e^x·S_X (e^x·S_X ≤ e^x)
            assert vals[0, i] == pytest.approx(K.ew_delta(x, KX, KY, order), abs=tol)
            assert vals[1, i] == pytest.approx(K.ew_interval(x, KX, KY, 0.05, 0.07, False), abs=tol)
            assert vals[2, i] == pytest.approx(K.ew_interval(x, KX, KY, 0.05, 0.07, True), abs=tol)


def test_grid_search_equals_pointwise_search():
    from accountant._kernels import edgeworth as K
    for KX, KY in _cumulant_sets():
        top = KY[0] + 40 * math.sqrt(KY[1])
        grid, vals = K.ew_prepare(KX, KY, top, 257, 2, 0.01, 0.02)
        for delta in (0.2, 1e-3, 1e-5, 1e-9):
            for what, last in ((0, True), (1, True), (2, False)):
                a = K.ew_search(what, grid, delta, KX, KY, 2, 0.01, 0.02, last)
                b = K.ew_search_grid(what, grid, vals, delta, KX, KY, 2, 0.01, 0.02, last)
                assert b == pytest.approx(a, rel=1e-12, abs=1e-12)


def test_dgg_min_equals_full_grid_minimum():
    from accountant._kernels import edgeworth as K
    rng = np.random.default_rng(7)
    for _ in range(200):
        iid = bool(rng.integers(2))
        n = 10 ** rng.uniform(0, 8)
        K4 = 10 ** rng.uniform(0, 4) + 1
        K3 = 10 ** rng.uniform(-0.5, 2)
        K3t = K3 * (1 + rng.uniform(0, 2))
        lam = rng.uniform(-1, 1) * K3
        f = K.dgg_iid if iid else K.dgg_inid
        full = min(f(0.005 * k, n, K4, K3, K3t, lam) for k in range(1, 66))
        assert K.dgg_min(iid, n, K4, K3, K3t, lam) == full
