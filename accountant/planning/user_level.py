"""User-level DP on top of the accountants: group-privacy baselines, contribution bounds.

The tight user-level accounting itself lives in the privacy-loss core: ``ELS`` (examples
Poisson-sampled at rate q, per-example clipping, at most k examples per user) is the mixture
of Gaussians with shifts j = 0..k and Binomial(k, q) weights (Ganesh 2024, arXiv 2401.10294,
Thm 3.1), and ``ULS`` (users Poisson-sampled at rate q_u, each user's examples combined and
clipped once) is the subsampled Gaussian at q_u; every accountant ("pld", "rdp",
"edgeworth", "saddlepoint") reads them (docs/math.md §2.5).

This module adds

* two **loose baselines** for ELS, registered as methods so users can see how much the tight
  accounting saves: ``"group-vadhan"`` (example-level (ε, δ) + Vadhan's group privacy) and
  ``"group-rdp"`` (example-level RDP + Mironov's RDP group property);
* :func:`choose_contribution_bound` and :func:`compare_sampling`: the contribution bound
  (max examples per user) from a histogram of examples per user (docs/math.md §7);
* :func:`read_counts` and :func:`read_counts_file`: counts files (the ``dp-accountant
  user-level`` command, :mod:`accountant.cli.user_level`, reads its ``--counts`` with them).
"""
from __future__ import annotations

import csv
import io
import math
import numbers
import os
from dataclasses import dataclass
from typing import Callable, Optional, Sequence, Tuple

import numpy as np

from ..accountants import exact as _exact
from ..core._optimize import minimize_bounded
from ..core import _validate as v
from ..core._files import COUNTS_MAX_BYTES, read_user_file
from ..accountants.api import register
from ..core._json import kind_of
from ..core.bounds import Result
from ..core.mechanisms import ELS, SubsampledGaussian, Schedule

__all__ = ["choose_contribution_bound", "compare_sampling", "ContributionBound",
           "BoundRow", "SamplingComparison", "ComparisonRow", "read_counts", "read_counts_file",
           "vadhan_group_log_delta_factor", "group_rdp_epsilon", "group_vadhan_epsilon"]

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


def group_vadhan_epsilon(ex_schedule, k: int, delta: float, base_method: str = "pld",
                         max_evals: int = 40, rtol: float = 1e-4):
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


def group_vadhan_delta(ex_schedule, k: int, eps: float, base_method: str = "pld",
                       max_evals: int = 8):
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
def compute_group_vadhan(schedule, *, delta=None, epsilon=None, base_method=None,
                         **options) -> Result:
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


def group_rdp_epsilon(ex_schedule, k, delta):
    """User-level ε from the RDP group property + CKS conversion (max over directions)."""
    from ..accountants.rdp import epsilon_from_rdp
    val, beta, d = _group_rdp_min(ex_schedule, k, lambda b, r: epsilon_from_rdp(b, r, delta))
    val = max(val, 0.0)
    return val, {"order": beta, "example_order": beta * 2.0 ** _group_c(k), "direction": d}


def group_rdp_delta(ex_schedule, k, eps):
    from ..accountants.rdp import log_delta_from_rdp
    val, beta, d = _group_rdp_min(ex_schedule, k, lambda b, r: log_delta_from_rdp(b, r, eps))
    return math.exp(min(val, 0.0)), {"order": beta, "direction": d}


@register("group-rdp", options=_rdp_options)
def compute_group_rdp(schedule, *, delta=None, epsilon=None, **options) -> Result:
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


# ---------------------------------------------------------------------------------------
# Contribution bound
# ---------------------------------------------------------------------------------------

def _counts(counts) -> np.ndarray:
    """Validate a per-user example-count list: non-empty, integers ≥ 0, one positive."""
    if isinstance(counts, (str, bytes)):
        raise ValueError("counts must be a sequence of non-negative integers, got a string")
    try:
        items = list(np.ravel(counts)) if isinstance(counts, np.ndarray) else list(counts)
    except TypeError:
        raise ValueError("counts must be a sequence of non-negative integers") from None
    if len(items) == 0:
        raise ValueError("counts must be non-empty (one count of examples per user)")
    out = np.empty(len(items), dtype=np.int64)
    for i, c in enumerate(items):
        if isinstance(c, (bool, np.bool_)) or not isinstance(c, numbers.Real):
            raise ValueError(f"counts must be non-negative integers, got {c!r} at index {i}")
        f = float(c)
        if not math.isfinite(f) or f != math.floor(f):
            raise ValueError(f"counts must be non-negative integers, got {c!r} at index {i}")
        if f < 0:
            raise ValueError(f"counts must be non-negative integers, got {c!r} at index {i}")
        out[i] = int(f)
    if out.max() < 1:
        raise ValueError("counts must contain at least one positive count")
    return out


