"""Opacus- and dp_accounting-shaped adapters.

Peer values are recorded as numbers (dp_accounting 0.6.0), so the comparisons run without
the peers; the tests that need the peers' own objects are skipped when they are absent.
"""
import importlib.util
import sys
from types import SimpleNamespace

import pytest

import accountant as acc
from accountant.interop.opacus import (PLDOpacusAccountant,
                                        RDPOpacusAccountant, register)
from accountant.core.mechanisms import (Gaussian, Laplace, MixtureOfGaussians, Schedule,
                                   SubsampledGaussian)
from accountant.session.trainer import PrivacyAccountant

HAS_DPA = importlib.util.find_spec("dp_accounting") is not None
HAS_OPACUS = importlib.util.find_spec("opacus") is not None
needs_dpa = pytest.mark.skipif(not HAS_DPA, reason="dp_accounting not installed")
needs_opacus = pytest.mark.skipif(not HAS_OPACUS, reason="opacus not installed")

# dp_accounting 0.6.0 PLDAccountant (pessimistic), ADD_OR_REMOVE_ONE, δ = 1e-5, for
# 500 × PoissonSampled(0.01, Gaussian(1.0)) then 300 × PoissonSampled(0.02, Gaussian(1.5)):
DPA_TWO_SEGMENTS_EPS = {1e-4: 1.6826012016839613, 1e-5: 1.6825952213744129}
DPA_TWO_SEGMENTS_DELTA_AT_2 = 6.607025020454954e-07          # grid 1e-4
DPA_TWO_SEGMENTS_RDP_EPS = 1.9517460187888216                # RdpAccountant, default orders
DPA_MOG_EPS = 9.006146694684196     # MoG(σ=2, c=(0,1,2), w=(¼,½,¼)) × 10, grid 1e-4
DPA_LAPLACE_EPS = 1.4999200028000184                          # Laplace(2) × 3, grid 1e-4

TWO_SEGMENTS = Schedule(((SubsampledGaussian(1.0, 0.01), 500),
                         (SubsampledGaussian(1.5, 0.02), 300)))


# ---------------------------------------------------------------------------- Opacus shape
def test_opacus_interface_shape():
    a = PLDOpacusAccountant()
    assert PLDOpacusAccountant.mechanism() == "dpacc_pld"
    assert RDPOpacusAccountant.mechanism() == "dpacc_rdp"
    assert len(a) == 0 and a.history == []
    for _ in range(3):
        a.step(noise_multiplier=1.1, sample_rate=0.01)
    a.step(noise_multiplier=1.2, sample_rate=0.01)
    assert a.history == [(1.1, 0.01, 3), (1.2, 0.01, 1)]
    assert len(a) == 4
    eps = a.get_epsilon(delta=1e-5)
    assert isinstance(eps, float)
    ref = PrivacyAccountant("pld")
    ref.step(1.1, 0.01, steps=3)
    ref.step(1.2, 0.01)
    assert eps == float(ref.get_epsilon(1e-5))
    assert a.get_epsilon(1e-5, eps_error=0.01) == eps          # Opacus PRV kwargs accepted
    with pytest.raises(TypeError):
        a.get_epsilon(1e-5, bogus=1)


def test_opacus_optimizer_hook():
    a = RDPOpacusAccountant()
    hook = a.get_optimizer_hook_fn(sample_rate=0.01)
    optim = SimpleNamespace(noise_multiplier=1.0, accumulated_iterations=2)
    hook(optim)
    hook(optim)
    assert a.history == [(1.0, 0.02, 2)]


