"""Attack risks read from the privacy profile, each as a bracket: attack advantage
(docs/math.md §15.4), Bayes success at a prior (§15.5), the reconstruction-robustness
bound (§15.6) and the closest μ-GDP curve with its regret (§15.7)."""
from __future__ import annotations

import dataclasses
import math
import time
from dataclasses import dataclass, field
from typing import Mapping, Optional

import numpy as np
from scipy.special import ndtr, ndtri

from ..accountants.api import query
from ..core import _validate as v
from ..core.bounds import emit_warnings
from ..core.mechanisms import MechanismLike, as_schedule
from .results import RiskResult
from .tradeoff import (_DEFAULT_RTOL, _cells_lower, cell_exps, make_source, round_lower, tpr,
                       tpr_bracket)

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
    # ε = |log(1 − π) − log π| is known to ±pad; one query at the ε rounded down serves
    # both sides: δ is non-increasing, so its upper bound holds on the whole interval, and
    # |δ′(ε)| = e^ε·Q[L > ε] ≤ e^ε, so δ(ε + 2·pad) ≥ δ(ε) − 2·pad·e^{ε + 2·pad}.
    e_mid = abs(math.log1p(-pi) - math.log(pi))
    pad = 8 * _U * (abs(math.log1p(-pi)) + abs(math.log(pi)) + 1.0)
    e_dn = max(0.0, e_mid - pad)
    r = _delta_at(mechanism, steps, e_dn, method, options)
    d_lo = max(0.0, min(r.lower, 1.0) - 2 * pad * math.exp(e_dn + 2 * pad) * (1 + _ROUND))
    big, small = max(pi, 1.0 - pi), min(pi, 1.0 - pi)
    up = min(1.0, (big + small * min(r.upper, 1.0)) * (1 + _ROUND))
    # (guessing the likelier answer always succeeds with max(π, 1 − π))
    lo = min(up, max((big + small * d_lo) * (1 - _ROUND), big * (1 - 2 * _U)))
    est = up if r.certified else min(max(big + small * min(r.estimate, 1.0), lo), up)
    res = RiskResult("bayes_success", {"prior": pi}, est, lo, up, r.certified, r.method,
                     r.warnings, {"epsilon": e_mid}, time.perf_counter() - t0)
    emit_warnings(res.warnings, res.method)
    return res


def reconstruction_risk(mechanism: MechanismLike, baseline: float, steps: int = 1, *,
                        method: Optional[str] = None, rtol: Optional[float] = None,
                        **options) -> RiskResult:
    """The reconstruction-robustness bound 1 − f(κ) for an attack whose prior (baseline)
    success probability is κ (Hayes et al. 2023, arXiv 2302.07225; Kaissis et al. 2023,
    arXiv 2307.03928; docs/math.md §15.6). The bracket is on this *bound*: no
    reconstruction attack succeeds with probability above ``upper``."""
    k = v.open_probability("baseline", baseline)
    r = tpr(mechanism, k, steps, method=method, rtol=rtol, **options)
    return dataclasses.replace(r, quantity="reconstruction_bound", at={"baseline": k})


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
    """Φ̄⁻¹(p) (the upper normal quantile), elementwise."""
    return -ndtri(p)


def _g_mu(mu, x):
    """G_μ(x) = Φ(Φ̄⁻¹(x) − μ), elementwise."""
    return ndtr(_z(x) - mu)


def _envelope(E, up):
    """The lines under f from proven upper bounds u_j ≥ δ(E_j) (docs/math.md §15.1):
    (slopes, intercepts) of 1 − u − e^E α and e^{−E}(1 − u − α), plus the line 0."""
    s1, b1 = -np.exp(E), 1.0 - up
    s2, b2 = -np.exp(-E), np.exp(-E) * (1.0 - up)
    return np.concatenate([s1, s2, [0.0]]), np.concatenate([b1, b2, [0.0]])


