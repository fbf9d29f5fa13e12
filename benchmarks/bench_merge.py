"""Issue 17, item 2: the trainer path and long heterogeneous schedules (merged PLD sides,
docs/math.md §4.8, §4.10).

    python benchmarks/bench_merge.py [--json] [--runs N] [--write]

Cases (δ = 1e-5, q = 0.01, default rtol = 1e-3), with issue 17's limits:

* trainer, 1 000 distinct steps σ_t = 1 + 1e-4·t, then ``get_epsilon`` (truth 1.665529:
  the unmerged schedule at rtol = 1e-6, issue 17): ≤ 0.3 s, ≤ 0.1 % wide, holds the truth;
* trainer, 200 distinct steps σ_t = 1 + 1e-3·t (truth [0.7477352781232725,
  0.7477358594909116]: unmerged at rtol = 1e-6, 42 s);
* trainer, 10 000 distinct steps σ_t = 1 + 1e-5·t (no unmerged truth: 10⁴ one-step PLDs
  per grid): ≤ 2 s;
* ``acc.epsilon`` on a 1 000-segment Schedule (σ_t = 1 + 1e-4·t, 10 steps each): ≤ 0.5 s.

Timing: CPU seconds of this process (``time.process_time``; the machine is shared),
median of ``--runs`` queries, each on a fresh history (its mechanisms' privacy losses are
built inside the timed query, as for a new trainer) with the one-step cache emptied; the
trainer's ``step`` calls are not timed. Before them one warm-up loads the numba kernels:
a plain query and a merged one on other σ (first-call latency is not what is measured).
``--write`` puts the table into the section "Trainer path (issue 17)" of RESULTS.md.
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

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _results import RESULTS, write_section  # noqa: E402

DELTA, Q = 1e-5, 0.01
TRUTH = {"trainer 1000": (1.665529, 1.665529),
         "trainer 200": (0.7477352781232725, 0.7477358594909116)}


SECTION = "## Trainer path (issue 17)"
LIMITS = {"trainer 1000": 0.3, "trainer 10000": 2.0, "schedule 1000 segments": 0.5}


def _timed(fn):
    onestep._CACHE.clear()
    c0 = time.process_time()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = fn()
    return r, time.process_time() - c0


def trainer(n, ds, shift=0.0):
    """``n`` distinct steps σ_t = 1 + ds·t (+ ``shift``: a fresh history per run)."""
    a = PrivacyAccountant("pld")
    for t in range(n):
        a.step(1.0 + shift + ds * t, Q)
    return _timed(lambda: a.get_epsilon(DELTA))


def segments(n, ds, steps, shift=0.0):
    s = Schedule([(SubsampledGaussian(1.0 + shift + ds * t, Q), steps) for t in range(n)])
    return _timed(lambda: acc.epsilon(s, DELTA))


def warm_up():
    """Load every kernel of the plain and the merged paths (on σ not measured)."""
    acc.epsilon(SubsampledGaussian(1.1, Q), DELTA, steps=100)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        a = PrivacyAccountant("pld")
        for t in range(64):
            a.step(2.0 + 1e-3 * t, 0.02)
        a.get_epsilon(DELTA)


def markdown(rows, runs):
    out = [SECTION, "",
           f"`python benchmarks/bench_merge.py --runs {runs} --write`, measured "
           f"{time.strftime('%Y-%m-%d')} on the shared 2-core machine: CPU seconds, median of "
           f"{runs} queries on fresh histories, numba warm (see the script's docstring). Merged "
           "by mixtures of grid neighbours (docs/math.md §4.10): 'grid points' is their number.",
           "", "| case | lower | upper | rel. width | holds the truth | CPU s | limit | "
           "grid points | mode |", "|---|---|---|---|---|---|---|---|---|"]
    for w in rows:
        lim = LIMITS.get(w["case"])
        out.append(f"| {w['case']} | {w['lower']:.6f} | {w['upper']:.6f} | "
                   f"{w['rel_width']:.2e} | "
                   f"{'–' if w['contains_truth'] is None else 'yes' if w['contains_truth'] else 'NO'}"
                   f" | {w['cpu_s']:.3f} | {'–' if lim is None else f'≤ {lim}'} | "
                   f"{w['representatives']} | {w['mode']} |")
    return "\n".join(out) + "\n"


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--json", action="store_true")
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--write", action="store_true",
                    help=f"write the section '{SECTION[3:]}' of RESULTS.md")
    args = ap.parse_args(argv)
    if args.runs < 1:
        ap.error("--runs must be ≥ 1")
    warm_up()
    rows = []
    for name, fn in (("trainer 1000", lambda s: trainer(1000, 1e-4, s)),
                     ("trainer 200", lambda s: trainer(200, 1e-3, s)),
                     ("trainer 10000", lambda s: trainer(10000, 1e-5, s)),
                     ("schedule 1000 segments", lambda s: segments(1000, 1e-4, 10, s))):
        # (run k shifts σ by k·1e-12: new mechanisms, the same answer to many digits)
        res = [fn(k * 1e-12) for k in range(args.runs)]
        r = res[0][0]
        cpu = sorted(c for _, c in res)[len(res) // 2]
        m = r.details.get("merged", {})
        t = TRUTH.get(name)
        rows.append({"case": name, "lower": r.lower, "upper": r.upper,
                     "rel_width": (r.upper - r.lower) / r.upper, "cpu_s": cpu,
                     "representatives": m.get("representatives"),
                     "mode": m.get("mode", "rounded"),
                     "contains_truth": None if t is None else r.lower <= t[0] and t[1] <= r.upper})
    if args.json:
        print(json.dumps(rows, indent=1))
    else:
        print(f"{'case':26s} {'lower':>10s} {'upper':>10s} {'width':>9s} {'cpu s':>7s} "
              f"{'reps':>5s} truth")
        for w in rows:
            print(f"{w['case']:26s} {w['lower']:10.6f} {w['upper']:10.6f} "
                  f"{w['rel_width']:9.2e} {w['cpu_s']:7.3f} {str(w['representatives']):>5s} "
                  f"{w['contains_truth']}")
    if args.write:
        write_section(markdown(rows, args.runs))
        print(f"wrote the section to {RESULTS}")


if __name__ == "__main__":
    main()
