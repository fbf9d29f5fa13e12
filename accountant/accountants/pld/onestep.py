"""One step of the PLD accountant: a mechanism's upper and lower PMFs on the grid
ε_i = i·h (docs/math.md §4.1, §4.2), built from what its privacy loss answers
(``pld_support``, ``pld_cells``), cached, and charged to the query's work budget. The
proofs of both constructions are in :mod:`accountant.accountants.pld.bracket`.
"""
from __future__ import annotations

import contextvars
import math
from collections import OrderedDict

import numpy as np

from . import _kernels as _kp

_MAX_ONE_STEP = 4_000_000  # grid points of one step's PLD
# Work of the one-step discretisations, in kernel evaluations (grid points × mixture
# components): per step and per query. A Gaussian step is 3 per point; ELS with k = 256 is
# 258, ~35 ns each on one core, so one step is capped near 3 s and a query near 15 s
# (fuzzing: an ELS k = 256 step at q = 1.8e-5 in a schedule that needs h = 1e-4 built a
# 1.4M-point, 12 s one-step grid per refinement and ran 30 s per query). Past the query
# budget the refinement keeps the brackets it has, each certified, and says so.
_MAX_ONE_STEP_WORK = 100_000_000
_CACHE: "OrderedDict" = OrderedDict()
_CACHE_SIZE = 256
# … and at most this many bytes of PMFs: grids at tails of 1e-30/T hold ~10⁶ points, and
# 256 of them (60 distinct σ at q = 1e-6, δ(ε = 1e-3)) took the process to 8.6 GB
_CACHE_BYTES = 1 << 28


class _OneStep:
    """One mechanism, one direction, one grid step: upper and lower PLDs as log Q-masses."""

    __slots__ = ("i0", "logw_up", "logw_lo", "w_inf", "log_w_inf", "lower_ok", "h",
                 "log_reveal_lo", "_cut_src", "_cut")

    def __init__(self, i0, pi_up, pi_lo, log_w_inf, lower_ok, h, log_reveal_lo=-math.inf,
                 cut=None):
        ell = (i0 + np.arange(pi_up.shape[0])) * h
        with np.errstate(divide="ignore"):
            self.logw_up = np.log(pi_up) + ell
            self.logw_lo = np.log(pi_lo) + ell
        # ``cut``: how to build, when first asked, the lower PMF of the step's measure
        # restricted to losses ≤ ε_c (a sub-measure, docs/math.md §4.9), which only merged
        # mixtures use (§4.10): a function returning (P-masses, ε_c) or None
        self._cut_src = cut
        self._cut = None
        # A public-coin revealing part m of the lower pair (PldCells.log_reveal): the
        # finite lower PMF is the rest, scaled by 1 − m; m itself is composed as a mass
        # at +∞ of the lower side (docs/math.md §10.1).
        self.log_reveal_lo = float(log_reveal_lo) if lower_ok else -math.inf
        if self.log_reveal_lo > -math.inf:
            self.logw_lo = self.logw_lo + math.log1p(-math.exp(self.log_reveal_lo))
        self.i0 = int(i0)
        # (a logarithm: the Q-mass at +∞ of one step can be below the smallest double and
        # still matter once multiplied by T = 1e7 at δ = 5e-324)
        self.log_w_inf = float(log_w_inf)
        self.w_inf = math.exp(self.log_w_inf)
        self.lower_ok = bool(lower_ok)
        self.h = h

    def _restricted(self):
        if self._cut is None:
            made = self._cut_src() if self._cut_src is not None else None
            if made is None:
                self._cut = (None, None)
            else:
                pi, loss = made
                ell = (self.i0 + np.arange(pi.shape[0])) * self.h
                with np.errstate(divide="ignore"):
                    self._cut = (np.log(pi) + ell, float(loss))
            self._cut_src = None
        return self._cut

    @property
    def logw_lo_cut(self):
        """log Q-masses of the lower PMF restricted to losses ≤ :attr:`cut_loss` (None when
        the step has none)."""
        return self._restricted()[0]

    @property
    def cut_loss(self):
        return self._restricted()[1]


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
    cuts = not sup.whole and getattr(pl, "pld_cells_split", False)
    lt_cut = tau_hi + _CUT_TAU
    if cuts and npts > _SPLIT_MIN:
        split = _split_points(pl, i0, i1, h, min(_SPLIT_TAIL_LOG, tau_hi + _SPLIT_TAU))
        one = _build_split(pl, h, *split, lower_ok, sup.cost, lt_cut) if split else None
        if one is not None:
            return one
    _charge(npts, sup.cost)
    up, lo = pl.pld_cells(i0, h, npts)
    e0 = i0 * h
    pi_up, pi_lo, ok = _kp.profiles(up.a, up.b, e0, h, up.Fb, up.Qb, up.r0, up.Pt, up.dtop)
    if lo is not up:
        _, pi_lo, ok = _kp.profiles(lo.a, lo.b, e0, h, lo.Fb, lo.Qb, lo.r0, lo.Pt, lo.dtop)
    cut = None
    if cuts and lower_ok and ok and lo.log_reveal == -math.inf:
        def cut():
            c = _cut_index(pl, h, max(i0 + 1, 0), i1, 1, lt_cut)
            k = c - i0
            tot = lo.Fb + float(lo.a[:k].sum() + lo.b[:k].sum())
            _, pc, okc = _kp.profiles(lo.a[:k], lo.b[:k], e0, h, lo.Fb, lo.Qb, lo.r0, 0.0,
                                      0.0, -tot)
            return (np.concatenate((pc, np.zeros(npts - pc.shape[0]))), c * h) if okc \
                else None
    if not (lower_ok and ok):
        pi_lo, ok = _identity_lower(i0, pi_lo.shape[0])
        cut = None
    # (the identity is dominated by the rest of the pair too: a revealing coin still
    # applies beside it, docs/math.md §10.1)
    return _OneStep(i0, pi_up, pi_lo, up.log_w_inf, ok, h, lo.log_reveal, cut=cut)


