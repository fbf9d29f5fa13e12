"""The ``dp-accountant`` command.

Errors (bad arguments, bad values) print one line on stderr and exit with status 2.
"""
from __future__ import annotations

import argparse
import json
import math
import sys

from . import api
from .mechanisms import ELS, ULS, Gaussian, Laplace, SubsampledGaussian


class _UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2, no usage dump
        raise _UsageError(message)


def _add_mechanism_args(p: argparse.ArgumentParser, *, need_sigma: bool = True):
    p.add_argument("--noise-multiplier", type=float, required=False,
                   help="noise standard deviation per unit sensitivity (Laplace: scale)")
    p.add_argument("--sample-rate", type=float, default=1.0,
                   help="Poisson sampling rate q in (0, 1] (user rate for --sampling uls)")
    p.add_argument("--steps", type=float, default=1, help="number of steps (integer >= 1)")
    p.add_argument("--mechanism", choices=("gaussian", "laplace"), default="gaussian")
    p.add_argument("--sampling", choices=("poisson", "fixed", "els", "uls"), default="poisson",
                   help="poisson (default), fixed (replace-one), or user-level els|uls")
    p.add_argument("--examples-per-user", type=float, default=None,
                   help="user-level: max examples per user k (with --sampling els|uls)")
    p.add_argument("--neighboring", choices=("add_remove", "replace_one"), default=None)


def _add_method_args(p: argparse.ArgumentParser):
    p.add_argument("--method", default=None,
                   help="pld | rdp | edgeworth | saddlepoint | group-vadhan | group-rdp | all")
    p.add_argument("--edgeworth-order", type=int, default=None, choices=(1, 2, 3))
    p.add_argument("--json", action="store_true", help="print JSON")


def mechanism_from_args(a):
    """Build the mechanism the flags describe (shared by every subcommand)."""
    sigma, q = a.noise_multiplier, a.sample_rate
    if sigma is None:
        raise _UsageError("the following arguments are required: --noise-multiplier")
    k = a.examples_per_user
    if a.sampling in ("els", "uls"):
        if a.mechanism != "gaussian":
            raise ValueError("--sampling els|uls requires --mechanism gaussian")
        if a.sampling == "els":
            if k is None:
                raise ValueError("--examples-per-user is required with --sampling els")
            return ELS(sigma, q, k)
        return ULS(sigma, q, k)
    if k is not None and k != 1:
        raise ValueError("--examples-per-user needs --sampling els or uls")
    neighboring = a.neighboring
    if a.mechanism == "laplace":
        if q != 1.0:
            raise ValueError("--sample-rate must be 1 for --mechanism laplace")
        return Laplace(sigma, neighboring or "add_remove")
    if q == 1.0 and a.sampling == "poisson":
        return Gaussian(sigma, neighboring or "add_remove")
    return SubsampledGaussian(sigma, q, a.sampling, neighboring)


def _method_options(a, method):
    opts = {}
    if method == "edgeworth" and a.edgeworth_order is not None:
        opts["order"] = a.edgeworth_order
    return opts


def _query_fn(a, quantity):
    """(mechanism-or-None, function(method) -> Result) for the flags or a saved state."""
    at = {"delta": a.delta} if quantity == "epsilon" else {"epsilon": a.epsilon}
    if a.state is not None:
        if a.noise_multiplier is not None:
            raise ValueError("--state replaces the mechanism flags: drop --noise-multiplier")
        from .session import PrivacyAccountant
        acct = PrivacyAccountant.load(a.state)
        get = acct.get_epsilon if quantity == "epsilon" else acct.get_delta
        value = a.delta if quantity == "epsilon" else a.epsilon
        return None, lambda method: get(value, method=method)
    mech = mechanism_from_args(a)
    fn = api.epsilon if quantity == "epsilon" else api.delta
    return mech, lambda method: fn(mech, steps=a.steps, method=method, **at,
                                   **_method_options(a, method))


