"""Certified at every path: the exact one-step and μ-GDP answers are bracketed, not rounded.

Single steps (``method="pld"`` and ``"rdp"``) and Gaussian-only schedules are answered from
closed forms (the one-step hockey stick, μ-GDP). Their float evaluation has rounding error;
the returned bracket must contain the true value anyway. Every check compares against an
mpmath reference (60 digits) with the mechanism's exact weights (1 − q is 1 − q, not the
double nearest to it):

* δ queries: ``lower ≤ δ_ref(ε) ≤ upper``.
* ε queries: since δ(ε) is strictly decreasing where positive, ``lower ≤ ε* ≤ upper`` is
  ``δ_ref(upper) ≤ δ ≤ δ_ref(lower)`` — two reference evaluations, no nested root.

The grid runs δ from 0.5 down to 1e-300, σ from 0.3 to 5e5 and q from 1e-9 to 1, with the
tiny-value cases of issue 12 (σ = 1e4, q = 1e-9 at ε = 0; μ = 2e-6 at δ = 1e-300) named.
"""

import mpmath as mp
import pytest

import accountant as acc
from accountant.accountants import exact as _exact

DPS = 60


# ---------------------------------------------------------------------------------------
# mpmath references
# ---------------------------------------------------------------------------------------
def _sf(z):
    return mp.erfc(z / mp.sqrt(2)) / 2


def _pairs(m):
    """One (P means, P weights, Q means, Q weights) per direction, exact mpmath weights."""
    if isinstance(m, acc.ULS):
        m = acc.SubsampledGaussian(m.noise_multiplier, m.sample_rate)
    s = 2 if m.neighboring == "replace_one" else 1
    if isinstance(m, acc.Gaussian):
        return [([0], [1], [s], [1])]
    if isinstance(m, acc.SubsampledGaussian):
        q = mp.mpf(m.sample_rate)
        if m.sampling == "fixed" and q < 1:
            # without replacement, replace-one: every other record's gradient set to g and
            # the replacement to −g gives batch sums B·g and, with probability q, (B − 2)·g
            return [([0], [1], [0, 2], [1 - q, q]), ([-2, 0], [q, 1 - q], [0], [1])]
        if m.neighboring == "replace_one":
            if q == 1:
                return [([-1], [1], [1], [1])]
            return [([0, -1], [1 - q, q], [0, 1], [1 - q, q])]
        if q == 1:
            return [([0], [1], [1], [1])]
        return [([0], [1], [0, 1], [1 - q, q]), ([-1, 0], [q, 1 - q], [0], [1])]
    if isinstance(m, acc.ELS):
        q, k = mp.mpf(m.sample_rate), m.max_examples_per_user
        w = [mp.binomial(k, j) * q ** j * (1 - q) ** (k - j) for j in range(k + 1)]
        return [([0], [1], list(range(k + 1)), w), ([-j for j in range(k + 1)], w, [0], [1])]
    if isinstance(m, acc.MixtureOfGaussians):
        c, w = list(m.sensitivities), [mp.mpf(p) for p in m.probabilities]
        return [([0], [1], c, w), ([-x for x in c], w, [0], [1])]
    raise TypeError(m)


def _log_mix(x, means, ws, s):
    t = [mp.log(w) - (x - c) ** 2 / (2 * s * s) for c, w in zip(means, ws) if w > 0]
    top = max(t)
    return top + mp.log(mp.fsum(mp.exp(v - top) for v in t))


def _limit(means, ws, pick):
    c = pick(means)
    return mp.log(mp.fsum(w for m, w in zip(means, ws) if m == c)), c


