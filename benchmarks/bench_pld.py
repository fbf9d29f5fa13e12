"""PLD accountant vs dp_accounting's PLDAccountant and prv_accountant, side by side.

    python benchmarks/bench_pld.py [--runs 5] [--quick]

Same process, same cases; each figure is the median of ``--runs`` runs (one run for the
slow dp_accounting mixture PLD). Times are CPU seconds of this process (time.process_time;
every code path involved is single-threaded), so that a shared machine's load does not
skew the ratios; ``--wall`` uses wall-clock time instead. Our caches are cleared before
every run, so each timing includes the one-step discretisation. Peers are optional
(``pip install -e '.[bench]'``).
"""
from __future__ import annotations

import argparse
import math
import time

import numpy as np
from scipy import fft as sfft

import accountant as acc
from accountant.accountants.pld import bracket as pld
from _peers import median_time  # noqa: E402


_CLOCK = time.process_time


def _median_time(fn, runs):
    return median_time(fn, runs, _CLOCK)     # _CLOCK is read at call time (--wall)


def ours(mech, delta, steps, runs):
    def run():
        pld._CACHE.clear()
        return acc.epsilon(mech, delta=delta, steps=steps, method="pld")
    run()  # numba compilation / cache load happens once per process
    return _median_time(run, runs)


def fft_floor(n, runs=50):
    """One rfft + irfft of length n (the composed grid): the floor of any FFT PLD."""
    x = np.random.default_rng(0).random(n)
    x /= x.sum()

    def run():
        return sfft.irfft(sfft.rfft(x), n)
    run()
    return _median_time(run, runs)[0]


def dp_accounting_psg(sigma, q, steps, delta, runs):
    try:
        from dp_accounting import dp_event
        from dp_accounting.pld import pld_privacy_accountant as P
    except ImportError:
        return None
    ev = dp_event.PoissonSampledDpEvent(q, dp_event.GaussianDpEvent(sigma))

    def run():
        a = P.PLDAccountant(value_discretization_interval=1e-4)
        a.compose(ev, steps)
        return a.get_epsilon(delta)
    t, up = _median_time(run, runs)
    try:
        # dp_accounting's lower-side counterpart: the optimistic discretisation (1 run).
        from dp_accounting.pld import privacy_loss_distribution as PLD
        opt = PLD.from_gaussian_mechanism(sigma, sampling_prob=q, pessimistic_estimate=False,
                                          value_discretization_interval=1e-4)
        lo = opt.self_compose(steps).get_epsilon_for_delta(delta)
    except Exception:  # noqa: BLE001 - a peer's API detail must not stop the benchmark
        lo = float("nan")
    return t, lo, up


def dp_accounting_mog(sigma, shifts, probs, steps, delta):
    try:
        from dp_accounting import dp_event
        from dp_accounting.pld import pld_privacy_accountant as P
    except ImportError:
        return None
    ev = dp_event.MixtureOfGaussiansDpEvent(sigma, list(shifts), list(probs))

    def run():
        a = P.PLDAccountant(value_discretization_interval=1e-4)
        a.compose(ev, steps)
        return a.get_epsilon(delta)
    return _median_time(run, 1)


def prv(sigma, q, steps, delta, runs, eps_error=0.01):
    try:
        from prv_accountant import PRVAccountant, PoissonSubsampledGaussianMechanism
    except ImportError:
        return None

    def run():
        a = PRVAccountant(prvs=[PoissonSubsampledGaussianMechanism(noise_multiplier=sigma,
                                                                   sampling_probability=q)],
                          max_self_compositions=[steps], eps_error=eps_error,
                          delta_error=delta * 1e-3)
        return a.compute_epsilon(delta=delta, num_self_compositions=[steps])
    return _median_time(run, runs)


