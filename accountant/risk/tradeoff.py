"""Certified trade-off curves and true-positive rates from the privacy profile
(docs/math.md §15).

For add/remove neighbours the tightest f-DP curve of a mechanism whose privacy profile
(the max over both directions) is δ(ε), ε ≥ 0, is (Dong–Roth–Su 2019, Prop. 2.12; the
symmetrisation of their Def. F.1 is implied, §15.1)

    f(α) = sup_{ε ≥ 0} max{0, 1 − δ(ε) − e^ε α, e^{−ε}(1 − δ(ε) − α)},

so the largest true-positive rate at false-positive rate α is

    TPR(α) = 1 − f(α) = min{1, inf_{ε ≥ 0} min[g₁(ε), g₂(ε)]},
    g₁(ε) = δ(ε) + e^ε α,   g₂(ε) = 1 − e^{−ε} + e^{−ε}(δ(ε) + α).

Both g's grow with δ. *Upper bound*: any finite set of ε with a proven upper bound on
δ(ε) gives a proven upper bound on TPR (each term is one valid line). *Lower bound*: on a
cell [E_j, E_{j+1}], g₁(ε) ≥ e^{E_j}α + δ(E_{j+1}) and g₂(ε) ≥ 1 − e^{−E_j}·max(0,
1 − δ(E_{j+1}) − α) (δ is non-increasing), and beyond the last point E_N,
g₁ ≥ e^{E_N}α, g₂ ≥ 1 − e^{−E_N}(1 − α); so proven lower bounds on δ at the grid points
give a proven lower bound on TPR (§15.3). The cells are split where their bound is below
the best upper bound until the two meet within the requested accuracy: the bracket is
then limited by the profile's own width at the optimal ε (where δ′(ε) = −e^ε α).
"""
from __future__ import annotations

import math
import time
from typing import Callable, Optional, Sequence, Tuple

import numpy as np

from ..core import _validate as v
from ..core.bounds import emit_warnings
from ..core.mechanisms import MechanismLike, as_schedule
from ..accountants.api import DEFAULT_METHOD, METHODS
from .profile import ProfileSource, initial_center
from .results import RiskResult, TradeoffCurve

__all__ = ["tpr", "tradeoff", "tpr_bracket", "make_source"]

_U = 2.0 ** -53
_ROUND = 16 * _U          # relative rounding margin of the few operations per line
_TINY = 16 * 2.0 ** -1074  # absolute margin: below 2^-1022 (subnormal α) rounding is absolute
_MAX_POINTS = 1500        # ε points per α (the loop stops earlier when the bracket meets)
_DEFAULT_RTOL = 1e-3


def make_source(mechanism: MechanismLike, steps: int, method: Optional[str], rtol: float,
                options: dict) -> ProfileSource:
    """Validate the common arguments and open the profile source (δ accuracy rtol/4)."""
    schedule = as_schedule(mechanism, steps)
    # v.choice first: a non-string method (method=1) is a named ValueError, not an
    # AttributeError of str.startswith
    name = DEFAULT_METHOD if method is None else v.choice("method", method, METHODS)
    if name.startswith("group-"):
        raise ValueError(f"method must be one of 'pld', 'rdp', 'edgeworth', 'saddlepoint' "
                         f"for trade-off curves, got {name!r}: the group methods answer "
                         "ELS schedules through their own epsilon/delta only")
    return ProfileSource(schedule, name, options, window_rtol=max(rtol / 4.0, 1e-6))


def _lines_upper(d, e, a):
    """min(g₁, g₂) at the points (e, d): valid upper bounds when d bounds δ from above."""
    g1 = d + np.exp(e) * a
    g2 = -np.expm1(-e) + np.exp(-e) * (d + a)
    return np.minimum(g1, g2)


def cell_exps(E):
    """(e^{E_j}, e^{−E_j}, 1 − e^{−E_j}) of the cells' left ends: what :func:`_cells_lower`
    needs of the grid, computed once when many α share it."""
    e0 = E[:-1]
    return np.exp(e0), np.exp(-e0), -np.expm1(-e0)


def _cells_lower(E, dl, a, exps=None):
    """Lower bound of min(g₁, g₂) on each cell [E_j, E_{j+1}] from lower bounds dl on δ at
    the grid points, and the bound beyond the last point (docs/math.md §15.3)."""
    ex, emx, em1 = cell_exps(E) if exps is None else exps
    d1 = dl[1:]
    g1 = ex * a + d1
    rest = 1.0 - d1 - a
    g2 = np.where(rest > 0, em1 + emx * (d1 + a), 1.0)
    cells = np.minimum(g1, g2)
    en = E[-1]
    # e^E_N may overflow (E_N > 709 when α is subnormal): then g₁'s bound is +∞, not an error
    tail = min(a * math.exp(en) if en < 709.0 else math.inf, -math.expm1(-en) + math.exp(-en) * a)
    return cells, tail


