"""The PLD accountant's merged path for schedules with many distinct mechanisms
(accountant.accountants.pld.merge, docs/math.md §4.8): every step rounded to the safe side,
the merged bracket consistent with the unmerged certified one and within rtol, and the
trainer accountant answering exactly what the one-shot API answers."""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import accountant as acc
from accountant import ELS, Laplace, PrivacyAccountant, Schedule, SubsampledGaussian
from accountant.accountants.pld import merge

DELTA = 1e-5


def _small(m=64, span=0.03, q=0.02, steps=3):
    """m distinct σ evenly spread over a log-span ≈ ``span``: merged at rtol = 1e-2 into ~17
    representatives, and still quick to compose unmerged."""
    return Schedule([(SubsampledGaussian(1.0 + span * t / m, q), steps) for t in range(m)])


@pytest.fixture
def unmerged(monkeypatch):
    """A function answering a query with merging switched off (the reference)."""
    def run(fn, *args, **kw):
        with monkeypatch.context() as mp:
            mp.setattr(merge, "MIN_DISTINCT", 10 ** 9)
            return fn(*args, **kw)
    return run


def _quiet(fn, *args, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kw)


# ---------------------------------------------------------------------------- the rounding
def _params(m):
    return m.noise_multiplier, getattr(m, "sample_rate", None)


@settings(max_examples=25, deadline=None)
@given(st.lists(st.tuples(st.floats(0.5, 20.0), st.sampled_from([1e-4, 3e-3, 0.01, 0.2, 1.0])),
                min_size=2, max_size=40, unique=True),
       st.floats(1e-4, 2.0))
def test_every_step_is_rounded_to_the_safe_side(params, lr):
    counts = [(SubsampledGaussian(s, q), 1 + i % 3) for i, (s, q) in enumerate(params)]
    counts += [(Laplace(2.0), 5)]                     # not roundable: kept on both sides
    reps = merge.representatives(counts, lr)
    smax = max(s for s, _ in params)
    for (m, _), (mu, ml) in zip(counts, reps):
        if isinstance(m, Laplace):
            assert mu == ml == m
            continue
        s, q = _params(m)
        su, qu = _params(mu)
        sl, ql = _params(ml)
        # upper: σ down, q up (dominates); lower: σ up, q down (dominated)
        assert su <= s and qu >= q and sl >= s and ql <= q
        assert su >= s * math.exp(-lr) * (1 - 1e-12)
        assert sl <= min(s * math.exp(lr) * (1 + 1e-12), smax)
        assert (mu.sampling, mu.neighboring) == (ml.sampling, ml.neighboring) == (m.sampling,
                                                                                  m.neighboring)
    up, lo = merge.merged_counts(counts, lr)
    total = sum(T for _, T in counts)
    assert sum(T for _, T in up) == total == sum(T for _, T in lo)
    # one grid for both sides: every σ (but the clipped top) is smin·e^{k·lr}
    smin = min(s for s, _ in params)
    for m, _ in up + lo:
        if isinstance(m, Laplace):
            continue
        k = math.log(m.noise_multiplier / smin) / lr
        assert m.noise_multiplier == smax or abs(k - round(k)) < 1e-6


def test_constant_sigma_and_q_are_kept_exactly():
    counts = [(SubsampledGaussian(1.3, 0.01 * (1 + t / 100)), 2) for t in range(60)]
    counts += [(SubsampledGaussian(1.3 * (1 + t / 100), 0.05), 1) for t in range(60)]
    for mu, ml in merge.representatives(counts, 0.01):
        assert 1.3 in (mu.noise_multiplier, ml.noise_multiplier) or mu.sample_rate == 0.05
    up, lo = merge.merged_counts(counts, 0.01)
    assert min(m.noise_multiplier for m, _ in up) == 1.3
    assert max(m.sample_rate for m, _ in up) == 0.05
    assert min(m.sample_rate for m, _ in lo) == 0.01


