"""Saddle-point accountant (Alghamdi, Gomez, Asoodeh, Calmon, Kosut, Sankar, ICML 2023,
arXiv 2208.09595): an estimate with a rigorous error bound relative to δ.

For one direction let S = Σ L_i under Q (independent steps) and K(t) = Σ_i T_i K_i(t) its
CGF. For every t > 0 the exact identity

    δ(ε) = e^{K(t) − tε} · E_t[ g_t(S − ε) ],   g_t(u) = e^{−tu}(1 − e^{−u})₊,

holds, where E_t is under the law tilted by e^{tS} (mean K′(t), variance K″(t)).
**SPA-CLT** replaces the tilted law of S by the normal N(K′(t), K″(t)):

    δ_CLT = e^{K − tε − γ²/2}·(q(α) − q(β))/√(2π),  γ = (K′ − ε)/√K″,
    α = t√K″ − γ, β = α + √K″,  q(z) = √(2π)e^{z²/2}Φ̄(z)          (docs/math.md §6.2).

**Error bound** (valid for ANY t > 0): g_t rises from 0 to max g_t = t^t/(1+t)^{1+t} and
falls back, so its total variation is 2·max g_t, and the Berry–Esseen theorem for
independent, non-identically distributed summands (Shevtsova 2010, constant 0.5600) gives

    |δ − δ_CLT| ≤ e^{K − tε}·t^t/(1+t)^{1+t}·1.12·Σ T_i P_{t,i} / K″^{3/2},

P_{t,i} = E_t|L_i − K_i′(t)|³ (Alghamdi et al., Theorem 5 for i.i.d. steps; the sum form is the
same argument with the non-i.i.d. Berry–Esseen bound). The saddle point t₀ solves
K′(t₀) = ε + 1/t₀ + 1/(1+t₀) (it nearly minimises the bound); root-finding errors do not
affect validity. **SPA-MSD** (the method of steepest descent at t₀) is the estimate:
δ_MSD = e^{F(t₀)}/√(2π F″(t₀)), F(t) = K(t) − tε − log t − log(1+t).

Quadrature errors of K, K′, K″, P_t (reported by the adaptive rule) and the rounding of
the evaluation itself are propagated into the bound (kernel ``spa_log``: at extreme tilts,
t ~ 1e-7 where γ ~ 1e7, log δ_CLT is formed without the cancelling Gaussian exponents that
once certified δ = 1.08); ``certified=True`` only when they are small and the interval is
not vacuous. A δ lower bound above 1, or any lower bound above its upper bound, proves an
escaped error: it is replaced by 0, not certified, and named in the warnings.
Add/remove pairs: each direction is composed separately and the larger value reported.

**Estimate reliability** (docs/math.md §6.7). SPA-MSD's second-order factor is small only
where the tilted law is near normal; where the saddle point sits in a mixture's component
switch (subsampled Gaussian at tiny δ and few steps) or T·q is small it is not, and MSD can
fall outside the certified interval. The estimate is then flagged ("estimate_unreliable",
``details["estimate_reliable"]``) and, when MSD lies outside, SPA-CLT stands in where the
MSD–CLT gap is moderate; an estimate is never clipped onto an interval end silently.

**Work budget.** Each lattice tilt costs a quadrature of the tilted law; a query spends
at most ``work_budget`` quadrature work units (accountant.accountants.cumulants; default ≈ 3 s of
quadrature, far above what usual mechanisms need), then the searches stop at the tilts
already evaluated (the bounds stay valid, the warning "budget_exhausted" says so).

**Tilt lattice** (what queries use; speed). Since the bound holds at every t, the bounds
are taken at the tilts t_k = 2^{k/8}, whose quadratures (K..K^(5), P_t per step) are
cached per mechanism and shared by every T, δ and ε (T steps scale them by T):

* ε(δ): at a FIXED lattice tilt, δ_CLT ± err is a closed form in ε, so the crossing
  δ_CLT + err = δ (upper) and the last point with δ_CLT − err > δ (lower) are solved in ε
  with no quadrature; the best over the lattice tilts around the saddle point is taken
  (a walk, then halvings of the step where a parabola predicts a gain). The returned ε's
  were evaluated, so search errors cannot break validity.
* δ(ε): min of δ_CLT + err and max of δ_CLT − err over the lattice tilts around t₀.
* Estimates (t₀, SPA-CLT, SPA-MSD) need t₀ itself: they are read on a Hermite surrogate
  of K, K′, …, K⁗ between the two lattice tilts around t₀ (each interpolated from K..K^(5)
  at the nodes; a lower-order surrogate estimates the error, and the interval is halved
  at new, again query-independent, nodes where they disagree). They agree with the
  exact-t₀ values to ~1e-7 relative (tests). ``saddle_point``/``spa_terms``/``_Curve.at``
  keep the exact-t₀ path (docs/math.md §6.5 unit values) and ``_eps_direction_exact``/
  ``_delta_direction_exact`` the previous exact-t₀ accountant, for reference.

Size: one accountant whose lattice of tilts, certified error terms and ε/δ searches rely
on each other's invariants (docs/math.md §6); its kernels are in ``_saddle_kernels.py``.
"""
from __future__ import annotations

import math
import threading
from typing import Optional, Tuple

import numpy as np

from . import _saddle_kernels as _ks
from .api import register
from ..core.bounds import Result
from .cumulants import _TILT_CACHE, mechanism_tilted
from . import exact as _exact
from ..core.mechanisms import Schedule
from ..loss import directions_of, loss_for

__all__ = ["compute", "spa_terms", "saddle_point"]

_INPUT_REL_OK = 1e-6  # largest input error (relative) still called certified
# Largest relative gap between the SPA-MSD and SPA-CLT estimates (ε, relative; δ, in
# log δ) for which SPA-MSD is reported as reliable. They differ by the second-order
# correction of the steepest-descent expansion; where it is not small the expansion has
# not converged (the tilted loss is far from normal at the saddle point: few effective
# steps, T·q small, or δ so small that t₀ sits where the tilted law moves to another
# mixture component). Measured (issue 17, 155 subsampled-Gaussian settings, PLD rtol 1e-5
# as truth): |SPA-MSD − truth| reached 1–4× the gap at gaps of 1e-4 … 1e-3 (9× past 4e-3),
# so 2e-4 keeps every unflagged estimate measured within 3.4e-4 (the 0.1 % promised).
# δ(ε) queries compare log δ_MSD − log δ_CLT divided by t₀·ε (d log δ/dε = −t₀ at the
# saddle point, so this is the gap the two estimates would have in ε, relative).
_EST_GAP_EPS = 2e-4
# Where SPA-MSD falls outside the certified interval, SPA-CLT (the leading term) stands in
# only while the gap is moderate (the expansion nearly converged, its second-order term
# the main error: σ = 2, q = 0.01, T = 1000, δ = 1e-10 / 1e-15 gaps 0.045 / 0.16, CLT off
# by 1.2e-4 / 1.8e-2 against 1.4e-2 / 1.1e-1 for the clipped MSD). Past it (q = 1e-3,
# gaps ~1) neither term means anything and SPA-CLT was off by up to 8×: the interval end
# nearest to SPA-MSD is reported, with the warning.
_CLT_FALLBACK_GAP = 0.25
_T_FACTORS = (0.6, 0.8, 1.25)  # extra tilts tried for δ(ε), relative to the saddle point
# Tilt lattice t_k = 2^{k/M}: the bound holds at every t, so the bounds are taken over
# lattice tilts, whose quadratures are cached per mechanism and shared by every T, δ, ε.
_M = 8
_H = math.log(2.0) / _M
_KMIN = int(-60.0 / _H)
_KMAX = int(40.0 / _H)
_WALK = 4 * _M        # longest walk along the lattice for a bound (4 octaves)
_SURR_TOL = 1e-6      # relative agreement of the n = 5 and n = 4 surrogates' estimates
_SURR_STEP = 1e-6     # ... or change of the estimate from one halving to the next
_REFINE = 16          # most halvings of a lattice interval for the surrogate
_PATTERN = 2          # halvings of the lattice step when a bound's best tilt is sought,
_PATTERN_MAX = 10     # ... up to this many while it predicts over 100 × _BOUND_RTOL
_BOUND_RTOL = 1e-4    # ... stopped when the predicted gain is below this (relative ε, or
                      # absolute in log δ)
