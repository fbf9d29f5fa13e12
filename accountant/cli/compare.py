"""``dp-accountant compare``: our methods beside the installed peers, as a text table, JSON
or a plot of epsilon against steps with the attacker's certified ROC beside it
(:func:`accountant.comparison.compare`, :func:`accountant.comparison.curves`,
:func:`accountant.comparison.plot`, :func:`accountant.interop.risk_plot.roc_data`)."""
from __future__ import annotations

import argparse
from typing import List, Optional

from ..core import _validate as v
# The defaults of the flags come from here; its heavy peers load only inside its functions.
from ..interop import comparison
from ..core._json import dumps
from ._common import add_mechanism_args, describe, fmt_bound, mechanism_from_args


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Flags of ``dp-accountant compare``; every one has a default (the README's MNIST
    example, :data:`accountant.comparison.DEFAULT`)."""
    default = comparison.DEFAULT
    # the peers account Poisson-family samplers only
    add_mechanism_args(p, samplings=("poisson", "fixed", "els", "uls"))
    p.add_argument("--delta", type=float, default=default["delta"], help="delta in (0, 1)")
    p.add_argument("--method", default=None,
                   help="comma-separated methods of ours (default: every built one)")
    p.add_argument("--peers", default="installed",
                   help="'installed' (default), 'none', or comma-separated peer names")
    p.add_argument("--repeat", type=int, default=2,
                   help="calls per entry; the first is a warm-up (default 2)")
    p.add_argument("--plot", metavar="FILE", default=None,
                   help="draw epsilon vs steps and the attacker's ROC into FILE "
                        "(.png, .pdf, .svg, ...)")
    p.add_argument("--points", type=int, default=8, help="step counts on the plot (default 8)")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.set_defaults(noise_multiplier=default["noise_multiplier"],
                   sample_rate=default["sample_rate"], steps=default["steps"])


def _label(r: dict) -> str:
    return f"{r['name']} (ours)" if r["source"] == "ours" else r["name"]


def _remarks(r: dict, ref: Optional[dict]) -> str:
    """The row's flag against our bracket, then its note."""
    out = []
    where = r.get("outside_certified_bracket")
    if where == "below":
        out.append(f"BELOW our certified lower bound {ref['lower']:.6g}: under-reports epsilon")
    elif where == "above":
        out.append(f"above our certified upper bound {ref['upper']:.6g}")
    if r.get("note"):
        out.append(r["note"])
    return "; ".join(out)


def _warning_lines(rows: List[dict]) -> List[str]:
    return [f"{_label(r)}: {w}" for r in rows if "error" not in r for w in r.get("warnings", ())]


def run(a: argparse.Namespace) -> int:
    """Compare, then print the table (or JSON) and draw the plot if asked."""
    mech = mechanism_from_args(a)
    steps = v.count("steps", a.steps)
    methods = None if a.method in (None, "all") else tuple(
        m.strip() for m in a.method.split(",") if m.strip())
    if a.peers == "installed":
        peers = True
    elif a.peers == "none":
        peers = False
    else:
        peers = tuple(s.strip() for s in a.peers.split(",") if s.strip())
    if a.repeat < 1:
        raise ValueError(f"--repeat must be >= 1, got {a.repeat}")
    if a.points < 2:
        raise ValueError(f"--points must be >= 2, got {a.points}")
    if a.plot is not None:
        # Before any work: matplotlib present, a known format, a writable directory.
        from ..calibration.tables import check_output
        check_output(a.plot, comparison.plot_formats(), "--plot")
    rows = comparison.compare(mech, a.delta, steps, methods=methods, peers=peers,
                              repeat=a.repeat)
    if a.plot is not None:
        data = comparison.curves(mech, a.delta, steps, methods=methods, peers=peers,
                                 points=a.points)
        roc = fit = None
        try:
            from ..interop.risk_plot import roc_data
            roc, fit = roc_data(mech, steps, fit=True)
        except (ValueError, NotImplementedError) as exc:  # the ε panels stand on their own
            roc_error = str(exc).splitlines()[0]
        comparison.plot(data, a.plot, title=describe(mech, steps, a.delta), delta=a.delta,
                        roc=roc, roc_fit=fit)
    warns = _warning_lines(rows)
    if a.plot is not None and roc is None:
        warns.append(f"plot: no ROC panel ({roc_error})")
    if a.json:
        out = {"setting": {"mechanism": repr(mech), "steps": steps, "delta": a.delta},
               "results": rows, "warnings": warns}
        if a.plot is not None:
            out["plot"] = a.plot
        print(dumps(out))
        return 0
    print(describe(mech, steps, a.delta))
    ours = [r for r in rows if r["source"] == "ours" and "error" not in r]
    ref = comparison.reference_row(rows)
    timing = ref or (ours[0] if ours else None)
    vs = f"vs {timing['name']}" if timing else ""
    print(f"{'method':<20} {'epsilon':>10} {'lower':>10} {'upper':>10}  {'kind':<9}"
          f" {'seconds':>8} {vs:>8}  remarks")
    for r in rows:
        if "error" in r:
            print(f"{_label(r):<20} n/a: {r['error']}")
            continue
        ratio = (f"{r['seconds'] / timing['seconds']:7.1f}x"
                 if timing and timing["seconds"] > 0 else "")
        print(f"{_label(r):<20} {r['epsilon']:>10.6g} {fmt_bound(r['lower']):>10} "
              f"{fmt_bound(r['upper']):>10}  {r['kind']:<9} {r['seconds']:>8.3f} {ratio:>8}  "
              f"{_remarks(r, ref)}".rstrip())
    for w in warns:
        print(f"warning: {w}")
    if a.plot is not None:
        print(f"plot written to {a.plot}")
    return 0
