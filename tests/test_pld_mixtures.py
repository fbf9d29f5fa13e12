"""Merged steps as mixtures of their grid neighbours (accountant.accountants.pld.mixed,
docs/math.md §4.10): the weights bracket the step's profile at every u (mpmath closed
forms), the fused spectrum kernel agrees with the per-factor one, and the mixture bracket
holds the truth, agrees with the unmerged one and meets issue 17's trainer criterion."""
from __future__ import annotations

import math
import warnings

import mpmath as mp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import accountant as acc
from accountant import ELS, PrivacyAccountant, Schedule, SubsampledGaussian
from accountant.accountants.pld import _kernels as kp
from accountant.accountants.pld import merge, mixed

DELTA = 1e-5


def _quiet(fn, *args, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kw)


# ------------------------------------------------------------ the profiles, in closed form
def _sf(z):
    return mp.erfc(z / mp.sqrt(2)) / 2


def _x_remove(u, s, q):
    """The outcome where e^L = 1 − q + q·e^{(2x − 1)/(2s²)} equals u (remove)."""
    return s ** 2 * mp.log((u - 1 + q) / q) + mp.mpf(1) / 2


def _f_remove(u, s, q):
    """H_u(Q‖P), P = N(0, s²), Q = (1 − q)N(0, s²) + qN(1, s²)."""
    if u <= 1 - q:
        return 1 - u
    x = _x_remove(u, s, q)
    return (1 - q) * _sf(x / s) + q * _sf((x - 1) / s) - u * _sf(x / s)


def _f_add(u, s, q):
    """H_u(P‖Q), the reversed pair."""
    if u >= 1 / (1 - q):
        return mp.mpf(0)
    x = s ** 2 * mp.log((1 / u - 1 + q) / q) + mp.mpf(1) / 2
    return (1 - _sf(x / s)) - u * ((1 - q) * (1 - _sf(x / s)) + q * (1 - _sf((x - 1) / s)))


@settings(max_examples=30, deadline=None)
@given(st.floats(0.3, 3.0), st.sampled_from([1e-3, 0.01, 0.05]),
       st.sampled_from([0.003, 0.01, 0.05]), st.floats(0.0, 1.0),
       st.sampled_from([3.0, 6.0, 9.0]))
def test_weights_bracket_the_step_at_every_u(s_a, lr, q, frac, E):
    """f_σ ≤ w·f_a + (1 − w)·f_b (both directions) and, for remove, f_σ ≥ w′·f̂_a +
    (1 − w′)·f_b with f̂_a restricted to ε′ ≤ E, on a grid of u over 22 e-folds."""
    mp.mp.dps = 40
    sa = mp.mpf(s_a)
    sb = sa * mp.exp(lr)
    st_ = sa * mp.exp(lr * frac)
    q = mp.mpf(q)
    levels = 1 << 20          # (near the raw weights: the rounding only adds slack)
    w = mixed.upper_weight(float(st_), float(sa), float(sb), levels)
    wl = mixed.lower_weight(float(st_), float(sa), float(sb), E, levels)
    uE = 1 - q + q * mp.e ** E
    tail = _sf(_x_remove(uE, sa, q) / sa)        # P_a[L > ℓ_c]
    fa_uE = _f_remove(uE, sa, q)
    for k in range(-80, 100):
        u = mp.e ** (mp.mpf(k) / 8)
        for f in (_f_remove, _f_add):
            a, t, b = f(u, sa, q), f(u, st_, q), f(u, sb, q)
            assert w * a + (1 - w) * b - t >= -1e-30 * (1 + abs(a))
        a, t, b = _f_remove(u, sa, q), _f_remove(u, st_, q), _f_remove(u, sb, q)
        a_hat = a - (fa_uE + (uE - u) * tail) if u <= uE else mp.mpf(0)
        assert t - (wl * a_hat + (1 - wl) * b) >= -1e-30 * (1 + abs(a))


