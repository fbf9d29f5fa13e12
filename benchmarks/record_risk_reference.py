"""Runs the peers (riskcal, gdpnum, dp_accounting) once and writes their risk numbers to
``tests/data/risk_reference.json``, each with its source and the CPU seconds of the call.

    /tmp/peer_venv_risk/bin/python benchmarks/record_risk_reference.py [--out PATH]

Needs riskcal==1.5.1, gdpnum==0.1.2 and dp-accounting==0.6.0 (the ``bench`` extra), in a
venv of their own: the library never imports them. dp_accounting's TPR method is on its
main branch only, so it is run through this project's reproduction
(``benchmarks/_tpr_profile.py``) on 0.6.0's PLD; its own published test values are copied
as numbers, with the commit and line they come from. Definitions: ``benchmarks/RISK_PEERS.md``.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings
from importlib import metadata

import numpy as np
from scipy import stats

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

from _tpr_profile import gdp_estimate_from_profile, tpr_upper_from_profile  # noqa: E402

#: The DP-SGD case of gdpnum's README (σ, q, T).
GDPNUM_CASE = (9.4, 0.328, 2000)
#: DP-SGD on MNIST: σ = 1.1, batch 256 of 60000, 60 epochs → 60·60000/256 = 14062 steps.
MNIST_CASE = (1.1, 256 / 60000, 14062)
ALPHAS = [1e-5, 1e-4, 1e-3, 1e-2, 0.05, 0.1, 0.2, 0.3, 0.5]

#: dp_accounting main, python/dp_accounting/dp_accounting/pld/privacy_loss_distribution_test.py
#: lines 1349-1369 (commit b5b0286e313b64a692abfc8c528d54ef47d960a0, test
#: ``test_gaussian_tpr_at_extreme_fpr``): Gaussian σ = 1, sensitivity 1 (μ = 1), PLD at
#: value_discretization_interval 1e-2, default δ grid; asserted to within 1e-3·tpr.
DPA_TEST_COMMIT = "b5b0286e313b64a692abfc8c528d54ef47d960a0"
DPA_TEST_VALUES = [(1e-3, 0.01830), (1e-4, 0.003274), (1e-5, 0.0005475), (1e-6, 8.7218e-5),
                   (1e-7, 1.3385e-5), (1e-8, 1.99405e-6), (1e-9, 2.8993e-7), (1e-10, 4.1303e-8)]


def _timed(fn):
    t0 = time.process_time()
    out = fn()
    return out, time.process_time() - t0


def _versions():
    return {p: metadata.version(p) for p in ("riskcal", "gdpnum", "dp-accounting", "numpy",
                                             "scipy")}


def _pld(sigma, q, steps, grid=1e-4):
    from dp_accounting.pld import privacy_loss_distribution as pldm
    return pldm.from_gaussian_mechanism(standard_deviation=sigma, sampling_prob=q,
                                        use_connect_dots=True,
                                        value_discretization_interval=grid).self_compose(steps)


def _riskcal_branch(pld):
    """Which of riskcal's two symmetrisations applies to this PLD (see RISK_PEERS.md (a))."""
    from riskcal.analysis import pld_to_plrvs
    p = pld_to_plrvs(pld)
    if p.is_symmetric:
        return "symmetric PLD: no symmetrisation"
    a_bar = float(np.sum(p.pmf_X[-p.x0 + 1:]))
    f_bar = float(np.sum(p.pmf_Y[: -p.y0 + 1]))
    kind = "convex hull (alpha_bar <= f(alpha_bar))" if a_bar <= f_bar else \
        "pointwise max of f and its inverse (alpha_bar > f(alpha_bar))"
    return f"{kind}; alpha_bar={a_bar:.6g}, f(alpha_bar)={f_bar:.6g}"


