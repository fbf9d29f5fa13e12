"""``dp-accountant calibrate``: the noise multiplier for a target epsilon, or for a risk
target (``--target-tpr FPR:TPR``, ``--target-advantage X``; docs/math.md §15.8)
(:func:`accountant.calibration.calibrate`)."""
from __future__ import annotations

import argparse

from ._common import (SAMPLING_CHOICES, SHUFFLE_NOTE, add_rate_and_steps, add_sampler_args,
                      flag_names, is_epoch_sampling, print_warnings, require, steps_from)


def add_arguments(p: argparse.ArgumentParser) -> None:
    """Flags of ``dp-accountant calibrate``."""
    p.add_argument("--epsilon", type=float, default=None, help="target epsilon (> 0, required)")
    p.add_argument("--delta", type=float, default=None, help="delta in (0, 1) (required)")
    p.add_argument("--target-tpr", default=None, metavar="FPR:TPR",
                   help="instead of --epsilon/--delta: certified TPR of any membership test "
                        "at false-positive rate FPR at most TPR (e.g. 1e-3:0.05)")
    p.add_argument("--target-advantage", type=float, default=None, metavar="X",
                   help="instead of --epsilon/--delta: certified membership advantage "
                        "(TPR - FPR) at most X in (0, 1)")
    add_rate_and_steps(p)
    p.add_argument("--method", default="pld",
                   help="pld | rdp | saddlepoint (certified) | edgeworth (an estimate: the "
                        "sigma may spend more than the target)")
    p.add_argument("--sampling", choices=SAMPLING_CHOICES, default=None,
                   help="poisson (default), fixed, truncated, random-allocation, shuffle "
                        "(sigma for the upper end of its bracket), els|uls")
    p.add_argument("--examples-per-user", type=float, default=None,
                   help="user-level: max examples per user k (with --sampling els|uls)")
    p.add_argument("--rtol", type=float, default=None,
                   help="relative tolerance on sigma (default: calibrate's, 1e-5 for an "
                        "epsilon target with pld or rdp, else 1e-3)")
    p.add_argument("--no-lookup", action="store_true",
                   help="always calibrate (by default an exact hit in the shipped table is used)")
    add_sampler_args(p)
    p.add_argument("--json", action="store_true", help="print JSON")


def run(a: argparse.Namespace) -> int:
    """Calibrate and print the noise multiplier; returns the exit status."""
    risk_flags = [f for f, val in (("--target-tpr", a.target_tpr),
                                    ("--target-advantage", a.target_advantage))
                  if val is not None]
    if len(risk_flags) > 1 or (risk_flags and (a.epsilon is not None or a.delta is not None)):
        raise ValueError("give one target: --epsilon with --delta, --target-tpr or "
                         "--target-advantage")
    needed = [] if risk_flags else [("epsilon", "--epsilon"), ("delta", "--delta")]
    epoch_sampler = is_epoch_sampling(a.sampling)
    if not epoch_sampler:       # a per-epoch sampler's rate is implied by its batch size
        needed.append(("sample_rate", "--sample-rate"))
    if a.steps is None and a.epochs is None:
        needed.append(("steps", "--steps (or --epochs)"))
    require(a, needed)
    # Imported only now, so that `calibrate --help` and a missing flag answer at once.
    from ..core import _validate as v
    from ..core._json import dumps
    from ..core.mechanisms import from_parameters, steps_per_unit, units_from_steps
    from ..calibration.search import calibrate
    sampler = dict(dataset_size=a.dataset_size, batch_size=a.batch_size,
                   max_batch_size=a.max_batch_size, num_selections=a.selections,
                   steps_per_epoch=a.steps_per_epoch)
    try:
        if epoch_sampler:
            # --steps counts training steps; --epochs whole epochs of the sampler
            m = from_parameters(1.0, a.sample_rate, sampling=a.sampling, **sampler)
            if a.steps is not None and a.epochs is not None:
                raise ValueError("give one of --steps or --epochs, not both")
            T = (units_from_steps(m, a.steps, "--steps") * steps_per_unit(m)
                 if a.steps is not None else
                 v.count("--epochs (a whole number of epochs with this sampling)", a.epochs)
                 * steps_per_unit(m))
        else:
            T = steps_from(a.steps, a.epochs, a.sample_rate)
        k = a.examples_per_user
        if k is not None:
            k = v.count("examples_per_user", k)
        if risk_flags:
            r = calibrate(sample_rate=a.sample_rate, steps=T, method=a.method,
                          target=_risk_target(a), examples_per_user=k, sampling=a.sampling,
                          rtol=a.rtol, **sampler)
        else:
            r = calibrate(a.epsilon, a.delta, a.sample_rate, T, method=a.method,
                          examples_per_user=k, sampling=a.sampling, rtol=a.rtol,
                          lookup=not a.no_lookup, **sampler)
    except ValueError as exc:
        raise ValueError(flag_names(str(exc))) from None
    if risk_flags:
        return _print_risk(a, r)
    path = "lookup table" if r.source == "lookup" else "calibration"
    notes = [SHUFFLE_NOTE + "; this sigma is calibrated on the upper end (no amplification)"
             ] if a.sampling == "shuffle" else []
    if a.json:
        d = r.as_dict()
        d["path"] = path
        if notes:
            d["notes"] = notes
        print(dumps(d))
        return 0
    if r.certified:
        print(f"noise_multiplier = {r.noise_multiplier:.6g}   epsilon <= {r.epsilon:.6g} "
              f"(certified upper bound)   method = {r.method}   seconds = {r.seconds:.3f}   "
              f"path = {path}")
    else:
        print(f"noise_multiplier = {r.noise_multiplier:.6g}   epsilon ~ {r.epsilon:.6g} "
              f"(ESTIMATE, not a proven bound: this sigma may spend more than the target)   "
              f"method = {r.method}   seconds = {r.seconds:.3f}")
    print_warnings(r.warnings)
    for note in notes:
        print(f"note: {note}")
    return 0


def _risk_target(a: argparse.Namespace):
    """The risk target of ``--target-tpr FPR:TPR`` or ``--target-advantage X``."""
    from ..risk.targets import AdvantageTarget, TprTarget
    if a.target_advantage is not None:
        return AdvantageTarget(a.target_advantage)
    parts = str(a.target_tpr).split(":")
    try:
        fpr, tpr = (float(x) for x in parts)
    except ValueError:
        raise ValueError(f"--target-tpr must be FPR:TPR (two numbers, e.g. 1e-3:0.05), got "
                         f"{a.target_tpr!r}") from None
    return TprTarget(fpr, tpr)


def _print_risk(a: argparse.Namespace, r) -> int:
    """Print a risk calibration: the bound is called certified only when it is one."""
    from ..core._json import dumps
    if a.json:
        print(dumps(r.as_dict()))
        return 0
    print(r)
    print_warnings(r.warnings)
    return 0
