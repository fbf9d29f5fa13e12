"""Degenerate inputs get one answer in every entry point, or one clear error.

Rule (the README carries it):

* sample rate 0 — no example (or user) is ever sampled. ``SubsampledGaussian`` (Poisson or
  fixed size), ``ELS`` and ``ULS`` accept q ∈ [0, 1]; ``epsilon``/``delta`` answer a schedule
  made only of such steps with ε = 0 at every δ and δ = 0 at every ε ≥ 0, certified,
  lower = upper = 0, in every method; mixed into a schedule, such steps change nothing.
  ``calibrate(…, sample_rate=0)`` is a ValueError (no noise level is needed).
* noise multiplier 0 — refused by every mechanism with a ValueError naming the argument and
  its range and saying why (not private, ε = ∞).
* dp_accounting events — as dp_accounting 0.6.0 where its answer is exact: nothing sampled
  (``PoissonSampledDpEvent(0, …)``, ``SampledWithoutReplacementDpEvent(n, 0, …)``,
  ``NoOpDpEvent``) → ε = 0, δ = 0; non-private (``NonPrivateDpEvent``, noise-free
  ``GaussianDpEvent``/``LaplaceDpEvent``) → ε = ∞ at every δ, δ = 1 at every ε; a sampled
  noise-free Gaussian (exact answer δ = 1 − (1 − q)^T at every ε, which dp_accounting rounds
  up to ε = ∞) is refused.
"""
import importlib.util
import math

import pytest

import accountant as acc
from accountant.cli import main
from accountant.core.mechanisms import active_part, as_schedule, is_identity

METHODS = ("pld", "rdp", "edgeworth", "saddlepoint")
needs_dpa = pytest.mark.skipif(importlib.util.find_spec("dp_accounting") is None,
                               reason="dp_accounting not installed")

ZERO_RATE = [acc.SubsampledGaussian(1.0, 0.0), acc.SubsampledGaussian(0.5, 0.0, "fixed"),
             acc.SubsampledGaussian(2.0, 0.0, neighboring="replace_one"),
             acc.ELS(1.0, 0.0, 8), acc.ULS(0.7, 0.0, 3)]


# ---------------------------------------------------------------------------- q = 0
@pytest.mark.parametrize("mech", ZERO_RATE, ids=repr)
@pytest.mark.parametrize("method", METHODS)
def test_zero_rate_is_exactly_zero_in_every_method(mech, method):
    for steps in (1, 1000):
        for delta in (1e-300, 1e-5, 0.5):
            r = acc.epsilon(mech, delta=delta, steps=steps, method=method)
            assert (r.estimate, r.lower, r.upper, r.certified) == (0.0, 0.0, 0.0, True)
            assert r.method == method and not r.warnings
        for eps in (0.0, 1.0):
            r = acc.delta(mech, epsilon=eps, steps=steps, method=method)
            assert (r.estimate, r.lower, r.upper, r.certified) == (0.0, 0.0, 0.0, True)


def test_zero_rate_in_the_group_baselines():
    for method in ("group-vadhan", "group-rdp"):
        r = acc.epsilon(acc.ELS(1.0, 0.0, 4), delta=1e-5, steps=100, method=method)
        assert (r.lower, r.upper, r.certified) == (0.0, 0.0, True)


@pytest.mark.parametrize("method", ["pld", "rdp"])
def test_zero_rate_steps_change_nothing_in_a_schedule(method):
    live = acc.SubsampledGaussian(1.0, 0.01)
    mixed = acc.Schedule([(acc.SubsampledGaussian(1.0, 0.0), 500), (live, 200),
                          (acc.SubsampledGaussian(3.0, 0.0), 7)])
    assert active_part(mixed) == acc.Schedule([(live, 200)])
    a = acc.epsilon(mixed, delta=1e-5, method=method)
    b = acc.epsilon(live, delta=1e-5, steps=200, method=method)
    assert (a.lower, a.upper) == (b.lower, b.upper)


def test_identity_steps():
    assert all(is_identity(m) for m in ZERO_RATE)
    assert is_identity(acc.MixtureOfGaussians(1.0, (0.0, 1.0), (1.0, 0.0)))
    assert not is_identity(acc.SubsampledGaussian(1.0, 1e-300))
    assert not is_identity(acc.Gaussian(1e6)) and not is_identity(acc.Laplace(1e6))
    assert active_part(as_schedule(acc.SubsampledGaussian(1.0, 0.0), 3)) is None


