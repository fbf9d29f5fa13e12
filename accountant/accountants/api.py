"""``epsilon`` and ``delta``: one entry point, dispatched to the accountants by name.

Each accountant module registers a function ``compute(schedule, *, delta=None,
epsilon=None, **options) -> Result`` with :func:`register`; exactly one of ``delta`` /
``epsilon`` is given. Schedules arrive validated and merged.
"""
from __future__ import annotations

import dataclasses
import functools
import importlib
import math
import numbers
import time
from fractions import Fraction
from typing import Callable, Dict

from ..core import _validate as v
from ..core.bounds import Result, emit_warnings
from .exact import pure_epsilon
from ..core.mechanisms import Mechanism, MechanismLike, active_part, as_schedule  # noqa: F401
from ..loss import directions_of, loss_for, privacy_losses

METHODS = ("pld", "rdp", "edgeworth", "saddlepoint", "group-vadhan", "group-rdp")
DEFAULT_METHOD = "pld"

# method name → module that registers it on import
_MODULES = {
    "rdp": "accountant.accountants.rdp",
    "pld": "accountant.accountants.pld.bracket",
    "edgeworth": "accountant.accountants.edgeworth",
    "saddlepoint": "accountant.accountants.saddlepoint",
    "group-vadhan": "accountant.accountants.group",
    "group-rdp": "accountant.accountants.group",
}
# method name → module that registers a privacy-profile builder (profile_builder)
_PROFILE_MODULES = {"pld": "accountant.accountants.pld.profile"}
_REGISTRY: Dict[str, Callable[..., Result]] = {}
_PROFILES: Dict[str, Callable[..., object]] = {}
_OPTIONS: Dict[str, Callable[..., object]] = {}


def register(name: str, options: Callable[..., object] | None = None,
             ) -> Callable[[Callable[..., Result]], Callable[..., Result]]:
    """Register ``compute`` under ``name``; ``options(**opts)`` validates the method's
    options on its own (ValueError naming the option), for queries answered without
    calling ``compute`` (a schedule in which no step samples anyone)."""
    def deco(fn):
        _REGISTRY[name] = fn
        if options is not None:
            _OPTIONS[name] = options
        return fn
    return deco


def register_profile(name: str) -> Callable:
    """Register ``build(schedule, center, **options)``: an object whose ``bounds(eps)``
    gives certified (lower, upper) δ arrays at many ε, sharpest near ``center`` — or None
    when per-ε queries are as good (the trade-off curves, :mod:`accountant.risk`)."""
    def deco(fn):
        _PROFILES[name] = fn
        return fn
    return deco


def profile_builder(method: str) -> Callable[..., object] | None:
    """The method's registered profile builder, or None (then query δ(ε) point by point)."""
    _resolve(method)
    if method not in _PROFILES and method in _PROFILE_MODULES:
        importlib.import_module(_PROFILE_MODULES[method])
    return _PROFILES.get(method)


def _resolve(method: str) -> Callable[..., Result]:
    v.choice("method", method, METHODS)
    if method not in _REGISTRY:
        try:
            importlib.import_module(_MODULES[method])
        except ModuleNotFoundError as exc:
            if exc.name != _MODULES[method]:
                raise
        if method not in _REGISTRY:
            raise NotImplementedError(f"method {method!r} is not built yet")
    return _REGISTRY[method]


def built_methods() -> tuple:
    """The method names that work in this build, in display order."""
    out = []
    for m in METHODS:
        try:
            _resolve(m)
        except NotImplementedError:
            continue
        out.append(m)
    return tuple(out)