def _gdpnum(case, **extra):
    import gdpnum
    sigma, q, steps = case
    (mu, regret), sec = _timed(lambda: gdpnum.dpsgd.get_mu_and_regret_for_dpsgd(
        noise_multiplier=sigma, sample_rate=q, num_steps=steps))
    return {
        "mechanism": {"kind": "SubsampledGaussian", "noise_multiplier": sigma,
                      "sample_rate": q, "steps": steps, "neighboring": "add_remove"},
        "mu": float(mu), "regret": float(regret), "cpu_seconds": sec, **extra}


def gdpnum_case():
    return _gdpnum(
        GDPNUM_CASE, readme_mu=1.5685621993129137, readme_regret=0.0010208130697719753,
        source="gdpnum 0.1.2 (dp-accounting 0.6.0): gdpnum.dpsgd.get_mu_and_regret_for_dpsgd("
               "noise_multiplier=9.4, sample_rate=0.328, num_steps=2000) at its defaults "
               "grid_step=1e-4, err=1e-10; readme_* are the values printed in gdpnum's README")


def gdpnum_mnist_case():
    return _gdpnum(
        MNIST_CASE,
        source="gdpnum 0.1.2 (dp-accounting 0.6.0): gdpnum.dpsgd.get_mu_and_regret_for_dpsgd("
               "noise_multiplier=1.1, sample_rate=256/60000, num_steps=14062) at its defaults")


def riskcal_beta_case():
    from riskcal.calibration.dpsgd import get_beta_for_dpsgd
    sigma, q, steps = GDPNUM_CASE
    beta, sec = _timed(lambda: get_beta_for_dpsgd(sigma, q, steps, alpha=np.array(ALPHAS)))
    b3, sec3 = _timed(lambda: get_beta_for_dpsgd(sigma, q, steps, alpha=1e-3))
    return {
        "mechanism": {"kind": "SubsampledGaussian", "noise_multiplier": sigma,
                      "sample_rate": q, "steps": steps, "neighboring": "add_remove"},
        "alpha": ALPHAS, "beta": [float(b) for b in beta], "cpu_seconds": sec,
        "tpr_at_fpr_1e-3": 1.0 - float(b3), "tpr_cpu_seconds": sec3,
        "symmetrisation": _riskcal_branch(_pld(sigma, q, steps)),
        "source": "riskcal 1.5.1 (dp-accounting 0.6.0): riskcal.calibration.dpsgd."
                  "get_beta_for_dpsgd(9.4, 0.328, 2000, alpha=...) at its default "
                  "grid_step=1e-4; tpr = 1 - beta",
    }


def dpa_gaussian_case():
    from dp_accounting.pld import privacy_loss_distribution as pldm
    pld = pldm.from_gaussian_mechanism(standard_deviation=1.0, sensitivity=1.0,
                                       value_discretization_interval=1e-2)
    fprs = np.array([f for f, _ in DPA_TEST_VALUES])
    ours, sec = _timed(lambda: tpr_upper_from_profile(pld.get_epsilon_for_delta, fprs))
    exact = stats.norm.cdf(stats.norm.ppf(fprs) + 1.0)
    return {
        "mechanism": {"kind": "Gaussian", "noise_multiplier": 1.0, "steps": 1},
        "fpr": fprs.tolist(),
        "tpr_published": [t for _, t in DPA_TEST_VALUES],
        "tpr_reproduction": ours.tolist(), "reproduction_cpu_seconds": sec,
        "tpr_exact": exact.tolist(),
        "source": "published: dp_accounting main "
                  f"{DPA_TEST_COMMIT[:12]} python/dp_accounting/dp_accounting/pld/"
                  "privacy_loss_distribution_test.py:1349-1369 (test_gaussian_tpr_at_extreme_fpr, "
                  "tolerance 1e-3*tpr); reproduction: benchmarks/_tpr_profile.py on "
                  "dp-accounting 0.6.0 from_gaussian_mechanism(1.0, sensitivity=1.0, "
                  "value_discretization_interval=1e-2); exact: Phi(Phi^-1(fpr) + 1) (scipy)",
    }


