"""dp_accounting events of issue 15 through accountant.interop.dp_accounting, and the
``CertifiedAccountant`` subclass of ``dp_accounting.PrivacyAccountant``.

Reference values are dp_accounting's own, recorded as numbers (dp_accounting 0.6.0 on this
machine unless a comment says otherwise: its PLDAccountant at the default grid 1e-4, which is
pessimistic, i.e. meant as an upper bound, or its RdpAccountant at its default orders), or
closed forms / exact enumerations in mpmath. Tests of mechanisms whose privacy loss is not
registered in this tree are skipped (the losses come from other issue-15 modules).
"""
import importlib.util
import math
import subprocess
import sys

import pytest

import accountant as acc
from accountant.core.mechanisms import (ZCDP, DiscreteGaussian, DiscreteLaplace, EpsilonDelta,
                                        Gaussian, RandomAllocation, RandomizedResponse, Schedule,
                                        SubsampledGaussian, SubsampledLaplace,
                                        TruncatedSubsampledGaussian)

HAS_DPA = importlib.util.find_spec("dp_accounting") is not None
pytestmark = pytest.mark.skipif(not HAS_DPA, reason="dp_accounting not installed")

if HAS_DPA:
    import attr
    import dp_accounting as dpa
    from dp_accounting import dp_event as e
    from accountant.interop import dp_accounting as adapter
    from accountant.interop.dp_accounting import (CertifiedAccountant, DpEventAccountant,
                                                  from_dp_event)
    NR = dpa.NeighboringRelation

    # Events of dp_accounting's main branch and of PR #414 that 0.6 lacks, declared with the
    # same class names and fields (google/differential-privacy, dp_event.py at b5b0286 and
    # refs/pull/414/head): the adapter recognises them by name and fields.
    @attr.s(frozen=True, slots=True, auto_attribs=True)
    class EpsilonDeltaDpEvent(e.DpEvent):
        epsilon: float
        delta: float

    @attr.s(frozen=True, slots=True, auto_attribs=True)
    class DiscreteGaussianDpEvent(e.DpEvent):
        sigma: float
        sensitivity: float = 1.0
        dimension: object = None

    @attr.s(frozen=True, slots=True, auto_attribs=True)
    class RandomAllocationDpEvent(e.DpEvent):
        event: e.DpEvent
        num_selected: int
        num_steps: int

    @attr.s(frozen=True, slots=True, auto_attribs=True)
    class ExponentialMechanismDpEvent(e.DpEvent):
        epsilon: float


def has_loss(mech_type) -> bool:
    """True when the privacy loss of ``mech_type`` is registered in this tree."""
    import accountant.loss  # noqa: F401  (registers the families)
    from accountant.loss import registry
    return any(c in registry._FACTORIES for c in mech_type.__mro__)


def needs_loss(*types):
    missing = [t.__name__ for t in types if not has_loss(t)]
    return pytest.mark.skipif(bool(missing), reason=f"no privacy loss yet for {missing}")


def psg(sigma, q=0.01, steps=1000):
    return e.SelfComposedDpEvent(e.PoissonSampledDpEvent(q, e.GaussianDpEvent(sigma)), steps)


def in_bracket(r, ref, rtol=1e-3):
    """dp_accounting's pessimistic value is (close to) an upper bound: our upper bound is
    within rtol of it and our lower bound does not exceed it."""
    assert r.certified and r.lower <= r.upper
    assert abs(r.upper - ref) <= rtol * ref, (r, ref)
    assert r.lower <= ref * (1 + 1e-9), (r, ref)