def contribution_sum(counts, G: int) -> int:
    """S(G) = Σ_u min(n_u, G): the examples kept under contribution bound G."""
    n = _counts(counts)
    G = v.count("G", G)
    return int(np.minimum(n, G).sum())


def _default_candidates(n: np.ndarray) -> Tuple[int, ...]:
    """1..16, then a geometric grid (ratio ~1.25) up to the largest count, plus the median."""
    top = int(n.max())
    cand = set(range(1, min(top, 16) + 1))
    g = 16.0
    while g < top:
        g *= 1.25
        cand.add(min(top, int(round(g))))
    cand.add(_median_bound(n))
    return tuple(sorted(cand))


def _median_bound(n: np.ndarray) -> int:
    """Charles et al. 2024's ELS heuristic: the median count (rounded up; at least 1)."""
    return max(1, int(math.ceil(float(np.median(n)))))


def _candidates(candidates, n):
    if candidates is None:
        return _default_candidates(n)
    try:
        items = list(candidates)
    except TypeError:
        raise ValueError("candidates must be a sequence of integers >= 1") from None
    if not items:
        raise ValueError("candidates must be a non-empty sequence of integers >= 1")
    return tuple(sorted({v.count("candidates", c) for c in items}))


# --- σ calibration --------------------------------------------------------------------

def _calibrate(sampling, target_epsilon, delta, rate, steps, k, method, guess):
    """(σ, ε at σ, whether that ε is a proven upper bound) for ELS(σ, rate, k) or
    ULS(σ, rate) (= the subsampled Gaussian), from :func:`accountant.calibration.search.calibrate`
    and the accountant's diagnostics there."""
    from ..calibration.search import calibrate
    kw = {"sampling": "els", "examples_per_user": k} if sampling == "els" else {}
    c = calibrate(target_epsilon, delta, rate, steps, method=method, guess=guess, **kw)
    return float(c), c.epsilon, c.certified, c.warnings


# --- reports --------------------------------------------------------------------------

@dataclass(frozen=True)
class BoundRow:
    """One candidate contribution bound G.

    S : Σ_u min(n_u, G), the examples kept.
    sample_rate : q(G) = min(1, B/S(G)) — the example rate (ELS) or user rate (ULS) that
        gives an expected B examples per step.
    noise_multiplier : σ(G) calibrated to (ε, δ) at q(G) over the steps.
    clip : the clip norm used (ELS: per-example clip; ULS: Ĉ(G)).
    predicted_noise : ULS — N(G) = σ·Ĉ(G)·S(G)/(B·n_users), the noise std of the normalised
        (per-user mean) update; ELS — σ·Ĉ/B, the noise std of the per-example mean update.
    epsilon : ε(δ) at σ: a proven upper bound (≤ the target) when ``certified``, the
        method's estimate otherwise (then σ may spend more than the target).
    certified : whether ``epsilon`` is a proven bound (``kind``: "certified"/"estimate").
    """

    G: int
    S: int
    sample_rate: float
    noise_multiplier: float
    clip: float
    predicted_noise: float
    epsilon: float = math.nan
    certified: bool = False
    warnings: Tuple[str, ...] = ()

    @property
    def kind(self) -> str:
        return kind_of(self.certified)

    def as_dict(self) -> dict:
        d = dict(self.__dict__)
        d["kind"] = self.kind
        d["warnings"] = list(self.warnings)
        return d