def _delta_pair(pair, sigma, eps):
    pm, pw, qm, qw = [[mp.mpf(v) for v in a] for a in pair]
    s, e = mp.mpf(sigma), mp.mpf(eps)
    (lq, cq), (lp, cp) = _limit(qm, qw, max), _limit(pm, pw, max)
    if cq == cp and e >= lq - lp:
        return mp.mpf(0)
    L = lambda x: _log_mix(x, qm, qw, s) - _log_mix(x, pm, pw, s)
    if len(pm) == 1 and len(qm) == 2 and pm[0] == qm[0]:       # remove: closed-form root
        x = s * s * mp.log((mp.expm1(e) + qw[1]) / qw[1]) / (qm[1] - qm[0]) + (qm[0] + qm[1]) / 2
    elif len(qm) == 1 and len(pm) == 2 and pm[1] == qm[0]:     # add: closed-form root
        x = -s * s * mp.log((mp.expm1(-e) + pw[0]) / pw[0]) / (pm[1] - pm[0]) + (pm[0] + pm[1]) / 2
    elif len(pm) == 1 and len(qm) == 1:
        x = s * s * e / (qm[0] - pm[0]) + (qm[0] + pm[0]) / 2
    else:
        a, b, step = mp.mpf(-1), mp.mpf(1), 1 + s * s
        while L(a) > e:
            a, step = a - step, step * 2
        step = 1 + s * s
        while L(b) < e:
            b, step = b + step, step * 2
        for _ in range(240):
            mid = (a + b) / 2
            a, b = (a, mid) if L(mid) > e else (mid, b)
        x = (a + b) / 2
    Q = mp.fsum(w * _sf((x - c) / s) for c, w in zip(qm, qw))
    P = mp.fsum(w * _sf((x - c) / s) for c, w in zip(pm, pw))
    return Q - mp.exp(e) * P


def delta_ref(m, eps):
    """Exact one-step δ(ε) of mechanism m (max over directions)."""
    with mp.workdps(DPS):
        if isinstance(m, acc.Laplace):
            e0 = mp.mpf(2 if m.neighboring == "replace_one" else 1) / mp.mpf(m.noise_multiplier)
            e = mp.mpf(eps)
            return mp.mpf(0) if e >= e0 else -mp.expm1((e - e0) / 2)
        return max(_delta_pair(p, m.noise_multiplier, eps) for p in _pairs(m))


def gdp_ref(mu2, eps):
    """δ(ε) of μ-GDP with μ² = mu2 (an mpmath number, exact)."""
    with mp.workdps(DPS):
        mu, e = mp.sqrt(mu2), mp.mpf(eps)
        return _sf(e / mu - mu / 2) - mp.exp(e) * _sf(e / mu + mu / 2)


def _mu2(schedule):
    with mp.workdps(DPS):
        return mp.fsum(mp.mpf(t) * (mp.mpf(2 if m.neighboring == "replace_one" else 1)
                                    / mp.mpf(m.noise_multiplier)) ** 2
                       for m, t in schedule.counts())


def check_epsilon(r, delta, ref):
    """``ref(ε)`` is the exact δ(ε); the bracket [r.lower, r.upper] must hold ε*."""
    assert r.certified and 0 <= r.lower <= r.upper
    with mp.workdps(DPS):
        d = mp.mpf(delta)
        assert ref(r.upper) <= d, ("upper below the exact epsilon", r.lower, r.upper)
        if r.lower > 0:
            assert ref(r.lower) >= d, ("lower above the exact epsilon", r.lower, r.upper)


def check_delta(r, exact):
    assert r.certified and 0 <= r.lower <= r.upper <= 1
    assert mp.mpf(r.lower) <= exact <= mp.mpf(r.upper), (r.lower, float(exact), r.upper)