# ------------------------------------------------------------------------------ the mapping
def test_new_events_map_to_our_mechanisms():
    rr = from_dp_event(e.RandomizedResponseDpEvent(0.5, 4), neighboring="replace_one")
    assert rr == Schedule(((RandomizedResponse(0.5, 4, "replace_one"), 1),))
    assert from_dp_event(e.SelfComposedDpEvent(e.DiscreteLaplaceDpEvent(0.5, 2), 5)) == \
        Schedule(((DiscreteLaplace(0.5, 2), 5),))
    assert from_dp_event(e.ZCDpEvent(0.1)) == Schedule(((ZCDP(0.1, 0.0), 1),))
    assert from_dp_event(e.ZCDpEvent(0.1, 0.02), "replace_one") == \
        Schedule(((ZCDP(0.1, 0.02, "replace_one"), 1),))
    # field order differs: dp_accounting (n, q, B, σ), ours (σ, q, B, n)
    trunc = e.TruncatedSubsampledGaussianDpEvent(60000, 0.01, 620, 1.0)
    assert from_dp_event(trunc) == Schedule(((TruncatedSubsampledGaussian(1.0, 0.01, 620, 60000), 1),))
    psl = e.PoissonSampledDpEvent(0.2, e.LaplaceDpEvent(2.0))
    assert from_dp_event(psl) == Schedule(((SubsampledLaplace(2.0, 0.2), 1),))
    nested = from_dp_event(e.PoissonSampledDpEvent(0.5, e.PoissonSampledDpEvent(0.4, e.LaplaceDpEvent(1.0))))
    assert nested.segments[0][0].sample_rate == pytest.approx(0.2, rel=1e-15)
    assert from_dp_event(EpsilonDeltaDpEvent(1.0, 1e-6)) == Schedule(((EpsilonDelta(1.0, 1e-6), 1),))
    assert from_dp_event(DiscreteGaussianDpEvent(3.0, 2, 1)) == Schedule(((DiscreteGaussian(3.0, 2), 1),))
    ra = RandomAllocationDpEvent(e.GaussianDpEvent(2.0), 10, 100)
    assert from_dp_event(ra) == Schedule(((RandomAllocation(2.0, 100, 10), 1),))
    # Gaussians composed on one allocated call are one Gaussian (sufficient statistic)
    two = RandomAllocationDpEvent(e.ComposedDpEvent([e.GaussianDpEvent(2.0)] * 2), 1, 10)
    assert from_dp_event(two).segments[0][0].noise_multiplier == pytest.approx(2 ** 0.5, rel=1e-15)
    # zero repetitions inside a sampled event are no step (was a ZeroDivisionError)
    none = e.PoissonSampledDpEvent(0.1, e.SelfComposedDpEvent(e.GaussianDpEvent(1.0), 0))
    assert CertifiedAccountant().compose(none).get_epsilon(1e-5) == 0.0
    with pytest.raises(ValueError, match="SelfComposedDpEvent.count must be an integer >= 0"):
        from_dp_event(e.PoissonSampledDpEvent(0.1, e.SelfComposedDpEvent(e.GaussianDpEvent(1.0), -2)))


def test_zero_out_relation_is_add_remove_for_noise_addition():
    for ev in (e.GaussianDpEvent(1.5), psg(1.0, 0.01, 10), e.LaplaceDpEvent(2.0),
               e.PoissonSampledDpEvent(0.1, e.LaplaceDpEvent(1.0)),
               e.DiscreteLaplaceDpEvent(0.3, 1), e.MixtureOfGaussiansDpEvent(2.0, [0, 1], [0.5, 0.5]),
               RandomAllocationDpEvent(e.GaussianDpEvent(2.0), 1, 10)):
        assert from_dp_event(ev, "replace_special") == from_dp_event(ev, "add_remove")


def test_degenerate_new_events():
    no_step = [e.RandomizedResponseDpEvent(0.3, 1), e.RandomizedResponseDpEvent(1.0, 5),
               e.DiscreteLaplaceDpEvent(0.5, 0), e.ZCDpEvent(0.0), EpsilonDeltaDpEvent(0.0, 0.0),
               e.TruncatedSubsampledGaussianDpEvent(100, 0.0, 10, 1.0),
               e.TruncatedSubsampledGaussianDpEvent(100, 0.1, 0, 1.0),
               e.TruncatedSubsampledGaussianDpEvent(0, 0.1, 10, 1.0),
               RandomAllocationDpEvent(e.GaussianDpEvent(1.0), 0, 10),
               DiscreteGaussianDpEvent(1.0, 0, 1),
               e.PoissonSampledDpEvent(0.0, e.LaplaceDpEvent(0.0))]
    for ev in no_step:
        a = CertifiedAccountant("replace_one" if isinstance(ev, e.RandomizedResponseDpEvent)
                                else NR.ADD_OR_REMOVE_ONE).compose(ev, 3)
        assert a.get_epsilon(1e-5) == 0.0 and a.get_delta(0.0) == 0.0, ev
        r = a.get_epsilon_result(1e-5)
        assert r.certified and r.lower == r.upper == 0.0
    not_private = [(e.RandomizedResponseDpEvent(0.0, 3), "replace_one"),
                   (e.DiscreteLaplaceDpEvent(0.0, 1), "add_remove"),
                   (e.ZCDpEvent(math.inf), "add_remove"),          # jax_privacy at σ = 0
                   (EpsilonDeltaDpEvent(math.inf, 0.0), "add_remove"),
                   (EpsilonDeltaDpEvent(1.0, 1.0), "add_remove"),
                   (DiscreteGaussianDpEvent(0.0, 1, 1), "add_remove"),
                   (RandomAllocationDpEvent(e.GaussianDpEvent(0.0), 1, 10), "add_remove")]
    for ev, nb in not_private:
        a = CertifiedAccountant(nb).compose(ev)
        assert a.get_epsilon(1e-5) == math.inf and a.get_delta(5.0) == 1.0, ev
        r = a.get_epsilon_result(0.5)
        assert r.certified and r.lower == r.upper == math.inf
        with pytest.raises(ValueError, match="non-private"):
            from_dp_event(ev, nb)


