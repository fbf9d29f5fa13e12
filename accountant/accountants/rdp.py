"""Rényi-DP accountant: one incremental engine behind ``epsilon(..., method="rdp")`` and
the trainer accountant (:class:`accountant.session.PrivacyAccountant`).

The RDP of one step in a direction is D_α(Q‖P) = K_Y(α−1)/(α−1), read from the privacy
loss (docs/math.md §1.4, §3); RDP adds over steps; each direction is converted to (ε, δ)
separately and the worse is reported. The conversion is Canonne, Kamath & Steinke 2020
(arXiv 2004.00010, Prop. 12):

    ε(δ) = min_α  R(α) + log1p(−1/α) − (log δ + log α)/(α − 1),
    log δ(ε) = min_α (α − 1)(R(α) − ε + log1p(−1/α)) − log α,

valid for every real α > 1. The order is optimised continuously: a coarse geometric scan,
then a golden-section search on log(α − 1) around the best scanned order, then parabolic
steps from the best evaluated orders; the minimum over every evaluated order is returned,
so adding orders can only lower the bound (docs/math.md §3.3).

:class:`RdpEngine` holds a history as distinct mechanisms with their step counts and, per
mechanism and direction, the CGF values it has evaluated (the loss's value and its cheap
upper bound; the quadrature margin of ``pad_cgf`` is applied when they are summed). A new
step costs its own CGFs only; :func:`compute` is the engine run once on a schedule, so the
one-shot answer and the trainer's are the same number. Above ``_EXACT_MEMBERS`` distinct
mechanisms the order is located on dominating representatives and refined on a model of
the members (docs/math.md §3.3); every value entering the bound is still the members'
own CGF sum at an evaluated order.

Laplace steps also satisfy pure ε₀-DP; the pure bound Σ T_i ε₀,i is taken when it is lower,
and so is basic composition (each step at δ/T), which is what certifies ε → 0 as q → 0
or σ → ∞.
The lower bound reported beside the upper one is exact for Gaussian-only schedules (μ-GDP)
and otherwise the exact ε of the leakiest single step (post-processing); both, and the
one-step values basic composition adds up, come from :mod:`accountant.accountants.exact` as bounds
rounded to their side (a single step is therefore bracketed, not rounded to nearest).

Size: one accountant and its one engine (:class:`RdpEngine`, incremental, serving the
one-shot API and the trainer alike): the CGF cache, the order search and the certified
conversion share the margins of docs/math.md §3.1 and §3.2.
"""
from __future__ import annotations

import dataclasses
import math
import numbers
import threading
from typing import TYPE_CHECKING, Callable, Dict, List, Optional, Sequence, Tuple

import numpy as np

from ..core.bounds import Result
from ..core.dominating import central_schedule, dominating_schedule
from ..core.mechanisms import MechanismLike, Schedule, as_schedule, is_identity
from ..core._optimize import minimize_bounded
from ..loss import directions_of, loss_for, privacy_losses
from . import exact as _exact
from .api import register

if TYPE_CHECKING:
    from ..loss.base import PrivacyLoss

# Coarse scan of orders (α); a golden-section search refines between neighbours of the
# best one.
# Integer orders are cheapest (closed forms); the scan is extended past either end while
# the best order sits on that end.
_SCAN = np.array([1.1, 1.25, 1.5, 2.0, 3.0, 4.0, 5.0, 6.0, 8.0, 10.0, 12.0, 16.0, 20.0, 24.0,
                  32.0, 48.0, 64.0, 96.0, 128.0, 256.0, 512.0, 1024.0])
# Past this the conversion term log(1/δ)/α is already < 1e-3 for δ ≥ 1e-40.
_MAX_ORDER = 1e5


# A step whose T·K(t) is proven below this (by the coupling bound) takes the bound: it
# moves ε by at most this/(α − 1) and δ by this relatively, and saves a quadrature that
# cannot converge anyway where L is ~1e-24 (ELS(1e12, 1e-15, 256): 0.4 s per order).
_NEGLIGIBLE = 1e-10


# Outside the closed forms K comes from adaptive quadrature (rtol 1e-11, QUADPACK-style
# error estimates): each step's K is raised by 100× that tolerance (docs/math.md §3.1), and a
# K that is not a number gives no bound (inf), never NaN.
_CGF_REL = 1e-9


def pad_cgf(pl: PrivacyLoss, k: float | np.ndarray) -> np.ndarray:
    """K (scalar or array) of the loss ``pl`` raised by the quadrature margin; NaN → inf.
    Closed forms (``pl.cgf_exact``) are returned as they are."""
    k = np.asarray(k, dtype=float)
    out = k if pl.cgf_exact else k + _CGF_REL * np.abs(k)
    return np.where(np.isnan(out), np.inf, out)


# Work budget of one query's CGF quadratures, in units of quadrature_size × max(t, 10)
# (the panels of Q^{1+t}P^{-t} span ~t times the spread of the means: an ELS with k = 256
# at t = 7e4 is ~2e7 units, 1.5 s). Past it every order takes the loss's cheap upper bound
# (valid, looser) and the result says so. Units, not seconds: the answer does not depend
# on the machine. Common mechanisms (≤ 10 components, orders ≤ 1e3) spend < 1e6.
_RDP_BUDGET = 4e7
_STATE = threading.local()


