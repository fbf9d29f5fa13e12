"""PLD accountant: certified two-sided brackets on ε(δ) and δ(ε) by FFT composition.

For each direction (docs/math.md §1.3) and each distinct mechanism of the schedule, the
one-step privacy loss is discretised twice on a common grid ε_i = i·h:

Upper bound — connect-the-dots (Doroshenko, Ghazi, Kamath, Kumar, Manurangsi 2022,
arXiv 2207.04380, Thm 4.4/"CTD dominates"). Write the one-step profile as
f(u) = δ(log u) = E_P[(e^L − u)_+], u = e^ε > 0. Each P-mass of e^L at y ∈ [u_i, u_{i+1}]
is split between u_i and u_{i+1} with weights (u_{i+1} − y)/Δu_i and (y − u_i)/Δu_i
(a mean-preserving spread); by Jensen, E[(Y − u)_+] can only grow, so the discrete profile
g — the chord interpolation of f at the grid points — satisfies g ≥ f everywhere. Q-mass
below the grid goes to ε_0 (loss moved up), and the Q-mass above the top point ε_n is
split into δ(ε_n) at +∞ and u_n·P[L > ε_n] at ε_n, which keeps g ≥ f above u_n and g = f
below. A pair whose profile is pointwise larger dominates (Blackwell; Dong–Roth–Su 2019,
Zhu–Dong–Wang 2022 Thm 8), and domination survives composition, so every composition of
the discrete PLDs upper-bounds the true δ_T(ε) for every ε. The cell integrals are
E_P[(e^L − u_i)_+; cell] and E_P[(u_{i+1} − e^L)_+; cell], computed by Gauss–Legendre
quadrature of non-negative integrands in the outcome x (no cancellation); the grid values
f(u_i) follow by positive recursions.

Lower bound — lowered chords (docs/math.md §4.2). A convex, non-increasing g with g(0) = 1,
g ≥ max(0, 1 − u) is the profile of a pair; if g ≤ f it is dominated by (P, Q), again for
every composition. On cell [u_i, u_{i+1}] the chord of f exceeds f by at most
γ_i = Δu_i·α·β/(α + β), where α = f′-chord gap at the left end and β at the right end
(take the two tangents at the ends: chord − f ≤ min(α(u − u_i), β(u_{i+1} − u)) ≤ γ_i), and
α = b_i, β = a_i are exactly the normalised cell integrals above. Lowering each grid value
by m_i = max(γ_{i−1}, γ_i) gives a piecewise-linear interpolant ≤ f (on every cell it lies
below the chord lowered by γ_i, and the extended chord line lies below f outside the cell
by convexity). Points where the lowered value falls under 1 − u (left) or under 0 (right)
are put on those lines, extending one point further into the middle so that the only
segments joining the two kinds of points run *below* the original interpolant. The
greatest convex minorant (pool-adjacent-violators on slopes) of that interpolant is a valid
profile ≤ f with kinks only at grid points: a discrete PLD on the same grid whose error is
second order in h, like the upper one (floor-rounding would drift by T·h/2). A step whose
construction degenerates (its loss lies within a cell of 0) gets the point mass at ε = 0,
the pair P = Q, on the lower side: every pair dominates it (dropping that step's output
is post-processing), so the other steps still give a lower bound.

Laplace — s/b rounded to nearest may lie an ulp below the true s/b; the upper PMF is built
for s/b rounded up and the lower one for s/b rounded down (the profile grows with s/b), and
the pure-DP cap Σ T·s/b is summed exactly and rounded up.

Directions — each direction is composed over all steps and the max of each side is taken.
A direction whose Chernoff bound (δ(ε) ≤ P_∞ + e^{F(t) − tε}, F the CGF of the composed
upper PLD, valid for every t > 0) already lies below another direction's certified lower
bound cannot be the max; it keeps that bound and skips the FFT.

Composition — each discrete PLD is exponentially tilted by e^{λℓ} (λ near the saddle point
of the query), folded onto a window [W_lo, W_hi] sized by Chernoff bounds on the tilted
composition (mass outside ≤ η), raised to its step count by one rfft power and multiplied
with the other mechanisms' transforms (heterogeneous schedules, no re-discretisation).
Tilting commutes with convolution, so the inverse FFT returns the composed PLD in tilted
form; floating-point round-off of the FFT is then a small fraction of δ even at δ = 1e-15.
Error terms, all added to the upper δ / subtracted from the lower δ:

* FFT round-off, componentwise (Higham, *Accuracy and Stability of Numerical Algorithms*,
  §24.1: each output of a log₂n-stage FFT has error ≤ log₂n·c·u·Σ|x|), propagated through
  the power (|d(X^T)| ≤ T|X|^{T−1}|dX|, evaluated from the computed spectrum) and the
  inverse transform; bounded per bin in tilted space, then untilted exactly.
* Mass outside the window: tilted Chernoff bound η, untilted by e^{−λℓ + F(λ)}.
* Mass at +∞ of the upper PLDs: 1 − Π(1 − δ_m(ε_top))^{T_m}, exact (its union bound
  Σ T_m·δ_m(ε_top) where that is below e^−600).

δ itself, η, the tail thresholds of the grid ends and the mass at +∞ are handled as
logarithms: at δ = 5e-324 with T = 1e7 neither η ≪ δ nor δ/T is a double.
* A relative margin T·5e-13 for the quadrature of the one-step cell integrals.
* Q-mass outside the integrated outcome span (±40σ around the mixture components, below
  the smallest double) goes to the upper PLD's mass at +∞. (The span was ±20σ and the
  1e-88 left out was not added: at δ = 1e-300 the upper bound fell below the exact value
  of a single step.)

Leakiest step — every result's lower bound is at least the exact ε (δ) of the leakiest
single step (post-processing, :func:`accountant.accountants.exact.composed_lower_epsilon`). An upper
bound below it would be a bug in the error accounting; the RDP upper bound is then
reported instead, with a ``pld_upper_below_proven_lower`` warning.

ε(δ) is read from the exact δ(ε) of the discrete PLD (linear in e^ε between grid points);
the result is the max over directions of each side.

Grid step — chosen from the requested accuracy: a first grid from a width model on the
losses' variances (docs/math.md §4.6; else 4e-3), then h from the measured
law width ∝ h^p (p from the last two grids, at most 2, the asymptotic order) until upper − lower ≤
max(rtol·value, atol); ``h=`` fixes it. Grids are capped (one step: 4e6 points, composed
window: 2^22); beyond that the coarser bracket is returned with a ``grid_capped`` warning.
One-step grids are kept within ±600 (e^ℓ must be a double): the mass beyond the top is
the exact δ(ε_top) at +∞, so clipping is always valid; a step whose δ(600) is not
negligible raises ValueError (use RDP).

Limits — when a step's privacy loss is concentrated far below the grid step (q ≲ 3e-4),
both discretisations lose their second-order accuracy (each step's mean-preserving spread
adds a variance ~ h·q that dwarfs the true ~q²) and the refinement has to go down to
h ≈ 1e-5…6e-5. The composed window is then long, because the tilted law carries the
multi-"hit" tail of the subsampled loss (σ=0.6, q=1e-4, T=1e4, δ=1e-6: tilted mean 1.35,
s.d. 2.3, window up to 43): 0.2–1.5 s instead of milliseconds. Staged composition (fine grid
for blocks of steps, then re-discretisation) would shorten it by the ratio of the grids; it
is not implemented. At δ ≲ 1e-14 with q ≈ 1e-4 and σ ≈ 1 the answer lies where no single
tilt puts more than ~1e-11 of the tilted mass (the no-hit lump and the Gaussian hit tail
pull λ apart: λ = 44 centres the hits far above ε, λ ≈ 10 leaves the lump dominant), so the
certified FFT round-off, not h, sets the width (≈ 1.6 % of ε, with a warning); staging
would not change that.

Size: about 100 lines of this module are the proofs above; the code is the bracket per
grid step, the refinement and the entry points (one step: ``onestep.py``; composition:
``compose.py``).
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING, Optional, Tuple

import numpy as np
from scipy.special import ndtri

from .. import exact as _exact
from ...core import _validate as v
from ...core.bounds import Result
from ...loss import directions_of, privacy_losses
from ..api import query, register
from . import merge
from .compose import (_ETA, _LOG2, _MAX_WINDOW, _QUAD_REL, _Direction, _Parts,  # noqa: F401
                      _chernoff_eps, _interp, _log_slack, _saddle_lambda_for_delta,
                      _saddle_lambda_for_eps)
from .onestep import _CACHE, _CACHE_SIZE, _GridTooLarge, _WORK, _Work, _one_step  # noqa: F401

if TYPE_CHECKING:
    from ...core.mechanisms import Schedule

__all__ = ["compute", "epsilon_bracket", "delta_bracket", "delta_refine"]

_QUERY_WORK = 400_000_000  # kernel evaluations per query (see onestep._MAX_ONE_STEP_WORK)
_H_MIN = 2e-6
_H_MAX = 0.5


# ----------------------------------------------------------------------------------------
# One grid step: brackets per direction
# ----------------------------------------------------------------------------------------
def _pow2_floor(x: float) -> float:
    """x rounded down to a power of two (see :func:`_log_pow2_floor`)."""
    return 2.0 ** math.floor(math.log2(x))


def _log_pow2_floor(lx: float) -> float:
    """log x with x rounded down to a power of two. The one-step cache is keyed by the tail
    threshold; rounding it down (a smaller threshold only tightens what is truncated, and
    every truncation is accounted) lets queries with nearby T or δ share one-step PLDs."""
    return math.floor(lx / _LOG2) * _LOG2


def _eps_at_h(schedule, delta, h, dirs=None, lower=True, direction=_Direction, upper=True,
              coarse=_Direction):
    counts = schedule.counts()
    T = schedule.steps
    # (a logarithm: 1e-5·δ/T is no double at δ = 5e-324)
    tau_hi = _log_pow2_floor(min(math.log(1e-5) + math.log(delta), math.log(1e-10))
                             - math.log(T))
    out = {}
    order = list(dirs if dirs is not None else list(directions_of(schedule)))
    if "remove" in order:  # usually the larger ε: its lower bound lets the others skip
        order.remove("remove")
        order.insert(0, "remove")
    # Untilted tail terms are ≤ e^{F(λ) − λℓ}·eta: keep them ≪ δ even at λ ≈ 0.
    log_eta = min(math.log(_ETA), math.log(1e-6) + math.log(delta))
    # smooth losses only (their answer sits near the saddle point; a lattice pair's answer
    # on an atom at the top of its support does not: ε = inf at δ = 0.28 for two (ε, δ)
    # steps)
    smooth = len(counts) <= _MODEL_MECHANISMS and all(
        getattr(pl, "pld_second_order", False) for m, _ in counts for pl in privacy_losses(m))
    h_skip = min(_SKIP_H, max(4 * h, _first_grid(schedule))) if len(order) > 1 else h
    for d in order:
        # A direction cannot be the max when its upper bound is below another's lower bound;
        # with the upper side only, it cannot raise the max of the upper bounds when it is
        # below another's upper bound (the lower side is not asked for).
        top_lo = max((r[0] if lower else r[1] for r in out.values()), default=-math.inf)
        if out and h < h_skip:
            # This direction is probably below another one's lower bound: a coarse grid's
            # certified upper bound may show it cannot be the max, without the fine grid
            # (calibration composed the add direction of every σ at 4e-5 for nothing).
            Dc = coarse(counts, d, h_skip, log_tau_hi=tau_hi)
            skip = _cannot_be_max(Dc, delta, log_eta, top_lo, smooth=smooth)
            if skip is not None:
                out[d] = skip
                continue
        D = direction(counts, d, h, log_tau_hi=tau_hi)
        if out:
            skip = _cannot_be_max(D, delta, log_eta, top_lo, compose=False)
            if skip is not None:
                out[d] = skip
                continue
        try:
            el, eu = _solve_direction(D, delta, log_eta, lower, upper, smooth)
        except _GridTooLarge:
            if not out:
                raise
            # Keep this direction's valid Chernoff upper bound (and the trivial lower 0).
            slack = _log_slack(delta, D.quad, D.log_p_inf)
            ch = _chernoff_eps(D.parts_up, slack) if slack is not None else math.inf
            D.n, D.lam, D.up, D.lo = 0, 0.0, None, None
            out[d] = (0.0, max(ch, 0.0), D)
            continue
        # Pure-DP cap: δ(ε) = 0 once ε reaches the largest possible composed loss, summed
        # exactly and rounded up (Σ T·hi_loss in floats fell an ulp below s/b for
        # Laplace(6.9e8), under the true ε at δ = 1e-300).
        pure = _exact.pure_epsilon(schedule, d)
        out[d] = (min(max(el, 0.0), pure), min(max(eu, 0.0), pure), D)
    return out


# Grid of the "cannot be the max" test of a later direction: at most _SKIP_H, 4h, and
# the loss-s.d. rule of _first_grid (at q = 1e-3 the add direction's upper bound on a
# 2e-3 grid lay above the remove direction's lower bound, but on 3.5e-4 it did not: it
# was composed on the fine grid for nothing, 40 % of the query).
_SKIP_H = 2e-3


def _cannot_be_max(D, delta, log_eta, top_lo, compose=True, smooth=False):
    """(0, upper, D) when a certified upper bound of direction ``D`` — its Chernoff bound,
    then (``compose``) its composition on D's grid — is ≤ ``top_lo``, another direction's
    certified lower bound: it cannot be the max (docs/math.md §4.5). None otherwise."""
    slack = _log_slack(delta, D.quad, D.log_p_inf)
    ch = _chernoff_eps(D.parts_up, slack) if slack is not None else math.inf
    if ch <= top_lo:
        D.n, D.lam, D.up, D.lo = 0, 0.0, None, None
        return 0.0, max(ch, 0.0), D
    if not compose:
        return None
    try:
        # (the upper side only: its lower bound would be the trivial 0 anyway)
        _, eu = _solve_direction(D, delta, log_eta, lower=False, smooth=smooth)
    except _GridTooLarge:
        return None
    if eu <= top_lo:
        D.coarse = True
        return 0.0, max(eu, 0.0), D
    return None


def _solve_direction(D, delta, log_eta, lower=True, upper=True, smooth=False):
    """(lower, upper) on ε(δ) of one direction at its grid: the tilted composition, moved
    until its window holds both answers (raises _GridTooLarge). ``lower=False``: the
    upper side only, with the trivial lower bound 0. ``upper=False``: the lower side only,
    with the (exact-F) Chernoff upper bound of docs/math.md §4.5 (loose, but proven)."""
    if not upper and D.parts_lo is None:
        upper = True        # no lower PLD on this grid: the upper side is all there is
    eu_ch = None
    if not upper:
        slack = _log_slack(delta, D.quad, D.log_p_inf)
        eu_ch = _chernoff_eps(D.parts_up, slack) if slack is not None else math.inf
    lam = _saddle_lambda_for_delta(D.parts_up, delta)
    # (upper side only: the window may end where the Q-mass above is ≤ 1e-9·δ, counted at
    # +∞; the two-sided window's tilted 1e-11 reached 2–3× further: docs/math.md §4.4)
    log_top = None if lower else math.log(1e-9) + math.log(delta)
    strict = not smooth
    for _attempt in range(12):
        le = log_eta if strict else _window_eta(D, lam, delta, log_eta)
        D.compose(lam, log_eta=le, lower=lower, log_top=log_top, upper=upper)
        eu = D.eps_upper(delta) if upper else eu_ch
        el = D.eps_lower(delta)
        if (not strict and le > log_eta and D.lo is not None
                and not _wrap_negligible(D, el, delta)):
            # The law is far from its saddle point at the answer (a lump of no hits, or
            # ε in the hundreds): the relaxed η's wrapped mass is not negligible there;
            # compose again with the strict one (docs/math.md §4.4).
            strict = True
            continue
        if not isinstance(eu, str) and not isinstance(el, str):
            break
        # The window missed an answer: tilt more (answer above) or less (below);
        # λ = 0 gives the untilted Chernoff window, which holds every answer.
        if "above" in (eu, el):
            lam = lam * 2 + 0.5
        else:
            lam = lam / 4 if lam > 1e-3 else 0.0
    else:
        # Still missed (the answer sits where the window's own error terms decide
        # it): every side keeps a valid, if loose, bound. δ_up(ℓ_0) ≤ δ already
        # makes ℓ_0 an upper bound; Chernoff bounds the rest; 0 is a lower bound.
        if eu == "below":
            eu = D.up.ell(0)
        elif isinstance(eu, str):
            slack = _log_slack(delta, D.quad, D.log_p_inf)
            eu = _chernoff_eps(D.parts_up, slack) if slack is not None else math.inf
        if isinstance(el, str):
            el = 0.0
    if lower and el == 0.0 and lam > 100.0 and isinstance(eu, float) and 0.0 < eu < math.inf:
        # A lattice pair whose answer sits in the top cells of its support (randomized
        # response, (ε, δ) steps: docs/math.md §10.1) takes the Chernoff tilt, up to
        # 20/h, at which the lower PLD's top (one cell below the upper's) is far
        # down the tilted scale and lost in round-off. Smaller tilts still hold the
        # answer; every composition's bracket is certified, so the best is kept.
        kept = (D.n, D.lam, D.up, D.lo, D.log_above, D.above)
        for lam2 in (lam / 16.0, lam / 256.0):
            D.compose(lam2, log_eta=log_eta, upper=upper)
            el2 = D.eps_lower(delta)
            if not isinstance(el2, str) and el2 > el:
                el = el2
                break
        D.n, D.lam, D.up, D.lo, D.log_above, D.above = kept
    return el, eu


# The window's tilted tail η (docs/math.md §4.4): outside it, mass wraps around and is
# charged to both sides as e^{F(λ) − λℓ}·2η at the ε = ℓ read. At the answer, near F′(λ)
# for the saddle tilt, that is e^{F(λ) − λF′(λ)}·2η: η is chosen so that it is
# ≤ _WRAP_REL·δ there (1e-11 was ~100 times stricter at δ = 1e-5, and at δ = 1e-10 the
# floor 1e-6·δ 10⁴ times: windows 5–22 % longer for error terms far below any rtol).
# Only at tilts λ ≥ 1, never looser than 1e-9, never stricter than the caller's η; a
# composition whose wrapped mass at the lower answer is not negligible after all is redone
# with the caller's η (:func:`_wrap_negligible`). (At λ = 0.08, ε = 364, a window that the
# strict η made too long for h = 2.5e-4 fitted with the relaxed one, and its lower bound,
# round-off-limited there, was kept: 0.44 wide where the refinement had reached 5e-4.)
_WRAP_REL = 5e-8


def _window_eta(D, lam, delta, log_eta):
    """log η for the composition of direction ``D`` at tilt λ for an ε(δ) query on smooth
    losses (``pld_second_order``)."""
    if not lam >= 1.0:
        return log_eta
    K, K1, _ = D.parts_up.proxy.F(lam)
    le = math.log(_WRAP_REL / 2) + math.log(delta) - (K - lam * K1)
    return min(max(log_eta, le), math.log(1e-9)) if le == le else log_eta


def _wrap_negligible(D, el, delta) -> bool:
    """The lower side's wrapped-mass term at its answer ``el`` is ≤ 100·_WRAP_REL·δ (False
    when the window missed the answer)."""
    if isinstance(el, str):
        return False
    c = D.lo
    k = min(max(math.floor((el - c.e_lo) / c.h), 0), c.n - 1)
    return D._log_wrap(c, k) <= math.log(100 * _WRAP_REL) + math.log(delta)


def chernoff_delta(D, eps: float) -> float:
    """A valid upper bound on δ(ε) of a direction without its FFT: δ(ε) ≤ P_∞ + Q[L > ε]
    ≤ P_∞ + min_t e^{F(t) − tε} (the trivial lower bound 0 goes with it)."""
    px = D.parts_up.proxy        # t searched on the stand-in, the bound exact at its best t
    t = min(np.geomspace(0.05, 200.0, 24), key=lambda t: px.F(t)[0] - t * eps)
    ch = math.exp(min(D.parts_up.F(t)[0] - t * eps, 0.0))
    return min(1.0, (ch + D.p_inf) * (1 + D.quad))


def _delta_at_h(schedule, eps, h, dirs=None, lower=True, direction=_Direction, upper=True,
                coarse=None):
    # (``coarse``: the signature of _eps_at_h, whose "cannot be the max" test on a coarse
    # grid has no δ-query counterpart)
    counts = schedule.counts()
    T = schedule.steps
    tau_hi = _log_pow2_floor(math.log(1e-30) - math.log(T))
    out = {}
    for d in (dirs if dirs is not None else list(directions_of(schedule))):
        D = direction(counts, d, h, log_tau_hi=tau_hi)
        lam = _saddle_lambda_for_eps(D.parts_up, eps)
        try:
            D.compose(lam, around=eps, log_eta=math.log(1e-30), lower=lower,
                      upper=upper or D.parts_lo is None)
        except _GridTooLarge:
            if not out:
                raise
            D.n, D.lam, D.up, D.lo = 0, 0.0, None, None
            out[d] = (0.0, chernoff_delta(D, eps), D)
            continue
        out[d] = (D.delta_lower(eps),
                  D.delta_upper(eps) if D.up is not None else chernoff_delta(D, eps), D)
    return out


def _refine(run, schedule, target, h, max_refine, limited=lambda res: True, max_h=None,
            h_first=None, lower_first=False):
    """Run ``run(h, dirs)`` on finer and finer grids until upper − lower ≤ target(upper).

    Each direction keeps the intersection of its brackets (each is valid at its h); a
    direction whose upper bound is below another direction's lower bound cannot be the max
    and is not refined further. The next h follows the measured law width ∝ h^p (p from the
    last two grids, else 2). Refinement stops early only when the width stopped shrinking
    *and* ``limited(res)`` says the round-off/truncation terms are what is left (widths are
    not monotone in h before the asymptotic regime). ``lower_first``: ``run(h, dirs, True,
    False)`` composes the lower side only, used for the rounds above the cap ``max_h``
    (docs/math.md §4.6).
    """
    budget = _Work(_QUERY_WORK)
    token = _WORK.set(budget)
    # A loss whose two sides are different pairs (shuffled batches, docs/math.md §13)
    # leaves a gap no grid closes: refine until each side has settled instead.
    gap_only = any(getattr(pl, "bracket_only", False)
                   for m, _ in schedule.counts() for pl in privacy_losses(m))
    try:
        return _refine_loop(run, schedule, target, h, max_refine, limited, budget, gap_only,
                            max_h, h_first, lower_first and not gap_only)
    finally:
        _WORK.reset(token)


def _refine_loop(run, schedule, target, h, max_refine, limited, budget, gap_only=False,
                 max_h=None, h_first=None, lower_first=False):
    warnings = []
    best = {}
    history = []
    cur = h if h is not None else (h_first if h_first is not None else _H0)
    capped = 0
    h_fail = None     # the coarsest grid known to be over a size cap
    backfilled = False
    upper_only = False  # this round only lowers the upper bound (the grid cap max_h)
    last_work = 0       # one-step work of the last round (cache hits are free)
    rounds = 0
    # Lower side first (docs/math.md §4.6): when the first grid is coarser than twice the
    # cap, the cap's round will replace its upper side anyway, so the rounds above the cap
    # compose the lower side only (the upper bound meanwhile is a Chernoff bound).
    lower_mode = lower_first and h is None and max_h is not None and cur > 2 * max_h
    lo_h = None          # the grid of the last lower-side-only round
    need_upper = False   # no composed upper side yet (lower-side-only rounds so far)
    cap_done = False     # the cap's upper-side round has run
    fell_back = False
    # Coarsening to a first grid that fits does not count as a round (δ near 1 allows no
    # refinement, and three coarsenings ended with no bracket at all: a crash).
    while rounds < max_refine + 3:
        rounds += 1
        top_lo = max((b[0] for b in best.values()), default=-math.inf)
        dirs = [d for d in list(directions_of(schedule)) if d not in best or best[d][1] > top_lo]
        budget.enforce = bool(best) and not (need_upper and not upper_only)
        try:
            if (budget.enforce
                    and last_work * history[-1][0] / cur > budget.limit - budget.spent):
                # The last grid's one-step work, scaled to this grid, would overrun the
                # budget: stop before building (60 σ at q = 1e-6 built grids for 72 s and
                # 11.7 GB before the budget stopped them, and kept the last bracket).
                raise _GridTooLarge(0, budget=True)
            spent0 = budget.spent
            lower_only = lower_mode and cur > 2 * max_h and not upper_only
            res = run(cur, dirs, True, False) if lower_only else run(cur, dirs, not upper_only)
            last_work = budget.spent - spent0
        except _GridTooLarge as exc:
            if need_upper and upper_only and not fell_back and (
                    exc.budget or not (capped < 4 and history[-1][0] > 1.15 * max(
                        cur, h_fail or cur))):
                # The cap's round cannot run: compose both sides on the last lower-side
                # grid instead, as without the lower-side-first rounds (its work was
                # spent already, so the budget is not enforced on it).
                fell_back, lower_mode, upper_only = True, False, False
                if not exc.budget:
                    h_fail = cur if h_fail is None else max(h_fail, cur)
                cur = lo_h
                continue
            if exc.budget:
                warnings.append(f"work_budget_exhausted: the grid h={cur:g} would exceed "
                                f"the query's work budget ({_QUERY_WORK:.0e} kernel "
                                f"evaluations); kept h={history[-1][0]:g}")
                break
            if not best:
                if cur >= _H_MAX:
                    raise ValueError("the PLD grid would need more than "
                                     f"{_MAX_WINDOW} points; use method='rdp'") from None
                cur = min(_H_MAX, cur * 4)
                rounds -= 1
                continue
            h_fail = cur if h_fail is None else max(h_fail, cur)
            if capped < 4 and history[-1][0] > 1.15 * h_fail:
                # Try halfway (geometrically) between the last grid that fitted and this
                # one; refinement goes on from there, never below a grid that failed.
                capped += 1
                cur = math.sqrt(h_fail * history[-1][0])
                continue
            warnings.append(f"grid_capped: h={cur:g} needs {exc.args[0]} points; kept "
                            f"h={history[-1][0]:g}")
            break
        for d, r in res.items():
            # Every grid's bracket is certified: keep the intersection (a finer grid can be
            # looser on one side when its round-off terms grow with the window).
            if d in best:
                best[d] = (max(r[0], best[d][0]), min(r[1], best[d][1]), r[2], cur)
            else:
                best[d] = (r[0], r[1], r[2], cur)
        lo = max(b[0] for b in best.values())
        up = max(b[1] for b in best.values())
        history.append((cur, lo, up))
        if lower_only:
            lo_h = cur
            if not cap_done:
                # (its upper bounds are Chernoff bounds: the cap's round comes next)
                need_upper = True
                cur = max_h
                upper_only = True
                continue
        elif upper_only and need_upper:
            need_upper, cap_done = False, True
        # (lo = up = inf: an (ε, δ) composition whose revealing mass alone exceeds δ)
        width = up - lo if lo < up else 0.0
        tgt = target(up)
        if lower_mode and not need_upper:
            # the upper side is the cap's: what is left to narrow is the lower side
            if width <= tgt or up == 0.0:
                break
            nxt = lo_h * min(1 / 1.5, max((0.75 * tgt / max(width, 1e-300)) ** 0.5, 1 / 16))
            if h_fail is not None and nxt <= h_fail:
                if lo_h <= 1.15 * h_fail:
                    warnings.append(f"bracket_wider_than_requested: width {width:.3g} > "
                                    f"{tgt:.3g}")
                    break
                nxt = math.sqrt(h_fail * lo_h)
            if nxt > 2 * max_h and len(history) <= max_refine:
                cur, upper_only = nxt, False    # another lower-side-only round
                continue
            lower_mode, upper_only = False, False
            cur = max_h         # both sides on the cap's grid, then as usual
            continue
        if h is not None or up == 0.0 or (width <= tgt and (max_h is None or cur <= max_h)):
            break
        if (max_h is not None and not backfilled and len(history) >= 2
                and history[-2][0] > 16.5 * cur and limited(res)):
            # The cap's jump skipped grids, and this one's round-off/truncation terms are
            # what is left: a coarser grid may bound better (δ ≈ 1e-12 at q = 1e-5 lost
            # 6× on its upper side). Try the grid 1/16 below the last one, then stop.
            backfilled = True
            cur = history[-2][0] / 16
            continue
        if backfilled and len(history) >= 3 and history[-1][0] > history[-2][0]:
            if width > tgt:
                warnings.append(f"bracket_wider_than_requested: width {width:.3g} > "
                                f"{tgt:.3g} (limited by round-off/truncation terms, not by h)")
            break
        if width <= tgt:
            # within rtol; only the grid cap max_h is left to reach (when that grid is over
            # a size cap the bracket in hand already meets rtol)
            if h_fail is not None and max_h <= 1.15 * h_fail:
                break
            cur = max_h if h_fail is None else max(max_h, math.sqrt(h_fail * cur))
            # The lower bound in hand already meets rtol; the cap is for the upper bound
            # (docs/math.md §4.6): compose that side only.
            upper_only = True
            continue
        moved = None
        if gap_only and len(history) >= 2:
            # each side's change from the last grid: its remaining error is about that
            moved = max(lo - history[-2][1], history[-2][2] - up)
            if moved <= tgt:
                break
        if (not gap_only and len(history) >= 2 and lo > 0 and history[-2][1] > 0
                and width > 0.5 * (history[-2][2] - history[-2][1]) and limited(res)):
            # Refining no longer pays (round-off or truncation terms dominate the width).
            warnings.append(f"bracket_wider_than_requested: width {width:.3g} > {tgt:.3g} "
                            "(limited by round-off/truncation terms, not by h)")
            break
        if (len(history) > max_refine or cur <= _H_MIN
                or (h_fail is not None and cur <= 1.15 * h_fail)):
            if gap_only:
                warnings.append("bracket_sides_not_settled: a side still moved by "
                                f"{moved if moved is not None else width:.3g} > {tgt:.3g} "
                                "on the last grid")
            else:
                warnings.append(f"bracket_wider_than_requested: width {width:.3g} > {tgt:.3g}")
            break
        p = 2.0
        if len(history) >= 2:
            (h0, l0, u0), (h1, l1, u1) = history[-2], history[-1]
            if u0 - l0 > 0 and u1 - l1 > 0 and l0 > 0 and l1 > 0 and h0 != h1:
                # (capped at the asymptotic order 2: a larger measured p comes from a
                # pre-asymptotic grid and under-refined, costing one more round)
                p = min(2.0, max(1.0, math.log((u0 - l0) / (u1 - l1)) / math.log(h0 / h1)))
        # Aim at 3/4 of the target: a grid that just misses it costs a whole further round
        # (two thirds of the final one), aiming lower costs ~15 % more points.
        fac = (0.75 * tgt / max(width, 1e-300)) ** (1.0 / p)
        if gap_only:
            fac = 0.25 if moved is None else (0.9 * tgt / max(moved, 1e-300)) ** 0.5
        if lo <= 0.0:
            # The lower bound is still 0 (lowered chords degenerate when the step loss is
            # concentrated far below h, small q): the width says nothing about the law yet;
            # a moderate step avoids jumping far past the first grid where it exists.
            fac = 0.25
        nxt = cur * min(1 / 1.5, max(fac, 1 / 16))
        if max_h is not None and cur * fac <= 2 * max_h:
            # rtol itself needs about the cap's grid: go straight there, both sides (else
            # the rtol grid comes first and the cap's round composes the upper side only)
            nxt = min(nxt, max_h)
        if h_fail is not None and nxt <= h_fail:
            nxt = math.sqrt(h_fail * cur)
        cur = max(_H_MIN, nxt)
    return best, history, tuple(warnings)


_H0 = 4e-3
# The first grid (docs/math.md §4.6). On smooth losses the bracket's width at grid h is
# close to K·λ·T·h² once h is fine enough (the spread of connect-the-dots adds a variance of
# about h²/6 per step, which moves ε by ~λ·T·h²/12, and the lowered chords about twice
# that); λ is the tilt at the answer. Measured on 19 random subsampled-Gaussian settings
# (σ 0.6–5, q 1e-3–0.5, T 14–1e5, δ 1e-12–1e-3) at h = 1.5e-4: K in [0.09, 0.56], mostly
# 0.25–0.35 (1.0–1.5 at ε > 400, where the Gaussian guess of λ below is poor). The first
# grid is the one where this model (K = _WIDTH_K, λ from a Gaussian fit of the composed
# loss, see _first_grid) gives 3/4 of the target; a model that misses only costs a further
# round, as the coarse pilot did. Without the model (other losses, δ(ε) queries, short or
# many-mechanism schedules) the first grid is _H0, or the s.d. rule below.
_WIDTH_K = 0.4
# … no coarser than 1/_PILOT_SD of the smallest one-step loss s.d. (under P): on a
# coarser grid the lowered chords degenerate (the loss lies within a cell or two of 0),
# the width says nothing, and the refinement spent rounds at h/4 each (σ 0.8, q 1e-3:
# h = 4e-3 and 1e-3 gave a lower bound of 0, a fifth of the query).
_PILOT_SD = 8.0
_SPREAD: "dict" = {}
# … for schedules of at most this many distinct mechanisms (each costs a CGF evaluation,
# ~40 µs: a 10⁴-step trainer history spent 1 s of its 0.9 s on them)
_MODEL_MECHANISMS = 64
# … and at least this many steps: at T ≈ 14 the width was a tenth of the model's (K ≈ 0.09),
# so the model's grid was 3× too fine (σ 1.13, q 0.006, T 20, δ 4e-14: 15 → 63 ms)
_MODEL_STEPS = 50


def _step_spread(mech):
    """[(direction, K(1))] of a mechanism's losses that declare a smooth PLD
    (``pld_second_order``), K the CGF of the loss under Q: for a nearly Gaussian loss
    K(t) ≈ k2·t(t + 1)/2, so K(1) ≈ k2, its variance (and E_Q[L] ≈ k2/2). None when a loss
    does not declare it or K(1) is not a positive number."""
    if mech in _SPREAD:
        return _SPREAD[mech]
    out = []
    for pl in privacy_losses(mech):
        try:
            k2 = float(pl.cgf(1.0)) if getattr(pl, "pld_second_order", False) else math.nan
        except (ValueError, ArithmeticError, NotImplementedError):
            k2 = math.nan
        if not (k2 > 0 and math.isfinite(k2)):
            out = None
            break
        out.append((pl.direction, k2))
    if len(_SPREAD) > 4096:
        _SPREAD.clear()
    _SPREAD[mech] = out
    return out


def _first_grid(schedule, delta: Optional[float] = None, rtol: Optional[float] = None,
                max_h: Optional[float] = None, atol: float = 0.0) -> float:
    """Where a refinement starts: the grid of the width model above for an ε(δ) query
    (``delta``, ``rtol``, ``atol``) on smooth losses, else the pilot _H0; never coarser
    than the loss-s.d. rule, nor finer than needed for ``max_h``. Only the speed, and where
    within the target width the bracket lands, depend on it."""
    h0 = _H0
    var = {}
    counts = schedule.counts()
    if len(counts) > _MODEL_MECHANISMS:
        return h0
    for mech, T in counts:
        rows = _step_spread(mech)
        if rows is None:
            var = None
            continue
        for d, k2 in rows:
            h0 = min(h0, math.sqrt(k2) / _PILOT_SD)
            if var is not None:
                var[d] = var.get(d, 0.0) + T * k2
    h0 = max(h0, 16 * _H_MIN)
    if delta is None or rtol is None or not _modelled(schedule, delta):
        return h0
    # The composed loss as N(V/2, V) (μ-GDP with μ = √V): ε ≈ μ·z + V/2 with z the upper
    # δ-quantile of N(0, 1), and the tilt at the answer λ = (ε − V/2)/V = z/μ.
    z = -float(ndtri(delta))
    V = max(var.values())
    eps = math.sqrt(V) * z + 0.5 * V
    lam = z / math.sqrt(V)
    if not (lam > 0 and math.isfinite(lam) and math.isfinite(eps)):
        return h0
    h1 = math.sqrt(0.75 * max(rtol * eps, atol) / (_WIDTH_K * lam * schedule.steps))
    h1 = max(min(h1, h0, 4 * _H0), _H_MIN)
    if max_h is not None and h1 <= 2 * max_h:
        h1 = min(h1, max_h)  # (as in the refinement: straight to the cap, both sides)
    return h1


def _modelled(schedule, delta) -> bool:
    """The width model applies to an ε query at ``delta`` (smooth losses, ≤ 64 distinct
    mechanisms, ≥ 50 steps): :func:`_first_grid` uses it, and only then do the rounds
    above the default's cap compose the lower side first (docs/math.md §4.6). (A lattice
    pair at T = 3 has its atoms on the coarse grid, where its upper bound was exact; the
    cap's fine window, at tilt 1e5, carried round-off terms 6.6 % of δ and bounded 5e-3
    looser.)"""
    counts = schedule.counts()
    return (len(counts) <= _MODEL_MECHANISMS and schedule.steps >= _MODEL_STEPS
            and 0.0 < delta < 0.5 and all(_step_spread(m) is not None for m, _ in counts))


# The default's grid cap: dp_accounting's default PLD grid (value_discretization_interval
# 1e-4) divided by 1.6, so that the same construction errs by ≤ 0.4× as much (at δ = 1e-10
# its value lies 2.4e-5 below the true ε; our upper bound must be as close from above).
DEFAULT_MAX_H = 1e-4 / 1.6
DEFAULT_MAX_H_MECHANISMS = 8   # … for schedules of at most this many distinct mechanisms


def epsilon_bracket(schedule: Schedule, delta: float, rtol: float = 1e-3, atol: float = 1e-3,
                    h: Optional[float] = None, max_refine: int = 6,
                    max_h: Optional[float] = None, lower: bool = True, upper: bool = True,
                    ) -> Tuple[float, float, dict, list]:
    """(lower, upper, details, warnings) for ε(δ); width ≤ max(rtol·ε, atol) unless h is
    fixed, on a grid no coarser than ``max_h`` when given."""
    def limited(res):
        # Round-off/truncation terms comparable with δ near the answer: a finer grid (a
        # longer window) will not narrow the bracket.
        return any(r[2].up is not None and math.isfinite(r[1])
                   and r[2].error_floor(r[1]) > 1e-2 * delta for r in res.values())

    # many distinct mechanisms: merged sides (docs/math.md §4.8; max_h is not applied)
    merged = merge.bracket(schedule, delta, rtol, atol, h,
                           (_eps_at_h, _refine, _details, _H0, _H_MIN))
    if merged is not None:
        return merged
    near_one = delta >= 1.0 - schedule.steps * _QUAD_REL
    if near_one:
        # Within the relative quadrature margin of δ = 1 the lower PLD cannot exceed δ at
        # any ε and the upper one is read at δ·(1 − margin): no grid narrows the bracket
        # (Laplace at δ = 1 − 2⁻⁵³ refined for 6 s to the grid cap).
        max_refine = 0
    both = lower
    best, history, warns = _refine(lambda hh, dirs, lower=True, up_side=True: _eps_at_h(
        schedule, delta, hh, dirs, lower and both, upper=upper and up_side),
        schedule, lambda up: max(rtol * up, atol), h, max_refine, limited, max_h,
        _first_grid(schedule, delta, rtol, max_h, atol),
        lower_first=both and upper and _modelled(schedule, delta))
    if near_one:
        warns += (f"delta_near_one: δ = {delta!r} lies within the PLD's quadrature margin "
                  f"({schedule.steps * _QUAD_REL:.2g}) of 1; the bracket is valid but loose",)
    lo = max(b[0] for b in best.values())
    up = max(b[1] for b in best.values())
    if up > 0 and any(not b[2].lower_ok for b in best.values()):
        warns += ("lower_bound_degenerate: grid too coarse for the lowered-chord bound",)
    # (only the direction that sets the upper bound: another one's terms at its own,
    # smaller, ε say nothing about this answer)
    floor = max((b[2].error_floor(b[1]) for b in best.values()
                 if b[1] == up and math.isfinite(b[1]) and b[2].up is not None), default=0.0)
    if floor > 1e-2 * delta:
        warns += (f"delta_below_certifiable: the certified error terms reach {floor:.2g} "
                  f"near the answer (δ = {delta:g}); the bracket is valid but loose",)
    return lo, up, _details(best, history), warns


def delta_bracket(schedule: Schedule, eps: float, rtol: float = 1e-3, atol: float = 0.0,
                  h: Optional[float] = None, max_refine: int = 6,
                  max_h: Optional[float] = None, lower: bool = True, upper: bool = True,
                  ) -> Tuple[float, float, dict, list]:
    """(lower, upper, details, warnings) for δ(ε); width ≤ max(rtol·δ, atol) unless h is
    fixed, on a grid no coarser than ``max_h`` when given."""
    # many distinct mechanisms: merged sides (docs/math.md §4.8; max_h is not applied)
    merged = merge.bracket(schedule, eps, rtol, atol, h,
                           (_delta_at_h, _refine, _details, _H0, _H_MIN))
    if merged is not None:
        return merged
    best, history, warns = delta_refine(schedule, eps, rtol, atol, h, max_refine, max_h, lower,
                                        upper)
    lo = max(b[0] for b in best.values())
    up = max(b[1] for b in best.values())
    return lo, up, _details(best, history), warns


def delta_refine(schedule: Schedule, eps: float, rtol: float, atol: float,
                 h: Optional[float], max_refine: int = 6, max_h: Optional[float] = None,
                 lower: bool = True, upper: bool = True) -> Tuple[dict, list, tuple]:
    """The refinement behind :func:`delta_bracket`: (best, history, warnings), where
    ``best[direction] = (lower, upper, _Direction, h)`` keeps each direction's composition
    (certified at every ε, sharpest near ``eps``: the trade-off curves read it at many ε)."""
    def limited(res):
        return any(r[2].up is not None and r[2].error_floor(eps) > 0.1 * (r[1] - r[0])
                   for r in res.values())

    both = lower
    return _refine(lambda hh, dirs, lower=True: _delta_at_h(schedule, eps, hh, dirs,
                                                            lower and both, upper=upper),
                   schedule, lambda up: max(rtol * up, atol), h, max_refine, limited, max_h)


def _details(best, history):
    per_dir = {}
    for d, (lo, up, D, hh) in best.items():
        per_dir[d] = {"lower": lo, "upper": up, "grid_step": D.h, "window": D.n,
                      "tilt": D.lam, "mass_at_inf": D.p_inf,
                      "fft_bin_error": D.up.bin_err if D.up is not None else None,
                      "method": ("fft, lower side only (upper: Chernoff bound)"
                                 if D.up is None and getattr(D, "lo", None) is not None else
                                 "chernoff (cannot be the max)" if D.up is None else
                                 "fft on a coarse grid (cannot be the max)"
                                 if getattr(D, "coarse", False) else "fft")}
    return {"grid_step": history[-1][0], "directions": per_dir,
            "refinements": [(hh, lo, up) for hh, lo, up in history]}


def _single_step(schedule, delta, epsilon):
    """One step needs no discretisation: ε(δ) and δ(ε) come from the exact one-step hockey
    stick (max over directions), each side a proven bound that includes the rounding of
    its evaluation (:func:`accountant.accountants.exact.one_step_log_delta_bound`)."""
    (mech, _), = schedule.counts()
    pls = privacy_losses(mech)
    details = {"method": "exact one-step hockey stick (steps = 1)",
               "error_bound": "rounding bound computed at the point (accountant.accountants.exact)"}
    if delta is not None:
        lo, up = _exact.one_step_epsilon_bracket(pls, delta)
        return Result("epsilon", delta, up, lo, up, True, "pld", details=details)
    brackets = [_exact.one_step_delta_bracket(pl, float(epsilon)) for pl in pls]
    up = max(b[1] for b in brackets)
    lo = min(up, max(b[0] for b in brackets))
    return Result("delta", epsilon, up, lo, up, True, "pld", details=details)


def check_options(rtol: Optional[float] = None, atol: Optional[float] = None,
                  h: Optional[float] = None, closed_form: bool = True, sides: str = "both",
                  **options) -> Tuple[Optional[float], Optional[float], Optional[float], bool]:
    """(rtol, atol, h, closed_form) validated: ValueError naming an unknown or bad option."""
    if sides not in ("both", "upper", "lower"):
        raise ValueError(f"sides must be 'both', 'upper' or 'lower', got {sides!r:.40}")
    if sides != "both" and h is None:
        raise ValueError(f"sides={sides!r} needs a fixed grid h (a refinement by width "
                         "needs both sides)")
    if options:
        raise ValueError(f"unknown option(s) for method 'pld': {', '.join(sorted(options))}")
    if rtol is not None:
        rtol = v.positive("rtol", rtol)
    if atol is not None:
        atol = v.nonnegative("atol", atol)
    if h is not None:
        h = v.positive("h", h)
        if not (_H_MIN <= h <= _H_MAX):
            raise ValueError(f"h must be in [{_H_MIN}, {_H_MAX}], got {h!r}")
    if not isinstance(closed_form, (bool, np.bool_)):
        raise ValueError(f"closed_form must be True or False, got {closed_form!r:.40}")
    return rtol, atol, h, bool(closed_form)


@register("pld", options=check_options)
def compute(schedule: Schedule, *, delta: Optional[float] = None, epsilon: Optional[float] = None,
            rtol: Optional[float] = None, atol: Optional[float] = None, h: Optional[float] = None,
            closed_form: bool = True, sides: str = "both", **options) -> Result:
    """PLD accountant: certified bracket (see the module docstring for the proofs).

    Options
    -------
    rtol : bracket width relative to the value. Default: 1e-3, and for schedules of at most
        8 distinct mechanisms a grid no coarser than 6.25e-5 (``DEFAULT_MAX_H``; each
        mechanism costs a one-step PLD on that grid): the upper bound then comes from the
        same connect-the-dots construction as dp_accounting's default PLD accountant on a
        grid 1.6× as fine, so it is at least as tight as that peer's default value (issue
        17; measured in benchmarks/bench_equal_accuracy.py). A given rtol is met on the
        coarsest grid that meets it.
    atol : absolute width floor for ε (default: rtol, i.e. the relative width at ε = 1).
    h : fix the grid step instead of refining it.
    closed_form : answer Gaussian-only schedules (Private Evolution, q = 1) with the exact
        μ-GDP closed form, and a single step with the exact one-step hockey stick
        (default); False forces the discretisation.
    sides : "both" (default), "upper" or "lower" (both with ``h``): compose one side
        only, about half the work. With "upper" the lower bound is the trivial 0 (ε
        queries; δ queries keep the leakiest single step's exact δ); with "lower" the upper
        bound is the Chernoff bound of docs/math.md §4.5 (loose, but proven). For a search
        that needs one certified side at a point: calibration's feasible points need the
        upper bound, the point that certifies its optimality the lower bound.
    """
    rtol, atol, h, closed_form = check_options(rtol, atol, h, closed_form, sides, **options)
    lower, upper = sides != "upper", sides != "lower"
    # (the cap costs a fine one-step PLD per distinct mechanism: a trainer history of 200
    # distinct σ took 4.6 s with it, 1.2 s without; rtol alone rules such schedules)
    max_h = (DEFAULT_MAX_H if rtol is None and h is None
             and len(schedule.counts()) <= DEFAULT_MAX_H_MECHANISMS else None)
    if closed_form:
        exact = _exact.gaussian_result(schedule, "pld", delta=delta, epsilon=epsilon)
        if exact is not None:
            return exact
    if closed_form and schedule.steps == 1:
        return _single_step(schedule, delta, epsilon)
    # Pure-DP steps (Laplace) compose to at most Σ T_i·sup L_i with δ = 0; the
    # discretisation may round a little above that, so the bound is applied on top.
    pure = _exact.pure_epsilon(schedule)
    if delta is not None:
        lo, up, details, warns = epsilon_bracket(
            schedule, delta, rtol=1e-3 if rtol is None else rtol,
            atol=(1e-3 if rtol is None else rtol) if atol is None else atol, h=h, max_h=max_h,
            lower=lower, upper=upper)
        if pure < up:
            up, details = pure, {**details, "pure_dp_bound": pure}
        r_, a_ = (1e-3 if rtol is None else rtol), ((1e-3 if rtol is None else rtol)
                                                   if atol is None else atol)
        if lower or _exact.single_step_exceeds(schedule, up, delta):
            lo, up, details, warns = _with_exact_lower(schedule, "epsilon", delta, lo, up,
                                                       details, warns, r_, a_)
        # (else sides="upper": its lower bound stays the trivial 0 — the leakiest step's
        # exact ε took 3.7 of a calibration point's 27 ms, for a bound nobody reads)
        if not (lower and upper) and "merged" not in details:
            # (a merged schedule composes both sides whatever was asked)
            details = {**details, "sides": sides}
        return Result("epsilon", delta, up, lo, up, True, "pld", warns, details)
    if epsilon >= pure:
        return Result("delta", epsilon, 0.0, 0.0, 0.0, True, "pld",
                      details={"pure_dp_bound": pure})
    lo, up, details, warns = delta_bracket(
        schedule, epsilon, rtol=1e-3 if rtol is None else rtol,
        atol=0.0 if atol is None else atol, h=h, max_h=max_h, lower=lower, upper=upper)
    lo, up, details, warns = _with_exact_lower(
        schedule, "delta", epsilon, min(lo, 1.0), up, details, warns,
        1e-3 if rtol is None else rtol, 0.0 if atol is None else atol)
    if not (lower and upper) and "merged" not in details:
        details = {**details, "sides": sides}
    return Result("delta", epsilon, up, lo, up, True, "pld", warns, details)


def _with_exact_lower(schedule, quantity, at, lo, up, details, warns, rtol, atol):
    """Combine the PLD bracket with the exact bound of the leakiest single step
    (post-processing: the composition leaks at least as much as any one of its steps,
    :func:`accountant.accountants.exact.composed_lower_epsilon`).

    The lower bound is the larger of the two. An upper bound below that proven lower
    bound would mean an error term of the discretisation was not accounted for (it
    happened at δ = 1e-300); should that ever occur again the PLD upper bound is not
    trusted: the RDP upper bound (a different, independent proof) replaces it, with a
    warning."""
    if quantity == "epsilon":
        # (from the PLD's own lower bound: a step proven below it cannot raise it)
        exact = _exact.composed_lower_epsilon(schedule, at, floor=lo)
    else:
        exact = _exact.composed_lower_delta(schedule, at)
    details = dict(details)
    if exact > lo:
        lo = exact
        details["lower_from"] = "exact leakiest single step"
        # The refinement's width warnings were about the PLD's own lower bound.
        tgt = max(rtol * up, atol)
        kept = []
        for w in warns:
            if w.startswith("lower_bound_degenerate"):
                w += "; the lower bound is the exact value of the leakiest single step"
            elif w.startswith("bracket_wider_than_requested"):
                if up - lo <= tgt:
                    continue
                w = (f"bracket_wider_than_requested: width {up - lo:.3g} > {tgt:.3g}"
                     + (" (limited by round-off/truncation terms, not by h)"
                        if "limited by" in w else ""))
            kept.append(w)
        warns = tuple(kept)
    if up < lo:
        # Through the dispatcher: the accountants stay independent of each other.
        r = query(quantity, schedule, at, method="rdp")
        details["pld_upper_rejected"] = up
        warns = tuple(warns) + (
            f"pld_upper_below_proven_lower: the PLD upper bound {up:.6g} fell below the "
            f"exact single-step lower bound {lo:.6g}; the RDP upper bound is reported",)
        up = max(r.upper, lo)
    return min(lo, up), up, details, warns
