"""Loose group-privacy baselines for ELS, registered as methods so users can see how much
the tight user-level accounting saves (docs/math.md §7): ``"group-vadhan"`` (the
example-level (ε, δ) of a base accountant + Vadhan's group privacy) and ``"group-rdp"``
(example-level RDP + Mironov's RDP group property). Both are certified upper bounds (looser
than the ELS accounting itself), each with the exact leakiest-step lower bound.
"""
from __future__ import annotations

import math
from typing import Optional, Tuple

import numpy as np

from ..core import _validate as v
from ..core._optimize import minimize_bounded
from ..core.bounds import Result
from ..core.mechanisms import ELS, Schedule, SubsampledGaussian
from . import exact as _exact
from .api import register

__all__ = ["vadhan_group_log_delta_factor", "group_vadhan_epsilon", "group_vadhan_delta",
           "group_rdp_epsilon", "group_rdp_delta", "compute_group_vadhan", "compute_group_rdp"]

_BASELINE = "loose group-privacy baseline"
# Stand-in for +inf inside Brent's method (keeps its arithmetic finite).
_BIG = 1e300


# ---------------------------------------------------------------------------------------
# Group-privacy baselines (ELS only)
# ---------------------------------------------------------------------------------------

def _example_level(schedule, method: str) -> Tuple[Schedule, int]:
    """The example-level schedule behind an all-ELS schedule, and the group size k.

    Each ``ELS(σ, q, k)`` step is, for one example, the Poisson-subsampled Gaussian
    ``SubsampledGaussian(σ, q)``. The group size is the largest k of the schedule (group
    privacy for k' ≤ k is implied by that for k: the bounds below increase with k).
    """
    segs, k = [], 0
    for m, steps in schedule.segments:
        if not isinstance(m, ELS):
            raise ValueError(f"method {method!r} applies to ELS only (every step of the "
                             f"schedule must be an ELS mechanism), got {type(m).__name__}")
        segs.append((SubsampledGaussian(m.noise_multiplier, m.sample_rate), steps))
        k = max(k, m.max_examples_per_user)
    if k < 1:  # pragma: no cover - ELS validates k ≥ 1
        raise ValueError(f"max_examples_per_user must be an integer >= 1, got {k!r}")
    return Schedule(tuple(segs)), k


def vadhan_group_log_delta_factor(eps: float, k: int) -> float:
    """log of Σ_{i<k} e^{iε} = (e^{kε} − 1)/(e^ε − 1) (= log k at ε = 0), computed stably.

    Vadhan 2017 ("The complexity of differential privacy"), Lemma 2.2: an (ε, δ)-DP
    mechanism is (kε, δ·Σ_{i=0}^{k−1} e^{iε})-DP for datasets at distance k — chain the
    k neighbouring steps; the i-th step's δ is amplified by the e^{ε} factors of the steps
    after it.
    """
    k = v.count("k", k)
    eps = v.nonnegative("eps", eps)
    if k == 1:
        return 0.0
    if eps == 0.0:
        return math.log(k)
    if eps < 1e-3:
        # log((e^{kε}−1)/(e^ε−1)) without cancellation
        return math.log(math.expm1(k * eps)) - math.log(math.expm1(eps))
    return ((k - 1) * eps + math.log1p(-math.exp(-k * eps)) - math.log1p(-math.exp(-eps)))


def _certified(res: Result, method: str) -> Result:
    if not res.certified:
        raise ValueError(f"base_method must be a certified accountant, {method!r} is not")
    return res


def _base_methods(base_method):
    if base_method is None:
        return ("pld", "rdp")
    v.choice("base_method", base_method, ("pld", "rdp", "edgeworth", "saddlepoint"))
    return (base_method,)


def _with_base(fn, base_method):
    """Run fn(method) with the first base method that works; returns (value, method, warns)."""
    warns = ()
    methods = _base_methods(base_method)
    for i, m in enumerate(methods):
        try:
            return fn(m), m, warns
        except ValueError as exc:  # a deliberate refusal (request out of PLD's reach) → RDP;
            # anything else is a bug and must surface, not switch algorithm silently
            if i == len(methods) - 1:
                raise
            warns += (f"base_method_fallback: {m} failed ({type(exc).__name__}: {exc}); "
                      f"used {methods[i + 1]}",)
    raise AssertionError("unreachable")  # pragma: no cover