def _fmt(lo, up):
    return f"[{lo:.6f}, {up:.6f}] width {up - lo:.2e}"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument("--quick", action="store_true", help="skip the slow peer runs")
    ap.add_argument("--skip-mog", action="store_true",
                    help="skip dp_accounting's mixture PLD (minutes per run)")
    ap.add_argument("--wall", action="store_true", help="wall-clock instead of CPU time")
    args = ap.parse_args(argv)
    global _CLOCK
    if args.wall:
        _CLOCK = time.perf_counter
    R = args.runs

    print("== Poisson-subsampled Gaussian σ=1.1, q=0.01, T=1e4, δ=1e-5 ==")
    m = acc.SubsampledGaussian(1.1, 0.01)
    t_ours, r = ours(m, 1e-5, 10_000, R)
    n = max(d["window"] for d in r.details["directions"].values())
    t_fft = fft_floor(n)
    print(f"ours (pld)          ε={r.upper:.6f} {_fmt(r.lower, r.upper)}  {t_ours * 1e3:8.1f} ms"
          f"  (h={r.details['grid_step']:.2g}, window {n}: {t_ours / t_fft:.1f}× one "
          f"rfft+irfft of {t_fft * 1e3:.2f} ms)")
    if not args.quick:
        dpa = dp_accounting_psg(1.1, 0.01, 10_000, 1e-5, R)
        if dpa is None:
            print("dp_accounting       not installed")
        else:
            t, lo, up = dpa
            print(f"dp_accounting 1e-4  ε={up:.6f} [{lo:.6f} (optimistic), {up:.6f}] "
                  f"width {up - lo:.2e}  {t * 1e3:8.1f} ms  → ours {t / t_ours:.0f}× faster, "
                  f"bracket {(up - lo) / (r.upper - r.lower):.0f}× wider")
        pv = prv(1.1, 0.01, 10_000, 1e-5, R)
        if pv is None:
            print("prv_accountant      not installed")
        else:
            t, (lo, est, up) = pv
            print(f"prv_accountant 0.01 ε={est:.6f} {_fmt(lo, up)}  {t * 1e3:8.1f} ms  → ours "
                  f"{t / t_ours:.0f}× faster")

    print("\n== ELS k=4 (MoG shifts 0..4, Binomial(4, q) weights), σ=1, q=0.01, T=1000, δ=1e-5 ==")
    k, q = 4, 0.01
    mels = acc.ELS(1.0, q, k)
    t_ours, r = ours(mels, 1e-5, 1000, R)
    n = max(d["window"] for d in r.details["directions"].values())
    t_fft = fft_floor(n)
    print(f"ours (pld)          ε={r.upper:.6f} {_fmt(r.lower, r.upper)}  {t_ours * 1e3:8.1f} ms"
          f"  (window {n}: {t_ours / t_fft:.1f}× one rfft+irfft)")
    if not (args.quick or args.skip_mog):
        probs = [math.comb(k, j) * q ** j * (1 - q) ** (k - j) for j in range(k + 1)]
        probs[-1] = 1.0 - sum(probs[:-1])
        mog = dp_accounting_mog(1.0, range(k + 1), probs, 1000, 1e-5)
        if mog is None:
            print("dp_accounting MoG   not installed")
        else:
            t, up = mog
            print(f"dp_accounting MoG   ε={up:.6f}  {t * 1e3:8.1f} ms (1 run)  → ours "
                  f"{t / t_ours:.0f}× faster")

    print("\n== δ = 1e-15 (σ=1, q=0.01, T=1000) and large ε (σ=1, q=0.2, T=500) ==")
    for mech, d, T in [(acc.SubsampledGaussian(1.0, 0.01), 1e-15, 1000),
                       (acc.SubsampledGaussian(1.0, 0.2), 1e-5, 500)]:
        t, r = ours(mech, d, T, R)
        print(f"ours (pld) δ={d:g} T={T}: ε={r.upper:.6f} {_fmt(r.lower, r.upper)}  "
              f"{t * 1e3:.1f} ms")


if __name__ == "__main__":
    main()
