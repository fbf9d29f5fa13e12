"""Edgeworth accountant: published values, honesty of its result, closed forms."""
import math
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import brentq
from scipy.stats import norm

import accountant as acc
from accountant.accountants import edgeworth as E


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
    from accountant.accountants.cumulants import mechanism_moments
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
    from accountant.accountants.cumulants import mechanism_moments
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
    from accountant.accountants.cumulants import mechanism_moments
    out = []
    for m, T in [(acc.SubsampledGaussian(0.8, 0.01), 50), (acc.SubsampledGaussian(1.1, 0.01), 3000),
                 (acc.SubsampledGaussian(2.0, 0.001), 100)]:
        KX = T * np.array(mechanism_moments(m, "remove", "P").cumulants)
        KY = T * np.array(mechanism_moments(m, "remove", "Q").cumulants)
        out.append((KX, KY))
    return out


@pytest.mark.parametrize("order", [1, 2, 3])
def test_grid_values_equal_pointwise_kernels(order):
    from accountant.accountants import _edgeworth_kernels as K
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
    from accountant.accountants import _edgeworth_kernels as K
    for KX, KY in _cumulant_sets():
        top = KY[0] + 40 * math.sqrt(KY[1])
        grid, vals = K.ew_prepare(KX, KY, top, 257, 2, 0.01, 0.02)
        for delta in (0.2, 1e-3, 1e-5, 1e-9):
            for what, last in ((0, True), (1, True), (2, False)):
                a = K.ew_search(what, grid, delta, KX, KY, 2, 0.01, 0.02, last)
                b = K.ew_search_grid(what, grid, vals, delta, KX, KY, 2, 0.01, 0.02, last)
                assert b == pytest.approx(a, rel=1e-12, abs=1e-12)


def test_dgg_min_equals_full_grid_minimum():
    from accountant.accountants import _edgeworth_kernels as K
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


# ----------------------------------------------------------------------------------------
# Degenerate and subnormal scales (fuzz-found ZeroDivisionErrors, issue 13)
# ----------------------------------------------------------------------------------------
def test_loss_too_far_from_normal_is_refused_not_divided_by_zero():
    # q = 1e-300: the loss under Q has variance 6e-279, so s³ underflowed to 0
    # (ZeroDivisionError in the kernels); its skewness is 1e150 and the order-2 terms
    # leave the double range: no estimate, said so
    m = acc.ELS(2.5332850151331992e-06, 1e-300, 1)
    with pytest.raises(ValueError) as info:
        acc.epsilon(m, delta=9.276257245054117e-134, method="edgeworth")
    msg = str(info.value)
    assert "method 'edgeworth'" in msg and "direction" in msg and "'pld'" in msg


@pytest.mark.parametrize("order", [1, 2, 3])
def test_impossible_moments_give_the_vacuous_interval(order):
    # σ·(1/q) tiny: the quadrature's moments of the add direction under Q have a fourth
    # moment of 0 next to a variance of 1e-45 (no law has them), and DGG divided by
    # K₄^{1/4} = 0. Now: no bound from such moments (the vacuous interval, named), and
    # still a labelled estimate in [0, 1].
    m = acc.SubsampledGaussian(2.194438938508529e-06, 3.8107307549144703e-10)
    with pytest.warns(acc.AccountantWarning):
        r = acc.delta(m, epsilon=1e-06, steps=1, method="edgeworth", order=order)
    assert r.certified is False and r.kind == "estimate"
    assert 0.0 <= r.estimate <= 1.0
    assert r.lower == 0.0 and r.upper == 1.0
    assert r.vacuous and "vacuous_interval" in r.warnings
    assert r.details["directions"]["add"]["dgg_delta_Y"] == math.inf


def _moments(**kw):
    from accountant.accountants.cumulants import StepMoments
    base = dict(k1=0.0, k2=1.0, k3=0.0, k4=0.0, k5=0.0, mu2=1.0, mu3=0.0, mu4=3.0, mu5=0.0,
                abs1=math.sqrt(2 / math.pi), abs3=2 * math.sqrt(2 / math.pi))
    base.update(kw)
    return StepMoments(**base)


