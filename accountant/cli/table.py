"""``dp-accountant table``: a noise-multiplier table over a grid, written to a file
(:func:`accountant.tables.noise_table`, :func:`accountant.tables.write_table`)."""
from __future__ import annotations

import argparse
import sys
import time

from ._common import flag_names


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Flags of ``dp-accountant table``."""
    p.add_argument("--epsilon", required=True, help="comma-separated target epsilons")
    p.add_argument("--delta", required=True, help="comma-separated deltas")
    p.add_argument("--sample-rate", required=True, help="comma-separated sample rates")
    p.add_argument("--epochs", default=None, help="comma-separated epochs (steps = ceil(e/q))")
    p.add_argument("--steps", default=None, help="comma-separated step counts")
    p.add_argument("--method", default="pld",
                   help="pld | rdp | saddlepoint | edgeworth (edgeworth: estimates only)")
    p.add_argument("--sampling", choices=("poisson", "fixed", "truncated", "els", "uls"),
                   default=None, help="poisson (default), fixed, truncated (with "
                   "--dataset-size and --max-batch-size), els|uls (user level)")
    p.add_argument("--examples-per-user", type=float, default=None)
    p.add_argument("--dataset-size", type=float, default=None,
                   help="n, records in the dataset (--sampling truncated)")
    p.add_argument("--max-batch-size", type=float, default=None,
                   help="B, the batch size a truncated-Poisson batch is cut to")
    p.add_argument("--rtol", type=float, default=1e-3)
    p.add_argument("--workers", type=int, default=None, help="processes (default: all cores)")
    p.add_argument("--dask-scheduler", default=None,
                   help="Dask scheduler address (tcp://host:port); chunks run there")
    p.add_argument("--output", required=True, help="FILE.csv | FILE.json | FILE.md")
    p.add_argument("--no-progress", action="store_true",
                   help="no progress bar (terminal) or progress lines (otherwise) on stderr")


def run(a: argparse.Namespace) -> int:
    """Compute the table, write it to ``--output`` and print a one-line summary (and, on
    stderr, a warning when some noise multipliers are only estimates)."""
    # Imported only now, so that `table --help` answers at once.
    from ..core import _validate as v
    from ..calibration.tables import TABLE_FORMATS, check_output, noise_table, write_table
    # Every argument is checked before the (possibly long) computation starts.
    check_output(a.output, TABLE_FORMATS, "--output")
    k = a.examples_per_user
    if k is not None:
        k = v.count("examples_per_user", k)
    t0 = time.perf_counter()
    try:
        rows = noise_table(a.epsilon, a.delta, a.sample_rate, epochs=a.epochs, steps=a.steps,
                           method=a.method, examples_per_user=k, sampling=a.sampling,
                           dataset_size=a.dataset_size, max_batch_size=a.max_batch_size,
                           rtol=a.rtol, workers=a.workers, dask_scheduler=a.dask_scheduler,
                           progress=False if a.no_progress else "auto")
    except ValueError as exc:
        raise ValueError(flag_names(str(exc))) from None
    write_table(rows, a.output)
    bad = sum(1 for r in rows if r.get("error"))
    warned = sum(1 for r in rows if r.get("warnings"))
    estimates = sum(1 for r in rows if r.get("kind") == "estimate")
    msg = f"wrote {len(rows)} cells to {a.output} in {time.perf_counter() - t0:.1f} s"
    notes = []
    if bad:
        notes.append(f"{bad} out of range: see the error column")
    if warned:
        notes.append(f"{warned} with warnings: see the warnings column")
    if notes:
        msg += " (" + "; ".join(notes) + ")"
    print(msg)
    if estimates:
        methods = ", ".join(sorted({r["method"] for r in rows if r.get("kind") == "estimate"}))
        print(f"dp-accountant: warning: {estimates} of {len(rows)} noise multipliers are "
              f"estimates ({methods}), not guarantees: the epsilon such a sigma really spends "
              "can be far above the target (kind=estimate in the table); use --method pld for "
              "certified values", file=sys.stderr)
    return 0
