"""The ``dp-accountant`` command.

Errors (bad arguments, bad values, no command at all) print one line
``dp-accountant: error: ...`` on stderr and exit with status 2 (:func:`main` returns 2);
``--help`` (also ``<command> --help``) prints the help and exits with status 0.
"""
from __future__ import annotations

import argparse
import math
import sys
import warnings

from .accountants import api
from .core._json import dumps
from .core.bounds import AccountantWarning
from .core.mechanisms import ELS, from_parameters


class _UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2, no usage dump
        raise _UsageError(message)


def add_rate_and_steps(p: argparse.ArgumentParser) -> None:
    """--sample-rate and --steps | --epochs: no defaults (each changes the answer)."""
    p.add_argument("--sample-rate", type=float, default=None,
                   help="Poisson sampling rate q in [0, 1] (user rate for --sampling uls); "
                        "required: give 1 for full batches")
    p.add_argument("--steps", type=float, default=None,
                   help="number of steps (integer >= 1); required unless --epochs is given")
    p.add_argument("--epochs", type=float, default=None,
                   help="alternative to --steps: steps = ceil(epochs / sample_rate)")


def _add_mechanism_args(p: argparse.ArgumentParser, *, need_sigma: bool = True):
    p.add_argument("--noise-multiplier", type=float, required=False,
                   help="noise standard deviation per unit sensitivity (Laplace: scale)")
    add_rate_and_steps(p)
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


def require(a, needed) -> None:
    """Refuse a call that leaves out a quantity which changes the answer: ``needed`` holds
    (attribute, flag text) pairs; every missing one is listed in one line."""
    missing = [flag for attr, flag in needed if getattr(a, attr, None) is None]
    if missing:
        raise _UsageError("missing required arguments (no default is assumed for a quantity "
                          "that changes the answer): " + ", ".join(missing))


def steps_from(steps, epochs, sample_rate) -> int:
    """Steps from --steps or --epochs (ceil(epochs / q)); exactly one must be given."""
    from .core import _validate as v
    if steps is not None and epochs is not None:
        raise ValueError("give one of --steps or --epochs, not both")
    if steps is not None:
        return v.count("steps", steps)
    e = v.positive("epochs", epochs)
    q = v.sample_rate("sample_rate", sample_rate)
    steps = e / q - 1e-9
    if not steps <= v.MAX_COUNT:
        # a subnormal rate made e/q infinite (OverflowError in ceil)
        raise ValueError(f"--epochs {e:g} at --sample-rate {q:g} is more than "
                         f"{v.MAX_COUNT} steps (the largest count computed exactly)")
    return max(1, math.ceil(steps))


def _missing_mechanism_flags(a):
    """(attribute, flag) pairs every mechanism needs."""
    needed = [("noise_multiplier", "--noise-multiplier")]
    if getattr(a, "mechanism", "gaussian") != "laplace":
        needed.append(("sample_rate", "--sample-rate"))
    if a.steps is None and a.epochs is None:
        needed.append(("steps", "--steps (or --epochs)"))
    return needed


def mechanism_from_args(a):
    """Build the mechanism the flags describe (shared by every subcommand)."""
    q = 1.0 if a.sample_rate is None and a.mechanism == "laplace" else a.sample_rate
    if a.sampling == "els" and a.examples_per_user is None:
        raise ValueError("--examples-per-user is required with --sampling els")
    return from_parameters(a.noise_multiplier, q, sampling=a.sampling,
                           examples_per_user=a.examples_per_user, mechanism=a.mechanism,
                           neighboring=a.neighboring)


def _method_options(a, method):
    opts = {}
    if method == "edgeworth" and a.edgeworth_order is not None:
        opts["order"] = a.edgeworth_order
    return opts


def _query_fn(a, quantity):
    """(mechanism-or-None, function(method) -> Result) for the flags or a saved state."""
    other = "delta" if quantity == "epsilon" else "epsilon"
    value = getattr(a, other)
    if a.state is not None:
        given = [f for attr, f in (("noise_multiplier", "--noise-multiplier"),
                                   ("sample_rate", "--sample-rate"), ("steps", "--steps"),
                                   ("epochs", "--epochs")) if getattr(a, attr) is not None]
        if given:
            raise ValueError(f"--state replaces the mechanism flags: drop {', '.join(given)}")
        require(a, [(other, f"--{other}")])
        from .session.trainer import PrivacyAccountant
        acct = PrivacyAccountant.load(a.state)
        get = acct.get_epsilon if quantity == "epsilon" else acct.get_delta
        return None, lambda method: get(value, method=method)
    require(a, _missing_mechanism_flags(a) + [(other, f"--{other}")])
    mech = mechanism_from_args(a)
    steps = steps_from(a.steps, a.epochs, a.sample_rate if a.sample_rate is not None else 1.0)
    return mech, lambda method: api.query(quantity, mech, value, steps=steps, method=method,
                                          **_method_options(a, method))