def dpa_readme_case():
    sigma, q, steps = GDPNUM_CASE
    pld, sec_pld = _timed(lambda: _pld(sigma, q, steps))
    tpr, sec_tpr = _timed(lambda: tpr_upper_from_profile(pld.get_epsilon_for_delta, 1e-3))
    mu, sec_mu = _timed(lambda: gdp_estimate_from_profile(pld.get_epsilon_for_delta))
    return {
        "mechanism": {"kind": "SubsampledGaussian", "noise_multiplier": sigma,
                      "sample_rate": q, "steps": steps, "neighboring": "add_remove"},
        "fpr": 1e-3, "tpr_reproduction": float(tpr[0]),
        "tpr_cpu_seconds": sec_pld + sec_tpr,
        "gdp_mu_estimate_reproduction": mu, "gdp_cpu_seconds": sec_pld + sec_mu,
        "source": "benchmarks/_tpr_profile.py (reproductions of dp_accounting main's "
                  "get_true_positive_rates and get_gdp_parameter_estimate at their default "
                  "grids) on dp-accounting 0.6.0 from_gaussian_mechanism(9.4, "
                  "sampling_prob=0.328, value_discretization_interval=1e-4).self_compose(2000)",
    }


def riskcal_advantage_case():
    from riskcal.analysis import get_advantage_from_pld, get_bayes_risk_from_pld
    priors = [0.5, 0.9, 0.99]
    out = {}
    for name, (sigma, q, steps) in (("readme", GDPNUM_CASE), ("mnist", MNIST_CASE)):
        pld, sec_pld = _timed(lambda: _pld(sigma, q, steps))
        adv, sec_adv = _timed(lambda: float(get_advantage_from_pld(pld)))
        risk, sec_risk = _timed(lambda: [float(x) for x in
                                         get_bayes_risk_from_pld(pld, np.array(priors))])
        out[name] = {"mechanism": {"kind": "SubsampledGaussian", "noise_multiplier": sigma,
                                   "sample_rate": q, "steps": steps,
                                   "neighboring": "add_remove"},
                     "advantage": adv, "advantage_cpu_seconds": sec_pld + sec_adv,
                     "prior": priors, "bayes_risk": risk,
                     "bayes_risk_cpu_seconds": sec_pld + sec_risk}
    out["source"] = ("riskcal 1.5.1: riskcal.analysis.get_advantage_from_pld(pld) (= the PLD's "
                     "delta at epsilon 0) and get_bayes_risk_from_pld(pld, prior) (= (1 - prior)"
                     "(1 - delta(log(prior/(1-prior)))), the best attack's error probability) "
                     "on dp-accounting 0.6.0 from_gaussian_mechanism(sigma, sampling_prob=q, "
                     "value_discretization_interval=1e-4).self_compose(T)")
    return out


def riskcal_calibration_case():
    from riskcal.calibration.dpsgd import (find_noise_multiplier_for_advantage,
                                           find_noise_multiplier_for_err_rates,
                                           get_advantage_for_dpsgd, get_beta_for_dpsgd)
    q, steps = 0.01, 1000
    s_er, sec_er = _timed(lambda: find_noise_multiplier_for_err_rates(
        alpha=0.01, beta=0.9, sample_rate=q, num_steps=steps))
    s_ad, sec_ad = _timed(lambda: find_noise_multiplier_for_advantage(
        advantage=0.1, sample_rate=q, num_steps=steps))
    return {
        "sample_rate": q, "steps": steps,
        "err_rates": {"target_alpha": 0.01, "target_beta": 0.9, "noise_multiplier": s_er,
                      "beta_at_result": float(get_beta_for_dpsgd(s_er, q, steps, alpha=0.01)),
                      "cpu_seconds": sec_er},
        "advantage": {"target": 0.1, "noise_multiplier": s_ad,
                      "advantage_at_result": float(get_advantage_for_dpsgd(s_ad, q, steps)),
                      "cpu_seconds": sec_ad},
        "source": "riskcal 1.5.1: riskcal.calibration.dpsgd.find_noise_multiplier_for_err_rates("
                  "alpha=0.01, beta=0.9, sample_rate=0.01, num_steps=1000) and "
                  "find_noise_multiplier_for_advantage(advantage=0.1, ...) at their defaults "
                  "(grid_step 1e-4, tolerances 1e-3); *_at_result re-evaluated by riskcal",
    }