def group_vadhan_epsilon(ex_schedule: Schedule, k: int, delta: float, base_method: str = "pld",
                         max_evals: int = 40, rtol: float = 1e-4) -> Tuple[float, dict]:
    """User-level ε at user-level ``delta`` from example-level (ε_e, δ_e) and Vadhan's Lemma 2.2.

    A line search over the example-level δ_e (in log space): the user-level pair is
    (k·ε_e(δ_e), δ_e·(e^{kε_e} − 1)/(e^{ε_e} − 1)), where ε_e(δ_e) is the certified
    example-level upper bound. Every δ_e whose user-level δ is ≤ ``delta`` gives a valid
    user-level ε; the smallest such ε over all evaluated δ_e is returned, so the answer is
    certified whatever the search does. Returns (ε, details).
    """
    from ..accountants import api
    log_target = math.log(delta)
    seen = {}

    def eps_e(log_de):
        if log_de not in seen:
            r = _certified(api.query("epsilon", ex_schedule, math.exp(log_de), method=base_method),
                           base_method)
            seen[log_de] = r.upper
        return seen[log_de]

    def excess(log_de):  # > 0: the user-level δ overshoots the target
        e = eps_e(log_de)
        return log_de + vadhan_group_log_delta_factor(e, k) - log_target

    best = (math.inf, None)

    def consider(log_de):
        nonlocal best
        if excess(log_de) <= 0 and k * eps_e(log_de) < best[0]:
            best = (k * eps_e(log_de), log_de)

    # δ_e ≤ δ/k is necessary (the factor is ≥ k); search downwards for a feasible point.
    hi = log_target - math.log(k)
    consider(hi)
    if best[1] is not None:
        return best[0], {"example_delta": math.exp(hi), "example_epsilon": eps_e(hi),
                         "group_size": k, "evaluations": len(seen)}
    lo = hi
    step = math.log(10.0)
    while True:
        lo = lo - step
        if lo < math.log(1e-300) or len(seen) >= max_evals:
            # δ_e·(e^{kε_e}−1)/(e^{ε_e}−1) stays above the target for every δ_e tried: the
            # example-level profile decays slower than e^{−(k−1)ε}, and group privacy
            # gives nothing (a vacuous, still valid, bound).
            return math.inf, {"group_size": k, "evaluations": len(seen), "vacuous": True}
        consider(lo)
        if best[1] is not None:
            break
        hi = lo
        step *= 2
    # Bisection on log δ_e between the feasible lo and the infeasible hi: larger feasible
    # δ_e means smaller ε_e.
    while len(seen) < max_evals:
        mid = 0.5 * (lo + hi)
        if excess(mid) <= 0:
            lo = mid
            consider(mid)
        else:
            hi = mid
        if eps_e(lo) - eps_e(hi) <= rtol * max(eps_e(lo), 1e-12) or hi - lo < 1e-6:
            break
    e, lde = best
    return e, {"example_delta": math.exp(lde), "example_epsilon": eps_e(lde), "group_size": k,
               "evaluations": len(seen)}


def group_vadhan_delta(ex_schedule: Schedule, k: int, eps: float, base_method: str = "pld",
                       max_evals: int = 8) -> Tuple[float, dict]:
    """User-level δ at user-level ``eps``: min over ε_e ∈ [eps/(2k), eps/k] of
    δ_e(ε_e)·(e^{kε_e} − 1)/(e^{ε_e} − 1) (Vadhan Lemma 2.2; (kε_e, ·) implies (eps, ·) as
    kε_e ≤ eps). Every evaluated ε_e gives a valid bound; the smallest is returned. The
    minimum is usually at ε_e = eps/k (the example-level δ falls faster than the group
    factor grows), so the search is short."""
    from ..accountants import api

    top = eps / k
    vals = {}

    def log_user_delta(e):
        if e not in vals:
            r = _certified(api.query("delta", ex_schedule, e, method=base_method), base_method)
            d = r.upper
            vals[e] = -math.inf if d <= 0 else math.log(d) + vadhan_group_log_delta_factor(e, k)
        return vals[e]

    first = log_user_delta(top)
    if k > 1 and top > 0 and max_evals > 1 and math.isfinite(first):
        def obj(t):
            val = log_user_delta(top * t)
            return val if math.isfinite(val) else -1e300
        minimize_bounded(obj, 0.5, 1.0, xatol=1e-2, maxiter=max_evals - 1)
    e, ld = min(vals.items(), key=lambda kv: kv[1])
    # log δ above 0 is a vacuous bound (and e^ld overflows past 709: ε = 25790, k = 256)
    return math.exp(min(ld, 0.0)), {"example_epsilon": e, "group_size": k,
                                    "evaluations": len(vals)}


