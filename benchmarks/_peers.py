"""The peer accountants, for the benchmarks: thin re-export of :mod:`accountant.interop.comparison`.

The guarded wrappers live in ``accountant/compare.py`` so that ``dp-accountant compare`` can
use them from an installed package (``benchmarks/`` is not installed). Each wrapper imports
its peer lazily; a missing peer raises :class:`Absent`, a mechanism it cannot express
:class:`Unsupported`. See that module's docstring for the settings each peer runs at.

    status()                      → {peer: "installed 0.6.0" | "not installed (...)"}
    run_peer(name, mech, delta, steps, **settings) → (lower, estimate, upper) of ε
"""
from __future__ import annotations

import os
import statistics
import sys
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

from accountant.interop.comparison import (BRACKETED, PEERS, Absent, Unsupported,  # noqa: E402,F401
                                clear_caches, installed_peers, peer_status, run_peer)

status = peer_status
installed = installed_peers
__all__ = ["PEERS", "BRACKETED", "Absent", "Unsupported", "status", "installed", "run_peer",
           "clear_caches"]


def median_time(fn, runs, clock=time.process_time):
    """(median seconds of ``runs`` calls of ``fn`` on ``clock``, the last call's result)."""
    times, out = [], None
    for _ in range(runs):
        t0 = clock()
        out = fn()
        times.append(clock() - t0)
    return statistics.median(times), out
