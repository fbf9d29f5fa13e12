"""Numbers unchanged: record every accountant's answers on fixed random settings, and
compare two recordings (issue 14: a layout change must not move a number).

    python benchmarks/numbers_snapshot.py record --out before.json [--n 500 --seed 0]
    python benchmarks/numbers_snapshot.py compare before.json after.json [--rtol 1e-12]
        [--overlap]

``record`` draws ``--n`` settings from ``numpy.random.default_rng(seed)`` — one mechanism
or a short schedule of them (Gaussian, Poisson / fixed-size subsampled Gaussian, Laplace
under both relations, ELS, ULS, mixtures), a step count, a δ and an ε — and asks every
built method for ε(δ) and δ(ε) through the public API only (``accountant.accountants.api.query``, so
the same script runs on any layout of the package). A call that raises records the
exception's type and message. ``compare`` matches the two recordings key by key: lower,
upper, estimate equal to ``--rtol`` relative (or both not finite), the same ``certified``
and kind, the same exception; it prints every difference and exits 1 if there is any.
Differences are not always bugs (a fixed bug, a tighter certified bound): the closing
note of the change explains each one.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import time
import warnings

import numpy as np


def _mechanism(acc, rng, rel):
    # the mechanisms defined under each relation (fixed batches: replace-one only)
    kinds = ["gauss", "sg", "laplace", "els", "uls", "mog"]
    if rel == "replace_one":
        kinds = ["gauss", "sg", "sgfixed", "laplace"]
    kind = rng.choice(kinds)
    sigma = float(10 ** rng.uniform(-0.5, 1.3))
    q = float(10 ** rng.uniform(-4, 0))
    if kind == "gauss":
        return acc.Gaussian(sigma, neighboring=rel)
    if kind == "sg":
        return acc.SubsampledGaussian(sigma, q, neighboring=rel)
    if kind == "sgfixed":
        return acc.SubsampledGaussian(sigma, q, sampling="fixed", neighboring="replace_one")
    if kind == "laplace":
        return acc.Laplace(float(10 ** rng.uniform(-0.5, 1.5)), neighboring=rel)
    if kind == "els":
        return acc.ELS(sigma, q, int(rng.integers(1, 6)))
    if kind == "uls":
        return acc.ULS(sigma, q)
    n = int(rng.integers(1, 5))
    shifts = [float(x) for x in rng.uniform(0.0, 2.0, n)]
    probs = rng.dirichlet(np.ones(n))
    return acc.MixtureOfGaussians(sigma, shifts, [float(p) for p in probs])


def settings(acc, n: int, seed: int):
    """``n`` settings: (label, target, steps, delta, epsilon)."""
    rng = np.random.default_rng(seed)
    out = []
    for i in range(n):
        rel = str(rng.choice(["add_remove", "replace_one"]))
        if rng.random() < 0.2:
            parts = [(_mechanism(acc, rng, rel), int(rng.integers(1, 50))) for _ in range(2)]
            target = acc.Schedule(parts)
            steps = int(rng.integers(1, 20))
        else:
            target = _mechanism(acc, rng, rel)
            steps = int(10 ** rng.uniform(0, 4))
        delta = float(10 ** rng.uniform(-12, -3))
        eps = float(10 ** rng.uniform(-1, 1))
        out.append((f"{i}", target, steps, delta, eps))
    return out


def _entry(res):
    return {"lower": res.lower, "upper": res.upper, "estimate": res.estimate,
            "certified": bool(res.certified), "kind": getattr(res, "kind", None)}


def record(args) -> int:
    import accountant as acc
    from accountant.accountants import api
    methods = [m for m in api.built_methods() if not args.methods or m in args.methods]
    data = {"settings": {"n": args.n, "seed": args.seed}, "results": {}}
    t0 = time.perf_counter()
    for label, target, steps, delta, eps in settings(acc, args.n, args.seed):
        for method in methods:
            for quantity, at in (("epsilon", delta), ("delta", eps)):
                key = f"{label}|{method}|{quantity}"
                try:
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        res = api.query(quantity, target, at, steps, method)
                    data["results"][key] = _entry(res)
                except Exception as exc:  # recorded: an exception is an answer too
                    data["results"][key] = {"error": f"{type(exc).__name__}: {exc}"}
        if args.verbose:
            print(f"{label}: {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    data["seconds"] = time.perf_counter() - t0
    with open(args.out, "w") as fh:
        json.dump(data, fh, indent=0, sort_keys=True, default=str)
    print(f"{len(data['results'])} answers in {data['seconds']:.0f} s -> {args.out}")
    return 0


def _same(a, b, rtol):
    if a is None or b is None:
        return a is b
    a, b = float(a), float(b)
    if not (math.isfinite(a) and math.isfinite(b)):
        return a == b or (math.isnan(a) and math.isnan(b))
    return abs(a - b) <= rtol * max(abs(a), abs(b))


def overlap(before, after) -> int:
    """Certified brackets of the same question must intersect (each holds the truth): print
    every pair that does not, and how the widths moved; 1 if any pair is disjoint."""
    bad, ratios, n = [], [], 0
    for key in sorted(set(before) & set(after)):
        a, b = before[key], after[key]
        if "error" in a or "error" in b or not (a.get("certified") and b.get("certified")):
            continue
        n += 1
        lo, up = max(a["lower"], b["lower"]), min(a["upper"], b["upper"])
        if lo > up * (1 + 1e-12) + 1e-300:
            bad.append(f"{key}: disjoint [{a['lower']!r}, {a['upper']!r}] vs "
                       f"[{b['lower']!r}, {b['upper']!r}]")
        wa, wb = a["upper"] - a["lower"], b["upper"] - b["lower"]
        if wa > 0 and math.isfinite(wa) and math.isfinite(wb):
            ratios.append(wb / wa)
    for line in bad:
        print(line)
    ratios.sort()
    med = ratios[len(ratios) // 2] if ratios else float("nan")
    print(f"{n} certified pairs compared, {len(bad)} disjoint; width after/before: median "
          f"{med:.3g}, {sum(r < 1 - 1e-9 for r in ratios)} narrower, "
          f"{sum(r > 1 + 1e-9 for r in ratios)} wider")
    return 1 if bad else 0


def compare(args) -> int:
    with open(args.before) as fh:
        before = json.load(fh)["results"]
    with open(args.after) as fh:
        after = json.load(fh)["results"]
    if args.overlap:
        return overlap(before, after)
    diffs = []
    for key in sorted(set(before) | set(after)):
        a, b = before.get(key), after.get(key)
        if a is None or b is None:
            diffs.append(f"{key}: only in {'after' if a is None else 'before'}")
            continue
        if "error" in a or "error" in b:
            if a.get("error") != b.get("error"):
                diffs.append(f"{key}: {a.get('error', 'ok')} -> {b.get('error', 'ok')}")
            continue
        bad = [f for f in ("lower", "upper", "estimate") if not _same(a[f], b[f], args.rtol)]
        bad += [f for f in ("certified", "kind") if a.get(f) != b.get(f)]
        if bad:
            diffs.append(f"{key}: " + ", ".join(f"{f} {a[f]!r} -> {b[f]!r}" for f in bad))
    for line in diffs:
        print(line)
    print(f"{len(set(before) | set(after))} answers compared, {len(diffs)} differ "
          f"(rtol {args.rtol:g})")
    return 1 if diffs else 0


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = p.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("record")
    r.add_argument("--out", required=True)
    r.add_argument("--n", type=int, default=500)
    r.add_argument("--seed", type=int, default=0)
    r.add_argument("--verbose", action="store_true")
    r.add_argument("--methods", nargs="*", default=None, help="only these methods")
    c = sub.add_parser("compare")
    c.add_argument("before")
    c.add_argument("after")
    c.add_argument("--rtol", type=float, default=1e-12)
    c.add_argument("--overlap", action="store_true",
                   help="check only that certified brackets intersect (a tighter or moved "
                        "certified bound is not a difference; a disjoint pair is a bug)")
    args = p.parse_args(argv)
    return record(args) if args.cmd == "record" else compare(args)


if __name__ == "__main__":
    sys.exit(main())