def _over_budget(pl, t) -> bool:
    """Charge one quadrature CGF at t to the running query; True once the budget is spent
    (and a cheap upper bound exists to take its place)."""
    left = getattr(_STATE, "left", None)
    if left is None or pl.cgf_exact or not t > 0:
        return False                  # outside compute(), or no quadrature to save
    _STATE.left = left - pl.quadrature_size * max(float(t), 10.0)
    if _STATE.left < 0 and pl.cgf_upper(t) is not None:
        _STATE.exhausted = True
        return True
    return False


# ----------------------------------------------------------------------------------------
# CGF values of one step, cached per mechanism and direction
# ----------------------------------------------------------------------------------------
class _Member:
    """One mechanism's privacy loss in one direction, with every CGF value evaluated so far
    (keyed by t = α − 1): the loss's K(t) and its cheap upper bound. Neither depends on the
    schedule, so both are kept while steps are added; the decisions that do (a negligible
    step, the work budget) are taken per query in :func:`_padded_cgf`."""

    __slots__ = ("loss", "raw", "up")

    def __init__(self, loss):
        self.loss = loss
        self.raw: Dict[float, float] = {}
        self.up: Dict[float, Optional[float]] = {}

    def upper(self, t: float) -> Optional[float]:
        if t not in self.up:
            self.up[t] = self.loss.cgf_upper(t) if t > 0 else None
        return self.up[t]


def _pad_one(pl, k: float) -> float:
    """``pad_cgf`` of one value, in plain floats (the same rounding as the array form)."""
    out = k if pl.cgf_exact else k + _CGF_REL * abs(k)
    return math.inf if math.isnan(out) else out


def _known_cgf(member: _Member, steps: int, t: float, share: float) -> Optional[float]:
    """K(t) of one step where no quadrature is needed: the cheap upper bound where it
    proves ``steps``·K ≤ ``share`` (it then replaces K) or past the work budget, or the
    cached value; None when the loss's CGF must be evaluated."""
    b = member.upper(t)
    if b is not None and steps * b <= share:
        return b
    raw = member.raw.get(t)
    if raw is not None:
        return raw
    if _over_budget(member.loss, t):
        return b
    return None


def _padded_cgf(member: _Member, steps: int, ts: np.ndarray, share: float) -> np.ndarray:
    """K(t) of one step at every t of ``ts``, raised by the quadrature margin (``pad_cgf``):
    the values :func:`_known_cgf` gives, else the loss's CGF (one vectorised call for the
    values not yet cached)."""
    pl = member.loss
    k = np.empty(ts.shape[0])
    todo = []
    for i, t in enumerate(ts.tolist()):
        known = _known_cgf(member, steps, t, share)
        if known is None:
            todo.append(i)
        else:
            k[i] = known
    if todo:
        tt = ts[todo]
        got = np.broadcast_to(np.asarray(pl.cgf(tt), dtype=float), tt.shape)
        k[todo] = got
        for t, val in zip(tt.tolist(), got.tolist()):
            member.raw[t] = val
    return pad_cgf(pl, k)


def _padded_one(member: _Member, steps: int, t: float, share: float) -> float:
    """:func:`_padded_cgf` at one order, without arrays (a member's CGF at a new order
    costs ~100 µs; the array bookkeeping around it cost half as much again)."""
    k = _known_cgf(member, steps, t, share)
    if k is None:
        # the loss's scalar path (it keeps its own cache, across engines too)
        k = member.raw[t] = float(member.loss.cgf(t))
    return _pad_one(member.loss, k)


Group = List[Tuple[_Member, int]]


def _cgf_total(group: Group, ts: np.ndarray, share: float) -> np.ndarray:
    """Σ T·K̄(t) over a group of (member, steps) at every t of ``ts`` (RDP adds over steps,
    docs/math.md §3.1), summed in the group's order so that equal groups give equal bits
    (one order or many: the same float operations)."""
    if ts.shape[0] == 1:
        t, one = float(ts[0]), 0.0
        for member, steps in group:
            one += steps * _padded_one(member, steps, t, share)
        return np.array([one])
    total = np.zeros(ts.shape[0])
    for member, steps in group:
        total += steps * _padded_cgf(member, steps, ts, share)
    return total


def _group_of(counts, direction: str, cache: Dict) -> Group:
    """(member, steps) of every mechanism of ``counts`` in ``direction``; members come from
    (and are added to) ``cache``, keyed by mechanism and direction. A symmetric pair serves
    both directions with one member."""
    out = []
    for m, steps in counts:
        key = (m, direction)
        member = cache.get(key)
        if member is None:
            pl = loss_for(m, direction)
            twin = cache.get((m, "add" if direction == "remove" else "remove"))
            member = twin if twin is not None and twin.loss is pl else _Member(pl)
            cache[key] = member
        out.append((member, steps))
    return out


def rdp_of(schedule: Schedule, direction: str, order: float) -> float:
    """Total RDP of the schedule at ``order`` in ``direction``: Σ T_i K_i(α−1)/(α−1)."""
    return float(rdp_many(schedule, direction, [order])[0])


