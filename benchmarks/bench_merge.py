"""Issue 17, item 2: the trainer path and long heterogeneous schedules (merged PLD sides,
docs/math.md §4.8).

    python benchmarks/bench_merge.py [--json]

Cases (δ = 1e-5, q = 0.01, default rtol = 1e-3):

* trainer, 1 000 distinct steps σ_t = 1 + 1e-4·t, then ``get_epsilon`` (truth 1.665529:
  the unmerged schedule at rtol = 1e-6, issue 17);
* trainer, 200 distinct steps σ_t = 1 + 1e-3·t (truth [0.7477352781232725,
  0.7477358594909116]: unmerged at rtol = 1e-6, this file's ``--truth``, 42 s);
* trainer, 10 000 distinct steps σ_t = 1 + 1e-5·t (no unmerged truth: 10⁴ one-step PLDs
  per grid);
* ``acc.epsilon`` on a 1 000-segment Schedule (σ_t = 1 + 1e-4·t, 10 steps each).

Timing: CPU seconds of this process (``time.process_time``; the machine is shared), after
one warm-up query (numba), with the one-step cache emptied before each timed query; the
trainer's ``step`` calls are not timed (only the query).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
import warnings

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

import accountant as acc  # noqa: E402
from accountant import PrivacyAccountant, Schedule, SubsampledGaussian  # noqa: E402
from accountant.accountants.pld import onestep  # noqa: E402

DELTA, Q = 1e-5, 0.01
TRUTH = {"trainer 1000": (1.665529, 1.665529),
         "trainer 200": (0.7477352781232725, 0.7477358594909116)}


def _timed(fn):
    onestep._CACHE.clear()
    c0 = time.process_time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = fn()
    return r, time.process_time() - c0


def trainer(n, ds):
    a = PrivacyAccountant("pld")
    for t in range(n):
        a.step(1.0 + ds * t, Q)
    return _timed(lambda: a.get_epsilon(DELTA))


def segments(n, ds, steps):
    s = Schedule([(SubsampledGaussian(1.0 + ds * t, Q), steps) for t in range(n)])
    return _timed(lambda: acc.epsilon(s, DELTA))


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true")
    args = ap.parse_args(argv)
    acc.epsilon(SubsampledGaussian(1.1, Q), DELTA, steps=100)          # warm-up (numba)
    rows = []
    for name, fn in (("trainer 1000", lambda: trainer(1000, 1e-4)),
                     ("trainer 200", lambda: trainer(200, 1e-3)),
                     ("trainer 10000", lambda: trainer(10000, 1e-5)),
                     ("schedule 1000 segments", lambda: segments(1000, 1e-4, 10))):
        r, cpu = fn()
        m = r.details.get("merged", {})
        t = TRUTH.get(name)
        rows.append({"case": name, "lower": r.lower, "upper": r.upper,
                     "rel_width": (r.upper - r.lower) / r.upper, "cpu_s": cpu,
                     "representatives": m.get("representatives"),
                     "contains_truth": None if t is None else r.lower <= t[0] and t[1] <= r.upper})
    if args.json:
        print(json.dumps(rows, indent=1))
        return
    print(f"{'case':26s} {'lower':>10s} {'upper':>10s} {'width':>9s} {'cpu s':>7s} {'reps':>5s} truth")
    for w in rows:
        print(f"{w['case']:26s} {w['lower']:10.6f} {w['upper']:10.6f} {w['rel_width']:9.2e} "
              f"{w['cpu_s']:7.3f} {str(w['representatives']):>5s} {w['contains_truth']}")


if __name__ == "__main__":
    main()