def test_weights_are_near_linear_and_rounded_to_the_safe_side():
    sa, sb = 1.0, math.exp(3e-3)
    s = math.exp(1.5e-3)
    lin = (1 / s - 1 / sb) / (1 / sa - 1 / sb)
    up = mixed.upper_weight(s, sa, sb, 64)
    lo = mixed.lower_weight(s, sa, sb, 6.0, 64)
    assert lin <= up <= lin + 1 / 64 + 1e-3
    assert lin - 1 / 64 - 0.02 <= lo <= lin
    assert up * 64 == int(up * 64) and lo * 64 == int(lo * 64)
    # the grid points themselves are their own pairs; no lower weight without a cut
    assert mixed.upper_weight(sa, sa, sb, 64) == 1.0 and mixed.upper_weight(sb, sa, sb, 64) == 0
    assert mixed.lower_weight(s, sa, sb, 0.0, 64) == 0.0


def test_only_poisson_add_remove_histories_with_few_rates_mix():
    sg = [(SubsampledGaussian(1 + 0.01 * t, 0.01), 1) for t in range(5)]
    sig, qs = mixed.mixable(sg + [(SubsampledGaussian(1.0, 0.02), 1)])
    assert list(qs) == [0.01] * 5 + [0.02] and sig[-1] == 1.0
    many = [(SubsampledGaussian(1.0, 0.01 * (1 + t)), 1) for t in range(mixed.MAX_RATES + 1)]
    assert mixed.mixable(many) is None
    assert mixed.mixable([(SubsampledGaussian(1 + 0.01 * t, 0.01, "fixed"), 1)
                          for t in range(5)]) is None
    assert mixed.mixable(sg + [(ELS(2.0, 0.01, 2), 1)]) is None
    assert mixed.mixable(sg + [(SubsampledGaussian(2.0, 1.0), 1)]) is None


# ------------------------------------------------------------------- the spectrum kernel
def test_fused_kernel_matches_the_factor_by_factor_powers():
    rng = np.random.default_rng(3)
    nb, reps = 257, 4
    X = rng.normal(size=(nb, reps)) + 1j * rng.normal(size=(nb, reps))
    X /= np.abs(X).max() * 1.01
    ia = np.array([0, 0, 1, 2, 3], dtype=np.int64)
    ib = np.array([1, 1, 2, 3, 3], dtype=np.int64)
    wa = np.array([0.3, 0.9, 0.5, 0.0, 1.0])
    cnt = np.array([1.0, 3.0, 2.0, 1.0, 5.0])
    dX, u = 1e-13, 2.0 ** -52
    ref = [np.zeros(nb) for _ in range(4)]
    for a, b, w, c in zip(ia, ib, wa, cnt):
        kp.spectrum_accumulate(w * X[:, a] + (1 - w) * X[:, b], c, *ref, dX, u)
    out = [np.zeros(nb) for _ in range(4)]
    kp.mixture_accumulate(np.ascontiguousarray(X), ia, ib, wa, cnt, *out, dX, u, -1e300)
    live = ref[0] > -700
    np.testing.assert_allclose(out[0][live], ref[0][live], rtol=1e-12, atol=1e-9)
    d = np.angle(np.exp(1j * (out[1][live] - ref[1][live])))
    np.testing.assert_allclose(d, 0.0, atol=1e-9)
    np.testing.assert_allclose(out[2], ref[2], rtol=1e-12, atol=1e-9)
    np.testing.assert_allclose(out[3], ref[3], rtol=1e-12)


def test_fused_kernel_drops_dead_bins_with_their_bound_as_error():
    X = np.array([[1.0 + 0j, 1.0 + 0j], [1e-3 + 0j, 1e-3 + 0j]])
    out = [np.zeros(2) for _ in range(4)]
    kp.mixture_accumulate(X, np.zeros(20, dtype=np.int64), np.ones(20, dtype=np.int64),
                          np.full(20, 0.5), np.ones(20), *out, 1e-13, 2.0 ** -52, -40.0)
    logabs, _, logU, rel = out
    assert logabs[0] == 0.0 and logabs[1] == -np.inf
    assert logU[1] < -40.0 and rel[1] >= 1.0       # what was dropped is in the error total


