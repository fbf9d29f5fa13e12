"""PLD brackets of schedules with many distinct mechanisms: merged sides (docs/math.md §4.8).

A trainer whose σ or q changes every step builds a history of thousands of distinct
mechanisms; composing them as they are costs one one-step PLD (and one window search
term) per mechanism and per grid. Here the roundable mechanisms (subsampled Gaussian, ULS,
Gaussian, mixtures of Gaussians, ELS: :mod:`accountant.core.dominating`) are put on a
geometric grid of log-ratio ``lr`` in σ (and q), and

* the **upper** side of the bracket is composed from the *dominating* schedule: every
  step's σ rounded down and q rounded up to a grid point;
* the **lower** side from the *dominated* schedule: σ rounded up and q down, on the same
  grid (clipped to the family's largest σ and smallest q).

Both roundings move every step to the safe side, and domination survives composition
(docs/math.md §1.2), so the result is a certified bracket of the original schedule. The
two sides share their grid points (the upper side's cell edges are the lower side's), so a
representative's one-step PLD (which holds both the upper and the lower PMF) is built
once, and both sides are composed in one FFT window at one grid step h (a single
refinement, :class:`_Paired`).

The merge adds a gap that is first order in ``lr``: each step moves by one whole cell
between the sides, so the gap is ≈ S·lr with S = Σ_t |∂value/∂log σ_t| (+ the q part). S
is measured, not guessed: a pilot pair at a coarse merge (``_PILOT_CELLS`` cells), composed
at h = 4e-3 and 1e-3, gives the gap G₀ at lr₀, and lr is chosen so that the merge takes
``_MERGE_SHARE`` of the requested width; h follows from the pilot's discretisation width
(∝ h², docs/math.md §4.6) for the rest. Directions that the pilot shows cannot be the max
keep their pilot brackets. A bracket still wider than requested is redone with both
shares split from the measured width (at most ``_MAX_ROUNDS`` rounds); each round's
bracket is certified, so their intersection is kept. When the needed grid would keep most
mechanisms distinct, merging does not pay and the caller composes the schedule as it is
(:func:`bracket` returns None) — the usual case for δ(ε) at a relative rtol, which is
λ* = −∂log δ/∂ε times more sensitive to the merge than ε(δ).
"""
from __future__ import annotations

import contextlib
import functools
import math
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from ...core.dominating import _build, _prepare, _snap
from ...core.mechanisms import Mechanism, Schedule
from .compose import _Direction
from . import mixed
from . import onestep as _onestep
from .onestep import _GridTooLarge

__all__ = ["merged_counts", "representatives", "bracket", "MIN_DISTINCT", "MANY_DISTINCT"]

#: Schedules with fewer distinct mechanisms are composed as they are.
MIN_DISTINCT = 48
_PILOT_CELLS = 16       # cells of the pilot grid over the widest family's span
_MERGE_SHARE = 0.6      # share of the requested width given to the merge gap
_MAX_ROUNDS = 3         # merged compositions after the pilot
_PAYS = 0.6             # merge only when it keeps fewer than this share of the mechanisms
#: From this many distinct mechanisms on the schedule is never composed unmerged (1 000
#: distinct steps took 74 s for δ(ε) at rtol 1e-3): when rtol would need a finer merge
#: than pays, the bracket of a merge into at most _FORCED_REPS representatives is
#: returned, wider than requested and saying so.
MANY_DISTINCT = 256
_FORCED_REPS = 48

Counts = Tuple[Tuple[Mechanism, int], ...]


def merged_counts(counts: Sequence[Tuple[Mechanism, int]], lr: float) -> Tuple[Counts, Counts]:
    """The dominating and the dominated schedules of ``counts`` on the grid of log-ratio
    ``lr`` (docs/math.md §4.8).

    Parameters
    ----------
    counts : sequence of (mechanism, steps), distinct mechanisms.
    lr : log-ratio of the grid (> 0, finite); every family's grid is anchored at its
        smallest σ and largest q, so a constant σ or q is kept exactly.

    Returns
    -------
    (upper_counts, lower_counts) — the dominating schedule (σ rounded down, q up: every
    step's pair dominates its own) and the dominated one (σ up, q down), both with the
    original number of steps; mechanisms that cannot be rounded are in both unchanged.
    """
    counts = tuple(counts)
    up: Dict[Mechanism, int] = {}
    lo: Dict[Mechanism, int] = {}
    for (_, T), (mu, ml) in zip(counts, representatives(counts, lr)):
        up[mu] = up.get(mu, 0) + T
        lo[ml] = lo.get(ml, 0) + T
    return tuple(up.items()), tuple(lo.items())


