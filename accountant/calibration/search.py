"""Noise calibration: the noise multiplier (or steps, or sample rate) for a target ε.

``calibrate(target_epsilon, delta, sample_rate, steps)`` returns the smallest noise
multiplier σ whose **certified upper** ε is ≤ the target, to within ``rtol``:

* Feasibility — the returned σ carries a certified upper bound ε_up(σ) ≤ target (PLD
  connect-the-dots bound, see :mod:`accountant.accountants.pld.bracket`), so it never overspends.
* Near-optimality — with ``method="pld"`` the search also certifies, with the PLD *lower*
  bound, a σ_L ≥ σ·(1 − rtol) whose true ε exceeds the target. Since the true ε(σ) decreases
  in σ, every σ′ ≤ σ_L spends more than the target: σ_opt > σ_L, i.e. the returned σ is at
  most a factor (1 + rtol) above the optimum, and any certified upper bound at σ·(1 − 2·rtol)
  is > target. (For RDP and the other methods the same holds with respect to that method's
  own value; the result says which in ``optimality``.)

How (docs/math.md §4.7): ε is monotone in log σ, log T and log q and nearly linear in the
log–log plane, so a safeguarded secant on (log p, log ε) converges in a few steps. A
GDP/CLT closed form (μ² = T·χ²(one step), Dong–Roth–Su 2019 Thm 3.5 / Bu et al. 2020)
gives the starting point for free, a coarse PLD grid (cheap, still certified) locates the
answer to ~0.3 %, and then a fine grid — its step chosen from the coarse bracket width,
which shrinks like h² — finishes it with two to four certified evaluations. Every PLD
value at any grid step is a valid certificate, so facts learnt on the coarse grid are kept.

``calibrate_steps`` and ``calibrate_sample_rate`` answer the other two questions with the
same search (largest T, largest q whose certified ε ≤ target).

Never hangs: σ is searched in [SIGMA_MIN, SIGMA_MAX] = [0.1, 1e4]; a target needing σ
outside raises ValueError after a handful of evaluations, and the PLD grid is bounded by
the accountant itself.

Size: the three calibrations (σ, steps, sample rate) share one certified bracketing
search, its budget and the lookup fast path; split, the never-overspend argument would be
spread over several files.
"""
from __future__ import annotations

import dataclasses
import functools
import math
import time
from dataclasses import dataclass, field
from typing import Mapping, Optional, Tuple, Union

from ..core import _validate as v
from ..accountants import api
from ..core._json import kind_of
from ..core.bounds import emit_warnings
from ..core.mechanisms import (ELS, EPOCH_SAMPLINGS, ULS, Gaussian, Laplace, MixtureOfGaussians,
                               RandomAllocation, Schedule, Shuffle, SubsampledGaussian,
                               TruncatedSubsampledGaussian, from_parameters, units_from_steps)
from ..risk.targets import RiskTarget
from .risk_search import RiskCalibration, calibrate_to_risk

__all__ = ["Calibration", "calibrate", "calibrate_steps", "calibrate_sample_rate",
           "SIGMA_MIN", "SIGMA_MAX", "MAX_STEPS"]

SIGMA_MIN = 0.1
SIGMA_MAX = 1e4
MAX_STEPS = 10 ** 8
#: calibrate's default rtol on σ for ε targets with "pld" and "rdp" (issue 17)
DEFAULT_RTOL = 1e-5
_H_COARSE = 2e-3       # first PLD grid: ~5–10 ms per evaluation, upper bias ~0.3 %
_H_FINEST = 2e-5
_MAX_EVALS = 40
SAMPLING = (None, "poisson", "fixed", "els", "uls", "truncated", "random-allocation", "shuffle")
#: The sampler parameters :func:`calibrate` passes to ``from_parameters``.
SAMPLER_KEYS = ("dataset_size", "batch_size", "max_batch_size", "num_selections",
                "steps_per_epoch")


@dataclass(frozen=True)
class Calibration:
    """The answer of a calibration.

    Attributes
    ----------
    noise_multiplier : σ (for a schedule: the common factor applied to its σ profile).
    epsilon : the ε at the returned values: a proven upper bound when ``certified``, the
        method's estimate otherwise (then it may be *below* the ε really spent).
    certified : whether ``epsilon`` is a proven upper bound (``kind`` says the same in
        words: "certified" or "estimate"); ``certified_epsilon`` reads it and refuses for an
        estimate.
    method : accountant used.
    seconds : wall time.
    source : "calibrate" or "lookup".
    solved_for : "noise_multiplier", "steps" or "sample_rate".
    sample_rate, steps : the values used (the solved one included).
    target_epsilon, delta : the query.
    optimality : "certified" (a PLD lower bound proves the returned value within rtol of the
        optimum), "method" (within rtol for the method's own bound), "table" (a shipped
        table entry computed by this search) or "none".
    rtol : the relative tolerance of the search.
    evaluations : accountant calls made.
    schedule : the scaled schedule when a σ profile was calibrated.
    details : search facts (grid steps, certified infeasible neighbour, …).
    warnings : diagnostics of the accountant at the returned value (also raised as
        :class:`accountant.AccountantWarning` by the public functions).
    """

    noise_multiplier: float
    epsilon: float
    certified: bool
    method: str
    seconds: float
    source: str
    solved_for: str = "noise_multiplier"
    sample_rate: Optional[float] = None
    steps: Optional[int] = None
    target_epsilon: Optional[float] = None
    delta: Optional[float] = None
    optimality: str = "none"
    rtol: float = 1e-3
    evaluations: int = 0
    schedule: Optional[Schedule] = None
    details: Mapping = field(default_factory=dict)
    warnings: Tuple[str, ...] = ()

    def __float__(self) -> float:
        return float(getattr(self, self.solved_for))

    @property
    def kind(self) -> str:
        """"certified" or "estimate" (the JSON schema's kind of ``epsilon``)."""
        return kind_of(self.certified)

    @property
    def certified_epsilon(self) -> float:
        """``epsilon`` when it is a proven upper bound; an estimate is refused."""
        if not self.certified:
            raise ValueError(f"method {self.method!r} gave an estimate, not a certified "
                             f"epsilon: read .epsilon (kind='estimate')")
        return self.epsilon

    def as_dict(self) -> dict:
        d = {
            "noise_multiplier": self.noise_multiplier,
            "epsilon": self.epsilon,
            "certified": self.certified,
            "kind": self.kind,
            "method": self.method,
            "seconds": self.seconds,
            "source": self.source,
            "solved_for": self.solved_for,
            "sample_rate": self.sample_rate,
            "steps": self.steps,
            "target_epsilon": self.target_epsilon,
            "delta": self.delta,
            "optimality": self.optimality,
            "rtol": self.rtol,
            "evaluations": self.evaluations,
            "warnings": list(self.warnings),
        }
        if self.details:
            d["details"] = {k: val for k, val in self.details.items()
                            if isinstance(val, (int, float, str, bool, type(None)))}
        return d