def test_opacus_state_dict_round_trip_and_checks():
    a = RDPOpacusAccountant()
    a.step(noise_multiplier=1.0, sample_rate=0.01)
    a.step(noise_multiplier=0.9, sample_rate=0.02)
    sd = a.state_dict()
    assert sd["mechanism"] == "dpacc_rdp" and sd["history"] == a.history
    b = RDPOpacusAccountant()
    b.load_state_dict(sd)
    assert b.history == a.history and b.get_epsilon(1e-5) == a.get_epsilon(1e-5)
    eps = b.get_epsilon(1e-5)
    ok = (0.9, 0.02, 1)
    for bad, match in (
            ({}, "empty"), (None, "empty"), ({"history": []}, "mechanism"),
            ({"mechanism": "rdp"}, "history"),
            ([("history", [])], "must be a dict"),
            ({"history": [], "mechanism": "foo"}, r"mechanism 'foo' cannot be loaded.*rdp, prv, gdp"),
            ({"history": [], "mechanism": None}, "mechanism None cannot be loaded"),
            ({"history": "1,2,3", "mechanism": "rdp"}, "history must be a list"),
            ({"history": {"a": 1}, "mechanism": "rdp"}, "history must be a list"),
            ({"history": [ok, (1.0, 0.01)], "mechanism": "rdp"}, r"history\[1\] must be a"),
            ({"history": [ok, 5], "mechanism": "rdp"}, r"history\[1\] must be a"),
            ({"history": [(1.0, 2.0, 1)], "mechanism": "dpacc_rdp"},
             r"history\[0\] sample_rate must be in \[0, 1\], got 2.0"),
            ({"history": [(1.0, -0.5, 1)], "mechanism": "prv"}, r"sample_rate must be in \[0, 1\]"),
            ({"history": [(1.0, float("nan"), 1)], "mechanism": "rdp"}, "sample_rate must be in"),
            ({"history": [(0.0, 0.5, 1)], "mechanism": "rdp"},
             r"noise_multiplier must be in \(0, inf\)"),
            ({"history": [(-1.0, 0.5, 1)], "mechanism": "gdp"}, "noise_multiplier must be in"),
            ({"history": [(float("inf"), 0.5, 1)], "mechanism": "rdp"}, "noise_multiplier must be in"),
            ({"history": [("1.0", 0.5, 1)], "mechanism": "rdp"}, "noise_multiplier must be a real number"),
            ({"history": [(True, 0.5, 1)], "mechanism": "rdp"}, "noise_multiplier must be a real number"),
            ({"history": [(1.0, 0.5, 0)], "mechanism": "rdp"}, r"steps must be an integer >= 1 and <= 9007199254740992, got 0"),
            ({"history": [(1.0, 0.5, 2.5)], "mechanism": "rdp"}, "steps must be an integer >= 1"),
            ({"history": [(1.0, 0.5, True)], "mechanism": "rdp"}, "steps must be a real number"),
            ({"history": [(1.0, 0.5, None)], "mechanism": "rdp"}, "steps must be a real number")):
        with pytest.raises(ValueError, match=match):
            b.load_state_dict(bad)
        assert b.history == a.history and b.get_epsilon(1e-5) == eps    # unchanged on failure


@pytest.mark.parametrize("mechanism", ["rdp", "prv", "gdp", "dpacc", "dpacc_pld", "dpacc_rdp"])
def test_opacus_state_of_any_known_mechanism_is_carried_over(mechanism):
    # Opacus's accountants all record (σ, q, steps) of the Poisson-subsampled Gaussian.
    hist = [(1.0, 0.01, 300), (1.5, 0.02, 200), (2, 1, 3)]      # ints and q = 1 are valid
    a = PLDOpacusAccountant()
    a.load_state_dict({"history": hist, "mechanism": mechanism})
    assert a.history == [(1.0, 0.01, 300), (1.5, 0.02, 200), (2.0, 1.0, 3)]
    assert all(type(s) is float and type(q) is float and type(n) is int for s, q, n in a.history)
    assert len(a) == 503
    ref = acc.epsilon(Schedule(((SubsampledGaussian(1.0, 0.01), 300),
                                (SubsampledGaussian(1.5, 0.02), 200), (Gaussian(2.0), 3))),
                      1e-5, method="pld")
    assert a.get_epsilon(1e-5) == pytest.approx(float(ref), rel=1e-9)
    a.step(noise_multiplier=2.0, sample_rate=1.0)                # continues the history
    assert a.history[-1] == (2.0, 1.0, 4) and len(a) == 504