def test_unsupported_events_are_refused_by_name():
    cases = [(e.RandomizedResponseDpEvent(0.5, 4), "add_remove", "RandomizedResponseDpEvent.*replace-one"),
             (e.TruncatedSubsampledGaussianDpEvent(100, 0.1, 10, 1.0), "replace_one",
              "TruncatedSubsampledGaussianDpEvent.*add/remove"),
             (e.TruncatedSubsampledGaussianDpEvent(100, 0.1, 10, 1.0), "replace_special",
              "TruncatedSubsampledGaussianDpEvent"),
             (e.PoissonSampledDpEvent(0.1, e.LaplaceDpEvent(1.0)), "replace_one", "PoissonSampledDpEvent"),
             (e.PoissonSampledDpEvent(0.1, e.ZCDpEvent(0.5)), "add_remove", "PoissonSampledDpEvent.*zCDP"),
             (e.PoissonSampledDpEvent(0.1, e.ComposedDpEvent([e.LaplaceDpEvent(1.0)] * 2)), "add_remove",
              "PoissonSampledDpEvent"),
             (e.SampledWithReplacementDpEvent(100, 10, e.GaussianDpEvent(1.0)), "add_remove",
              "SampledWithReplacementDpEvent"),
             (e.SingleEpochTreeAggregationDpEvent(1.0, 4), "replace_special",
              "SingleEpochTreeAggregationDpEvent"),
             (e.RepeatAndSelectDpEvent(e.GaussianDpEvent(1.0), 2.0, 1.0), "add_remove", "RepeatAndSelectDpEvent"),
             (e.UnsupportedDpEvent(), "add_remove", "UnsupportedDpEvent"),
             (ExponentialMechanismDpEvent(1.0), "add_remove", "ExponentialMechanismDpEvent"),
             (RandomAllocationDpEvent(e.LaplaceDpEvent(1.0), 1, 10), "add_remove",
              "RandomAllocationDpEvent.*GaussianDpEvent"),
             (RandomAllocationDpEvent(e.GaussianDpEvent(1.0), 1, 10), "replace_one", "RandomAllocationDpEvent"),
             (DiscreteGaussianDpEvent(1.0, 1, None), "add_remove", "DiscreteGaussianDpEvent.*dimension"),
             (DiscreteGaussianDpEvent(1.0, 1, 3), "add_remove", "DiscreteGaussianDpEvent.*dimension")]
    for ev, nb, match in cases:
        with pytest.raises(ValueError, match=match):
            from_dp_event(ev, nb)
        with pytest.raises(ValueError, match=match):
            DpEventAccountant(neighboring=nb).compose(ev)
        a = CertifiedAccountant(nb)
        assert not a.supports(ev)
        with pytest.raises(dpa.UnsupportedEventError, match=type(ev).__name__):
            a.compose(ev)
        with pytest.raises(ValueError):          # also a ValueError
            a.compose(e.ComposedDpEvent([e.GaussianDpEvent(1.0), ev]))
        assert len(a.accountant) == 0 and isinstance(a.ledger, e.NoOpDpEvent)


def test_bad_fields_name_the_field_and_its_range():
    for ev, match in ((e.RandomizedResponseDpEvent(1.5, 4),
                       r"RandomizedResponseDpEvent.noise_parameter must be in \[0, 1\]"),
                      (e.RandomizedResponseDpEvent(0.5, 0), "RandomizedResponseDpEvent.num_buckets"),
                      (e.DiscreteLaplaceDpEvent(-1.0, 1), r"noise_parameter must be in \[0, inf\)"),
                      (e.DiscreteLaplaceDpEvent(1.0, 1.5), "DiscreteLaplaceDpEvent.sensitivity must be an integer"),
                      (e.ZCDpEvent(-0.1), r"ZCDpEvent.rho must be in \[0, inf\]"),
                      (e.ZCDpEvent(0.1, float("nan")), r"ZCDpEvent.xi must be in \[0, inf\]"),
                      (EpsilonDeltaDpEvent(1.0, 2.0), r"EpsilonDeltaDpEvent.delta must be in \[0, 1\]"),
                      (e.TruncatedSubsampledGaussianDpEvent(100, 1.5, 10, 1.0),
                       r"sampling_probability must be in \[0, 1\]"),
                      (RandomAllocationDpEvent(e.GaussianDpEvent(1.0), 11, 10),
                       r"num_selected must be an integer >= 0 and <= 10")):
        nb = "replace_one" if isinstance(ev, e.RandomizedResponseDpEvent) else "add_remove"
        with pytest.raises(ValueError, match=match):
            from_dp_event(ev, nb)
        assert not CertifiedAccountant(nb).supports(ev)


def test_duck_typed_event_without_its_fields_is_refused():
    @attr.s(frozen=True)
    class RandomAllocationDpEvent(e.DpEvent):       # noqa: F811  (a malformed look-alike)
        pass
    with pytest.raises(ValueError, match="RandomAllocationDpEvent.*num_selected"):
        from_dp_event(RandomAllocationDpEvent())