def _hull(slopes, icpts):
    """The upper envelope of lines on α ∈ [0, 1]: its lines in order of increasing α and
    the kinks between them (convex-hull trick on lines sorted by slope, steepest first)."""
    order = np.lexsort((-icpts, slopes))
    keep_s, keep_b = [], []
    for m, b in zip(slopes[order], icpts[order]):
        if keep_s and m == keep_s[-1]:
            continue                      # same slope, lower intercept (sorted so)
        while len(keep_s) >= 2:
            m1, b1 = keep_s[-2], keep_b[-2]
            m2, b2 = keep_s[-1], keep_b[-1]
            # line 2 is useless if line 3 overtakes line 1 no later than line 2 does
            if (b - b1) * (m1 - m2) <= (b2 - b1) * (m1 - m):
                keep_s.pop()
                keep_b.pop()
            else:
                break
        keep_s.append(m)
        keep_b.append(b)
    ms, bs = np.array(keep_s), np.array(keep_b)
    # the steepest line wins at small α; kinks where consecutive lines meet
    kinks = (bs[1:] - bs[:-1]) / (ms[:-1] - ms[1:])
    return ms, bs, kinks


def _envelope_at(ms, bs, kinks, x):
    """The envelope at the points x: the hull line whose kink interval holds each x."""
    k = np.searchsorted(kinks, x, side="right")
    return np.maximum(bs[k] + ms[k] * x, 0.0)


def _tpr_lower_many(E, lo, alphas):
    """Lower bounds on TPR at many α from proven lower bounds on δ at the grid E
    (the cells of docs/math.md §15.3, vectorised)."""
    exps = cell_exps(E)
    out = np.empty(alphas.shape)
    for k, a in enumerate(alphas):
        cells, tail = _cells_lower(E, lo, float(a), exps)
        out[k] = round_lower(min(float(cells.min()), tail), float(a))
    return np.minimum(out, 1.0)


def _mu_bracket(source, alpha_min, rtol, grid):
    """(lower, upper, α at the sup) of μ* (docs/math.md §15.7).

    Upper: the lines of the profile's upper bounds lie under f everywhere; G_μ minus one
    line is convex, so G_μ ≤ (their envelope) on [α_min, ½] as soon as it holds at the
    envelope's kinks and at the two ends: μ_up = max there of z(α) + z(envelope(α)).
    Lower: z(α) − z(TPR_lower(α)) at the evaluated α."""
    E, lo, up = grid
    ms, bs, kinks = _hull(*_envelope(E, up))
    xs = np.concatenate([[alpha_min, 0.5], kinks[(kinks > alpha_min) & (kinks < 0.5)]])
    F = _envelope_at(ms, bs, kinks, xs) * (1 - _ROUND) - 1e-300
    with np.errstate(divide="ignore", invalid="ignore"):
        vals = _z(xs) + np.where(F > 0, _z(np.maximum(F, 1e-300)), np.inf)
    mu_up = float(np.max(vals)) * (1 + 1e-9) + 1e-12
    A = np.geomspace(alpha_min, 0.5, 200)
    T = _tpr_lower_many(E, lo, A)
    m_lo = _z(A) - _z(np.minimum(T, 1.0 - 1e-16))
    k = int(np.argmax(m_lo))
    mu_lo = max(0.0, float(m_lo[k]) * (1 - 1e-9) - 1e-12)
    return mu_lo, max(mu_up, mu_lo), float(A[k])


