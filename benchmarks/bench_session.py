"""Trainer-style accounting: one step per optimizer step, σ changing every step.

    python benchmarks/bench_session.py [--steps 1000] [--peer-pld-steps 100] [--json]

Workload (issue 7): σ_t = 1 + 1e-4·t, q = 0.01, t = 0..steps−1, one ``step``/``compose``
per training step, then ε at δ = 1e-5. Timed: ours (PLD and RDP ``PrivacyAccountant``)
against dp_accounting's RdpAccountant on the same 1000 composes, and its PLDAccountant on
only ``--peer-pld-steps`` composes (it needs ~72 s for 1000 at grid 1e-3: each compose
builds and convolves a new PLD) — its time is reported as measured for that shorter run and
as a linear extrapolation to the full run (composition cost grows with the history, so the
extrapolation under-states it). Times are CPU seconds of this process (the machines are
shared), wall-clock alongside. Peers are optional (``pip install -e '.[bench]'``).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), ".."))

from accountant.session.trainer import PrivacyAccountant  # noqa: E402

DELTA = 1e-5
Q = 0.01


def sigmas(n):
    return [1.0 + 1e-4 * t for t in range(n)]


def timed(fn):
    c0, w0 = time.process_time(), time.perf_counter()
    out = fn()
    return out, time.process_time() - c0, time.perf_counter() - w0


def ours(method, n):
    def run():
        a = PrivacyAccountant(method)
        for s in sigmas(n):
            a.step(s, Q)
        return a.get_epsilon(DELTA)
    r, cpu, wall = timed(run)
    return {"who": f"ours {method}", "composes": n, "epsilon": r.upper, "lower": r.lower,
            "cpu": cpu, "wall": wall}


def ours_incremental(method, n, every):
    """A query every ``every`` steps (a trainer logging ε): total cost of the run."""
    def run():
        a = PrivacyAccountant(method)
        r = None
        for t, s in enumerate(sigmas(n)):
            a.step(s, Q)
            if (t + 1) % every == 0:
                r = a.get_epsilon(DELTA)
        return r
    r, cpu, wall = timed(run)
    return {"who": f"ours {method}, ε every {every} steps", "composes": n, "epsilon": r.upper,
            "lower": r.lower, "cpu": cpu, "wall": wall}


def peer(kind, n):
    try:
        import dp_accounting
        from dp_accounting import dp_event
    except ImportError:
        return None

    def run():
        if kind == "pld":
            a = dp_accounting.pld.PLDAccountant(value_discretization_interval=1e-3)
        else:
            a = dp_accounting.rdp.RdpAccountant()
        for s in sigmas(n):
            a.compose(dp_event.PoissonSampledDpEvent(Q, dp_event.GaussianDpEvent(s)))
        return a.get_epsilon(DELTA)
    e, cpu, wall = timed(run)
    return {"who": f"dp_accounting {kind}", "composes": n, "epsilon": float(e), "lower": None,
            "cpu": cpu, "wall": wall}


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--steps", type=int, default=1000)
    p.add_argument("--peer-pld-steps", type=int, default=100)
    p.add_argument("--json", action="store_true")
    a = p.parse_args(argv)
    # Warm numba's caches so that the figures are steady-state (the first import of a
    # kernel compiles or loads it from disk once per process).
    PrivacyAccountant("pld").step(1.0, Q, 10).get_epsilon(DELTA)
    PrivacyAccountant("rdp").step(1.0, Q, 10).get_epsilon(DELTA)

    rows = [ours("pld", a.steps), ours("rdp", a.steps),
            ours_incremental("rdp", a.steps, 100), ours_incremental("pld", a.steps, 100)]
    # Shorter runs of ours, comparable to the peer's shortened PLD run.
    rows.append(ours("pld", a.peer_pld_steps))
    for kind, n in (("rdp", a.steps), ("pld", a.peer_pld_steps)):
        r = peer(kind, n)
        if r is not None:
            rows.append(r)
    if a.json:
        print(json.dumps(rows, indent=1))
        return 0
    print(f"σ_t = 1 + 1e-4·t, q = {Q}, δ = {DELTA}; CPU seconds (wall)")
    print(f"{'accountant':38s} {'composes':>8s} {'epsilon':>10s} {'lower':>10s} "
          f"{'cpu s':>8s} {'wall s':>8s}")
    for r in rows:
        lo = "" if r["lower"] is None else f"{r['lower']:.5f}"
        print(f"{r['who']:38s} {r['composes']:8d} {r['epsilon']:10.5f} {lo:>10s} "
              f"{r['cpu']:8.3f} {r['wall']:8.3f}")
    by = {(r["who"], r["composes"]): r for r in rows}
    o_pld = by.get(("ours pld", a.steps))
    o_rdp = by.get(("ours rdp", a.steps))
    p_rdp = by.get(("dp_accounting rdp", a.steps))
    p_pld = by.get(("dp_accounting pld", a.peer_pld_steps))
    o_pld_short = by.get(("ours pld", a.peer_pld_steps))
    print()
    if p_rdp:
        print(f"RDP, {a.steps} composes: dp_accounting / ours = {p_rdp['cpu'] / o_rdp['cpu']:.1f}x")
    if p_pld:
        print(f"PLD, {a.peer_pld_steps} composes: dp_accounting / ours = "
              f"{p_pld['cpu'] / o_pld_short['cpu']:.1f}x")
        extrap = p_pld["cpu"] * a.steps / a.peer_pld_steps
        print(f"PLD, {a.steps} composes: dp_accounting extrapolated ≥ {extrap:.1f} s "
              f"(linear; measured {p_pld['cpu']:.1f} s for {a.peer_pld_steps}) / ours "
              f"{o_pld['cpu']:.2f} s = ≥ {extrap / o_pld['cpu']:.0f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
