"""Build the shipped noise table ``accountant/data/noise_table.npz`` (see :mod:`accountant.calibration.lookup`).

Regenerate with one command (single process; the shipped table took 60 min of CPU and
73 min wall-clock on a shared 2-core machine: 627 138 lattice points, 3.1 MB)::

    nice python -m accountant.calibration.lookup_build --work /tmp/noise_table_work

``--work`` keeps one checkpoint per sample-rate row, so an interrupted build resumes where
it stopped; ``--pack-only`` re-packs existing checkpoints. ``--quick`` builds a small
lattice (a few minutes) for trying the pipeline out.

What is computed
----------------
A lattice of Poisson-subsampled Gaussian mechanisms (add/remove adjacency): sample rates
``q`` (geometric, ratio :data:`Q_RATIO`, from 1e-3 to 1), step counts ``T`` (geometric,
ratio :data:`T_RATIO`, rounded up to integers, from 10 to 1e5; each q row thins its T
list where the optimal σ hardly depends on T, judged from the calibrated grid kept in the
table — a choice of density, never of validity) and noise multipliers
``σ_j = exp(j·ln S_RATIO)`` on one global geometric grid. For every lattice point one FFT
composition of the PLD accountant (:mod:`accountant.accountants.pld.bracket`, the same certified discretisation
and error terms as ``accountant.epsilon``) gives a certified bracket
``lower ≤ ε(δ) ≤ upper`` at all seven δ of :data:`DELTAS` at once: the composed discrete
PLD is exact in δ(ε) and is read at each δ; a δ whose answer falls outside the FFT window,
or whose certified error floor is not ≪ δ, is recomposed with its own tilt.

Both neighbouring directions count (ε is the larger): the "remove" direction is composed in
full; the "add" direction is first bounded by a Chernoff bound of its discrete upper PLD
(valid at every tilt t > 0), and composed only when that bound does not already lie below
the remove direction's upper bound. The lower bound is the remove direction's (a lower
bound on one direction is one on the maximum).

For each (q, T) the σ range is walked upward from the largest σ_j whose upper ε at the
largest δ still exceeds :data:`EPS_RANGE`'s top, to the first σ_j whose upper ε at the
smallest δ is below its bottom, so every in-range query finds its answer inside the row.
The q = 1 row is the Gaussian mechanism, whose exact μ-GDP closed form is used. Where the
lower bound needs a much finer grid than the upper one (small q and σ: the lowered chords
degenerate once most of a step's loss lies within one cell of 0) it is computed on every
:data:`LOWER_EVERY`-th σ only (see docs/math.md §8).

This module relies on private helpers of :mod:`accountant.accountants.pld.bracket` (``_Direction``,
``_saddle_lambda_for_delta``, ``_pow2_floor``): if those change, update it with them.

Size: one job, the maintainer's rebuild of the shipped table (grid, resumable work files,
parallel workers, checks and its own ``python -m`` command); nothing imports it at run time.
"""
from __future__ import annotations

import argparse
import math
import os
import pickle
import sys
import time
from typing import Callable, Collection, List, Optional

import numpy as np

__all__ = ["build", "pack", "Q_RATIO", "T_RATIO", "S_RATIO", "DELTAS", "EPS_RANGE"]

# ----------------------------------------------------------------------------------------
# The lattice
# ----------------------------------------------------------------------------------------
EPS_RANGE = (1.0, 8.0)
DELTAS = tuple(10.0 ** e for e in (-8.0, -7.5, -7.0, -6.5, -6.0, -5.5, -5.0))
Q_RANGE = (1e-3, 1.0)
T_RANGE = (10, 100_000)
Q_RATIO = 1.05
T_RATIO = 1.12
S_RATIO = 1.03
LOG_S = math.log(S_RATIO)

# Quantisation of the stored values (accountant.calibration.lookup reads them back): ln ε on a grid of
# 1/SCALE, the upper bound rounded up and the lower bound rounded down, so both stay proven.
SCALE = 4096
# Extra relative margin on every stored ε (both sides, outward). The shipped lattice was
# computed before accountant.accountants.pld.bracket raised its quadrature margin from 2e-13·T to 5e-13·T in δ
# (commit cb4fa5d): 1e-6 in ε covers that ≤ 3e-8 in δ wherever |d ln δ/dε| ≥ 0.03, and the
# smallest slope between stored δ in the whole table is 0.30. It moves 0.4 % of the stored
# values by one quantum (2.4e-4 relative).
PACK_MARGIN = 1e-6
GAP_NONE = 65535        # stored gap meaning "no certified lower bound at this point"

