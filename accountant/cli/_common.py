"""What the subcommands share: the one-line usage error, the mechanism and step flags, and
the text formatting of bounds and diagnostics.

Kept free of heavy imports: every invocation of ``dp-accountant`` loads this module.
"""
from __future__ import annotations

import argparse
import math
from typing import Iterable, NoReturn, Optional, Sequence, Tuple

from ..core.mechanisms import EPOCH_SAMPLINGS, from_parameters

#: --sampling choices of the accounting commands (``compare`` keeps the first four: its
#: peers know no other sampler).
SAMPLING_CHOICES = ("poisson", "fixed", "truncated", "random-allocation", "shuffle", "els",
                    "uls")
#: What the text and JSON reports say about a shuffled-batches result: the shuffle loss's
#: own note, the one every Result of a Shuffle step carries (one text in one place).
from ..loss.shuffle import NOTE as SHUFFLE_NOTE  # noqa: E402


class UsageError(Exception):
    """A bad command line: :func:`accountant.cli.main` prints it as one line, status 2."""


class Parser(argparse.ArgumentParser):
    """An argument parser whose errors raise :class:`UsageError` instead of printing the
    usage and exiting, so that every error of the command reads the same."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(message)


def add_rate_and_steps(p: argparse.ArgumentParser) -> None:
    """--sample-rate and --steps | --epochs: no defaults (each changes the answer)."""
    p.add_argument("--sample-rate", type=float, default=None,
                   help="Poisson sampling rate q in [0, 1] (user rate for --sampling uls); "
                        "required: give 1 for full batches")
    p.add_argument("--steps", type=float, default=None,
                   help="number of steps (integer >= 1); required unless --epochs is given")
    p.add_argument("--epochs", type=float, default=None,
                   help="alternative to --steps: steps = ceil(epochs / sample_rate)")


def add_sampler_args(p: argparse.ArgumentParser) -> None:
    """The sampler flags of --sampling truncated | random-allocation | shuffle (each read
    only by the samplings that use it; no defaults)."""
    p.add_argument("--dataset-size", type=float, default=None,
                   help="n, records in the dataset (truncated, random-allocation, shuffle)")
    p.add_argument("--max-batch-size", type=float, default=None,
                   help="B, the batch size a truncated-Poisson batch is cut to (truncated)")
    p.add_argument("--batch-size", type=float, default=None,
                   help="B, the batch size (shuffle; random-allocation: the expected batch, "
                        "t = k*n/B steps per epoch)")
    p.add_argument("--selections", type=float, default=None,
                   help="k, steps of an epoch each record takes part in (random-allocation; "
                        "default 1, balls in bins)")
    p.add_argument("--steps-per-epoch", type=float, default=None,
                   help="t, steps of an epoch (random-allocation, instead of --dataset-size "
                        "and --batch-size)")


def add_mechanism_args(p: argparse.ArgumentParser,
                       samplings: Sequence[str] = SAMPLING_CHOICES) -> None:
    """The flags :func:`mechanism_from_args` reads (``epsilon``, ``delta``, ``compare``)."""
    p.add_argument("--noise-multiplier", type=float, required=False,
                   help="noise standard deviation per unit sensitivity (Laplace: scale)")
    add_rate_and_steps(p)
    p.add_argument("--mechanism", choices=("gaussian", "laplace"), default="gaussian")
    p.add_argument("--sampling", choices=tuple(samplings), default="poisson",
                   help="poisson (default), fixed (replace-one), "
                        + ("truncated (Poisson cut to --max-batch-size), random-allocation "
                           "(balls in bins), shuffle (shuffled fixed-size batches), "
                           if "shuffle" in samplings else "")
                        + "or user-level els|uls")
    p.add_argument("--examples-per-user", type=float, default=None,
                   help="user-level: max examples per user k (with --sampling els|uls)")
    p.add_argument("--neighboring", choices=("add_remove", "replace_one"), default=None)
    if "shuffle" in samplings:
        add_sampler_args(p)


def sampler_kwargs(a: argparse.Namespace) -> dict:
    """The sampler flags as :func:`accountant.core.mechanisms.from_parameters` keywords."""
    return {key: getattr(a, attr, None) for key, attr in (
        ("dataset_size", "dataset_size"), ("batch_size", "batch_size"),
        ("max_batch_size", "max_batch_size"), ("num_selections", "selections"),
        ("steps_per_epoch", "steps_per_epoch"))}


_FLAGS = {"dataset_size": "--dataset-size", "batch_size": "--batch-size",
          "max_batch_size": "--max-batch-size", "num_selections": "--selections",
          "steps_per_epoch": "--steps-per-epoch"}


def flag_names(message: str) -> str:
    """A factory's error message with the sampler keywords spelled as the flags (the older
    names, e.g. sample_rate, keep the spelling scripts already match)."""
    import re
    for key, flag in _FLAGS.items():
        # not inside a repr ("batch_size=250") nor a longer name
        message = re.sub(rf"(?<![\w.]){key}\b(?!=)", flag, message)
    return message


def is_epoch_sampling(sampling: Optional[str]) -> bool:
    """True for the samplings whose mechanism is one epoch (steps count training steps)."""
    return sampling in EPOCH_SAMPLINGS


def units(mech, steps: Optional[float], epochs: Optional[float],
          sample_rate: Optional[float]) -> int:
    """Units of ``mech`` to compose: --steps counts training steps (for a per-epoch sampler a
    whole number of epochs, ValueError otherwise) and --epochs epochs (an integer for a
    per-epoch sampler; ceil(epochs / q) steps otherwise)."""
    from ..core import _validate as v
    from ..core.mechanisms import steps_per_unit, units_from_steps
    if steps_per_unit(mech) == 1:
        return steps_from(steps, epochs, sample_rate)
    if steps is not None and epochs is not None:
        raise ValueError("give one of --steps or --epochs, not both")
    if steps is not None:
        return units_from_steps(mech, steps, "--steps")
    return v.count("--epochs (a whole number of epochs with this sampling)", epochs)


def require(a: argparse.Namespace, needed: Iterable[Tuple[str, str]]) -> None:
    """Refuse a call that leaves out a quantity which changes the answer: ``needed`` holds
    (attribute, flag text) pairs; every missing one is listed in one line."""
    missing = [flag for attr, flag in needed if getattr(a, attr, None) is None]
    if missing:
        raise UsageError("missing required arguments (no default is assumed for a quantity "
                         "that changes the answer): " + ", ".join(missing))


def steps_from(steps: Optional[float], epochs: Optional[float],
               sample_rate: Optional[float]) -> int:
    """Steps from --steps or --epochs (ceil(epochs / q)); exactly one must be given."""
    from ..core import _validate as v
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


def mechanism_from_args(a: argparse.Namespace):
    """Build the mechanism the flags of :func:`add_mechanism_args` describe."""
    q = 1.0 if a.sample_rate is None and a.mechanism == "laplace" else a.sample_rate
    if a.sampling == "els" and a.examples_per_user is None:
        raise ValueError("--examples-per-user is required with --sampling els")
    try:
        return from_parameters(a.noise_multiplier, q, sampling=a.sampling,
                               examples_per_user=a.examples_per_user, mechanism=a.mechanism,
                               neighboring=a.neighboring, **sampler_kwargs(a))
    except ValueError as exc:
        raise ValueError(flag_names(str(exc))) from None


def print_warnings(messages: Sequence[str], prefix: str = "") -> None:
    """The accountant's diagnostics under a text report, one line each."""
    for msg in messages:
        print(f"warning: {prefix}{msg}")


def fmt_bound(x: Optional[float]) -> str:
    """A bound in a text report: 6 significant digits, "inf", or "—" where a peer reports
    no such side."""
    if x is None:
        return "—"
    return "inf" if math.isinf(x) else f"{x:.6g}"


def describe(mech, steps: int, delta: Optional[float] = None, unit: str = "steps") -> str:
    """The setting in one line: the title of a text report and of a plot (``compare``,
    ``risk``); ``unit`` names what ``steps`` counts ("epochs" for a per-epoch sampler)."""
    from ..core.mechanisms import ELS, Gaussian, SubsampledGaussian
    if isinstance(mech, SubsampledGaussian):
        what = f"subsampled Gaussian σ={mech.noise_multiplier:g}, q={mech.sample_rate:.6g}"
    elif isinstance(mech, Gaussian):
        what = f"Gaussian σ={mech.noise_multiplier:g}"
    elif isinstance(mech, ELS):
        what = (f"ELS σ={mech.noise_multiplier:g}, q={mech.sample_rate:.6g}, "
                f"k={mech.max_examples_per_user}")
    else:
        what = repr(mech)
    return f"{what}, {unit}={steps}" + (f", δ={delta:g}" if delta is not None else "")