def test_opacus_from_opacus_sources():
    from accountant.interop.opacus import OpacusAccountant
    hist = [(1.1, 0.01, 100), (0.9, 0.02, 50)]
    sd = {"history": list(hist), "mechanism": "rdp"}
    src = SimpleNamespace(history=list(hist), mechanism=lambda: "prv")   # an accountant
    checkpoint = {"module_state_dict": {}, "privacy_accountant_state_dict": sd}
    built = [PLDOpacusAccountant.from_opacus(sd), PLDOpacusAccountant.from_opacus(src),
             PLDOpacusAccountant.from_opacus(checkpoint)]
    for a in built:
        assert type(a) is PLDOpacusAccountant and a.history == hist
        assert a.get_epsilon(1e-5) == built[0].get_epsilon(1e-5)
    r = OpacusAccountant.from_opacus(sd, method="rdp")
    assert r.accountant.method == "rdp" and r.history == hist
    assert RDPOpacusAccountant.from_opacus(sd).accountant.method == "rdp"
    # A checkpoint is not an accountant state: load_state_dict refuses it.
    with pytest.raises(ValueError, match="does not have the key `history`"):
        PLDOpacusAccountant().load_state_dict(checkpoint)
    with pytest.raises(ValueError, match="privacy_accountant_state_dict.*sample_rate"):
        PLDOpacusAccountant.from_opacus({"privacy_accountant_state_dict":
                                         {"history": [(1.0, 1.5, 1)], "mechanism": "rdp"}})
    with pytest.raises(ValueError, match="mechanism 'custom'"):
        PLDOpacusAccountant.from_opacus(SimpleNamespace(history=[], mechanism=lambda: "custom"))
    with pytest.raises(ValueError, match="source must be"):
        PLDOpacusAccountant.from_opacus(42)
    with pytest.raises(ValueError, match="cannot read"):
        PLDOpacusAccountant.from_opacus("/nonexistent/opacus_state.pt")


def test_opacus_get_privacy_spent():
    a = PLDOpacusAccountant()
    assert a.get_privacy_spent(delta=1e-5) == (0.0, None)      # no steps yet
    a.history = [(1.0, 0.01, 1000)]
    eps, order = a.get_privacy_spent(delta=1e-5)
    assert order is None and eps == a.get_epsilon(1e-5) and isinstance(eps, float)
    assert a.get_privacy_spent(delta=1e-5, alphas=[2, 4, 8]) == (eps, None)   # alphas ignored
    with pytest.raises(TypeError):
        a.get_privacy_spent(1e-5)                    # keyword-only, as in RDPAccountant
    r = RDPOpacusAccountant()
    r.history = [(1.0, 0.01, 1000)]
    eps_r, alpha = r.get_privacy_spent(delta=1e-5)
    res = r.get_epsilon_result(1e-5)
    assert eps_r == float(res) and alpha == res.details["order"]
    assert isinstance(alpha, float) and 1.0 < alpha < 256
    assert eps < eps_r                               # PLD is tighter than RDP here
    with pytest.raises(ValueError, match="delta"):
        a.get_privacy_spent(delta=0.0)


def test_opacus_adapter_does_not_import_torch():
    import subprocess
    code = ("import sys, tempfile, os, accountant, accountant.interop.opacus, accountant.cli\n"
            "a = accountant.PrivacyAccountant(); a.step(1.0, 0.01, 10)\n"
            "p = os.path.join(tempfile.mkdtemp(), 's.json'); a.save(p)\n"
            "accountant.PrivacyAccountant.load(p)\n"
            "accountant.interop.opacus.PLDOpacusAccountant.from_opacus("
            "{'history': [(1.0, 0.01, 10)], 'mechanism': 'rdp'}).get_epsilon(1e-5)\n"
            "assert 'torch' not in sys.modules and 'opacus' not in sys.modules, 'imported'\n")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert out.returncode == 0, out.stderr


def test_opacus_assigned_history_is_read():
    # opacus.accountants.utils.get_noise_multiplier assigns history directly.
    a = PLDOpacusAccountant()
    a.history = [(1.0, 0.01, 1000)]
    assert a.get_epsilon(1e-5) == float(acc.epsilon(SubsampledGaussian(1.0, 0.01), 1e-5,
                                                    steps=1000, method="pld"))
    a.history = [(2.0, 0.01, 1000)]
    assert a.get_epsilon(1e-5) < 1.0
    a.step(noise_multiplier=2.0, sample_rate=0.01)
    assert a.history == [(2.0, 0.01, 1001)] and len(a.accountant) == 1001