def _regret_bracket(grid, mu_lo, mu_up):
    """(lower, upper) of the regret Δ* = min{Δ : f(x + Δ) − Δ ≤ G_μ*(x) ∀x ∈ [0, 1]}
    (docs/math.md §15.7), by bisection on Δ (the condition only gets easier as Δ grows).

    Upper: f lies below the chords of its proven upper values 1 − TPR_lower at a grid of α
    (f is convex), and G_μ* ≥ G_μ_up; on each chord piece chord(x + Δ) − Δ − G_μ(x) is
    concave in x, maximised where G_μ′(x) equals the chord's slope (x = Φ̄((log(−s) +
    μ²/2)/μ)) or at the piece's ends. Lower: f ≥ the profile's envelope and G_μ* ≤ G_μ_lo;
    a violation at any x of a grid proves Δ* above that Δ."""
    E, lo, up = grid
    A = np.unique(np.concatenate([[0.0, 1.0], np.geomspace(1e-12, 0.5, 600),
                                  np.linspace(0.0, 1.0, 801)]))
    inner = A[(A > 0) & (A < 1)]
    Fu = np.empty(A.shape)
    Fu[A == 0.0] = 1.0
    Fu[A == 1.0] = 0.0
    Fu[(A > 0) & (A < 1)] = 1.0 - _tpr_lower_many(E, lo, inner)
    Fu = np.minimum(np.maximum.accumulate(Fu[::-1])[::-1], 1.0)   # f is non-increasing
    slopes = np.diff(Fu) / np.diff(A)

    def holds_up(D):
        # pieces of x: x + D in [A_i, A_{i+1}]
        xl = np.clip(A[:-1] - D, 0.0, 1.0)
        xr = np.clip(A[1:] - D, 0.0, 1.0)
        ok = xr > xl
        for i in np.nonzero(ok)[0]:
            s = slopes[i]
            cand = [xl[i], xr[i]]
            if s < 0:
                zc = (math.log(-s) + 0.5 * mu_up * mu_up) / mu_up
                xc = float(ndtr(-zc))
                if xl[i] < xc < xr[i]:
                    cand.append(xc)
            for x in cand:
                chord = Fu[i] + s * (x + D - A[i])
                g = float(_g_mu(mu_up, x)) if 0.0 < x < 1.0 else (1.0 if x <= 0 else 0.0)
                if chord - D > g - 1e-12:    # (a margin for the rounding of G_μ)
                    return False
        return True

    ms, bs, kinks = _hull(*_envelope(E, up))
    X = np.unique(np.concatenate([np.geomspace(1e-12, 0.5, 400), np.linspace(0, 1, 1001)]))
    G = np.where((X > 0) & (X < 1), _g_mu(mu_lo, np.clip(X, 1e-300, 1.0)),
                 np.where(X <= 0, 1.0, 0.0))

    def fails_lo(D):
        Fl = _envelope_at(ms, bs, kinks, np.minimum(X + D, 1.0)) * (1 - _ROUND)
        return bool(np.any(Fl - D > G * (1 + 1e-12) + 1e-15))

    # the largest Δ proven too small, and the smallest Δ proven large enough
    R_lo = _threshold(lambda D: not fails_lo(D), 0.0, 1.0)[0]
    R_up = _threshold(holds_up, R_lo, 1.0)[1]
    return R_lo, max(R_up, R_lo)


def _threshold(ok, lo, hi, n=40):
    """Bisection for a monotone predicate (False below a threshold, True above):
    (last Δ seen False, first Δ seen True) after ``n`` halvings of [lo, hi]."""
    for _ in range(n):
        mid = 0.5 * (lo + hi)
        if ok(mid):
            hi = mid
        else:
            lo = mid
    return lo, hi


def _profile_grid(source, alpha_min, rtol):
    """The profile's bounds on a dense ε grid covering every α ≥ α_min, after windows
    were composed where the TPR queries at a few α need them."""
    hint, top = None, 1.0
    for a in np.geomspace(alpha_min, 0.5, 8)[::-1]:
        _, _, _, det = tpr_bracket(source, float(a), rtol, hint)
        hint = det["epsilon_at_optimum"]
        top = max(top, hint)
    # one composed window answers any number of ε; per-ε queries are cheap only for the
    # closed forms the PLD method answers directly (a coarser grid only widens the brackets)
    n = 60001 if source.windowed else 2001 if source.method == "pld" else 201
    E = np.linspace(0.0, top + 2.0, n)
    lo, up, est = source.bounds(E)
    return E, lo, up, est


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
    source = make_source(mechanism, steps, method, rt, options)
    E, lo, up, est = _profile_grid(source, am, rt)
    mu_lo, mu_up, a_star = _mu_bracket(source, am, rt, (E, lo, up))
    R_lo, R_up = _regret_bracket((E, lo, up), mu_lo, mu_up)
    if source.certified:
        mu_est, R_est = mu_up, R_up
    else:
        # the same fit of the method's estimated profile (not a bound), kept inside the
        # method's rigorous interval
        mu_e = _mu_bracket(source, am, rt, (E, est, est))[1]
        R_e = _regret_bracket((E, est, est), mu_e, mu_e)[1]
        mu_est = min(max(mu_e, mu_lo), mu_up)
        R_est = min(max(R_e, R_lo), R_up)
    warns = tuple(source.warnings)
    mu = RiskResult("gdp_mu", {"alpha_min": am}, mu_est, mu_lo, mu_up, source.certified,
                    source.method, warns, {"alpha_at_sup": a_star})
    reg = RiskResult("gdp_regret", {"alpha_min": am}, R_est, max(R_lo, 0.0),
                     max(R_up, R_lo, 0.0), source.certified, source.method, warns)
    fit = GdpFit(mu, reg, am, source.certified, source.method, time.perf_counter() - t0)
    emit_warnings(warns, source.method)
    return fit