def rdp_many(schedule: Schedule, direction: str, orders: Sequence[float] | np.ndarray,
             ) -> np.ndarray:
    """Total RDP at every order of ``orders`` (one vectorised CGF call per mechanism)."""
    counts = schedule.counts()
    orders = np.asarray(orders, dtype=float)
    group = _group_of(counts, direction, {})
    return _cgf_total(group, orders - 1.0, _NEGLIGIBLE / len(counts)) / (orders - 1.0)


# Outward rounding of the conversions: each term carries a few ulps of its own size (the
# RDP value itself a few ulps of its size). Without it, Laplace(1e-6) at δ = 1e-5 (RDP
# ≈ 1e6 at order 5e4) certified ε one ulp below the exact one-step value (hour-long fuzz,
# seed 2029).
_CONV_PAD = 64 * 2.0 ** -53


def epsilon_from_rdp(order: float, rdp: float, delta: float) -> float:
    """CKS 2020 Prop. 12 at one order, rounded up (may be negative; callers clip at 0)
    (docs/math.md §3.2)."""
    a = math.log1p(-1.0 / order)
    b = (math.log(delta) + math.log(order)) / (order - 1.0)
    v = rdp + a - b
    return v + _CONV_PAD * (abs(rdp) + abs(a) + abs(b) + abs(v))


def log_delta_from_rdp(order: float, rdp: float, eps: float) -> float:
    """log δ(ε) from RDP at one order (CKS 2020 Prop. 12), rounded up (docs/math.md §3.2)."""
    a = math.log1p(-1.0 / order)
    inner = rdp - eps + a
    lo = math.log(order)
    v = (order - 1.0) * inner - lo
    err = (order - 1.0) * (abs(rdp) + abs(eps) + abs(a) + abs(inner)) + abs(lo) + abs(v)
    return v + _CONV_PAD * err


def _conversion(quantity: str, at: float) -> Callable[[float, float], float]:
    """The objective of docs/math.md §3.2 at one order: ε(δ = at) or log δ(ε = at)."""
    if quantity == "epsilon":
        return lambda a, r: epsilon_from_rdp(a, r, at)
    return lambda a, r: log_delta_from_rdp(a, r, at)


# ----------------------------------------------------------------------------------------
# Order search (docs/math.md §3.3)
# ----------------------------------------------------------------------------------------
def _recorder(values, seen):
    """``values`` with non-finite results as inf (an order whose divergence could not be
    evaluated is skipped, never trusted), each (α, value) appended to ``seen``."""
    def evaluate(al):
        al = np.asarray(al, dtype=float)
        out = np.array(values(al), dtype=float)
        out[~np.isfinite(out)] = np.inf
        seen.extend(zip(al.tolist(), out.tolist()))
        return out
    return evaluate


def _scan(evaluate, orders=None):
    """(orders, values) of the coarse scan: ``orders`` if given, else ``_SCAN`` extended
    past either end while the best order sits on that end."""
    scan = _SCAN if orders is None else np.asarray(orders, dtype=float)
    vals = evaluate(scan)
    if orders is None:
        while np.argmin(vals) == len(scan) - 1 and scan[-1] < _MAX_ORDER:
            more = scan[-1] * np.array([2.0, 4.0, 8.0])
            scan, vals = np.concatenate([scan, more]), np.concatenate([vals, evaluate(more)])
        while np.argmin(vals) == 0 and scan[0] > 1 + 1e-6:
            more = 1.0 + (scan[0] - 1.0) * np.array([0.0625, 0.25])
            scan, vals = np.concatenate([more, scan]), np.concatenate([evaluate(more), vals])
    return scan, vals


def _minimise(values, orders=None, seen=None):
    """min over α of an objective given on arrays of orders by ``values``: scan, golden
    section on log(α − 1), parabolic polish. Returns (value, α), the best of every order
    evaluated; each (α, value) is appended to ``seen`` (values that are not finite as inf:
    an order whose divergence could not be evaluated is skipped, never trusted)."""
    seen = [] if seen is None else seen
    evaluate = _recorder(values, seen)

    def objective(a):
        return float(evaluate(np.array([a]))[0])

    scan, vals = _scan(evaluate, orders)
    if not np.any(np.isfinite(vals)):
        if orders is not None:
            raise ValueError("orders: none of the given orders yields a finite RDP bound "
                             "(the divergence overflows there); give smaller orders or "
                             "omit orders")
        raise RuntimeError("internal error: no RDP order could be evaluated")
    best = int(np.argmin(vals))
    if orders is None:
        lo = scan[max(best - 1, 0)]
        hi = scan[min(best + 1, len(scan) - 1)]
        if hi > lo and lo >= 48:
            # Large orders: the curve is flat there; a ternary search over integer orders
            # (closed forms, cheap) loses nothing that matters.
            a, b = int(math.ceil(lo)), int(math.floor(hi))
            cache = {}

            def g(k):
                if k not in cache:
                    cache[k] = objective(float(k))
                return cache[k]
            while b - a > 2:
                m1, m2 = a + (b - a) // 3, b - (b - a) // 3
                if g(m1) <= g(m2):
                    b = m2
                else:
                    a = m1
            for k in range(a, b + 1):
                g(k)
        elif hi > lo:
            minimize_bounded(lambda u: objective(1.0 + math.exp(u)),
                             math.log(lo - 1.0), math.log(hi - 1.0), xatol=1e-3)
        _polish(objective, seen)
    value, alpha = math.inf, float(scan[best])
    for a, val in seen:
        if val < value:
            value, alpha = val, a
    return value, alpha