def round_lower(L: float, a: float) -> float:
    """A computed lower bound on TPR(α) rounded down for its few operations (relative, and
    absolute below the normal range), and never below α (guessing)."""
    return max(a, L * (1.0 - _ROUND) - _TINY)


def tpr_bracket(source: ProfileSource, alpha: float, rtol: float = _DEFAULT_RTOL,
                hint: Optional[float] = None, width: Optional[Callable[[float], float]] = None,
                ) -> Tuple[float, float, float, dict]:
    """(lower, upper, estimate, details) of TPR(α) = 1 − f(α) from ``source``.

    Adaptive: start from a coarse ε grid over [0, log(2/α)], split every cell whose
    lower bound lies below the best upper bound by more than the target, until the
    bracket is within ``rtol`` (relative to the upper bound) or the profile's own width
    stops it. With a windowed (PLD) source, a window is composed at the best ε when no
    window holds it (at most four per α). ``width(U)``, when given, replaces the target
    width rtol·U (the μ-GDP fit needs TPR near 1 to an absolute accuracy)."""
    a = float(alpha)
    # log(2) − log(α), not log(2/α): 2/α overflows for subnormal α (α = 5e-324 is valid)
    top = math.log(2.0) - math.log(a) + 1.0
    E = np.unique(np.concatenate([[0.0], np.geomspace(1e-3, top, 24),
                                  np.linspace(0.0, top, 25)]))
    if source.windowed and source.n_windows == 0:
        source.add_window(hint if hint is not None else initial_center(source, a))
    for _round in range(5):
        lo, up, est = source.bounds(E)
        last = None
        for _it in range(60):
            U_pts = _lines_upper(up, E, a)
            j = int(np.argmin(U_pts))
            U = min(1.0, float(U_pts[j]))
            cells, tail = _cells_lower(E, lo, a)
            L = min(float(cells.min()), tail)
            target = rtol * U if width is None else width(U)
            if U - L <= target or len(E) >= _MAX_POINTS:
                break
            # The lines through the profile's *lower* bounds are what the cells' bound
            # tends to on an ever finer grid (at most). When that floor alone misses the
            # target (a loose δ lower bound: rdp, the estimates' rigorous intervals) and
            # the grid's part of the gap is a tenth of the profile's, splitting every low
            # cell only costs δ queries (rdp and saddlepoint reached 1500 of them): then
            # only the best upper line (and the estimate's) is sharpened, by bisection
            # around its point, until it moves by less than 1e-3 of the target.
            floor = min(1.0, float(_lines_upper(lo, E, a).min()))
            if U - floor > target and floor - L <= 0.1 * (U - floor):
                est_lines = _lines_upper(est, E, a)
                k_est = int(np.argmin(est_lines))
                now = (U, float(est_lines[k_est]))
                if last is not None and all(p - n <= 1e-3 * target for p, n in zip(last, now)):
                    break
                last = now
                ks = {j - 1, j, k_est - 1, k_est}
                new = [0.5 * (E[k] + E[k + 1]) for k in sorted(ks)
                       if 0 <= k < len(E) - 1 and E[k + 1] - E[k] > 1e-9]
                if max(j, k_est) == len(E) - 1:
                    new.append(E[-1] * 1.5 + 1.0)
            else:
                thr = U - 0.5 * target
                split = np.nonzero(cells < thr)[0]
                new = [0.5 * (E[k] + E[k + 1]) for k in split if E[k + 1] - E[k] > 1e-9]
                if tail < thr:
                    new.append(E[-1] * 1.5 + 1.0)
            if not new:
                break
            newE = np.array(new)
            l2, u2, e2 = source.bounds(newE)
            E = np.concatenate([E, newE])
            order = np.argsort(E, kind="stable")
            E = E[order]
            lo = np.concatenate([lo, l2])[order]
            up = np.concatenate([up, u2])[order]
            est = np.concatenate([est, e2])[order]
        best_eps = float(E[j])
        if not source.windowed or source.covers(best_eps) or source.n_windows >= 4:
            break
        source.add_window(best_eps)
    U = min(1.0, U * (1.0 + _ROUND) + _TINY)
    L = min(round_lower(L, a), U)
    if source.certified:
        estimate = U
    else:
        estimate = min(1.0, float(_lines_upper(est, E, a).min()))
        estimate = min(max(estimate, a), 1.0)
    details = {"epsilon_at_optimum": best_eps, "points": int(len(E)),
               "windows": source.n_windows}
    return L, U, estimate, details