_PREFILL = 6          # lattice tilts filled on each side of the first query's saddle point
# Work budget of one query (both directions together; option ``work_budget``), in the
# quadrature work units of accountant.accountants.cumulants (15-point panel evaluations × (mixture
# components + 20), ~0.13 µs each on one core: 2e7 ≈ 2.6 s). A lattice tilt costs one
# quadrature of the tilted law per distinct mechanism: ~1e3–1e4 units for the usual
# mechanisms (up to ~2e6 at tilts past 1e4; a usual query spends 1e4–2e6 in all), but
# ~5e6 for a mixture of hundreds of components (an ELS with k = 256), and a query visits
# dozens of tilts (issue 13: > 60 s). Past the budget the searches stop at the tilts
# already evaluated: every bound reported was evaluated at a real tilt, so it holds, but
# it may be wide (warning "budget_exhausted").
# Work units, not seconds: the result does not depend on the machine's speed or load,
# nor on the time a first call spends compiling the kernels.
_WORK_BUDGET = 2e7
_U = 2.0 ** -53
_MAX_INPUT_LOG_ERR = 30.0   # a lattice tilt whose input errors exceed e^30 is unusable
_STATE = threading.local()   # the running query's work left (queries may run in threads)
_CURVE_CACHE: dict = {}
_START_CACHE: dict = {}
_LATTICE_CACHE: dict = {}


def _lat_t(k):
    return 2.0 ** (k / _M)


class _BadTilt(Exception):
    """The quadrature cannot reach the tilted law at this lattice tilt (see
    cumulants.Tilted): searches treat it as the end of the lattice."""


class _OutOfBudget(_BadTilt):
    """The query's work budget is spent: no new quadrature. Searches treat it like an
    unreachable tilt (they continue on the tilts already evaluated, which give valid
    bounds); unlike a bad tilt it is not remembered, so a later query may evaluate it."""


def _check_budget():
    """Raise _OutOfBudget when the running query has spent its work budget (checked
    before a new quadrature; cached tilts stay free)."""
    left = getattr(_STATE, "left", None)
    if left is not None and left <= 0.0:
        _STATE.exhausted = True
        raise _OutOfBudget()


def _charge(work):
    left = getattr(_STATE, "left", None)
    if left is not None:
        _STATE.left = left - work


class _StepLattice:
    """One step of one mechanism in one direction on the tilt lattice: (t, K, K′, K″, P_t,
    errK, rel, K‴, K⁗, K^(5)) per lattice index, and the Hermite coefficients of the
    surrogate per interval. Shared by every schedule using the mechanism (a composition
    of T steps scales everything but t and rel by T)."""

    def __init__(self, mechanism, direction):
        self.mechanism = mechanism
        self.direction = direction
        loss = loss_for(mechanism, direction)
        # A tilted law by quadrature (not a closed form: mixtures) slows ~100× per decade
        # of t past ~1e4 and fails by t ~ 1e8 (bounded losses, ε near its supremum): the
        # lattice stops at 2^24 there; any tilt gives a valid bound, so this only loosens
        # far tails.
        self.kmax = _KMAX if loss.cgf_exact else min(_KMAX, 24 * _M)
        self.prefilled = False
        self.nodes = {}
        self.coefs = {}
        self.accepted = {}

    def node(self, k):
        # ``in``, not ``get``: a tilt that failed is stored as None and must not be
        # integrated again on every visit
        if k not in self.nodes:
            if k > self.kmax:
                raise _BadTilt(k)
            t = _lat_t(k)
            fresh = (self.mechanism, self.direction, t) not in _TILT_CACHE
            if fresh:
                _check_budget()
            hint = None
            if self.nodes:
                # centre hint: K′ extrapolated from the nearest lattice tilt evaluated
                kn = min(self.nodes, key=lambda j: abs(j - k))
                n = self.nodes[kn]
                if abs(kn - k) <= 4 and n is not None:
                    hint = n[2] + n[3] * (t - n[0])
            tl = mechanism_tilted(self.mechanism, self.direction, t, hint)
            if fresh:
                _charge(tl.work)
            r = (t, tl.K, tl.K1, tl.K2, tl.Pt, tl.abs_err_K, tl.rel_err, tl.K3, tl.K4, tl.K5)
            if not (all(math.isfinite(x) for x in r[1:5]) and r[3] > 0.0 and r[4] > 0.0):
                r = None
            elif r[5] + r[6] * t * abs(r[2]) > _MAX_INPUT_LOG_ERR:
                # Past here the input errors alone (errK, and rel·t·K′ in tK′) exceed
                # e^{_MAX_INPUT_LOG_ERR}: no useful bound, and the Gaussian terms formed
                # from K − tK′ are noise that misleads the searches (issue 13: a Laplace
                # query walked to t ~ 1e16 and certified ε ≤ 0). The lattice ends here.
                r = None
            self.nodes[k] = r
        r = self.nodes[k]
        if r is None:
            raise _BadTilt(k)
        return r

    def coef(self, k, w, n):
        key = (k, w, n)
        c = self.coefs.get(key)
        if c is None:
            c = self.coefs[key] = _herm_coef(self.node(k), self.node(k + w), w, n)
        return c


def _herm_coef(a, b, w, n):
    return _ks.herm_coef(w * _H, a[0], np.array((a[1], a[2], a[3], a[7], a[8], a[9])),
                         b[0], np.array((b[1], b[2], b[3], b[7], b[8], b[9])), n)


def _cached(cache, key, make):
    """cache[key], built by make(*key) on a miss; the cache is emptied past 4096 entries."""
    hit = cache.get(key)
    if hit is None:
        if len(cache) > 4096:
            cache.clear()
        hit = cache[key] = make(*key)
    return hit


def _lattice_for(mechanism, direction):
    return _cached(_LATTICE_CACHE, (mechanism, direction), _StepLattice)


