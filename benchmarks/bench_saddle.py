"""Latency of the approximate accountants (issue #4: ε for a new (σ, q) ≤ 50 ms, a query
with cached cumulants ≤ 1 ms; the reference Edgeworth code takes ~40 s per ε).

    python benchmarks/bench_saddle.py [--runs 15] [--quick] [--wall]

For each setting and method, three medians (after one warm-up per process):

* new (σ, q)   — a mechanism never seen before (σ nudged by 1e-9 relative per run), so the
                 per-step cumulants / tilted quadratures are all computed;
* cached, new T — the mechanism has been queried once at another T and δ; then a T never
                 asked before (T + 1, T + 2, …) at the original δ;
* cached, new δ — same mechanism and T as a previous query, a δ never asked before.

Times are CPU seconds of this process (time.process_time; single-threaded code paths) so a
shared machine's load does not skew them; ``--wall`` uses wall-clock time. The interval
widths are printed too (saddle point: certified upper − lower; edgeworth: the estimate).
"""
from __future__ import annotations

import argparse
import math
import statistics
import time

import accountant as acc

_CLOCK = time.process_time

SETTINGS = [
    ("SG(1.1, 0.01)", lambda s: acc.SubsampledGaussian(1.1 * s, 0.01)),
    ("SG(0.8, 0.01)", lambda s: acc.SubsampledGaussian(0.8 * s, 0.01)),
    ("SG(2.0, 0.001)", lambda s: acc.SubsampledGaussian(2.0 * s, 0.001)),
    ("ELS(2, 0.01, 4)", lambda s: acc.ELS(noise_multiplier=2.0 * s, sample_rate=0.01,
                                          max_examples_per_user=4)),
]
STEPS = (100, 1000, 10000)
DELTAS = (1e-5, 1e-10)


_COUNTER = [0]


def _fresh():
    """A σ factor never used before in this process (a new mechanism, nothing cached)."""
    _COUNTER[0] += 1
    return 1.0 + 1e-9 * _COUNTER[0]


def _med(times):
    return statistics.median(times) * 1e3


def bench(make, T, delta, method, runs):
    """(new-mechanism ms, cached new-T ms, cached new-δ ms, last result)."""
    new, newT, newd = [], [], []
    res = None
    for i in range(runs + 1):
        m = make(_fresh())
        t0 = _CLOCK()
        acc.epsilon(m, delta=delta * 1.37, steps=T + 7, method=method)
        t1 = _CLOCK()
        r = acc.epsilon(m, delta=delta, steps=T, method=method)       # cached, new T and δ
        t2 = _CLOCK()
        acc.epsilon(m, delta=delta * (1 + 1e-3), steps=T, method=method)  # cached, new δ
        t3 = _CLOCK()
        if i == 0:
            continue          # warm-up (compiled code loads)
        new.append(t1 - t0)
        newd.append(t3 - t2)
        res = r
    # new T with δ held: a fixed mechanism, queried once, then T + k for k = 1..runs
    m = make(_fresh())
    acc.epsilon(m, delta=delta * 1.37, steps=T + 7, method=method)
    for k in range(1, runs + 2):
        t0 = _CLOCK()
        acc.epsilon(m, delta=delta, steps=T + 7 + k, method=method)
        t1 = _CLOCK()
        if k > 1:
            newT.append(t1 - t0)
    return _med(new), _med(newT), _med(newd), res


def main(argv=None):
    global _CLOCK
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--quick", action="store_true", help="first two settings, T ≤ 1000")
    ap.add_argument("--wall", action="store_true")
    ap.add_argument("--methods", default="edgeworth,saddlepoint")
    a = ap.parse_args(argv)
    if a.wall:
        _CLOCK = time.perf_counter
    settings = SETTINGS[:2] if a.quick else SETTINGS
    steps = STEPS[:2] if a.quick else STEPS
    methods = a.methods.split(",")
    print(f"medians over {a.runs} runs, ms ({'wall' if a.wall else 'CPU'}); "
          "reference Edgeworth code (EA paper): ~40 s per ε")
    print(f"{'setting':16s} {'T':>6s} {'δ':>6s} {'method':11s} {'new(σ,q)':>9s} "
          f"{'new T':>7s} {'new δ':>7s}  {'estimate':>9s} {'lower':>9s} {'upper':>9s} {'rel.width':>9s}")
    worst = {m: [0.0, 0.0, 0.0] for m in methods}
    for name, make in settings:
        for T in steps:
            for delta in DELTAS:
                for meth in methods:
                    n, nt, nd, r = bench(make, T, delta, meth, a.runs)
                    w = worst[meth]
                    w[0], w[1], w[2] = max(w[0], n), max(w[1], nt), max(w[2], nd)
                    width = (r.upper - r.lower) / r.upper if r.upper > 0 and math.isfinite(
                        r.upper) else math.nan
                    print(f"{name:16s} {T:6d} {delta:6.0e} {meth:11s} {n:9.2f} {nt:7.3f} {nd:7.3f}"
                          f"  {r.estimate:9.5f} {r.lower:9.5f} {r.upper:9.5f} {width:9.2e}",
                          flush=True)
    for meth, (n, nt, nd) in worst.items():
        print(f"worst median, {meth}: new (σ,q) {n:.2f} ms, cached new T {nt:.3f} ms, "
              f"cached new δ {nd:.3f} ms")


if __name__ == "__main__":
    main()