# ------------------------------------------------------------------------- the brackets
def test_trainer_history_meets_issue_17():
    """1 000 distinct steps σ_t = 1 + 1e-4·t, q = 0.01 (truth 1.665529: the unmerged
    schedule at rtol = 1e-6): a bracket ≤ 0.1 % wide that holds the truth, by mixtures."""
    a = PrivacyAccountant("pld")
    for t in range(1000):
        a.step(1.0 + 1e-4 * t, 0.01)
    r = _quiet(a.get_epsilon, DELTA)
    assert r.details["merged"]["mode"] == "mixtures"
    assert r.lower <= 1.665529 <= r.upper
    assert r.upper - r.lower <= 1e-3 * r.upper
    assert not any(w.startswith("bracket_wider") for w in r.warnings)


@pytest.mark.parametrize("kind", ["epsilon", "delta"])
def test_mixture_bracket_agrees_with_the_unmerged_one(kind, monkeypatch):
    s = Schedule([(SubsampledGaussian(0.9 + 0.2 * t / 64, 0.02), 3) for t in range(64)])
    at = DELTA if kind == "epsilon" else 2.2
    fn = acc.epsilon if kind == "epsilon" else acc.delta
    r = _quiet(fn, s, at, rtol=2e-3)
    assert r.details["merged"]["mode"] == "mixtures"
    with monkeypatch.context() as mp_:
        mp_.setattr(merge, "MIN_DISTINCT", 10 ** 9)
        ref = _quiet(fn, s, at, rtol=1e-4)
    assert ref.lower <= r.upper and r.lower <= ref.upper
    assert r.upper - r.lower <= 2e-3 * r.upper


@settings(max_examples=4, deadline=None)
@given(st.lists(st.floats(0.7, 2.0), min_size=50, max_size=60, unique=True),
       st.sampled_from([3e-3, 0.01, 0.05]), st.sampled_from([1e-5, 1e-9]))
def test_mixture_bracket_property(sigmas, q, delta):
    s = Schedule([(SubsampledGaussian(x, q), 2) for x in sigmas])
    r = _quiet(acc.epsilon, s, delta, rtol=1e-2)
    with pytest.MonkeyPatch.context() as mp_:
        mp_.setattr(merge, "MIN_DISTINCT", 10 ** 9)
        ref = _quiet(acc.epsilon, s, delta, rtol=1e-2)
    assert ref.lower <= r.upper and r.lower <= ref.upper
    lead = _quiet(acc.epsilon, SubsampledGaussian(min(sigmas), q), delta)
    assert r.upper >= lead.lower


def test_a_few_rates_mix_each_over_its_own_grid(monkeypatch):
    """A σ schedule with two batch sizes (a warm-up phase at another rate)."""
    s = Schedule([(SubsampledGaussian(1.0 + 3e-3 * t, 0.02 if t < 20 else 0.01), 2)
                  for t in range(60)])
    r = _quiet(acc.epsilon, s, DELTA, rtol=2e-3)
    assert r.details["merged"]["mode"] == "mixtures"
    assert r.details["merged"]["sample_rates"] == 2
    with monkeypatch.context() as mp_:
        mp_.setattr(merge, "MIN_DISTINCT", 10 ** 9)
        ref = _quiet(acc.epsilon, s, DELTA, rtol=1e-4)
    assert ref.lower <= r.upper and r.lower <= ref.upper
    assert r.upper - r.lower <= 2e-3 * r.upper


def test_many_rates_keep_the_rounded_merge():
    s = Schedule([(SubsampledGaussian(1.0 + 1e-3 * t, 0.01 * (1 + (t % 10))), 1)
                  for t in range(300)])
    r = _quiet(acc.epsilon, s, DELTA, rtol=1e-2)
    assert r.details["merged"].get("mode") != "mixtures"
    assert r.details["merged"]["representatives"] >= 2


def test_tight_requests_stay_certified_and_say_so():
    """rtol below what the grid-point budget allows: a certified bracket, wider than asked
    and saying so (not an error, and no memory blow-up)."""
    s = Schedule([(SubsampledGaussian(1.0 + 1e-4 * t, 0.01), 1) for t in range(1000)])
    r = _quiet(acc.epsilon, s, DELTA, rtol=1e-5)
    assert any(w.startswith("bracket_wider") for w in r.warnings)
    assert r.lower <= 1.665529 <= r.upper
    assert r.upper - r.lower <= 1e-3 * r.upper
