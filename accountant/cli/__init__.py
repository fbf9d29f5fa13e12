"""The ``dp-accountant`` command.

Errors (bad arguments, bad values, no command at all) print one line
``dp-accountant: error: ...`` on stderr and exit with status 2 (:func:`main` returns 2);
``--help`` (also ``<command> --help``) prints the help and exits with status 0.

Layout: this module builds the parser and dispatches; each subcommand lives in its own
module with ``add_arguments(parser)`` and ``run(args) -> int`` (:mod:`.query` serves both
``epsilon`` and ``delta``), and :mod:`._common` holds what they share. The library modules
(:mod:`accountant.calibration`, :mod:`accountant.tables`, ...) know nothing of the command.
"""
from __future__ import annotations

import argparse
import importlib
import sys
import warnings
from typing import Optional, Sequence

from ..core.bounds import AccountantWarning
from . import query
from ._common import Parser, UsageError

__all__ = ["main", "build_parser"]

# Subcommands whose module is imported only when named on the command line (start-up time
# matters for scripts that call the CLI in a loop): name -> (module in this package, help).
_LAZY = {
    "calibrate": ("calibrate", "noise multiplier for a target epsilon"),
    "table": ("table", "noise-multiplier lookup table over a grid"),
    "user-level": ("user_level", "contribution bound from examples-per-user counts"),
    "compare": ("compare", "all methods and installed peers side by side"),
    "risk": ("risk", "what epsilon means: attack TPR at low FPR, advantage, Bayes success"),
}
_COMMANDS = ("epsilon", "delta", *_LAZY)


def _subcommand(name: str):
    return importlib.import_module(f"{__name__}.{_LAZY[name][0]}")


def build_parser(command: Optional[str] = None) -> argparse.ArgumentParser:
    """The argument parser; of the lazily loaded subcommands only the one named by
    ``command`` gets its flags (the others are listed in the help with no flags)."""
    parser = Parser(prog="dp-accountant",
                    description="Certified privacy accounting (RDP, PLD, Edgeworth, saddle point).")
    sub = parser.add_subparsers(dest="command", parser_class=Parser)
    query.add_arguments(sub.add_parser("epsilon", help="epsilon at a given delta"), "epsilon")
    query.add_arguments(sub.add_parser("delta", help="delta at a given epsilon"), "delta")
    for name, (_, help_text) in _LAZY.items():
        if name != command:
            sub.add_parser(name, help=help_text, add_help=False)
            continue
        _subcommand(name).add_arguments(sub.add_parser(name, help=help_text))
    return parser


def main(argv: Optional[Sequence[str]] = None) -> int:
    """Run the command line ``argv`` (default ``sys.argv[1:]``); returns the exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    # The text and JSON reports print the diagnostics themselves.
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", AccountantWarning)
        return _main(argv)


def _main(argv: list) -> int:
    try:
        parser = build_parser(argv[0] if argv else None)
        a = parser.parse_args(argv)
        if a.command is None:
            # a usage error like any other (one line, status 2): the full help on stdout
            # read as output to scripts that check only stdout, and named no error
            raise UsageError("a command is required (one of " + ", ".join(_COMMANDS)
                             + "); see dp-accountant --help")
        if a.command in ("epsilon", "delta"):
            return query.run(a)
        if a.command in _LAZY:
            return _subcommand(a.command).run(a)
        raise UsageError(f"unknown command {a.command!r}")
    except (UsageError, ValueError, NotImplementedError) as exc:
        msg = str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__
        print(f"dp-accountant: error: {msg}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("dp-accountant: interrupted", file=sys.stderr)
        return 130