def representatives(counts: Sequence[Tuple[Mechanism, int]], lr: float,
                    ) -> List[Tuple[Mechanism, Mechanism]]:
    """Per entry of ``counts``: (upper representative, lower representative) on the grid of
    log-ratio ``lr`` (:func:`merged_counts`); ValueError naming ``lr`` unless 0 < lr < inf."""
    if not (isinstance(lr, (int, float)) and 0 < lr < math.inf):
        raise ValueError(f"lr must be a positive finite number, got {lr!r}")
    counts = tuple(counts)
    fams, _ = _prepare(counts)
    out: List[Tuple[Mechanism, Mechanism]] = [(m, m) for m, _ in counts]
    for key, s, q, idx, has_q in fams:
        smin, smax = float(s.min()), float(s.max())
        # One anchor for both sides: the k-th grid point is the same double for both, so
        # the upper side's cell edges are the lower side's (one-step PLDs built once).
        _, s_dn = _snap(s, smin, lr, up=False)
        _, s_up = _snap(s, smin, lr, up=True)
        s_up = np.minimum(s_up, smax)      # σ ≤ max σ: still ≥ each member's σ
        if has_q:
            qmin, qmax = float(q.min()), float(q.max())
            _, q_up = _snap(q, qmax, lr, up=True)
            _, q_dn = _snap(q, qmax, lr, up=False)
            q_dn = np.maximum(q_dn, qmin)  # q ≥ min q: still ≤ each member's q
        made: Dict[tuple, Mechanism] = {}     # one object per grid point (10⁴ steps)

        def rep(sig, q_):
            m = made.get((sig, q_))
            if m is None:
                m = made[(sig, q_)] = _build(key, sig, q_)
            return m
        for j, i in enumerate(idx.tolist()):
            out[i] = (rep(float(s_dn[j]), min(1.0, float(q_up[j])) if has_q else None),
                      rep(float(s_up[j]), float(q_dn[j]) if has_q else None))
    return out


def _span(counts) -> float:
    """Largest log-span (σ plus q) of a roundable family: 0 when nothing can merge."""
    fams, _ = _prepare(tuple(counts))
    return max((math.log(s.max() / s.min()) + math.log(q.max() / q.min())
                for _, s, q, _, _ in fams), default=0.0)


class _Paired(_Direction):
    """One direction at one grid step whose upper side is composed from the dominating
    counts and whose lower side from the dominated ones (docs/math.md §4.8). Everything
    the lower-side bounds read (its parts, ``lower_ok``, its revealing mass) comes from the
    dominated schedule; the rest (upper parts, mass at +∞, window) from the dominating one.
    Both have the same number of steps, so the quadrature margin is shared."""

    def __init__(self, lower_counts, counts, direction, h, tau_hi=None, log_tau_hi=None):
        super().__init__(counts, direction, h, tau_hi, log_tau_hi)
        low = _Direction(lower_counts, direction, h, tau_hi, log_tau_hi)
        self.parts_lo, self.lower_ok, self.p_inf_lo = low.parts_lo, low.lower_ok, low.p_inf_lo


@contextlib.contextmanager
def _cache_room(n: int):
    """Let the one-step cache hold ``n`` entries during a merged query: both sides and
    both directions of one grid reuse the representatives (an LRU smaller than the
    working set misses on every access); trimmed back afterwards."""
    old = _onestep._CACHE_SIZE
    _onestep._CACHE_SIZE = max(old, n)
    try:
        yield
    finally:
        _onestep._CACHE_SIZE = old
        while len(_onestep._CACHE) > old:
            _onestep._CACHE.popitem(last=False)