# ------------------------------------------------------------ CertifiedAccountant protocol
def test_certified_accountant_is_a_dp_accounting_accountant():
    a = CertifiedAccountant()
    assert isinstance(a, dpa.PrivacyAccountant)
    assert a.neighboring_relation is NR.ADD_OR_REMOVE_ONE and a.method == "auto"
    assert isinstance(a.ledger, e.NoOpDpEvent) and a.get_epsilon(1e-5) == 0.0
    assert a.compose(psg(1.0, 0.01, 500)) is a
    a.compose(psg(1.5, 0.02, 300))
    assert a.ledger == e.ComposedDpEvent([psg(1.0, 0.01, 500), psg(1.5, 0.02, 300)])
    eps = a.get_epsilon(1e-5)
    assert type(eps) is float and eps == a.last_result.upper
    r = a.get_epsilon_result(1e-5)
    assert r is a.last_result and r.certified and r.method == "pld"
    # dp_accounting 0.6.0 PLDAccountant on the same two segments (tests/test_adapters.py)
    in_bracket(r, 1.6825952213744129)
    d = a.get_delta_result(2.0)
    assert a.get_delta(2.0) == d.upper and d.lower <= 6.607025020454954e-07 * (1 + 1e-6)
    assert CertifiedAccountant(NR.REPLACE_ONE).neighboring_relation is NR.REPLACE_ONE
    assert CertifiedAccountant("replace_special").neighboring_relation is NR.REPLACE_SPECIAL
    assert CertifiedAccountant(method="rdp").get_epsilon(1e-5) == 0.0
    with pytest.raises(ValueError, match="neighboring_relation"):
        CertifiedAccountant("zero_out")
    with pytest.raises(ValueError, match="method"):
        CertifiedAccountant(method="prv")
    with pytest.raises(ValueError, match="count"):
        a.compose(e.GaussianDpEvent(1.0), -1)
    with pytest.raises(ValueError, match="target_delta"):
        a.get_epsilon(1.5)


def test_certified_accountant_pickles_and_copies():
    import copy
    import pickle
    a = CertifiedAccountant().compose(psg(1.0, 0.01, 100))
    eps = a.get_epsilon(1e-5)
    for b in (pickle.loads(pickle.dumps(a)), copy.deepcopy(a)):
        assert type(b) is CertifiedAccountant and b.ledger == a.ledger
        assert b.get_epsilon(1e-5) == eps
        b.compose(e.GaussianDpEvent(5.0))
        assert b.get_epsilon(1e-5) > eps == a.get_epsilon(1e-5)     # independent copies
    with pytest.raises(CertifiedAccountant.UnsupportedEventError) as info:
        a.compose(e.UnsupportedDpEvent())
    assert type(pickle.loads(pickle.dumps(info.value))) is CertifiedAccountant.UnsupportedEventError


def test_compose_translates_each_event_once(monkeypatch):
    calls = []
    real = adapter._segments

    def counting(ev, event, nb):
        if event is top:
            calls.append(event)
        return real(ev, event, nb)
    monkeypatch.setattr(adapter, "_segments", counting)
    top = psg(1.0, 0.01, 100)
    a = CertifiedAccountant()
    a.compose(top)                     # dp_accounting checks, then composes: one traversal
    assert len(calls) == 1
    assert a.supports(top) and len(calls) == 1
    a.compose(top, 2)
    assert len(calls) == 1 and len(a.accountant) == 300


def test_calibrate_dp_mechanism_with_certified_accountant():
    make = lambda s: psg(s, 0.01, 1000)   # noqa: E731
    sigma = dpa.calibrate_dp_mechanism(CertifiedAccountant, make, 2.0, 1e-5)
    r = CertifiedAccountant().compose(make(sigma)).get_epsilon_result(1e-5)
    assert r.certified and r.upper <= 2.0
    # within calibrate's tolerance of the smallest σ whose certified ε is within budget
    assert CertifiedAccountant().compose(make(sigma - 1e-5)).get_epsilon(1e-5) > 2.0
    # dp_accounting's own calibration (PLDAccountant, grid 1e-4) returns 0.9591029387128851
    # (its pessimistic ε reads 1.99999999757); our default grid is 1.6× finer (issue 17), so
    # our certified upper bound there is within budget too (1.9999961 when recorded)
    assert sigma == pytest.approx(0.9591029387128851, rel=1e-4)
    assert CertifiedAccountant().compose(make(0.9591029387128851)).get_epsilon(1e-5) <= 2.0


def test_calibrate_steps_discrete_as_in_jax_privacy():
    # jax_privacy.accounting's docstring calibrates the iterations of DP-SGD (σ = 3, q = 0.1)
    # for ε = 2 at δ = 1e-6 with PLDAccountant and gets 155.
    make = lambda t: psg(3.0, 0.1, t)     # noqa: E731
    steps = dpa.calibrate_dp_mechanism(CertifiedAccountant, make, 2.0, 1e-6, discrete=True,
                                       bracket_interval=dpa.LowerEndpointAndGuess(1, 128))
    assert isinstance(steps, int) and 150 <= steps <= 156
    assert CertifiedAccountant().compose(make(steps)).get_epsilon(1e-6) <= 2.0


