"""Random allocation (k of t steps per epoch): our PLD accountant vs pld-accounting 2.0,
side by side in one process.

    python benchmarks/bench_samplers.py [--runs 3] [--quick] [--wall]

Each figure is the median of ``--runs`` runs (CPU seconds of this process,
time.process_time; ``--wall`` for wall-clock). Our caches (the one-epoch bounds and the
PLD grids) are cleared before every run, so each timing includes building the epoch's
pairs (docs/math.md §12). pld-accounting (``pip install pld-accounting==2.0``, the
``bench`` extra) is optional; it is run twice per case: at its default accuracy, and at
an absolute accuracy ``epsilon_accuracy`` equal to our bracket's width ("equal"), skipped
with ``--quick`` (minutes to hours per case: at σ = 1, t = 100, 10 epochs, δ = 1e-5 it did
not reach an absolute accuracy of 0.01 within 300 s, nor 0.003 within 600 s, on a 2-core
machine; ours is 0.0016 wide in 75 ms there). Its result is (upper, lower): a bracket
like ours.
"""
from __future__ import annotations

import argparse
import time
import warnings

import accountant as acc
from accountant.accountants.pld import onestep
from accountant.core.mechanisms import RandomAllocation
from accountant.loss import privacy_losses
from accountant.loss.random_allocation import _Tables
from _peers import median_time  # noqa: E402

_CLOCK = time.process_time

#: (σ, t, k, epochs, δ)
CASES = [
    (1.0, 100, 1, 10, 1e-5),
    (2.0, 1000, 1, 10, 1e-6),
    (0.8, 10, 1, 50, 1e-8),
    (5.0, 100, 1, 1, 1e-5),
    (2.0, 100, 10, 1, 1e-6),   # dp_accounting PR #414's test case (k > 1)
]


def _median_time(fn, runs):
    return median_time(fn, runs, _CLOCK)     # _CLOCK is read at call time (--wall)


def ours(sigma, t, k, epochs, delta, runs):
    mech = RandomAllocation(sigma, t, k)

    def run():
        onestep._CACHE.clear()
        privacy_losses.cache_clear()
        _Tables._cache.clear()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return acc.epsilon(mech, delta=delta, steps=epochs, method="pld")
    run()  # numba cache load happens once per process
    return _median_time(run, runs)


def pld_accounting(sigma, t, k, epochs, delta, runs, accuracy=-1.0):
    try:
        from PLD_accounting import gaussian_allocation_epsilon_range
    except ImportError:
        return None

    def run():
        return gaussian_allocation_epsilon_range(delta=delta, sigma=sigma, num_steps=t,
                                                 num_selected=k, num_epochs=epochs,
                                                 epsilon_accuracy=accuracy)
    return _median_time(run, runs)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--quick", action="store_true",
                    help="pld-accounting at its default accuracy only")
    ap.add_argument("--wall", action="store_true", help="wall-clock instead of CPU time")
    ap.add_argument("--cases", type=str, default=None,
                    help="comma-separated indices into CASES (default: all)")
    ap.add_argument("--peer-accuracy", type=float, default=None,
                    help="also run pld-accounting at this absolute epsilon accuracy, which "
                         "must be at least our bracket's width: pld-accounting is then *less* "
                         "accurate than ours, so the time ratio is a lower bound on the "
                         "ratio at equal accuracy (its equal-accuracy runs take minutes to "
                         "hours)")
    args = ap.parse_args(argv)
    global _CLOCK
    if args.wall:
        _CLOCK = time.perf_counter
    cases = (CASES if args.cases is None
             else [CASES[int(i)] for i in args.cases.split(",")])
    for sigma, t, k, epochs, delta in cases:
        print(f"== random allocation σ={sigma}, t={t}, k={k}, epochs={epochs}, δ={delta:g} ==")
        t_ours, r = ours(sigma, t, k, epochs, delta, args.runs)
        width = r.upper - r.lower
        print(f"ours (pld)             [{r.lower:.6f}, {r.upper:.6f}] width {width:.2e}  "
              f"{t_ours * 1e3:9.1f} ms")
        peer = pld_accounting(sigma, t, k, epochs, delta, args.runs)
        if peer is None:
            print("pld-accounting         not installed")
            continue
        tp, (up, lo) = peer
        print(f"pld-accounting default [{lo:.6f}, {up:.6f}] width {up - lo:.2e}  "
              f"{tp * 1e3:9.1f} ms  → ours {tp / t_ours:.1f}× faster, bracket "
              f"{(up - lo) / width:.0f}× wider")
        if args.peer_accuracy is not None:
            if args.peer_accuracy < width:
                print(f"pld-accounting coarse  skipped: --peer-accuracy {args.peer_accuracy:g} "
                      f"is below our width {width:.2e} (not a fair lower bound)")
            else:
                tp, (up, lo) = pld_accounting(sigma, t, k, epochs, delta, 1,
                                              accuracy=args.peer_accuracy)
                print(f"pld-accounting @{args.peer_accuracy:g} [{lo:.6f}, {up:.6f}] width "
                      f"{up - lo:.2e}  {tp * 1e3:9.1f} ms (1 run)  → ours ≥ "
                      f"{tp / t_ours:.1f}× faster at equal accuracy (theirs is less accurate)")
        if not args.quick and k == 1:
            tp, (up, lo) = pld_accounting(sigma, t, k, epochs, delta, 1, accuracy=width)
            print(f"pld-accounting equal   [{lo:.6f}, {up:.6f}] width {up - lo:.2e}  "
                  f"{tp * 1e3:9.1f} ms (1 run)  → ours {tp / t_ours:.1f}× faster")


if __name__ == "__main__":
    main()