def _parabola_vertex(p1, p2, p3) -> Optional[float]:
    """The abscissa of the vertex of the parabola through three points (u, f) with
    u1 < u2 < u3 and f2 ≤ f1, f3; None when they are collinear or not finite."""
    (u1, f1), (u2, f2), (u3, f3) = p1, p2, p3
    num = (u2 - u1) ** 2 * (f2 - f3) - (u2 - u3) ** 2 * (f2 - f1)
    den = (u2 - u1) * (f2 - f3) - (u2 - u3) * (f2 - f1)
    if not (math.isfinite(num) and math.isfinite(den)) or den == 0.0:
        return None
    return u2 - 0.5 * num / den


def _polish(objective, seen, steps: int = 3) -> None:
    """Parabolic steps on u = log(α − 1) through the best evaluated order and its nearest
    evaluated neighbours. The golden section stops at a bracket of 1e-3 in u, which leaves
    ~1e-7 of ε and ~1e-6 of δ (relative) on the table; two or three steps of a smooth
    objective take that to rounding (far more of δ where it is tiny: log δ is then steep in
    u). They only add orders, so the minimum cannot rise."""
    tried = set()
    for _ in range(steps):
        pts = {}
        for a, val in seen:
            if a > 1.0 and math.isfinite(val):
                pts[math.log(a - 1.0)] = val
        us = sorted(pts)
        if len(us) < 3:
            return
        i = min(range(len(us)), key=lambda j: pts[us[j]])
        if i == 0 or i == len(us) - 1:
            return
        u = _parabola_vertex(*((us[j], pts[us[j]]) for j in (i - 1, i, i + 1)))
        if u is None or not us[i - 1] < u < us[i + 1]:
            return
        if abs(u - us[i]) <= 1e-9 * max(1.0, abs(us[i])) or u in tried:
            return
        tried.add(u)
        objective(1.0 + math.exp(u))


# Above this many distinct mechanisms the order is searched on a model of the members
# (docs/math.md §3.3): an exact search costs one quadrature per member at each of ~20
# fractional orders (1000 subsampled Gaussians: 3 s per query, against 0.25 s). The model
# is built from at most _MODEL_REPS central representatives; at most _REPS dominating ones
# rule a direction out.
_EXACT_MEMBERS = 64
_REPS = 24
_MODEL_REPS = 32
# Anchor orders of the model: fixed, so that a trainer's members keep their values there
# from one query to the next. Integer orders are closed forms for the subsampled Gaussian
# (remove); below 1.1 the grid halves α − 1.
_GRID = np.array([1.0 + 0.1 * 2.0 ** -k for k in range(12, 0, -1)] + [1.1, 1.25, 1.5, 1.75]
                 + [float(a) for a in range(2, 65)]
                 + [float(round(64 * 2 ** (j / 4))) for j in range(1, 45)
                    if 64 * 2 ** (j / 4) <= _MAX_ORDER])


def _lagrange(us, ys, u) -> float:
    """The polynomial through (us, ys) at u."""
    total = 0.0
    for i, (ui, yi) in enumerate(zip(us, ys)):
        w = 1.0
        for j, uj in enumerate(us):
            if j != i:
                w *= (u - uj) / (ui - uj)
        total += w * yi
    return total