# ----------------------------------------------------------------------------------------
# Problem description: which mechanism a parameter value stands for
# ----------------------------------------------------------------------------------------
def _mechanism(sigma, q, sampling, k, sampler=None):
    # sampling and k were checked by _check_sampling (None: Poisson, k ≤ 1), the sampler
    # parameters by _check_sampler
    return from_parameters(sigma, q, sampling=sampling or "poisson", examples_per_user=k,
                           **(sampler or {}))


def _check_sampler(sampling, sample_rate, steps, sampler):
    """(sampler keywords, the rate to report, units of the mechanism in ``steps`` training
    steps) for ``calibrate``: the mechanism is built once at σ = 1 so that every sampler
    argument is checked (ValueError naming it) before the search; the per-epoch samplers
    (random allocation, shuffle) need ``steps`` to be a whole number of epochs."""
    sampler = {key: val for key, val in sampler.items() if val is not None}
    m = _mechanism(1.0, sample_rate, sampling, None, sampler)
    if sampling in EPOCH_SAMPLINGS:
        q = (m.batch_size / m.dataset_size if isinstance(m, Shuffle)
             else m.num_selections / m.num_steps)
    else:
        q = v.sample_rate("sample_rate", 1.0 if sample_rate is None else sample_rate)
    return sampler, q, units_from_steps(m, steps)


def _scaled(schedule: Schedule, c: float) -> Schedule:
    return Schedule(tuple((dataclasses.replace(m, noise_multiplier=m.noise_multiplier * c), s)
                          for m, s in schedule.segments))


def _check_sampling(sampling, examples_per_user):
    if sampling not in SAMPLING:
        raise ValueError("sampling must be one of " + ", ".join(repr(x) for x in SAMPLING[1:])
                         + f", got {sampling!r}")
    if sampling == "els":
        if examples_per_user is None:
            raise ValueError("examples_per_user must be an integer >= 1 with sampling='els', "
                             "got None")
        return v.count("examples_per_user", examples_per_user)
    if examples_per_user is not None:
        k = v.count("examples_per_user", examples_per_user)
        if sampling != "uls" and k != 1:
            raise ValueError("examples_per_user needs sampling='els' or 'uls', got sampling="
                             f"{sampling!r}")
        return k
    return None


# ----------------------------------------------------------------------------------------
# CLT starting point (free): μ² = Σ T_i χ²_i, converted to (ε, δ) by the GDP profile
# ----------------------------------------------------------------------------------------
def _chi2(m) -> float:
    """One step's χ² divergence (the CLT's per-step μ² contribution), sensitivity aware."""
    sig = m.noise_multiplier
    if isinstance(m, Gaussian):
        s = 2.0 if m.neighboring == "replace_one" else 1.0
        return (s / sig) ** 2
    if isinstance(m, Laplace):
        return 2.0 / sig ** 2
    if isinstance(m, (SubsampledGaussian, ULS)):
        s = 2.0 if m.neighboring == "replace_one" else 1.0
        q = m.sample_rate
        if q == 1.0:
            return (s / sig) ** 2
        return q * q * math.expm1(min(s * s / sig ** 2, 700.0))
    if isinstance(m, ELS):
        k, q = m.max_examples_per_user, m.sample_rate
        mean = k * q
        return mean * mean * math.expm1(min(1.0 / sig ** 2, 700.0)) + k * q * (1 - q) / sig ** 2
    if isinstance(m, MixtureOfGaussians):
        mean = sum(c * w for c, w in zip(m.sensitivities, m.probabilities))
        return math.expm1(min(mean * mean / sig ** 2, 700.0))
    if isinstance(m, TruncatedSubsampledGaussian):
        # truncation only removes records: the Poisson step's χ² is the starting point
        return m.sample_rate ** 2 * math.expm1(min(1.0 / sig ** 2, 700.0))
    if isinstance(m, RandomAllocation):
        # one epoch: about t Poisson steps at rate k/t
        q = m.num_selections / m.num_steps
        return m.num_steps * q * q * math.expm1(min(1.0 / sig ** 2, 700.0))
    if isinstance(m, Shuffle):
        # one epoch: the unamplified Gaussian step, the upper end of the bracket
        s = 2.0 if m.neighboring == "replace_one" else 1.0
        return (s / sig) ** 2
    return 1.0 / sig ** 2


def _gdp_mu(eps, delta):
    """μ whose μ-GDP ε(δ) equals eps (bisection in log μ on the closed form)."""
    from ..accountants.exact import gdp_log_delta
    ld = math.log(delta)
    lo, hi = 1e-8, 1.0
    while gdp_log_delta(hi, eps) < ld and hi < 1e6:
        lo, hi = hi, hi * 4
    for _ in range(60):
        mid = math.sqrt(lo * hi)
        if gdp_log_delta(mid, eps) < ld:
            lo = mid
        else:
            hi = mid
        if hi / lo < 1 + 1e-6:
            break
    return math.sqrt(lo * hi)


def _clt_guess(fn_mu2, mu2, lo, hi, increasing):
    """Parameter p in [lo, hi] with fn_mu2(p) ≈ mu2 (bisection in log p); clamps."""
    a, b = math.log(lo), math.log(hi)
    for _ in range(80):
        m = 0.5 * (a + b)
        val = fn_mu2(math.exp(m))
        if (val < mu2) == increasing:
            a = m
        else:
            b = m
        if b - a < 1e-6:
            break
    return math.exp(0.5 * (a + b))


# ----------------------------------------------------------------------------------------
# The search: largest z with ε_up(z) ≤ target, ε increasing in z
# ----------------------------------------------------------------------------------------
class _NeedFiner(Exception):
    pass