@dataclass(frozen=True)
class ContributionBound:
    """What :func:`choose_contribution_bound` returns: the chosen ``bound`` and the table."""

    sampling: str
    bound: int
    rows: Tuple[BoundRow, ...]
    epsilon: float
    delta: float
    batch_size: float
    steps: int
    n_users: int
    method: str
    median: float
    rule: str

    @property
    def certified(self) -> bool:
        """True when every row's σ carries a proven ε ≤ the target."""
        return all(r.certified for r in self.rows)

    def row(self, G: int) -> BoundRow:
        for r in self.rows:
            if r.G == G:
                return r
        raise KeyError(G)

    def as_dict(self) -> dict:
        return {"sampling": self.sampling, "bound": self.bound, "rule": self.rule,
                "epsilon": self.epsilon, "delta": self.delta, "batch_size": self.batch_size,
                "steps": self.steps, "n_users": self.n_users, "method": self.method,
                "median": self.median, "certified": self.certified,
                "kind": kind_of(self.certified), "rows": [r.as_dict() for r in self.rows]}

    def table(self) -> str:
        noise = "N(G)" if self.sampling == "uls" else "sigma*C/B"
        lines = [f"{self.sampling.upper()}: chosen G = {self.bound} ({self.rule})"]
        if not self.certified:
            lines.append(f"ESTIMATE: method {self.method!r} gives estimates, not proven "
                         f"bounds; these sigmas may spend more than epsilon = {self.epsilon:g}")
        eps_head = "eps (cert.)" if self.certified else "eps (est.)"
        lines.append(f"{'G':>6} {'S(G)':>10} {'rate':>10} {'sigma':>10} {'clip':>8} "
                     f"{noise:>12} {eps_head:>12}")
        for r in self.rows:
            mark = " *" if r.G == self.bound else ""
            est = "" if r.certified else " est."
            lines.append(f"{r.G:>6} {r.S:>10} {r.sample_rate:>10.4g} {r.noise_multiplier:>10.4g} "
                         f"{r.clip:>8.4g} {r.predicted_noise:>12.4g} {r.epsilon:>12.5g}"
                         f"{est}{mark}")
        for r in self.rows:
            lines += [f"warning: G = {r.G}: {w}" for w in r.warnings]
        return "\n".join(lines)


@dataclass(frozen=True)
class ComparisonRow:
    """ELS vs ULS at equal compute (B expected examples per step, same steps) for one G.

    els_std = σ_ELS·Ĉ_ELS and uls_std = G·σ_ULS·Ĉ_ULS(G): the noise std on the sum of B
    examples' contributions in units of one example's clip (a ULS user's combined update
    stands for up to G examples; docs/math.md §7). ratio = uls_std/els_std.
    """

    G: int
    S: int
    sample_rate: float
    els_sigma: float
    uls_sigma: float
    els_std: float
    uls_std: float
    ratio: float


@dataclass(frozen=True)
class SamplingComparison:
    els: ContributionBound
    uls: ContributionBound
    rows: Tuple[ComparisonRow, ...]

    def as_dict(self) -> dict:
        return {"els": self.els.as_dict(), "uls": self.uls.as_dict(),
                "comparison": [r.__dict__.copy() for r in self.rows]}

    def table(self) -> str:
        lines = ["ELS vs ULS at equal compute (noise std on the sum of B examples, "
                 "per-example clip units)"]
        if not (self.els.certified and self.uls.certified):
            lines.append("ESTIMATE: the sigmas come from an estimate method, not proven bounds")
        lines += [
                 f"{'G':>6} {'S(G)':>10} {'rate':>10} {'sigma_ELS':>10} {'sigma_ULS':>10} "
                 f"{'ELS std':>10} {'ULS std':>10} {'ULS/ELS':>8}"]
        for r in self.rows:
            lines.append(f"{r.G:>6} {r.S:>10} {r.sample_rate:>10.4g} {r.els_sigma:>10.4g} "
                         f"{r.uls_sigma:>10.4g} {r.els_std:>10.4g} {r.uls_std:>10.4g} "
                         f"{r.ratio:>8.4g}")
        return "\n".join(lines)


def _check_common(batch_size, steps, epsilon, delta, n_users, clip_model, method, n):
    batch_size = v.positive("batch_size", batch_size)
    steps = v.count("steps", steps)
    epsilon = v.positive("epsilon", epsilon)
    delta = v.delta("delta", delta)
    n_users = len(n) if n_users is None else v.count("n_users", n_users)
    if clip_model is not None and not callable(clip_model):
        raise ValueError("clip_model must be a callable G -> clip norm (> 0) or None")
    v.choice("method", method, ("pld", "rdp", "edgeworth", "saddlepoint"))
    return batch_size, steps, epsilon, delta, n_users


def _clip(clip_model, G):
    if clip_model is None:
        return 1.0
    return v.positive("clip_model(G)", clip_model(G))


