"""Noise calibration to a risk target (docs/math.md §15.8): the smallest noise multiplier σ
whose *certified upper bound* on an attack risk (TPR at an FPR, advantage, Bayes success,
the reconstruction bound, the fitted μ) is ≤ the target's limit.

:func:`accountant.calibrate` with ``target=`` validates the setting and builds the
mechanism exactly as the ε calibration does (its ``_SigmaProblem``); this module holds the
search over σ and its result, :class:`RiskCalibration`. It never imports the ε search
(that module calls this one), so the problem is passed in.

Never overspends: a σ is returned only when the bracket computed at that σ has upper ≤
limit (checked on the values, not on their logarithms, and again before returning); the
monotonicity of the risk in σ only speeds the search and backs the optimality claim.
"""
from __future__ import annotations

import math
import time
import warnings
from dataclasses import dataclass, field
from typing import Callable, Mapping, Optional, Tuple

from ..core._json import kind_of
from ..core.bounds import AccountantWarning
from ..risk.results import RiskResult
from ..risk.targets import RiskTarget

__all__ = ["RiskCalibration", "calibrate_to_risk"]

_MAX_EVALS = 40
_STEP_MAX = 3.0          # largest move in log σ while no bracket is known (a factor of 20)


@dataclass(frozen=True)
class RiskCalibration:
    """The answer of a calibration to a risk target.

    Attributes
    ----------
    noise_multiplier : σ (for a schedule: the common factor applied to its σ profile).
    risk : the risk's bracket at the returned σ (a :class:`RiskResult`); when
        ``certified``, ``risk.upper`` ≤ ``target.limit`` is proven.
    target : the risk target.
    certified : whether ``risk`` is a proven bracket. False for the estimate methods:
        then only the estimate is ≤ the limit and the true risk may exceed it.
    method : accountant used.
    seconds : wall time.
    optimality : "certified" (a σ′ ≥ σ/(1 + rtol) has a certified lower bound above the
        limit, so σ is within rtol of the optimum), "method" (within rtol for the
        method's upper bound) or "none" (the budget ran out).
    rtol, evaluations, sample_rate, steps, schedule, details, warnings : as
        :class:`accountant.calibration.search.Calibration`.
    """

    noise_multiplier: float
    risk: RiskResult
    target: RiskTarget
    certified: bool
    method: str
    seconds: float
    source: str = "calibrate"
    solved_for: str = "noise_multiplier"
    sample_rate: Optional[float] = None
    steps: Optional[int] = None
    optimality: str = "none"
    rtol: float = 1e-3
    evaluations: int = 0
    schedule: Optional[object] = None
    details: Mapping = field(default_factory=dict)
    warnings: Tuple[str, ...] = ()

    def __float__(self) -> float:
        return float(self.noise_multiplier)

    @property
    def kind(self) -> str:
        """"certified" or "estimate": what ``risk`` is."""
        return kind_of(self.certified)

    @property
    def limit(self) -> float:
        return self.target.limit

    @property
    def certified_risk(self) -> float:
        """The proven upper bound on the risk at σ; an estimate is refused."""
        if not self.certified:
            raise ValueError(f"method {self.method!r} gave an estimate, not a certified "
                             f"risk: read .risk.estimate (kind='estimate')")
        return self.risk.upper

    def as_dict(self) -> dict:
        d = {"noise_multiplier": self.noise_multiplier, "target": self.target.describe(),
             "quantity": self.risk.quantity, "limit": self.limit,
             "risk": self.risk.as_dict(), "certified": self.certified, "kind": self.kind,
             "method": self.method, "seconds": self.seconds, "source": self.source,
             "solved_for": self.solved_for, "sample_rate": self.sample_rate,
             "steps": self.steps, "optimality": self.optimality, "rtol": self.rtol,
             "evaluations": self.evaluations, "warnings": list(self.warnings)}
        if self.details:
            d["details"] = {k: val for k, val in self.details.items()
                            if isinstance(val, (int, float, str, bool, type(None)))}
        return d

    def __str__(self) -> str:
        r = self.risk
        if self.certified:
            what = (f"{r.quantity} <= {r.upper:.6g} (certified upper bound; bracket "
                    f"[{r.lower:.6g}, {r.upper:.6g}])")
        else:
            what = (f"{r.quantity} ~ {r.estimate:.6g} (ESTIMATE, not a proven bound: this "
                    "sigma may exceed the target)")
        return (f"noise_multiplier = {self.noise_multiplier:.6g} for {self.target.describe()}:"
                f" {what}   method = {self.method}   seconds = {self.seconds:.3f}")


def _log(x: float) -> float:
    return math.log(x) if x > 0 else -math.inf


def risk_rtol(target: RiskTarget, rtol: float) -> float:
    """Accuracy of each risk bracket: its width, relative to the limit, about 0.4·rtol of
    the distance from the floor (docs/math.md §15.8), so that near the answer the bracket
    is narrower than the search step; within [1e-5, 1e-2]."""
    L, F = target.limit, target.floor
    if target.rtol_of_excess:         # the δ query's accuracy is relative to risk − floor
        return min(1e-2, max(1e-5, 0.4 * rtol))
    return min(1e-2, max(1e-5, 0.4 * rtol * (L - F) / L))