class _Curve:
    """Σ_i T_i·(K, K′, K″, P_t, …) of one direction, memoised in t; and the same on the
    tilt lattice with the surrogate between lattice tilts."""

    def __init__(self, schedule, direction):
        self.parts = [(m, s) for m, s in schedule.counts()]
        self.direction = direction
        self.memo = {}
        self.per_t = {}
        # sup of the composed loss, rounded UP: δ(ε) = 0 is claimed at ε ≥ hi and ε upper
        # bounds are clipped to it (Laplace(1e-6): 1/b rounds below the true 1e6·(1+4.5e-17))
        hi = math.fsum(s * float(loss_for(m, direction).hi_loss) for m, s in self.parts)
        if math.isfinite(hi):
            n = len(self.parts) + 2
            hi = min(hi + 4.0 * n * _U * (abs(hi) + n),
                     _exact.pure_epsilon(Schedule(tuple(self.parts))))
        self.hi = hi
        self.nodes = {}     # lattice index k → (t, K, K′, K″, ΣTP_t, errK, rel, K‴, K⁗, K^(5))
        self.nvals = {}     # k → (saddle ε, log δ_CLT, log err, log δ_MSD, F″) at t_k
        self.coefs = {}     # (k, w, n) → Hermite coefficients on [s_k, s_{k+w}]
        self.lats = [(_lattice_for(m, direction), float(s)) for m, s in self.parts]
        self.touched = set()
        # estimate kind → refined intervals (a, w) accepted before (a property of K, so
        # shared by every T of one mechanism)
        self.accepted = self.lats[0][0].accepted if len(self.lats) == 1 else {}
        self.start = _START_CACHE.get((tuple(m for m, _ in self.parts), direction), 0)

    def at(self, t):
        t = float(t)
        r = self.memo.get(t)
        if r is None:
            K = K1 = K2 = P = errK = K3 = K4 = K5 = 0.0
            rel = 0.0
            near = False
            tilts = []
            for i, (m, s) in enumerate(self.parts):
                tl = _TILT_CACHE.get((m, self.direction, t))
                if tl is None:
                    # centre hint: K′ extrapolated from the nearest evaluated tilt
                    if near is False:
                        near = self._nearest(t)
                    hint = (None if near is None or len(near) <= i
                            else near[i].K1 + near[i].K2 * (t - near[i].t))
                    tl = mechanism_tilted(m, self.direction, t, hint)
                tilts.append(tl)
                K += s * tl.K
                K1 += s * tl.K1
                K2 += s * tl.K2
                P += s * tl.Pt
                errK += s * tl.abs_err_K
                rel = max(rel, tl.rel_err)
                K3 += s * tl.K3
                K4 += s * tl.K4
                K5 += s * tl.K5
            r = (K, K1, K2, P, errK, rel, K3, K4, K5)
            # Stored only when complete, so a hint list always has one entry per part.
            self.per_t[t] = tilts
            self.memo[t] = r
        return r

    def _nearest(self, t):
        if not self.per_t:
            return None
        best = min(self.per_t, key=lambda u: abs(math.log(u / t)))
        return self.per_t[best] if abs(math.log(best / t)) < 0.5 else None

    def eps_of(self, t):
        """The ε for which t is the saddle point: K′(t) − 1/t − 1/(1+t)."""
        return self.at(t)[1] - 1.0 / t - 1.0 / (1.0 + t)

    # --- the tilt lattice t_k = 2^{k/M} (query-independent, so cached across queries) ---
    def node(self, k):
        """Composed (t, K, K′, K″, ΣT·P_t, errK, rel, K‴, K⁗, K^(5)) at the lattice tilt t_k."""
        r = self.nodes.get(k)
        if r is None:
            if len(self.lats) == 1:
                lat, T = self.lats[0]
                a = lat.node(k)
                r = (a[0], T * a[1], T * a[2], T * a[3], T * a[4], T * a[5], a[6],
                     T * a[7], T * a[8], T * a[9])
            else:
                acc = [0.0] * 10
                for lat, T in self.lats:
                    a = lat.node(k)
                    for i in (1, 2, 3, 4, 5, 7, 8, 9):
                        acc[i] += T * a[i]
                    acc[0] = a[0]
                    acc[6] = max(acc[6], a[6])
                r = tuple(acc)
            self.nodes[k] = r
        self.touched.add(k)
        return r

    def nval(self, k):
        """(saddle ε, log δ_CLT, log err, log δ_MSD, F″) at the lattice tilt t_k."""
        r = self.nvals.get(k)
        if r is None:
            r = self.nvals[k] = _ks.spa_node(*self.node(k)[:9])
        else:
            self.touched.add(k)
        return r

    def coef(self, k, w=1.0, n=5):
        """(Hermite coefficients on [s_k, s_{k+w}] from K..K^(5) at both ends, scale):
        one mechanism's per-step coefficients (shared by every T) times T, or the
        composed ones."""
        if len(self.lats) == 1:
            lat, T = self.lats[0]
            return lat.coef(k, w, n), T
        key = (k, w, n)
        c = self.coefs.get(key)
        if c is None:
            c = self.coefs[key] = _herm_coef(self.node(k), self.node(k + w), w, n)
        return c, 1.0

    def surrogate(self, k, u, w=1.0, n=5):
        """(t, K, K′, K″, K‴, K⁗) of the surrogate at s = s_k + u·w·h: an estimate only
        (used for t₀ and the SPA-CLT / SPA-MSD estimates, never for the bounds)."""
        c, scale = self.coef(k, w, n)
        return _ks.herm_eval(c, scale, k * _H, w * _H, u)

    def refined_root(self, what, g, a, target, value, scale_free=False):
        """Root of the decreasing g between lattice nodes a and a + 1 (g(a) > 0 ≥ g(a+1))
        on the Hermite surrogate; ``value(surrogate tuple)`` is the tuple of estimates
        read there. The surrogate with one derivative less (n = 4) estimates the error;
        where it disagrees by more than _SURR_TOL (a steep stretch of K′, e.g. where the
        tilted law moves to another mixture component) the interval is halved at a new
        node (query-independent, so cached), until the estimate changes by less than
        _SURR_STEP from one halving to the next (it then converges ~2⁴ per halving)."""
        w = 1.0
        ga, gb = g(a), g(a + 1)
        prev = None
        lat = self.lats[0][0] if len(self.lats) == 1 else None
        scale = self.lats[0][1] if lat is not None else 1.0
        # An interval accepted by an earlier query that holds this root too: start there
        # (its surrogate was good enough then); kept if n = 5 and n = 4 disagree no more
        # than 10× as much as when it was accepted.
        done = self.accepted.setdefault(what, [])
        reuse = None
        for a2, w2, d2 in done:
            if a <= a2 and a2 + w2 <= a + 1.0:
                try:
                    g2a = g(a2)
                    g2b = g(a2 + w2) if g2a > 0 else 0.0
                except _BadTilt:
                    continue
                if g2a > 0:
                    if not g2b > 0:
                        a, w, ga, gb, reuse = a2, w2, g2a, g2b, d2
                        break
        for _ in range(_REFINE):
            vals = []
            s0, h = a * _H, w * _H
            for n in (5, 4):
                c = lat.coef(a, w, n) if lat is not None else self.coef(a, w, n)[0]
                u = _ks.herm_root(what, c, scale, s0, h, target, ga, gb)
                vals.append(value(_ks.herm_eval(c, scale, s0, h, u)))
            best = vals[0]
            if any(x != x for x in best):
                # no usable surrogate value (far too coarse on a steep stretch): the
                # exact values at the node a stand in until the interval is refined
                best = value(self.surrogate(a, 0.0, w))
                vals = [best, (math.nan,) * len(best)]
            d = _gap(best, vals[1], scale_free)
            if reuse is not None and d <= 10.0 * max(reuse, _SURR_TOL):
                break
            reuse = None
            if d <= _SURR_TOL or (prev is not None
                                  and _gap(best, prev, scale_free) <= _SURR_STEP):
                if w < 1.0 and all(x[:2] != (a, w) for x in done):
                    done.append((a, w, d))
                    if len(done) > 16:
                        del done[0]
                break
            prev = best
            m = a + 0.5 * w
            try:
                gm = g(m)
            except _BadTilt:
                break
            if gm > 0:
                a, ga = m, gm
            else:
                gb = gm
            w *= 0.5
        return best


