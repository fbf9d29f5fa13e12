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

Grid step — chosen from the requested accuracy: a pilot at h = 4e-3, then h from the measured
law width ∝ h^p (p from the last two grids, 2 by default) until upper − lower ≤
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
"""
from __future__ import annotations

import contextvars
import math
from collections import OrderedDict

import numpy as np
from scipy import fft as sfft

from .. import exact as _exact
from ...core import _validate as v
from . import _kernels as _kp
from ..api import query, register
from ...core.bounds import Result
from ...loss import directions_of, loss_for, privacy_losses

__all__ = ["compute", "epsilon_bracket", "delta_bracket"]

_U = 2.0 ** -52            # unit round-off (generous: 2u)
_FFT_C = 8.0               # per-stage relative error constant of the FFT bound
_QUAD_REL = 5e-13          # relative margin per step for the one-step quadrature
_ETA = 1e-11               # tilted mass allowed outside the FFT window (each side)
_MAX_ONE_STEP = 4_000_000  # grid points of one step's PLD
# Work of the one-step discretisations, in kernel evaluations (grid points × mixture
# components): per step and per query. A Gaussian step is 3 per point; ELS with k = 256 is
# 258, ~35 ns each on one core, so one step is capped near 3 s and a query near 15 s
# (fuzzing: an ELS k = 256 step at q = 1.8e-5 in a schedule that needs h = 1e-4 built a
# 1.4M-point, 12 s one-step grid per refinement and ran 30 s per query). Past the query
# budget the refinement keeps the brackets it has, each certified, and says so.
_MAX_ONE_STEP_WORK = 100_000_000
_QUERY_WORK = 400_000_000
_MAX_WINDOW = 1 << 22      # FFT length of the composed window
_H_MIN = 2e-6
_H_MAX = 0.5
_CACHE: "OrderedDict" = OrderedDict()
_CACHE_SIZE = 256


# ----------------------------------------------------------------------------------------
# One step
# ----------------------------------------------------------------------------------------
class _OneStep:
    """One mechanism, one direction, one grid step: upper and lower PLDs as log Q-masses."""

    __slots__ = ("i0", "logw_up", "logw_lo", "w_inf", "log_w_inf", "lower_ok", "h")

    def __init__(self, i0, pi_up, pi_lo, log_w_inf, lower_ok, h):
        ell = (i0 + np.arange(pi_up.shape[0])) * h
        with np.errstate(divide="ignore"):
            self.logw_up = np.log(pi_up) + ell
            self.logw_lo = np.log(pi_lo) + ell
        self.i0 = int(i0)
        # (a logarithm: the Q-mass at +∞ of one step can be below the smallest double and
        # still matter once multiplied by T = 1e7 at δ = 5e-324)
        self.log_w_inf = float(log_w_inf)
        self.w_inf = math.exp(self.log_w_inf)
        self.lower_ok = bool(lower_ok)
        self.h = h


_MAX_LOSS = 600.0


def _check_loss_range(reach):
    """The grid holds e^ℓ as a double: one-step losses beyond ±600 are refused."""
    if not reach <= _MAX_LOSS:
        raise ValueError("noise_multiplier too small for the PLD accountant: the one-step "
                         f"privacy loss reaches {reach:.0f} (limit {_MAX_LOSS:.0f}); "
                         "use method='rdp'")


def _identity_lower(i0, npts):
    """The lower PMF of a step whose lowered chords degenerate (its loss lies within a
    cell of 0): a point mass at ε = 0, the pair P = Q, which every pair dominates
    (dropping a step's output is post-processing). The other steps still give a lower
    bound; before, one such step (Laplace(1.6e11) in a schedule) zeroed the whole lower
    PLD and the refinement ran on to h = 4e-5 for it, 57 s. (All zeros and False when the
    grid does not hold ε = 0.)"""
    pi = np.zeros(npts)
    if 0 <= -i0 < npts:
        pi[-i0] = 1.0
        return pi, True
    return pi, False



def _build_one_step(pl, h, tau_hi, tau_lo):
    """One step's upper and lower PMFs at grid step h from what the privacy loss answers:
    where its grid must reach (``pl.pld_support``) and the cell integrals on it
    (``pl.pld_cells``); ``tau_hi``, ``tau_lo`` are logarithms of the tail masses left
    beyond the grid ends."""
    sup = pl.pld_support(tau_lo, tau_hi, -_MAX_LOSS)
    e_lo, e_hi = sup.e_lo, sup.e_hi
    if not (e_lo == e_lo and e_hi == e_hi):
        raise ValueError(f"the privacy loss of {pl!r} cannot be evaluated; use method='rdp'")
    if sup.whole:
        # Atoms at the ends (Laplace): the grid holds the whole range or the step is refused.
        _check_loss_range(max(abs(e_lo), abs(e_hi)))
        i0, i1 = math.floor(e_lo / h), math.ceil(e_hi / h)
        while i0 * h > e_lo:
            i0 -= 1
        while i1 * h < e_hi:
            i1 += 1
    else:
        # The grid is kept within ±600 (e^ℓ must be a double). Below, the Q-mass moved up
        # to ε_0 is < e^{−600}; above, the mass beyond ε_n goes to +∞ as the exact δ(ε_n),
        # so clipping is always valid; it is refused only when δ(ε_n) is large enough to
        # matter (a loss concentrated beyond 600: the step is not private enough for the
        # PLD).
        clipped = e_hi > _MAX_LOSS
        i0 = math.floor(max(e_lo, -_MAX_LOSS) / h)
        i1 = math.ceil(min(e_hi, _MAX_LOSS) / h) if not clipped else math.floor(_MAX_LOSS / h)
        if clipped and pl.log_hockey_stick(i1 * h) > math.log(1e3) + tau_hi:
            _check_loss_range(e_hi)
    # The grid ends above come from Q's tails (what the upper PLD needs). The lowered-chord
    # construction follows the line 1 − u on [0, u_0]: that is a valid lower profile only
    # for u_0 < 1 (the grid must start below ε = 0), and a tight one only when little
    # P-mass lies below ε_0 (f − (1 − u) ≈ u·P[L ≤ ε_0] there). Extend the grid down to
    # P's lower tail (the cells carry P-mass and almost no Q-mass) within a budget of
    # max(npts, 1e5) points; if it still starts at ε_0 ≥ 0 the lower PLD is given up (the
    # caller's leakiest-step bound remains).
    if sup.e_lower is not None:
        lp = sup.e_lower
        ip = math.floor(max(lp, -_MAX_LOSS) / h) if lp == lp else i0
        i0 = max(min(i0, ip, -1), i0 - max(i1 - i0 + 1, 100_000))
    lower_ok = i0 <= -1
    npts = i1 - i0 + 1
    _charge(npts, sup.cost)
    up, lo = pl.pld_cells(i0, h, npts)
    e0 = i0 * h
    pi_up, pi_lo, ok = _kp.profiles(up.a, up.b, e0, h, up.Fb, up.Qb, up.r0, up.Pt, up.dtop)
    if lo is not up:
        _, pi_lo, ok = _kp.profiles(lo.a, lo.b, e0, h, lo.Fb, lo.Qb, lo.r0, lo.Pt, lo.dtop)
    if not (lower_ok and ok):
        pi_lo, ok = _identity_lower(i0, pi_lo.shape[0])
    return _OneStep(i0, pi_up, pi_lo, up.log_w_inf, ok, h)


class _GridTooLarge(Exception):
    """The next grid is over a size or work cap; ``budget`` when the query's work budget
    (not the grid's own size) is what stopped it."""

    def __init__(self, npts, budget=False):
        super().__init__(npts)
        self.budget = budget


class _Work:
    """Work spent by one query's one-step discretisations (cache hits are free); the
    budget is enforced once a first bracket exists (before that, a too-large grid is
    handled by coarsening, as a size cap)."""

    def __init__(self, limit):
        self.limit = limit
        self.spent = 0
        self.enforce = False


_WORK: contextvars.ContextVar = contextvars.ContextVar("pld_work", default=None)


def _charge(npts, components):
    """Account the work of an ``npts``-point grid over ``components`` mixture components:
    _GridTooLarge if it is over the one-step cap or the query's remaining budget."""
    if npts > _MAX_ONE_STEP:
        raise _GridTooLarge(npts)
    work = npts * components
    if work > _MAX_ONE_STEP_WORK:
        raise _GridTooLarge(npts)
    budget = _WORK.get()
    if budget is not None:
        if budget.enforce and budget.spent + work > budget.limit:
            raise _GridTooLarge(npts, budget=True)
        budget.spent += work


def _one_step(mech, pl, h, tau_hi=None, log_tau_hi=None):
    """The Q-tail mass the grid may leave above its top: ``tau_hi``, or its logarithm
    ``log_tau_hi`` (below the smallest double at δ = 5e-324)."""
    lt_hi = math.log(tau_hi) if log_tau_hi is None else log_tau_hi
    key = (mech, pl.direction, h, lt_hi)
    hit = _CACHE.get(key)
    if hit is not None:
        _CACHE.move_to_end(key)
        return hit
    lt_lo = math.log(1e-24)
    out = _build_one_step(pl, h, lt_hi, lt_lo)
    _CACHE[key] = out
    if len(_CACHE) > _CACHE_SIZE:
        _CACHE.popitem(last=False)
    return out


# ----------------------------------------------------------------------------------------
# Composition
# ----------------------------------------------------------------------------------------
class _Parts:
    """The finite parts of the one-step PLDs of one direction and one side, with counts."""

    def __init__(self, items, side, h):
        self.h = h
        self.items = []
        for one, T in items:
            logw = one.logw_up if side == "up" else one.logw_lo
            keep = np.isfinite(logw)
            idx = np.nonzero(keep)[0]
            if idx.size == 0:
                continue
            s, e = idx[0], idx[-1] + 1
            lw = np.ascontiguousarray(logw[s:e])
            ell = (one.i0 + s + np.arange(e - s)) * h
            self.items.append((one.i0 + s, lw, ell, T))
        self.steps = sum(T for *_, T in self.items)


    def F(self, t):
        """F(t) = Σ_m T_m K_m(t) of the discrete PLDs, with F′ and F″."""
        K = d1 = d2 = 0.0
        for _, lw, ell, T in self.items:
            k, k1, k2 = _kp.log_cgf(lw, ell, t)
            K += T * k
            d1 += T * k1
            d2 += T * k2
        return K, d1, d2


def _solve_increasing(fn, target, lo, hi, rtol=1e-3, max_iter=40):
    """x in [lo, hi] with fn(x) ≈ target for increasing fn (bisection in log scale once
    bracketed, then a few regula-falsi steps); precision only matters for centring."""
    flo, fhi = fn(lo) - target, fn(hi) - target
    for _ in range(max_iter):
        if hi - lo <= rtol * hi:
            break
        if math.isfinite(flo) and math.isfinite(fhi) and fhi != flo:
            x = lo - flo * (hi - lo) / (fhi - flo)
            # Keep the step inside the middle 80 % so that the bracket shrinks.
            x = min(max(x, lo + 0.1 * (hi - lo)), hi - 0.1 * (hi - lo))
        else:
            x = 0.5 * (lo + hi)
        fx = fn(x) - target
        if fx < 0:
            lo, flo = x, fx
        else:
            hi, fhi = x, fx
    return 0.5 * (lo + hi)


def _saddle_lambda_for_eps(parts, eps):
    """λ ≥ 0 with F′(λ) = ε (the tilt centring the composition at ε)."""
    if parts.F(0.0)[1] >= eps:
        return 0.0
    hi = 1.0
    while parts.F(hi)[1] < eps:
        hi *= 4
        if hi > 1e4:
            return 0.0  # ε beyond the support's bulk: see _saddle_lambda_for_delta
    return _solve_increasing(lambda t: parts.F(t)[1], eps, 0.0, hi)


def _saddle_lambda_for_delta(parts, delta):
    """λ whose saddle-point estimate of δ(F′(λ)) is δ (only used to centre the window)."""
    ld = math.log(delta)

    def g(t):
        K, k1, k2 = parts.F(t)
        return -(K - t * k1 - math.log(t * (1 + t)) - 0.5 * math.log(2 * math.pi * max(k2, 1e-300)))

    lo, hi = 1e-4, 1.0
    if g(lo) >= -ld:
        return 0.0
    while g(hi) < -ld:
        lo, hi = hi, hi * 4
        if hi > 1e6:
            # No saddle point (δ sits on an atom at the top of the support, e.g. Laplace):
            # fall back on the Chernoff-optimal tilt argmin_t (F(t) − log δ)/t.
            return _chernoff_tilt(parts, delta)
    return _solve_increasing(g, -ld, lo, hi, rtol=2e-2)


def _chernoff_tilt(parts, delta):
    ld = math.log(delta)
    ts = np.geomspace(1e-3, 1e5, 25)
    vals = [(parts.F(t)[0] - ld) / t for t in ts]
    return float(ts[int(np.argmin(vals))])


def _window(parts, lam, le):
    """Chernoff window [W_lo, W_hi] of the λ-tilted composition: tilted mass ≤ e^le on each
    side, since P̃[S > W] ≤ exp(F(λ+s) − F(λ) − sW) for every s > 0 (and likewise below),
    with s searched from the Gaussian guess; never beyond the support of the composition."""
    F0, m1, var = parts.F(lam)
    sd = math.sqrt(max(var, 1e-300))
    z = math.sqrt(-2 * le)
    bounds = []
    # The composed support ends hold every mass: a window end needs go no further.
    support = (sum(T * ell[-1] for *_, ell, T in parts.items),
               -sum(T * ell[0] for *_, ell, T in parts.items))
    for sign, edge in zip((1.0, -1.0), support):
        # sign·W(s) = (F(λ + sign·s) − F(λ) − log η)/s is certified for every s > 0; its
        # minimiser solves N(s) = s·φ′ − φ + log η = 0 (φ(s) = F(λ + sign·s) − F(λ)),
        # and N grows (N′ = s·φ″), so safeguarded Newton in log s finds it from the
        # Gaussian guess in a few evaluations. (A pattern search by factors of 1.5 took 30
        # per side where the law is far from Gaussian or the optimum is s → ∞, a bounded
        # support: 90 % of a δ query's time at q = 1e-5.)
        def nw(u):
            s = math.exp(u)
            K, K1, K2 = parts.F(lam + sign * s)
            phi = K - F0
            w = (phi - le) / s
            n = s * sign * K1 - phi + le
            return (w if w == w else math.inf), n, s * s * K2
        best = _newton_window(nw, math.log(z / sd))
        bounds.append(sign * min(best, edge))
    return bounds[1], bounds[0], F0, m1, sd


def _newton_window(nw, u, max_eval=14):
    """The smallest W over a safeguarded Newton search for N(e^u) = 0 (N increasing in
    u); ``nw(u)`` gives (W, N, dN/du). Every W is a valid bound: this only tightens."""
    best = math.inf
    lo, hi = -math.inf, math.inf          # N(lo) < 0 < N(hi)
    for _ in range(max_eval):
        w, n, dn = nw(u)
        # Still descending but no longer gaining: W tends to the support's end (s → ∞).
        stalled = n < 0 and 0.0 <= best - w <= 1e-7 * (abs(w) + 1.0)
        best = min(best, w)
        if not (n == n and dn == dn) or stalled:
            break
        if n < 0:
            lo = u
        else:
            hi = u
        step = -n / dn if dn > 0 else (math.inf if n < 0 else -math.inf)
        nxt = u + max(-4.0, min(4.0, step))
        if not lo < nxt < hi:
            nxt = 0.5 * (lo + hi) if math.isfinite(lo) and math.isfinite(hi) else nxt
        if abs(nxt - u) < 0.02:
            # A tiny Newton step far from the root: N is steep here (near the support's
            # end, where F grows fast), so the step says little. Until the root is
            # bracketed, move one unit of log s towards it (σ 0.8, q 1e-3, T 1e5: a window
            # end stayed at the support's end, 96 times wider, and the FFT 4× larger).
            if n > 0 and lo == -math.inf:
                nxt = u - 1.0
            elif n < 0 and hi == math.inf:
                nxt = u + 1.0
            else:
                break
        if abs(nxt) > 700.0:
            break
        u = nxt
    return best


def _window_holds(parts, lam, w_lo, w_hi, sd, le):
    """True when Chernoff certifies tilted mass ≤ e^le beyond [w_lo, w_hi] for ``parts``
    (tried at the Gaussian-optimal s on each side only; False means: search properly)."""
    F0, m1, var = parts.F(lam)
    sd = math.sqrt(max(var, 1e-300))
    if not (w_lo < m1 < w_hi):
        return False
    s_hi = (w_hi - m1) / (sd * sd)
    s_lo = (m1 - w_lo) / (sd * sd)
    ok_hi = parts.F(lam + s_hi)[0] - F0 - s_hi * w_hi <= le
    ok_lo = parts.F(lam - s_lo)[0] - F0 + s_lo * w_lo <= le
    return ok_hi and ok_lo


class _Composed:
    """log δ(ℓ_k) on the window for one side, plus the additive corrections."""

    def __init__(self, parts: _Parts, lam, J_lo, n, side, w_inf_log1p):
        h = parts.h
        self.h, self.J_lo, self.n, self.lam, self.side = h, J_lo, n, lam, side
        F0 = 0.0
        dropped = 0.0
        spectra = []
        for i0, lw, ell, T in parts.items:
            K = _kp.log_cgf(lw, ell, lam)[0]
            F0 += T * K
            wt = np.exp(lw + lam * ell - K)
            # Subnormal inputs slow the FFT ~10×: drop tilted masses below 1e-280. For the
            # upper side the dropped tilted mass (≤ 1e-280·len) is added back to every bin.
            tiny = wt < 1e-280
            if tiny.any():
                dropped += T * float(wt[tiny].sum()) + T * 1e-280 * int(tiny.sum())
                wt[tiny] = 0.0
            pos = (i0 + np.arange(lw.shape[0])) % n
            x = np.bincount(pos, weights=wt, minlength=n) if lw.shape[0] > n else None
            if x is None:
                x = np.zeros(n)
                x[pos] = wt
            spectra.append((sfft.rfft(x), T))
        self.log_c = F0
        logn = max(1.0, math.log2(n))
        dX = _FFT_C * logn * _U
        m = n // 2 + 1
        logabs = np.zeros(m)
        phase = np.zeros(m)
        logU = np.zeros(m)
        rel = np.zeros(m)
        for X, T in spectra:
            _kp.spectrum_accumulate(X, float(T), logabs, phase, logU, rel, dX, _U)
        Y, err = _kp.spectrum_finish(logabs, phase, logU, rel, n, dX, _U, _FFT_C * logn * _U)
        self.bin_err = err + 4 * _U + (dropped if side == "up" else 0.0)
        y = sfft.irfft(Y, n)
        c = np.roll(y, -(J_lo % n))
        e_lo = J_lo * h
        self.e_lo = e_lo
        if side == "up":
            np.maximum(c, 0.0, out=c)
            c += self.bin_err
        else:
            c -= self.bin_err
            np.maximum(c, 0.0, out=c)
        self.d, self.shift = _kp.delta_scan(c, lam, h)
        self.w_inf_log1p = w_inf_log1p

    def ell(self, k):
        return self.e_lo + k * self.h

    def logd(self, k):
        """log δ(ℓ_k) of the composed discrete PLD."""
        d = self.d[k]
        if d > 0:
            return math.log(d) + self.shift[k] - self.lam * self.ell(k) + self.log_c
        return -math.inf

    def first_below(self, lt):
        """Smallest k with log δ(ℓ_k) ≤ lt (δ is non-increasing in k); n if none."""
        lo, hi = 0, self.n  # invariant: answer in [lo, hi]
        while lo < hi:
            mid = (lo + hi) // 2
            if self.logd(mid) <= lt:
                hi = mid
            else:
                lo = mid + 1
        return lo


def _side(parts_up, parts_lo, onesteps, lam, J_lo, n, eta):
    """Compose both sides on one window; returns the two _Composed objects and extras."""
    w_log1p = sum(T * math.log1p(-min(one.w_inf, 1.0)) for one, T in onesteps)
    up = _Composed(parts_up, lam, J_lo, n, "up", w_log1p)
    lo = _Composed(parts_lo, lam, J_lo, n, "lo", 0.0) if parts_lo.items else None
    return up, lo


class _Direction:
    """Everything for one direction at one grid step h."""

    def __init__(self, counts, direction, h, tau_hi=None, log_tau_hi=None):
        self.h = h
        self.onesteps = []
        for mech, T in counts:
            pl = loss_for(mech, direction)
            self.onesteps.append((_one_step(mech, pl, h, tau_hi, log_tau_hi), T))
        self.steps = sum(T for _, T in counts)
        self.parts_up = _Parts(self.onesteps, "up", h)
        self.lower_ok = all(one.lower_ok for one, _ in self.onesteps)
        self.parts_lo = _Parts(self.onesteps, "lo", h) if self.lower_ok else None
        # Q-mass at +∞ of the composition, 1 − Π(1 − w_m)^{T_m} ≤ Σ T_m·w_m: the union
        # bound (in logarithms) where it is within 1e-6 of the product, which is kept for
        # larger masses (plus the union of any w_m too small to be a double).
        union = _lse([math.log(T) + one.log_w_inf for one, T in self.onesteps])
        if union < math.log(1e-6):
            self.log_p_inf = union
        else:
            prod = _log(-math.expm1(sum(T * math.log1p(-min(one.w_inf, 1.0))
                                        for one, T in self.onesteps)))
            tiny = _lse([math.log(T) + one.log_w_inf for one, T in self.onesteps
                         if one.w_inf == 0.0])
            self.log_p_inf = _logaddexp(prod, tiny)
        self.p_inf = math.exp(self.log_p_inf)
        self.quad = self.steps * _QUAD_REL

    def compose(self, lam, around=None, eta=_ETA, log_eta=None):
        """FFT composition with tilt λ; the window covers the tilted mass (and ``around``),
        leaving tilted mass ≤ eta outside on each side; ``log_eta`` gives log eta instead
        (at δ = 5e-324 the η ≪ δ the callers want is no double)."""
        if log_eta is None:
            log_eta = math.log(eta)
        h = self.h
        self.log_eta = log_eta
        # e^{−λh} must not underflow in the scans; the bounds stay valid for any λ ≥ 0.
        lam = min(lam, 20.0 / h)
        w_lo, w_hi, F0, m1, sd = _window(self.parts_up, lam, log_eta)
        if self.parts_lo is not None and not _window_holds(self.parts_lo, lam, w_lo, w_hi,
                                                           sd, log_eta):
            a, b, *_ = _window(self.parts_lo, lam, log_eta)
            w_lo, w_hi = min(w_lo, a), max(w_hi, b)
        if around is not None:
            w_lo = min(w_lo, around - 4 * h)
            w_hi = max(w_hi, around + 4 * h)
        J_lo = math.floor(w_lo / h) - 2
        J_hi = math.ceil(w_hi / h) + 2
        n = sfft.next_fast_len(J_hi - J_lo + 1, real=True)
        if n > _MAX_WINDOW:
            raise _GridTooLarge(n)
        self.n = n
        self.lam = lam
        self.up = _Composed(self.parts_up, lam, J_lo, n, "up", 0.0)
        self.lo = _Composed(self.parts_lo, lam, J_lo, n, "lo", 0.0) if self.parts_lo else None
        top = (J_lo + n - 1) * h
        # Untilted mass above the window (upper) ≤ e^{−λ·top + F(λ)}·η.
        self.log_above = min(-lam * top + self.up.log_c + log_eta, 0.0)
        self.above = math.exp(self.log_above)
        return self

    # δ at a point, each side, including every correction.
    def _log_wrap(self, comp, k):
        return min(-self.lam * comp.ell(k) + comp.log_c + _LOG2 + self.log_eta, 700.0)

    def _wrap(self, comp, k):
        return math.exp(self._log_wrap(comp, k))

    def delta_upper(self, eps):
        c = self.up
        k = math.floor((eps - c.e_lo) / c.h + 1e-9)
        if k < 0:
            return 1.0
        if k >= c.n - 1:
            D = 0.0
        else:
            D = _interp(c, k, eps)
        val = D + self.p_inf + self.above
        return min(1.0, val * (1 + self.quad))

    def delta_lower(self, eps):
        c = self.lo
        if c is None:
            return 0.0
        k = math.floor((eps - c.e_lo) / c.h + 1e-9)
        if k < 0:
            return 0.0
        if k >= c.n - 1:
            return 0.0
        D = _interp(c, k, eps) - self._wrap(c, k)
        if not D <= 1.0:
            # a proven lower bound is never above 1: this one carries an escaped error
            return 0.0
        return max(0.0, D * (1 - self.quad))

    def error_floor(self, eps):
        """Size of the certified error terms (round-off, window, +∞ mass) in δ at ε: the
        smallest δ this grid and window can resolve near ε."""
        c = self.up
        lam, h = self.lam, self.h
        # A tilted error e per bin adds e·Σ_{m≥1} e^{−λmh}(1 − e^{−mh}) to the scaled δ
        # (the weights of delta_scan): 1/(e^{λh} − 1) − 1/(e^{(λ+1)h} − 1), at most n.
        if lam * h > 1e-12:
            nb = min(c.n, 1.0 / math.expm1(lam * h) - 1.0 / math.expm1((lam + 1.0) * h))
        else:
            nb = c.n
        lr = math.log(c.bin_err * max(nb, 1e-300)) - lam * eps + c.log_c
        return math.exp(min(lr, 700.0)) + self.p_inf + self.above

    def eps_upper(self, delta):
        """Smallest ε with δ_upper(ε) ≤ δ; "below"/"above" when the window misses it."""
        c = self.up
        lt = _log_slack(delta, self.quad, _logaddexp(self.log_p_inf, self.log_above))
        if lt is None:
            return math.inf
        k = c.first_below(lt)
        if k >= c.n:
            return "above"
        if k == 0:
            return c.ell(0) if c.ell(0) <= 0 else "below"
        return _solve(c, k - 1, lt)

    def eps_lower(self, delta):
        """Largest ε with δ_lower(ε) > δ; "below"/"above" when the window misses it."""
        c = self.lo
        if c is None:
            return 0.0
        # log(δ/(1 − quad)), rounded up
        lt0 = math.log(delta) - math.log1p(-self.quad)
        lt0 += 8 * _U * (abs(lt0) + 1.0)
        if lt0 >= 0.0:
            return 0.0   # δ_lower ≤ 1 never exceeds it (δ = 1 − 2⁻⁵³ searched forever)
        # δ_lo(ℓ_k) = D_k − wrap_k > δ  ⇔  D_k > δ + wrap_k; wrap_k decreases in k, so
        # start from the last k with D_k > δ and step down (rarely more than once).
        k = c.first_below(lt0) - 1
        if k >= c.n - 2:
            return "above"
        while k >= 0:
            lt = _logaddexp(lt0, self._log_wrap(c, k))
            if c.logd(k) > lt:
                return max(0.0, _solve(c, k, lt))
            k -= 1
        return 0.0 if c.ell(0) <= 0 else "below"


def _interp(c, k, eps):
    """δ of the discrete PLD at ε ∈ [ℓ_k, ℓ_{k+1}]: linear in e^ε (exact). Values above 1
    (a window whose error terms swamp it: log δ = 1458 was seen) are capped at e^700 — a
    vacuous upper bound the caller clips to 1; the lower side refuses such values."""
    Dk = math.exp(min(c.logd(k), 700.0))
    Dk1 = math.exp(min(c.logd(k + 1), 700.0)) if k + 1 < c.n else 0.0
    frac = math.expm1(eps - c.ell(k)) / math.expm1(c.h)
    return Dk - frac * (Dk - Dk1)


def _solve(c, k, log_target):
    """ε ∈ [ℓ_k, ℓ_{k+1}] where the exact discrete δ equals e^log_target
    (D_k ≥ target ≥ D_{k+1}); in units of D_k, which may be subnormal."""
    ldk = c.logd(k)
    ldk1 = c.logd(k + 1)
    if ldk <= ldk1:
        return c.ell(k + 1)
    r1 = math.exp(ldk1 - ldk)
    rt = math.exp(min(log_target - ldk, 0.0))
    frac = min(max((1.0 - rt) / (1.0 - r1), 0.0), 1.0)
    return c.ell(k) + math.log1p(frac * math.expm1(c.h))


_LOG2 = math.log(2.0)


def _log(x):
    return math.log(x) if x > 0 else -math.inf


def _lse(vals):
    top = max(vals, default=-math.inf)
    if top == -math.inf:
        return top
    return top + math.log(math.fsum(math.exp(v - top) for v in vals))


def _logaddexp(a, b):
    if a < b:
        a, b = b, a
    return a if b == -math.inf else a + math.log1p(math.exp(b - a))


def _log_slack(delta, quad, log_extra):
    """log(δ/(1 + quad) − e^log_extra), rounded down, or None when it is not positive;
    in logarithms, since δ may be subnormal (5e-324/(1 + quad) rounds back to 5e-324)."""
    lt = math.log(delta) - math.log1p(quad)
    if log_extra >= lt:
        return None
    if log_extra > -math.inf:
        lt += math.log1p(-math.exp(log_extra - lt))
    return lt - 8 * _U * (abs(lt) + 1.0)


# ----------------------------------------------------------------------------------------
# One grid step: brackets per direction
# ----------------------------------------------------------------------------------------
def _chernoff_eps(parts, ld):
    """Upper bound on ε(e^ld) of the composed upper PLD without an FFT:
    δ(ε) ≤ Q[L > ε] ≤ e^{F(t) − tε} for every t > 0 (F includes no +∞ mass; added apart)."""

    def b(t):
        return (parts.F(t)[0] - ld) / t
    ts = np.geomspace(0.05, 200.0, 9)
    vals = [b(t) for t in ts]
    i = int(np.argmin(vals))
    best = vals[i]
    # Refine around the best grid point (any t gives a valid bound; this only tightens).
    for t in np.geomspace(ts[max(i - 1, 0)], ts[min(i + 1, len(ts) - 1)], 7)[1:-1]:
        best = min(best, b(t))
    return float(best)


def _pow2_floor(x: float) -> float:
    """x rounded down to a power of two (see :func:`_log_pow2_floor`)."""
    return 2.0 ** math.floor(math.log2(x))


def _log_pow2_floor(lx: float) -> float:
    """log x with x rounded down to a power of two. The one-step cache is keyed by the tail
    threshold; rounding it down (a smaller threshold only tightens what is truncated, and
    every truncation is accounted) lets queries with nearby T or δ share one-step PLDs."""
    return math.floor(lx / _LOG2) * _LOG2


def _eps_at_h(schedule, delta, h, dirs=None):
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
    for d in order:
        D = _Direction(counts, d, h, log_tau_hi=tau_hi)
        top_lo = max((r[0] for r in out.values()), default=-math.inf)
        if out:
            # A cheap Chernoff bound may already show this direction cannot be the max.
            slack = _log_slack(delta, D.quad, D.log_p_inf)
            ch = _chernoff_eps(D.parts_up, slack) if slack is not None else math.inf
            if ch <= top_lo:
                D.n, D.lam, D.up = 0, 0.0, None
                out[d] = (0.0, max(ch, 0.0), D)
                continue
        lam = _saddle_lambda_for_delta(D.parts_up, delta)
        # Untilted tail terms are ≤ e^{F(λ) − λℓ}·eta: keep them ≪ δ even at λ ≈ 0.
        log_eta = min(math.log(_ETA), math.log(1e-6) + math.log(delta))
        try:
            for _attempt in range(12):
                D.compose(lam, log_eta=log_eta)
                eu = D.eps_upper(delta)
                el = D.eps_lower(delta)
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
        except _GridTooLarge:
            if not out:
                raise
            # Keep this direction's valid Chernoff upper bound (and the trivial lower 0).
            slack = _log_slack(delta, D.quad, D.log_p_inf)
            ch = _chernoff_eps(D.parts_up, slack) if slack is not None else math.inf
            D.n, D.lam, D.up = 0, 0.0, None
            out[d] = (0.0, max(ch, 0.0), D)
            continue
        # Pure-DP cap: δ(ε) = 0 once ε reaches the largest possible composed loss, summed
        # exactly and rounded up (Σ T·hi_loss in floats fell an ulp below s/b for
        # Laplace(6.9e8), under the true ε at δ = 1e-300).
        pure = _exact.pure_epsilon(schedule, d)
        out[d] = (min(max(el, 0.0), pure), min(max(eu, 0.0), pure), D)
    return out


def _delta_at_h(schedule, eps, h, dirs=None):
    counts = schedule.counts()
    T = schedule.steps
    tau_hi = _log_pow2_floor(math.log(1e-30) - math.log(T))
    out = {}
    for d in (dirs if dirs is not None else list(directions_of(schedule))):
        D = _Direction(counts, d, h, log_tau_hi=tau_hi)
        lam = _saddle_lambda_for_eps(D.parts_up, eps)
        try:
            D.compose(lam, around=eps, log_eta=math.log(1e-30))
        except _GridTooLarge:
            if not out:
                raise
            # Valid Chernoff bound δ(ε) ≤ P_inf + min_t e^{F(t) − tε}, trivial lower 0.
            ch = min(parts_bound for parts_bound in (
                math.exp(min(D.parts_up.F(t)[0] - t * eps, 0.0))
                for t in np.geomspace(0.05, 200.0, 24)))
            D.n, D.lam, D.up = 0, 0.0, None
            out[d] = (0.0, min(1.0, (ch + D.p_inf) * (1 + D.quad)), D)
            continue
        out[d] = (D.delta_lower(eps), D.delta_upper(eps), D)
    return out


def _refine(run, schedule, target, h, max_refine, limited=lambda res: True):
    """Run ``run(h, dirs)`` on finer and finer grids until upper − lower ≤ target(upper).

    Each direction keeps the intersection of its brackets (each is valid at its h); a
    direction whose upper bound is below another direction's lower bound cannot be the max
    and is not refined further. The next h follows the measured law width ∝ h^p (p from the
    last two grids, else 2). Refinement stops early only when the width stopped shrinking
    *and* ``limited(res)`` says the round-off/truncation terms are what is left (widths are
    not monotone in h before the asymptotic regime).
    """
    budget = _Work(_QUERY_WORK)
    token = _WORK.set(budget)
    try:
        return _refine_loop(run, schedule, target, h, max_refine, limited, budget)
    finally:
        _WORK.reset(token)


def _refine_loop(run, schedule, target, h, max_refine, limited, budget):
    warnings = []
    best = {}
    history = []
    cur = h if h is not None else _H0
    capped = 0
    for it in range(max_refine + 3):
        top_lo = max((b[0] for b in best.values()), default=-math.inf)
        dirs = [d for d in list(directions_of(schedule)) if d not in best or best[d][1] > top_lo]
        budget.enforce = bool(best)
        try:
            res = run(cur, dirs)
        except _GridTooLarge as exc:
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
                continue
            if capped < 2:
                # Try halfway (geometrically) between the last grid that fitted and this one.
                capped += 1
                cur = math.sqrt(cur * history[-1][0])
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
        width = up - lo
        tgt = target(up)
        if h is not None or width <= tgt or up == 0.0:
            break
        if (len(history) >= 2 and lo > 0 and history[-2][1] > 0
                and width > 0.5 * (history[-2][2] - history[-2][1]) and limited(res)):
            # Refining no longer pays (round-off or truncation terms dominate the width).
            warnings.append(f"bracket_wider_than_requested: width {width:.3g} > {tgt:.3g} "
                            "(limited by round-off/truncation terms, not by h)")
            break
        if len(history) > max_refine or cur <= _H_MIN or capped:
            warnings.append(f"bracket_wider_than_requested: width {width:.3g} > {tgt:.3g}")
            break
        p = 2.0
        if len(history) >= 2:
            (h0, l0, u0), (h1, l1, u1) = history[-2], history[-1]
            if u0 - l0 > 0 and u1 - l1 > 0 and l0 > 0 and l1 > 0:
                p = min(3.0, max(1.0, math.log((u0 - l0) / (u1 - l1)) / math.log(h0 / h1)))
        fac = (0.9 * tgt / max(width, 1e-300)) ** (1.0 / p)
        if lo <= 0.0:
            # The lower bound is still 0 (lowered chords degenerate when the step loss is
            # concentrated far below h, small q): the width says nothing about the law yet;
            # a moderate step avoids jumping far past the first grid where it exists.
            fac = 0.25
        cur = max(_H_MIN, cur * min(1 / 1.5, max(fac, 1 / 16)))
    return best, history, tuple(warnings)


_H0 = 4e-3


def epsilon_bracket(schedule, delta, rtol=1e-3, atol=1e-3, h=None, max_refine=6):
    """(lower, upper, details, warnings) for ε(δ); width ≤ max(rtol·ε, atol) unless h is fixed."""
    def limited(res):
        # Round-off/truncation terms comparable with δ near the answer: a finer grid (a
        # longer window) will not narrow the bracket.
        return any(r[2].up is not None and math.isfinite(r[1])
                   and r[2].error_floor(r[1]) > 1e-2 * delta for r in res.values())

    near_one = delta >= 1.0 - schedule.steps * _QUAD_REL
    if near_one:
        # Within the relative quadrature margin of δ = 1 the lower PLD cannot exceed δ at
        # any ε and the upper one is read at δ·(1 − margin): no grid narrows the bracket
        # (Laplace at δ = 1 − 2⁻⁵³ refined for 6 s to the grid cap).
        max_refine = 0
    best, history, warns = _refine(lambda hh, dirs: _eps_at_h(schedule, delta, hh, dirs),
                                   schedule, lambda up: max(rtol * up, atol), h, max_refine,
                                   limited)
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


def delta_bracket(schedule, eps, rtol=1e-3, atol=0.0, h=None, max_refine=6):
    """(lower, upper, details, warnings) for δ(ε); width ≤ max(rtol·δ, atol) unless h is fixed."""
    def limited(res):
        return any(r[2].up is not None and r[2].error_floor(eps) > 0.1 * (r[1] - r[0])
                   for r in res.values())

    best, history, warns = _refine(lambda hh, dirs: _delta_at_h(schedule, eps, hh, dirs),
                                   schedule, lambda up: max(rtol * up, atol), h, max_refine,
                                   limited)
    lo = max(b[0] for b in best.values())
    up = max(b[1] for b in best.values())
    return lo, up, _details(best, history), warns


def _details(best, history):
    per_dir = {}
    for d, (lo, up, D, hh) in best.items():
        per_dir[d] = {"lower": lo, "upper": up, "grid_step": hh, "window": D.n,
                      "tilt": D.lam, "mass_at_inf": D.p_inf,
                      "fft_bin_error": D.up.bin_err if D.up is not None else None,
                      "method": "fft" if D.up is not None else "chernoff (cannot be the max)"}
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


def check_options(rtol=None, atol=None, h=None, closed_form=True, **options):
    """(rtol, atol, h, closed_form) validated: ValueError naming an unknown or bad option."""
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
def compute(schedule, *, delta=None, epsilon=None, rtol=None, atol=None, h=None,
            closed_form=True, **options):
    """PLD accountant: certified bracket (see the module docstring for the proofs).

    Options
    -------
    rtol : bracket width relative to the value (default 1e-3).
    atol : absolute width floor for ε (default: rtol, i.e. the relative width at ε = 1).
    h : fix the grid step instead of refining it.
    closed_form : answer Gaussian-only schedules (Private Evolution, q = 1) with the exact
        μ-GDP closed form, and a single step with the exact one-step hockey stick
        (default); False forces the discretisation.
    """
    rtol, atol, h, closed_form = check_options(rtol, atol, h, closed_form, **options)
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
            atol=(1e-3 if rtol is None else rtol) if atol is None else atol, h=h)
        if pure < up:
            up, details = pure, {**details, "pure_dp_bound": pure}
        r_, a_ = (1e-3 if rtol is None else rtol), ((1e-3 if rtol is None else rtol)
                                                   if atol is None else atol)
        lo, up, details, warns = _with_exact_lower(schedule, "epsilon", delta, lo, up,
                                                   details, warns, r_, a_)
        return Result("epsilon", delta, up, lo, up, True, "pld", warns, details)
    if epsilon >= pure:
        return Result("delta", epsilon, 0.0, 0.0, 0.0, True, "pld",
                      details={"pure_dp_bound": pure})
    lo, up, details, warns = delta_bracket(
        schedule, epsilon, rtol=1e-3 if rtol is None else rtol,
        atol=0.0 if atol is None else atol, h=h)
    lo, up, details, warns = _with_exact_lower(
        schedule, "delta", epsilon, min(lo, 1.0), up, details, warns,
        1e-3 if rtol is None else rtol, 0.0 if atol is None else atol)
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
        exact = _exact.composed_lower_epsilon(schedule, at)
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
