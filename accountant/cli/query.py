"""``dp-accountant epsilon`` and ``dp-accountant delta``: one query, by one method or all.

The mechanism comes from the flags or, with ``--state``, from a saved history.
"""
from __future__ import annotations

import argparse
from typing import Callable, Optional, Tuple

from ..accountants import api
from ..core._json import dumps
from ..core.mechanisms import ELS, Shuffle
from ._common import (SHUFFLE_NOTE, add_mechanism_args, fmt_bound, is_epoch_sampling,
                      mechanism_from_args, print_warnings, require, units)


def _other(quantity: str) -> str:
    """The quantity given on the command line when ``quantity`` is asked for."""
    return "delta" if quantity == "epsilon" else "epsilon"


def add_arguments(p: argparse.ArgumentParser, quantity: str) -> None:
    """Flags of ``dp-accountant epsilon`` (``quantity="epsilon"``) or ``delta``."""
    add_mechanism_args(p)
    if quantity == "epsilon":
        p.add_argument("--delta", type=float, default=None, help="delta in (0, 1) (required)")
    else:
        p.add_argument("--epsilon", type=float, default=None, help="epsilon >= 0 (required)")
    p.add_argument("--method", default=None,
                   help="pld | rdp | edgeworth | saddlepoint | group-vadhan | group-rdp | all")
    p.add_argument("--edgeworth-order", type=int, default=None, choices=(1, 2, 3))
    p.add_argument("--json", action="store_true", help="print JSON")
    p.add_argument("--state", default=None, metavar="FILE",
                   help="account a saved history: a PrivacyAccountant.save JSON state, or "
                        "an Opacus accountant state_dict/checkpoint saved with torch "
                        "(replaces the mechanism flags)")


def _missing_mechanism_flags(a: argparse.Namespace):
    """(attribute, flag) pairs every mechanism needs."""
    needed = [("noise_multiplier", "--noise-multiplier")]
    # a per-epoch sampler's rate is implied by its batch size
    if getattr(a, "mechanism", "gaussian") != "laplace" and not is_epoch_sampling(a.sampling):
        needed.append(("sample_rate", "--sample-rate"))
    if a.steps is None and a.epochs is None:
        needed.append(("steps", "--steps (or --epochs)"))
    return needed


def _method_options(a: argparse.Namespace, method: str) -> dict:
    opts = {}
    if method == "edgeworth" and a.edgeworth_order is not None:
        opts["order"] = a.edgeworth_order
    return opts


def _query_fn(a: argparse.Namespace, quantity: str) -> Tuple[Optional[object], Callable]:
    """(mechanism-or-schedule, function(method) -> Result) for the flags or a saved state."""
    other = _other(quantity)
    value = getattr(a, other)
    if a.state is not None:
        given = [f for attr, f in (("noise_multiplier", "--noise-multiplier"),
                                   ("sample_rate", "--sample-rate"), ("steps", "--steps"),
                                   ("epochs", "--epochs")) if getattr(a, attr) is not None]
        if given:
            raise ValueError(f"--state replaces the mechanism flags: drop {', '.join(given)}")
        require(a, [(other, f"--{other}")])
        # only --state needs the trainer accountant (and, for checkpoints, torch)
        from ..session.trainer import PrivacyAccountant
        acct = PrivacyAccountant.load(a.state)
        get = acct.get_epsilon if quantity == "epsilon" else acct.get_delta
        held = [m for m, _ in acct.history]
        if acct.partial_epoch is not None:
            held.append(acct.partial_epoch[0])
        return held, lambda method: get(value, method=method)
    require(a, _missing_mechanism_flags(a) + [(other, f"--{other}")])
    mech = mechanism_from_args(a)
    steps = units(mech, a.steps, a.epochs, a.sample_rate if a.sample_rate is not None else 1.0)
    return mech, lambda method: api.query(quantity, mech, value, steps=steps, method=method,
                                          **_method_options(a, method))


def _notes(mech, results) -> list:
    """What the reports must say besides the numbers: for shuffled batches, that the result
    is a bracket and Poisson accounting does not apply, with the accountant's own note."""
    held = mech if isinstance(mech, list) else [mech]
    if not any(isinstance(m, Shuffle) for m in held):
        return []
    notes = []
    for r in results:
        for key, val in (r.details or {}).items():
            # the shuffle loss's own note (details["notes"], a list); other methods' notes,
            # e.g. Edgeworth's, are in their rows already
            if "note" not in key:
                continue
            for text in (val if isinstance(val, (list, tuple)) else [val]):
                if isinstance(text, str) and "shuffl" in text.lower() and text not in notes:
                    notes.append(text)
    return notes or [SHUFFLE_NOTE]


def run(a: argparse.Namespace) -> int:
    """Answer the query ``a.command`` ("epsilon" or "delta"); returns the exit status."""
    quantity = a.command
    mech, run_method = _query_fn(a, quantity)
    methods = (api.built_methods() if a.method == "all"
               else (api.DEFAULT_METHOD if a.method is None else a.method,))
    if a.method == "all":
        # Group baselines apply only to ELS.
        if not isinstance(mech, ELS):
            methods = tuple(m for m in methods if not m.startswith("group-"))
    results, failures = [], []
    for method in methods:
        try:
            r = run_method(method)
        except (ValueError, NotImplementedError) as exc:
            if a.method != "all":
                raise
            failures.append((method, str(exc)))
            continue
        results.append(r)
    notes = _notes(mech, results)
    if a.json:
        payload = [r.as_dict() for r in results]
        for d in payload:
            if notes:
                d["notes"] = notes
                d["bracket"] = "[attack lower bound, unamplified upper bound]"
        payload += [{"method": m, "error": msg} for m, msg in failures]
        print(dumps(payload if a.method == "all" else payload[0]))
        return 0
    if a.method != "all":
        r = results[0]
        if r.certified:
            print(f"{quantity} = {float(r):.6g}   certified bracket [{fmt_bound(r.lower)}, "
                  f"{fmt_bound(r.upper)}]   {r.method}, {r.seconds:.3f} s")
        else:
            interval = ("its rigorous interval is vacuous" if r.vacuous else
                        f"rigorous interval [{fmt_bound(r.lower)}, {fmt_bound(r.upper)}]")
            print(f"{quantity} ~ {float(r):.6g}   ESTIMATE, not a proven bound ({interval})"
                  f"   {r.method}, {r.seconds:.3f} s")
        print_warnings(r.warnings)
        _print_notes(notes)
        return 0
    print(f"{'method':<13} {quantity:>12} {'lower':>12} {'upper':>12}  {'kind':<24} {'seconds':>8}")
    for r in results:
        kind = "certified" if r.certified else ("ESTIMATE, interval vacuous" if r.vacuous
                                                 else "ESTIMATE")
        print(f"{r.method:<13} {float(r):>12.6g} {fmt_bound(r.lower):>12} "
              f"{fmt_bound(r.upper):>12}  {kind:<24} {r.seconds:>8.3f}")
    for m, msg in failures:
        print(f"{m:<13} n/a: {msg}")
    for r in results:
        print_warnings(r.warnings, prefix=f"{r.method}: ")
    if any(not r.certified for r in results):
        print("ESTIMATE rows are approximations, not proven bounds: the true value may be "
              "larger.")
    _print_notes(notes)
    return 0


def _print_notes(notes) -> None:
    for note in notes:
        print(f"note: {note}")