def test_huge_spans_do_not_overflow():
    """σ from 90 to 1e12 and q from 1e-300 (the fuzz case that overflowed the old merge)."""
    counts = [(SubsampledGaussian(89.8, 1e-300), 2), (SubsampledGaussian(9.86e10, 1.3e-3), 3),
              (ELS(1e12, 2.35e-11, 64), 15)]
    for lr in (1.0, 50.0, 700.0, 1e6):
        for (m, _), (mu, ml) in zip(counts, merge.representatives(counts, lr)):
            assert mu.noise_multiplier <= m.noise_multiplier <= ml.noise_multiplier
            assert math.isfinite(mu.noise_multiplier) and mu.noise_multiplier > 0


@pytest.mark.parametrize("lr", [0.0, -1.0, math.nan, math.inf, "0.1", None])
def test_bad_grid_ratio_is_refused(lr):
    with pytest.raises(ValueError, match="lr"):
        merge.merged_counts([(SubsampledGaussian(1.0, 0.01), 1)], lr)


# ---------------------------------------------------------------------------- the brackets
@pytest.mark.parametrize("kind, span", [("epsilon", 0.03), ("delta", 0.003)])
def test_merged_bracket_agrees_with_the_unmerged_one(kind, span, unmerged):
    s = _small(span=span)
    at = DELTA if kind == "epsilon" else 1.76
    fn = acc.epsilon if kind == "epsilon" else acc.delta
    r = _quiet(fn, s, at, rtol=1e-2)
    ref = unmerged(_quiet, fn, s, at, rtol=1e-3)
    assert "merged" in r.details and "merged" not in ref.details
    assert r.details["merged"]["representatives"] < 64
    assert r.certified and 0 <= r.lower <= r.upper
    # both are certified: their truth regions overlap
    assert ref.lower <= r.upper and r.lower <= ref.upper
    tol = 1e-2 * r.upper if kind == "delta" else max(1e-2 * r.upper, 1e-2)
    assert r.upper - r.lower <= tol
    assert not any(w.startswith("bracket_wider") for w in r.warnings)


def test_merged_bracket_is_within_a_tight_rtol_and_holds_the_truth():
    """200 steps, σ_t = 1 + 1e-3·t, q = 0.01 (issue 17: the trainer's bracket was 2.8 % wide).
    Truth: the unmerged schedule at rtol = 1e-6 gave [0.7477352781232725,
    0.7477358594909116] (42 s). At the default rtol merging does not pay here (it would
    keep most of the 200 mechanisms): the trainer gets the unmerged bracket."""
    a = PrivacyAccountant("pld")
    for t in range(200):
        a.step(1 + 1e-3 * t, 0.01)
    r = _quiet(a.get_epsilon, DELTA)
    assert r.lower <= 0.7477352781232725 and 0.7477358594909116 <= r.upper
    assert r.upper - r.lower <= 1e-3 * r.upper


@settings(max_examples=4, deadline=None)
@given(st.lists(st.floats(1.0, 1.1), min_size=50, max_size=60, unique=True),
       st.sampled_from([0.01, 0.03]), st.integers(1, 4))
def test_merged_bracket_property(sigmas, q, steps):
    s = Schedule([(SubsampledGaussian(x, q), steps) for x in sigmas])
    r = _quiet(acc.epsilon, s, DELTA, rtol=2e-2)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(merge, "MIN_DISTINCT", 10 ** 9)
        ref = _quiet(acc.epsilon, s, DELTA, rtol=2e-2)
    assert ref.lower <= r.upper and r.lower <= ref.upper
    assert r.upper - r.lower <= max(2e-2 * r.upper, 2e-2) * (1 + 1e-12) or any(
        w.startswith("bracket_wider") for w in r.warnings)
    # the exact leakiest single step is a floor of every certified lower bound
    lead = _quiet(acc.epsilon, SubsampledGaussian(min(sigmas), q), DELTA)
    assert r.upper >= lead.lower