def test_opacus_register_needs_opacus():
    if HAS_OPACUS:
        pytest.skip("opacus installed")
    with pytest.raises(ImportError, match="opacus"):
        register()


@needs_opacus
def test_opacus_privacy_engine_uses_registered_accountant():
    names = register()
    assert set(names) == {"dpacc_pld", "dpacc_rdp"}
    assert register() == names                      # idempotent
    from opacus.accountants import create_accountant
    assert type(create_accountant("dpacc_pld")) is type(create_accountant("dpacc_pld"))
    from opacus import PrivacyEngine
    from opacus.accountants.accountant import IAccountant
    engine = PrivacyEngine(accountant="dpacc_pld")
    assert isinstance(engine.accountant, IAccountant)
    assert isinstance(engine.accountant, PLDOpacusAccountant)
    engine.accountant.step(noise_multiplier=1.0, sample_rate=0.01)
    assert engine.get_epsilon(1e-5) > 0
    from opacus.accountants.utils import get_noise_multiplier
    sigma = get_noise_multiplier(target_epsilon=3.0, target_delta=1e-5, sample_rate=0.01,
                                 steps=1000, accountant="dpacc_rdp")
    assert 0.5 < sigma < 2.0


@needs_opacus
def test_opacus_own_accountants_state_into_ours():
    import warnings
    from opacus.accountants import GaussianAccountant, PRVAccountant, RDPAccountant
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")                 # GDP's "experimental" warning
        theirs = {"rdp": RDPAccountant(), "prv": PRVAccountant(), "gdp": GaussianAccountant()}
    for name, peer in theirs.items():
        for _ in range(20):
            peer.step(noise_multiplier=1.0, sample_rate=0.05)
        if name != "gdp":                              # GDP wants a constant (σ, q)
            peer.step(noise_multiplier=1.2, sample_rate=0.05)
        sd = peer.state_dict()
        assert sd["mechanism"] == name
        ours = PLDOpacusAccountant()
        ours.load_state_dict(sd)
        assert ours.history == [tuple(h) for h in peer.history]
        assert ours.history == PLDOpacusAccountant.from_opacus(peer).history
        r = ours.get_epsilon_result(1e-5)
        assert r.certified and r.lower <= r.upper
        if name == "rdp":
            eps_rdp, alpha = peer.get_privacy_spent(delta=1e-5)
            eps, order = ours.get_privacy_spent(delta=1e-5)
            assert order is None and eps < eps_rdp            # RDP is an upper bound, looser
            assert r.lower <= eps_rdp


# ---------------------------------------------------------------------------- dp_accounting
def test_two_segment_schedule_agrees_with_dp_accounting_recorded():
    r = acc.epsilon(TWO_SEGMENTS, 1e-5, method="pld")
    ref = DPA_TWO_SEGMENTS_EPS[1e-5]
    assert abs(r.upper - ref) <= 1e-3 * ref
    assert r.lower <= ref * (1 + 1e-6)     # dp_accounting's pessimistic value is an upper bound
    d = PrivacyAccountant("pld").compose(TWO_SEGMENTS).get_delta(2.0)
    assert abs(d.upper - DPA_TWO_SEGMENTS_DELTA_AT_2) <= 1e-3 * DPA_TWO_SEGMENTS_DELTA_AT_2
    rdp = PrivacyAccountant("rdp").compose(TWO_SEGMENTS).get_epsilon(1e-5)
    assert rdp.upper <= DPA_TWO_SEGMENTS_RDP_EPS * (1 + 1e-6)   # continuous orders: not worse


