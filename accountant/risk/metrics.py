"""Attack risks read from the privacy profile, each as a bracket (docs/math.md §15.4–15.6):
attack advantage, Bayes success at a prior, the reconstruction-robustness bound and the
closest μ-GDP curve with its regret."""
from __future__ import annotations

import math
import time
from dataclasses import dataclass, field
from typing import Mapping, Optional, Tuple

import numpy as np
from scipy.special import ndtri

from ..accountants.api import query
from ..core import _validate as v
from ..core._optimize import find_root
from ..core.bounds import emit_warnings
from ..core.mechanisms import MechanismLike, as_schedule
from ..loss.gdp import gdp_delta_bracket
from .results import RiskResult
from .tradeoff import _DEFAULT_RTOL, make_source, tpr_bracket

__all__ = ["advantage", "bayes_success", "reconstruction_risk", "gdp_fit", "GdpFit"]

_U = 2.0 ** -53
_ROUND = 16 * _U


def _delta_at(mechanism, steps, eps, method, options):
    r = query("delta", as_schedule(mechanism, steps), eps, 1, method, **options)
    return r


def advantage(mechanism: MechanismLike, steps: int = 1, *, method: Optional[str] = None,
              **options) -> RiskResult:
    """The membership-inference advantage max_test (TPR − FPR) = δ(0) (docs/math.md §15.4),
    the total-variation distance of the worst neighbouring pair."""
    t0 = time.perf_counter()
    r = _delta_at(mechanism, steps, 0.0, method, options)
    res = RiskResult("advantage", {}, min(r.estimate, 1.0), min(r.lower, 1.0),
                     min(r.upper, 1.0), r.certified, r.method, r.warnings,
                     {"delta_at_epsilon_0": r.as_dict()}, time.perf_counter() - t0)
    emit_warnings(res.warnings, res.method)
    return res


def bayes_success(mechanism: MechanismLike, prior: float = 0.5, steps: int = 1, *,
                  method: Optional[str] = None, **options) -> RiskResult:
    """The best probability of guessing membership when the record is in with probability
    ``prior`` (docs/math.md §15.5): max(π, 1 − π) + min(π, 1 − π)·δ(|log((1 − π)/π)|)."""
    t0 = time.perf_counter()
    pi = v.open_probability("prior", prior)
    # ε = |log(1 − π) − log π|, rounded down: δ is non-increasing, so a smaller ε keeps
    # the upper side an upper bound; the lower side uses the ε rounded up.
    e_mid = abs(math.log1p(-pi) - math.log(pi))
    pad = 8 * _U * (abs(math.log1p(-pi)) + abs(math.log(pi)) + 1.0)
    e_dn, e_up = max(0.0, e_mid - pad), e_mid + pad
    r_up = _delta_at(mechanism, steps, e_dn, method, options)
    r_lo = r_up if e_up == e_dn else _delta_at(mechanism, steps, e_up, method, options)
    big, small = max(pi, 1.0 - pi), min(pi, 1.0 - pi)
    up = min(1.0, (big + small * min(r_up.upper, 1.0)) * (1 + _ROUND))
    lo = min(up, (big + small * min(r_lo.lower, 1.0)) * (1 - _ROUND))
    est = min(max(big + small * min(r_up.estimate, 1.0), lo if r_up.certified else 0.0), 1.0)
    if r_up.certified:
        est = up
    res = RiskResult("bayes_success", {"prior": pi}, est, lo, up, r_up.certified, r_up.method,
                     tuple(dict.fromkeys(r_up.warnings + r_lo.warnings)),
                     {"epsilon": e_mid}, time.perf_counter() - t0)
    emit_warnings(res.warnings, res.method)
    return res


def reconstruction_risk(mechanism: MechanismLike, baseline: float, steps: int = 1, *,
                        method: Optional[str] = None, rtol: Optional[float] = None,
                        **options) -> RiskResult:
    """The reconstruction-robustness bound 1 − f(κ) for an attack whose prior (baseline)
    success probability is κ (Hayes et al. 2023, arXiv 2302.07225; Kaissis et al. 2023,
    arXiv 2307.03928; docs/math.md §15.6). The bracket is on this *bound*: no
    reconstruction attack succeeds with probability above ``upper``."""
    t0 = time.perf_counter()
    k = v.open_probability("baseline", baseline)
    rt = _DEFAULT_RTOL if rtol is None else v.positive("rtol", rtol)
    source = make_source(mechanism, steps, method, rt, options)
    L, U, est, det = tpr_bracket(source, k, rt)
    res = RiskResult("reconstruction_bound", {"baseline": k}, est, L, U, source.certified,
                     source.method, tuple(source.warnings), det, time.perf_counter() - t0)
    emit_warnings(res.warnings, res.method)
    return res