def mnist_case():
    from riskcal.calibration.dpsgd import get_beta_for_dpsgd
    sigma, q, steps = MNIST_CASE
    fprs = np.array([1e-5, 1e-3])
    pld, sec_pld = _timed(lambda: _pld(sigma, q, steps))
    tpr, sec_tpr = _timed(lambda: tpr_upper_from_profile(pld.get_epsilon_for_delta, fprs))
    eps = float(pld.get_epsilon_for_delta(1e-5))
    beta, sec_rc = _timed(lambda: get_beta_for_dpsgd(sigma, q, steps, alpha=fprs))
    return {
        "mechanism": {"kind": "SubsampledGaussian", "noise_multiplier": sigma,
                      "sample_rate": q, "steps": steps, "neighboring": "add_remove"},
        "delta": 1e-5, "epsilon_dp_accounting": eps,
        "fpr": fprs.tolist(),
        "tpr_dp_accounting_reproduction": tpr.tolist(),
        "dp_accounting_cpu_seconds": sec_pld + sec_tpr,
        "dp_accounting_cpu_seconds_pld": sec_pld,
        "tpr_riskcal": [1.0 - float(b) for b in beta], "riskcal_cpu_seconds": sec_rc,
        "riskcal_symmetrisation": _riskcal_branch(pld),
        "source": "dp_accounting: benchmarks/_tpr_profile.py (reproduction of main's "
                  "get_true_positive_rates, default delta grid) on dp-accounting 0.6.0 "
                  "from_gaussian_mechanism(1.1, sampling_prob=256/60000, "
                  "value_discretization_interval=1e-4).self_compose(14062); riskcal 1.5.1: "
                  "get_beta_for_dpsgd(1.1, 256/60000, 14062, alpha=fpr), tpr = 1 - beta",
    }


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", default=os.path.join(HERE, "..", "tests", "data",
                                                  "risk_reference.json"))
    ap.add_argument("--only", default=None,
                    help="comma-separated case names to (re)run, merged into the existing file")
    args = ap.parse_args(argv)
    warnings.simplefilter("ignore")
    cases = [("gdpnum_dpsgd", gdpnum_case), ("gdpnum_mnist", gdpnum_mnist_case),
             ("riskcal_dpsgd_beta", riskcal_beta_case),
             ("dp_accounting_dpsgd_readme", dpa_readme_case),
             ("dp_accounting_gaussian_tpr", dpa_gaussian_case),
             ("mnist_dpsgd_tpr", mnist_case), ("riskcal_advantage", riskcal_advantage_case),
             ("riskcal_calibration", riskcal_calibration_case)]
    old = {}
    if args.only:
        with open(args.out) as fh:
            old = json.load(fh)
        wanted = set(args.only.split(","))
        cases = [c for c in cases if c[0] in wanted]
    out = {"_about": "Peers' risk numbers (benchmarks/record_risk_reference.py; definitions in "
                     "benchmarks/RISK_PEERS.md). cpu_seconds: time.process_time of the call, "
                     "2-core machine, one run.",
           "versions": _versions()}
    out = {**old, **out}
    for name, fn in cases:
        print(f"running {name} ...", flush=True)
        out[name] = fn()
        print(json.dumps(out[name], indent=1), flush=True)
    with open(args.out, "w") as fh:
        json.dump(out, fh, indent=1)
        fh.write("\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