def _lower_eps(schedule, delta, upper):
    # Post-processing: the exact one-step ELS ε (each direction) is a proven lower bound on
    # the composed ELS ε (docs/math.md §9; accountant.accountants.exact).
    return min(_exact.composed_lower_epsilon(schedule, delta), upper)


def _lower_delta(schedule, eps, upper):
    return min(_exact.composed_lower_delta(schedule, eps), upper)


def _vadhan_options(base_method=None, **options):
    if options:
        raise ValueError(f"unknown option(s) for method 'group-vadhan': {', '.join(sorted(options))}")
    return _base_methods(base_method)


def _rdp_options(**options):
    if options:
        raise ValueError(f"unknown option(s) for method 'group-rdp': {', '.join(sorted(options))}")


@register("group-vadhan", options=_vadhan_options)
def compute_group_vadhan(schedule: Schedule, *, delta: Optional[float] = None,
                         epsilon: Optional[float] = None,
                         base_method: Optional[str] = None, **options) -> Result:
    """Loose baseline: example-level accounting + Vadhan's group privacy (Lemma 2.2).

    Options
    -------
    base_method : the certified example-level accountant ("pld" by default, falling back
        to "rdp" if PLD fails).

    The upper bound is valid (certified) but loose; the lower bound is the exact one-step
    ELS ε (post-processing), not a tight lower bound.
    """
    _vadhan_options(base_method, **options)
    ex, k = _example_level(schedule, "group-vadhan")
    if delta is not None:
        (up, info), used, warns = _with_base(
            lambda m: group_vadhan_epsilon(ex, k, delta, m), base_method)
        details = {"baseline": _BASELINE, "base_method": used, **info}
        if math.isinf(up):
            warns += ("group_privacy_vacuous: no example-level delta meets the target",)
        return Result("epsilon", delta, up, _lower_eps(schedule, delta, up), up, True,
                      "group-vadhan", warns, details)
    (up, info), used, warns = _with_base(lambda m: group_vadhan_delta(ex, k, epsilon, m),
                                         base_method)
    details = {"baseline": _BASELINE, "base_method": used, **info}
    return Result("delta", epsilon, up, _lower_delta(schedule, epsilon, up), up, True,
                  "group-vadhan", warns, details)


def _group_c(k: int) -> int:
    """c = ⌈log₂ k⌉: a group of k ≤ 2^c examples (pad the chain with equal datasets)."""
    return (int(k) - 1).bit_length()


def _group_rdp_curve(ex_schedule, k, direction):
    """Mironov 2017 (Rényi DP, CSF), Prop. 11 / Cor. 4: if the example-level mechanism has
    RDP ε(α) then datasets at distance 2^c satisfy RDP (β, 3^c·ε(2^c β)) for β ≥ 2 (the weak
    triangle inequality D_β(P‖R) ≤ (β−½)/(β−1)·D_{2β}(P‖Q) + D_{2β−1}(Q‖R), applied c
    times; its factor is ≤ 3 for β ≥ 2). The chain of removals keeps each link in the same
    direction, so each direction is bounded by the same direction's example-level RDP.

    Returns (curve, β_min): ``curve(betas)`` gives the user-level RDP at an array of orders
    (+inf where undefined).
    """
    from ..accountants import rdp as _rdp
    c = _group_c(k)
    scale, factor = 2.0 ** c, 3.0 ** c
    beta_min = 2.0 if c > 0 else 1.0

    def curve(betas):
        betas = np.atleast_1d(np.asarray(betas, dtype=float))
        many = getattr(_rdp, "rdp_many", None)
        if many is not None:
            r = np.asarray(many(ex_schedule, direction, scale * betas), dtype=float)
        else:
            r = np.array([_rdp.rdp_of(ex_schedule, direction, scale * b) for b in betas])
        out = factor * r
        out[~np.isfinite(out) | (betas < beta_min) | (betas <= 1.0)] = np.inf
        return out
    return curve, beta_min