# ----------------------------------------------------------------------------------------
# μ-GDP fit and regret
# ----------------------------------------------------------------------------------------
@dataclass(frozen=True)
class GdpFit:
    """The μ of the closest μ-GDP curve and its regret (docs/math.md §15.7).

    ``mu`` brackets μ* = sup { Φ̄⁻¹(α) − Φ̄⁻¹(TPR(α)) : α ∈ [α_min, ½], TPR(α) ≤ 1 − α_min },
    the smallest μ whose Gaussian curve G_μ lies below the mechanism's trade-off curve on
    that range (so the mechanism is μ*-GDP there); ``regret`` brackets the smallest Δ with
    f(x + Δ) − Δ ≤ G_μ*(x) for all x (how far the curve lies above G_μ*; 0 for a Gaussian
    mechanism). Both are certified when ``certified``.
    """

    mu: RiskResult
    regret: RiskResult
    alpha_min: float
    certified: bool
    method: str
    seconds: float = 0.0
    details: Mapping = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {"quantity": "gdp_fit", "method": self.method, "certified": self.certified,
                "alpha_min": self.alpha_min, "mu": self.mu.as_dict(),
                "regret": self.regret.as_dict(), "seconds": self.seconds}

    def __str__(self) -> str:
        return f"{self.mu}\n{self.regret}"


def _z(p):
    """Φ̄⁻¹(p) (the upper normal quantile)."""
    return -float(ndtri(p))


def _mu_point(alpha, tpr_value):
    return _z(alpha) - _z(tpr_value)


def _mu_bracket(source, alpha_min, rtol, max_evals=120):
    """(lower, upper, argmax α) of μ* by adaptive cells in log α (docs/math.md §15.7):
    on [a_j, a_{j+1}], z(α) ≤ z(a_j) and TPR(α) ≤ TPR_up(a_{j+1})."""
    hint = None
    pts = {}

    def ev(a):
        nonlocal hint
        if a not in pts:
            L, U, _, det = tpr_bracket(source, a, rtol, hint)
            hint = det["epsilon_at_optimum"]
            pts[a] = (L, U)
        return pts[a]

    grid = list(np.geomspace(alpha_min, 0.5, 25))
    for a in grid[::-1]:
        ev(float(a))
    for _ in range(max_evals):
        A = sorted(pts)
        lows, cells = [], []
        for a in A:
            L, U = pts[a]
            if L <= 1.0 - alpha_min and L < 1.0:
                lows.append((_mu_point(a, L) - 1e-12, a))
        for a0, a1 in zip(A[:-1], A[1:]):
            L0, U0 = pts[a0]
            L1, U1 = pts[a1]
            if L0 > 1.0 - alpha_min:
                continue      # the whole cell lies beyond the range (TPR only grows)
            cells.append((_z(a0) - _z(min(U1, 1.0 - alpha_min)) + 1e-12, a0, a1))
        best_lo = max(lows, default=(0.0, alpha_min))
        best_up = max(cells, default=(best_lo[0], alpha_min, alpha_min))
        if best_up[0] - best_lo[0] <= max(rtol * best_up[0], 1e-9):
            break
        thr = best_lo[0] + 0.5 * max(rtol * best_up[0], 1e-9)
        # the worst cells first: their bounds set the upper bound
        new = [math.sqrt(a0 * a1) for u, a0, a1 in sorted(cells, reverse=True)
               if u > thr and a1 / a0 > 1 + 1e-9]
        if not new:
            break
        for a in new[:6]:
            ev(a)
    return max(best_lo[0], 0.0), max(best_up[0], best_lo[0], 0.0), best_lo[1]