@needs_dpa
def test_from_dp_event_conversions():
    from dp_accounting import dp_event as e
    from accountant.interop.dp_accounting import from_dp_event
    g = e.GaussianDpEvent(2.0)
    psg = e.PoissonSampledDpEvent(0.01, e.GaussianDpEvent(1.0))
    ev = e.ComposedDpEvent([e.SelfComposedDpEvent(psg, 500),
                            e.SelfComposedDpEvent(e.PoissonSampledDpEvent(0.02, e.GaussianDpEvent(1.5)), 300),
                            e.NoOpDpEvent()])
    assert from_dp_event(ev) == TWO_SEGMENTS
    assert from_dp_event(e.SelfComposedDpEvent(g, 3)) == Schedule(((Gaussian(2.0), 3),))
    assert from_dp_event(e.LaplaceDpEvent(2.0)) == Schedule(((Laplace(2.0), 1),))
    mog = e.MixtureOfGaussiansDpEvent(2.0, [0, 1, 2], [0.25, 0.5, 0.25])
    assert from_dp_event(mog) == Schedule(((MixtureOfGaussians(2.0, (0, 1, 2), (0.25, 0.5, 0.25)), 1),))
    # Poisson sampling of a MoG is a MoG with an extra zero shift.
    sampled = from_dp_event(e.PoissonSampledDpEvent(0.1, e.MixtureOfGaussiansDpEvent(2.0, [1.0], [1.0])))
    assert sampled == Schedule(((MixtureOfGaussians(2.0, (0.0, 1.0), (0.9, 0.1)), 1),))
    # Two Gaussians on one sample are one Gaussian at σ = (σ₁⁻² + σ₂⁻²)^{-1/2}.
    both = from_dp_event(e.PoissonSampledDpEvent(0.01, e.ComposedDpEvent([g, g])))
    assert both.segments[0][0].noise_multiplier == pytest.approx(2.0 / 2 ** 0.5, rel=1e-15)
    nested = from_dp_event(e.PoissonSampledDpEvent(0.5, e.PoissonSampledDpEvent(0.02, g)))
    assert nested.segments[0][0].sample_rate == pytest.approx(0.01, rel=1e-15)
    swor = e.SampledWithoutReplacementDpEvent(1000, 10, e.GaussianDpEvent(1.0))
    s = from_dp_event(swor, neighboring="replace_one")
    assert s == Schedule(((SubsampledGaussian(1.0, 0.01, "fixed", "replace_one"), 1),))
    with pytest.raises(ValueError, match="replace_one"):
        from_dp_event(swor)


@needs_dpa
def test_unsupported_events_name_the_event():
    from dp_accounting import dp_event as e
    from accountant.interop.dp_accounting import DpEventAccountant, from_dp_event
    for ev, name in ((e.RandomizedResponseDpEvent(0.5, 4), "RandomizedResponseDpEvent"),
                     (e.NonPrivateDpEvent(), "NonPrivateDpEvent"),     # ε = ∞: no Schedule
                     (e.PoissonSampledDpEvent(0.1, e.ZCDpEvent(0.5)), "PoissonSampledDpEvent"),
                     (e.SampledWithReplacementDpEvent(100, 10, e.GaussianDpEvent(1.0)),
                      "SampledWithReplacementDpEvent"),
                     (e.RepeatAndSelectDpEvent(e.GaussianDpEvent(1.0), 2.0, 1.0),
                      "RepeatAndSelectDpEvent"),
                     (e.ComposedDpEvent([e.GaussianDpEvent(1.0), e.UnsupportedDpEvent()]),
                      "UnsupportedDpEvent"),
                     (e.GaussianDpEvent(0.0), "GaussianDpEvent"),
                     (e.PoissonSampledDpEvent(0.1, e.GaussianDpEvent(0.0)), "noise-free")):
        with pytest.raises(ValueError, match=name):
            from_dp_event(ev)
    a = DpEventAccountant()      # randomized response is replace-one only, as in dp_accounting
    assert not a.supports(e.RandomizedResponseDpEvent(0.5, 4))
    with pytest.raises(ValueError, match="RandomizedResponseDpEvent.*replace-one"):
        a.compose(e.RandomizedResponseDpEvent(0.5, 4))
    assert len(a.accountant) == 0 and a.get_epsilon(1e-5) == 0.0
    # Degenerate events are answered (tests/test_degenerate.py), not refused.
    assert a.supports(e.NonPrivateDpEvent())