class _Guided:
    """The order search of one direction over many members (docs/math.md §3.3).

    The model is the CGF sum of central representatives (:func:`central_schedule`: each
    cell of nearby mechanisms at its mean σ and q, within the square of the cell's width
    of the members) times a correction r(t) = K_members/K_model, interpolated (a local
    cubic in log t) through the orders where the members were evaluated exactly:

    1. scan the model for the best order; evaluate the members exactly at the grid orders
       (``_GRID``) around it, widening while the best one sits on the window's edge;
    2. between the best grid order's neighbours, search the members' exact objective in a
       bracket: each step to the corrected model's optimum (every exact value is a new
       interpolation node), a golden-section step after a step that did not improve,
       until the model, its slope checked by two close exact orders, expects less than
       ``_F_TOL`` (relative) from another step.

    Only orders come from the model: the value returned is the best of the members' exact
    objective at the orders evaluated, so the bound is certified whatever the model's
    accuracy.
    """

    def __init__(self, members: Group, model: Group, conv, mshare: float, gshare: float):
        self.members, self.model, self.conv = members, model, conv
        self.mshare, self.gshare = mshare, gshare
        self.exact: Dict[float, Tuple[float, float]] = {}    # α → (K_members, objective)

    def _objective(self, alpha: float, K: float) -> float:
        val = self.conv(alpha, K / (alpha - 1.0)) if math.isfinite(K) else math.inf
        return val if math.isfinite(val) else math.inf

    def model_values(self, al: np.ndarray) -> np.ndarray:
        K = _cgf_total(self.model, al - 1.0, self.gshare)
        return np.array([self._objective(a, k) for a, k in zip(al.tolist(), K.tolist())])

    def member_values(self, al) -> np.ndarray:
        al = np.asarray(al, dtype=float)
        new = np.array([a for a in al.tolist() if a not in self.exact])
        if new.size:
            K = _cgf_total(self.members, new - 1.0, self.mshare)
            for a, k in zip(new.tolist(), K.tolist()):
                self.exact[a] = (k, self._objective(a, k))
        return np.array([self.exact[a][1] for a in al.tolist()])

    def search(self) -> Tuple[float, float]:
        """(value, α): the members' best exact objective."""
        n = _GRID.shape[0]
        scan, vals = _scan(_recorder(self.model_values, []))
        s = int(np.argmin(vals))
        inside = np.nonzero((_GRID >= scan[max(s - 1, 0)])
                            & (_GRID <= scan[min(s + 1, len(scan) - 1)]))[0]
        if inside.size:
            c = int(inside[np.argmin(self.model_values(_GRID[inside]))])
        else:
            c = min(int(np.searchsorted(_GRID, scan[s])), n - 1)
        lo, hi = max(c - 2, 0), min(c + 2, n - 1)
        for _ in range(n):
            vals = self.member_values(_GRID[lo:hi + 1])
            b = lo + int(np.argmin(vals))
            if b == lo and lo > 0:
                lo = max(lo - 2, 0)
            elif b == hi and hi < n - 1:
                hi = min(hi + 2, n - 1)
            else:
                break
        if math.isfinite(self.exact[float(_GRID[b])][1]):
            self.member_values(_GRID[max(b - 2, 0):min(b + 2, n - 1) + 1])
            a_lo = float(_GRID[b - 1]) if b > 0 else 1.0 + (float(_GRID[0]) - 1.0) / 4
            a_hi = float(_GRID[b + 1]) if b + 1 < n else 1.0 + (float(_GRID[b]) - 1.0) * 1.25
            self._refine(math.log(a_lo - 1.0), math.log(a_hi - 1.0))
        alpha, (_, value) = min(self.exact.items(), key=lambda kv: kv[1][1])
        return value, alpha

    def _corrected(self):
        """The model times the interpolated correction, as a function of u = log(α − 1)."""
        al = np.array(sorted(self.exact))
        Kg = _cgf_total(self.model, al - 1.0, self.gshare)
        nodes = []
        for a, kg in zip(al.tolist(), Kg.tolist()):
            km = self.exact[a][0]
            if math.isfinite(km) and math.isfinite(kg) and km > 0 and kg > 0:
                nodes.append((math.log(a - 1.0), math.log(km) - math.log(kg)))
        if len(nodes) < 2:
            return None

        def f(u: float) -> float:
            # a local cubic through the four nearest nodes (one within _NODE_GAP of a nearer
            # one is passed over: quadrature noise would dominate its difference quotient)
            near = []
            for un, yn in sorted(nodes, key=lambda p: abs(p[0] - u)):
                if all(abs(un - um) > _NODE_GAP for um, _ in near):
                    near.append((un, yn))
                if len(near) == 4:
                    break
            y = _lagrange([p[0] for p in near], [p[1] for p in near], u)
            a = 1.0 + math.exp(u)
            kg = float(_cgf_total(self.model, np.array([a - 1.0]), self.gshare)[0])
            return self._objective(a, kg * math.exp(y)) if math.isfinite(y) else math.inf
        return f

    def _refine(self, u_lo: float, u_hi: float) -> None:
        """Step 2: a bracketed search on the members' exact objective (the bracket's ends
        and its best order evaluated exactly), each step to the corrected model's optimum,
        or a golden-section step of the bracket after a step that did not improve the best
        order. The model passes through every exact order, so once two of them are close
        to the optimum its slope there is a secant of the exact objective. It stops when
        the model expects to gain less than ``_F_TOL`` (relative) from its next step."""
        a_best, f_best = min(((a, v[1]) for a, v in self.exact.items()
                              if u_lo < math.log(a - 1.0) < u_hi), key=lambda p: p[1])
        u_best = math.log(a_best - 1.0)
        lo, hi, h, model_failed, model_err = u_lo, u_hi, 1e-3, False, math.inf
        for step in range(_MAX_EXACT):
            tol = _F_TOL * (1.0 + abs(f_best))
            model = None if model_failed else self._corrected()
            u, f_m, probe = None, math.inf, False
            if model is not None and step == 0:
                seen = []

                def g(x):
                    val = model(x)
                    seen.append((1.0 + math.exp(x), val))
                    return val
                minimize_bounded(g, lo, hi, xatol=1e-3)
                _polish(lambda a: g(math.log(a - 1.0)), seen)
                a_m, f_m = min(seen, key=lambda p: p[1])
                u = math.log(a_m - 1.0)
            elif model is not None:
                # one parabola through the model at the best order (where it is exact) and
                # two neighbours spaced by the last move, widened while it is not a minimum
                mid = model(u_best)
                for _ in range(8):
                    pts = [(x, model(x)) for x in (max(u_best - h, lo), min(u_best + h, hi))]
                    if mid <= min(pts[0][1], pts[1][1]) or h >= hi - lo:
                        break
                    h *= 4.0
                u = _parabola_vertex(pts[0], (u_best, mid), pts[1])
                if u is not None and lo < u < hi:
                    f_m = model(u)
            from_model = u is not None and lo < u < hi and math.isfinite(f_m)
            if from_model:
                # The model's slope at the best order is a secant of the exact objective
                # only once another exact order is close by: until then its step is taken
                # (a step it calls negligible by a probe _PROBE away), whatever it expects.
                secant = model_err <= tol or any(
                    0.0 < abs(math.log(a - 1.0) - u_best) <= 1e-2 for a in self.exact)
                if secant and (f_best - f_m <= tol or abs(u - u_best) <= 1e-9):
                    return          # the model expects nothing more
                if not secant and abs(u - u_best) < _PROBE:
                    u, probe = u_best + math.copysign(_PROBE, u - u_best), True
                    if not lo < u < hi:
                        return
            else:
                if hi - lo <= 1e-7:
                    return
                # golden section into the larger side of the bracket
                if hi - u_best >= u_best - lo:
                    u = u_best + _GOLDEN * (hi - u_best)
                else:
                    u = u_best - _GOLDEN * (u_best - lo)
            f = float(self.member_values([1.0 + math.exp(u)])[0])
            if from_model and not probe:
                model_err = abs(f - f_m)
            if f < f_best:
                if u > u_best:
                    lo = u_best
                else:
                    hi = u_best
                h = min(max(2.0 * abs(u - u_best), 1e-6), 1e-3)
                u_best, f_best, model_failed = u, f, False
            else:
                if u > u_best:
                    hi = u
                else:
                    lo = u
                # a failed model step is followed by one golden-section step
                model_failed = from_model and not probe