def test_dgg_bound_refuses_moments_no_law_has():
    normal = _moments()
    assert math.isfinite(E.dgg_bound([(10 ** 6, normal)]))
    bad = [
        # the fuzz case: a variance of 1e-45 with a fourth moment of 0 (K₄ = 0)
        _moments(mu2=1.401298464324817e-45, mu3=-1.99e-59, mu4=0.0, abs1=3.25e-15,
                 abs3=3.45e-44),
        _moments(mu2=1e-200, mu4=0.0, abs1=1e-100, abs3=1e-300),   # mu2² underflows to 0
        _moments(mu4=-1.0),                                        # negative fourth moment
        _moments(mu4=0.5),                                         # E X⁴ < (E X²)²
        _moments(abs3=0.5),                                        # E|X|³ < (E X²)^{3/2}
        _moments(mu3=5.0),                                         # |E X³| > E|X|³
        _moments(abs1=1.5),                                        # E|X| > σ
        _moments(mu2=0.0),                                         # a point mass with E X⁴ = 3
        _moments(mu4=math.nan),
    ]
    for mm in bad:
        assert E.dgg_bound([(10 ** 6, mm)]) == math.inf
        # one impossible step law spoils the average of the non-identical theorem too
        assert E.dgg_bound([(10 ** 6, mm), (10 ** 6, normal)]) == math.inf
    # a point mass (variance rounded to 0) beside a normal step is a law: a bound
    point = _moments(mu2=0.0, mu4=0.0, abs1=1e-300, abs3=0.0)
    assert math.isfinite(E.dgg_bound([(10 ** 3, point), (10 ** 6, normal)]))


def test_dgg_bound_is_scale_free_down_to_tiny_variances():
    # the standardised moments are ratios: the bound of c·X equals that of X; the ratios
    # are now taken one factor of B at a time (B³ underflows for B² < 1e-205)
    mm = _moments(mu2=2.0, mu3=1.0, mu4=15.0, abs1=1.1, abs3=4.5)
    ref = E.dgg_bound([(10 ** 6, mm)])
    c = 1e-60
    small = _moments(mu2=2.0 * c ** 2, mu3=1.0 * c ** 3, mu4=15.0 * c ** 4, abs1=1.1 * c,
                     abs3=4.5 * c ** 3)
    assert E.dgg_bound([(10 ** 6, small)]) == pytest.approx(ref, rel=1e-12)
    assert E.dgg_bound([(10 ** 6, small), (10 ** 5, small)]) == pytest.approx(
        E.dgg_bound([(10 ** 6, mm), (10 ** 5, mm)]), rel=1e-12)


def test_kernel_shape_at_subnormal_variance():
    from accountant.accountants import _edgeworth_kernels as ke
    # K₂ = 1e-218: s³ = 1e-327 underflows to 0 (was ZeroDivisionError); γ = 1e30
    K = np.array([0.0, 1e-218, 1e-297, 0.0, 0.0])
    s, g, k, l5 = ke._shape(K)
    assert g == pytest.approx(1e30, rel=1e-12) and k == 0.0 and l5 == 0.0
    assert ke.ew_negative_density(K, 1) in (True, False)
    s2, g2, _, _ = E._shape(K)
    assert (s2, g2) == pytest.approx((s, g), rel=1e-15)


def test_tail_far_below_the_mean_is_one_not_a_clipped_nan():
    # z = -1e200: φ(z) = 0 and the bracket overflows; 0·inf = NaN was clipped to 0,
    # saying P(X > x) = 0 a vast number of standard deviations below the mean
    from accountant.accountants import _edgeworth_kernels as ke
    K = np.array([0.0, 1.0, 1.0, 0.0, 0.0])
    for order in (1, 2, 3):
        assert ke.ew_tail(-1e200, K, order) == 1.0
        assert ke.ew_tail(1e200, K, order) == 0.0
        assert float(E._tail(np.array([-1e200]), K, order)[0]) == 1.0
        assert float(E._tail(np.array([1e200]), K, order)[0]) == 0.0
    grid, vals = ke.ew_prepare(np.array([1e200, 1.0, 1.0, 0.0, 0.0]),
                               np.array([1e200, 1.0, 1.0, 0.0, 0.0]), 1.0, 3, 2, 2.0, 2.0)
    assert not np.isnan(vals).any()


@pytest.mark.parametrize("sigma", [1e-6, 1e-3, 0.01, 1.0])
@pytest.mark.parametrize("q", [5e-324, 1e-310, 1e-300, 1e-200, 1e-30])
def test_tiny_sample_rates_answer_or_refuse(sigma, q):
    # every query either answers in range (an estimate, never NaN) or refuses with a
    # ValueError naming the method; nothing else escapes
    m = acc.SubsampledGaussian(sigma, q)
    for order in (1, 2, 3):
        for fn, at in ((acc.epsilon, {"delta": 1e-5}), (acc.delta, {"epsilon": 1.0})):
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore", acc.AccountantWarning)
                    r = fn(m, steps=30, method="edgeworth", order=order, **at)
            except ValueError as exc:
                assert "edgeworth" in str(exc)
                continue
            assert not r.certified
            for x in (r.estimate, r.lower, r.upper):
                assert not math.isnan(x) and x >= 0.0
            assert r.lower <= r.upper
            if fn is acc.delta:
                assert r.estimate <= 1.0 and r.upper <= 1.0