# Accuracy wanted from each composition: bracket width ≤ W_TARGET·ε. The upper end is then
# within about a third of that of the true ε, a negligible share of the σ grid's 3 %.
W_TARGET = 4e-3
H_MAX = 2e-3
H_MIN = 2e-5


def geometric(lo, hi, ratio):
    """Points lo·ratio^k up to hi, the last one replaced by hi (at most ``ratio`` apart)."""
    n = max(1, math.ceil(math.log(hi / lo) / math.log(ratio) - 1e-9))
    return [lo * (hi / lo) ** (k / n) for k in range(n + 1)]


def q_nodes(ratio=Q_RATIO):
    q = geometric(Q_RANGE[0], Q_RANGE[1], ratio)
    q[-1] = 1.0
    return q


def t_nodes(ratio=T_RATIO):
    out = []
    for x in geometric(T_RANGE[0], T_RANGE[1], ratio):
        t = int(math.ceil(x - 1e-9))
        if not out or t > out[-1]:
            out.append(t)
    out[-1] = T_RANGE[1]
    return out


def _elasticity_model(exact):
    """max over ε, δ of d ln σ*/d ln T on the calibrated grid ``exact`` (q × T-intervals):
    where σ* hardly moves with T (small q and T) the T grid can be sparser for the same
    excess. Only the lattice's density depends on it, never a bound."""
    S = np.log(np.asarray(exact["noise_multiplier"], float))
    lq = np.log(np.asarray(exact["sample_rate"], float))
    lt = np.log(np.asarray(exact["steps"], float))
    e = np.diff(S, axis=3) / np.diff(lt)[None, None, None, :]
    return lq, lt, np.nanmax(e, axis=(0, 1))


def t_nodes_for(q, model, ratio=T_RATIO, cap=2.5):
    """The T grid of one sample-rate row: the fine grid, thinned where the elasticity of
    σ* in T is small so that e_T·ln(T′/T) stays ≤ ½·ln(ratio) (its value at e_T = ½)."""
    fine = t_nodes(ratio)
    if model is None or q >= 1.0:
        return fine
    lq, lt, e = model
    # Sample-rate intervals of the model around q (both ends, the larger elasticity).
    a = int(np.clip(np.searchsorted(lq, math.log(q)) - 1, 0, len(lq) - 2))
    rows = e[[a, a + 1]].max(axis=0)

    def el(t0, t1):
        i0 = int(np.clip(np.searchsorted(lt, math.log(t0), side="right") - 1, 0, len(rows) - 1))
        i1 = int(np.clip(np.searchsorted(lt, math.log(t1), side="left") - 1, 0, len(rows) - 1))
        # The interval after also counts: σ*'s elasticity grows with T.
        return float(rows[i0:min(i1 + 2, len(rows))].max())

    budget = 0.5 * math.log(ratio)
    out = [fine[0]]
    k = 0
    while k < len(fine) - 1:
        nxt = k + 1
        while (nxt + 1 < len(fine) and fine[nxt + 1] <= cap * out[-1]
               and max(el(out[-1], fine[nxt + 1]), 0.04) * math.log(fine[nxt + 1] / out[-1])
               <= budget):
            nxt += 1
        out.append(fine[nxt])
        k = nxt
    return out


def sigma_of(j: int) -> float:
    """σ_j of the global grid; accountant.calibration.lookup computes the same expression."""
    return math.exp(j * LOG_S)