# The guided search stops when the corrected model expects to lower the objective by less
# than this (relative; the CGF margin of pad_cgf is 1e-9 of K), and after at most
# _MAX_EXACT exact evaluations of the members.
_F_TOL = 1e-12
_NODE_GAP = 1e-6
_PROBE = 1e-5
_MAX_EXACT = 8
_GOLDEN = 0.5 * (3.0 - math.sqrt(5.0))


# ----------------------------------------------------------------------------------------
# The engine
# ----------------------------------------------------------------------------------------
class RdpEngine:
    """Incremental RDP accounting of a growing history (docs/math.md §3).

    The history is held as its distinct mechanisms with their total step counts (in the
    order first composed); per mechanism and direction the engine keeps every CGF value it
    has evaluated, so a query after new steps evaluates only what it has not seen. The
    composed CGF at an order is Σ T·K̄ with K̄ the step's CGF raised by the quadrature
    margin (``pad_cgf``, docs/math.md §3.1) — an upper bound — and each direction is
    converted by Canonne–Kamath–Steinke (§3.2) at the best order found (§3.3).

    :func:`compute` (``epsilon(..., method="rdp")``) runs one engine over a schedule; the
    trainer accountant keeps one for its whole history. Both answer the same number for the
    same (mechanism, steps) counts.

    Parameters
    ----------
    orders : optional fixed list of orders α > 1 (no continuous search).
    """

    def __init__(self, orders: Optional[Sequence[float]] = None) -> None:
        self._orders = None if orders is None else _check_orders(orders)
        self._counts: Dict = {}
        self._members: Dict = {}
        self._guides: Dict = {}
        self._reps: Optional[Tuple[tuple, tuple]] = None

    @classmethod
    def from_schedule(cls, schedule: Schedule, orders: Optional[Sequence[float]] = None,
                      ) -> "RdpEngine":
        """An engine holding the steps of ``schedule``."""
        return cls(orders).compose(schedule)

    # -- history ---------------------------------------------------------------------------
    def compose(self, mechanism: MechanismLike, count: int = 1) -> "RdpEngine":
        """Add ``count`` steps of ``mechanism`` (or ``count`` repetitions of a Schedule).
        Steps that sample no one (:func:`accountant.mechanisms.is_identity`) spend nothing
        and are not recorded."""
        for m, steps in as_schedule(mechanism, count).segments:
            if not is_identity(m):
                self._counts[m] = self._counts.get(m, 0) + steps
        return self

    def reset(self) -> None:
        """Forget the steps; the CGF values evaluated so far are kept."""
        self._counts = {}

    @property
    def counts(self) -> Tuple[Tuple[object, int], ...]:
        """The distinct mechanisms with their step counts, in the order first composed."""
        return tuple(self._counts.items())

    # -- values ----------------------------------------------------------------------------
    def rdp(self, direction: str, orders: Sequence[float] | np.ndarray) -> np.ndarray:
        """The composed RDP upper bound Σ T·K̄(α − 1)/(α − 1) at every order of ``orders``
        in ``direction`` (docs/math.md §3.1)."""
        counts = self.counts
        if not counts:
            return np.zeros(np.shape(orders))
        orders = np.asarray(orders, dtype=float)
        group = _group_of(counts, direction, self._members)
        return _cgf_total(group, orders - 1.0, _NEGLIGIBLE / len(counts)) / (orders - 1.0)

    def epsilon(self, delta: float, *, upper_schedule: Optional[Schedule] = None,
                lower_schedule: Optional[Schedule] = None) -> Result:
        """Certified ε(δ) of the history (docs/math.md §3.2, §3.3, §3.4).

        Parameters
        ----------
        delta : in (0, 1).
        upper_schedule, lower_schedule : schedules that dominate / are dominated by the
            history, on which pure DP and basic composition (upper) and the exact lower
            bound (lower) are taken; default the history itself.
        """
        return self._query("epsilon", float(delta), upper_schedule, lower_schedule)

    def delta(self, epsilon: float, *, upper_schedule: Optional[Schedule] = None,
              lower_schedule: Optional[Schedule] = None) -> Result:
        """Certified δ(ε) of the history, ε ≥ 0 (as :meth:`epsilon`)."""
        return self._query("delta", float(epsilon), upper_schedule, lower_schedule)

    def _query(self, quantity: str, at: float, up_sched, lo_sched) -> Result:
        if not self._counts:
            return Result(quantity, at, 0.0, 0.0, 0.0, True, "rdp", details={"steps": 0})
        sched = Schedule(self.counts)
        _STATE.left, _STATE.exhausted = _RDP_BUDGET, False
        try:
            value, info = self._optimum(quantity, at)
            res = certify(quantity, at, value, info, sched if up_sched is None else up_sched,
                          sched if lo_sched is None else lo_sched)
            exhausted = _STATE.exhausted
        finally:
            _STATE.left, _STATE.exhausted = None, False
        if exhausted:
            res = dataclasses.replace(res, warnings=res.warnings + (
                "budget_exhausted: the CGF quadratures of this query reached their work "
                "budget (a loss whose CGF needs quadrature, at large orders); the remaining "
                "orders used the coupling bound, valid but looser",))
        return res

    # -- the order search ------------------------------------------------------------------
    def _directions(self, counts) -> List[str]:
        """The directions to compose (docs/math.md §1.3), those whose every step has closed
        forms at integer orders first: their exact optimum can then rule out the others
        without a quadrature."""
        dirs = []
        for m, _ in counts:
            for pl in privacy_losses(m):
                if pl.direction not in dirs:
                    dirs.append(pl.direction)

        def cheap(d):
            return all(member.loss.cgf_closed_at_integers
                       for member, _ in _group_of(counts, d, self._members))
        return sorted(dirs, key=lambda d: not cheap(d))

    def _representatives(self, counts):
        """(dominating, central) representatives of ``counts``, cached until the history
        changes."""
        if self._reps is None or self._reps[0] != counts:
            if len(self._guides) > 4096:
                self._guides = {}       # representatives of earlier histories
            self._reps = (counts, (dominating_schedule(counts, _REPS, dominate=True)[0],
                                   central_schedule(counts, _MODEL_REPS)[0]))
        return self._reps[1]

    def _optimum(self, quantity: str, at: float) -> Tuple[float, dict]:
        """The worst direction's min over orders of the conversion: ε, or log δ.

        A direction is fully optimised only when it can matter: after the worst direction
        so far (value v at order α*), a direction whose objective at α* — with many
        members, that of their dominating representatives, which bounds it from above — is
        already ≤ v has its own minimum ≤ v as well, cannot raise the maximum and is
        skipped. Up to ``_EXACT_MEMBERS`` distinct mechanisms (or with fixed ``orders``)
        the members' objective is minimised directly (:func:`_minimise`), beyond that by
        :class:`_Guided`; both return the members' exact objective at an order."""
        conv = _conversion(quantity, at)
        counts = self.counts
        share = _NEGLIGIBLE / len(counts)
        guided = self._orders is None and len(counts) > _EXACT_MEMBERS
        if guided:
            upper, central = self._representatives(counts)
            # nothing to merge: the members are their own model
            guided = len(central) < len(counts)
        worst, info, skipped = -math.inf, {}, []
        for d in self._directions(counts):
            members = _group_of(counts, d, self._members)
            at_order = info.get("order") if self._orders is None else None
            if guided:
                if at_order is not None:
                    # the dominating representatives bound the members from above
                    bound = _cgf_total(_group_of(upper, d, self._guides),
                                       np.array([at_order - 1.0]), _NEGLIGIBLE / len(upper))
                    if conv(at_order, float(bound[0]) / (at_order - 1.0)) <= worst:
                        skipped.append(d)
                        continue
                search = _Guided(members, _group_of(central, d, self._guides), conv, share,
                                 _NEGLIGIBLE / len(central))
                val, alpha = search.search()
            else:
                def values(al, members=members):
                    K = _cgf_total(members, al - 1.0, share)
                    return [conv(a, r) for a, r in zip(al.tolist(), (K / (al - 1.0)).tolist())]
                seen = []
                if at_order is not None:
                    at_best = values(np.array([at_order]))[0]
                    seen.append((at_order, at_best if math.isfinite(at_best) else math.inf))
                    if at_best <= worst:
                        skipped.append(d)
                        continue
                val, alpha = _minimise(values, self._orders, seen)
            if val >= worst:
                worst, info = val, {"order": alpha, "direction": d}
        if skipped:
            info["skipped_directions"] = skipped
        return worst, info