def test_jax_privacy_accountant_fn_with_zero_out_relation():
    # BandMFConfig.calibrate calls accountant_fn(NeighboringRelation.REPLACE_SPECIAL)
    ours = CertifiedAccountant(NR.REPLACE_SPECIAL).compose(psg(1.0, 0.02, 200))
    ref = CertifiedAccountant(NR.ADD_OR_REMOVE_ONE).compose(psg(1.0, 0.02, 200))
    assert ours.get_epsilon(1e-6) == ref.get_epsilon(1e-6)
    peer = dpa.pld.PLDAccountant(NR.REPLACE_SPECIAL).compose(psg(1.0, 0.02, 200))
    in_bracket(ours.get_epsilon_result(1e-6), peer.get_epsilon(1e-6))


def test_sampled_noise_free_step_is_unbounded_not_refused():
    # calibrate_dp_mechanism probes σ = 0 first; dp_accounting answers ε = inf there.
    a = CertifiedAccountant().compose(psg(0.0, 0.01, 1000))
    floor = 1 - 0.99 ** 1000                        # δ(ε) >= 1 − (1 − q)^T at every ε
    r = a.get_epsilon_result(0.5 * floor)
    assert r.certified and r.lower == r.upper == math.inf        # exact below the floor
    r = a.get_epsilon_result(0.9999999)
    assert r.upper == math.inf and r.lower == 0.0 and any("unbounded" in w for w in r.warnings)
    d = a.get_delta_result(3.0)
    assert d.upper == 1.0 and floor * (1 - 1e-9) <= d.lower <= floor
    assert dpa.pld.PLDAccountant().compose(psg(0.0, 0.01, 1000)).get_epsilon(1e-5) == math.inf
    # with other steps their lower bound stays valid (dropping outputs is post-processing)
    b = CertifiedAccountant().compose(psg(1.0, 0.01, 1000)).compose(
        e.PoissonSampledDpEvent(1e-9, e.GaussianDpEvent(0.0)))
    rb = b.get_epsilon_result(1e-5)
    assert rb.upper == math.inf and 1.8 < rb.lower < 1.8283
    # the plain adapter still refuses them
    with pytest.raises(ValueError, match="noise-free"):
        DpEventAccountant().compose(psg(0.0))


def test_import_does_not_need_dp_accounting():
    code = ("import sys, accountant, accountant.interop.dp_accounting as m\n"
            "assert 'dp_accounting' not in sys.modules, 'imported'\n"
            "assert 'CertifiedAccountant' not in m.__all__\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr


def test_missing_dp_accounting_gives_a_clear_import_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "dp_accounting", None)
    monkeypatch.setitem(sys.modules, "dp_accounting.privacy_accountant", None)
    with pytest.raises(ImportError, match="dp-accounting"):
        adapter._build_certified_accountant()


# ------------------------------------------------- values against dp_accounting (recorded)
@pytest.mark.parametrize("event, delta, ref", [
    # dp_accounting 0.6.0 PLDAccountant, ADD_OR_REMOVE_ONE, default grid 1e-4:
    (e.SelfComposedDpEvent(e.GaussianDpEvent(2.0), 3) if HAS_DPA else None, 1e-5, 3.7086349369651237),
    (psg(1.0, 0.01, 1000) if HAS_DPA else None, 1e-5, 1.8282436455855091),
    (e.SelfComposedDpEvent(e.LaplaceDpEvent(2.0), 3) if HAS_DPA else None, 1e-5, 1.4999200028000184),
    (e.SelfComposedDpEvent(e.PoissonSampledDpEvent(0.2, e.LaplaceDpEvent(2.0)), 3) if HAS_DPA
     else None, 1e-5, 0.3657253520058551),
    (e.SelfComposedDpEvent(e.PoissonSampledDpEvent(0.05, e.LaplaceDpEvent(1.0)), 100) if HAS_DPA
     else None, 1e-5, 1.9183845371623296),
])
def test_existing_families_match_dp_accounting(event, delta, ref):
    r = CertifiedAccountant().compose(event).get_epsilon_result(delta)
    in_bracket(r, ref)
    assert acc.epsilon(from_dp_event(event), delta, method="pld").upper == r.upper


def _rr_exact_epsilon(p, k, steps, delta):
    """ε(δ) of ``steps`` compositions of k-ary randomized response (replace-one), by exact
    enumeration of the loss counts in mpmath (loss +L, −L, 0 with P-masses a, b, 1 − a − b)."""
    import mpmath as mp
    mp.mp.dps = 40
    a = 1 - mp.mpf(p) + mp.mpf(p) / k
    b = mp.mpf(p) / k
    L = mp.log(a / b)
    terms = []
    for i in range(steps + 1):                    # i steps at +L, j at −L
        for j in range(steps - i + 1):
            w = mp.factorial(steps) / (mp.factorial(i) * mp.factorial(j) * mp.factorial(steps - i - j))
            terms.append(((i - j) * L, w * a ** i * b ** j * (1 - a - b) ** (steps - i - j)))

    def dlt(eps):
        return mp.fsum(m * (1 - mp.e ** (eps - l)) for l, m in terms if l > eps)
    lo, hi = mp.mpf(0), steps * L                # δ(ε) decreases: bisection to 2⁻¹⁰⁰
    for _ in range(100):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if dlt(mid) > delta else (lo, mid)
    return float(lo)