class _Search:
    """Safeguarded secant on (z, log ε) for an increasing ε(z).

    Facts (valid whatever grid produced them): ``zf`` — largest z whose certified upper ε is
    ≤ target; ``zc`` — smallest z whose certified lower ε is > target. ``pts`` holds the
    evaluations of the current evaluator, used for the secant and for ``zi`` (smallest z
    whose upper value is > target under the current evaluator).
    """

    def __init__(self, lt, tol, zmin, zmax, snap, slope0):
        self.lt, self.tol, self.zmin, self.zmax, self.snap = lt, tol, zmin, zmax, snap
        self.slope0 = slope0
        self.zf = self.uf = self.zc = None
        self.pts = []
        self.n = 0
        self.best = None  # (z, log up, result) at zf
        self.timed_out = False
        self.certifying = False

    def reset_points(self):
        self.pts = []

    def add(self, z, llo, lup, res):
        self.n += 1
        if lup <= self.lt and (self.zf is None or z > self.zf):
            self.zf, self.uf, self.best = z, lup, (z, lup, res)
        if llo > self.lt and (self.zc is None or z < self.zc):
            self.zc = z
        self.pts = [p for p in self.pts if p[0] != z] + [(z, llo, lup)]

    def _bracket(self):
        feas = [p for p in self.pts if p[2] <= self.lt]
        inf = [p for p in self.pts if p[2] > self.lt]
        a = max(feas, key=lambda p: p[0]) if feas else None
        b = min(inf, key=lambda p: p[0]) if inf else None
        return a, b

    def slope(self):
        a, b = self._bracket()
        if a is not None and b is not None and b[0] > a[0] and b[2] > a[2]:
            return (b[2] - a[2]) / (b[0] - a[0])
        ps = sorted(self.pts)
        if len(ps) >= 2:
            (z0, _, u0), (z1, _, u1) = ps[-2], ps[-1]
            if z1 > z0 and u1 > u0 and math.isfinite(u0):
                return (u1 - u0) / (z1 - z0)
        return self.slope0

    def gap_limit(self, z):
        return self.tol + self.snap.granularity(z)

    def done(self, certify):
        if self.zf is None:
            return False
        if self.zf >= self.zmax:
            return True
        if self.zc is not None and self.zc - self.zf <= self.gap_limit(self.zf):
            return True
        if certify:
            return False
        _, b = self._bracket()
        return b is not None and b[0] - self.zf <= self.gap_limit(self.zf)

    def next_z(self, certify):
        # True only for the point that certifies optimality with the PLD lower bound; the
        # others need the upper bound only (the fine grid then composes that side alone)
        self.certifying = False
        a, b = self._bracket()
        s = max(self.slope(), 1e-3)
        aim = self.lt - 0.25 * self.tol * s
        if a is None and self.zf is not None and (b is None or self.zf < b[0]):
            # A fact from an earlier grid: its upper value over-estimates this grid's.
            a = (self.zf, None, self.uf)
        if a is None and b is None:
            raise RuntimeError("internal error: search has no start point")
        # (a[1] None: a fact from an earlier grid; −inf: a degenerate lower side on this
        # one; NaN: an upper-only point of this grid, as good a start as any)
        if certify and a is not None and self.zf is not None and a[1] is not None \
                and a[1] != -math.inf \
                and (self.lt - self.uf) <= s * (0.6 * self.tol + self.snap.granularity(self.zf)):
            # The largest feasible point is near the target: certify optimality with the
            # lower bound just above it (≤ tol away). Ambiguous there → grid too coarse.
            z = self.snap(self.zf + 0.95 * self.tol, up=False)
            if z <= self.zf:
                z = self.snap.next_after(self.zf)
            if b is None or z < b[0] or not b[1] > self.lt:
                for p in self.pts:
                    if p[0] == z:
                        raise _NeedFiner()
                self.certifying = True
                return z
        if a is None:
            # Only infeasible points: walk down.
            if b[0] <= self.zmin:
                raise _Infeasible()
            step = (b[2] - aim) / s
            z = self.snap(max(b[0] - min(max(step, 0.5 * self.tol), 3.0), self.zmin))
            if z >= b[0]:
                z = self.snap.prev_before(b[0])
            return self._fresh(z, certify)
        if b is None:
            if a[0] >= self.zmax:
                return None
            step = (aim - a[2]) / s if math.isfinite(a[2]) else 3.0
            z = self.snap(min(a[0] + min(max(step, 0.5 * self.tol), 3.0), self.zmax))
            if z <= a[0]:
                z = min(self.snap.next_after(a[0]), self.zmax)  # integers: the next one
            return self._fresh(z, certify)
        w = b[0] - a[0]
        lim = self.gap_limit(a[0])
        if w <= lim:
            if not certify:
                return None
            if w <= 0.15 * lim or b[1] == -math.inf:
                raise _NeedFiner()
        if math.isfinite(a[2]) and b[2] > a[2]:
            z = a[0] + (aim - a[2]) * w / (b[2] - a[2])
        else:
            z = a[0] + 0.5 * w
        # Safeguard: stay strictly inside, at least a tenth of the way from either end
        # (a quarter once the bracket is near the tolerance).
        margin = 0.1 * w if w > 4 * lim else 0.25 * w
        z = min(max(z, a[0] + margin), b[0] - margin)
        zs = self.snap(z)
        if zs <= a[0] or zs >= b[0]:
            zs = self.snap(a[0] + 0.5 * w)
            if zs <= a[0] or zs >= b[0]:
                if certify:
                    raise _NeedFiner()
                return None
        return zs

    def _fresh(self, z, certify):
        """Never re-evaluate a point of the current evaluator."""
        if any(p[0] == z for p in self.pts):
            if certify:
                raise _NeedFiner()
            return None
        return z


class _Infeasible(Exception):
    pass


class _Snap:
    """Identity on z for continuous parameters; integer steps for T (z = log T)."""

    def __init__(self, integer=False):
        self.integer = integer

    def __call__(self, z, up=False):
        if not self.integer:
            return z
        t = max(1, int(math.floor(math.exp(z) + 1e-9)) if not up else math.ceil(math.exp(z) - 1e-9))
        return math.log(t)

    def granularity(self, z):
        if not self.integer:
            return 0.0
        t = round(math.exp(z))
        return math.log((t + 1) / t) + 1e-12

    def prev_before(self, z):
        if not self.integer:
            return z - 1e-12 * (1 + abs(z))
        return math.log(max(1, round(math.exp(z)) - 1))

    def next_after(self, z):
        if not self.integer:
            return z * (1 + 1e-12) + 1e-12
        return math.log(round(math.exp(z)) + 1)


def _certify_looser(srch, problem, h, options, lt, tol):
    """The finest grid could not certify optimality within rtol (its bracket is wider than
    the rtol gap: T = 2e5 at rtol 1e-5): certify the smallest gap it can. The PLD lower
    bound just above the answer's lower end is searched along the slope; a point whose
    lower ε exceeds the target is a certified infeasible parameter (``srch.zc``), and
    ``_finish`` reports the proven gap as ``certified_rtol``. At most three evaluations."""
    zb = srch.best[0]
    s = max(srch.slope(), 0.05)
    # the lower bound nearest the target among this grid's points (the upper-only ones
    # carry none: NaN); none → measure it at the answer first
    sided = [p for p in srch.pts if math.isfinite(p[1]) and p[1] > lt - 10 * s * tol]
    if not sided:
        res = problem.evaluate(zb, "pld", dict(options, h=h, sides="lower"))
        lo, up = _value_bounds(res)
        srch.add(zb, _log(lo), _log(up), res)
        sided = [(zb, _log(lo), _log(up))]
    zp, llo, _ = max(sided, key=lambda p: p[1])
    for k in (1.25, 2.0, 4.0):
        z = srch.snap(min(zp + max(lt - llo, 0.0) / s * k + tol, srch.zmax))
        if z <= zb:
            return
        if srch.zc is not None and z >= srch.zc:
            return          # a closer certificate is already known
        res = problem.evaluate(z, "pld", dict(options, h=h, sides="lower"))
        lo, up = _value_bounds(res)
        srch.add(z, _log(lo), _log(up), res)
        if _log(lo) > lt:
            return