def _mu_for(eps, d, side):
    """The μ whose δ_μ(ε) equals d (δ_μ grows with μ), a bound on ``side``."""
    if d <= 0.0:
        return 0.0
    target = math.log(d)

    def f(mu):
        lo, up = gdp_delta_bracket(mu, eps)
        val = up if side == "lower" else lo
        return (math.log(val) if val > 0 else -1e300) - target
    hi = 1.0
    while f(hi) < 0 and hi < 1e4:
        hi *= 2
    return find_root(f, 1e-9, hi, xtol=1e-12, rtol=1e-12)


def _regret_bracket(source, mu_lo, mu_up, rtol):
    """(lower, upper) of sup_{ε≥0} (δ_μ(ε) − δ(ε))/(1 + e^ε) (docs/math.md §15.7), by cells
    in ε: on [E_j, E_{j+1}] the term is ≤ (δ_μ(E_j) − δ(E_{j+1}))/(1 + e^{E_j})."""
    top = 4.0 * mu_up * mu_up + 8.0 * mu_up + 8.0
    E = np.unique(np.concatenate([np.linspace(0.0, top, 41), np.geomspace(1e-3, top, 12)]))
    for _ in range(40):
        lo, up, _ = source.bounds(E)
        g_up = np.array([gdp_delta_bracket(mu_up, float(e))[1] for e in E])
        g_lo = np.array([gdp_delta_bracket(mu_lo, float(e))[0] for e in E])
        pts = (g_lo - up) / (1.0 + np.exp(E))
        cells = (g_up[:-1] - lo[1:]) / (1.0 + np.exp(E[:-1]))
        tail = g_up[-1] / (1.0 + math.exp(E[-1]))
        R_lo = max(float(pts.max()), 0.0)
        R_up = max(float(cells.max()), tail, R_lo)
        if R_up - R_lo <= max(rtol * R_up, 1e-7):
            break
        thr = R_lo + 0.5 * max(rtol * R_up, 1e-7)
        split = [0.5 * (E[k] + E[k + 1]) for k in np.nonzero(cells > thr)[0]
                 if E[k + 1] - E[k] > 1e-7]
        if tail > thr:
            split.append(E[-1] * 1.5)
        if not split:
            break
        E = np.unique(np.concatenate([E, split]))
    return R_lo * (1 - _ROUND), R_up * (1 + _ROUND)


def gdp_fit(mechanism: MechanismLike, steps: int = 1, *, alpha_min: float = 1e-10,
            method: Optional[str] = None, rtol: Optional[float] = None,
            **options) -> GdpFit:
    """The closest μ-GDP curve: μ* and its regret, each bracketed (docs/math.md §15.7).

    Parameters
    ----------
    mechanism, steps, method, options : as :func:`accountant.risk.tpr`.
    alpha_min : the smallest false-positive rate the fit looks at, in (0, 0.5) (default
        1e-10, as gdpnum; the extreme tail of a subsampled mechanism is far from any μ-GDP
        curve and would dominate the sup).
    rtol : relative width of each bracket (default 1e-3).
    """
    t0 = time.perf_counter()
    am = v.open_probability("alpha_min", alpha_min)
    if not am < 0.5:
        raise ValueError(f"alpha_min must be in (0, 0.5), got {alpha_min!r}")
    rt = _DEFAULT_RTOL if rtol is None else v.positive("rtol", rtol)
    source = make_source(mechanism, steps, method, rt / 4.0, options)
    mu_lo, mu_up, a_star = _mu_bracket(source, am, rt / 4.0)
    if source.certified:
        R_lo, R_up = _regret_bracket(source, mu_lo, mu_up, rt)
        mu_est, R_est = mu_up, R_up
    else:
        R_lo, R_up = _regret_bracket(source, mu_lo, mu_up, rt)
        mu_est, R_est = 0.5 * (mu_lo + mu_up), 0.5 * (R_lo + R_up)
    warns = tuple(source.warnings)
    mu = RiskResult("gdp_mu", {"alpha_min": am}, mu_est, mu_lo, mu_up, source.certified,
                    source.method, warns, {"alpha_at_sup": a_star})
    reg = RiskResult("gdp_regret", {"alpha_min": am}, R_est, max(R_lo, 0.0),
                     max(R_up, R_lo, 0.0), source.certified, source.method, warns)
    fit = GdpFit(mu, reg, am, source.certified, source.method, time.perf_counter() - t0)
    emit_warnings(warns, source.method)
    return fit
