"""Saddle point and Edgeworth over the whole domain the API accepts (issue 13, fuzzing).

Regression tests for the findings (each failed before its fix) and a property test over a
wide domain: never NaN, δ bounds in [0, 1], lower ≤ upper, certified brackets that agree
with proven references, and every call bounded in time.
"""
import math
import time
import warnings

import mpmath
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import accountant as acc
from accountant.accountants import exact as _exact
from accountant.accountants import cumulants as C
from accountant.accountants import edgeworth as E
from accountant.accountants import saddlepoint as S
from accountant.accountants import _saddle_kernels as ks
from accountant.loss import _moment_kernels as kmom
from accountant.loss import loss_for


_LRU = (E._curve, E.composed_cumulants, C.mechanism_moments)   # (tests may patch the names)


@pytest.fixture
def cold():
    """Empty every cache the two accountants keep: the saddle point's lattice searches
    start where earlier queries left them (cached tilts, start index), and the fuzzing
    findings showed from a cold start, so each regression test starts cold."""
    def clear():
        for cache in (S._CURVE_CACHE, S._LATTICE_CACHE, S._START_CACHE, C._TILT_CACHE):
            cache.clear()
        for fn in _LRU:
            fn.cache_clear()
    clear()
    yield
    clear()


def _quiet(fn, *args, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", acc.AccountantWarning)
        return fn(*args, **kw)


# The fuzzing finding: σ = 0.05 and 1e7 steps put the saddle point of δ(1) at t ≈ 1e-7,
# where γ = (K′ − ε)/√K″ ≈ 2.6e7.
_MOG = acc.MixtureOfGaussians(
    0.05, [2.0, 1.401298464324817e-45, 2.0, 2.0, 1e-05, 1.0],
    [0.2561154831729743, 0.244852013857487, 0.18058796884776132, 2.561154831729743e-06,
     0.21575530557020775, 0.10268666739673793])


# ----------------------------------------------------------------------------------------
# 1. Certified δ above 1 / outside the exact value at extreme tilts
# ----------------------------------------------------------------------------------------
def test_certified_delta_stays_in_unit_interval_at_extreme_tilts(cold):
    # was lower = upper = 1.0830 (certified): δ_CLT = 1.0187 from a log δ that had lost
    # ~0.02 to the cancellation of γ²/2 ≈ 3.4e14 against α²/2. The true δ(1) is 1 − O(e^-7e6)
    # in the add direction (S = 7.75e6 ± 0.3 under Q).
    r = _quiet(acc.delta, _MOG, epsilon=1.0, steps=10**7, method="saddlepoint")
    assert 0.0 <= r.lower <= r.upper <= 1.0
    assert r.upper == 1.0 and r.lower > 0.99
    for d in r.details["directions"].values():
        assert 0.0 <= d["lower"] <= d["upper"] <= 1.0


# Gaussian-only schedules with μ = √T/σ from 1e7 to 1e9: the old code certified brackets
# that missed the exact μ-GDP value (e.g. [0.397, 0.401] for δ = 0.99999) or exceeded 1
# (1.35, 1.08, 1.36, 1.01, 2.94).
@pytest.mark.parametrize("sigma,steps,eps", [
    (1e-6, 10**6, 1.0),
    (1e-6, 10**4, 1.0),
    (1e-6, 10**7, 3.0),
    (2.698713328990707e-05, 3678555, 10.0),
    (1.1697072373916482e-06, 20244, 3.0),
    (2.3553094244097653e-05, 356015, 10.0),
    (3e-6, 10**6, 5.0),
])
def test_gaussian_delta_bracket_holds_exact_value_at_huge_mu(cold, sigma, steps, eps):
    r = _quiet(acc.delta, acc.Gaussian(sigma), epsilon=eps, steps=steps, method="saddlepoint")
    lo, up = _exact.gdp_delta_bracket(math.sqrt(steps) / sigma, eps)
    assert 0.0 <= r.lower <= r.upper <= 1.0
    assert r.lower <= up and lo <= r.upper


# The ε direction had the same defect: certified [0, 0] where ε ≈ 5e19.
@pytest.mark.parametrize("sigma,steps,delta", [
    (1e-6, 10**8, 0.9),
    (1e-6, 10**8, 0.5),
    (1e-6, 10**9, 0.99),
    (2e-6, 10**9, 0.9),
])
def test_gaussian_epsilon_bracket_holds_exact_value_at_huge_mu(cold, sigma, steps, delta):
    r = _quiet(acc.epsilon, acc.Gaussian(sigma), delta=delta, steps=steps, method="saddlepoint")
    mu = math.sqrt(steps) / sigma
    lo, up = _exact.gdp_epsilon(mu, delta, "lower"), _exact.gdp_epsilon(mu, delta, "upper")
    assert r.lower <= r.upper
    assert r.lower <= up and lo <= r.upper
    assert r.certified


def _mp_log_clt(eps, t, K, K1, K2):
    """log δ_CLT at 80 digits from the float inputs: e^{K − tε − γ²/2}·(e^{α²/2}Φ̄(α) −
    e^{β²/2}Φ̄(β))."""
    with mpmath.workdps(80):
        eps, t, K, K1, K2 = (mpmath.mpf(x) for x in (eps, t, K, K1, K2))
        s = mpmath.sqrt(K2)
        g = (K1 - eps) / s
        a = t * s - g
        b = a + s

        def term(z):
            return mpmath.exp(z * z / 2) * mpmath.erfc(z / mpmath.sqrt(2)) / 2

        return float(K - t * eps - g * g / 2 + mpmath.log(term(a) - term(b)))


@pytest.mark.parametrize("eps,t,K,K1,K2", [
    # the add direction of the finding at the lattice tilt 2^-23 (α ≈ −2.6e7)
    (1.0, 1.1920928955078125e-07, 0.92412162366883877, 7752094.05038213, 0.0877649850943189),
    # a Gaussian with μ = 1e9 at its saddle point of δ(1) (α ≈ −5e8)
    (1.0, 2e-18, 1e18 * 2e-18 * (1 + 2e-18) / 2, 1e18 * (0.5 + 2e-18), 1e18),
    # α ≈ 1.1e8 > 25: log q(α) from the asymptotic series, not z²/2 − z²/2
    (3.0, 1.0, 2.0, 4.0, 1.2345678901e16),
    # ordinary tilts
    (1.0, 12.321536, 7.248669, 1.1562252, 0.09598827),
    (0.5, 0.3, 0.02, 0.4, 0.25),
])
def test_spa_log_is_accurate_where_gaussian_factors_cancel(eps, t, K, K1, K2):
    lc, le = ks.spa_log(eps, t, K, K1, K2, 1.0, 0.0, 0.0)
    ref = _mp_log_clt(eps, t, K, K1, K2)
    assert lc == pytest.approx(ref, rel=1e-12, abs=1e-9)


@pytest.mark.parametrize("z", [25.5, 30.0, 1e3, 1e6, 1e8, 1e150])
def test_log_mills_ratio_far_tail(z):
    # log(√(2π)e^{z²/2}Φ̄(z)) ≈ −log z: adding z²/2 back to log Φ̄(z) lost everything
    # past z ≈ 1e8 (the absolute rounding of z²/2)
    with mpmath.workdps(60 + int(2 * math.log10(z))):
        zz = mpmath.mpf(z)
        ref = float(mpmath.log(mpmath.sqrt(2 * mpmath.pi) * mpmath.exp(zz * zz / 2)
                               * mpmath.erfc(zz / mpmath.sqrt(2)) / 2))
    assert ks._log_q(z) == pytest.approx(ref, rel=1e-14, abs=1e-14)


def test_spa_log_without_a_law_gives_no_bound():
    # K″ ≤ 0 or NaN inputs: no bound at all (err = inf), never a NaN that would compare
    # false and pass a crossing test
    for args in ((1.0, 1.0, 0.5, 1.0, 0.0, 1.0, 0.0, 0.0),
                 (1.0, 1.0, math.nan, 1.0, 1.0, 1.0, 0.0, 0.0),
                 (1.0, 1.0, 0.5, 1.0, 1.0, 0.0, 0.0, 0.0)):
        lc, le = ks.spa_log(*args)
        assert le == math.inf and not math.isnan(lc)


def test_lower_bound_above_upper_is_not_certified(monkeypatch):
    # a direction whose lower bound exceeds 1 (or its upper bound) proves an escaped
    # error: reported as lower 0, not certified, with a warning (it raised before,
    # "internal error: lower > upper", or was certified when lower = upper > 1)
    monkeypatch.setattr(S, "_delta_direction",
                        lambda curve, eps: (1.02, 1.083, 1.083, 1.0, 1e-7, True))
    r = _quiet(acc.delta, acc.Gaussian(1.0), epsilon=1.0, steps=10, method="saddlepoint")
    assert r.lower == 0.0 and r.upper == 1.0 and not r.certified
    assert any(w.startswith("lower_bound_untrusted") for w in r.warnings)
    monkeypatch.setattr(S, "_eps_direction", lambda curve, delta: (2.0, 2.0, 3.0, 2.5, True))
    r = _quiet(acc.epsilon, acc.Gaussian(1.0), delta=1e-5, steps=10, method="saddlepoint")
    assert r.lower == 0.0 and r.upper == 2.5 and not r.certified
    assert any(w.startswith("lower_bound_untrusted") for w in r.warnings)


def test_saddle_direction_without_estimate_reports_upper_bound(monkeypatch):
    # NaN estimates (no usable surrogate) used to vanish in max(): the other direction's
    # estimate (or 0) was reported, without a word
    real = S._eps_direction

    def fake(curve, delta):
        msd, clt, lo, up, ok = real(curve, delta)
        return (math.nan, math.nan, lo, up, ok) if curve.direction == "remove" else (
            msd, clt, lo, up, ok)

    monkeypatch.setattr(S, "_eps_direction", fake)
    r = _quiet(acc.epsilon, acc.SubsampledGaussian(1.0, 0.01), delta=1e-5, steps=100,
               method="saddlepoint")
    assert r.estimate == r.details["directions"]["remove"]["upper"] == r.upper
    assert any(w.startswith("no_estimate") for w in r.warnings)


# ----------------------------------------------------------------------------------------
# 2. Bounded time
# ----------------------------------------------------------------------------------------
def test_hundreds_of_components_finish_in_seconds(cold):
    # ELS with k = 256: every tilted quadrature sums 258 components over ~5000 panels
    # (0.3-6 s each) and the query visited ~80 tilts: > 60 s. Now the work budget stops
    # the searches; the interval is valid and says so.
    _quiet(acc.epsilon, acc.ELS(1.0, 0.1, 3), delta=1e-5, steps=10, method="saddlepoint")
    t0 = time.perf_counter()
    r = _quiet(acc.epsilon, acc.ELS(0.060801383428994306, 0.279874976790455, 256), delta=0.5,
               steps=2, method="saddlepoint")
    elapsed = time.perf_counter() - t0
    assert elapsed < 30.0          # ~3 s on one core; generous for a loaded CI machine
    assert any(w.startswith("budget_exhausted") for w in r.warnings)
    assert all(not math.isnan(v) for v in (r.estimate, r.lower, r.upper))
    assert 0.0 <= r.lower <= r.estimate <= r.upper


def test_work_budget_is_validated():
    for bad in (0, -1.0, math.inf, math.nan, "1e7", True):
        with pytest.raises(ValueError, match="work_budget"):
            acc.epsilon(acc.Gaussian(1.0), delta=1e-5, steps=1, method="saddlepoint",
                        work_budget=bad)


def test_quadrature_layout_out_of_reach_is_refused_quickly():
    # Thousands of components: the panel layout alone exceeds the work cap. The tilted
    # law is reported out of reach (NaN values, infinite error), not integrated for
    # minutes; the integrator also refuses more panels than its stack holds (it wrote
    # past its arrays before).
    # (ELS itself is now limited to k <= 256: the same law, built as a mixture)
    from scipy.stats import binom
    k = 3000
    m = acc.MixtureOfGaussians(0.01, list(range(k + 1)), list(binom.pmf(range(k + 1), k, 0.5)))
    loss = loss_for(m, "remove")
    t0 = time.perf_counter()
    tl = C.tilted(loss, 1.0)
    assert time.perf_counter() - t0 < 10.0
    assert math.isnan(tl.K) and tl.rel_err == math.inf
    # the accountants say so: the trivial interval and a warning naming it, or a refusal
    t0 = time.perf_counter()
    r = _quiet(acc.epsilon, m, delta=1e-5, steps=10, method="saddlepoint")
    assert r.lower == 0.0 and r.upper == math.inf and not r.certified
    assert any(w.startswith("out_of_reach") for w in r.warnings)
    with pytest.raises(ValueError, match="out of the quadrature's reach"):
        acc.epsilon(m, delta=1e-5, steps=10, method="edgeworth")
    assert time.perf_counter() - t0 < 20.0
    br = np.linspace(-1.0, 1.0, 50001)
    g = loss_for(acc.SubsampledGaussian(1.0, 0.1), "remove")
    v, e, n = kmom.integrate_moments(2, br, *g.args, 1.0, 0.0, 0.0, 1e-11, 255, 100)
    assert np.all(np.isnan(v)) and n == 0


# ----------------------------------------------------------------------------------------
# 3. Edgeworth: NaN cumulants were scored as ε = 0 for their direction
# ----------------------------------------------------------------------------------------
def test_far_tail_moments_are_finite_and_mirror_the_other_direction(cold):
    # σ = 0.05: at the panels' ends L ≈ 950, e^L overflowed where P underflowed and
    # 0·inf = NaN made every cumulant of the remove direction NaN. Reflection x → −x maps
    # the remove pair onto the add pair: κ_j(remove, P) = (−1)^j κ_j(add, Q).
    m = acc.SubsampledGaussian(0.05, 9.176681639306093e-05)
    for a, b in (("P", "Q"), ("Q", "P")):
        rem = C.mechanism_moments(m, "remove", a).cumulants
        add = C.mechanism_moments(m, "add", b).cumulants
        assert all(math.isfinite(x) for x in rem)
        for j, (x, y) in enumerate(zip(rem, add), start=1):
            assert x == pytest.approx((-1) ** j * y, rel=1e-8)


def test_edgeworth_scores_both_directions(cold):
    # was ε ≈ 0.0918, the add direction alone (remove NaN, scored 0; PLD: [0, 624.3])
    m = acc.SubsampledGaussian(0.05, 9.176681639306093e-05)
    r = _quiet(acc.epsilon, m, delta=1e-5, steps=1000, method="edgeworth")
    rem = r.details["directions"]["remove"]
    assert all(math.isfinite(k) for k in rem["K_X"] + rem["K_Y"])
    assert r.estimate >= rem["estimate"] > 1.0
    assert not r.certified


def test_edgeworth_refuses_nan_cumulants(monkeypatch, cold):
    real = E.composed_cumulants

    def fake(schedule, direction, under):
        return (math.nan,) * 5 if direction == "remove" else real(schedule, direction, under)

    monkeypatch.setattr(E, "composed_cumulants", fake)
    m = acc.SubsampledGaussian(1.0, 0.01)
    with pytest.raises(ValueError, match="remove direction"):
        acc.epsilon(m, delta=1e-5, steps=100, method="edgeworth")
    with pytest.raises(ValueError, match="remove direction"):
        acc.delta(m, epsilon=1.0, steps=100, method="edgeworth")


# ----------------------------------------------------------------------------------------
# 4. The whole domain
# ----------------------------------------------------------------------------------------
_BUDGET = 2e6      # ~0.3 s of quadrature per saddle-point call


@st.composite
def _mechanisms(draw):
    sigma = 10 ** draw(st.floats(math.log10(0.05), 3.0))
    q = 10 ** draw(st.floats(-9.0, 0.0))
    kind = draw(st.sampled_from(["sg", "sg", "gauss", "els"]))
    if kind == "gauss":
        return acc.Gaussian(sigma)
    if kind == "els":
        return acc.ELS(sigma, q, draw(st.integers(1, 6)))
    return acc.SubsampledGaussian(sigma, q)


def _reference(m, steps, **at):
    """A proven bracket that is cheap everywhere on the domain: the exact μ-GDP value
    for Gaussians, else the RDP bracket (certified upper bound; the exact one-step value
    as lower bound)."""
    if isinstance(m, acc.Gaussian):
        mu = math.sqrt(steps) / m.noise_multiplier
        if "delta" in at:
            return (_exact.gdp_epsilon(mu, at["delta"], "lower"),
                    _exact.gdp_epsilon(mu, at["delta"], "upper"))
        return _exact.gdp_delta_bracket(mu, at["epsilon"])
    fn = acc.epsilon if "delta" in at else acc.delta
    r = _quiet(fn, m, steps=steps, method="rdp", **at)
    return (r.lower, r.upper) if r.certified else (0.0, math.inf)


def _check(r, ref, quantity):
    for v in (r.estimate, r.lower, r.upper):
        assert not math.isnan(v) and v >= 0.0
    assert r.lower <= r.upper
    if quantity == "delta":
        assert r.upper <= 1.0 and r.estimate <= 1.0
    if r.certified and ref is not None:
        lo, up = ref
        # both bracket the same true value: they must overlap (float slack only)
        assert r.lower <= up * (1 + 1e-9) + 1e-300
        assert lo <= r.upper * (1 + 1e-9) + 1e-300


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(m=_mechanisms(), steps=st.integers(1, 10**6),
       log_delta=st.floats(-300.0, math.log10(0.9)), eps=st.floats(0.0, 50.0))
def test_whole_domain(m, steps, log_delta, eps):
    delta = 10 ** log_delta
    t0 = time.perf_counter()
    for quantity, at in (("epsilon", {"delta": delta}), ("delta", {"epsilon": eps})):
        fn = acc.epsilon if quantity == "epsilon" else acc.delta
        try:
            ref = _reference(m, steps, **at)
        except ValueError:
            ref = None
        r = _quiet(fn, m, steps=steps, method="saddlepoint", work_budget=_BUDGET, **at)
        _check(r, ref, quantity)
        try:
            e = _quiet(fn, m, steps=steps, method="edgeworth", **at)
        except ValueError as exc:      # a refusal must say why, never a silent value
            assert "edgeworth" in str(exc)
        else:
            _check(e, None, quantity)
            assert not e.certified
    assert time.perf_counter() - t0 < 20.0


@pytest.mark.parametrize("m,steps,delta,eps", [
    # corners of the domain where the PLD accountant is fast: tiny δ, many steps, σ from
    # 0.2 to 1e3, q from 0.02 to 1 (q = 1: the exact μ-GDP closed form)
    (acc.SubsampledGaussian(50.0, 0.9), 10**4, 1e-100, 0.5),
    (acc.SubsampledGaussian(1e3, 0.5), 10**6, 1e-30, 0.01),
    (acc.SubsampledGaussian(2.0, 0.02), 10**6, 1e-200, 20.0),
    (acc.SubsampledGaussian(0.2, 0.05), 30, 1e-3, 5.0),
    (acc.ELS(0.5, 0.01, 4), 1000, 0.9, 2.0),
    (acc.SubsampledGaussian(5.0, 1.0), 10**6, 1e-300, 0.0),
])
def test_agrees_with_pld(m, steps, delta, eps):
    # Both bracket the same true value: a certified saddle-point bracket overlaps the
    # PLD one, and holds its value where the PLD bracket is (nearly) a point.
    for fn, at in ((acc.epsilon, {"delta": delta}), (acc.delta, {"epsilon": eps})):
        r = _quiet(fn, m, steps=steps, method="saddlepoint", **at)
        p = _quiet(fn, m, steps=steps, method="pld", **at)
        assert p.certified
        _check(r, (p.lower, p.upper), r.quantity)
        if r.certified and p.upper - p.lower <= 1e-9 * p.upper:
            slack = 1e-9 * p.upper
            assert r.lower <= p.lower + slack and p.upper <= r.upper + slack


def test_saddle_never_certifies_below_the_proven_one_step_bound():
    # found by the fuzz suite: Laplace(1) certified [0, 0] (true ε = 1 at one step)
    for steps in (1, 2):
        r = _quiet(acc.epsilon, acc.Laplace(1.0), delta=1e-5, steps=steps, method="saddlepoint")
        exact = acc.epsilon(acc.Laplace(1.0), delta=1e-5, steps=steps, method="pld")
        assert r.lower <= exact.upper
        assert (not r.certified) or r.upper >= exact.lower


@pytest.mark.parametrize("mech,delta,steps", [
    (acc.Laplace(1.1), 1.0715708143051465e-51, 1),
    (acc.Laplace(1.0, neighboring="replace_one"), 1e-100, 1),
    (acc.Laplace(5.173990748553364), 1e-300, 1),
    (acc.Laplace(1.0065432595046118), 5e-324, 1),
    (acc.Laplace(0.5, neighboring="replace_one"), 5.489911796877336e-285, 1),
])
def test_laplace_at_tiny_delta_is_certified_at_the_exact_value(cold, mech, delta, steps):
    # Found by the fuzz suite: the lattice reached tilts ~1e16 where K − tK′ is rounding
    # noise, a NaN error bound passed as "δ_upper ≤ δ", and ε ≤ 0 was certified. One step
    # of Laplace at tiny δ has ε just below its sup s/b; the bracket must hold it.
    r = _quiet(acc.epsilon, mech, delta=delta, steps=steps, method="saddlepoint")
    floor = _exact.composed_lower_epsilon(acc.core.mechanisms.as_schedule(mech, steps), delta)
    top = _exact.pure_epsilon(acc.core.mechanisms.as_schedule(mech, steps))
    assert r.certified and not r.warnings
    assert floor <= r.upper <= top
    assert r.lower <= r.upper


def test_spa_log_with_errors_too_large_to_propagate_gives_no_bound():
    # a lattice node at t ≈ 1.8e16 of Laplace(1.1): errK ≈ 1.6e3 made the error bound NaN
    node = (1.8014398509481984e+16, 1.6376725917710894e+16, 0.9090909090909091,
            9.095491978636361e-50, 1.5425212256078758e-65, 1637.6725917710896, 1e-12)
    for eps in (0.0, 0.5, 0.9090909, 2.0):
        lc, le = ks.spa_log(eps, *node)
        assert le == math.inf and not math.isnan(lc)
        assert ks._h_bound(True, eps, *node, math.log(1e-51)) == math.inf


def test_saddle_answers_do_not_depend_on_query_order(cold):
    # Found by the fuzz suite: after a one-step query (whose CLT crossing is at the end of
    # the lattice) the 100-step query started there and returned [1, 100].
    m = acc.Laplace(1.0)
    first = _quiet(acc.epsilon, m, delta=1e-5, steps=100, method="saddlepoint")
    for cache in (S._CURVE_CACHE, S._LATTICE_CACHE, S._START_CACHE, C._TILT_CACHE):
        cache.clear()
    _quiet(acc.epsilon, m, delta=1e-5, steps=1, method="saddlepoint")
    again = _quiet(acc.epsilon, m, delta=1e-5, steps=100, method="saddlepoint")
    assert (again.lower, again.upper) == (first.lower, first.upper)
    exact = acc.epsilon(m, delta=1e-5, steps=100, method="pld")
    assert first.lower <= exact.upper and exact.lower <= first.upper < 70.0


@pytest.mark.parametrize("mech,eps,method", [
    (acc.SubsampledGaussian(4.382974590560319, 1.0, sampling="fixed"), 1000.0, "saddlepoint"),
    (acc.ULS(0.08362870663404465, 0.0007487255104914955), 1000.0, "saddlepoint"),
    (acc.Gaussian(1.0), 50.0, "saddlepoint"),
    (acc.ELS(0.2, 1e-8, 2), 1000.0, "group-rdp"),
])
def test_delta_upper_bound_is_positive_where_delta_is(cold, mech, eps, method):
    # The true δ is positive (e^{-(εσ)²/2}-like, far below the smallest double): an upper
    # bound of 0 claimed δ = 0 exactly. The smallest positive double bounds it.
    r = _quiet(acc.delta, mech, epsilon=eps, method=method)
    assert r.certified and r.upper == 5e-324 and r.lower == 0.0


def test_delta_upper_bound_is_zero_past_the_pure_dp_epsilon():
    r = acc.delta(acc.Laplace(0.5), epsilon=2.0, method="saddlepoint")
    assert r.upper == 0.0 and r.certified


def test_extreme_schedule_delta_does_not_overflow(cold):
    # Found by the fuzz suite: OverflowError from e^{log δ_CLT} with log δ_CLT > 709.
    from fractions import Fraction
    sched = acc.Schedule(((acc.SubsampledGaussian(52851586353.53271, 0.0003315246846595922), 87),
                          (acc.Gaussian(386547.200684654), 29),
                          (acc.ULS(0.049626396747858056, 0.0027763105759272557), Fraction(54)),
                          (acc.Laplace(0.5), Fraction(29))))
    r = _quiet(acc.delta, sched, epsilon=8108.062581617572, steps=3, method="saddlepoint",
               work_budget=2e6)
    assert 0.0 <= r.lower <= r.upper <= 1.0 and not math.isnan(r.estimate)


@pytest.mark.parametrize("method", ["pld", "rdp", "saddlepoint", "edgeworth"])
def test_options_are_checked_when_no_step_samples_anyone(method):
    m = acc.SubsampledGaussian(1.0, 0.0)
    with pytest.raises(ValueError, match="unknown option.*foo"):
        acc.epsilon(m, delta=1e-5, method=method, foo=1)
    assert acc.epsilon(m, delta=1e-5, method=method).upper == 0.0


def test_laplace_sup_loss_is_rounded_up(cold):
    # Found by the fuzz suite: 1/b for b = 1e-6 (the double just below) rounds to 1e6,
    # below the true sup 1e6·(1 + 4.5e-17); the saddle point clipped its upper bound there.
    r = _quiet(acc.epsilon, acc.Laplace(1e-6), delta=1e-300, method="saddlepoint")
    assert r.upper >= _exact.pure_epsilon(acc.core.mechanisms.as_schedule(acc.Laplace(1e-6), 1))
    assert r.upper > 1e6