def _upper_bias(problem, options, z, lu_c, h_c, h, srch):
    """(u0, c): the log upper ε at z on a grid k ≈ u0 + c·k², fitted to the upper side
    alone on h_c/2 and h_c/4 (a few ms each), ``lu_c`` being its value on h_c. The
    connect-the-dots bias falls as h² (docs/math.md §4.6; the fit from 1e-3 and 5e-4
    predicted the value at 4e-5 within 1.3e-7 at σ ∈ {1.15, 1.21, 1.3}, q = 0.01,
    T = 5000). A guess only — every fine point is still evaluated — and None when the
    three values are not in the h² regime (successive drops not ≈ 4:1). The evaluations
    are certified facts for the search."""
    h1, h2 = h_c / 2.0, h_c / 4.0
    if h2 <= 1.5 * h:
        return None
    us = []
    for hh in (h1, h2):
        res = problem.evaluate(z, "pld", dict(options, h=hh, sides="upper"))
        lo, up = _value_bounds(res)
        srch.add(z, _log(lo), _log(up), res)
        us.append(_log(up))
    u1, u2 = us
    d1, d2 = lu_c - u1, u1 - u2
    if not (math.isfinite(u2) and d1 > 0.0 and d2 > 0.0 and 2.5 <= d1 / d2 <= 6.0):
        return None
    c = d2 / (h1 * h1 - h2 * h2)
    return u2 - c * h2 * h2, c


def _value_bounds(res):
    """(lower, upper) of a Result in the sense used by the search; NaN stands for the side
    a one-sided PLD point did not compose (its trivial or Chernoff bound would mislead the
    secant and the width law): such a point is a fact on one side only."""
    if res.certified:
        sides = (res.details or {}).get("sides")
        return (math.nan if sides == "upper" else res.lower,
                math.nan if sides == "lower" else res.upper)
    return 0.0, res.estimate


def _log(x):
    if x != x:
        return x
    return math.log(x) if x > 0 else -math.inf


# Work of one calibration search with the saddle point, in its work units (4 single
# queries' default budgets, ~12 s); queries of usual mechanisms spend 1e4–2e6 each.
_SADDLE_SEARCH_WORK = 8e7


def _run_search(problem, target, rtol, method, options, guess, certify_pld=True,
                max_evals=_MAX_EVALS, max_seconds=None, warm=None):
    """Drive the search; returns (search, h, optimality, grid steps)."""
    deadline = None if max_seconds is None else time.perf_counter() + max_seconds
    # Work the saddle point's queries spent (each reports it): every σ is a new mechanism,
    # so a slow one (ELS k = 256: ~3 s a query) spends its whole budget each time — a
    # search of 34 queries took 105 s. Past _SADDLE_SEARCH_WORK the best certified σ stands.
    spent = [0.0]

    def out_of_work():
        return method == "saddlepoint" and spent[0] > _SADDLE_SEARCH_WORK
    lt = math.log(target)
    tol = math.log1p(rtol)
    zmin, zmax = problem.zmin, problem.zmax
    snap = problem.snap
    z0 = snap(min(max(problem.z_of(guess), zmin), zmax)) if guess is not None else snap(zmin)

    def run_phase(srch, evaluate, certify, budget, first=None):
        z = first
        if z is None:
            z = z0 if not srch.pts and srch.zf is None else None
        if z is None:
            # Continue from the best known facts with the new evaluator.
            z = srch.zf if srch.zf is not None else z0
            if any(p[0] == z for p in srch.pts):
                z = srch.next_z(certify)
        while z is not None and srch.n < budget:
            if srch.timed_out or ((out_of_work() or deadline is not None
                                   and time.perf_counter() > deadline) and srch.zf is not None):
                srch.timed_out = True
                break
            res = evaluate(z)
            lo, up = _value_bounds(res)
            srch.add(z, _log(lo), _log(up), res)
            if srch.done(certify):
                return True
            z = srch.next_z(certify)
        return srch.done(certify)

    def fine_eval(srch, z, h):
        # The point that certifies optimality needs the lower bound (one side composed);
        # should it fail to, its upper bound is composed too, as a fact for the search.
        # The others need the upper bound only.
        if not srch.certifying:
            return problem.evaluate(z, "pld", dict(options, h=h, sides="upper"))
        res = problem.evaluate(z, "pld", dict(options, h=h, sides="lower"))
        if res.lower > target:
            return res
        up = problem.evaluate(z, "pld", dict(options, h=h, sides="upper"))
        return dataclasses.replace(up, lower=max(up.lower, res.lower),
                                   details={**up.details, "sides": "both"})

    def fine(srch, h, want, first, same, hs):
        for _ in range(6):
            hs.append(h)
            if not same:
                srch.reset_points()
            same = False
            try:
                ok = run_phase(srch, lambda z, hh=h: fine_eval(srch, z, hh),
                               certify_pld, max_evals, first=first)
            except _NeedFiner:
                ok = False
            except _Infeasible:
                raise problem.infeasible_error() from None
            first = None
            if ok or srch.n >= max_evals or srch.timed_out:
                break
            zref = srch.zf if srch.zf is not None else z0
            if h <= max(_H_FINEST, problem.h_floor(zref)):
                break
            # Next grid from the width measured on this one (∝ h²), at least halving.
            widths = [p[2] - p[1] for p in srch.pts
                      if math.isfinite(p[1]) and math.isfinite(p[2])]
            wm = max(widths) if widths else math.inf
            fac = 0.9 * math.sqrt(want / wm) if math.isfinite(wm) and wm > 0 else 0.25
            h = max(_H_FINEST, problem.h_floor(zref), h * min(0.5, max(fac, 0.1)))
        if srch.done(True):
            opt = "certified"
        elif srch.done(False):
            opt = "method"
        else:
            opt = "none"
        if opt == "method" and certify_pld and not srch.timed_out:
            _certify_looser(srch, problem, h, options, lt, tol)
        return srch, h, opt, hs

    if method == "pld" and "h" not in options and warm is not None:
        # Warm start from a neighbouring cell: its grid step and slope, straight to the
        # certified phase (the facts it finds are as good as any).
        h_w, s_w = warm
        srch = _Search(lt, tol, zmin, zmax, snap, max(s_w, 0.05))
        h = max(h_w, problem.h_floor(z0))
        out = fine(srch, h, 0.4 * max(s_w, 0.05) * tol, z0, True, [h])
        if out[0].zf is not None and out[2] != "none":
            return out
    if method == "pld" and "h" not in options:
        slope0 = problem.slope0
        srch = _Search(lt, max(tol, math.log1p(3e-3)), zmin, zmax, snap, slope0)
        # The PLD bracket width grows as ε shrinks relative to h: start near h ≈ ε/500.
        h = min(_H_COARSE, max(target / 500.0, _H_FINEST))
        hs = [h]
        state = {"h": h}

        def coarse(z):
            # Adapt the coarse grid until the bracket is informative (relative width ≤ 5 %);
            # every evaluation stays a valid fact whatever its grid.
            if z >= zmax - 1e-12:
                problem.precheck(srch, zmax)
            while True:
                res = problem.evaluate(z, "pld", dict(options, h=state["h"]))
                lo, up = _value_bounds(res)
                # A degenerate lower bound (0) at ε ≥ 1 comes from the coarse lowered
                # chords at small σ; the upper bound is still sharp there.
                if (up <= 0 or (lo > 0 and math.log(up / lo) <= 0.05)
                        or state["h"] / 4 < problem.h_floor(z, _COARSE_POINTS)
                        or state["h"] / 4 < min(hs[0], _H_COARSE / 16)):
                    return res
                srch.add(z, _log(lo), _log(up), res)
                srch.reset_points()
                state["h"] = max(_H_FINEST, state["h"] / 4)
                hs.append(state["h"])

        try:
            run_phase(srch, coarse, False, max_evals)
        except _Infeasible:
            raise problem.infeasible_error() from None
        if srch.zf is None:
            raise problem.infeasible_error()
        if srch.zf >= zmax:
            return srch, state["h"], "certified", hs
        h = state["h"]
        h_c = h
        # Fine grid: width ∝ h², aim for a width of 0.4·slope·tol in log ε.
        zb, lub, rb = srch.best
        width = lub - _log(rb.lower) if rb.lower > 0 else math.inf
        s = max(srch.slope(), 0.05)
        # The fine grid's first points have no slope of their own: the coarse grid's (its
        # bias barely changes with σ) beats the problem's default, which overshot (issue 17).
        srch.slope0 = s
        want = 0.4 * s * tol
        if math.isfinite(width) and width > 0:
            h = min(h_c, max(_H_FINEST, h_c * math.sqrt(want / width)))
        else:
            h = h_c / 4
        h = min(h_c, max(h, problem.h_floor(zb)))
        srch.tol = tol
        # First fine point: the coarse facts moved by the expected drop of the upper bound
        # (≈ a fifth of the bracket-width reduction, the connect-the-dots share measured
        # on subsampled Gaussians) onto the aim just below the target.
        first = None
        if h < h_c and math.isfinite(width):
            aim = lt - 0.25 * tol * s
            first = snap(min(zb + max(aim - (lub - 0.2 * max(width - want, 0.0)), 0.0) / s,
                             zmax))
            # … then corrected by the fine grid's value, predicted at the coarse point
            # nearest that guess from two cheaper grids (a secant step on the fine grid
            # costs more than both), which also give the fine grid its step
            zr, _, lur = min((p for p in srch.pts if math.isfinite(p[2])),
                             key=lambda p: abs(p[0] - first))
            # (not for whole numbers of steps: rounding to them takes up to a step of the
            # margins below, and the old rule's grid is what they need)
            fit = (_upper_bias(problem, options, zr, lur, h_c, h, srch)
                   if snap.granularity(zb) <= 0.05 * tol else None)
            if fit is not None:
                u0, c = fit
                # width ≈ 3·c·h² (the lowered chords err 2× as much as connect-the-dots,
                # docs/math.md §4.9), taken as 3.5·c·h² ≤ 0.55·slope·tol: the certifying
                # point, 0.95·tol above one aimed 0.25·tol below the target, then clears
                # it with 0.15·slope·tol to spare; never coarser than 2× the width law's h
                h_fit = math.sqrt(0.55 * s * tol / (3.5 * c))
                h = min(h_c, 2.0 * h, max(h, h_fit, problem.h_floor(zb)))
                first = snap(min(max(zr + (aim - (u0 + c * h * h)) / s, zb), zmax))
        same = h == h_c
        return fine(srch, h, want, first, same, hs)
    srch = _Search(lt, tol, zmin, zmax, snap, problem.slope0)

    def evaluate(z):
        if method == "saddlepoint" and srch.zf is None and spent[0] > 3.0 * _SADDLE_SEARCH_WORK:
            raise ValueError(
                "calibrate: the saddle point's work budget for this search ran out before "
                "any noise multiplier was certified (each query of this mechanism needs "
                "slow quadratures); use method='pld'")
        res = problem.evaluate(z, method, options)
        spent[0] += float(res.details.get("work_spent", 0.0))
        return res
    try:
        run_phase(srch, evaluate, False, max_evals)
    except _Infeasible:
        raise problem.infeasible_error() from None
    if srch.zf is None:
        raise problem.infeasible_error()
    opt = "certified" if srch.done(True) else ("method" if srch.done(False) else "none")
    return srch, options.get("h"), opt, [options.get("h")]