def _gap(x, y, scale_free=False):
    """Largest relative difference of the pairs (absolute for logs, whose differences
    are relative already); inf where a value is NaN."""
    out = 0.0
    for a, b in zip(x, y):
        if a != b:
            d = abs(a - b) if scale_free else abs(a - b) / max(abs(a), 1e-300)
            out = max(out, d) if d == d else math.inf
    return out


def spa_terms(eps: float, t: float, K: float, K1: float, K2: float, P: float, errK: float = 0.0,
              rel: float = 0.0, K3: float = 0.0, K4: float = 0.0, K5: float = 0.0,
              ) -> Tuple[float, float, float]:
    """(δ_CLT, error bound, δ_MSD) at ε using the tilt t and the composed K, K′, K″, ΣT·P_t.

    The error bound includes the propagated input errors: an absolute error errK in K moves
    δ by a factor e^{±errK}; relative errors ``rel`` in K″, P_t are covered by a factor 10.
    The formulas live once, in log space, in the kernels ``spa_log`` / ``spa_log_msd``.
    (K5 is accepted, and unused, so that ``spa_terms(ε, t, *curve.at(t))`` works.)
    """
    log_clt, log_err = _ks.spa_log(float(eps), float(t), float(K), float(K1), float(K2),
                                   float(P), float(errK), float(rel))
    log_msd = _ks.spa_log_msd(float(eps), float(t), float(K), float(K2), float(K3),
                              float(K4), log_clt)
    clt = math.exp(log_clt) if log_clt > -745 else 0.0
    err = math.exp(min(log_err, 700.0))
    msd = math.exp(min(log_msd, 700.0)) if log_msd > -745 else 0.0
    return clt, err, msd


def _newton_cross(g, slope, s, tol, s_max=30.0, floor=None):
    """Bracket [a, b] (in s = log t) of the point where the decreasing function g changes
    from > 0 to ≤ 0, with b − a ≤ tol: a first Newton step from the analytic ``slope``,
    then secant steps that overshoot the predicted root by tol/4 (so that both sides get
    sampled), and bisection whenever a step leaves the bracket. Returns (a, b); b is None
    when g > 0 up to s_max, a is None when g ≤ 0 down to s = −60 or at a point where
    ``floor(s)`` is True (left of it nothing is asked for, e.g. ε < 0)."""
    a = b = None
    prev = None
    left = 0.25
    for _ in range(100):
        gs = g(s)
        if gs > 0:
            a = s if a is None or s > a else a
        else:
            b = s if b is None or s < b else b
            if a is None and floor is not None and floor(s):
                return None, b
        if a is not None and b is not None and b - a <= tol:
            return a, b
        if not math.isfinite(gs):
            # δ_lower = 0 here: the crossing is a little to the left (small steps keep
            # the secant informative once finite values appear).
            step = -left if b is None or a is None else None
            left *= 2.0
            prev = None
        else:
            d = None
            if prev is not None and prev[1] != gs and math.isfinite(prev[1]):
                d = (gs - prev[1]) / (s - prev[0])
            if d is None or not d < 0:
                d = slope(s)
            step = -gs / d if d < 0 else (1.0 if gs > 0 else -1.0)
            step = max(-2.0, min(2.0, step))
            step += math.copysign(0.25 * tol, step)
            prev = (s, gs)
        if step is None:
            nxt = 0.5 * (a + b)
        else:
            nxt = s + step
        if a is not None and b is not None and not (a < nxt < b):
            nxt = 0.5 * (a + b)
        if nxt > s_max:
            if a is not None and a >= s_max:
                return a, None
            nxt = s_max
        if nxt < -60.0:
            if b is not None and b <= -60.0:
                return None, b
            nxt = -60.0
        s = nxt
    return a, b


def saddle_point(curve: _Curve, eps: float) -> float:
    """t₀ > 0 with K′(t₀) − 1/t₀ − 1/(1+t₀) = ε (Newton in log t on the increasing
    ε(t), whose derivative is t·F″(t) in s = log t)."""
    def g(s):
        return eps - curve.eps_of(math.exp(s))

    def slope(s):
        t = math.exp(s)
        return -t * (curve.at(t)[2] + 1.0 / t ** 2 + 1.0 / (1.0 + t) ** 2)

    a, b = _newton_cross(g, slope, 0.0, 1e-12, s_max=40.0)
    if a is None:
        return math.exp(b)
    if b is None:
        return math.exp(a)
    return math.exp(0.5 * (a + b))


def _delta_direction_exact(curve, eps):
    """(δ_CLT, lower, upper, δ_MSD, t₀, inputs-ok) of one direction at ε, at the exact
    saddle point (a fresh quadrature per tilt: the reference for the lattice version)."""
    if eps >= curve.hi:
        return 0.0, 0.0, 0.0, 0.0, math.inf, True
    t0 = saddle_point(curve, eps)
    clt, err, msd = spa_terms(eps, t0, *curve.at(t0))
    lo = max(0.0, clt - err)
    up = min(1.0, clt + err)
    ok = curve.at(t0)[5] <= _INPUT_REL_OK
    # The bound holds for every t > 0: a few tilts around t₀ can only tighten the
    # interval (and rescue it where the tilted law is far from normal, e.g. where K′
    # jumps between mixture components and t₀ sits on the jump).
    for f in _T_FACTORS:
        c_f, e_f, _ = spa_terms(eps, t0 * f, *curve.at(t0 * f))
        up = min(up, c_f + e_f)
        lo = max(lo, c_f - e_f)
        ok = ok and curve.at(t0 * f)[5] <= _INPUT_REL_OK
    return clt, lo, max(up, lo), msd, t0, ok


