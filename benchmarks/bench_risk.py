"""What ε means, side by side: our certified trade-off curve, TPR at FPR and μ-GDP fit
(``acc.tradeoff``, ``acc.tpr``, ``acc.gdp_fit``) vs riskcal 1.5.1, dp_accounting's TPR-at-FPR
method (main branch, after 0.6.0) and gdpnum 0.1.2, in one process.

    python benchmarks/bench_risk.py [--runs 3] [--quick] [--wall]

Each line gives the peer's value, our bracket, where the peer's value lies (``inside``,
``above`` or ``below`` our proven bracket) and the time ratio. For a TPR, ``below`` means
the peer understates the attacker; for a type-II error β, ``above`` does. Times are CPU
seconds of this process (time.process_time; ``--wall`` for wall-clock), the median of
``--runs`` runs for ours (our caches are cleared before each run) and one run for a peer
call longer than a second.

Peers are optional (``pip install -e '.[bench]'``, in a venv of their own: the library never
imports them) and each is skipped with a message when absent. dp_accounting 0.6.0 has no TPR
method: it is run through this project's reproduction ``benchmarks/_tpr_profile.py`` on
0.6.0's PLD, and its published test values are read from ``tests/data/risk_reference.json``.
``--quick`` skips the slow peer runs (each run of the reproduction takes 60-75 s: it calls
dp_accounting's ``get_epsilon_for_delta`` once per δ of its 3001-point grid; the riskcal
discretisation sweeps take ~10 s) and prints their recorded values instead, marked
"recorded". Definitions of every peer quantity: ``benchmarks/RISK_PEERS.md``.

Equal accuracy: riskcal and gdpnum have one accuracy knob (the PLD discretisation
``grid_step``) and no error bar. When a peer's value lies inside our bracket its error is
at most our width, so its run already is at least as accurate as ours; the sweep then looks
for the coarsest ``grid_step`` that stays inside (the time at equal accuracy). When it lies
outside at every grid_step tried, equal accuracy is not reachable and the line says so.
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings

import numpy as np
from scipy import stats

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, ".."))
sys.path.insert(0, HERE)

import accountant as acc  # noqa: E402
from accountant.interop.comparison import clear_caches  # noqa: E402
from _tpr_profile import gdp_estimate_from_profile, tpr_upper_from_profile  # noqa: E402
from _peers import median_time  # noqa: E402

_CLOCK = time.process_time
REFERENCE = os.path.join(HERE, "..", "tests", "data", "risk_reference.json")

#: DP-SGD of gdpnum's README; DP-SGD on MNIST (batch 256 of 60000, 60 epochs).
README = (9.4, 0.328, 2000)
MNIST = (1.1, 256 / 60000, 14062)
ALPHAS = [1e-5, 1e-4, 1e-3, 1e-2, 0.05, 0.1, 0.2, 0.3, 0.5]
#: riskcal/gdpnum grid_step values tried for equal accuracy, coarse to fine (1e-4 = default).
SWEEP = [1e-3, 3e-4, 1e-4, 3e-5]


def _median_time(fn, runs):
    return median_time(fn, runs, _CLOCK)     # _CLOCK is read at call time (--wall)


def _ours(fn, runs):
    def run():
        clear_caches()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return fn()
    run()  # numba's compiled code loads once per process
    return _median_time(run, runs)


def _peer(fn):
    """One run (peers' calls here take up to a minute), warnings off."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return _median_time(fn, 1)


def where(value, lower, upper):
    """Position of a peer's value against our proven bracket."""
    if value < lower:
        return "below"
    if value > upper:
        return "above"
    return "inside"


def _fmt_ratio(t_peer, t_ours):
    if t_ours <= 0:
        return "n/a"
    r = t_peer / t_ours
    return f"peer/ours {r:.2g}×"


def mu_floor(fpr, tpr_lower):
    """The smallest μ that a μ-GDP claim can have given a proven TPR lower bound at ``fpr``:
    μ-GDP caps the TPR at Φ(μ − Φ⁻¹(1 − α)), so μ ≥ Φ⁻¹(1 − α) + Φ⁻¹(TPR)."""
    return float(stats.norm.isf(fpr) + stats.norm.ppf(tpr_lower))


def _have(module):
    try:
        __import__(module)
        return True
    except ImportError:
        return False


def _dpa_pld(sigma, q, steps, grid=1e-4):
    from dp_accounting.pld import privacy_loss_distribution as pldm
    return pldm.from_gaussian_mechanism(standard_deviation=sigma, sampling_prob=q,
                                        use_connect_dots=True,
                                        value_discretization_interval=grid).self_compose(steps)


def _riskcal_beta(sigma, q, steps, alphas, grid=1e-4):
    from riskcal.calibration.dpsgd import get_beta_for_dpsgd
    return np.atleast_1d(get_beta_for_dpsgd(sigma, q, steps, alpha=np.asarray(alphas),
                                            grid_step=grid))


def _riskcal_sweep(sigma, q, steps, alphas, beta_lo, beta_hi, label):
    """Coarsest riskcal grid_step whose β lies inside our bracket at every α."""
    rows = []
    for g in SWEEP:
        t, b = _peer(lambda g=g: _riskcal_beta(sigma, q, steps, alphas, g))
        inside = bool(np.all((b >= beta_lo) & (b <= beta_hi)))
        rows.append((g, t, inside, b))
        out = [f"{a:g}" for a, x, lo, hi in zip(alphas, b, beta_lo, beta_hi)
               if not lo <= x <= hi]
        verdict = "all inside" if inside else "outside at α=" + ",".join(out)
        print(f"  riskcal grid_step={g:g}: {t:7.3f} s, {verdict}")
    ok = [r for r in rows if r[2]]
    if ok:
        g, t, _, _ = ok[0]
        print(f"  {label}: equal accuracy at grid_step={g:g} ({t:.3f} s)")
        return t
    print(f"  {label}: equal accuracy not reachable — riskcal is outside our bracket at every "
          f"grid_step tried ({', '.join(f'{g:g}' for g in SWEEP)})")
    return None


def case_readme(args, ref):
    sigma, q, steps = README
    mech = acc.SubsampledGaussian(sigma, q)
    print(f"== DP-SGD σ={sigma}, q={q}, T={steps} (gdpnum README) ==")
    t_c, curve = _ours(lambda: acc.tradeoff(mech, steps, alphas=ALPHAS), args.runs)
    print(f"ours acc.tradeoff, 9 α: {t_c:.3f} s ({curve.method}, "
          f"{'certified' if curve.certified else 'estimate'})")
    if _have("riskcal"):
        t_r, beta = _peer(lambda: _riskcal_beta(sigma, q, steps, ALPHAS))
        src = "riskcal 1.5.1 get_beta_for_dpsgd, grid_step 1e-4"
    else:
        t_r, beta = None, np.array(ref["riskcal_dpsgd_beta"]["beta"])
        src = "riskcal not installed: recorded values"
    print(f"  α         β ours [lower, upper]          β riskcal     ({src})")
    for a, lo, hi, b in zip(curve.alpha, curve.beta_lower, curve.beta_upper, beta):
        print(f"  {a:<8g}  [{lo:.7f}, {hi:.7f}]  {b:.7f}  {where(b, lo, hi)}")
    if t_r is not None:
        print(f"  time: riskcal {t_r:.3f} s vs ours {t_c:.3f} s ({_fmt_ratio(t_r, t_c)})")
        if not args.quick:
            t_eq = _riskcal_sweep(sigma, q, steps, ALPHAS, curve.beta_lower, curve.beta_upper,
                                  "riskcal β(α)")
            if t_eq is not None:
                print(f"  at equal accuracy: {_fmt_ratio(t_eq, t_c)}")

    fpr = 1e-3
    t_t, r = _ours(lambda: acc.tpr(mech, fpr, steps), args.runs)
    print(f"TPR at FPR {fpr:g}: ours [{r.lower:.7f}, {r.upper:.7f}] {t_t:.3f} s "
          f"(so μ ≥ {mu_floor(fpr, r.lower):.6f} for any μ-GDP claim)")
    if _have("riskcal"):
        t_r, b = _peer(lambda: _riskcal_beta(sigma, q, steps, [fpr]))
        v = 1.0 - float(b[0])
        print(f"  riskcal       {v:.7f}  {where(v, r.lower, r.upper)}  {t_r:.3f} s "
              f"({_fmt_ratio(t_r, t_t)})")
        if not args.quick:
            t_eq = _riskcal_sweep(sigma, q, steps, [fpr], np.array([1.0 - r.upper]),
                                  np.array([1.0 - r.lower]), "riskcal TPR(1e-3)")
            if t_eq is not None:
                print(f"  at equal accuracy: {_fmt_ratio(t_eq, t_t)}")
    rec = ref.get("dp_accounting_dpsgd_readme", {})
    if _have("dp_accounting") and not args.quick:
        def dpa():
            pld = _dpa_pld(sigma, q, steps)
            return float(tpr_upper_from_profile(pld.get_epsilon_for_delta, fpr)[0])
        t_d, v = _peer(dpa)
        tag = f"{t_d:.1f} s ({_fmt_ratio(t_d, t_t)})"
    else:
        v, tag = rec.get("tpr_reproduction"), "recorded"
    if v is not None:
        print(f"  dp_accounting {v:.7f}  {where(v, r.lower, r.upper)}  {tag} (reproduction of "
              "main's get_true_positive_rates: one get_epsilon_for_delta per δ, 3001 calls)")

    print("μ-GDP fit:")
    floors_at = [1e-2, 1e-4, 1e-6, 1e-8, 1e-10, 1e-12, 1e-15]
    t_f, fc = _ours(lambda: acc.tradeoff(mech, steps, alphas=floors_at, rtol=1e-3), 1)
    print("  μ that our certified curve forces, Φ⁻¹(1−α) + Φ⁻¹(β_upper(α)), by α "
          f"({t_f:.2f} s): " + ", ".join(
              f"{a:g}: {mu_floor(a, 1.0 - bu):.5f}" for a, bu in zip(fc.alpha, fc.beta_upper)))
    g = ref["gdpnum_dpsgd"]
    if hasattr(acc, "gdp_fit"):
        t_g, gf = _ours(lambda: acc.gdp_fit(mech, steps), args.runs)
        fit = gf.mu
        print(f"  ours acc.gdp_fit (α ≥ {gf.alpha_min:g}): μ [{fit.lower:.6f}, {fit.upper:.6f}] "
              f"regret [{gf.regret.lower:.6g}, {gf.regret.upper:.6g}]  {t_g:.3f} s")
    else:
        t_g, fit = None, None
        print("  ours: acc.gdp_fit is not in this checkout")
    if _have("gdpnum"):
        import gdpnum
        t_n, (mu, regret) = _peer(lambda: gdpnum.dpsgd.get_mu_and_regret_for_dpsgd(
            noise_multiplier=sigma, sample_rate=q, num_steps=steps))
        pos = f"  μ {where(mu, fit.lower, fit.upper)}" if fit is not None else ""
        if fit is not None:
            pos += f", regret {where(regret, gf.regret.lower, gf.regret.upper)}"
        rat = f" ({_fmt_ratio(t_n, t_g)})" if t_g else ""
        print(f"  gdpnum μ {mu:.6f} regret {regret:.6g}{pos}  {t_n:.3f} s{rat}")
    else:
        print(f"  gdpnum not installed: recorded μ {g['mu']:.6f} regret {g['regret']:.6g}")
    if _have("dp_accounting") and not args.quick:
        def est():
            pld = _dpa_pld(sigma, q, steps)
            return gdp_estimate_from_profile(pld.get_epsilon_for_delta)
        t_e, mu_e = _peer(est)
        tag = f"{t_e:.1f} s"
    else:
        mu_e, tag = rec.get("gdp_mu_estimate_reproduction"), "recorded"
    if mu_e is not None:
        pos = f"  {where(mu_e, fit.lower, fit.upper)}" if fit is not None else ""
        print(f"  dp_accounting μ estimate {mu_e:.6f}{pos}  {tag} (reproduction of main's "
              "get_gdp_parameter_estimate; neither bound by its own account)")


def case_mnist(args, ref):
    sigma, q, steps = MNIST
    mech = acc.SubsampledGaussian(sigma, q)
    rec = ref["mnist_dpsgd_tpr"]
    print(f"== DP-SGD MNIST σ={sigma}, q=256/60000, T={steps} ==")
    if _have("dp_accounting") and not args.quick:
        # One δ sweep answers every FPR: run it once, for both.
        def dpa():
            pld = _dpa_pld(sigma, q, steps)
            return tpr_upper_from_profile(pld.get_epsilon_for_delta, rec["fpr"])
        t_d, dpa_tpr = _peer(dpa)
        dpa_tag = f"{t_d:.1f} s for both FPRs"
    else:
        dpa_tpr, dpa_tag = rec["tpr_dp_accounting_reproduction"], "recorded"
    floors = []
    for i, fpr in enumerate(rec["fpr"]):
        t_t, r = _ours(lambda: acc.tpr(mech, fpr, steps), args.runs)
        print(f"TPR at FPR {fpr:g}: ours [{r.lower:.6e}, {r.upper:.6e}] {t_t:.3f} s "
              f"(so μ ≥ {mu_floor(fpr, r.lower):.6f} for any μ-GDP claim)")
        floors.append(mu_floor(fpr, r.lower))
        if _have("riskcal"):
            t_r, b = _peer(lambda: _riskcal_beta(sigma, q, steps, [fpr]))
            v, tag = 1.0 - float(b[0]), f"{t_r:.3f} s ({_fmt_ratio(t_r, t_t)})"
        else:
            v, tag = rec["tpr_riskcal"][i], "recorded"
        print(f"  riskcal       {v:.6e}  {where(v, r.lower, r.upper)}  {tag}")
        v = float(dpa_tpr[i])
        print(f"  dp_accounting {v:.6e}  {where(v, r.lower, r.upper)}  {dpa_tag} (reproduction)")
    g = ref.get("gdpnum_mnist")
    if _have("gdpnum"):
        import gdpnum
        t_n, (mu, regret) = _peer(lambda: gdpnum.dpsgd.get_mu_and_regret_for_dpsgd(
            noise_multiplier=sigma, sample_rate=q, num_steps=steps))
        tag = f"{t_n:.3f} s"
    elif g is not None:
        mu, regret, tag = g["mu"], g["regret"], "recorded"
    else:
        mu = None
    if mu is not None:
        floor = max(floors)
        verdict = ("below the proven floor: the mechanism is not μ-GDP at gdpnum's μ"
                   if mu < floor else "at or above the proven floor")
        print(f"μ-GDP: gdpnum μ {mu:.6f} regret {regret:.6g} ({tag}); our TPR lower bounds "
              f"give μ ≥ {floor:.6f}: {verdict}")
    if hasattr(acc, "gdp_fit"):
        t_g, gf = _ours(lambda: acc.gdp_fit(mech, steps), args.runs)
        print(f"  ours acc.gdp_fit (α ≥ {gf.alpha_min:g}): μ [{gf.mu.lower:.6f}, "
              f"{gf.mu.upper:.6f}] regret [{gf.regret.lower:.6g}, {gf.regret.upper:.6g}]  "
              f"{t_g:.3f} s; gdpnum's μ {where(mu, gf.mu.lower, gf.mu.upper)}"
              if mu is not None else "")
    if _have("riskcal") and not args.quick:
        print("riskcal's TPR as its discretisation is refined (FPR 1e-3, 1e-5):")
        for g in SWEEP[1:]:
            t_r, b = _peer(lambda g=g: _riskcal_beta(sigma, q, steps, rec["fpr"], g))
            print(f"  grid_step={g:g}: " + ", ".join(f"{1 - x:.4e}" for x in b) + f"  {t_r:.2f} s")
        print("  equal accuracy not reachable: refining grid_step moves riskcal away from our "
              "bracket (RISK_PEERS.md (a): its curve mixes the add and remove PLDs' tails)")


def case_gaussian(args, ref):
    rec = ref["dp_accounting_gaussian_tpr"]
    mech = acc.Gaussian(1.0)
    print("== Gaussian μ = 1: dp_accounting main's published TPR test values ==")
    print("  FPR     ours [lower, upper]              exact Φ(Φ⁻¹(α)+1)  published  "
          "reproduction")
    t_sum = 0.0
    for fpr, pub, rep in zip(rec["fpr"], rec["tpr_published"], rec["tpr_reproduction"]):
        t_t, r = _ours(lambda: acc.tpr(mech, fpr), args.runs)
        t_sum += t_t
        exact = float(stats.norm.cdf(stats.norm.ppf(fpr) + 1.0))
        print(f"  {fpr:<7g} [{r.lower:.6e}, {r.upper:.6e}]  {exact:.6e} "
              f"{where(exact, r.lower, r.upper):6s}  {pub:<9.6g} {where(pub, r.lower, r.upper):6s}  "
              f"{rep:.6e} {where(rep, r.lower, r.upper)}")
    print(f"  ours: {t_sum:.3f} s for the 8 FPRs; the published values are rounded to 4-5 "
          "digits (asserted to within 1e-3·tpr)")


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--quick", action="store_true",
                    help="skip the slow peer runs (print their recorded values instead)")
    ap.add_argument("--wall", action="store_true", help="wall-clock instead of CPU time")
    ap.add_argument("--cases", default="readme,mnist,gaussian",
                    help="comma-separated subset of readme, mnist, gaussian")
    args = ap.parse_args(argv)
    global _CLOCK
    if args.wall:
        _CLOCK = time.perf_counter
    with open(REFERENCE) as fh:
        ref = json.load(fh)
    for peer in ("riskcal", "gdpnum", "dp_accounting"):
        if not _have(peer):
            print(f"{peer}: not installed (pip install -e '.[bench]'); its recorded values "
                  "are shown")
    for name in args.cases.split(","):
        {"readme": case_readme, "mnist": case_mnist, "gaussian": case_gaussian}[name](args, ref)
    return 0


if __name__ == "__main__":
    sys.exit(main())
