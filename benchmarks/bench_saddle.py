"""Latency of the approximate accountants (issue #4: ε for a new (σ, q) ≤ 50 ms, a query
with cached cumulants ≤ 1 ms; the reference Edgeworth code takes ~40 s per ε).

    python benchmarks/bench_saddle.py [--runs 15] [--quick] [--wall] [--src PATH]

For each setting and method, medians (after one warm-up per process) of:

* new (σ, q)   — a mechanism never seen before (σ nudged by 1e-9 relative per run), so the
                 per-step cumulants / tilted quadratures are all computed;
* T&δ          — the mechanism has been queried once at (T + 7, 1.37·δ); then (T, δ);
* new T        — then T + 8, T + 9, … at δ (a T never asked before);
* new δ        — same mechanism and T as a previous query, a δ never asked before;
* far T        — the mechanism queried at (T, δ), then at 10·T (the saddle point moves
                 by a factor ~3: for the saddle point some lattice tilts are new).

``--src PATH`` imports ``accountant`` from another checkout (e.g. ``git archive`` of an
older commit) so that before/after figures come from the same script and machine.

Times are CPU seconds of this process (time.process_time; single-threaded code paths) so a
shared machine's load does not skew them; ``--wall`` uses wall-clock time. The interval
widths are printed too (saddle point: certified upper − lower; edgeworth: the estimate).
"""
from __future__ import annotations

import argparse
import math
import statistics
import sys
import time

if "--src" in sys.argv:
    sys.path.insert(0, sys.argv[sys.argv.index("--src") + 1])

import accountant as acc  # noqa: E402

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
    """(new-mechanism, cached T&δ, new-T, new-δ, far-T medians in ms; last result)."""
    new, both, newT, newd, far = [], [], [], [], []
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
        acc.epsilon(m, delta=delta, steps=10 * T, method=method)      # cached, far T
        t4 = _CLOCK()
        if i == 0:
            continue          # warm-up (compiled code loads)
        new.append(t1 - t0)
        both.append(t2 - t1)
        newd.append(t3 - t2)
        far.append(t4 - t3)
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
    return _med(new), _med(both), _med(newT), _med(newd), _med(far), res


def main(argv=None):
    global _CLOCK
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--runs", type=int, default=15)
    ap.add_argument("--quick", action="store_true", help="first two settings, T ≤ 1000")
    ap.add_argument("--wall", action="store_true")
    ap.add_argument("--methods", default="edgeworth,saddlepoint")
    ap.add_argument("--src", default=None, help="import accountant from this checkout")
    a = ap.parse_args(argv)
    if a.wall:
        _CLOCK = time.perf_counter
    settings = SETTINGS[:2] if a.quick else SETTINGS
    steps = STEPS[:2] if a.quick else STEPS
    methods = a.methods.split(",")
    print(f"accountant from {acc.__file__}")
    print(f"medians over {a.runs} runs, ms ({'wall' if a.wall else 'CPU'}); "
          "reference Edgeworth code (EA paper): ~40 s per ε")
    print(f"{'setting':16s} {'T':>6s} {'δ':>6s} {'method':11s} {'new(σ,q)':>9s} {'T&δ':>7s} "
          f"{'new T':>7s} {'new δ':>7s} {'far T':>7s}  {'estimate':>9s} {'lower':>9s} "
          f"{'upper':>9s} {'rel.width':>9s}")
    worst = {m: [0.0] * 5 for m in methods}
    for name, make in settings:
        for T in steps:
            for delta in DELTAS:
                for meth in methods:
                    *times, r = bench(make, T, delta, meth, a.runs)
                    w = worst[meth]
                    for j, x in enumerate(times):
                        w[j] = max(w[j], x)
                    width = (r.upper - r.lower) / r.upper if r.upper > 0 and math.isfinite(
                        r.upper) else math.nan
                    n, b, nt, nd, ft = times
                    print(f"{name:16s} {T:6d} {delta:6.0e} {meth:11s} {n:9.2f} {b:7.3f} "
                          f"{nt:7.3f} {nd:7.3f} {ft:7.3f}  {r.estimate:9.5f} {r.lower:9.5f} "
                          f"{r.upper:9.5f} {width:9.2e}", flush=True)
    for meth, (n, b, nt, nd, ft) in worst.items():
        print(f"worst median, {meth}: new (σ,q) {n:.2f} ms, cached T&δ {b:.3f} ms, new T "
              f"{nt:.3f} ms, new δ {nd:.3f} ms, far T {ft:.3f} ms")


if __name__ == "__main__":
    main()
