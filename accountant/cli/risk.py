"""``dp-accountant risk``: what ε means for an attacker, as brackets (docs/math.md §15).

    dp-accountant risk --noise-multiplier 1.1 --sample-rate 0.0042667 --epochs 60
    dp-accountant risk ... --fpr 1e-3 1e-5 1e-10 --prior 0.01 --baseline 0.001 --json
    dp-accountant risk ... --plot roc.png            # ROC with the certified band

The mechanism flags are those of ``dp-accountant epsilon``. One line per quantity:

* TPR at each ``--fpr``: the largest true-positive rate of any membership-inference test
  at that false-positive rate. Default FPRs 1e-3 and 1e-5 (0.1 % and 0.001 %, the
  low-FPR operating points membership-inference papers report since Carlini et al. 2022);
* the attack advantage (TPR − FPR at its best, δ at ε = 0);
* the Bayes success of an attacker with prior ``--prior`` (default 0.5) on membership;
* the reconstruction risk against a ``--baseline`` success probability (only when given);
* with ``--gdp-fit`` (and always with ``--plot``), the closest μ-GDP curve's μ and its
  regret (opt-in in the text: the fit reads the whole profile, the other lines one point
  each);
* ε at ``--delta`` when given (the figure these risks explain).

Each line carries its bracket and the word "certified" (both ends proven bounds) or
"ESTIMATE" (an approximation, not a bound), as ``dp-accountant epsilon`` does. ``--json``
prints ``{"setting", "results": [RiskResult.as_dict() ...], "curve"?, "plot"?}`` in the
house schema. ``--plot FILE`` draws the ROC (:mod:`accountant.interop.risk_plot`);
``--curve`` prints the trade-off curve's grid (also in the JSON).

``--rtol`` sets the relative width of the TPR, reconstruction and μ-GDP brackets (default
1e-3); the advantage and the Bayes success are one δ(ε) query each, at the method's own
accuracy. The curve of the plot and of ``--curve`` is computed at 1e-2 (the default of
:func:`accountant.tradeoff`) or at ``--rtol`` when that is looser.
"""
from __future__ import annotations

import argparse
from typing import List

from ..core import _validate as v
from ..core._json import dumps
from ._common import (add_mechanism_args, describe, fmt_bound, is_epoch_sampling,
                      mechanism_from_args, print_warnings, require, units)
from .query import _missing_mechanism_flags, _notes, _print_notes

#: the false-positive rates asked by default: the 0.1 % and 0.001 % operating points
DEFAULT_FPRS = (1e-3, 1e-5)
#: the methods that can bound a privacy profile over all ε (the group baselines cannot)
METHODS = ("pld", "rdp", "edgeworth", "saddlepoint")
#: the curve's relative accuracy unless --rtol is looser (accountant.tradeoff's default)
_CURVE_RTOL = 1e-2


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Flags of ``dp-accountant risk``."""
    add_mechanism_args(p)
    p.add_argument("--fpr", type=float, nargs="+", default=None, metavar="ALPHA",
                   help="false-positive rates in (0, 1) for the TPR brackets "
                        "(default: 1e-3 1e-5)")
    p.add_argument("--prior", type=float, default=0.5,
                   help="the attacker's prior that the target is a member, in (0, 1), for "
                        "the Bayes success (default 0.5)")
    p.add_argument("--baseline", type=float, default=None,
                   help="reconstruction: the success probability of the best guess without "
                        "the model, in (0, 1) (optional; no reconstruction line without it)")
    p.add_argument("--delta", type=float, default=None,
                   help="also print epsilon at this delta in (0, 1) (optional)")
    p.add_argument("--method", default="pld", choices=METHODS,
                   help="pld (default, certified) | rdp (certified, loose) | edgeworth | "
                        "saddlepoint (estimates, labelled)")
    p.add_argument("--rtol", type=float, default=None,
                   help="relative width of the TPR, reconstruction and mu-GDP brackets "
                        "(default 1e-3; advantage and Bayes success are one delta query each "
                        "at the method's own accuracy)")
    p.add_argument("--gdp-fit", action="store_true",
                   help="also fit the closest mu-GDP curve: its mu and regret as brackets, "
                        "and the fitted curve on the plot (slower: it reads the whole curve)")
    p.add_argument("--curve", action="store_true",
                   help="also print the trade-off curve beta(alpha) with its band")
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--plot", metavar="FILE", default=None,
                   help="draw the ROC (log-log, certified band) into FILE (.png, .pdf, .svg, ...)")


def _metric(name: str):
    """The risk layer's function ``name`` (:mod:`accountant.risk.metrics`; a seam the
    tests replace)."""
    from .. import risk
    return getattr(risk, name)


def _label(r) -> str:
    """The text report's name of one result."""
    at = getattr(r, "at", {}) or {}
    names = {"tpr": "TPR", "advantage": "advantage", "bayes_success": "Bayes success",
             "reconstruction_bound": "reconstruction success", "gdp_mu": "mu-GDP mu",
             "gdp_regret": "mu-GDP regret"}
    name = names.get(r.quantity, r.quantity)
    if at:
        name += " at " + ", ".join(f"{k.upper() if k == 'fpr' else k}={val:g}"
                                    if isinstance(val, float) else f"{k}={val}"
                                    for k, val in at.items())
    return name