# ----------------------------------------------------------------------------------------
# Problems
# ----------------------------------------------------------------------------------------
_MAX_ONE_STEP_POINTS = 3e5
_COARSE_POINTS = 3e4


class _Problem:
    slope0 = 1.0
    k_eff = 1.0

    def sigma_at(self, z):
        return self.sigma

    def h_floor(self, z, points=_MAX_ONE_STEP_POINTS):
        """Smallest grid step worth paying for: one step's PLD grid spans about
        k(1 + 2·7σ)/σ² in loss (tails to ~1e-12), kept under ~3e5 points so that one
        evaluation stays well under a second; certification stops there."""
        sig = self.sigma_at(z)
        return self.k_eff * (1.0 + 14.0 * sig) / (sig * sig) / points

    def precheck(self, srch, zmax):
        """Cheap checks before the PLD search (none by default)."""

    def evaluate(self, z, method, options):
        key = (z, method, tuple(sorted(options.items())))
        memo = self.__dict__.setdefault("_memo", {})
        if key not in memo:
            mech, steps = self.build(z)
            memo[key] = api.query("epsilon", mech, self.delta, steps=steps, method=method,
                                  **options)
        return memo[key]


class _SigmaProblem(_Problem):
    """z = −log σ (ε increases with z)."""

    def __init__(self, target, delta, q, T, sampling, k, schedule, sigma_range, sampler=None):
        self.target, self.delta, self.q, self.T = target, delta, q, T
        self.sampling, self.k, self.schedule = sampling, k, schedule
        self.sampler = sampler
        smin, smax = sigma_range
        if schedule is not None:
            sig = [m.noise_multiplier for m, _ in schedule.segments]
            smin, smax = smin / min(sig), smax / max(sig)
        self.pmin, self.pmax = smin, smax
        self.zmin, self.zmax = -math.log(smax), -math.log(smin)
        self.snap = _Snap(False)
        self.slope0 = 1.5
        self.k_eff = float(k or 1) if sampling == "els" else 1.0
        self.sig_ref = (min(m.noise_multiplier for m, _ in schedule.segments)
                        if schedule is not None else 1.0)

    def sigma_at(self, z):
        return self.p_of(z) * self.sig_ref

    def z_of(self, p):
        return -math.log(p)

    def p_of(self, z):
        return math.exp(-z)

    def build(self, z):
        c = self.p_of(z)
        if self.schedule is not None:
            return _scaled(self.schedule, c), self.T
        q = None if self.sampling in EPOCH_SAMPLINGS else self.q   # implied by the batch
        return _mechanism(c, q, self.sampling, self.k, self.sampler), self.T

    def mu2(self, c):
        mech, T = self.build(-math.log(c))
        if isinstance(mech, Schedule):
            return T * sum(s * _chi2(m) for m, s in mech.segments)
        return T * _chi2(mech)

    def guess(self):
        mu = _gdp_mu(self.target, self.delta)
        return _clt_guess(self.mu2, mu * mu, self.pmin, self.pmax, increasing=False)

    def precheck(self, srch, zmax):
        """A target reachable below σ_min is detected by RDP (certified, ~10 ms) before the
        PLD is asked for a huge grid at σ_min."""
        mech, T = self.build(zmax)
        try:
            r = api.query("epsilon", mech, self.delta, steps=T, method="rdp")
        except (ValueError, NotImplementedError):
            return
        if r.upper <= self.target:
            raise self.too_small_error()

    def infeasible_error(self):
        return ValueError(
            f"target_epsilon={self.target:g} at delta={self.delta:g} is out of reach: it needs "
            f"a noise_multiplier above {self.pmax:g} (allowed range [{self.pmin:g}, "
            f"{self.pmax:g}]), or is below what the method can certify")

    def too_small_error(self):
        return ValueError(
            f"target_epsilon={self.target:g} is so large that a noise_multiplier below "
            f"{self.pmin:g} suffices; calibration is limited to [{self.pmin:g}, "
            f"{self.pmax:g}] (the PLD grid would not fit in memory below)")