# The lower PMF of the step restricted to losses ≤ ε_c, for merged mixtures (see
# docs/math.md §4.10): ε_c is the first grid point whose Q-tail above is ≤ 10·τ (τ the
# tail the grid's top leaves out), so that what the restriction drops, over all steps, is
# ≤ 1e-4·δ.
_CUT_TAU = math.log(10.0)


def _cut_index(pl, h, lo, hi, stride, lt):
    """The smallest index i = lo + k·stride ≤ hi with log Q[L > i·h] ≤ lt (hi if none)."""
    def small(i):
        return float(pl.log_sf(i * h, under="Q")) <= lt
    a, b = 0, (hi - lo) // stride
    if not small(lo + b * stride):
        return lo + b * stride
    while b - a > 1:
        mid = (a + b) // 2
        if small(lo + mid * stride):
            b = mid
        else:
            a = mid
    return lo + (a if small(lo + a * stride) else b) * stride


# A one-step grid is fine (step h) where the mass is and coarse (step _SPLIT·h, points of the
# same lattice) in tails holding little P-mass (docs/math.md §4.9): a subsampled
# Gaussian at q = 1e-3 spans [−0.001, 6.5] with 1e-4 of its mass above 0.05, and building
# its 6.5·10⁵ cells at h = 1e-5 was most of a query's time.
_SPLIT = 16
_SPLIT_TAIL_LOG = math.log(1e-10)
_SPLIT_TAU = math.log(1e4)      # and ≤ 1e4 × the Q-tail the grid's top leaves out
_SPLIT_MIN = 64 * _SPLIT