def _lr_paying(counts, lr0: float, cap: float) -> float:
    """The smallest grid log-ratio (within 5 %) whose merge keeps at most ``cap`` of the
    mechanisms of ``counts`` distinct (bisection in log lr below ``lr0``)."""
    def pays(lr):
        u_c, l_c = merged_counts(counts, lr)
        return len(set(m for m, _ in u_c + l_c)) <= cap
    lo, hi = lr0 * 1e-8, lr0
    if pays(lo):
        return lo
    while hi / lo > 1.05:
        mid = math.sqrt(lo * hi)
        if pays(mid):
            hi = mid
        else:
            lo = mid
    return hi


#: Log-ratio of a mixture cell at grid step _MIX_H (docs/math.md §4.10; for E = 6, and
#: smaller for larger E): the lower weight's shortfall is ≈ β′·Δμ/8 of a cell with
#: β′ ≈ E²/μ³, about 2 % here; both it and the grid's width are second order, so the cell
#: follows h. (3e-3 took 0.29 s for issue 17's 1 000 steps, 5e-3 0.19 s, both well inside
#: rtol = 1e-3.)
_MIX_LR = 5e-3
_MIX_H = 5e-4
_MIX_MAX_CELLS = 256
_MIX_LEVELS = 64
_MIX_MAX_LEVELS = 4096


_MIX_GIVE_UP_H = 5e-4   # a mixture refinement with no lower bound below this grid stops,
_MIX_GIVE_UP_N = 1 << 20  # … or on a window longer than this


class _GiveUp(Exception):
    """The mixture path does not pay here (see :func:`_mixed_bracket`)."""


def _mix_cells(span: float, h: float) -> int:
    """Cells of the mixture grid over a log-span at grid step h."""
    # (proportional below _MIX_H; above it only as √h: at a cell of β′·Δμ ≈ 1 the lower
    # weight is far from linear and the gap no longer second order)
    r = h / _MIX_H
    return min(_MIX_MAX_CELLS, max(1, math.ceil(span / (_MIX_LR * (r if r <= 1 else r ** 0.5)))))


def _mixed_bracket(schedule, counts, mix, at, rtol, atol, h, engine):
    """The bracket with every step a mixture of its two grid neighbours (see
    docs/math.md §4.10), refined like an unmerged schedule. None when it misses rtol for a
    history of fewer than MANY_DISTINCT mechanisms (the add direction's lower side is
    first order; such a history may be composed unmerged); a larger one gets the
    certified bracket with a warning."""
    at_h, _refine, _details, _H0, _H_MIN = engine
    sig, qs = mix
    span = max(math.log(float(sig[qs == q].max()) / float(sig[qs == q].min()))
               for q in np.unique(qs))

    def direction(counts_, d, hh, tau_hi=None, log_tau_hi=None):
        # (weights to 1/64 of a cell at _MIX_H; finer with h, since the rounding's share of
        # a cell's first-order gap is ∝ h/levels and the grid's width ∝ h²)
        levels = min(_MIX_MAX_LEVELS, math.ceil(_MIX_LEVELS * max(1.0, _MIX_H / hh)))
        return mixed.Mixed(counts_, d, hh, tau_hi, log_tau_hi, cells=_mix_cells(span, hh),
                           sig=sig, qs=qs, levels=levels)

    def target(up):
        return max(rtol * up, atol)

    widths: List[float] = []

    def run(hh, dirs, lower=True):
        res = at_h(schedule, at, hh, dirs, lower, direction=direction, coarse=direction)
        width = max(r[1] for r in res.values()) - max(r[0] for r in res.values())
        if (h is None and len(counts) < MANY_DISTINCT and len(widths) >= 2
                and not width <= 0.7 * widths[-1]):
            # A finer grid that did not narrow the bracket: the error floor, not h, sets it
            # here (δ below the window's floor); the rounded path knows when to stop (60 σ
            # at δ(ε = 30) ≈ 0 refined for 20 s more than it).
            raise _GiveUp
        widths.append(width)
        big = max(getattr(r[2], "n", 0) or 0 for r in res.values()) > _MIX_GIVE_UP_N
        if h is None and (hh < _MIX_GIVE_UP_H or big) and max(
                r[0] for r in res.values()) <= 0.0:
            # Still no lower bound on a fine grid or a long window: the step's loss lies far
            # below h (q ≲ 1e-4, docs/math.md §4.6), where mixing does not help and the
            # rounded path's own limits apply (two such histories, q = 1e-6, took 64 s and
            # 40 s here before giving up).
            raise _GiveUp
        return res
    try:
        # (refinement stops early once a grid PMF budget capped the cells: the mixtures'
        # gap, not h, then sets the width)
        best, history, warns = _refine(
            run, schedule, target, h, 6,
            lambda res: any(getattr(r[2], "capped", False) for r in res.values()))
    except (_GridTooLarge, _GiveUp):
        return None
    lower = max(b[0] for b in best.values())
    upper = max(b[1] for b in best.values())
    if h is None and not upper - lower <= target(upper) and len(counts) < MANY_DISTINCT:
        return None     # (composed unmerged instead, within rtol)
    if upper - lower > target(upper):
        warns = _wider(warns, upper - lower, target(upper),
                       f"mixtures over {len(counts)} distinct mechanisms")
    details = _details(best, history)
    D = best[max(best, key=lambda d: best[d][1])][2]
    details["merged"] = {"distinct_mechanisms": len(counts), "representatives": D.points,
                         "sample_rates": len(np.unique(qs)),
                         "grid_log_ratio": span / max(D.cells, 1), "mixtures": D.mixtures[:2],
                         "weight_levels": D.mixtures[2], "mode": "mixtures"}
    return lower, upper, details, warns