class _StepsProblem(_Problem):
    """z = log T."""

    def __init__(self, target, delta, sigma, q, sampling, k, max_steps, sampler=None):
        self.target, self.delta, self.sigma, self.q = target, delta, sigma, q
        self.sampling, self.k, self.sampler = sampling, k, sampler
        self.zmin, self.zmax = 0.0, math.log(max_steps)
        self.max_steps = max_steps
        self.snap = _Snap(True)
        self.slope0 = 0.6
        self.mech = _mechanism(sigma, q, sampling, k, sampler)
        self.k_eff = float(k or 1) if sampling == "els" else 1.0

    def z_of(self, p):
        return math.log(p)

    def p_of(self, z):
        return int(round(math.exp(z)))

    def build(self, z):
        return self.mech, self.p_of(z)

    def guess(self):
        mu = _gdp_mu(self.target, self.delta)
        return max(1.0, min(self.max_steps, mu * mu / _chi2(self.mech)))

    def infeasible_error(self):
        return ValueError(f"target_epsilon={self.target:g} is exceeded by a single step "
                          f"(steps must be >= 1)")


class _RateProblem(_Problem):
    """z = log q."""

    def __init__(self, target, delta, sigma, T, sampling, k, sampler=None):
        self.target, self.delta, self.sigma, self.T = target, delta, sigma, T
        self.sampling, self.k, self.sampler = sampling, k, sampler
        self.zmin, self.zmax = math.log(1e-9), 0.0
        self.snap = _Snap(False)
        self.slope0 = 1.0
        self.k_eff = float(k or 1) if sampling == "els" else 1.0

    def z_of(self, p):
        return math.log(p)

    def p_of(self, z):
        return min(1.0, math.exp(z))

    def build(self, z):
        return _mechanism(self.sigma, self.p_of(z), self.sampling, self.k, self.sampler), self.T

    def guess(self):
        mu = _gdp_mu(self.target, self.delta)
        return _clt_guess(lambda q: self.T * _chi2(_mechanism(self.sigma, q, self.sampling,
                                                              self.k, self.sampler)),
                          mu * mu, 1e-9, 1.0, increasing=True)

    def infeasible_error(self):
        return ValueError(f"target_epsilon={self.target:g} is exceeded even at sample_rate="
                          "1e-9")


# ----------------------------------------------------------------------------------------
# Public functions
# ----------------------------------------------------------------------------------------
def _common(target_epsilon, delta, method, rtol):
    target = v.positive("target_epsilon", target_epsilon)
    d = v.delta("delta", delta)
    method = "pld" if method is None else method
    v.choice("method", method, api.METHODS)
    rtol = v.positive("rtol", rtol)
    if not rtol < 0.5:
        raise ValueError(f"rtol must be in (0, 0.5), got {rtol!r}")
    return target, d, method, rtol


def _finish(problem, srch, h, opt, hs, method, rtol, t0, solved_for, **extra):
    z, lup, res = srch.best
    details = {"grid_steps": ",".join(f"{x:g}" for x in hs if x is not None)}
    if h is not None:
        details["grid_step"] = (res.details or {}).get("grid_step", h)
    if srch.zc is not None:
        details["certified_infeasible"] = problem.p_of(srch.zc)
        # the proven factor between the returned value and the optimum (≤ rtol when
        # optimality is "certified")
        details["certified_rtol"] = math.expm1(abs(srch.zc - z))
    details["lower_epsilon"] = res.lower
    details["slope"] = srch.slope()
    warns = tuple(res.warnings)
    if srch.timed_out:
        warns += ("search_stopped: the search's time or work budget ran out; the value "
                  "returned is the best certified one found, possibly far from optimal "
                  f"(optimality {opt!r})",)
    return Calibration(
        noise_multiplier=extra.get("noise_multiplier", problem.p_of(z)),
        epsilon=float(res.upper if res.certified else res.estimate),
        certified=bool(res.certified), method=method, warnings=warns,
        seconds=time.perf_counter() - t0, source="calibrate", solved_for=solved_for,
        sample_rate=extra.get("sample_rate"), steps=extra.get("steps"),
        target_epsilon=problem.target, delta=problem.delta, optimality=opt, rtol=rtol,
        evaluations=srch.n, schedule=extra.get("schedule"), details=details)


def _gaussian_exact(problem, rtol, t0, steps):
    """Gaussian-only schedules are exactly μ-GDP with μ ∝ 1/σ (Dong–Roth–Su 2019 Cor. 3.3;
    profile of Balle & Wang 2018 Thm 8): calibrate on the closed form, no PLD needed."""
    from ..accountants.exact import gaussian_mu, gdp_epsilon
    from ..core.mechanisms import as_schedule
    mech, T = problem.build(0.0)
    mu1 = gaussian_mu(as_schedule(mech, T))
    if mu1 is None:
        return None
    target, d = problem.target, problem.delta
    lo, hi = 1e-12, 1.0
    while gdp_epsilon(hi, d, "upper") <= target:
        lo, hi = hi, hi * 2
        if hi > 1e6:
            raise problem.too_small_error()
    for _ in range(200):
        mid = math.sqrt(lo * hi)
        if gdp_epsilon(mid, d, "upper") <= target:
            lo = mid
        else:
            hi = mid
        if hi / lo < 1 + 1e-3 * rtol:
            break
    c = mu1 / lo
    if c < problem.pmin:
        raise problem.too_small_error()
    if c > problem.pmax:
        raise problem.infeasible_error()
    ce = gdp_epsilon(mu1 / c, d, "upper")
    while ce > target:
        c *= 1 + 1e-12
        ce = gdp_epsilon(mu1 / c, d, "upper")
    sched = _scaled(problem.schedule, c) if problem.schedule is not None else None
    return Calibration(c, ce, True, "pld", time.perf_counter() - t0, "calibrate",
                       sample_rate=problem.q, steps=steps, target_epsilon=target, delta=d,
                       optimality="certified", rtol=rtol, evaluations=0, schedule=sched,
                       details={"exact": "gaussian mu-GDP closed form",
                                "certified_infeasible": mu1 / hi,
                                "lower_epsilon": gdp_epsilon(mu1 / c, d, "lower")})


def _reports_warnings(fn):
    """Raise the accountant's diagnostics at the returned value once, as warnings."""
    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        cal = fn(*args, **kwargs)
        emit_warnings(cal.warnings, cal.method)
        return cal
    return wrapper


