"""Issue 16: calibration of the noise multiplier to a risk target (docs/math.md §15.8).

Closed forms for the Gaussian mechanism (q = 1, μ-GDP with μ = √T/σ, Dong–Roth–Su 2019
Cor. 3.3): TPR(α) = Φ(Φ⁻¹(α) + μ), advantage 2Φ(μ/2) − 1, δ_μ(ε) = Φ(−ε/μ + μ/2) −
e^ε Φ(−ε/μ − μ/2); the returned σ must lie in [σ*, σ*(1 + rtol)]: below σ* the certified
upper bound could not be ≤ the limit, above it the search would not be within tolerance.
"""
from __future__ import annotations

import json
import math
import warnings

import pytest
from hypothesis import given, settings, strategies as st
from scipy.optimize import brentq
from scipy.special import ndtr, ndtri

import accountant as acc
from accountant.calibration.search import Calibration, calibrate
from accountant.risk.targets import RiskTarget

RTOL = 1e-3


def _quiet(**kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", acc.AccountantWarning)
        return calibrate(**kw)


def _check_sigma(r, sigma_star, rtol=RTOL):
    s = r.noise_multiplier
    assert r.certified and r.kind == "certified"
    assert r.risk.upper <= r.target.limit
    assert s >= sigma_star * (1 - 1e-9), (s, sigma_star)
    assert s <= sigma_star * (1 + rtol) * (1 + 1e-9), (s, sigma_star)
    if r.optimality == "certified":
        # a σ proven to exceed the limit (certified lower bound) lies below the optimum
        low = r.details["certified_infeasible"]
        assert s / (1 + rtol) * (1 - 1e-12) <= low < sigma_star * (1 + 1e-9), (low, sigma_star)


# ---- closed forms (Gaussian, q = 1) -------------------------------------------------------
@pytest.mark.parametrize("T,fpr,max_tpr", [(1, 1e-3, 0.05), (4, 1e-3, 0.05), (100, 0.01, 0.2),
                                           (10, 1e-5, 0.5)])
def test_tpr_target_gaussian_closed_form(T, fpr, max_tpr):
    r = _quiet(sample_rate=1.0, steps=T, target=acc.TprTarget(fpr, max_tpr))
    sigma_star = math.sqrt(T) / (ndtri(max_tpr) - ndtri(fpr))
    _check_sigma(r, sigma_star)
    assert isinstance(r, acc.RiskCalibration) and float(r) == r.noise_multiplier


@pytest.mark.parametrize("T,adv", [(1, 0.1), (25, 0.5)])
def test_advantage_target_gaussian_closed_form(T, adv):
    r = _quiet(sample_rate=1.0, steps=T, target=acc.AdvantageTarget(adv))
    _check_sigma(r, math.sqrt(T) / (2.0 * ndtri(0.5 * (1.0 + adv))))


def _gdp_delta(mu, eps):
    return ndtr(-eps / mu + mu / 2) - math.exp(eps) * ndtr(-eps / mu - mu / 2)


@pytest.mark.parametrize("prior,succ", [(0.5, 0.6), (0.2, 0.85), (0.9, 0.93)])
def test_bayes_target_gaussian_closed_form(prior, succ):
    T = 9
    eps = abs(math.log((1 - prior) / prior))
    big, small = max(prior, 1 - prior), min(prior, 1 - prior)
    mu = brentq(lambda m: big + small * _gdp_delta(m, eps) - succ, 1e-3, 40, xtol=1e-14)
    r = _quiet(sample_rate=1.0, steps=T, target=acc.BayesTarget(prior, succ))
    _check_sigma(r, math.sqrt(T) / mu)


def test_reconstruction_target_gaussian_closed_form():
    r = _quiet(sample_rate=1.0, steps=16, target=acc.ReconstructionTarget(0.01, 0.1))
    _check_sigma(r, 4.0 / (ndtri(0.1) - ndtri(0.01)))


def test_gdp_mu_target_gaussian_closed_form():
    r = _quiet(sample_rate=1.0, steps=16, target=acc.GdpMuTarget(0.5))
    _check_sigma(r, 4.0 / 0.5)


def test_subsampled_tpr_target_is_certified_and_near_optimal():
    # q = 0.01, 100 steps: the certified bracket at the answer, and a certified-infeasible
    # neighbour within rtol below it (the search's optimality claim)
    r = _quiet(sample_rate=0.01, steps=100, target=acc.TprTarget(1e-3, 0.05))
    assert r.certified and r.risk.upper <= 0.05
    if r.optimality == "certified":
        low = r.details["certified_infeasible"]
        assert r.noise_multiplier / (1 + RTOL) <= low < r.noise_multiplier
        again = acc.tpr(acc.SubsampledGaussian(noise_multiplier=low, sample_rate=0.01), 1e-3,
                        100, rtol=1e-4)
        assert again.upper > 0.05        # really above the limit there
    d = json.loads(json.dumps(r.as_dict()))
    assert d["target"] == "TPR <= 0.05 at FPR 0.001" and d["kind"] == "certified"
    assert "certified upper bound" in str(r)


# ---- the property: never a σ whose certified risk exceeds the target ------------------
@settings(max_examples=15, deadline=None)
@given(q=st.sampled_from([0.02, 0.1, 0.5, 1.0]), steps=st.integers(1, 12),
       fpr=st.sampled_from([1e-4, 1e-3, 1e-2]), excess=st.floats(0.5, 30.0))
def test_tpr_calibration_never_exceeds_the_target(q, steps, fpr, excess):
    max_tpr = min(fpr * (1.0 + excess), 0.9)
    try:
        r = _quiet(sample_rate=q, steps=steps, target=acc.TprTarget(fpr, max_tpr), rtol=1e-2)
    except ValueError as exc:
        # a limit that even the smallest σ meets (subsampling caps TPR ≤ α + q(1 − α)):
        # the refusal must be true
        assert "so loose" in str(exc)
        m = acc.SubsampledGaussian(noise_multiplier=0.1, sample_rate=q)
        assert acc.tpr(m, fpr, steps, rtol=1e-2).upper <= max_tpr
        return
    assert r.certified and r.risk.upper <= max_tpr
    # an independent reading at the returned σ: its lower bound cannot exceed the true
    # TPR, which the calibration proved ≤ the limit
    m = acc.SubsampledGaussian(noise_multiplier=r.noise_multiplier, sample_rate=q)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", acc.AccountantWarning)
        again = acc.tpr(m, fpr, steps, rtol=1e-2)
    assert again.lower <= max_tpr


_KINDS = st.sampled_from(["adv", "bayes", "recon", "mu"])


@settings(max_examples=12, deadline=None)
@given(kind=_KINDS, q=st.sampled_from([0.05, 0.3, 1.0]), steps=st.integers(1, 8),
       level=st.floats(0.05, 0.6))
def test_other_targets_never_exceed_the_limit(kind, q, steps, level):
    target = {"adv": lambda: acc.AdvantageTarget(level),
              "bayes": lambda: acc.BayesTarget(0.3, 0.7 + 0.3 * level),
              "recon": lambda: acc.ReconstructionTarget(0.01, 0.01 + level),
              "mu": lambda: acc.GdpMuTarget(0.5 + 2 * level)}[kind]()
    try:
        r = _quiet(sample_rate=q, steps=steps, target=target, rtol=1e-2)
    except ValueError as exc:
        assert "so loose" in str(exc) and q < 1.0    # subsampling alone meets the limit
        return
    assert r.certified and r.risk.upper <= target.limit
    assert r.risk.lower >= target.floor * (1 - 1e-12)


def test_user_level_and_schedules_reuse_the_epsilon_mechanisms():
    r = _quiet(sample_rate=0.05, steps=5, sampling="els", examples_per_user=2,
               target=acc.AdvantageTarget(0.2))
    m = acc.ELS(noise_multiplier=r.noise_multiplier, sample_rate=0.05,
                max_examples_per_user=2)
    assert r.risk.upper <= 0.2
    assert acc.advantage(m, 5).lower <= 0.2
    sched = acc.Schedule(((acc.Gaussian(noise_multiplier=1.0), 2),
                          (acc.Gaussian(noise_multiplier=2.0), 2)))
    r = _quiet(schedule=sched, target=acc.GdpMuTarget(1.0))
    # μ² = 2/c² + 2/(2c)² = 2.5/c² ⇒ c* = √2.5
    _check_sigma(r, math.sqrt(2.5))
    assert r.schedule.segments[0][0].noise_multiplier == r.noise_multiplier


def test_estimate_methods_say_so():
    r = _quiet(sample_rate=0.1, steps=50, method="edgeworth",
               target=acc.TprTarget(1e-2, 0.1))
    assert not r.certified and r.kind == "estimate"
    assert r.risk.estimate <= 0.1
    with pytest.raises(ValueError, match="estimate"):
        r.certified_risk
    assert "ESTIMATE" in str(r)


# ---- bad input -------------------------------------------------------------------------
@pytest.mark.parametrize("make,name", [
    (lambda: acc.TprTarget(1e-3, 1e-3), "max_tpr"),
    (lambda: acc.TprTarget(0.1, 0.05), "max_tpr"),
    (lambda: acc.TprTarget(0.0, 0.5), "fpr"),
    (lambda: acc.TprTarget(0.1, 1.0), "max_tpr"),
    (lambda: acc.AdvantageTarget(0.0), "max_advantage"),
    (lambda: acc.AdvantageTarget(1.0), "max_advantage"),
    (lambda: acc.AdvantageTarget(float("nan")), "max_advantage"),
    (lambda: acc.BayesTarget(0.3, 0.7), "max_success"),
    (lambda: acc.BayesTarget(1.0, 0.9), "prior"),
    (lambda: acc.ReconstructionTarget(0.1, 0.05), "max_success"),
    (lambda: acc.GdpMuTarget(0.0), "max_mu"),
    (lambda: acc.GdpMuTarget(float("inf")), "max_mu"),
    (lambda: acc.GdpMuTarget(1.0, alpha_min=0.6), "alpha_min"),
])
def test_bad_targets_name_the_field(make, name):
    with pytest.raises(ValueError, match=name):
        make()


def test_calibrate_takes_exactly_one_kind_of_target():
    t = acc.TprTarget(1e-3, 0.05)
    with pytest.raises(ValueError, match="not both"):
        calibrate(1.0, 1e-5, 1.0, 4, target=t)
    with pytest.raises(ValueError, match="target_epsilon"):
        calibrate(sample_rate=1.0, steps=4)
    with pytest.raises(ValueError, match="target must be a risk target"):
        calibrate(sample_rate=1.0, steps=4, target=0.05)
    # the existing positional calls keep their meaning
    r = calibrate(1.0, 1e-5, 1.0, 4)
    assert isinstance(r, Calibration) and r.epsilon <= 1.0


def test_unreachable_within_sigma_range():
    with pytest.raises(ValueError, match="noise_multiplier above"):
        _quiet(sample_rate=1.0, steps=1, target=acc.TprTarget(1e-3, 0.0011),
               sigma_range=(0.1, 10.0))
    with pytest.raises(ValueError, match="below"):
        _quiet(sample_rate=1.0, steps=1, target=acc.AdvantageTarget(0.99),
               sigma_range=(1.0, 10.0))


def test_targets_describe_and_validate():
    assert acc.TprTarget(1e-3, 0.05).describe() == "TPR <= 0.05 at FPR 0.001"
    t = acc.BayesTarget(0.2, 0.9)
    assert t.floor == 0.8 and t.limit == 0.9 and isinstance(t, RiskTarget)
    assert acc.GdpMuTarget(2).max_mu == 2.0


# ---- CLI -------------------------------------------------------------------------------
def test_cli_risk_targets(capsys):
    from accountant.cli import main
    assert main(["calibrate", "--target-tpr", "1e-3:0.05", "--sample-rate", "1", "--steps",
                 "4", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    sigma_star = 2.0 / (ndtri(0.05) - ndtri(1e-3))
    assert d["certified"] and d["risk"]["upper"] <= 0.05
    assert sigma_star <= d["noise_multiplier"] <= sigma_star * (1 + RTOL)
    assert main(["calibrate", "--target-advantage", "0.1", "--sample-rate", "1", "--steps",
                 "4"]) == 0
    assert "certified upper bound" in capsys.readouterr().out
    for bad in (["--target-tpr", "abc"], ["--target-tpr", "1e-3:1e-4"],
                ["--target-tpr", "1e-3:0.05", "--epsilon", "1"],
                ["--target-advantage", "0"]):
        assert main(["calibrate", *bad, "--sample-rate", "1", "--steps", "4"]) == 2
        cap = capsys.readouterr()
        assert cap.out == "" and len(cap.err.strip().splitlines()) == 1
