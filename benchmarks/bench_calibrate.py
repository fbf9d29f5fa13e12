"""Noise calibration vs dp_accounting's calibrate_dp_mechanism (PLD), tables and lookup.

    python benchmarks/bench_calibrate.py [--runs 3] [--quick] [--no-table]

Same process, same targets. Times are CPU seconds of this process (time.process_time) for
the single-process parts, so a shared machine's load does not skew the ratios; the table
(a process pool) is timed wall-clock. Our PLD caches are emptied before every run ("warm" =
numba code loaded). dp_accounting is optional (``pip install -e '.[bench]'``).
"""
from __future__ import annotations

import argparse
import math
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import accountant as acc  # noqa: E402
from accountant.accountants.pld import bracket as pld  # noqa: E402
from accountant.calibration.search import calibrate, calibrate_sample_rate, calibrate_steps  # noqa: E402

_CLOCK = time.process_time
DELTA = 1e-5
CASES = [  # (target ε, q, T, σ* where known)
    (3.0, 0.01, 5000, 1.21089),
    (1.0, 0.004, 12500, None),
    (8.0, 0.03, 3334, None),
]


def _median(fn, runs):
    times, out = [], None
    for _ in range(runs):
        pld._CACHE.clear()
        t0 = _CLOCK()
        out = fn()
        times.append(_CLOCK() - t0)
    return statistics.median(times), out


def dp_accounting_calibrate(target, q, T, vdi, tol):
    try:
        from dp_accounting import dp_event as E
        from dp_accounting import mechanism_calibration as MC
        from dp_accounting.pld.pld_privacy_accountant import PLDAccountant
    except ImportError:
        return None
    return MC.calibrate_dp_mechanism(
        lambda: PLDAccountant(value_discretization_interval=vdi),
        lambda s: E.SelfComposedDpEvent(E.PoissonSampledDpEvent(q, E.GaussianDpEvent(s)), T),
        target, DELTA, bracket_interval=MC.ExplicitBracketInterval(0.3, 5.0), tol=tol)


def main(argv=None):
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--quick", action="store_true", help="peer on its coarse 1e-3 grid")
    ap.add_argument("--no-table", action="store_true")
    a = ap.parse_args(argv)
    calibrate(3.0, DELTA, 0.01, 5000)  # numba load/compile once
    print(f"{'case':<28} {'ours σ':>10} {'cert ε':>9} {'opt':>9} {'ours s':>8} "
          f"{'dp_acc σ':>10} {'its ε∈':>21} {'dp_acc s':>9} {'ratio':>7}")
    for target, q, T, star in CASES:
        t, r = _median(lambda: calibrate(target, DELTA, q, T), a.runs)
        name = f"ε={target:g} q={q:g} T={T}"
        vdi = 1e-3 if a.quick else 1e-4
        t0 = _CLOCK()
        s_p = dp_accounting_calibrate(target, q, T, vdi, 1e-3 * r.noise_multiplier)
        t_p = _CLOCK() - t0
        if s_p is None:
            print(f"{name:<28} {r.noise_multiplier:>10.6f} {r.epsilon:>9.5f} "
                  f"{r.optimality:>9} {t:>8.3f}   dp_accounting not installed")
            continue
        chk = acc.epsilon(acc.SubsampledGaussian(s_p, q), delta=DELTA, steps=T, method="pld")
        print(f"{name:<28} {r.noise_multiplier:>10.6f} {r.epsilon:>9.5f} "
              f"{r.optimality:>9} {t:>8.3f} {s_p:>10.6f} "
              f"[{chk.lower:.5f},{chk.upper:.5f}] {t_p:>9.2f} {t_p / t:>6.0f}×")
        if star:
            print(f"{'':<28} σ/σ* − 1 = {r.noise_multiplier / star - 1:+.2e} (ours), "
                  f"{s_p / star - 1:+.2e} (dp_accounting)")
    # the other two questions, and the other methods
    for label, fn in [
        ("steps at σ=1.21089", lambda: calibrate_steps(1.21089, 3.0, DELTA, 0.01)),
        ("sample rate at σ=1.21089", lambda: calibrate_sample_rate(1.21089, 3.0, DELTA, 5000)),
        ("σ by RDP", lambda: calibrate(3.0, DELTA, 0.01, 5000, method="rdp")),
        ("σ by saddle point", lambda: calibrate(3.0, DELTA, 0.01, 5000, method="saddlepoint")),
        ("σ by Edgeworth (estimate)", lambda: calibrate(3.0, DELTA, 0.01, 5000,
                                                        method="edgeworth")),
    ]:
        t, r = _median(fn, a.runs)
        print(f"{label:<28} {float(r):>12.6g} ε={r.epsilon:.5f} "
              f"({'certified' if r.certified else 'estimate'}, {r.optimality}) {t:.3f} s")
    # lookup latency
    from accountant.calibration.lookup import lookup_noise
    lookup_noise(2.0, DELTA, 0.004, 2500)
    n = 20000
    t0 = time.perf_counter()
    for _ in range(n):
        lookup_noise(2.0, DELTA, 0.004, 2500)
    print(f"lookup_noise: {(time.perf_counter() - t0) / n * 1e6:.2f} µs per call")
    if not a.no_table:
        from accountant.calibration.tables import noise_table
        t0 = time.perf_counter()
        rows = noise_table([1, 2, 4, 8], [DELTA], [0.001, 0.004, 0.01, 0.03, 0.1],
                           epochs=[1, 5, 10, 50, 100])
        tt = time.perf_counter() - t0
        bad = sum(1 for r in rows if r.get("error"))
        cert = sum(1 for r in rows if r.get("certified") and r["epsilon"] <= r["target_epsilon"])
        print(f"100-cell table: {tt:.1f} s wall on {os.cpu_count()} cores "
              f"({cert} cells certified ≤ target, {bad} out of range)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