@_reports_warnings
def calibrate(target_epsilon: Optional[float] = None, delta: Optional[float] = None,
              sample_rate: Optional[float] = None, steps: int = 1, method: str = "pld", *,
              target: Optional[RiskTarget] = None, examples_per_user: Optional[int] = None,
              sampling: Optional[str] = None, dataset_size: Optional[int] = None,
              batch_size: Optional[int] = None, max_batch_size: Optional[int] = None,
              num_selections: Optional[int] = None, steps_per_epoch: Optional[int] = None,
              schedule: Optional[Schedule] = None,
              rtol: Optional[float] = None,
              sigma_range: Tuple[float, float] = (SIGMA_MIN, SIGMA_MAX),
              guess: Optional[float] = None, lookup: bool = False,
              max_seconds: Optional[float] = None, _warm: Optional[Tuple[float, float]] = None,
              **options) -> Union[Calibration, RiskCalibration]:
    """Smallest noise multiplier σ whose certified ε(δ) is ≤ ``target_epsilon`` — or, with
    ``target=``, whose certified upper bound on an attack risk is ≤ the target's limit.

    Parameters
    ----------
    target_epsilon : > 0 (leave out with ``target``).
    delta : in (0, 1) (leave out with ``target``).
    sample_rate : Poisson rate q in (0, 1] (user rate for ``sampling="uls"``; None or 1 = no
        subsampling). Implied by the batch for "shuffle" and "random-allocation" (leave it
        out, or give the same value).
    steps : integer ≥ 1 (with ``schedule``: repetitions of the schedule): training steps,
        also for the per-epoch samplers, where it must be a whole number of epochs.
    method : "pld" (certified, near-optimal), "rdp", "saddlepoint", "edgeworth" (estimate:
        ``certified=False``), or any other registered method.
    target : a risk target instead of (target_epsilon, delta): :class:`TprTarget`,
        :class:`AdvantageTarget`, :class:`BayesTarget`, :class:`ReconstructionTarget` or
        :class:`GdpMuTarget` (:mod:`accountant.risk.targets`). The σ returned has a
        certified upper bound on that risk ≤ the limit (docs/math.md §15.8); the result is
        a :class:`RiskCalibration`. ``lookup`` does not apply.
    examples_per_user, sampling : user-level accounting — ``sampling="els"`` with k examples
        per user, ``"uls"``; ``"fixed"`` for fixed-size batches (replace-one);
        ``"truncated"``, ``"random-allocation"``, ``"shuffle"`` with the sampler parameters
        below. For "shuffle" σ is calibrated on the upper end of its bracket, the proven
        bound without amplification (Poisson accounting does not apply to shuffled batches).
    dataset_size, batch_size, max_batch_size, num_selections, steps_per_epoch : the sampler
        parameters of :func:`accountant.core.mechanisms.from_parameters`, for the samplings
        that read them (ValueError for the others).
    schedule : a :class:`Schedule` whose σ profile is scaled by one common factor; the
        factor is returned as ``noise_multiplier`` and the scaled schedule as ``schedule``.
        ``sample_rate`` is then ignored.
    rtol : relative tolerance on σ. Default ``DEFAULT_RTOL`` = 1e-5 for an ε target with
        method "pld" or "rdp" (issue 17: the σ returned is then within a factor 1 + 1e-5 of
        the smallest one the method certifies, certified with the PLD), 1e-3 for the other
        methods and for risk targets (their queries are slower); with ``lookup`` and no rtol
        given, the table's own rtol.
    sigma_range : searched interval; outside → ValueError.
    guess : optional starting σ (tables pass their neighbours' answers).
    lookup : if True, answer from the shipped table when the query is exactly one of its
        grid points (``source="lookup"``).
    max_seconds : optional wall-clock budget; when it runs out the best certified σ found
        so far is returned (``optimality`` then says how far it got).
    **options : passed to the accountant (e.g. ``h`` for PLD to fix the grid).

    Returns
    -------
    Calibration (RiskCalibration with ``target``) — ``float(result)`` is σ.

    Raises
    ------
    ValueError : bad arguments, or a target needing σ outside ``sigma_range``.
    """
    t0 = time.perf_counter()
    risk = _risk_target(target, target_epsilon, delta)
    user_rtol = rtol
    if rtol is None:
        rtol = DEFAULT_RTOL if risk is None and method in (None, "pld", "rdp") else 1e-3
    if risk is None:
        target, d, method, rtol = _common(target_epsilon, delta, method, rtol)
    else:
        _, _, method, rtol = _common(1.0, 0.5, method, rtol)
    T = v.count("steps", steps)
    k = _check_sampling(sampling, examples_per_user)
    sampler = dict(dataset_size=dataset_size, batch_size=batch_size,
                   max_batch_size=max_batch_size, num_selections=num_selections,
                   steps_per_epoch=steps_per_epoch)
    units = T
    if sampling in ("truncated", "random-allocation", "shuffle"):
        if schedule is not None:
            raise ValueError(f"schedule cannot be combined with sampling={sampling!r} (its "
                             "mechanisms carry their own sampling)")
        sampler, sample_rate, units = _check_sampler(sampling, sample_rate, T, sampler)
    elif any(val is not None for val in sampler.values()):
        _mechanism(1.0, sample_rate, sampling, k, sampler)   # names what does not apply
    try:
        lo_s, hi_s = sigma_range
    except (TypeError, ValueError):
        raise ValueError("sigma_range must be a pair (low, high)") from None
    lo_s, hi_s = v.positive("sigma_range", lo_s), v.positive("sigma_range", hi_s)
    if not lo_s < hi_s:
        raise ValueError(f"sigma_range must have low < high, got {sigma_range!r}")
    if schedule is not None:
        if not isinstance(schedule, Schedule):
            raise ValueError(f"schedule must be a Schedule, got {type(schedule).__name__}")
        for m, _ in schedule.segments:
            if not hasattr(m, "noise_multiplier"):
                raise ValueError("schedule must hold mechanisms with a noise_multiplier")
        q = None
    else:
        q = v.sample_rate("sample_rate", 1.0 if sample_rate is None else sample_rate)
        if risk is None and lookup and method == "pld" and sampling in (None, "poisson", "uls") and not options:
            from .noise_table import exact_entry, table_rtol
            hit = exact_entry(target, d, q, T, user_rtol)
            if hit is not None:
                sig, ce = hit
                # The table entry is this very calibration, precomputed (its own rtol).
                return Calibration(sig, ce, True, "pld", time.perf_counter() - t0, "lookup",
                                   sample_rate=q, steps=T, target_epsilon=target, delta=d,
                                   optimality="table", rtol=table_rtol())
    if risk is not None:
        problem = _SigmaProblem(None, None, q, units, sampling, k, schedule, (lo_s, hi_s),
                                sampler or None)
        return _calibrate_risk(risk, problem, method, rtol, options, guess, max_seconds,
                               t0, T, schedule)
    problem = _SigmaProblem(target, d, q, units, sampling, k, schedule, (lo_s, hi_s),
                            sampler or None)
    if method == "pld" and not options:
        exact = _gaussian_exact(problem, rtol, t0, T)
        if exact is not None:
            return exact
    if guess is None:
        guess = problem.guess()
    else:
        guess = v.positive("guess", guess)
    srch, h, opt, hs = _run_search(problem, target, rtol, method, dict(options), guess,
                                   max_seconds=max_seconds, warm=_warm)
    if srch.zf >= problem.zmax:
        raise problem.too_small_error()
    z = srch.best[0]
    c = problem.p_of(z)
    sched = _scaled(schedule, c) if schedule is not None else None
    return _finish(problem, srch, h, opt, hs, method, rtol, t0, "noise_multiplier",
                   noise_multiplier=c, sample_rate=q, steps=T, schedule=sched)