# Example-level orders above this add nothing (the conversion term log(1/δ)/α is tiny).
_MAX_EXAMPLE_ORDER = 1e5


def _group_rdp_min(ex_schedule, k, convert):
    """min over directions' max of min_β convert(β, R_U(β)): a vectorised geometric scan
    of β (ratio ≈ 1.06) then Brent between the best point's neighbours. Every evaluated
    order gives a valid bound; the smallest one found is returned with its order."""
    from ..loss import directions_of
    c = _group_c(k)
    worst = None
    for d in directions_of(ex_schedule):
        curve, beta_min = _group_rdp_curve(ex_schedule, k, d)
        lo_b = beta_min if c > 0 else 1.0 + 1e-3
        hi_b = max(lo_b * 2, _MAX_EXAMPLE_ORDER / 2.0 ** c)
        betas = np.geomspace(lo_b, hi_b, 160)
        # integer example-level orders where they are dense anyway: closed forms, cheap
        ex_orders = betas * 2.0 ** c
        ex_orders = np.where(ex_orders >= 16, np.round(ex_orders), ex_orders)
        betas = np.unique(np.maximum(ex_orders / 2.0 ** c, lo_b))
        r = curve(betas)
        vals = np.array([convert(b, x) if math.isfinite(x) else math.inf
                         for b, x in zip(betas, r)])
        if not np.any(np.isfinite(vals)):
            best_val, best_beta = math.inf, float("nan")
        else:
            i = int(np.argmin(vals))
            best_val, best_beta = float(vals[i]), float(betas[i])
            a, b = betas[max(i - 1, 0)], betas[min(i + 1, len(betas) - 1)]
            seen = {}

            def f(u):
                bb = math.exp(u)
                x = float(curve(bb)[0])
                val = convert(bb, x) if math.isfinite(x) else _BIG
                seen[bb] = val
                return min(val, _BIG)
            if b > a:
                minimize_bounded(f, math.log(a), math.log(b), xatol=1e-3, maxiter=8)
            for bb, val in seen.items():
                if val < best_val:
                    best_val, best_beta = val, bb
        if worst is None or best_val >= worst[0]:
            worst = (best_val, best_beta, d)
    return worst


def group_rdp_epsilon(ex_schedule: Schedule, k: int, delta: float) -> Tuple[float, dict]:
    """User-level ε from the RDP group property + CKS conversion (max over directions)."""
    from ..accountants.rdp import epsilon_from_rdp
    val, beta, d = _group_rdp_min(ex_schedule, k, lambda b, r: epsilon_from_rdp(b, r, delta))
    val = max(val, 0.0)
    return val, {"order": beta, "example_order": beta * 2.0 ** _group_c(k), "direction": d}


def group_rdp_delta(ex_schedule: Schedule, k: int, eps: float) -> Tuple[float, dict]:
    from ..accountants.rdp import log_delta_from_rdp
    val, beta, d = _group_rdp_min(ex_schedule, k, lambda b, r: log_delta_from_rdp(b, r, eps))
    return math.exp(min(val, 0.0)), {"order": beta, "direction": d}


@register("group-rdp", options=_rdp_options)
def compute_group_rdp(schedule: Schedule, *, delta: Optional[float] = None,
                      epsilon: Optional[float] = None, **options) -> Result:
    """Loose baseline: example-level RDP + the RDP group property (2^c ⇒ 3^c), then the
    Canonne–Kamath–Steinke 2020 conversion (Prop. 12). For k not a power of two,
    c = ⌈log₂ k⌉. Certified but loose; the lower bound is the exact one-step ELS value."""
    _rdp_options(**options)
    ex, k = _example_level(schedule, "group-rdp")
    details = {"baseline": _BASELINE, "group_size": k, "c": _group_c(k)}
    if delta is not None:
        up, info = group_rdp_epsilon(ex, k, delta)
        return Result("epsilon", delta, up, _lower_eps(schedule, delta, up), up, True,
                      "group-rdp", (), {**details, **info})
    up, info = group_rdp_delta(ex, k, epsilon)
    return Result("delta", epsilon, up, _lower_delta(schedule, epsilon, up), up, True,
                  "group-rdp", (), {**details, **info})