def _common(rtol):
    return _DEFAULT_RTOL if rtol is None else v.positive("rtol", rtol)


def tpr(mechanism: MechanismLike, fpr: float, steps: int = 1, *, method: Optional[str] = None,
        rtol: Optional[float] = None, **options) -> RiskResult:
    """The largest true-positive rate of any membership-inference test at false-positive
    rate ``fpr``, as a bracket (docs/math.md §15.3).

    Parameters
    ----------
    mechanism : a mechanism or a Schedule (as :func:`accountant.epsilon`).
    fpr : the false-positive rate α, in (0, 1).
    steps : repetitions, integer ≥ 1.
    method : "pld" (default, certified), "rdp" (certified, loose), "edgeworth" or
        "saddlepoint" (estimates, labelled as such).
    rtol : bracket width relative to the upper bound (default 1e-3).
    **options : the method's options.

    Returns
    -------
    RiskResult with quantity "tpr"; ``float(r)`` is the upper bound (the attacker's best
    case) for certified methods.
    """
    t0 = time.perf_counter()
    a = v.open_probability("fpr", fpr)
    rt = _common(rtol)
    source = make_source(mechanism, steps, method, rt, options)
    L, U, est, details = tpr_bracket(source, a, rt)
    res = RiskResult("tpr", {"fpr": a}, est, L, U, source.certified, source.method,
                     _width_warnings(source, L, U, rt), details,
                     time.perf_counter() - t0)
    emit_warnings(res.warnings, res.method)
    return res


def _width_warnings(source, L, U, rtol):
    out = list(source.warnings)
    if source.certified and U - L > rtol * U * 1.0001:
        out.append(f"bracket_wider_than_requested: width {U - L:.3g} > {rtol * U:.3g} "
                   "(the profile's own bracket at the optimal epsilon)")
    return tuple(out)


def default_alphas() -> np.ndarray:
    """The default false-positive rates of a curve: 1e-10 … 1 on a log scale, denser
    above 1e-3, plus the linear part that an ROC on linear axes shows."""
    return np.unique(np.concatenate([np.geomspace(1e-10, 1e-3, 15),
                                     np.geomspace(1e-3, 0.999, 25),
                                     np.linspace(0.05, 0.95, 19)]))


def tradeoff(mechanism: MechanismLike, steps: int = 1, *, alphas: Optional[Sequence[float]] = None,
             method: Optional[str] = None, rtol: Optional[float] = None,
             **options) -> TradeoffCurve:
    """The trade-off curve β(α) = f(α) with a certified band (docs/math.md §15).

    Parameters
    ----------
    mechanism, steps, method, options : as :func:`tpr`.
    alphas : false-positive rates in (0, 1) (default :func:`default_alphas`).
    rtol : width of each point's TPR bracket relative to its upper bound (default 1e-2
        for curves).

    Returns
    -------
    TradeoffCurve — ``beta_lower ≤ β(α) ≤ beta_upper`` at every α when certified.
    """
    t0 = time.perf_counter()
    if alphas is None:
        al = default_alphas()
    else:
        items = v.items("alphas", alphas)
        if not items:
            raise ValueError("alphas must hold at least one false-positive rate in (0, 1)")
        al = np.array(sorted({v.open_probability(f"alphas[{i}]", x)
                              for i, x in enumerate(items)}))
    rt = 1e-2 if rtol is None else v.positive("rtol", rtol)
    source = make_source(mechanism, steps, method, rt, options)
    lo = np.empty(al.size)
    up = np.empty(al.size)
    es = np.empty(al.size)
    hint = None
    widest = 0.0
    # From large α to small: the optimal ε grows, and each α starts at the last one's.
    for i in range(al.size - 1, -1, -1):
        L, U, E, det = tpr_bracket(source, float(al[i]), rt, hint)
        hint = det["epsilon_at_optimum"]
        lo[i], up[i], es[i] = L, U, E
        widest = max(widest, (U - L) / U)
    warns = list(source.warnings)
    if source.certified and widest > rt * 1.0001:
        warns.append(f"bracket_wider_than_requested: widest point {widest:.3g} of TPR "
                     f"> rtol {rt:.3g}")
    curve = TradeoffCurve(al, np.maximum(1.0 - up, 0.0), np.maximum(1.0 - lo, 0.0),
                          np.maximum(1.0 - es, 0.0), source.certified, source.method,
                          tuple(warns), {"windows": source.n_windows},
                          time.perf_counter() - t0)
    emit_warnings(curve.warnings, curve.method)
    return curve