def _eps_direction_exact(curve, delta):
    """ε-interval and estimates of one direction at δ, searching along the saddle curve
    with a fresh quadrature per tilt (the reference for the lattice version).

    For a tilt t the saddle ε(t) = K′(t) − 1/t − 1/(1+t) is increasing in t. Upper:
    a point ε(t) with δ_upper ≤ δ just right of the crossing (every such ε bounds the true
    ε from above, since the true δ(ε) ≤ δ_upper(ε) and δ is non-increasing). Lower: a
    point with δ_lower > δ just left of the crossing (then the true ε exceeds it).
    Both are checked at the returned points, so search errors cannot break validity.
    """
    log_d = math.log(delta)

    def vals(s):
        t = math.exp(s)
        r = curve.at(t)
        clt, err, msd = spa_terms(curve.eps_of(t), t, *r)
        return curve.eps_of(t), clt, err, msd

    def slope(s):
        # d log δ/ds ≈ −t·dε/ds = −t²·F″(t) along the saddle curve.
        t = math.exp(s)
        return -t * t * (curve.at(t)[2] + 1.0 / t ** 2 + 1.0 / (1.0 + t) ** 2)

    def g_of(fn):
        def g(s):
            v = fn(vals(s))
            return math.log(v) - log_d if v > 0 else -math.inf
        return g

    tol = 1e-9
    bounded = math.isfinite(curve.hi)
    out = {}
    s_start = 0.0
    fns = (("clt", lambda v: v[1]), ("upper", lambda v: min(1.0, v[1] + v[2])),
           ("lower", lambda v: max(0.0, v[1] - v[2])), ("msd", lambda v: v[3]))
    guess = {}
    for name, fn in fns:
        a, b = _newton_cross(g_of(fn), slope, guess.get(name, s_start), tol,
                             floor=lambda s: curve.eps_of(math.exp(s)) <= 0.0)
        if name == "clt" and a is not None and b is not None:
            # The other curves differ from SPA-CLT by slowly varying factors: one Newton
            # step from the CLT crossing with the known factor starts each search close.
            s_start = 0.5 * (a + b)
            e, clt, err, msd = vals(s_start)
            d = slope(s_start)
            for nm, f in fns[1:]:
                v = f((e, clt, err, msd))
                if v > 0 and clt > 0 and d < 0:
                    guess[nm] = s_start - math.log(v / clt) / d
        if b is None and name == "lower":
            # δ_lower > δ at every tilt tried: the last point checked is the proven bound
            val = vals(a)[0] if a is not None else 0.0
        elif b is None:        # δ-value stays above δ: up to the supremum of the loss
            val = curve.hi if bounded else math.inf
        elif a is None:        # below δ already at the smallest ε
            val = 0.0
        elif name == "upper":
            val = vals(b)[0]
        elif name == "lower":
            val = vals(a)[0]
        else:
            val = 0.5 * (vals(a)[0] + vals(b)[0])
        out[name] = max(val, 0.0)
    upper = min(out["upper"], curve.hi) if bounded else out["upper"]
    lower = min(out["lower"], upper)
    ok = all(v[5] <= _INPUT_REL_OK for v in curve.memo.values())
    return out["msd"], out["clt"], lower, upper, ok


# ----------------------------------------------------------------------------------------
# Lattice version (what queries use): bounds at lattice tilts, estimates on the surrogate
# ----------------------------------------------------------------------------------------
def _lattice_cross(g, slope, k, floor=None):
    """Adjacent lattice indices (a, a + 1) with g(a) > 0 ≥ g(a + 1) for g decreasing in k:
    Newton steps in s = log t from the analytic ``slope`` (dg/ds), rounded to the lattice
    (at least one node), bisection once bracketed. (None, b) when g ≤ 0 at the lowest
    index or where ``floor(k)`` holds; (a, None) when g > 0 up to the top index."""
    a = b = None
    left = 1
    kmin, kmax = _KMIN, _KMAX
    for _ in range(400):
        try:
            gk = g(k)
        except _BadTilt:
            # out of the quadrature's reach: the lattice ends before k
            if a is not None and k > a or (a is None and b is None and k > 0):
                kmax = k - 1
                if a is not None and a >= kmax:
                    return a, None
                k = kmax if a is None else (a + kmax + 1) // 2
            else:
                kmin = k + 1
                if b is not None and b <= kmin:
                    return None, b
                k = kmin if b is None else (kmin + b) // 2
            continue
        if gk > 0:
            a = k if a is None or k > a else a
        else:
            b = k if b is None or k < b else b
            if a is None and floor is not None and floor(k):
                return None, b
        if a is not None and b is not None and b - a <= 1:
            return a, b
        if not math.isfinite(gk):
            step = -left if gk < 0 else left
            left *= 2
        else:
            d = slope(k)
            x = -gk / d / _H if d < 0 else (2.0 / _H if gk > 0 else -2.0 / _H)
            x = max(-2.0 / _H, min(2.0 / _H, x))
            step = int(round(x))
            if step == 0:
                step = 1 if gk > 0 else -1
        nxt = k + step
        if a is not None and b is not None and not a < nxt < b:
            nxt = (a + b) // 2
        if nxt > kmax:
            if a is not None and a >= kmax:
                return a, None
            nxt = kmax
        if nxt < kmin:
            if b is not None and b <= kmin:
                return None, b
            nxt = kmin
        k = nxt
    return a, b


def _walk(f, k0, tol, lo_flat=None, levels=_PATTERN):
    """max over tilts near lattice index k0 of f (a bound as a function of the tilt; any
    tilt gives a valid bound, so this only decides how tight it is).

    Steps to the better lattice neighbour while it improves; where f equals ``lo_flat``
    (nothing found) at k0 and both neighbours, jumps towards smaller tilts (2, 4, … 32
    nodes). Then, while a parabola through the best node and its neighbours at distance w
    predicts a gain above tol(best value), halves w and tries the half-way tilts
    (steep stretches of K′ where the best tilt sits between lattice nodes; such nodes
    are query-independent and cached too): _PATTERN times, then (up to ``levels``) while
    the prediction exceeds 100·tol. Returns (index, value)."""
    vals = {}

    def v(k):
        r = vals.get(k)
        if r is None:
            try:
                r = f(k) if _KMIN <= k <= _KMAX else -math.inf
            except _BadTilt:
                r = -math.inf
            vals[k] = r
        return r

    best = k0
    d = 0
    if v(k0 + 1) > v(k0):
        d = 1
    elif v(k0 - 1) > v(k0):
        d = -1
    elif lo_flat is not None and v(k0) == lo_flat:
        for j in (2, 4, 8, 16, 32):
            if v(k0 - j) != lo_flat:
                best = k0 - j
                d = 1 if v(best + 1) > v(best) else (-1 if v(best - 1) > v(best) else 0)
                break
        else:
            return k0, v(k0)
    if d:
        for _ in range(_WALK):
            if v(best + d) > v(best):
                best += d
            else:
                break
    fc = v(best)
    if fc == lo_flat or not math.isfinite(fc):
        return best, fc
    w = 1.0
    for level in range(levels):
        fl, fc, fr = v(best - w), v(best), v(best + w)
        curv = fl - 2.0 * fc + fr
        if math.isfinite(fl) and math.isfinite(fr) and curv < 0.0:
            gain = (fr - fl) ** 2 / (-8.0 * curv)
        else:
            gain = math.inf
        # beyond _PATTERN levels only while the predicted gain is large (a narrow best tilt)
        if gain <= tol(fc) or (level >= _PATTERN and gain <= 100.0 * tol(fc)):
            break
        w *= 0.5
        cand = best - w if v(best - w) > v(best + w) else best + w
        if v(cand) > fc:
            best = cand
    return best, v(best)