def _rows(n, sampling, Gs, batch_size, steps, epsilon, delta, n_users, clip_model,
          example_clip, method):
    rows, guess = [], 1.0
    for G in Gs:
        S = int(np.minimum(n, G).sum())
        rate = min(1.0, batch_size / S)
        sigma, eps, certified, warns = _calibrate(sampling, epsilon, delta, rate, steps, G,
                                                  method, guess)
        if sampling == "uls":
            c = _clip(clip_model, G)
            noise = sigma * c * S / (batch_size * n_users)
        else:
            c = example_clip
            noise = sigma * c / batch_size
        guess = sigma
        rows.append(BoundRow(G, S, rate, sigma, c, noise, eps, certified, tuple(warns)))
    return tuple(rows)


def choose_contribution_bound(counts, sampling: str = "els", *, batch_size, steps, epsilon,
                              delta, n_users: Optional[int] = None,
                              clip_model: Optional[Callable[[int], float]] = None,
                              method: str = "pld", candidates: Optional[Sequence[int]] = None,
                              example_clip: float = 1.0) -> ContributionBound:
    """Choose the contribution bound G (max examples per user) from examples-per-user counts.

    Parameters
    ----------
    counts : examples per user, n_u (non-negative integers, at least one positive).
    sampling : "els" — the median count (Charles et al. 2024, arXiv 2407.07737, heuristic);
        "uls" — the G minimising the predicted noise of the normalised update
        N(G) = σ(G)·Ĉ(G)·S(G)/(B·n_users), S(G) = Σ_u min(n_u, G) (docs/math.md §7).
    batch_size : B, the expected examples per step; the rate is q(G) = min(1, B/S(G)).
    steps, epsilon, delta : σ(G) is calibrated so that ``steps`` steps at rate q(G) have a
        certified ε(δ) ≤ ``epsilon`` (ELS: ELS(σ, q(G), G); ULS: the subsampled Gaussian).
    n_users : number of users (default len(counts)).
    clip_model : Ĉ(G), the clip norm of a ULS user's combined update (default constant 1).
        **A constant Ĉ makes G = 1 optimal**: S(G), hence q(G) and σ(G), grow with G. The
        useful model shrinks with G (e.g. Ĉ(G) = G^−a for the mean of G weakly aligned
        gradients), which is what makes a larger G pay.
    method : the accountant used for calibration ("pld" by default).
    candidates : the G values to tabulate (default 1..16, then ×1.25 up to max n_u, plus
        the median).
    example_clip : the per-example clip norm used in the ELS rows (default 1).

    Returns
    -------
    ContributionBound with ``bound`` (the chosen G) and ``rows`` (G, S(G), rate, σ, clip,
    predicted noise) for every candidate.
    """
    v.choice("sampling", sampling, ("els", "uls"))
    n = _counts(counts)
    batch_size, steps, epsilon, delta, n_users = _check_common(
        batch_size, steps, epsilon, delta, n_users, clip_model, method, n)
    example_clip = v.positive("example_clip", example_clip)
    Gs = _candidates(candidates, n)
    median = float(np.median(n))
    if sampling == "els":
        G_star = _median_bound(n)
        if G_star not in Gs:
            Gs = tuple(sorted(set(Gs) | {G_star}))
        rule = "median count (Charles et al. 2024)"
    rows = _rows(n, sampling, Gs, batch_size, steps, epsilon, delta, n_users, clip_model,
                 example_clip, method)
    if sampling == "uls":
        G_star = min(rows, key=lambda r: (r.predicted_noise, r.G)).G
        rule = "argmin predicted noise N(G)"
    return ContributionBound(sampling, G_star, rows, epsilon, delta, batch_size, steps,
                             n_users, method, median, rule)


def compare_sampling(counts, *, batch_size, steps, epsilon, delta,
                     n_users: Optional[int] = None,
                     clip_model: Optional[Callable[[int], float]] = None,
                     example_clip: float = 1.0, method: str = "pld",
                     candidates: Optional[Sequence[int]] = None) -> SamplingComparison:
    """ELS vs ULS side by side at equal compute (docs/math.md §7).

    For every candidate G both schemes draw B examples per step in expectation (rate
    q(G) = min(1, B/S(G)) for examples under ELS, for users under ULS) over the same steps
    and are calibrated to the same (ε, δ). The noise std on the sum of B examples, in units
    of one example's clip, is σ_ELS·Ĉ_ELS for ELS and G·σ_ULS·Ĉ_ULS(G) for ULS.
    """
    els = choose_contribution_bound(counts, "els", batch_size=batch_size, steps=steps,
                                    epsilon=epsilon, delta=delta, n_users=n_users,
                                    clip_model=clip_model, method=method,
                                    candidates=candidates, example_clip=example_clip)
    Gs = tuple(r.G for r in els.rows)
    uls = choose_contribution_bound(counts, "uls", batch_size=batch_size, steps=steps,
                                    epsilon=epsilon, delta=delta, n_users=n_users,
                                    clip_model=clip_model, method=method, candidates=Gs)
    rows = []
    for e, u in zip(els.rows, uls.rows):
        es = e.noise_multiplier * e.clip
        us = u.G * u.noise_multiplier * u.clip
        rows.append(ComparisonRow(e.G, e.S, e.sample_rate, e.noise_multiplier,
                                  u.noise_multiplier, es, us, us / es))
    return SamplingComparison(els, uls, tuple(rows))