@needs_loss(RandomizedResponse)
def test_randomized_response_matches_dp_accounting():
    one = CertifiedAccountant(NR.REPLACE_ONE).compose(e.RandomizedResponseDpEvent(0.5, 4))
    # closed form: the loss is L = log(1 + k(1 − p)/p) = log 5 with P-mass 0.625, so
    # δ(ε) = 0.625 (1 − e^{ε − L}) below L: ε(δ) = L + log(1 − δ/0.625), δ(1) = 0.625 (1 − e/5);
    # dp_accounting 0.6.0: 1.6094839998719987 (its grid rounds up), 0.2852358672254895
    r = one.get_epsilon_result(1e-5)
    exact = math.log(5) + math.log1p(-1e-5 / 0.625)
    assert r.lower <= exact <= r.upper <= 1.6094839998719987
    assert r.upper - r.lower <= 1e-9
    d = one.get_delta_result(1.0)
    assert d.lower <= 0.625 * (1 - math.e / 5) <= d.upper
    assert d.upper == pytest.approx(0.2852358672254895, rel=1e-3)
    # 40 steps at p = 0.9, k = 2: exact enumeration
    ev = e.RandomizedResponseDpEvent(0.9, 2)
    many = CertifiedAccountant(NR.REPLACE_ONE).compose(ev, 40).get_epsilon_result(1e-5)
    exact = _rr_exact_epsilon(0.9, 2, 40, 1e-5)
    assert many.lower <= exact <= many.upper and many.upper - many.lower <= 1e-3 * exact
    # dp_accounting 0.6.0's PLDAccountant drops the count of a RandomizedResponseDpEvent
    # (compose(rr, 10) = one step, also on main at b5b0286): 1.6094839998719987 for
    # 10 × RR(0.5, 4), far below the certified lower bound; its ComposedDpEvent of ten
    # separate events gives 16.093899883465873.
    ten = CertifiedAccountant(NR.REPLACE_ONE).compose(e.RandomizedResponseDpEvent(0.5, 4), 10)
    r10 = ten.get_epsilon_result(1e-5)
    assert r10.lower > 1.6094839998719987 * 9
    in_bracket(r10, 16.093899883465873)


@needs_loss(RandomizedResponse)
def test_randomized_response_zero_out_is_an_upper_bound():
    # dp_accounting 0.6.0, REPLACE_SPECIAL, ten separate RR(0.5, 4): 9.161899883465873
    a = CertifiedAccountant(NR.REPLACE_SPECIAL).compose(
        e.ComposedDpEvent([e.RandomizedResponseDpEvent(0.5, 4)] * 10))
    r = a.get_epsilon_result(1e-5)
    assert r.certified and r.lower == 0.0 and r.upper >= 9.161899883465873
    assert any(w.startswith("upper_only") for w in r.warnings)
    with pytest.raises(ValueError, match="dominates"):
        from_dp_event(e.RandomizedResponseDpEvent(0.5, 4), "replace_special")


@needs_loss(DiscreteLaplace)
@pytest.mark.parametrize("a, sens, steps, eps_ref, at, delta_ref", [
    # dp_accounting 0.6.0 PLDAccountant: ε at δ = 1e-5 and δ at ε = ``at``
    (0.5, 2, 5, 4.9998929791662095, 4.0, 0.05906834791644693),
    (0.2, 1, 20, 3.5245703693820905, 2.0, 0.0074305609052913195),
])
def test_discrete_laplace_matches_dp_accounting(a, sens, steps, eps_ref, at, delta_ref):
    acct = CertifiedAccountant().compose(e.DiscreteLaplaceDpEvent(a, sens), steps)
    in_bracket(acct.get_epsilon_result(1e-5), eps_ref)
    d = acct.get_delta_result(at)
    assert d.lower <= delta_ref * (1 + 1e-9) and d.upper == pytest.approx(delta_ref, rel=1e-2)
    assert acct.get_epsilon(1e-5) <= a * sens * steps      # pure DP: at most Σ aΔ
    # replace-one moves the integer query by 2Δ (dp_accounting refuses REPLACE_ONE)
    two = CertifiedAccountant(NR.REPLACE_ONE).compose(e.DiscreteLaplaceDpEvent(a, sens), steps)
    double = CertifiedAccountant().compose(e.DiscreteLaplaceDpEvent(a, 2 * sens), steps)
    assert two.get_epsilon(1e-5) == double.get_epsilon(1e-5)