# ---------------------------------------------------------------------------------------
# Grid
# ---------------------------------------------------------------------------------------
DELTAS = (0.3, 1e-3, 1e-5, 1e-10, 1e-30, 1e-100, 1e-256, 1e-300)
ONE_STEP = [
    acc.SubsampledGaussian(10000.0, 1e-9), acc.SubsampledGaussian(5e5, 1e-9),
    acc.SubsampledGaussian(1e3, 1e-6), acc.SubsampledGaussian(20.0, 1e-4),
    acc.SubsampledGaussian(1.1, 0.01), acc.SubsampledGaussian(0.6, 0.1),
    acc.SubsampledGaussian(0.3, 0.5), acc.SubsampledGaussian(5.0, 0.999),
    acc.SubsampledGaussian(2.0, 0.05, sampling="fixed"),
    acc.SubsampledGaussian(1e4, 1e-9, sampling="fixed"),
    acc.Gaussian(1.0), acc.Gaussian(0.3), acc.Gaussian(5e5), acc.Gaussian(1e3),
    acc.ELS(2.0, 0.05, 4), acc.ELS(10.0, 1e-6, 3), acc.ULS(1.0, 0.02),
    acc.MixtureOfGaussians(1.0, (0.0, 0.5, 1.0, 2.0), (0.5, 0.25, 0.125, 0.125)),
    acc.Laplace(1.0), acc.Laplace(30.0),
]
GAUSSIAN_ONLY = [(acc.Gaussian(5e5), 1), (acc.Gaussian(1e4), 3), (acc.Gaussian(2.0), 7),
                 (acc.Gaussian(0.5), 1), (acc.Gaussian(0.02), 4), (acc.Gaussian(3.0), 1000),
                 (acc.Schedule([(acc.Gaussian(1.3), 10), (acc.Gaussian(7.0), 3)]), 1),
                 (acc.Gaussian(1.0, neighboring="replace_one"), 5)]


def _ids(x):
    return repr(x)[:60]


@pytest.mark.parametrize("method", ["pld", "rdp"])
@pytest.mark.parametrize("mech", ONE_STEP, ids=_ids)
def test_one_step_epsilon_bracket_holds_the_exact_value(mech, method):
    for delta in DELTAS:
        r = acc.epsilon(mech, delta=delta, method=method)
        check_epsilon(r, delta, lambda e: delta_ref(mech, e))


@pytest.mark.parametrize("mech", ONE_STEP, ids=_ids)
def test_one_step_delta_bracket_holds_the_exact_value(mech):
    # ε = 0, the ε of a few δ, and (Laplace) the pure-DP boundary s/b, rounded.
    points = {0.0}
    for delta in (1e-2, 1e-12, 1e-200):
        points.add(float(acc.epsilon(mech, delta=delta, method="pld")))
    if isinstance(mech, acc.Laplace):
        points.add(1.0 / mech.noise_multiplier)
    for eps in sorted(points):
        exact = delta_ref(mech, eps)
        for method in ("pld", "rdp"):
            check_delta(acc.delta(mech, epsilon=eps, method=method), exact)


@pytest.mark.parametrize("mech,steps", GAUSSIAN_ONLY, ids=_ids)
def test_gaussian_only_brackets_hold_the_exact_value(mech, steps):
    sched = acc.core.mechanisms.as_schedule(mech, steps)
    mu2 = _mu2(sched)
    for delta in DELTAS:
        for method in ("pld", "rdp"):
            r = acc.epsilon(mech, delta=delta, steps=steps, method=method)
            check_epsilon(r, delta, lambda e: gdp_ref(mu2, e))
        eps = float(acc.epsilon(mech, delta=delta, steps=steps))
        for e in (0.0, eps, eps * 0.999):
            check_delta(acc.delta(mech, epsilon=e, steps=steps), gdp_ref(mu2, e))


def test_named_tiny_values():
    # q·erf(1/(2√2σ)) = 3.989423e-14; the double nearest 1 − q used to give 3.990837e-14.
    m = acc.SubsampledGaussian(10000.0, 1e-9)
    exact = delta_ref(m, 0.0)
    assert float(exact) == pytest.approx(3.9894228023520675e-14, rel=1e-15)
    for method in ("pld", "rdp"):
        r = acc.delta(m, epsilon=0.0, method=method)
        check_delta(r, exact)
        assert r.upper - r.lower <= 1e-6 * r.upper        # a bracket, not a shrug
    # μ = 2e-6 at δ = 1e-300: the exact ε is 7.318646330827e-05.
    r = acc.epsilon(acc.Gaussian(5e5), delta=1e-300)
    assert r.lower <= 7.318646330827e-05 <= r.upper
    check_epsilon(r, 1e-300, lambda e: gdp_ref(mp.mpf(5e5) ** -2, e))
    assert r.upper - r.lower <= 1e-9 * r.upper