def _curve_for(schedule, direction):
    c = _cached(_CURVE_CACHE, (schedule, direction), _Curve)
    c.touched = set()
    return c


def _prefill(curve, k):
    """After the first query of a mechanism, the lattice tilts within _PREFILL nodes of
    its saddle point, so that later queries with other T or δ (whose saddle points move
    by a fraction of an octave) find their quadratures cached."""
    if k is None:
        return
    # Filling the cache does not change this query's result: running out of budget here
    # is not reported.
    spent = getattr(_STATE, "exhausted", False)
    try:
        for lat, _ in curve.lats:
            if lat.prefilled:
                continue
            lat.prefilled = True
            for j in range(1, _PREFILL + 1):
                for kk in (k + j, k - j):
                    try:
                        lat.node(kk)
                    except _OutOfBudget:
                        return
                    except _BadTilt:
                        pass
    finally:
        _STATE.exhausted = spent


def _remember_start(curve, k):
    if k is not None:
        curve.start = k
        _START_CACHE[(tuple(m for m, _ in curve.parts), curve.direction)] = k


def _delta_direction(curve, eps):
    """(δ_CLT, lower, upper, δ_MSD, t₀, inputs-ok) of one direction at ε.

    Bounds: min of δ_CLT + err and max of δ_CLT − err over the lattice tilts around the
    saddle point (each is rigorous, whatever the tilt). t₀, δ_CLT and δ_MSD: on the
    Hermite surrogate of K between the two lattice tilts around t₀ (estimates).
    """
    if eps >= curve.hi:
        return 0.0, 0.0, 0.0, 0.0, math.inf, True

    def g(k):
        return eps - curve.nval(k)[0]

    def slope(k):
        return -_lat_t(k) * curve.nval(k)[4]

    ka, kb = _lattice_cross(g, slope, curve.start)
    if ka is None and kb is None:
        raise _BadTilt()    # no tilt of the lattice could be evaluated
    if ka is not None and kb is not None:
        _remember_start(curve, ka)

    def at_t0(sv):
        t0, K, K1, K2, K3, K4 = sv
        lc, _ = _ks.spa_log(eps, t0, K, K1, K2, 1.0, 0.0, 0.0)
        return lc, _ks.spa_log_msd(eps, t0, K, K2, K3, K4, lc), math.log(t0)

    if ka is None or kb is None:
        k0 = kb if ka is None else ka
        n = curve.node(k0)
        lc, lm, s0 = at_t0((n[0], n[1], n[2], n[3], n[7], n[8]))
    else:
        k0 = ka
        # logs: the tolerances are on relative δ (and relative t₀)
        lc, lm, s0 = curve.refined_root(0, g, ka, eps, at_t0, scale_free=True)
    t0 = math.exp(min(s0, 700.0))
    # δ_CLT is only an estimate (clipped to the bounds by the caller); e^700 stands for
    # "far above 1" without overflowing
    clt = math.exp(min(lc, 700.0)) if lc > -745.0 else 0.0
    msd = math.exp(min(lm, 700.0)) if lm > -745.0 else 0.0
    if getattr(_STATE, "exhausted", False):
        msd = clt = math.nan     # as in _eps_direction: no estimate from a cut search

    logs = {}

    def at_k(k):   # (log δ_CLT, log err) at ε, tilt t_k
        r = logs.get(k)
        if r is None:
            n = curve.node(k)
            r = logs[k] = _ks.spa_log(eps, n[0], n[1], n[2], n[3], n[4], n[5], n[6])
        return r

    def up(k):   # −log δ_upper at tilt t_k
        lc_k, le_k = at_k(k)
        return -_log_add(lc_k, le_k)

    def lo(k):   # log δ_lower at tilt t_k
        lc_k, le_k = at_k(k)
        return lc_k + math.log(-math.expm1(le_k - lc_k)) if le_k < lc_k else -math.inf

    def tol(v):
        return _BOUND_RTOL

    # δ bounds can sit in a narrow tilt window (far tails past a component switch): the
    # deeper search costs nothing here once nodes are cached (no crossing solve per tilt).
    _, v_up = _walk(up, k0, tol, levels=_PATTERN_MAX)
    _, v_lo = _walk(lo, k0, tol, lo_flat=-math.inf, levels=_PATTERN_MAX)
    upper = min(1.0, math.exp(min(-v_up, 0.0)))
    lower = math.exp(v_lo) if v_lo > -745.0 else 0.0
    ok = all(curve.nodes[k][6] <= _INPUT_REL_OK for k in curve.touched)
    _prefill(curve, k0)
    # not max(upper, lower): crossing bounds are a symptom the caller reports
    return clt, lower, upper, msd, t0, ok


def _log_add(a, b):
    if a < b:
        a, b = b, a
    return a if b == -math.inf else a + math.log1p(math.exp(b - a))


def _eps_direction(curve, delta):
    """ε-interval and estimates of one direction at δ.

    Upper: for each lattice tilt t_k the smallest ε with δ_CLT + err ≤ δ at that FIXED
    tilt (a closed form in ε: no quadrature); the minimum over the tilts around the
    saddle point is reported. Lower: likewise the largest ε with δ_CLT − err > δ, maximum
    over tilts. Both are evaluated at the returned points, so search errors cannot break
    validity. Estimates (SPA-CLT, SPA-MSD along the saddle curve ε(t) = K′(t) − 1/t −
    1/(1+t)) are read on the Hermite surrogate between the lattice tilts around t₀.
    """
    log_d = math.log(delta)
    bounded = math.isfinite(curve.hi)
    top = curve.hi if bounded else math.inf

    def g_clt(k):
        return curve.nval(k)[1] - log_d

    def g_msd(k):
        return curve.nval(k)[3] - log_d

    def slope(k):
        # d log δ/ds ≈ −t·dε/ds = −t²·F″(t) along the saddle curve
        t = _lat_t(k)
        return -t * t * curve.nval(k)[4]

    def floor(k):
        return curve.nval(k)[0] <= 0.0

    def saddle_eps(sv):
        t, K1 = sv[0], sv[2]
        return (K1 - 1.0 / t - 1.0 / (1.0 + t),)

    def estimate(what, g, k_start):
        a, b = _lattice_cross(g, slope, k_start, floor=floor)
        if a is None:
            return 0.0, b, False
        if b is None:
            return top, a, False
        e = curve.refined_root(what, g, a, log_d, saddle_eps)[0]
        return max(e, 0.0), a, True

    clt, kc, crossed = estimate(1, g_clt, curve.start)
    if kc is None:
        raise _BadTilt()    # no tilt of the lattice could be evaluated
    if crossed:
        # only a real crossing is a good start for other T and δ: an end of the lattice
        # (no crossing at this T) would send them to the wrong octaves
        _remember_start(curve, kc)
    msd, _, _ = estimate(2, g_msd, kc)
    if getattr(_STATE, "exhausted", False):
        # the searches stopped at the evaluated tilts: a crossing "found" there is an
        # artefact, not an estimate (the caller reports the upper bound instead)
        msd = clt = math.nan

    xtol = 1e-10
    bnd = {}

    def bounds(k):   # (ε upper, ε lower) at the fixed tilt t_k
        r = bnd.get(k)
        if r is None:
            n = curve.node(k)
            r = bnd[k] = _ks.spa_eps_bounds(n[0], n[1], n[2], n[3], n[4], n[5], n[6],
                                            log_d, xtol)
        return r

    def tol(v):
        return _BOUND_RTOL * abs(v)

    _, v_up = _walk(lambda k: -bounds(k)[0], kc, tol)
    _, v_lo = _walk(lambda k: bounds(k)[1], kc, tol, lo_flat=-1.0)
    upper = min(-v_up, top)
    # not clipped to the upper bound: crossing bounds are a symptom the caller reports
    lower = max(v_lo, 0.0)
    ok = all(curve.nodes[k][6] <= _INPUT_REL_OK for k in curve.touched)
    _prefill(curve, kc)
    return msd, clt, lower, upper, ok