def _run_query(a, quantity):
    mech, run = _query_fn(a, quantity)
    methods = api.built_methods() if a.method == "all" else (api.DEFAULT_METHOD if a.method is None else a.method,)
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
        print(dumps(payload if a.method == "all" else payload[0]))
        return 0
    if a.method != "all":
        r = results[0]
        if r.certified:
            print(f"{quantity} = {float(r):.6g}   certified bracket [{_fmt(r.lower)}, "
                  f"{_fmt(r.upper)}]   {r.method}, {r.seconds:.3f} s")
        else:
            interval = ("its rigorous interval is vacuous" if r.vacuous else
                        f"rigorous interval [{_fmt(r.lower)}, {_fmt(r.upper)}]")
            print(f"{quantity} ~ {float(r):.6g}   ESTIMATE, not a proven bound ({interval})"
                  f"   {r.method}, {r.seconds:.3f} s")
        print_warnings(r.warnings)
        return 0
    print(f"{'method':<13} {quantity:>12} {'lower':>12} {'upper':>12}  {'kind':<24} {'seconds':>8}")
    for r in results:
        kind = "certified" if r.certified else ("ESTIMATE, interval vacuous" if r.vacuous
                                                 else "ESTIMATE")
        print(f"{r.method:<13} {float(r):>12.6g} {_fmt(r.lower):>12} {_fmt(r.upper):>12}  "
              f"{kind:<24} {r.seconds:>8.3f}")
    for m, msg in failures:
        print(f"{m:<13} n/a: {msg}")
    for r in results:
        print_warnings(r.warnings, prefix=f"{r.method}: ")
    if any(not r.certified for r in results):
        print("ESTIMATE rows are approximations, not proven bounds: the true value may be "
              "larger.")
    return 0


def print_warnings(messages, prefix: str = "") -> None:
    """The accountant's diagnostics under a text report, one line each."""
    for msg in messages:
        print(f"warning: {prefix}{msg}")


def _fmt(x: float) -> str:
    return "inf" if math.isinf(x) else f"{x:.6g}"


# Subcommands that live beside the code they drive: each module defines
# ``add_arguments(parser)`` and ``run(args) -> int`` and may reuse the helpers above
# (``_add_mechanism_args``, ``_add_method_args``, ``mechanism_from_args``).
_PLUGINS = {
    "calibrate": ("accountant.calibration.search", "noise multiplier for a target epsilon"),
    "table": ("accountant.calibration.tables", "noise-multiplier lookup table over a grid"),
    "user-level": ("accountant.planning.user_level", "contribution bound from examples-per-user counts"),
    "compare": ("accountant.interop.comparison", "all methods and installed peers side by side"),
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
    pe.add_argument("--delta", type=float, default=None, help="delta in (0, 1) (required)")
    _add_method_args(pe)
    pd = sub.add_parser("delta", help="delta at a given epsilon")
    _add_mechanism_args(pd)
    pd.add_argument("--epsilon", type=float, default=None, help="epsilon >= 0 (required)")
    _add_method_args(pd)
    for p in (pe, pd):
        p.add_argument("--state", default=None, metavar="FILE",
                       help="account a saved history: a PrivacyAccountant.save JSON state, or "
                            "an Opacus accountant state_dict/checkpoint saved with torch "
                            "(replaces the mechanism flags)")
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
    # The text and JSON reports print the diagnostics themselves.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AccountantWarning)
        return _main(argv)


def _main(argv) -> int:
    try:
        parser = build_parser(argv[0] if argv else None)
        a = parser.parse_args(argv)
        if a.command is None:
            # a usage error like any other (one line, status 2): the full help on stdout
            # read as output to scripts that check only stdout, and named no error
            raise _UsageError("a command is required (one of "
                              + ", ".join(("epsilon", "delta", *_PLUGINS))
                              + "); see dp-accountant --help")
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