def _wider(warns: tuple, width: float, tol: float, what: str) -> tuple:
    """``warns`` with its width warning replaced by one naming the merged bracket."""
    return tuple(w for w in warns if not w.startswith("bracket_wider")) + (
        f"bracket_wider_than_requested: width {width:.3g} > {tol:.3g} ({what})",)


def _sides(best) -> Tuple[float, float]:
    return max(b[0] for b in best.values()), max(b[1] for b in best.values())


def bracket(schedule: Schedule, at: float, rtol: float, atol: float, h: Optional[float],
            engine: tuple) -> Optional[tuple]:
    """The merged bracket of ``schedule`` (docs/math.md §4.8), or None when merging does
    not pay (few distinct mechanisms, nothing roundable, or a grid that would keep most
    of them distinct): the caller then composes the schedule as it is.

    Parameters
    ----------
    schedule : the schedule; ``at`` the δ of an ε query or the ε of a δ query.
    rtol, atol : the requested width max(rtol·value, atol), merge gap included.
    h : a fixed grid step (the merge grid is still chosen from rtol).
    engine : (at_h, refine, details, h0, h_min) — the PLD bracket's own one-grid
        function (``_eps_at_h`` or ``_delta_at_h``), refinement, details and grid limits,
        passed in by :mod:`accountant.accountants.pld.bracket` (which calls this module:
        importing them here would be a cycle).

    Returns
    -------
    (lower, upper, details, warnings) as :func:`accountant.accountants.pld.bracket.epsilon_bracket`,
    ``details["merged"]`` describing the grid.
    """
    at_h, _refine, _details, _H0, _H_MIN = engine
    counts = tuple(schedule.counts())
    if len(counts) < MIN_DISTINCT:
        return None
    mix = mixed.mixable(counts)
    if mix is not None:
        out = _mixed_bracket(schedule, counts, mix, at, rtol, atol, h, engine)
        if out is not None:
            return out
    span = _span(counts)
    if span <= 0.0:
        return None
    def target(up):
        return max(rtol * up, atol)

    # Pilot: a coarse merge (few representatives, cheap) composed on its own at one or two
    # grids; its dominating and dominated schedules at the last grid give the merge gap,
    # hence lr, and the grid law, hence h.
    lr0 = span / _PILOT_CELLS
    up0, lo0 = merged_counts(counts, lr0)
    share = 1.0 - _MERGE_SHARE
    pilot = Schedule(up0)

    def pilot_at(hh):
        return _refine(lambda h_, dirs, lower=True: at_h(pilot, at, h_, dirs, lower), pilot,
                       lambda up: share * target(up), hh, 0)

    def grid_for(best_u, r_l):
        """lr giving the merge its share of the width, from a pilot pair, and whether that
        grid pays (keeps at most _PAYS of the mechanisms distinct). The merge gap is the
        difference of the two schedules' upper bounds at one grid (their discretisation
        errors nearly cancel, and an upper bound never degenerates as a coarse lower bound
        does); it is linear in lr."""
        uu, ul = _sides(best_u)[1], _sides(r_l)[1]
        gap = max(uu - ul, 0.0)
        lr_ = lr0 if gap <= _MERGE_SHARE * target(uu) else lr0 * _MERGE_SHARE * target(uu) / gap
        if lr_ >= lr0:
            return lr_, True, gap
        u_c, l_c = merged_counts(counts, lr_)
        return lr_, len(set(m for m, _ in u_c + l_c)) <= _PAYS * len(counts), gap

    try:
        # The first grid (h = 4e-3) already tells whether merging pays (a schedule of 60 σ
        # spread over a factor 4 does not: only that cheap grid is spent on it); a second,
        # h/4, measures the grid law unless the first is already narrow (two grids for
        # σ ≈ 1, q = 0.01; the cautious step law of a full refinement overshot to 3.6e-4).
        best0, hist0, _ = pilot_at(_H0 if h is None else h)
        rL = at_h(Schedule(lo0), at, hist0[-1][0])
        if not all(math.isfinite(x) for x in _sides(best0) + _sides(rL)):
            return None
        # (forced: rtol would need more than pays, and the unmerged composition of this
        # many mechanisms is never tried: a coarse merge, wider than requested)
        forced = not grid_for(best0, rL)[1]
        if forced and len(counts) < MANY_DISTINCT:
            return None
        l_, u_ = _sides(best0)
        if h is None and (l_ <= 0 or _sides(rL)[0] <= 0 or u_ - l_ > share * target(u_)):
            best0, more, _ = pilot_at(hist0[-1][0] / 4)
            hist0 = hist0 + more
            rL = at_h(Schedule(lo0), at, hist0[-1][0])
            forced = forced or not grid_for(best0, rL)[1]
            if forced and len(counts) < MANY_DISTINCT:
                return None
        h_pilot = cur = hist0[-1][0]
    except _GridTooLarge:
        return None
    lU, uU = _sides(best0)
    lL, uL = _sides(rL)
    if not all(math.isfinite(x) for x in (lU, uU, lL, uL)):
        return None
    p = 2.0                 # the grid law width ∝ h^p, measured where the pilot allows
    if len(hist0) > 1:
        (h1, l1, u1), (h2, l2, u2) = hist0[-2], hist0[-1]
        if l1 > 0 and l2 > 0 and u1 - l1 > u2 - l2 > 0:
            # (at most 2, the asymptotic order: a steeper pre-asymptotic slope would
            # under-refine and cost a second round)
            p = min(2.0, max(1.0, math.log((u1 - l1) / (u2 - l2)) / math.log(h1 / h2)))
    if h is None and (lU <= 0 or lL <= 0):
        cur = cur / 4       # a degenerate lower bound says nothing about the grid law
    elif h is None and uU - lU > 0:
        # The next grid from the pilot's law; possibly coarser than the pilot's last one
        # (never than the one before), which is cheaper for the many representatives.
        cur = min(hist0[-2][0] if len(hist0) > 1 else cur,
                  cur * (0.9 * share * target(uU) / (uU - lU)) ** (1.0 / p))
    # Directions that cannot be the max (their pilot upper bound below another's pilot
    # lower bound) keep their pilot brackets, both certified; only the others are
    # composed from the finely merged schedules (half the one-step builds for add/remove).
    top_lo = max(r[0] for r in rL.values())
    fine = [d for d in best0 if best0[d][1] > top_lo]
    kept_lo = max((rL[d][0] for d in rL if d not in fine), default=0.0)
    kept_up = max((best0[d][1] for d in best0 if d not in fine), default=0.0)
    lr, _, gap0 = grid_for(best0, rL)
    # (with many mechanisms: never finer than the finest merge that pays)
    lr_floor = _lr_paying(counts, lr0, min(_PAYS * len(counts), _FORCED_REPS)) \
        if forced else 0.0
    lr = max(lr, lr_floor)
    disc0 = max(uU - lU, uL - lL, 0.0)
    # (the intersection of every certified bracket: the pilot's pair is one too)
    lower, upper = lL, uU
    rounds: List[dict] = [{"grid_log_ratio": lr0, "grid_step": h_pilot, "lower": lL,
                           "upper": uU, "pilot": True,
                           "representatives": len(set(m for m, _ in up0 + lo0))}]
    warns: tuple = ()
    best = history = last = None
    for _ in range(_MAX_ROUNDS):
        if upper - lower <= target(upper):
            break       # the pilot's own pair is narrow enough
        if lr < lr0:
            up_c, lo_c = merged_counts(counts, lr)
        else:
            up_c, lo_c = up0, lo0
        n_reps = len(set(m for m, _ in up_c) | set(m for m, _ in lo_c))
        if n_reps > _PAYS * len(counts) and best is None and not forced:
            return None
        run = functools.partial(at_h, Schedule(up_c), at, dirs=fine,
                                direction=functools.partial(_Paired, lo_c))
        try:
            with _cache_room(4 * n_reps + 64):
                best, history, warns = _refine(lambda hh, dirs, lower=True: run(hh, lower=lower),
                                               Schedule(up_c),
                                               target, cur, 0, lambda res: False)
        except _GridTooLarge:
            break
        lo_k, up_k = _sides(best)
        lo_k, up_k = max(lo_k, kept_lo), max(up_k, kept_up)
        lower, upper = max(lower, lo_k), min(upper, up_k)
        rounds.append({"grid_log_ratio": lr, "grid_step": cur, "lower": lo_k,
                       "upper": up_k, "representatives": n_reps})
        width = upper - lower
        if h is not None or width <= target(upper) or not math.isfinite(width):
            break
        if last is not None and width > 0.7 * last:
            break       # no progress (round-off terms, or a mis-split): see below
        last = width
        # Split the measured width into the predicted merge gap (linear in lr) and the
        # rest (the discretisation, ∝ h^p), and shrink each to its share.
        gap = gap0 * lr / lr0
        disc = max(width - gap, 0.1 * width)
        tol = target(upper)
        if forced and lr <= lr_floor * (1 + 1e-12):
            # the merge cannot shrink further: a grid finer than its gap buys nothing
            tol = max(tol, gap / _MERGE_SHARE)
            if disc <= (1 - _MERGE_SHARE) * tol:
                break
        if gap > _MERGE_SHARE * tol:
            lr = max(lr * 0.9 * _MERGE_SHARE * tol / gap, lr_floor)
        if disc > (1 - _MERGE_SHARE) * tol:
            cur = max(_H_MIN, cur * (0.8 * (1 - _MERGE_SHARE) * tol / disc) ** (1.0 / p))
        if cur <= _H_MIN and lr < 1e-9:
            break
    if upper - lower > 2 * target(upper) and not forced:
        # Far from the request: the unmerged composition (whose refinement knows when
        # round-off, not h, limits the width) does better, at its own cost.
        return None
    if best is None:
        best, history = best0, hist0
    details = _details(best, history)
    details["merged"] = {"distinct_mechanisms": len(counts),
                         "representatives": rounds[-1].get("representatives"),
                         "grid_log_ratio": rounds[-1]["grid_log_ratio"], "rounds": rounds,
                         "pilot_merge_gap": gap0, "pilot_grid_width": disc0}
    if upper - lower > target(upper):
        warns = _wider(warns, upper - lower, target(upper),
                       f"merged schedule of {len(counts)} distinct mechanisms")
    return lower, upper, details, warns