def _run_query(a, quantity):
    mech, run = _query_fn(a, quantity)
    methods = api.built_methods() if a.method == "all" else (a.method or api.DEFAULT_METHOD,)
    if a.method == "all":
        # Group baselines apply only to ELS.
        if not isinstance(mech, ELS):
            methods = tuple(m for m in methods if not m.startswith("group-"))
    results, failures = [], []
    for method in methods:
        try:
            r = run(method)
        except (ValueError, NotImplementedError) as exc:
            if a.method != "all":
                raise
            failures.append((method, str(exc)))
            continue
        results.append(r)
    if a.json:
        payload = [r.as_dict() for r in results]
        payload += [{"method": m, "error": msg} for m, msg in failures]
        print(json.dumps(payload if a.method == "all" else payload[0]))
        return 0
    if a.method != "all":
        r = results[0]
        kind = "certified" if r.certified else "ESTIMATE (not certified)"
        extra = " — the rigorous interval is vacuous" if r.vacuous and not r.certified else ""
        print(f"{quantity} = {float(r):.6g}   [{_fmt(r.lower)}, {_fmt(r.upper)}]   "
              f"{r.method}, {kind}{extra}, {r.seconds:.3f} s")
        return 0
    print(f"{'method':<13} {quantity:>12} {'lower':>12} {'upper':>12}  {'kind':<24} {'seconds':>8}")
    for r in results:
        kind = "certified" if r.certified else ("estimate, interval vacuous" if r.vacuous
                                                 else "estimate")
        print(f"{r.method:<13} {float(r):>12.6g} {_fmt(r.lower):>12} {_fmt(r.upper):>12}  "
              f"{kind:<24} {r.seconds:>8.3f}")
    for m, msg in failures:
        print(f"{m:<13} n/a: {msg}")
    return 0


def _fmt(x: float) -> str:
    return "inf" if math.isinf(x) else f"{x:.6g}"


# Subcommands that live beside the code they drive: each module defines
# ``add_arguments(parser)`` and ``run(args) -> int`` and may reuse the helpers above
# (``_add_mechanism_args``, ``_add_method_args``, ``mechanism_from_args``).
_PLUGINS = {
    "calibrate": ("accountant.calibration", "noise multiplier for a target epsilon"),
    "table": ("accountant.tables", "noise-multiplier lookup table over a grid"),
    "user-level": ("accountant.user_level", "contribution bound from examples-per-user counts"),
    "compare": ("accountant.comparison", "all methods and installed peers side by side"),
}


def _plugin(name):
    import importlib
    module, _ = _PLUGINS[name]
    try:
        return importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name != module:
            raise
        return None


def build_parser(command: str | None = None) -> argparse.ArgumentParser:
    """The argument parser; only the plugin named by ``command`` is imported (start-up
    time matters for scripts that call the CLI in a loop)."""
    parser = _Parser(prog="dp-accountant",
                     description="Certified privacy accounting (RDP, PLD, Edgeworth, saddle point).")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)
    pe = sub.add_parser("epsilon", help="epsilon at a given delta")
    _add_mechanism_args(pe)
    pe.add_argument("--delta", type=float, required=True)
    _add_method_args(pe)
    pd = sub.add_parser("delta", help="delta at a given epsilon")
    _add_mechanism_args(pd)
    pd.add_argument("--epsilon", type=float, required=True)
    _add_method_args(pd)
    for p in (pe, pd):
        p.add_argument("--state", default=None, metavar="FILE",
                       help="account a history saved by PrivacyAccountant.save (replaces the "
                            "mechanism flags)")
    for name, (_, help_text) in _PLUGINS.items():
        if name != command:
            sub.add_parser(name, help=help_text, add_help=False)
            continue
        mod = _plugin(name)
        if mod is not None:
            mod.add_arguments(sub.add_parser(name, help=help_text))
    return parser


def main(argv=None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    try:
        parser = build_parser(argv[0] if argv else None)
        a = parser.parse_args(argv)
        if a.command is None:
            parser.print_help()
            return 2
        if a.command in ("epsilon", "delta"):
            return _run_query(a, a.command)
        if a.command in _PLUGINS:
            mod = _plugin(a.command)
            if mod is None:
                raise NotImplementedError(f"command {a.command!r} is not built yet")
            return mod.run(a)
        raise _UsageError(f"unknown command {a.command!r}")
    except (_UsageError, ValueError, NotImplementedError) as exc:
        msg = str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__
        print(f"dp-accountant: error: {msg}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("dp-accountant: interrupted", file=sys.stderr)
        return 130


if __name__ == "__main__":  # pragma: no cover
    raise SystemExit(main())