def calibrate_to_risk(target: RiskTarget, build: Callable[[float], tuple],
                      sigma_range: Tuple[float, float], guess: float, method: Optional[str],
                      rtol: float, options: dict, max_seconds: Optional[float] = None,
                      max_evals: int = _MAX_EVALS) -> tuple:
    """Search σ in ``sigma_range`` for ``target`` (docs/math.md §15.8).

    ``build(σ)`` returns (mechanism, steps). Returns (σ, RiskResult at σ, optimality,
    evaluations, details); raises ValueError when the limit needs σ outside the range.
    """
    L, F = target.limit, target.floor
    lt = _log(L - F)
    tol = math.log1p(rtol)
    xmin, xmax = math.log(sigma_range[0]), math.log(sigma_range[1])
    rt = risk_rtol(target, rtol)
    deadline = None if max_seconds is None else time.perf_counter() + max_seconds
    pts = {}              # log σ → (log(upper − F), log(lower − F), result)
    n = [0]

    def evaluate(x, acc):
        mech, steps = build(math.exp(x))
        with warnings.catch_warnings():
            # diagnostics are reported once, at the returned σ, by the public function
            warnings.simplefilter("ignore", AccountantWarning)
            res = target.value(mech, steps, method, acc, **options)
        n[0] += 1
        lo, up = (res.lower, res.upper) if res.certified else (0.0, res.estimate)
        old = pts.get(x)
        if old is None or (res.certified and res.upper - res.lower
                           < old[2].upper - old[2].lower):
            pts[x] = (_log(up - F), _log(lo - F), res, up <= L, res.certified and lo > L)
        return pts[x]

    def state():
        feas = [x for x, p in pts.items() if p[3]]
        a = min(feas) if feas else None
        below = [x for x, p in pts.items() if not p[3] and (a is None or x < a)]
        b = max(below) if below else None
        return a, b

    def slope():
        xs = sorted(x for x, p in pts.items() if math.isfinite(p[0]))
        if len(xs) >= 2:
            a, b = xs[0], xs[-1]
            s = (pts[b][0] - pts[a][0]) / (b - a)
            if s < -1e-3:
                return s
        return -1.5

    x = min(max(math.log(guess), xmin), xmax)
    last = [0.0]          # the last move without a bracket: such moves at least double

    def move(step):
        step = min(max(step, tol, 2.0 * last[0]), _STEP_MAX)
        last[0] = step
        return step
    while n[0] < max_evals:
        if deadline is not None and time.perf_counter() > deadline and state()[0] is not None:
            break
        evaluate(x, rt)
        a, b = state()
        s = slope()
        aim = lt + 0.25 * tol * s          # a little below the limit (s < 0)
        if a is not None and b is not None:
            w = a - b
            if w <= tol:
                break
            ga, gb = pts[a][0], pts[b][0]
            if math.isfinite(ga) and math.isfinite(gb) and gb > ga:
                x = b + (gb - aim) * w / (gb - ga)
            else:
                x = b + 0.5 * w
            m = 0.1 * w if w > 4 * tol else 0.25 * w
            x = min(max(x, b + m), a - m)
        elif a is None:                    # nothing feasible yet: more noise
            if b >= xmax:
                raise ValueError(
                    f"target {target.describe()} is out of reach: it needs a "
                    f"noise_multiplier above {math.exp(xmax):g} (allowed range "
                    f"[{math.exp(xmin):g}, {math.exp(xmax):g}]), or is below what the "
                    "method can certify")
            step = (pts[b][0] - aim) / -s if math.isfinite(pts[b][0]) else _STEP_MAX
            x = min(b + move(step), xmax)
        else:                              # everything feasible so far: less noise
            if a <= xmin:
                raise ValueError(
                    f"target {target.describe()} is so loose that a noise_multiplier below "
                    f"{math.exp(xmin):g} meets it; calibration is limited to "
                    f"[{math.exp(xmin):g}, {math.exp(xmax):g}]")
            step = (aim - pts[a][0]) / -s if math.isfinite(pts[a][0]) else _STEP_MAX
            x = max(a - move(step), xmin)
    a, b = state()
    if a is None:
        raise ValueError(f"target {target.describe()}: no noise_multiplier in "
                         f"[{math.exp(xmin):g}, {math.exp(xmax):g}] was found to meet it "
                         f"within {max_evals} evaluations")
    # Optimality: a certified-infeasible σ′ within rtol below the answer. The nearest
    # infeasible point may sit at the optimum itself (its lower bound then cannot exceed
    # the limit): try σ/(1 + rtol), further from it; else re-read that point, finer.
    closed = b is not None and a - b <= tol
    if closed and not pts[b][4] and pts[a][2].certified and (
            deadline is None or time.perf_counter() < deadline):
        x_far = a - 0.999 * tol
        if x_far < b - 1e-12 and x_far >= xmin:
            evaluate(x_far, rt)
        elif rt > 1e-5:
            evaluate(b, max(1e-5, rt / 8.0))
        a, b = state()        # a finer bracket may have met the limit there
        closed = b is not None and a - b <= tol
    cert_inf = [x for x, p in pts.items() if p[4] and x < a]
    if cert_inf and a - max(cert_inf) <= tol:
        optimality = "certified"
    elif closed:
        optimality = "method"
    else:
        optimality = "none"
    res = pts[a][2]
    value = res.upper if res.certified else res.estimate
    if not value <= L:                     # the guarantee: re-checked on the result itself
        raise RuntimeError(f"internal error: calibrated sigma has {res.quantity} {value!r} "
                           f"above the limit {L!r}")
    details = {"risk_rtol": rt, "certified_infeasible": (math.exp(max(cert_inf))
                                                         if cert_inf else None),
               "infeasible_neighbour": math.exp(b) if b is not None else None}
    return math.exp(a), res, optimality, n[0], details