def _basic_may_help(schedule, dirs, eps_total: float, delta: float) -> bool:
    """Basic composition (each step at δ/T) can beat ``eps_total`` only if some step has
    δ_i(ε_total/T) ≤ δ/T; one hockey-stick value per mechanism decides it, and then one
    certified bound, since basic composition adds certified one-step values: where those
    cannot reach δ/T (ELS(1e12, 1e-15, 256): the loss is ~1e-24, below the rounding of
    the bound) its root search evaluated ~600 hopeless bounds for 20 s."""
    T = schedule.steps
    e = np.array([eps_total / T])
    # (every direction of one mechanism: basic composition takes the worst of them)
    for m, _ in schedule.counts():
        pls = [loss_for(m, d) for d in dirs]
        if all(float(pl.hockey_stick(e)[0]) <= delta / T for pl in pls) and all(
                _exact.one_step_log_delta_bound(pl, float(e[0]), "upper")
                <= math.log(delta) - math.log(T) for pl in pls):
            return True
    return False


def certify(quantity: str, at: float, value: float, info: dict, up_sched: Schedule,
            lo_sched: Schedule) -> Result:
    """The certified RDP Result from the conversion's optimum ``value`` (ε, or log δ).

    Adds the other certified upper bounds (pure DP for Laplace steps, basic composition)
    on ``up_sched`` — the schedule itself or one that dominates it — and the exact lower
    bound of :mod:`accountant.accountants.exact` on ``lo_sched`` (the schedule or one it dominates).
    """
    pure = _exact.pure_epsilon(up_sched)
    if quantity == "epsilon":
        upper = min(max(value, 0.0), pure)
        if pure <= value:
            info = {"pure_dp": True}
        if upper > 0 and _basic_may_help(up_sched, directions_of(up_sched), upper, at):
            basic = _exact.basic_composition_epsilon(up_sched, at)
            if basic < upper:
                upper, info = basic, {"basic_composition": True}
        lower = min(_exact.composed_lower_epsilon(lo_sched, at), upper)
    else:
        # log δ ≥ 0 means δ ≤ 1 says nothing; an underflow is rounded up, not to 0
        upper = _exact.exp_up(min(value, 0.0))
        basic = _exact.basic_composition_delta(up_sched, at)
        if basic < upper:
            upper, info = basic, {"basic_composition": True}
        if at >= pure:
            upper = 0.0
        lower = min(_exact.composed_lower_delta(lo_sched, at), upper)
    return Result(quantity, at, upper, lower, upper, True, "rdp", details=info)