@needs_loss(ZCDP)
@pytest.mark.parametrize("rho, xi, steps, ref", [
    # dp_accounting 0.6.0 RdpAccountant (default orders), δ = 1e-5
    (0.1, 0.0, 10, 7.077391578166641),
    (0.05, 0.01, 20, 7.277391578166641),
])
def test_zcdp_matches_dp_accounting_rdp(rho, xi, steps, ref):
    a = CertifiedAccountant().compose(e.ZCDpEvent(rho, xi), steps)
    r = a.get_epsilon_result(1e-5)
    assert r.method == "rdp" and r.certified and r.lower <= r.upper
    assert r.upper <= ref * (1 + 1e-6)                     # continuous orders: not worse
    # the classical conversion ρ + ξ + 2√(ρ log 1/δ) (Bun & Steinke 2016, Prop. 1.3) is
    # looser than both
    total_rho, total_xi = rho * steps, xi * steps
    assert r.upper <= total_xi + total_rho + 2 * math.sqrt(total_rho * math.log(1e5))


@needs_loss(ZCDP)
def test_zcdp_with_gaussian_steps_auto_uses_rdp():
    a = CertifiedAccountant().compose(psg(1.0, 0.01, 100)).compose(e.ZCDpEvent(0.01), 10)
    assert a.get_epsilon_result(1e-5).method == "rdp"


@needs_loss(EpsilonDelta)
def test_epsilon_delta_matches_dp_accounting_main():
    # dp_accounting main (b5b0286) pld_privacy_accountant_test.test_epsilon_delta_basic:
    # (1, 0.1) then (2, 0.2): δ(3) = 0.28 and ε(0.28) = 3 exactly.
    a = CertifiedAccountant().compose(EpsilonDeltaDpEvent(1.0, 0.1)).compose(
        EpsilonDeltaDpEvent(2.0, 0.2))
    # Between the atoms 1 and 3 of the composed loss: δ(ε) = 0.28 + 0.72·p₁p₂·(1 − e^{ε−3})
    # with p_i = e^{ε_i}/(1 + e^{ε_i}) the P-mass of +ε_i, so ε(0.28 + 1e-9) = 3 − 2.2e-9.
    r = a.get_epsilon_result(0.28 + 1e-9)
    assert r.lower <= _ED_EPS <= r.upper
    d = a.get_delta_result(2.5)
    assert d.lower <= _ED_DELTA_AT_2_5 <= d.upper


_P1, _P2 = math.e / (1 + math.e), math.e ** 2 / (1 + math.e ** 2)
_ED_DELTA_AT_2_5 = 0.28 + 0.72 * _P1 * _P2 * (1 - math.exp(-0.5))
_ED_EPS = 3 + math.log1p(-1e-9 / (0.72 * _P1 * _P2))


@needs_loss(EpsilonDelta)
def test_epsilon_delta_bracket_is_tight():
    # (the lower side needs the composed masses at +inf: without them it read
    # δ(2.5) ∈ [0.253, 0.462] and ε(0.28 + 1e-9) ∈ [2.43, 3.0])
    a = CertifiedAccountant().compose(EpsilonDeltaDpEvent(1.0, 0.1)).compose(
        EpsilonDeltaDpEvent(2.0, 0.2))
    d = a.get_delta_result(2.5)
    assert d.upper - d.lower <= 1e-3 * _ED_DELTA_AT_2_5
    r = a.get_epsilon_result(0.28 + 1e-9)
    assert r.upper - r.lower <= 1e-3 * _ED_EPS


@needs_loss(EpsilonDelta)
def test_epsilon_delta_composition_is_exact():
    # ten (1, 1e-6) steps at δ = 1e-5: exact (Kairouz–Oh–Viswanath pair composed; mpmath)
    import mpmath as mp
    mp.mp.dps = 40
    T, eps1, d1 = 10, mp.mpf(1), mp.mpf("1e-6")
    pr = mp.e ** eps1 / (1 + mp.e ** eps1)

    def delta_at(x):
        tail = mp.fsum(mp.binomial(T, i) * pr ** (T - i) * (1 - pr) ** i
                       * max(0, 1 - mp.e ** (x - (T - 2 * i) * eps1)) for i in range(T + 1))
        return 1 - (1 - d1) ** T + (1 - d1) ** T * tail
    ten = CertifiedAccountant().compose(EpsilonDeltaDpEvent(1.0, 1e-6), 10)
    for x in (2.0, 4.0, 6.0):
        dd = ten.get_delta_result(x)
        assert dd.lower <= float(delta_at(x)) <= dd.upper