def epsilon(mechanism: MechanismLike, delta: float, steps: int = 1, method: str | None = None,
            **options) -> Result:
    """The ε of ``steps`` repetitions of ``mechanism`` (or of a Schedule) at ``delta``.

    Parameters
    ----------
    mechanism : a mechanism of :mod:`accountant.core.mechanisms` or a ``Schedule``.
    delta : in (0, 1); or 0 for a schedule of pure-DP steps, answered exactly
        (ε = Σ T_i·sup L_i, docs/math.md §10.5) by every method.
    steps : integer ≥ 1; a Schedule is repeated ``steps`` times.
    method : "pld" (default), "rdp", "edgeworth", "saddlepoint", "group-vadhan" or
        "group-rdp".
    **options : method-specific settings.

    Returns
    -------
    Result — ``float(result)`` is the certified upper bound (or the estimate for
    approximate methods, which say ``certified=False``). Its diagnostics (``warnings``)
    are also raised as :class:`accountant.AccountantWarning`.
    """
    r = query("epsilon", mechanism, delta, steps, method, **options)
    emit_warnings(r.warnings, r.method)
    return r


def delta(mechanism: MechanismLike, epsilon: float, steps: int = 1, method: str | None = None,
          **options) -> Result:
    """The δ of ``steps`` repetitions of ``mechanism`` (or of a Schedule) at ``epsilon`` ≥ 0.

    As :func:`epsilon`, with the roles of ε and δ exchanged."""
    r = query("delta", mechanism, epsilon, steps, method, **options)
    emit_warnings(r.warnings, r.method)
    return r


def query(quantity: str, mechanism: MechanismLike, at: float, steps: int = 1,
          method: str | None = None,
          **options) -> Result:
    """``epsilon(mechanism, delta=at, …)`` or ``delta(mechanism, epsilon=at, …)`` without
    raising the diagnostics as warnings: the twin of the public functions for the
    package's own callers (calibration, sessions, comparisons), which report them once at
    their own level."""
    if quantity == "epsilon":
        if _is_zero(at):
            return _pure_dp(mechanism, steps, method, options)
        return _run(mechanism, steps, method, options, delta=v.delta("delta", at))
    if quantity == "delta":
        return _run(mechanism, steps, method, options, epsilon=v.epsilon("epsilon", at))
    raise ValueError(f"quantity must be 'epsilon' or 'delta', got {quantity!r}")


_BELOW_ONE = 1.0 - 2.0 ** -53


def _is_zero(value) -> bool:
    """``value`` is the number 0 (δ = 0 asks for the pure-DP ε); bools are not numbers."""
    return (isinstance(value, numbers.Real) and not isinstance(value, bool)
            and value == 0)


def _check_options(name: str, options) -> None:
    """Validate a method's options for a query answered without calling it."""
    if name in _OPTIONS:
        _OPTIONS[name](**options)
    elif options:
        raise ValueError(f"unknown option(s) for method {name!r}: "
                         f"{', '.join(sorted(options))}")


def _pure_dp(mechanism, steps, method, options) -> Result:
    """ε at δ = 0 (docs/math.md §10.5): δ_T(ε) = 0 exactly when ε ≥ Σ T_i·sup L_i in every
    direction (the composed loss's largest value under Q), so ε(0) = max over directions
    of Σ T_i·sup L_i when every step is pure DP (sup L finite), and ∞ otherwise, which is
    refused. The sum is taken in rational arithmetic from each loss's rational bounds on
    sup L: the upper bound rounded up (:func:`accountant.accountants.exact.pure_epsilon`),
    the lower one down. The same answer in every method."""
    schedule = as_schedule(mechanism, steps)
    name = DEFAULT_METHOD if method is None else method
    _resolve(name)
    _check_options(name, options)
    if name.startswith("group-"):
        raise ValueError(f"delta must be in (0, 1) for method {name!r}, got 0: it applies "
                         "to ELS schedules, which are never pure DP")
    t0 = time.perf_counter()
    active = active_part(schedule)
    details = {"exact": "pure DP at delta = 0: epsilon = max over directions of "
                        "sum T_i * sup L_i"}
    if active is None:
        up = lo = 0.0
    else:
        dirs = directions_of(active)
        up = max(pure_epsilon(active, d) for d in dirs)
        if not math.isfinite(up):
            bad = [type(m).__name__ for m, _ in active.counts()
                   if any(pl.sup_loss_upper() is None for pl in privacy_losses(m))]
            raise ValueError(
                "delta must be in (0, 1), got 0: delta = 0 needs a pure-DP schedule (every "
                "step with a bounded privacy "
                "loss: Laplace, SubsampledLaplace, DiscreteLaplace, RandomizedResponse, "
                f"EpsilonDelta with delta = 0); {', '.join(sorted(set(bad)))} is not pure "
                "DP")
        best = Fraction(0)
        for d in dirs:
            tot = Fraction(0)
            for m, s in active.counts():
                low = loss_for(m, d).sup_loss_lower()
                tot += s * max(low, Fraction(0))
            best = max(best, tot)
        f = float(best)
        lo = f if Fraction(f) <= best else math.nextafter(f, 0.0)
        lo = min(lo, up)
    res = Result("epsilon", 0.0, up, lo, up, True, name, details=details)
    return dataclasses.replace(res, seconds=time.perf_counter() - t0)