def _consistent(d, lower, upper, ok, untrusted):
    """(lower, ok) of one direction after checking lower ≤ upper.

    Both are proven bounds on the same number, so a lower bound above the upper one
    (by more than 1e-9 relative; the crossings are solved to 1e-10) proves that an error
    escaped the error bound: the lower bound is replaced by 0 (always valid) and the
    direction is not certified; the caller warns. Within the tolerance they meet."""
    if lower <= upper:
        return lower, ok
    if lower <= upper * (1.0 + 1e-9) + 1e-300:
        return upper, ok
    untrusted.append(f"{d}: lower bound {lower:.17g} > upper bound {upper:.17g}")
    return 0.0, False


def _pick_estimate(msd, clt, lower, upper, log_scale=None):
    """(estimate, reliable, gap) of one direction from its SPA-MSD and SPA-CLT values and
    its certified interval (docs/math.md §6.7).

    Reliable when SPA-MSD lies in [lower, upper] and differs from SPA-CLT by at most
    _EST_GAP_EPS relative (δ values, with ``log_scale`` = 1/(t₀ε): their log difference
    times it, the ε-equivalent gap): the difference is the second-order correction of
    the expansion, small wherever it converges. Else the estimate is SPA-MSD if it lies
    inside the interval, SPA-CLT (the leading term) if MSD lies outside, CLT inside and
    the gap at most _CLT_FALLBACK_GAP (measured closer to
    the truth in those cases: σ = 2, q = 0.01, δ = 1e-15, T = 1000/1500), and otherwise
    the interval end nearest to MSD; the caller warns."""
    inside_m = lower <= msd <= upper
    inside_c = lower <= clt <= upper
    if log_scale is not None:
        gap = (abs(math.log(msd) - math.log(clt)) * log_scale if msd > 0.0 and clt > 0.0
               else (0.0 if msd == clt else math.inf))
    else:
        big = max(abs(msd), abs(clt))
        gap = abs(msd - clt) / big if big > 0.0 else 0.0
    if not gap == gap:
        gap = math.inf
    # δ only: MSD = 0 means its correction factor was ≤ 0 (a correction of ≥ 100 %, the
    # expansion broken outright): the leading term is all that is left
    broken = log_scale is not None and msd <= 0.0 < clt
    if inside_m and not broken and gap <= _EST_GAP_EPS:
        return msd, True, gap
    if inside_m and not broken:
        return msd, False, gap
    if inside_c and (gap <= _CLT_FALLBACK_GAP or broken):
        return clt, False, gap
    return min(max(msd, lower), upper), False, gap


def _unreliable_warning(items, quantity):
    """The "estimate_unreliable" warning text for [(direction, msd, clt, gap, kind)]."""
    parts = "; ".join(f"{d}: SPA-MSD {m:.6g}, SPA-CLT {c:.6g}, gap {g:.2g}, reported {k}"
                      for d, m, c, g, k in items)
    tol = (f"{_EST_GAP_EPS:g} relative" if quantity == "epsilon"
           else f"{_EST_GAP_EPS:g} (log-delta gap / (t0*epsilon))")
    return ("estimate_unreliable: the saddle-point expansion has not converged here ("
            + parts + f"; reliable needs SPA-MSD inside the certified interval and a gap "
            f"<= {tol}): the tilted privacy loss is far from normal at the saddle point "
            "(few effective steps, or delta so small that the tilt reaches another mixture "
            "component), so the estimate may be off by far more than 0.1 %; the certified "
            "[lower, upper] still holds: use method='pld' for a tight value")


def check_options(work_budget: Optional[float] = None, **options) -> float:
    """The work budget (default _WORK_BUDGET); ValueError naming a bad option."""
    if options:
        raise ValueError(f"unknown option(s) for method 'saddlepoint': {', '.join(sorted(options))}")
    budget = _WORK_BUDGET if work_budget is None else work_budget
    if isinstance(budget, bool) or not isinstance(budget, (int, float)) or not (
            0 < budget < math.inf):
        raise ValueError(f"work_budget must be a number in (0, inf), got {work_budget!r}")
    return float(budget)