def test_few_distinct_mechanisms_are_not_merged():
    s = _small(m=merge.MIN_DISTINCT - 1)
    assert "merged" not in _quiet(acc.epsilon, s, DELTA, rtol=1e-2).details


# ---------------------------------------------------------------------------- the trainer
def test_trainer_answers_what_the_one_shot_api_answers():
    a = PrivacyAccountant("pld", rtol=1e-2)
    for t in range(64):
        a.step(1.0 + 0.03 * t / 64, 0.02, steps=3)
    e = _quiet(a.get_epsilon, DELTA)
    one = _quiet(acc.epsilon, a.schedule, DELTA, rtol=1e-2)
    assert "merged" in e.details
    assert (e.lower, e.upper) == (one.lower, one.upper)
    d = _quiet(a.get_delta, 1.76)
    one = _quiet(acc.delta, a.schedule, 1.76, rtol=1e-2)
    assert (d.lower, d.upper) == (one.lower, one.upper)


def test_old_merge_settings_load_and_change_nothing(tmp_path):
    a = PrivacyAccountant("pld", rtol=1e-2, max_merged=3, merge_ratio=0.5, lower_mechanisms=1)
    for t in range(64):
        a.step(1.0 + 0.03 * t / 64, 0.02, steps=3)
    a.save(tmp_path / "a.json")
    b = PrivacyAccountant.load(tmp_path / "a.json")
    assert b._settings == {"max_merged": 3, "merge_ratio": 0.5, "lower_mechanisms": 1}
    rb = _quiet(b.get_epsilon, DELTA)
    one = _quiet(acc.epsilon, a.schedule, DELTA, rtol=1e-2)
    assert (rb.lower, rb.upper) == (one.lower, one.upper)


@pytest.mark.parametrize("kw, name", [({"max_merged": 0}, "max_merged"),
                                      ({"merge_ratio": -1.0}, "merge_ratio"),
                                      ({"merge_ratio": math.nan}, "merge_ratio"),
                                      ({"lower_mechanisms": 1.5}, "lower_mechanisms")])
def test_bad_settings_are_refused(kw, name):
    with pytest.raises(ValueError, match=name):
        PrivacyAccountant("pld", **kw)


def test_representative_counts_stay_arrays_of_floats():
    # (the grid points are doubles computed once: equal k, equal double, one cache entry)
    counts = [(SubsampledGaussian(1 + 1e-3 * t, 0.01), 1) for t in range(100)]
    up, lo = merge.merged_counts(counts, 0.004)
    grid = 1.0 * np.exp(0.004 * np.arange(0, 40))
    assert {m.noise_multiplier for m, _ in up} <= set(grid.tolist())


def test_undominated_entries_hold_the_leakiest_step():
    """core.dominating.undominated: every dropped entry is dominated by a kept one of its
    family, so the exact leakiest-step floor (accountants.exact.composed_lower_epsilon) is
    the same over the kept entries as over all of them."""
    from accountant.accountants import exact
    from accountant.core.dominating import undominated
    counts = [(SubsampledGaussian(1 + 0.01 * t, 0.01 * (1 + t % 4)), 1) for t in range(30)]
    counts += [(ELS(3.0, 0.01, 2), 2), (Laplace(50.0), 2)]
    kept = undominated(counts)
    assert (Laplace(50.0), 2) in kept and (ELS(3.0, 0.01, 2), 2) in kept
    for m, T in counts:
        if (m, T) in kept:
            continue
        assert any(type(k) is type(m) and k.sampling == m.sampling
                   and k.noise_multiplier <= m.noise_multiplier
                   and k.sample_rate >= m.sample_rate for k, _ in kept)
    assert len(kept) < len(counts)
    floor = exact.composed_lower_epsilon(Schedule(counts), DELTA)
    brute = max(_quiet(acc.epsilon, m, DELTA).lower for m, _ in counts)
    assert floor == pytest.approx(brute, rel=1e-9)
