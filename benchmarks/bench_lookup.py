"""lookup_noise against calibrate on random points inside the shipped table.

    python benchmarks/bench_lookup.py [--n 1000] [--seed 12] [--json out.json]

Points are log-uniform in each axis over the table's ranges (ε, δ, q, T). For each point:
the lookup's σ, calibrate's σ (PLD, default rtol), the excess σ_lookup/σ_calibrate − 1 and
the lookup's proven bound ``max_excess``. Reported: median / 90th percentile / worst
excess and the worst point; violations of σ_lookup ≥ σ_calibrate (and of the proven
σ_lookup ≥ σ_calibrate/(1 + rtol)); points whose excess exceeds max_excess (must be 0);
the median / max of max_excess; and the per-call time of the lookup (µs: for each of a
sample of points the best of five timed loops, then the median over the points).
Calibrations take ~0.1–1 s each, so the full run takes several minutes.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import numpy as np  # noqa: E402

from accountant.calibration.search import calibrate  # noqa: E402
from accountant.calibration.lookup import lookup_noise, table_axes  # noqa: E402


def points(n, seed):
    ax = table_axes()
    lo = np.log([ax["epsilon"][0], ax["delta"][0], ax["sample_rate"][0], ax["steps"][0]])
    hi = np.log([ax["epsilon"][1], ax["delta"][-1], ax["sample_rate"][-1], ax["steps"][-1]])
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        e, d, q, t = np.exp(rng.uniform(lo, hi))
        t = int(min(max(round(t), ax["steps"][0]), ax["steps"][-1]))
        out.append((float(e), float(d), float(q), t))
    return out


def per_call_us(queries, loops=2000, repeats=5):
    times = []
    for qy in queries:
        lookup_noise(*qy)
        best = math.inf
        for _ in range(repeats):
            t0 = time.perf_counter()
            for _ in range(loops):
                lookup_noise(*qy)
            best = min(best, (time.perf_counter() - t0) / loops)
        times.append(best * 1e6)
    return statistics.median(times), max(times)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--n", type=int, default=1000)
    p.add_argument("--seed", type=int, default=12)
    p.add_argument("--timing-points", type=int, default=200)
    p.add_argument("--json", default=None, help="write the figures (and every point) here")
    a = p.parse_args(argv)

    qs = points(a.n, a.seed)
    rows = []
    t0 = time.perf_counter()
    for i, (e, d, q, T) in enumerate(qs):
        r = lookup_noise(e, d, q, T)
        c = calibrate(e, d, q, T)
        rows.append({"epsilon": e, "delta": d, "sample_rate": q, "steps": T,
                     "sigma_lookup": r.noise_multiplier, "sigma_calibrate": c.noise_multiplier,
                     "rtol": c.rtol, "excess": r.noise_multiplier / c.noise_multiplier - 1,
                     "max_excess": r.max_excess, "source": r.source,
                     "lookup_epsilon": r.epsilon})
        if (i + 1) % 100 == 0:
            print(f"  {i + 1}/{len(qs)} points ({time.perf_counter() - t0:.0f} s)",
                  file=sys.stderr, flush=True)
    ex = np.array([r["excess"] for r in rows])
    mx = np.array([r["max_excess"] for r in rows])
    worst = rows[int(np.argmax(ex))]
    below = sum(r["sigma_lookup"] < r["sigma_calibrate"] for r in rows)
    below_proven = sum(r["sigma_lookup"] < r["sigma_calibrate"] / (1 + r["rtol"]) for r in rows)
    over_bound = sum(r["excess"] > r["max_excess"] for r in rows)
    over_target = sum(r["lookup_epsilon"] > r["epsilon"] for r in rows)
    sources = {s: sum(r["source"] == s for r in rows) for s in {r["source"] for r in rows}}
    us_med, us_max = per_call_us(qs[:a.timing_points])
    fig = {
        "points": len(rows), "seed": a.seed, "sources": sources,
        "excess_median": float(np.median(ex)), "excess_p90": float(np.percentile(ex, 90)),
        "excess_max": float(ex.max()), "excess_min": float(ex.min()),
        "worst_point": {k: worst[k] for k in ("epsilon", "delta", "sample_rate", "steps",
                                              "sigma_lookup", "sigma_calibrate")},
        "violations_below_calibrate": int(below),
        "violations_below_proven_optimum": int(below_proven),
        "excess_above_max_excess": int(over_bound),
        "lookup_epsilon_above_target": int(over_target),
        "max_excess_median": float(np.median(mx)), "max_excess_max": float(mx.max()),
        "us_per_call_median": us_med, "us_per_call_max": us_max,
    }
    w = fig["worst_point"]
    print(f"{fig['points']} points (seed {a.seed}), sources {sources}")
    print(f"excess over calibrate: median {100 * fig['excess_median']:.2f} %, "
          f"p90 {100 * fig['excess_p90']:.2f} %, worst {100 * fig['excess_max']:.2f} % "
          f"(min {100 * fig['excess_min']:.3f} %)")
    print(f"worst point: epsilon={w['epsilon']:.4g} delta={w['delta']:.3g} "
          f"q={w['sample_rate']:.4g} T={w['steps']}: lookup {w['sigma_lookup']:.5g} vs "
          f"calibrate {w['sigma_calibrate']:.5g}")
    print(f"sigma_lookup < sigma_calibrate: {below} points; below the proven optimum "
          f"(sigma_calibrate/(1+rtol)): {below_proven}")
    print(f"excess > max_excess: {over_bound}; lookup epsilon > target: {over_target}")
    print(f"max_excess: median {100 * fig['max_excess_median']:.2f} %, "
          f"max {100 * fig['max_excess_max']:.2f} %")
    print(f"lookup_noise: {us_med:.2f} µs per call (median over {min(a.timing_points, len(qs))} "
          f"points, best of 5 loops each; slowest point {us_max:.2f} µs)")
    if a.json:
        with open(a.json, "w") as fh:
            json.dump({"figures": fig, "rows": rows}, fh, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