@register("saddlepoint", options=check_options)
def compute(schedule: Schedule, *, delta: Optional[float] = None, epsilon: Optional[float] = None,
            work_budget: Optional[float] = None, **options) -> Result:
    """ε(δ) or δ(ε) by the saddle-point method with its rigorous error bound.

    Parameters
    ----------
    work_budget : quadrature work one query may spend, in work units (15-point panel
        evaluations × (mixture components + 20), ~0.13 µs each; default 2e7, ~3 s).
        Past it the tilt searches stop at the tilts already evaluated and the (valid,
        possibly wide) interval carries the warning "budget_exhausted".

    Returns
    -------
    Result: ``estimate`` = SPA-MSD value (SPA-CLT or an interval end where MSD falls
    outside the interval, always with the warning "estimate_unreliable";
    docs/math.md §6.7), ``details["clt"]`` = SPA-CLT value, ``details["estimate_reliable"]``,
    ``lower``/``upper`` the certified interval from the error bound; ``certified`` is True
    when that interval is not vacuous and the quadrature inputs are accurate.
    """
    budget = check_options(work_budget, **options)
    dirs = directions_of(schedule)
    details = {"directions": {}, "theorem": "Alghamdi et al. 2023 (arXiv 2208.09595), SPA-CLT "
               "error bound with the Berry-Esseen constant 0.56 (non-identical steps)"}
    warn = []
    ok_all = True
    left = [budget]
    exhausted = []
    untrusted = []
    no_estimate = []
    unreachable = []
    shaky = []          # directions whose estimate is unreliable (see _pick_estimate)

    def start(i, d):
        # each direction may use what the earlier ones left, shared with the later ones
        _STATE.left = share = max(left[0], 0.0) / (len(dirs) - i)
        _STATE.exhausted = False
        left[0] -= share
        return _curve_for(schedule, d)

    def finish(d):
        left[0] += max(_STATE.left, 0.0)
        if getattr(_STATE, "exhausted", False):
            exhausted.append(d)

    try:
        if epsilon is not None:
            eps = float(epsilon)
            est = clt_v = lo = up = 0.0
            for i, d in enumerate(dirs):
                curve = start(i, d)
                try:
                    clt, lo_d, up_d, msd, t0, ok = _delta_direction(curve, eps)
                except _BadTilt:      # nothing reliable: the vacuous interval, not certified
                    clt, lo_d, up_d, msd, t0, ok = 1.0, 0.0, 1.0, 1.0, None, False
                    unreachable.append(d)
                finish(d)
                up_d = min(up_d, 1.0)       # δ ≤ 1: the trivially valid upper bound
                # δ ≤ 1 always: a lower bound above 1 (or above the upper bound) proves
                # that some input or rounding error escaped the error bound here
                lo_d, ok = _consistent(d, lo_d, up_d, ok, untrusted)
                if not (msd == msd and clt == clt):
                    no_estimate.append(d)
                    msd = clt = up_d        # no estimate: the upper bound stands in
                    msd_c, good, gap = up_d, True, 0.0
                else:
                    msd_c, good, gap = _pick_estimate(
                        msd, clt, lo_d, up_d,
                        1.0 / (t0 * eps) if t0 is not None and 0.0 < t0 * eps < math.inf
                        else 1.0)
                details["directions"][d] = {"t0": t0, "clt": clt, "msd": msd, "lower": lo_d,
                                            "upper": up_d, "estimate": msd_c,
                                            "estimate_reliable": good, "gap": gap}
                if not good:
                    shaky.append((d, msd, clt, gap, "SPA-MSD" if msd_c == msd else
                                  ("SPA-CLT" if msd_c == clt else "interval end"), up_d))
                est, clt_v = max(est, msd_c), max(clt_v, clt)
                lo, up = max(lo, lo_d), max(up, up_d)
                ok_all = ok_all and ok
            details["clt"] = clt_v
            quantity, at = "delta", eps
            vacuous = lo <= 0.0 and up >= 1.0
        else:
            est = clt_v = lo = up = 0.0
            for i, d in enumerate(dirs):
                curve = start(i, d)
                try:
                    msd, clt, lo_d, up_d, ok = _eps_direction(curve, delta)
                except _BadTilt:      # nothing reliable: the vacuous interval, not certified
                    top = curve.hi if math.isfinite(curve.hi) else math.inf
                    msd, clt, lo_d, up_d, ok = top, top, 0.0, top, False
                    unreachable.append(d)
                finish(d)
                lo_d, ok = _consistent(d, lo_d, up_d, ok, untrusted)
                if not (msd == msd and clt == clt):
                    no_estimate.append(d)
                    msd = clt = up_d        # no estimate: the upper bound stands in
                    msd_c, good, gap = up_d, True, 0.0
                else:
                    msd_c, good, gap = _pick_estimate(msd, clt, lo_d, up_d)
                details["directions"][d] = {"msd": msd, "clt": clt, "lower": lo_d,
                                            "upper": up_d, "estimate": msd_c,
                                            "estimate_reliable": good, "gap": gap}
                if not good:
                    shaky.append((d, msd, clt, gap, "SPA-MSD" if msd_c == msd else
                                  ("SPA-CLT" if msd_c == clt else "interval end"), up_d))
                est, clt_v = max(est, msd_c), max(clt_v, clt)
                lo, up = max(lo, lo_d), max(up, up_d)
                ok_all = ok_all and ok
            details["clt"] = clt_v
            quantity, at = "epsilon", delta
            vacuous = lo <= 0.0 and not math.isfinite(up)
            if not math.isfinite(est):
                est = up if math.isfinite(up) else est
    finally:
        _STATE.left = None
        _STATE.exhausted = False
    # what the query cost (callers that run many queries, e.g. calibration, budget it)
    details["work_spent"] = float(budget - max(left[0], 0.0))
    if vacuous:
        warn.append("vacuous_interval")
    if not ok_all:
        warn.append("inaccurate_inputs")
    if exhausted:
        warn.append(f"budget_exhausted: the tilt search of the {'/'.join(exhausted)} "
                    f"direction stopped when its share of the work budget ({budget:g} units) "
                    "was spent (each tilt of this mechanism needs a slow quadrature); the "
                    "interval holds but may be wide (option work_budget=...)")
    unreachable = [d for d in unreachable if d not in exhausted]
    if unreachable:
        warn.append(f"out_of_reach: no tilt of the {'/'.join(unreachable)} direction could be "
                    "evaluated (the tilted law is beyond the quadrature: too many mixture "
                    "components for its panels, or tilts past the lattice); that direction "
                    "is the trivial interval: use method='pld' or 'rdp'")
    if untrusted:
        warn.append("lower_bound_untrusted: " + "; ".join(untrusted)
                    + " (lowered to 0, not certified)")
    if no_estimate:
        warn.append(f"no_estimate: the {'/'.join(no_estimate)} direction has no saddle-point "
                    "estimate; its upper bound is reported instead")
    certified = bool(ok_all and not vacuous and math.isfinite(up))
    if certified:
        # A certified upper bound can never be below the proven one-step lower bound
        # (docs/math.md §9; _exact.composed_lower_*): where the SPA bound says otherwise (seen
        # for Laplace at few steps) it is not trusted, and the result is no certificate.
        floor = (_exact.composed_lower_epsilon(schedule, delta) if quantity == "epsilon"
                 else _exact.composed_lower_delta(schedule, epsilon))
        if up < floor:
            warn.append(f"upper_below_proven_lower: the saddle-point upper bound {up:.6g} is "
                        f"below the proven one-step lower bound {floor:.6g}; not certified: "
                        "use method='pld'")
            certified, lo, up = False, float(floor), math.inf
            est = max(est, floor) if math.isfinite(est) else floor
        elif floor > lo:
            lo = float(floor)
            if est < lo:
                # an estimate below a proven lower bound is wrong, not just imprecise
                shaky.append(("one-step floor", est, est, math.inf, "proven lower bound",
                              math.inf))
            est = min(max(est, lo), up)
    # A direction's unreliable estimate matters when that direction can be the larger one
    # (its upper bound reaches the reported estimate); otherwise the max is another's.
    shaky = [x[:5] for x in shaky if x[5] >= est]
    if shaky:
        warn.append(_unreliable_warning(shaky, quantity))
    details["estimate_reliable"] = not shaky
    if not math.isfinite(est):
        est = math.inf
    return Result(quantity, at, float(est), float(lo), float(up), certified, "saddlepoint",
                  warnings=tuple(warn), details=details)