@needs_dpa
def test_drop_in_accountant_matches_recorded_values():
    from dp_accounting import dp_event as e
    from accountant.interop.dp_accounting import DpEventAccountant
    a = DpEventAccountant()
    a.compose(e.PoissonSampledDpEvent(0.01, e.GaussianDpEvent(1.0)), 500)
    a.compose(e.PoissonSampledDpEvent(0.02, e.GaussianDpEvent(1.5)), 300)
    eps = a.get_epsilon(1e-5)
    assert abs(eps - DPA_TWO_SEGMENTS_EPS[1e-4]) <= 1e-3 * DPA_TWO_SEGMENTS_EPS[1e-4]
    assert a.get_delta(2.0) == pytest.approx(DPA_TWO_SEGMENTS_DELTA_AT_2, rel=1e-3)
    assert isinstance(a.ledger, e.ComposedDpEvent)
    m = DpEventAccountant().compose(e.MixtureOfGaussiansDpEvent(2.0, [0, 1, 2], [0.25, 0.5, 0.25]), 10)
    assert m.get_epsilon(1e-5) == pytest.approx(DPA_MOG_EPS, rel=1e-3)
    lap = DpEventAccountant().compose(e.LaplaceDpEvent(2.0), 3)
    assert lap.get_epsilon(1e-5) == pytest.approx(DPA_LAPLACE_EPS, rel=1e-3)
    assert lap.get_epsilon(1e-5) <= 1.5 * (1 + 1e-3)


@needs_dpa
def test_against_live_dp_accounting():
    import dp_accounting
    from dp_accounting import dp_event as e
    from accountant.interop.dp_accounting import DpEventAccountant
    ev = e.ComposedDpEvent([e.SelfComposedDpEvent(e.PoissonSampledDpEvent(0.01, e.GaussianDpEvent(1.0)), 500),
                            e.SelfComposedDpEvent(e.PoissonSampledDpEvent(0.02, e.GaussianDpEvent(1.5)), 300)])
    peer = dp_accounting.pld.PLDAccountant(value_discretization_interval=1e-4)
    peer.compose(ev)
    ours = DpEventAccountant().compose(ev)
    assert abs(ours.get_epsilon(1e-5) - peer.get_epsilon(1e-5)) <= 1e-3 * peer.get_epsilon(1e-5)


@needs_dpa
def test_both_event_accountants_agree():
    """DpEventAccountant and the dp_accounting subclass CertifiedAccountant share one ledger:
    same numbers, same refusals (dp_accounting 0.6.0 values as above)."""
    from dp_accounting import dp_event as e
    from accountant.interop.dp_accounting import CertifiedAccountant, DpEventAccountant
    ev = e.ComposedDpEvent([e.SelfComposedDpEvent(e.PoissonSampledDpEvent(0.01, e.GaussianDpEvent(1.0)), 500),
                            e.SelfComposedDpEvent(e.PoissonSampledDpEvent(0.02, e.GaussianDpEvent(1.5)), 300)])
    for nb in ("add_remove", "replace_special"):
        plain = DpEventAccountant(neighboring=nb).compose(ev)
        sub = CertifiedAccountant(nb).compose(ev)
        assert plain.method == sub.method == "auto"
        assert plain.get_epsilon(1e-5) == sub.get_epsilon(1e-5)
        assert abs(sub.get_epsilon(1e-5) - DPA_TWO_SEGMENTS_EPS[1e-4]) <= 1e-3 * DPA_TWO_SEGMENTS_EPS[1e-4]
        dp, ds = plain.get_delta_result(2.0), sub.get_delta_result(2.0)
        assert (dp.lower, dp.upper, dp.certified) == (ds.lower, ds.upper, ds.certified)
    bad = e.SampledWithReplacementDpEvent(10, 2, e.GaussianDpEvent(1.0))
    assert not DpEventAccountant().supports(bad) and not CertifiedAccountant().supports(bad)