def test_closed_form_helpers_bracket_their_value():
    # The helpers other modules call (sessions, calibration) round to the side asked for.
    for mu in (2e-6, 1e-3, 0.4, 1.0, 3.0, 25.0):
        for delta in (1e-5, 1e-100, 1e-300):
            ref = lambda e: gdp_ref(mp.mpf(mu) ** 2, e)
            up = _exact.gdp_epsilon(mu, delta, "upper")
            lo = _exact.gdp_epsilon(mu, delta, "lower")
            with mp.workdps(DPS):
                assert ref(up) <= delta and (lo == 0 or ref(lo) >= delta), (mu, delta)


def test_composed_lower_bound_is_below_the_leakiest_step():
    # Mixed schedule: the RDP lower bound is the largest exact one-step ε; it may not exceed
    # the exact one-step ε of the leakiest step (itself ≤ the composed ε).
    a, b = acc.SubsampledGaussian(10000.0, 1e-9), acc.Laplace(1e4)
    sched = acc.Schedule([(a, 3), (b, 2)])
    for delta in (1e-14, 1e-20, 1e-300):
        r = acc.epsilon(sched, delta=delta, method="rdp")
        if r.lower > 0:
            with mp.workdps(DPS):
                assert max(delta_ref(a, r.lower), delta_ref(b, r.lower)) >= delta
    r = acc.delta(sched, epsilon=0.0, method="rdp")
    assert mp.mpf(r.lower) <= max(delta_ref(a, 0.0), delta_ref(b, 0.0))


def test_mixture_of_one_tiny_shift_has_positive_delta():
    # issue 13: a one-component mixture with shift 1.2e-38 (μ = 2.35e-38) was certified
    # δ(0) = 0; the exact value is 2Φ(μ/2) − 1 ≈ μ/√(2π) = 9.379e-39.
    m = acc.MixtureOfGaussians(0.5, [1.175494351e-38], [1.0])
    mu = mp.mpf(1.175494351e-38) / mp.mpf(0.5)
    with mp.workdps(DPS):
        exact = 2 * mp.ncdf(mu / 2) - 1
    for method in ("pld", "rdp"):
        r = acc.delta(m, epsilon=0.0, method=method)
        check_delta(r, exact)
        assert r.lower > 0.0


def test_subnormal_delta_bounds_round_outward():
    # Found by the fuzz suite: exp of a log lower bound rounded to nearest among
    # subnormals gave the lower bound 1.5e-323 for a true δ ≤ 1.31e-323 (one ulp there is
    # 5e-324, half the value). mpmath truth of one step at ε = 5.536588815470053:
    m = acc.SubsampledGaussian(3.1074232217072275, 0.0011216613492379952)
    r = acc.delta(m, epsilon=5.536588815470053)
    check_delta(r, delta_ref(m, 5.536588815470053))
    assert 0.0 < r.lower <= 1.3094743974798531e-323 <= r.upper
    log_v = float(mp.log(mp.mpf(1.3e-323)))
    assert _exact.exp_down(log_v) < 1.3e-323 < _exact.exp_up(log_v)


def test_fixed_size_batches_are_accounted_at_the_adversarys_worst_case():
    # Sampling B of n without replacement under replace-one: with every other record's
    # gradient g and the replacement −g, the batch sums are B·g, or (B − 2)·g with
    # probability q = B/n — realisable, so the true δ is at least that pair's. The
    # symmetric Poisson replace-one pair was used before: δ(1) = 3.27e-4 certified for
    # σ = 1, q = 0.1, while this configuration alone gives 0.0196 (a 2-D grid integral of
    # the three-point mixtures agrees: 0.019647, and no random configuration was worse).
    m = acc.SubsampledGaussian(1.0, 0.1, sampling="fixed")
    r = acc.delta(m, epsilon=1.0)
    check_delta(r, delta_ref(m, 1.0))
    assert r.lower > 0.0196 and r.upper < 0.01966
    same = acc.delta(acc.SubsampledGaussian(0.5, 0.1), epsilon=1.0)   # sensitivity 2
    assert r.upper == pytest.approx(same.upper, rel=1e-9)
