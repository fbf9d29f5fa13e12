"""Rényi-DP accountant.

The RDP of one step in a direction is D_α(Q‖P) = K_Y(α−1)/(α−1), read from the privacy
loss (docs/math.md §1.4, §3); RDP adds over steps; each direction is converted to (ε, δ)
separately and the worse is reported. The conversion is Canonne, Kamath & Steinke 2020
(arXiv 2004.00010, Prop. 12):

    ε(δ) = min_α  R(α) + log1p(−1/α) − (log δ + log α)/(α − 1),
    log δ(ε) = min_α (α − 1)(R(α) − ε + log1p(−1/α)) − log α,

valid for every real α > 1. The order is optimised continuously: a coarse geometric scan,
then Brent's method on log(α − 1) around the best scanned order; the minimum over every
evaluated order is returned, so adding orders can only lower the bound.

Laplace steps also satisfy pure ε₀-DP; the pure bound Σ T_i ε₀,i is taken when it is lower,
and so is basic composition (each step at δ/T), which is what certifies ε → 0 as q → 0
or σ → ∞.
The lower bound reported beside the upper one is exact for Gaussian-only schedules (μ-GDP)
and otherwise the exact ε of the leakiest single step (post-processing); both, and the
one-step values basic composition adds up, come from :mod:`accountant.accountants.exact` as bounds
rounded to their side (a single step is therefore bracketed, not rounded to nearest).
"""
from __future__ import annotations

import dataclasses
import math
import threading
import numbers

import numpy as np

from . import exact as _exact
from ..core._optimize import minimize_bounded
from .api import register
from ..core.bounds import Result
from ..loss import directions_of, loss_for

# Coarse scan of orders (α); Brent refines between neighbours of the best one.
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


def _cgf_cheap(pl, steps, t, share):
    """The loss's cheap upper bound on K(t) when it proves steps·K(t) ≤ share (it then
    replaces K), else None."""
    b = pl.cgf_upper(t) if t > 0 else None
    if b is not None and steps * b <= share:
        return b
    return None


# Outside the closed forms K comes from adaptive quadrature (rtol 1e-11, QUADPACK-style
# error estimates): each step's K is raised by 100× that tolerance (docs/math.md §3.1), and a
# K that is not a number gives no bound (inf), never NaN.
_CGF_REL = 1e-9


def pad_cgf(pl, k):
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


def _cgf_value(pl, steps, t, share):
    """K(t) of one step: the cheap upper bound where negligible or past the budget, else
    the loss's CGF."""
    k = _cgf_cheap(pl, steps, t, share)
    if k is not None:
        return k
    if _over_budget(pl, t):
        return pl.cgf_upper(t)
    return pl.cgf(t)


def rdp_of(schedule, direction: str, order: float) -> float:
    """Total RDP of the schedule at ``order`` in ``direction``: Σ T_i K_i(α−1)/(α−1)."""
    total = 0.0
    counts = schedule.counts()
    share = _NEGLIGIBLE / len(counts)
    for m, steps in counts:
        pl = loss_for(m, direction)
        k = _cgf_value(pl, steps, order - 1.0, share)
        total += steps * float(pad_cgf(pl, k))
    return total / (order - 1.0)


def rdp_many(schedule, direction: str, orders) -> np.ndarray:
    """Total RDP at every order of ``orders`` (one vectorised CGF call per mechanism)."""
    orders = np.asarray(orders, dtype=float)
    total = np.zeros_like(orders)
    counts = schedule.counts()
    share = _NEGLIGIBLE / len(counts)
    for m, steps in counts:
        pl = loss_for(m, direction)
        ts = orders - 1.0
        cheap = [_cgf_cheap(pl, steps, t, share) for t in ts]
        cheap = [pl.cgf_upper(t) if c is None and _over_budget(pl, t) else c
                 for c, t in zip(cheap, ts)]
        todo = np.array([c is None for c in cheap])
        k = np.array([0.0 if c is None else c for c in cheap])
        if todo.any():
            many = getattr(pl, "cgf_many", None)
            k[todo] = np.asarray(many(ts[todo]) if many is not None else pl.cgf(ts[todo]),
                                 dtype=float)
        total += steps * pad_cgf(pl, k)
    return total / (orders - 1.0)


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