@pytest.mark.parametrize("bad", [-0.0001, 1.0001, float("nan"), float("inf")])
def test_sample_rate_range_is_named(bad):
    for build in (lambda q: acc.SubsampledGaussian(1.0, q), lambda q: acc.ELS(1.0, q, 2),
                  lambda q: acc.ULS(1.0, q)):
        with pytest.raises(ValueError, match=r"sample_rate must be in \[0, 1\]"):
            build(bad)


def test_calibrate_refuses_rate_zero():
    with pytest.raises(ValueError, match="sample_rate"):
        acc.calibrate(target_epsilon=1.0, delta=1e-5, sample_rate=0.0, steps=100)


def test_cli_sample_rate_zero(capsys):
    import json
    assert main(["epsilon", "--noise-multiplier", "1.0", "--sample-rate", "0", "--steps", "100",
                 "--delta", "1e-5", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["epsilon"] == out["lower"] == out["upper"] == 0.0 and out["certified"] is True


# ---------------------------------------------------------------------------- σ = 0
@pytest.mark.parametrize("build", [lambda s: acc.Gaussian(s), lambda s: acc.Laplace(s),
                                   lambda s: acc.SubsampledGaussian(s, 0.1),
                                   lambda s: acc.ELS(s, 0.1, 2), lambda s: acc.ULS(s, 0.1),
                                   lambda s: acc.MixtureOfGaussians(s, (0.0, 1.0), (0.5, 0.5))])
def test_zero_noise_is_a_clear_error(build):
    with pytest.raises(ValueError, match=r"noise_multiplier must be in \(0, inf\).*not private"):
        build(0.0)
    with pytest.raises(ValueError, match=r"noise_multiplier must be in \(0, inf\)"):
        build(-1.0)


# ---------------------------------------------------------------------------- dp_accounting
# dp_accounting 0.6.0, compose(event, 10), recorded from its RdpAccountant and PLDAccountant
# (ADD_OR_REMOVE_ONE unless noted): get_epsilon(1e-5), get_epsilon(0.5), get_delta(0),
# get_delta(1e6). "unsupported" = UnsupportedEventError.
#   PoissonSampledDpEvent(0, Gaussian(1))                 RDP 0, 0, 0, 0     PLD 0, 0, 0, 0
#   SampledWithoutReplacementDpEvent(1000, 0, Gaussian(1)) RDP (REPLACE_ONE) 0, 0, 0, 0
#                                                          PLD unsupported (no fixed-size events)
#   NoOpDpEvent                                            RDP 0, 0, 0, 0     PLD 0, 0, 0, 0
#   NonPrivateDpEvent                                      RDP inf, inf, 1, 1 PLD inf, inf, 1, 1
#   GaussianDpEvent(0)                                     RDP inf, inf, 1, 1 PLD inf, inf, 1, 1
#   LaplaceDpEvent(0)                                      RDP ZeroDivisionError; PLD inf, inf, 1, 1
#   PoissonSampledDpEvent(0.5, Gaussian(0))                RDP inf, inf, 1, 1 PLD inf, inf, 1, 1
#                                                          (exact: δ(ε) = 1 − 0.5^10 at every ε)

def _queries(a):
    return (a.get_epsilon(1e-5), a.get_epsilon(0.5), a.get_delta(0.0), a.get_delta(1e6))


def _degenerate_events():
    from dp_accounting import dp_event as e
    return [("poisson0", e.PoissonSampledDpEvent(0.0, e.GaussianDpEvent(1.0)), "add_remove", 0.0),
            ("swr0", e.SampledWithoutReplacementDpEvent(1000, 0, e.GaussianDpEvent(1.0)),
             "replace_one", 0.0),
            ("noop", e.NoOpDpEvent(), "add_remove", 0.0),
            ("poisson0-of-noise-free", e.PoissonSampledDpEvent(0.0, e.GaussianDpEvent(0.0)),
             "add_remove", 0.0),
            ("nonprivate", e.NonPrivateDpEvent(), "add_remove", math.inf),
            ("gaussian0", e.GaussianDpEvent(0.0), "add_remove", math.inf),
            ("gaussian0-replace", e.GaussianDpEvent(0.0), "replace_one", math.inf),
            ("laplace0", e.LaplaceDpEvent(0.0), "add_remove", math.inf),
            ("nonprivate-with-others",
             e.ComposedDpEvent([e.PoissonSampledDpEvent(0.01, e.GaussianDpEvent(1.0)),
                                e.NonPrivateDpEvent()]), "add_remove", math.inf)]


@needs_dpa
@pytest.mark.parametrize("method", ["pld", "rdp"])
def test_degenerate_events_answer_as_dp_accounting(method):
    from accountant.interop.dp_accounting import DpEventAccountant
    for name, ev, nb, eps in _degenerate_events():
        a = DpEventAccountant(method, neighboring=nb).compose(ev, 10)
        want = (eps, eps, 0.0, 0.0) if eps == 0 else (math.inf, math.inf, 1.0, 1.0)
        assert _queries(a) == want, name
        r = a.get_epsilon_result(1e-5)
        assert r.certified and r.lower == r.upper == eps, name
        d = a.get_delta_result(3.0)
        assert d.certified and d.lower == d.upper == (0.0 if eps == 0 else 1.0), name


@needs_dpa
def test_degenerate_events_against_live_dp_accounting():
    from dp_accounting import privacy_accountant as pa
    from dp_accounting.pld import PLDAccountant
    from dp_accounting.rdp import RdpAccountant
    from accountant.interop.dp_accounting import DpEventAccountant
    rel = {"add_remove": pa.NeighboringRelation.ADD_OR_REMOVE_ONE,
           "replace_one": pa.NeighboringRelation.REPLACE_ONE}
    compared = 0
    for name, ev, nb, _ in _degenerate_events():
        ours = _queries(DpEventAccountant("pld", neighboring=nb).compose(ev, 10))
        for peer_cls in (RdpAccountant, PLDAccountant):
            peer = peer_cls(neighboring_relation=rel[nb])
            if not peer.supports(ev):
                continue
            try:
                peer.compose(ev, 10)
                theirs = tuple(float(x) for x in _queries(peer))
            except ZeroDivisionError:           # RdpAccountant on LaplaceDpEvent(0)
                continue
            assert ours == theirs, (name, peer_cls.__name__)
            compared += 1
    assert compared >= 12


@needs_dpa
def test_degenerate_events_as_schedules():
    from dp_accounting import dp_event as e
    from accountant.interop.dp_accounting import DpEventAccountant, from_dp_event
    for name, ev, nb, eps in _degenerate_events():
        if eps == 0:
            s = from_dp_event(ev, neighboring=nb)       # one step that samples no one
            assert active_part(s) is None, name
            for method in METHODS:
                r = acc.epsilon(s, delta=1e-5, method=method)
                assert (r.lower, r.upper) == (0.0, 0.0), name
        else:
            with pytest.raises(ValueError, match="non-private"):
                from_dp_event(ev, neighboring=nb)
    # Sampling a noise-free Gaussian: refused by both entry points, naming why.
    ev = e.PoissonSampledDpEvent(0.5, e.GaussianDpEvent(0.0))
    with pytest.raises(ValueError, match="noise-free"):
        from_dp_event(ev)
    with pytest.raises(ValueError, match="noise-free"):
        DpEventAccountant().compose(ev)
    # Zero steps of a non-private event compose nothing.
    a = DpEventAccountant().compose(e.NonPrivateDpEvent(), 0)
    assert a.get_epsilon(1e-5) == 0.0
    with pytest.raises(ValueError, match="delta"):
        DpEventAccountant().compose(e.NonPrivateDpEvent()).get_epsilon(0.0)


def test_zero_rate_in_the_trainer_and_opacus_accountants():
    """q = 0 gets the same answer (ε = 0, no effect on later steps) in the trainer
    accountant and the Opacus adapter as in acc.epsilon."""
    from accountant.interop.opacus import OpacusAccountant
    for method in ("pld", "rdp"):
        a = acc.PrivacyAccountant(method=method)
        a.step(1.0, 0.0, steps=100)
        r = a.get_epsilon(1e-5)
        assert r.certified and r.lower == r.upper == 0.0
        a.step(1.0, 0.01, steps=100)
        b = acc.PrivacyAccountant(method=method)
        b.step(1.0, 0.01, steps=100)
        assert float(a.get_epsilon(1e-5)) == float(b.get_epsilon(1e-5))
    o = OpacusAccountant()
    o.step(noise_multiplier=1.0, sample_rate=0.0)
    assert o.get_epsilon(1e-5) == 0.0
    o2 = OpacusAccountant()
    o2.load_state_dict({"history": [(1.0, 0.0, 5), (1.0, 0.01, 10)], "mechanism": "rdp"})
    o3 = OpacusAccountant()
    o3.load_state_dict({"history": [(1.0, 0.01, 10)], "mechanism": "rdp"})
    assert o2.get_epsilon(1e-5) == o3.get_epsilon(1e-5)


def test_gaussian_only_trainer_delta_is_a_bracket():
    a = acc.PrivacyAccountant()
    a.step(7.0710678118654755, 1.0, steps=20)
    r = a.get_delta(1.0)
    exact = acc.delta(acc.Gaussian(7.0710678118654755), epsilon=1.0, steps=20)
    assert r.certified and r.lower <= exact.upper and exact.lower <= r.upper
    assert r.lower < r.upper          # padded for its own rounding, not a bare value