_ORDERS_MSG = "orders must be a non-empty list of finite real numbers in (1, inf)"


def _check_orders(orders) -> np.ndarray:
    """A 1-d float array of orders α > 1, or a ValueError naming ``orders`` (a dict, a
    set, a string, complex or non-numeric entries are refused, not passed to numpy)."""
    if isinstance(orders, (str, bytes, dict, set, frozenset)):
        raise ValueError(f"{_ORDERS_MSG}, got {type(orders).__name__}")
    if isinstance(orders, np.ndarray):
        items = orders.ravel().tolist() if orders.ndim == 1 else None
    else:
        try:
            items = list(orders)
        except TypeError:
            items = None
    if not items:
        raise ValueError(f"{_ORDERS_MSG}, got {orders!r:.60}")
    out = []
    for a in items:
        if isinstance(a, bool) or not isinstance(a, numbers.Real):
            raise ValueError(f"{_ORDERS_MSG}, got an entry {a!r:.40}")
        try:
            f = float(a)
        except (OverflowError, ValueError, TypeError):
            raise ValueError(f"{_ORDERS_MSG}, got an entry {a!r:.40}") from None
        if not (1.0 < f < math.inf):
            raise ValueError(f"{_ORDERS_MSG}, got an entry {a!r:.40}")
        out.append(f)
    if len(out) > 10_000:
        raise ValueError(f"orders must hold at most 10000 orders, got {len(out)}")
    return np.array(out)


def check_options(orders: Optional[Sequence[float]] = None, **options) -> Optional[np.ndarray]:
    """orders validated (None: the continuous search); ValueError naming a bad option."""
    if options:
        raise ValueError(f"unknown option(s) for method 'rdp': {', '.join(sorted(options))}")
    return None if orders is None else _check_orders(orders)


@register("rdp", options=check_options)
def compute(schedule: Schedule, *, delta: Optional[float] = None, epsilon: Optional[float] = None,
            orders: Optional[Sequence[float]] = None, **options) -> Result:
    """RDP ε(δ) or δ(ε) of a schedule: :class:`RdpEngine` run once over its steps.

    Parameters
    ----------
    orders : optional fixed list of orders α > 1 (disables the continuous search, e.g. to
        reproduce a peer's grid).
    """
    orders = check_options(orders, **options)
    engine = RdpEngine.from_schedule(schedule, orders)
    if delta is not None:
        return engine.epsilon(delta)
    return engine.delta(epsilon)