def _split_points(pl, i0, i1, h, lt):
    """(i0′, iL, iR, i1′): grid indices, all multiples of _SPLIT, with i0′ ≤ i0, i1′ ≥ i1,
    the coarse tails [i0′, iL] and [iR, i1′] (P-mass ≤ 1e-10 and ≤ e^lt) and the fine middle
    [iL, iR]; None when neither tail is worth splitting off. The threshold follows the
    query's tail: at δ = 1e-63 the answer lies where a 1e-10 tail would be coarse (the
    lowered chords lost 0.01 of ε there)."""
    m = _SPLIT
    a, b = (i0 // m) * m, -(-i1 // m) * m

    def sf(i):
        return float(pl.log_sf(i * h, under="P"))
    # right: the smallest multiple of m whose P-tail above is ≤ e^lt
    lo_, hi_ = a // m, b // m
    if sf(hi_ * m) > lt:
        iR = b
    else:
        while hi_ - lo_ > 1:
            mid = (lo_ + hi_) // 2
            if sf(mid * m) <= lt:
                hi_ = mid
            else:
                lo_ = mid
        iR = hi_ * m
    # left: the largest multiple of m whose P-mass at or below is ≤ 1e-10 (a tilt λ > 0
    # weighs low losses down, so this side need not follow the query's tail)
    lo_, hi_ = a // m, iR // m

    def cdf_small(i):
        return -math.expm1(sf(i)) <= 1e-10
    if not cdf_small(lo_ * m):
        iL = a
    else:
        while hi_ - lo_ > 1:
            mid = (lo_ + hi_) // 2
            if cdf_small(mid * m):
                lo_ = mid
            else:
                hi_ = mid
        iL = lo_ * m
    if iR - iL < 4 * m:
        return None
    if (iL - a) < 4 * m and (b - iR) < 4 * m:
        return None
    return a, iL, iR, b


def _build_split(pl, h, a, iL, iR, b, lower_ok, cost, lt_cut=None):
    """One step's PMFs on the split grid of :func:`_split_points`: each part's cells
    describe a disjoint part of the PLD; the upper PMF is the sum of their connect-the-dots
    PMFs, the lower one the sum of their lowered chords (each a sub-measure, see
    docs/math.md §4.9). Points are those of the fine lattice (zero between coarse points)."""
    m = _SPLIT
    npts = b - a + 1
    if npts > _MAX_ONE_STEP:
        # the PMFs live on the fine lattice (zeros between coarse points): its length is
        # what memory holds, whatever the cells cost (a 1.7e7-point lattice, charged as
        # 1e6 cells, took 3.9 GB over a trade-off query)
        raise _GridTooLarge(npts)
    spans = []
    if iL > a:
        spans.append((a, m, (iL - a) // m + 1))
    spans.append((iL, 1, iR - iL + 1))
    if b > iR:
        spans.append((iR, m, (b - iR) // m + 1))
    _charge(sum(n for *_, n in spans), cost)
    pi_up = np.zeros(npts)
    pi_lo = np.zeros(npts)
    pi_cut = None
    ok_all = True
    log_w_inf = -math.inf
    for j, (start, stride, n) in enumerate(spans):
        top_part = j == len(spans) - 1 and j > 0 and stride > 1
        if top_part:
            # the parts below the coarse top: the measure restricted to losses ≤ ε_iR
            pi_cut = pi_lo.copy()
        first, last = j == 0, j == len(spans) - 1
        up, lo = pl.pld_cells(start // stride, h * stride, n)
        off = start - a
        idx = off + stride * np.arange(n)
        # connect-the-dots, part by part (the cells are the part's own)
        pi_up[idx[:-1]] += up.b
        pi_up[idx[1:]] += up.a
        if first:
            pi_up[0] += up.Qb / math.exp(a * h)
        if last:
            pi_up[-1] += up.Pt
            log_w_inf = up.log_w_inf
        # lowered chords of the part as a sub-measure: the mass below (first part) and
        # above (last part) belong to it, the rest to its neighbours
        Fb, Qb, r0 = (lo.Fb, lo.Qb, lo.r0) if first else (0.0, 0.0, 0.0)
        Pt, dtop = (lo.Pt, lo.dtop) if last else (0.0, 0.0)
        tot = Fb + float(lo.a.sum() + lo.b.sum()) + Pt
        if lo.log_reveal > -math.inf:
            return None
        _, pl_lo, ok = _kp.profiles(lo.a, lo.b, start * h, h * stride, Fb, Qb, r0, Pt,
                                    dtop, -tot)
        if ok:
            pi_lo[idx] += pl_lo
        elif stride == 1:
            ok_all = False      # without its middle the lower PMF is worthless
        if top_part and lt_cut is not None:
            top_cells = (start, stride, n, idx, lo.a, lo.b)
    if not (lower_ok and ok_all):
        pi_lo, ok_all = _identity_lower(a, npts)
        pi_cut = None
    cut = None
    if pi_cut is not None and lt_cut is not None:
        def cut():
            # the parts below the coarse top, and the top part's cells up to ε_c
            # (docs/math.md §4.10), a sub-measure
            start, stride, n, idx, ta, tb = top_cells
            c = _cut_index(pl, h, start, start + (n - 1) * stride, stride, lt_cut)
            k = (c - start) // stride
            out = pi_cut.copy()
            if k > 0:
                tk = float(ta[:k].sum() + tb[:k].sum())
                _, pc, okc = _kp.profiles(ta[:k], tb[:k], start * h, h * stride, 0.0, 0.0,
                                          0.0, 0.0, 0.0, -tk)
                if not okc:
                    return out, start * h
                out[idx[:k + 1]] += pc
            return out, c * h
    return _OneStep(a, pi_up, pi_lo, log_w_inf, ok_all, h, cut=cut)


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
    total = sum(_nbytes(one) for one in _CACHE.values())
    while len(_CACHE) > 1 and (len(_CACHE) > _CACHE_SIZE or total > _CACHE_BYTES):
        total -= _nbytes(_CACHE.popitem(last=False)[1])
    return out


def _nbytes(one: _OneStep) -> int:
    """Bytes held by a cached one-step PLD (its PMFs, and the restricted one once built)."""
    cut = one._cut[0] if one._cut is not None else None
    return (one.logw_up.nbytes + one.logw_lo.nbytes
            + (cut.nbytes if cut is not None else 0))