def _line(label: str, r, width: int) -> str:
    """One result as ``epsilon`` prints it: value, bracket, certified / ESTIMATE."""
    if r.certified:
        return (f"{label:<{width}} = {float(r):<11.6g} certified bracket "
                f"[{fmt_bound(r.lower)}, {fmt_bound(r.upper)}]   {r.method}, {r.seconds:.3f} s")
    return (f"{label:<{width}} ~ {float(r):<11.6g} ESTIMATE, not a proven bound (rigorous "
            f"interval [{fmt_bound(r.lower)}, {fmt_bound(r.upper)}])   {r.method}, "
            f"{r.seconds:.3f} s")


def _fit_results(fit) -> List:
    """The RiskResults a μ-GDP fit holds (its μ bracket, its regret) for the report."""
    out = []
    for attr in ("mu", "regret"):
        r = getattr(fit, attr, None)
        if hasattr(r, "certified") and hasattr(r, "quantity"):
            out.append(r)
    return out


def _check(a: argparse.Namespace) -> dict:
    """Every flag checked before any work; returns the validated values."""
    fprs = DEFAULT_FPRS if a.fpr is None else tuple(dict.fromkeys(a.fpr))   # once each
    out = {"fprs": tuple(v.open_probability("--fpr", x) for x in fprs),
           "prior": v.open_probability("--prior", a.prior),
           "baseline": (None if a.baseline is None
                        else v.open_probability("--baseline", a.baseline)),
           "delta": None if a.delta is None else v.delta("--delta", a.delta),
           "rtol": None if a.rtol is None else v.positive("--rtol", a.rtol)}
    if a.plot is not None:
        # Before any work: matplotlib present, a known format, a writable directory.
        from ..calibration.tables import check_output
        from ..interop._plotting import plot_formats
        check_output(a.plot, plot_formats(), "--plot")
    return out


def run(a: argparse.Namespace) -> int:
    """Compute and print the risks; returns the exit status."""
    from .. import risk
    from ..accountants import api
    require(a, _missing_mechanism_flags(a))
    mech = mechanism_from_args(a)
    steps = units(mech, a.steps, a.epochs, a.sample_rate if a.sample_rate is not None else 1.0)
    c = _check(a)
    kw = {"method": a.method}
    if c["rtol"] is not None:
        kw["rtol"] = c["rtol"]
    results = []
    eps = None
    if c["delta"] is not None:
        eps = api.query("epsilon", mech, c["delta"], steps=steps, method=a.method)
    for f in c["fprs"]:
        results.append(risk.tpr(mech, f, steps, **kw))
    # advantage and Bayes success are one δ(ε) query each, at the method's own accuracy
    # (only the PLD takes an rtol there); the others bracket a curve point to --rtol
    for name, args, opts in (("advantage", (), {"method": a.method}),
                             ("bayes_success", (c["prior"],), {"method": a.method}),
                             ("reconstruction_risk", (c["baseline"],), kw)):
        if name == "reconstruction_risk" and c["baseline"] is None:
            continue
        fn = _metric(name)
        results.append(fn(mech, *args, steps, **opts))
    # the plot always shows the fit (a PLD fit takes a second or two; other methods more)
    fit_fn = _metric("gdp_fit") if (a.gdp_fit or a.plot is not None) else None
    fit = fit_fn(mech, steps, **kw) if fit_fn is not None else None
    curve = None
    if a.plot is not None or a.curve:
        curve_rtol = max(_CURVE_RTOL, c["rtol"] or 0.0)
        if a.plot is not None:
            from ..interop.risk_plot import roc_data
            curve, _ = roc_data(mech, steps, a.method, rtol=curve_rtol)
        else:
            curve = risk.tradeoff(mech, steps, method=a.method, rtol=curve_rtol)
    title = describe(mech, steps, unit="epochs" if is_epoch_sampling(a.sampling) else "steps")
    notes = _notes(mech, results)
    if a.plot is not None:
        from ..interop import risk_plot
        risk_plot.plot(curve, a.plot, fit=fit, points=results, title=f"{title} ({a.method})")
    if a.json:
        out = {"setting": {"mechanism": repr(mech), "steps": steps, "method": a.method},
               "results": ([eps.as_dict()] if eps is not None else [])
                          + [r.as_dict() for r in results]}
        if fit is not None:
            out["gdp_fit"] = (fit.as_dict() if hasattr(fit, "as_dict")
                              else [r.as_dict() for r in _fit_results(fit)])
        if curve is not None and a.curve:
            out["curve"] = curve.as_dict()
        if a.plot is not None:
            out["plot"] = a.plot
        if notes:
            out["notes"] = notes
            out["bracket"] = "[attack lower bound, unamplified upper bound]"
        print(dumps(out))
        return 0
    print(title)
    shown = results + (_fit_results(fit) if fit is not None else [])
    labels = [_label(r) for r in shown]
    width = max([len(s) for s in labels] + [len("epsilon at delta=1e-05")])
    if eps is not None:
        print(_line(f"epsilon at delta={c['delta']:g}", eps, width))
    for label, r in zip(labels, shown):
        print(_line(label, r, width))
    if fit is not None and not _fit_results(fit):
        print(f"mu-GDP fit: {fit}")
    if curve is not None and a.curve:
        print(curve)
    for r in ([eps] if eps is not None else []) + shown:
        print_warnings(r.warnings, prefix=f"{getattr(r, 'quantity', 'epsilon')}: ")
    if any(not r.certified for r in shown):
        print("ESTIMATE rows are approximations, not proven bounds: the true risk may be "
              "larger.")
    _print_notes(notes)
    if a.plot is not None:
        print(f"plot written to {a.plot}")
    return 0