# ----------------------------------------------------------------------------------------
# One lattice point
# ----------------------------------------------------------------------------------------
class _Evaluator:
    """Certified ε brackets at all DELTAS for one (σ, q, T), reusing one-step PLDs across T."""

    def __init__(self):
        from ..accountants.pld import bracket as pld
        self.P = pld
        # One-step PLDs are keyed by their tail threshold: one threshold for the whole build
        # (the smallest any lattice point would use) lets every T share them.
        self.tau = pld._pow2_floor(min(1e-5 * DELTAS[0], 1e-10) / T_RANGE[1])
        self.eta = min(pld._ETA, 1e-6 * DELTAS[0])
        # (the cache is the one-step module's: set on ``bracket`` this was a no-op)
        from ..accountants.pld import onestep
        onestep._CACHE_SIZE = max(onestep._CACHE_SIZE, 400)
        self.compositions = 0
        self.add_composed = 0
        self.refinements = 0

    # -- one direction ---------------------------------------------------------------------
    def _direction(self, mech, T, direction, h, lam, lower):
        P = self.P
        D = P._Direction([(mech, T)], direction, h, self.tau)
        if not lower:
            D.parts_lo = None
        n = len(DELTAS)
        up = [math.nan] * n
        lo = [0.0] * n
        todo = list(range(n))
        target = todo[len(todo) // 2]
        fresh = lam is None
        for _ in range(16):
            if not todo:
                break
            if fresh:
                lam = P._saddle_lambda_for_delta(D.parts_up, DELTAS[target])
            fresh = True
            D.compose(lam, eta=self.eta)
            self.compositions += 1
            rest = []
            miss = None
            for k in todo:
                eu = D.eps_upper(DELTAS[k])
                el = D.eps_lower(DELTAS[k]) if lower else 0.0
                if isinstance(eu, str) or isinstance(el, str):
                    rest.append(k)
                    if k == target:
                        miss = "above" if "above" in (eu, el) else "below"
                    continue
                if D.error_floor(eu) > 1e-3 * DELTAS[k] and k != target:
                    # Valid but loose this far from the tilt: recompose for it.
                    rest.append(k)
                    continue
                up[k] = max(eu, 0.0)
                lo[k] = max(el, 0.0)
            todo = rest
            if miss is not None:
                # Same rule as the accountant: tilt more when the answer lies above the
                # window, less when below (λ = 0 is the untilted window, which holds all).
                lam = lam * 2 + 0.5 if miss == "above" else (lam / 4 if lam > 1e-3 else 0.0)
                fresh = False
            elif todo:
                target = todo[len(todo) // 2]
        if todo:
            raise RuntimeError(f"PLD window search failed at {mech!r}, T={T}")
        return up, lo, lam, D

    def _chernoff_add(self, mech, T, h, lam):
        """Chernoff upper bounds on the add direction's ε at every δ (valid for any t > 0)."""
        P = self.P
        A = P._Direction([(mech, T)], "add", h, self.tau)
        base = max(lam, 0.05)
        ts = [base * c for c in (0.5, 0.7, 1.0, 1.4, 2.0, 3.0)]
        Fs = [A.parts_up.F(t)[0] for t in ts]
        out = []
        for d in DELTAS:
            slack = d / (1 + A.quad) - A.p_inf
            if slack <= 0:
                out.append(math.inf)
                continue
            ls = math.log(slack)
            out.append(min((F - ls) / t for F, t in zip(Fs, ts)))
        return out

    def point(self, sigma, q, T, h, lam=None):
        """(upper[δ], lower[δ], λ of the remove direction) at one lattice point."""
        from ..core.mechanisms import SubsampledGaussian
        mech = SubsampledGaussian(sigma, q)
        up, lo, lam, _ = self._direction(mech, T, "remove", h, lam, True)
        ch = self._chernoff_add(mech, T, h, lam)
        if any(c > u for c, u in zip(ch, up)):
            self.add_composed += 1
            up_a, _, _, _ = self._direction(mech, T, "add", h, None, False)
            up = [max(a, b) for a, b in zip(up, up_a)]
        return up, lo, lam

    def gaussian(self, sigma, T):
        """q = 1: the exact μ-GDP closed form (certified, both sides)."""
        from ..accountants import api
        from ..core.mechanisms import Gaussian
        up, lo = [], []
        for d in DELTAS:
            r = api.epsilon(Gaussian(sigma), d, T)
            up.append(float(r.upper))
            lo.append(float(r.lower))
        return up, lo


def h_rule(sigma, q):
    """(h for the upper bound, h the lower bound needs). About 1/10 of one step's loss
    spread (the CLT scale μ₁ = q·√(e^{1/σ²}−1)) keeps the bracket near W_TARGET. The
    lowered-chord lower bound also degenerates when most of a step's loss sits within one
    cell of 0, which at small q needs h ≤ q/2 even where the upper bound is already sharp."""
    mu = q * math.sqrt(math.expm1(min(1.0 / (sigma * sigma), 700.0)))
    h_up = min(H_MAX, max(H_MIN, mu / 10.0))
    return h_up, max(H_MIN, min(h_up, q / 2.0))


# Where the lower bound needs a finer grid than the upper one (small q and σ, where fine
# grids are costly), it is computed on every LOWER_EVERY-th σ only; the σ in between take
# the next one's (true ε falls as σ grows, so a larger σ's lower bound holds for them).
LOWER_EVERY = 3


# ----------------------------------------------------------------------------------------
# One (q, T) row of the lattice
# ----------------------------------------------------------------------------------------
def _walk(ev, q, T, j_start, hs, lams):
    """Evaluate σ_j upward from j_start; returns (j0, up[n][7], lo[n][7], hmax)."""
    rows = {}

    def at(j):
        if j in rows:
            return rows[j]
        sigma = sigma_of(j)
        if q == 1.0:
            up, lo = ev.gaussian(sigma, T)
            rows[j] = (up, lo)
            return rows[j]
        h_up, h_lo = h_rule(sigma, q)
        h = hs.get(j) or (h_lo if j % LOWER_EVERY == 0 else h_up)
        lam = lams.get(j)
        floor = H_MIN               # finest grid that fits the FFT window cap
        up = None
        for attempt in range(6):
            try:
                up, lo, lam = ev.point(sigma, q, T, h, lam)
            except (ev.P._GridTooLarge, RuntimeError):
                # The composed window would exceed the accountant's cap at this h (or its
                # window search failed): a coarser grid fits, and its bounds are just as
                # certified (only looser).
                floor = h * 2
                h, lam = h * 2, None
                if h > 0.1:
                    raise
                continue
            w = max((u - l) / u for u, l in zip(up, lo) if u > 0)
            if w <= W_TARGET or h <= floor * (1 + 1e-9) or attempt >= 3:
                break
            if w > 0.3 and h <= h_up * (1 + 1e-9) and j % LOWER_EVERY:
                # Only the lower bound degenerated (a grid above q/2): keep the sharp upper
                # bound, the lower comes from the next σ on the lower grid.
                lo = [0.0] * len(lo)
                break
            ev.refinements += 1
            if w > 0.3:
                # Degenerate lower bound: the width says nothing about h; quarter it.
                h_new = h / 4
            else:
                # Bracket width ∝ h² (notes in accountant.accountants.pld.bracket): aim just under the target.
                h_new = h * max(0.25, 0.9 * math.sqrt(W_TARGET / w))
            h_new = max(floor, h_new)
            if h_new >= h:
                break
            h = h_new
        if up is None:
            raise RuntimeError(f"no PLD grid fits at sigma={sigma}, q={q}, T={T}")
        hs[j] = h
        lams[j] = lam
        rows[j] = (up, lo)
        return rows[j]

    top = EPS_RANGE[1]
    bottom = EPS_RANGE[0]
    j = j_start
    # Lowest row: its bounds must exceed the ε range at the largest δ (certified lower bound
    # when available), so that every in-range query has its answer and its proven lower
    # neighbour inside the row.
    while at(j)[0][-1] <= top:
        j -= 1
    down = 0
    while at(j)[1][-1] <= top and down < 3:
        j -= 1
        down += 1
    j0 = j
    while True:
        j += 1
        up, lo = at(j)
        if lo[-1] > top:
            j0 = j          # everything below is not needed
        if up[0] <= bottom:
            break
    ups = [rows[k][0] for k in range(j0, j + 1)]
    los = [rows[k][1] for k in range(j0, j + 1)]
    hmax = max((hs.get(k, 0.0) for k in range(j0, j + 1)), default=0.0)
    return j0, ups, los, hmax


def _start_index(q, T):
    """A σ index just below the answer for ε = top, δ = 1e-5 (the CLT/GDP guess, which
    errs low at small σ: the walk then moves up)."""
    from ..accountants.exact import gdp_epsilon
    top, d = EPS_RANGE[1], DELTAS[-1]
    lo, hi = math.log(0.05), math.log(1e5)
    for _ in range(60):
        mid = 0.5 * (lo + hi)
        s = math.exp(mid)
        if q == 1.0:
            mu = math.sqrt(T) / s
        else:
            mu = q * math.sqrt(T * math.expm1(min(1 / (s * s), 700.0)))
        if gdp_epsilon(mu, d, "upper") > top:
            lo = mid
        else:
            hi = mid
    return int(math.floor(lo / LOG_S)) - 2


def build_row(iq, q, T_list, ev=None):
    """All (q, T) cells of one sample rate; returns a dict for the checkpoint."""
    ev = ev or _Evaluator()
    hs, lams = {}, {}
    cells = []
    j_prev = None
    t0 = time.process_time()
    for T in T_list:
        # σ needed grows with T: the previous row's start is a valid lower start.
        j_start = j_prev if j_prev is not None else _start_index(q, T)
        j0, ups, los, hmax = _walk(ev, q, T, j_start, hs, lams)
        cells.append({"T": T, "j0": j0, "up": np.array(ups), "lo": np.array(los),
                      "hmax": hmax})
        j_prev = j0
    return {"iq": iq, "q": q, "cells": cells, "cpu": time.process_time() - t0}


# ----------------------------------------------------------------------------------------
# Packing
# ----------------------------------------------------------------------------------------
def _monotone(up, lo):
    """Tighten with free facts (true ε falls as σ or δ grows): the upper bound at a larger σ
    or δ may take the smaller of its own and its neighbour's; the lower bound at a smaller σ
    or δ the larger. Columns become monotone, which the lookup's bisection needs."""
    up = np.minimum.accumulate(up, axis=0)          # along σ (rows), increasing σ
    up = np.minimum.accumulate(up, axis=1)          # along δ (columns), increasing δ
    lo = np.maximum.accumulate(lo[::-1], axis=0)[::-1]
    lo = np.maximum.accumulate(lo[:, ::-1], axis=1)[:, ::-1]
    return up, lo


def pack(rows: List[dict], path: str, meta: dict, exact: Optional[dict] = None) -> dict:
    """Quantise and save the lattice rows (a list of build_row outputs).

    Layout: row a (sample rate q[a]) holds cells row_start[a] … row_start[a+1]−1, cell c
    for T = steps[c]; its σ indices are j0[c] … j0[c]+nj[c]−1 and its values sit at
    offset[c] + m·nj[c] + (j − j0[c]) for the m-th δ (δ-major: one column per δ)."""
    rows = sorted(rows, key=lambda r: r["q"])
    nd = len(DELTAS)
    qs = np.array([r["q"] for r in rows])
    row_start = [0]
    steps, j0, nj, off = [], [], [], []
    ups, gaps = [], []
    pos = 0
    worst_gap = 0.0
    for r in rows:
        for c in r["cells"]:
            up, lo = _monotone(np.asarray(c["up"], float), np.asarray(c["lo"], float))
            # Upper: ceil of SCALE·ln ε, lower: floor (margins cover the rounding of the log
            # itself); the lower is stored as its gap below the upper value. Lowering a lower
            # bound keeps it valid: gaps are capped below GAP_NONE ("no lower bound").
            u = np.ceil(SCALE * (np.log(up) + PACK_MARGIN) + 1e-6).astype(np.int64)
            with np.errstate(divide="ignore"):
                ll = np.floor(SCALE * (np.log(lo) - PACK_MARGIN) - 1e-6)
            g = np.where(np.isfinite(ll), np.minimum(u - np.nan_to_num(ll, neginf=0.0),
                                                      GAP_NONE - 1), GAP_NONE)
            g = g.astype(np.uint16)
            ok = g < GAP_NONE
            if ok.any():
                worst_gap = max(worst_gap, float(g[ok].max()) / SCALE)
            if u.max() > 32767 or u.min() < -32767:
                raise ValueError("ln ε out of the int16 range of the table")
            ups.append(u.T.reshape(-1))
            gaps.append(g.T.reshape(-1))
            steps.append(c["T"])
            j0.append(c["j0"])
            nj.append(up.shape[0])
            off.append(pos)
            pos += up.size
        row_start.append(len(steps))
    U = np.concatenate(ups).astype(np.int64)
    G = np.concatenate(gaps).astype(np.uint16)
    # Differences along each column are small and smooth: stored so, they compress well.
    dU = np.diff(U, prepend=0)
    if np.abs(dU).max() > 32767:
        raise ValueError("table differences out of int16 range")
    arrays = dict(format=np.array(2), q=qs, row_start=np.array(row_start, dtype=np.int32),
                  steps=np.array(steps, dtype=np.int64), j0=np.array(j0, dtype=np.int32),
                  nj=np.array(nj, dtype=np.int32), offset=np.array(off, dtype=np.int64),
                  delta=np.array(DELTAS), epsilon_range=np.array(EPS_RANGE),
                  sigma_log_step=np.array(LOG_S), scale=np.array(SCALE),
                  gap_none=np.array(GAP_NONE), dup=dU.astype(np.int16), gap=G,
                  meta=np.array(repr(meta)))
    if exact is not None:
        arrays.update({f"exact_{k}": np.asarray(v) for k, v in exact.items()})
    tmp = path + ".tmp.npz"
    np.savez_compressed(tmp, **arrays)
    os.replace(tmp, path)
    return {"points": int(U.size // nd), "values": int(U.size), "cells": len(steps),
            "bytes": os.path.getsize(path), "worst_gap": worst_gap}


def _old_exact(path):
    """The calibrated entries of a previous table (format 1: grid of (ε, δ, q, T) → σ from
    calibrate with rtol), kept for :func:`accountant.calibration.lookup.exact_entry`."""
    try:
        z = np.load(path)
    except (OSError, ValueError):
        return None
    if "exact_noise_multiplier" in z.files:
        return {k[len("exact_"):]: z[k] for k in z.files if k.startswith("exact_")}
    if "noise_multiplier" not in z.files:
        return None
    return {"epsilon": z["epsilon"], "delta": z["delta"], "sample_rate": z["sample_rate"],
            "steps": z["steps"], "noise_multiplier": z["noise_multiplier"],
            "certified_epsilon": z["certified_epsilon"], "rtol": z["rtol"]}


# ----------------------------------------------------------------------------------------
# Driver
# ----------------------------------------------------------------------------------------
def default_path():
    return os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "data", "noise_table.npz")


def build(work: str, path: Optional[str] = None, quick: bool = False,
          rows: Optional[Collection[int]] = None, log: Callable[..., object] = print,
          ) -> Optional[dict]:
    """Compute missing rows into ``work`` (one pickle per sample rate), then pack."""
    path = path or default_path()
    os.makedirs(work, exist_ok=True)
    # The calibrated entries (and the elasticity model built on them) come from the table
    # being replaced, or from the shipped one when writing elsewhere.
    exact = _old_exact(path) or _old_exact(default_path())
    qr, tr = (1.5, 2.0) if quick else (Q_RATIO, T_RATIO)
    Q = q_nodes(qr)
    model = _elasticity_model(exact) if exact is not None else None
    tag = "quick" if quick else "full"
    ev = _Evaluator()
    done = []
    t_start = time.process_time()
    order = list(range(len(Q)))
    if rows is not None:
        order = [i for i in order if i in rows]
    for n_done, i in enumerate(order):
        f = os.path.join(work, f"{tag}_q{i:04d}.pkl")
        if os.path.exists(f):
            with open(f, "rb") as fh:
                done.append(pickle.load(fh))
            continue
        r = build_row(i, Q[i], t_nodes_for(Q[i], model, tr), ev)
        with open(f + ".tmp", "wb") as fh:
            pickle.dump(r, fh)
        os.replace(f + ".tmp", f)
        done.append(r)
        pts = sum(len(c["up"]) for c in r["cells"])
        cpu = time.process_time() - t_start
        log(f"row {i + 1}/{len(Q)} q={Q[i]:.5g}: {pts} points, {r['cpu']:.1f} s "
            f"(total {cpu / 60:.1f} min CPU; compositions {ev.compositions}, "
            f"add {ev.add_composed}, "
            f"refined {ev.refinements})", flush=True)
    if rows is not None and len(done) < len(Q):
        return None
    meta = {"q_ratio": qr, "t_ratio": tr, "s_ratio": S_RATIO, "w_target": W_TARGET,
            "cpu_seconds": sum(r["cpu"] for r in done), "tag": tag}
    info = pack(done, path, meta, exact)
    log(f"wrote {path}: {info}")
    return info


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--work", default=os.path.join(os.getcwd(), "noise_table_work"),
                   help="checkpoint directory (resumable)")
    p.add_argument("--output", default=None, help="output .npz (default: the shipped table)")
    p.add_argument("--quick", action="store_true", help="small lattice, for trying it out")
    p.add_argument("--pack-only", action="store_true")
    a = p.parse_args(argv)
    if a.pack_only:
        tag = "quick" if a.quick else "full"
        rows = []
        for f in sorted(os.listdir(a.work)):
            if f.startswith(tag + "_q") and f.endswith(".pkl"):
                with open(os.path.join(a.work, f), "rb") as fh:
                    rows.append(pickle.load(fh))
        path = a.output or default_path()
        meta = {"tag": tag, "cpu_seconds": sum(r["cpu"] for r in rows)}
        print(pack(rows, path, meta, _old_exact(path) or _old_exact(default_path())))
        return 0
    build(a.work, a.output, a.quick)
    return 0


if __name__ == "__main__":
    sys.exit(main())