def _minimise(objective, orders=None, scan_values=None):
    """min over α of objective(α): scan, then Brent on log(α−1). Returns (value, α).

    ``scan_values(orders)`` may give the objective on the whole scan at once."""
    scan = _SCAN if orders is None else np.asarray(orders, dtype=float)

    def evaluate(al):
        if scan_values is not None:
            out = np.array(scan_values(al), dtype=float)
        else:
            out = np.array([objective(a) for a in al])
        # An order whose divergence could not be evaluated is skipped, never trusted.
        out[~np.isfinite(out)] = np.inf
        return out

    vals = evaluate(scan)
    if orders is None:
        while np.argmin(vals) == len(scan) - 1 and scan[-1] < _MAX_ORDER:
            more = scan[-1] * np.array([2.0, 4.0, 8.0])
            scan, vals = np.concatenate([scan, more]), np.concatenate([vals, evaluate(more)])
        while np.argmin(vals) == 0 and scan[0] > 1 + 1e-6:
            more = 1.0 + (scan[0] - 1.0) * np.array([0.0625, 0.25])
            scan, vals = np.concatenate([more, scan]), np.concatenate([evaluate(more), vals])
    if not np.any(np.isfinite(vals)):
        if orders is not None:
            raise ValueError("orders: none of the given orders yields a finite RDP bound "
                             "(the divergence overflows there); give smaller orders or "
                             "omit orders")
        raise RuntimeError("internal error: no RDP order could be evaluated")
    best = int(np.argmin(vals))
    value, alpha = float(vals[best]), float(scan[best])
    if orders is not None:
        return value, alpha
    lo = scan[max(best - 1, 0)]
    hi = scan[min(best + 1, len(scan) - 1)]
    if hi > lo and lo >= 48:
        # Large orders: the curve is flat there; a ternary search over integer orders
        # (closed forms, cheap) loses nothing that matters.
        a, b = int(math.ceil(lo)), int(math.floor(hi))
        cache = {}

        def g(k):
            if k not in cache:
                val = objective(float(k))
                cache[k] = val if math.isfinite(val) else math.inf
            return cache[k]
        while b - a > 2:
            m1, m2 = a + (b - a) // 3, b - (b - a) // 3
            if g(m1) <= g(m2):
                b = m2
            else:
                a = m1
        for k in range(a, b + 1):
            if g(k) < value:
                value, alpha = g(k), float(k)
    elif hi > lo:
        seen = {}

        def f(u):
            a = 1.0 + math.exp(u)
            val = objective(a)
            if not math.isfinite(val):
                val = math.inf
            seen[a] = val
            return val
        minimize_bounded(f, math.log(lo - 1.0), math.log(hi - 1.0), xatol=1e-3)
        for a, val in seen.items():
            if val < value:
                value, alpha = val, a
    return value, alpha


def _per_direction(schedule, dirs, objective_at, orders):
    """min over α of the conversion, worst over directions. Returns (value, info).

    A direction is fully optimised only when it can matter: after the first direction's
    optimum (value v at order α*), a later direction whose objective at α* is already ≤ v
    has its own minimum ≤ v as well, so it cannot change the maximum and is skipped.
    """
    worst, info = -math.inf, {}
    for d in dirs:
        if info and orders is None:
            at_best = objective_at(d, info["order"])
            if at_best <= worst:
                continue
        val, alpha = _minimise(
            lambda a: objective_at(d, a), orders,
            lambda al: [objective_at(d, a, r) for a, r in zip(al, rdp_many(schedule, d, al))])
        if val >= worst:
            worst, info = val, {"order": alpha, "direction": d}
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


def certify(quantity: str, at: float, value: float, info: dict, up_sched, lo_sched) -> Result:
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


def check_options(orders=None, **options):
    """orders validated (None: the continuous search); ValueError naming a bad option."""
    if options:
        raise ValueError(f"unknown option(s) for method 'rdp': {', '.join(sorted(options))}")
    return None if orders is None else _check_orders(orders)


@register("rdp", options=check_options)
def compute(schedule, *, delta=None, epsilon=None, orders=None, **options) -> Result:
    """RDP ε(δ) or δ(ε) of a schedule.

    Parameters
    ----------
    orders : optional fixed list of orders α > 1 (disables the continuous search, e.g. to
        reproduce a peer's grid).
    """
    orders = check_options(orders, **options)
    dirs = directions_of(schedule)
    _STATE.left, _STATE.exhausted = _RDP_BUDGET, False
    try:
        if delta is not None:
            def obj(d, a, r=None):
                return epsilon_from_rdp(a, rdp_of(schedule, d, a) if r is None else r, delta)
            worst, info = _per_direction(schedule, dirs, obj, orders)
            res = certify("epsilon", delta, worst, info, schedule, schedule)
        else:
            def obj(d, a, r=None):
                return log_delta_from_rdp(a, rdp_of(schedule, d, a) if r is None else r,
                                          epsilon)
            worst, info = _per_direction(schedule, dirs, obj, orders)
            res = certify("delta", epsilon, worst, info, schedule, schedule)
        exhausted = _STATE.exhausted
    finally:
        _STATE.left, _STATE.exhausted = None, False
    if exhausted:
        res = dataclasses.replace(res, warnings=res.warnings + (
            "budget_exhausted: the CGF quadratures of this query reached their work budget "
            "(a mixture with many components at large orders); the remaining orders used "
            "the coupling bound, valid but looser",))
    return res