def _run(mechanism, steps, method, options, **at) -> Result:
    """Validate, dispatch to the accountant and time it (``at`` is delta= or epsilon=).

    Steps that touch no one's data (sample rate 0, :func:`accountant.core.mechanisms.is_identity`)
    are dropped here, for every method; a schedule with nothing else left is answered
    exactly: ε = 0 at every δ, δ = 0 at every ε ≥ 0 (lower = upper = 0, certified)."""
    schedule = as_schedule(mechanism, steps)
    name = DEFAULT_METHOD if method is None else method
    fn = _resolve(name)
    t0 = time.perf_counter()
    active = active_part(schedule)
    if active is None:
        # answered without the method, but its options are still the caller's mistakes
        _check_options(name, options)
        (quantity, value), = at.items()
        res = Result("epsilon" if quantity == "delta" else "delta", value, 0.0, 0.0, 0.0, True,
                     name, details={"exact": "no step samples anyone (sample rate 0): "
                                             "epsilon = 0, delta = 0"})
    else:
        res = fn(active, **at, **options)
        if res.quantity == "delta" and res.lower >= 1.0:
            # every mechanism here has noise: δ(ε) < 1 at every ε, however close (a
            # composition with μ ≈ 85 has 1 − δ ~ 1e-390): the largest double below 1
            res = dataclasses.replace(res, lower=_BELOW_ONE,
                                      estimate=min(res.estimate, res.upper))
        if res.quantity == "delta" and res.upper <= 0.0 and res.at < pure_epsilon(active):
            # below ε_pure the true δ is positive, however far below the smallest double:
            # an upper bound of 0 would claim δ = 0 exactly (docs/math.md §9)
            tiny = 5e-324
            res = dataclasses.replace(res, upper=tiny, estimate=max(res.estimate, 0.0))
        notes = _notes(active)
        if notes:
            res = dataclasses.replace(res, details={**res.details, "notes": notes})
    return dataclasses.replace(res, seconds=time.perf_counter() - t0)


def _notes(schedule) -> list:
    """What the schedule's losses say every result must carry (their ``note``, e.g. that
    Poisson accounting does not apply to shuffled batches), once each."""
    out = []
    for m, _ in schedule.counts():
        for note in mechanism_notes(m):
            if note not in out:
                out.append(note)
    return out


@functools.lru_cache(maxsize=1 << 16)
def mechanism_notes(m: "Mechanism") -> tuple:
    """The ``note`` of each privacy loss of mechanism ``m`` (non-empty strings), cached: a
    trainer history of 10⁴ distinct mechanisms built 2·10⁴ losses per query for them
    (0.65 s). ValueError if ``m`` has no privacy loss."""
    return tuple(n for pl in privacy_losses(m) for n in (getattr(pl, "note", None),)
                 if isinstance(n, str) and n)