def test_dp_accounting_missing_gives_a_clear_import_error(monkeypatch):
    from accountant.interop import dp_accounting as adapter
    monkeypatch.setitem(sys.modules, "dp_accounting", None)
    with pytest.raises(ImportError, match="dp-accounting"):
        adapter.from_dp_event(object())


def _fake_opacus(monkeypatch, with_registry):
    """Minimal stand-ins for opacus.accountants (recent: registry; older: if-chain)."""
    import abc
    import types

    class IAccountant(abc.ABC):
        @abc.abstractmethod
        def __init__(self):
            self.history = []

    opacus = types.ModuleType("opacus")
    oa = types.ModuleType("opacus.accountants")
    acc_mod = types.ModuleType("opacus.accountants.accountant")
    acc_mod.IAccountant = IAccountant
    pe = types.ModuleType("opacus.privacy_engine")

    def create_accountant(mechanism):
        if mechanism == "rdp":
            return "opacus-rdp"
        raise ValueError(f"Unexpected accounting mechanism: {mechanism}")
    oa.create_accountant = create_accountant
    pe.create_accountant = create_accountant
    # Stand-ins for every module register() may patch, so that the real ones (when opacus is
    # installed and already imported) are never touched.
    ut = types.ModuleType("opacus.accountants.utils")
    ut.create_accountant = create_accountant
    mods = {"opacus": opacus, "opacus.accountants": oa, "opacus.accountants.accountant": acc_mod,
            "opacus.privacy_engine": pe, "opacus.accountants.utils": ut}
    table = {}
    if with_registry:
        reg = types.ModuleType("opacus.accountants.registry")

        def register_accountant(name, cls, force=False):       # as Opacus 1.6
            if name in table and not force:
                raise ValueError(f"Accountant for mechanism {name} is already registered")
            table[name] = cls

        def create_registered(name):
            if name in table:
                return table[name]()
            raise ValueError(f"Unexpected accounting mechanism: {name}")
        reg.register_accountant = register_accountant
        reg.create_accountant = create_registered
        mods["opacus.accountants.registry"] = reg
    else:
        monkeypatch.setitem(sys.modules, "opacus.accountants.registry", None)
    for name, mod in mods.items():
        monkeypatch.setitem(sys.modules, name, mod)
    return IAccountant, oa, pe, table


@pytest.mark.parametrize("with_registry", [True, False])
def test_register_with_stand_in_opacus(monkeypatch, with_registry):
    IAccountant, oa, pe, table = _fake_opacus(monkeypatch, with_registry)
    names = register()
    assert set(names) == {"dpacc_pld", "dpacc_rdp"}
    if with_registry:
        first = dict(table)
        assert register() == names                               # idempotent
        assert table == first                                    # the very same classes
        inst = table["dpacc_rdp"]()
    else:
        inst = pe.create_accountant("dpacc_rdp")
        assert oa.create_accountant("rdp") == "opacus-rdp"       # others still work
        assert register() == names                               # idempotent
        assert pe.create_accountant("rdp") == "opacus-rdp"
        assert type(pe.create_accountant("dpacc_rdp")) is type(inst)
        import opacus.accountants.utils as ut
        assert ut.create_accountant is pe.create_accountant is oa.create_accountant
    assert isinstance(inst, IAccountant) and isinstance(inst, RDPOpacusAccountant)
    inst.step(noise_multiplier=1.0, sample_rate=0.01)
    assert inst.mechanism() == "dpacc_rdp" and len(inst) == 1


def test_register_refuses_a_foreign_class_under_our_name(monkeypatch):
    IAccountant, oa, pe, table = _fake_opacus(monkeypatch, True)

    class Foreign(IAccountant):
        def __init__(self):
            self.history = []
    table["dpacc_pld"] = Foreign
    with pytest.raises(ValueError, match="'dpacc_pld' is already registered to Foreign"):
        register()


def test_state_reader_knows_our_opacus_mechanism_names():
    """The session layer's state reader lists our Opacus accountants' names without
    importing the adapter (layers); they must stay the adapter's names."""
    from accountant.interop import opacus as O
    from accountant.session.opacus_state import OUR_MECHANISMS
    assert set(OUR_MECHANISMS) == {O.OpacusAccountant._mechanism_name, *O.NAMES}