@needs_loss(TruncatedSubsampledGaussian)
def test_truncated_poisson_against_dp_accounting():
    # dp_accounting 0.6.0 pld_privacy_accountant_test.test_truncated_subsampled_gaussian_basic:
    # (n 4, q 0.5, B 2, σ 1) × 3 then (n 3, …) × 2 at δ = 1e-6 → 17.904330 (recomputed here:
    # 17.904330114079052). dp_accounting builds the truncated branch from a replace-one pair,
    # "a (slightly loose) upper bound in all cases" (its from_truncated_subsampled_gaussian_
    # mechanism): its value is an upper bound, not the exact ε, so ours must not exceed it.
    ev = e.ComposedDpEvent([
        e.SelfComposedDpEvent(e.TruncatedSubsampledGaussianDpEvent(4, 0.5, 2, 1.0), 3),
        e.SelfComposedDpEvent(e.TruncatedSubsampledGaussianDpEvent(3, 0.5, 2, 1.0), 2)])
    r = CertifiedAccountant().compose(ev).get_epsilon_result(1e-6)
    assert r.certified and r.lower <= r.upper <= 17.904330114079052 * (1 + 1e-3)
    # DP-SGD scale: n = 60000, q = 0.01, B = 620, σ = 1, 1000 steps, δ = 1e-5 (dp_accounting
    # 0.6.0 PLD: 8.333368056803206)
    big = CertifiedAccountant().compose(
        e.TruncatedSubsampledGaussianDpEvent(60000, 0.01, 620, 1.0), 1000)
    rb = big.get_epsilon_result(1e-5)
    assert rb.certified and rb.lower <= rb.upper <= 8.333368056803206 * (1 + 1e-3)
    # B far above q·n: truncation has probability < 1e-40, the Poisson value (dp_accounting
    # 0.6.0 PLD 1.8282436455855091) is inside the bracket up to dp_accounting's grid error
    far = CertifiedAccountant().compose(
        e.TruncatedSubsampledGaussianDpEvent(60000, 0.01, 1200, 1.0), 1000)
    in_bracket(far.get_epsilon_result(1e-5), 1.8282436455855091)


@needs_loss(RandomAllocation)
def test_random_allocation_against_pr_414():
    # google/differential-privacy PR #414, test_random_allocation_basic: σ = 2, k = 10,
    # t = 100, δ = 1e-6 → ε = 2.4265 (± 1e-3). For k > 1 both sides use the decomposition
    # upper bound of Feldman & Shenfeld (k epochs of 1-of-t/k, docs/math.md §12): the
    # published value is that bound estimated pessimistically, so ours (the certified upper
    # bound of the same decomposition) must not exceed it, and our lower bound neither.
    a = CertifiedAccountant().compose(RandomAllocationDpEvent(e.GaussianDpEvent(2.0), 10, 100))
    r = a.get_epsilon_result(1e-6)
    assert r.certified and r.lower <= r.upper <= 2.4265 + 1e-3
    assert r.upper >= 2.4265 - 5e-3                        # the same bound, not another one
    # k = 1 of t = 10, 5 epochs: the mapping composes epochs like our own mechanism
    one = CertifiedAccountant().compose(RandomAllocationDpEvent(e.GaussianDpEvent(1.0), 1, 10), 5)
    ours = acc.epsilon(RandomAllocation(1.0, 10, 1), 1e-5, steps=5, method="pld")
    assert one.get_epsilon(1e-5) == ours.upper


# ------------------------------------------------------------------------------ properties
from hypothesis import given, strategies as st  # noqa: E402


@st.composite
def _events(draw):
    """A few dp_accounting events of the families accounted in this tree already."""
    kind = draw(st.sampled_from(["gaussian", "psg", "laplace", "psl"]))
    scale = draw(st.floats(0.5, 4.0))
    q = draw(st.floats(0.001, 0.5))
    if kind == "gaussian":
        ev = e.GaussianDpEvent(scale)
    elif kind == "psg":
        ev = e.PoissonSampledDpEvent(q, e.GaussianDpEvent(scale))
    elif kind == "laplace":
        ev = e.LaplaceDpEvent(2 * scale)
    else:
        ev = e.PoissonSampledDpEvent(q, e.LaplaceDpEvent(scale))
    return ev, draw(st.integers(1, 50))


@given(st.lists(_events(), min_size=1, max_size=3), st.sampled_from([1e-3, 1e-6]))
def test_incremental_composition_equals_one_composed_event(parts, delta):
    """Composing events one by one (a trainer) or as one ComposedDpEvent (a batch) gives
    one answer (the same steps in the same accountant); in reverse order the bracket may move
    by rounding only, and both brackets, being proven, overlap."""
    one_by_one = CertifiedAccountant()
    for ev, n in parts:
        one_by_one.compose(ev, n)
    batch = CertifiedAccountant().compose(
        e.ComposedDpEvent([e.SelfComposedDpEvent(ev, n) for ev, n in parts]))
    backwards = CertifiedAccountant().compose(
        e.ComposedDpEvent([e.SelfComposedDpEvent(ev, n) for ev, n in reversed(parts)]))
    r = one_by_one.get_epsilon_result(delta)
    assert r.certified and 0 <= r.lower <= r.upper < math.inf
    b = batch.get_epsilon_result(delta)
    assert (b.lower, b.upper) == (r.lower, r.upper)
    o = backwards.get_epsilon_result(delta)
    assert o.lower <= r.upper and r.lower <= o.upper
    assert o.upper == pytest.approx(r.upper, rel=1e-9)