def _risk_target(target, target_epsilon, delta) -> Optional[RiskTarget]:
    """The risk target of a :func:`calibrate` call, or None for an ε target; exactly one
    of the two kinds must be given."""
    if target is None:
        if target_epsilon is None or delta is None:
            raise ValueError("calibrate needs target_epsilon (> 0) and delta (in (0, 1)), or "
                             "target= a risk target (TprTarget, AdvantageTarget, BayesTarget, "
                             "ReconstructionTarget, GdpMuTarget)")
        return None
    if not isinstance(target, RiskTarget):
        raise ValueError("target must be a risk target (TprTarget, AdvantageTarget, "
                         "BayesTarget, ReconstructionTarget, GdpMuTarget), got "
                         f"{type(target).__name__}")
    if target_epsilon is not None or delta is not None:
        raise ValueError("give either target= (a risk target) or target_epsilon and delta, "
                         "not both")
    return target


def _calibrate_risk(risk, problem, method, rtol, options, guess, max_seconds, t0, T,
                    schedule):
    """σ for a risk target (docs/math.md §15.8): the mechanism is ``problem.build``'s, the
    start the σ whose CLT μ meets the limit on the μ-GDP curve."""
    if guess is None:
        mu = risk.gdp_mu()
        guess = _clt_guess(problem.mu2, mu * mu, problem.pmin, problem.pmax, increasing=False)
    else:
        guess = v.positive("guess", guess)
    sigma, res, opt, n, details = calibrate_to_risk(
        risk, lambda c: problem.build(-math.log(c)), (problem.pmin, problem.pmax), guess,
        method, rtol, dict(options), max_seconds)
    return RiskCalibration(sigma, res, risk, bool(res.certified), res.method,
                           time.perf_counter() - t0, sample_rate=problem.q, steps=T,
                           optimality=opt, rtol=rtol, evaluations=n,
                           schedule=_scaled(schedule, sigma) if schedule is not None else None,
                           details=details, warnings=tuple(res.warnings))


def _per_step_sampler(name, sampling, dataset_size, max_batch_size):
    """The sampler keywords of :func:`calibrate_steps` / :func:`calibrate_sample_rate`."""
    if sampling in EPOCH_SAMPLINGS:
        raise ValueError(f"sampling={sampling!r} is not supported by {name} (one unit of its "
                         "steps is an epoch, and its rate is fixed by the batch size): use "
                         "calibrate for each number of epochs")
    sampler = {key: val for key, val in (("dataset_size", dataset_size),
                                         ("max_batch_size", max_batch_size))
               if val is not None}
    if sampling == "truncated" or sampler:
        _mechanism(1.0, 0.5, sampling, None, sampler)   # checks them (ValueError naming them)
    return sampler or None


@_reports_warnings
def calibrate_steps(noise_multiplier: float, target_epsilon: float, delta: float,
                    sample_rate: float = 1.0, method: str = "pld", *,
                    examples_per_user: Optional[int] = None, sampling: Optional[str] = None,
                    dataset_size: Optional[int] = None, max_batch_size: Optional[int] = None,
                    rtol: float = 1e-3, max_steps: int = MAX_STEPS,
                    max_seconds: Optional[float] = None, **options) -> Calibration:
    """Largest number of steps T whose certified ε(δ) at σ = ``noise_multiplier`` is ≤ the
    target. Optimality: T + 1 and T·(1 + rtol) are certified (PLD lower bound) to spend more.
    A target reachable beyond ``max_steps`` raises ValueError. ``sampling="truncated"``
    takes ``dataset_size`` and ``max_batch_size``; the per-epoch samplers are refused (their
    steps come in whole epochs: use :func:`calibrate` per number of epochs)."""
    t0 = time.perf_counter()
    target, d, method, rtol = _common(target_epsilon, delta, method, rtol)
    sigma = v.positive("noise_multiplier", noise_multiplier)
    q = v.sample_rate("sample_rate", sample_rate)
    k = _check_sampling(sampling, examples_per_user)
    sampler = _per_step_sampler("calibrate_steps", sampling, dataset_size, max_batch_size)
    max_steps = v.count("max_steps", max_steps)
    problem = _StepsProblem(target, d, sigma, q, sampling, k, max_steps, sampler)
    srch, h, opt, hs = _run_search(problem, target, rtol, method, dict(options),
                                   problem.guess(), max_seconds=max_seconds)
    if srch.zf >= problem.zmax - 1e-12:
        raise ValueError(f"more than max_steps={max_steps} steps fit in target_epsilon="
                         f"{target:g}; raise max_steps")
    T = problem.p_of(srch.best[0])
    return _finish(problem, srch, h, opt, hs, method, rtol, t0, "steps",
                   noise_multiplier=sigma, sample_rate=q, steps=T)


@_reports_warnings
def calibrate_sample_rate(noise_multiplier: float, target_epsilon: float, delta: float,
                          steps: int, method: str = "pld", *,
                          examples_per_user: Optional[int] = None, sampling: Optional[str] = None,
                          dataset_size: Optional[int] = None,
                          max_batch_size: Optional[int] = None,
                          rtol: float = 1e-3, max_seconds: Optional[float] = None,
                          **options) -> Calibration:
    """Largest sample rate q ≤ 1 whose certified ε(δ) at σ and ``steps`` is ≤ the target
    (q = 1 when even full batches fit). Optimality as for :func:`calibrate`.
    ``sampling="truncated"`` takes ``dataset_size`` and ``max_batch_size``; the per-epoch
    samplers are refused (their rate is fixed by the batch size)."""
    t0 = time.perf_counter()
    target, d, method, rtol = _common(target_epsilon, delta, method, rtol)
    sigma = v.positive("noise_multiplier", noise_multiplier)
    T = v.count("steps", steps)
    k = _check_sampling(sampling, examples_per_user)
    if sampling == "fixed":
        raise ValueError("sampling='fixed' is not supported by calibrate_sample_rate")
    sampler = _per_step_sampler("calibrate_sample_rate", sampling, dataset_size, max_batch_size)
    problem = _RateProblem(target, d, sigma, T, sampling, k, sampler)
    srch, h, opt, hs = _run_search(problem, target, rtol, method, dict(options),
                                   problem.guess(), max_seconds=max_seconds)
    q = problem.p_of(srch.best[0])
    return _finish(problem, srch, h, opt, hs, method, rtol, t0, "sample_rate",
                   noise_multiplier=sigma, sample_rate=q, steps=T)