# ---------------------------------------------------------------------------------------
# Counts files
# ---------------------------------------------------------------------------------------

def _parse_count(text: str, where: str) -> int:
    t = text.strip()
    try:
        val = int(t)
    except ValueError:
        try:
            f = float(t)
        except ValueError:
            raise ValueError(f"{where}: cannot parse {t!r} as a non-negative integer count") from None
        if not math.isfinite(f) or f != math.floor(f):
            raise ValueError(f"{where}: count {t!r} is not an integer") from None
        val = int(f)
    if val < 0:
        raise ValueError(f"{where}: count {t!r} is negative")
    return val


def read_counts_file(path: str | os.PathLike, name: Optional[str] = None) -> str:
    """The text of the counts file at ``path``: a regular file (or a symlink to one) of at
    most 256 MiB (:data:`accountant.core._files.COUNTS_MAX_BYTES`) in UTF-8 — a FIFO, device,
    socket or directory is refused without blocking. ValueError, one line, otherwise."""
    name = name or f"counts file {os.fspath(path)}"
    raw = read_user_file(path, what="counts file", limit=COUNTS_MAX_BYTES)
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"{name} must be UTF-8 text: invalid byte at offset "
                         f"{exc.start}") from None


def read_counts(text_or_file, column: Optional[str] = None, name: str = "counts file") -> list:
    """Parse examples-per-user counts: one integer per line, or a CSV with a header row.

    ``text_or_file`` is the text itself (a ``str``), a path (``os.PathLike``, read with
    :func:`read_counts_file`: regular files of at most 256 MiB) or an open text file (at
    most 256 Mi characters are read). A first non-blank line that is not an integer is read
    as a CSV header; ``column`` names the column to use (default the first). Blank lines are
    skipped. A line that cannot be parsed raises ``ValueError`` naming its line number.
    """
    if isinstance(text_or_file, str):
        text = text_or_file
    elif isinstance(text_or_file, os.PathLike):
        text = read_counts_file(text_or_file)
    else:
        text = text_or_file.read(COUNTS_MAX_BYTES + 1)
        if len(text) > COUNTS_MAX_BYTES:
            raise ValueError(f"{name} must be at most {COUNTS_MAX_BYTES // 2 ** 20} MiB")
    lines = text.splitlines()
    first = next((i for i, ln in enumerate(lines) if ln.strip()), None)
    if first is None:
        raise ValueError(f"{name} is empty: counts must be non-empty")
    is_csv = ("," in lines[first])
    if not is_csv:
        try:
            _parse_count(lines[first], "")
        except ValueError:
            is_csv = True
    out = []
    if not is_csv:
        if column is not None:
            raise ValueError(f"--column {column!r} given but {name} has no CSV header "
                             f"(line {first + 1} is a number)")
        for i, ln in enumerate(lines):
            if ln.strip():
                out.append(_parse_count(ln, f"{name}, line {i + 1}"))
        return out
    header = next(csv.reader([lines[first]]))
    header = [h.strip() for h in header]
    if column is None:
        idx = 0
    elif column in header:
        idx = header.index(column)
    else:
        raise ValueError(f"column must be one of the CSV header names {header}, got {column!r}")
    reader = csv.reader(io.StringIO("\n".join(lines)))
    for i, row in enumerate(reader):
        if i <= first or not any(cell.strip() for cell in row):
            continue
        if idx >= len(row):
            raise ValueError(f"{name}, line {i + 1}: no column {header[idx]!r} "
                             f"({len(row)} fields)")
        out.append(_parse_count(row[idx], f"{name}, line {i + 1}"))
    if not out:
        raise ValueError(f"{name} has a header but no counts: counts must be non-empty")
    return out
