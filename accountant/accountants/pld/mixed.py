"""Merged steps as mixtures of their two grid neighbours (docs/math.md §4.10).

Rounding a step's σ down to the grid point below (upper side) and up to the point above
(lower side) moves every step by a whole cell between the sides: a merge gap first order in
the cell's log-ratio. For the Poisson-subsampled Gaussian under add/remove (and so ULS; at
most MAX_RATES sample rates, each with its own grid) the step is instead bracketed by
*mixtures* of the two neighbouring grid pairs — the pair that runs the σ_k mechanism with
probability w and the σ_{k+1} one otherwise, and says which. Its profile is
w·f_k + (1 − w)·f_{k+1}, and:

* upper: f_σ ≤ w·f_k + (1 − w)·f_{k+1} for every u with w = R(−μ_k/4) (both directions);
* lower (remove direction): f_σ ≥ w′·f̂_k + (1 − w′)·f_{k+1} with w′ = R(E²/μ_{k+1}³ − μ_{k+1}/4),
  where f̂_k is the σ_k step restricted to losses ≤ ε_c (where its Q-tail above is ≤ 10·τ,
  :mod:`accountant.accountants.pld.onestep`) and E that loss in the Gaussian coordinate;

with μ = 1/σ and R(β) = expm1(β(μ − μ_{k+1}))/expm1(β(μ_k − μ_{k+1})). Both weights are
within O(cell) of the linear ones, so the gap is second order in the cell: 24 grid points
replace the 313 rounded representatives of a 1 000-step history. Weights are rounded to
multiples of 1/levels (up for the upper side, down for the lower), so steps share
mixtures.

A mixture's transform is the same mixture of the two grid pairs' transforms (the FFT is
linear): one rfft per grid PMF, however many steps.
"""
from __future__ import annotations

import math
from typing import Dict, Optional, Sequence, Tuple

import numpy as np

from ...core.dominating import _build, _prepare, _snap
from ...core.mechanisms import Mechanism
from ...loss import loss_for
from . import _kernels as _kp
from .compose import _FFT_C, _QUAD_REL, _U, _Direction, _Parts, _log_p_inf, _spectrum
from .onestep import _one_step

__all__ = ["mixable", "upper_weight", "lower_weight", "Mixed", "MAX_RATES"]

_SG_KEY = ("sg", "poisson", "add_remove")
#: Histories with more sample rates than this keep the rounded merge (each rate has its own
#: grid of mechanisms).
MAX_RATES = 8
_MIX_PROXY_LEN = 256    # cells per grid PMF of the search stand-in (searches only)
_MAX_POINTS = 4_000_000  # one-step grid points of all grid PMFs of a direction


def mixable(counts: Sequence[Tuple[Mechanism, int]]
            ) -> Optional[Tuple[np.ndarray, np.ndarray]]:
    """(σ, q) of each entry when every mechanism of ``counts`` is a Poisson-subsampled
    Gaussian (or ULS) under add/remove, with at most MAX_RATES sample rates (each in
    (0, 1)); None otherwise. Each rate's steps are mixed over their own grid."""
    fams, fixed = _prepare(tuple(counts))
    if fixed or len(fams) != 1:
        return None
    key, s, q, idx, _ = fams[0]
    if key != _SG_KEY or not (np.all(q > 0.0) and np.all(q < 1.0)):
        return None
    if len(np.unique(q)) > MAX_RATES:
        return None
    sig = np.empty(len(counts))
    qs = np.empty(len(counts))
    sig[idx] = s
    qs[idx] = q
    return sig, qs


def _ratio(beta: float, mu: float, mu_a: float, mu_b: float) -> float:
    """R(β) = ∫_{μ_b}^{μ} e^{βz}dz / ∫_{μ_b}^{μ_a} e^{βz}dz (the linear ratio at β = 0)."""
    x, y = beta * (mu - mu_b), beta * (mu_a - mu_b)
    if abs(y) < 1e-12:
        return (mu - mu_b) / (mu_a - mu_b)
    return math.expm1(x) / math.expm1(y)


def upper_weight(sigma: float, s_a: float, s_b: float, levels: int) -> float:
    """The weight on σ_a (≤ σ ≤ σ_b) of a mixture dominating the σ step, rounded up to a
    multiple of 1/levels (docs/math.md §4.10)."""
    if sigma <= s_a:
        return 1.0
    if sigma >= s_b:
        return 0.0
    mu, mu_a, mu_b = 1.0 / sigma, 1.0 / s_a, 1.0 / s_b
    w = _ratio(-mu_a / 4.0, mu, mu_a, mu_b)
    return min(1.0, math.ceil((w + _pad(w, mu_a, mu_b)) * levels) / levels)


def _pad(w, mu_a, mu_b):
    """Rounding allowance of a weight: the ratio's few u relative, and μ − μ_b (each μ
    rounded) over the cell's width μ_a − μ_b."""
    return 1e-12 * abs(w) + 16 * _U * mu_a / (mu_a - mu_b) + 1e-15


def lower_weight(sigma: float, s_a: float, s_b: float, E: float, levels: int) -> float:
    """The weight on the σ_a step restricted to Gaussian-coordinate losses ≤ E (> 0) of a
    mixture dominated by the σ step (remove direction), rounded down (docs/math.md §4.10)."""
    if sigma >= s_b or not E > 0.0:
        return 0.0
    if sigma <= s_a:
        return 1.0
    mu, mu_a, mu_b = 1.0 / sigma, 1.0 / s_a, 1.0 / s_b
    # (E and β rounded up: a larger β only lowers the weight)
    E = E * (1 + 1e-12) + 1e-12
    beta = E * E / mu_b ** 3 * (1 + 1e-12) - mu_b / 4.0 * (1 - 1e-12)
    w = _ratio(beta, mu, mu_a, mu_b)
    return max(0.0, math.floor((w - _pad(w, mu_a, mu_b)) * levels) / levels)


class _MixParts(_Parts):
    """One side's factors as mixtures of grid PMFs: ``reps`` holds (grid indices, log
    Q-masses, losses) per grid PMF, ``mixes`` (a, b, w, count): count steps, each the
    w-mixture of PMF a and PMF b (docs/math.md §4.10)."""

    def __init__(self, reps, mixes, h):
        self.h = h
        self.reps = reps
        self.items = [(pos, lw, ell, 1) for pos, lw, ell in reps]   # (stand-ins, search)
        m = np.array(mixes, dtype=float).reshape(-1, 4)
        self.ia, self.ib = m[:, 0].astype(np.int64), m[:, 1].astype(np.int64)
        self.w, self.cnt = m[:, 2], m[:, 3]
        self.steps = int(self.cnt.sum())
        self._proxy = None
        self._flat = None
        with np.errstate(divide="ignore"):
            self._lw, self._lw1 = np.log(self.w), np.log1p(-self.w)

    def _mix(self, K):
        """K of every mixture from its two PMFs' K (an array over reps)."""
        return np.logaddexp(self._lw + K[self.ia], self._lw1 + K[self.ib])

    def F(self, t):
        if self._flat is None:
            lens = [lw.shape[0] for _, lw, _ in self.reps]
            self._flat = (np.concatenate([lw for _, lw, _ in self.reps]),
                          np.concatenate([ell for _, _, ell in self.reps]),
                          np.concatenate(([0], np.cumsum(lens))).astype(np.int64))
        K, K1, K2 = _kp.log_cgf_each(*self._flat, float(t))
        Km = self._mix(K)
        wa = np.exp(self._lw + K[self.ia] - Km)
        wb = 1.0 - wa
        d1 = wa * K1[self.ia] + wb * K1[self.ib]
        d2 = (wa * (K2[self.ia] + K1[self.ia] ** 2) + wb * (K2[self.ib] + K1[self.ib] ** 2)
              - d1 ** 2)
        return (float(self.cnt @ Km), float(self.cnt @ d1),
                float(self.cnt @ np.maximum(d2, 0.0)))

    @property
    def proxy(self):
        if self._proxy is None:
            base = _Parts((), "up", self.h)
            base.items = list(self.items)
            px = base.stand_in(_MIX_PROXY_LEN)
            if px is base:
                self._proxy = self
            else:
                self._proxy = _MixParts([(None, lw, ell) for _, lw, ell, _ in px.items],
                                        np.column_stack((self.ia, self.ib, self.w, self.cnt)),
                                        self.h)
                self._proxy._proxy = self._proxy
        return self._proxy

    def support(self):
        top = np.array([ell[-1] for _, _, ell in self.reps])
        bot = np.array([ell[0] for _, _, ell in self.reps])
        return (float(self.cnt @ np.maximum(top[self.ia], top[self.ib])),
                -float(self.cnt @ np.minimum(bot[self.ia], bot[self.ib])))

    def top_index(self) -> int:
        top = np.array([int(pos[-1]) for pos, _, _ in self.reps], dtype=np.int64)
        return int(np.dot(self.cnt.astype(np.int64), np.maximum(top[self.ia], top[self.ib])))

    def accumulate(self, lam, n, logabs, phase, logU, rel):
        """As :meth:`_Parts.accumulate`, with one rfft per grid PMF: a mixture's transform
        is the mixture of theirs (normalised by its own K(λ)), which adds ≤ 3u per unit
        mass to each transform's round-off bound; the factors are multiplied bin by bin
        (:func:`accountant.accountants.pld._kernels.mixture_accumulate`), one pair of grid
        PMFs at a time, so that only a few transforms are held at once."""
        K = np.array([_kp.log_cgf(lw, ell, lam)[0] for _, lw, ell in self.reps])
        Km = self._mix(K)
        wa = np.exp(self._lw + K[self.ia] - Km)
        wa = np.where(self.ia == self.ib, 1.0, np.minimum(wa, 1.0))
        dX = _FFT_C * max(1.0, math.log2(n)) * _U + 3 * _U
        # (a bin bounded by e^{−8}·dX holds less than the round-off of a live one: dropped)
        lcut = math.log(dX) - 8.0
        held: Dict[int, tuple] = {}
        dropped = 0.0
        order = np.lexsort((self.ib, self.ia))
        pairs = np.stack((self.ia[order], self.ib[order]), axis=1)
        starts = np.flatnonzero(np.r_[True, np.any(pairs[1:] != pairs[:-1], axis=1)])
        for j, s0 in enumerate(starts):
            s1 = starts[j + 1] if j + 1 < len(starts) else len(order)
            a, b = int(pairs[s0, 0]), int(pairs[s0, 1])
            for r in (a, b):
                if r not in held:
                    if len(held) >= 3:
                        held.pop(next(iter(held)))
                    pos, lw, ell = self.reps[r]
                    held[r] = _spectrum(pos, lw, ell, lam, n, K[r])
            XT = np.ascontiguousarray(np.stack((held[a][0], held[b][0]), axis=1))
            sel = order[s0:s1]
            _kp.mixture_accumulate(XT, np.zeros(len(sel), dtype=np.int64),
                                   np.ones(len(sel), dtype=np.int64), wa[sel], self.cnt[sel],
                                   logabs, phase, logU, rel, dX, _U, lcut)
            dropped += float(self.cnt[sel].sum()) * max(held[a][2], held[b][2])
        return float(self.cnt @ Km), dropped


class Mixed(_Direction):
    """One direction at grid step h whose steps are mixtures of the pairs at the points of
    geometric grids over their σ, one grid per sample rate (docs/math.md §4.10): ``cells``
    cells over the widest rate's log-span, the others at the same log-ratio. ``sig`` and
    ``qs`` hold each entry's σ and q; ``levels`` the weight resolution. Without the
    lower-side construction (the add direction, or a grid PMF without a restriction) the
    lower side is the σ_{k+1} step (w′ = 0), still certified but first order."""

    def __init__(self, counts: Sequence[Tuple[Mechanism, int]], direction: str, h: float,
                 tau_hi: Optional[float] = None, log_tau_hi: Optional[float] = None, *,
                 cells: int, sig: np.ndarray, qs: np.ndarray, levels: int) -> None:
        counts = tuple(counts)

        def build(s, q):
            m = _build(_SG_KEY, float(s), q)
            return _one_step(m, loss_for(m, direction), h, tau_hi, log_tau_hi)
        rates = [float(q) for q in np.unique(qs)]
        spans = [math.log(float(sig[qs == q].max()) / float(sig[qs == q].min())) for q in rates]
        lr = max(spans) / cells if max(spans) > 0 else math.inf
        # The smallest σ has the widest one-step grid: its size caps the grid points so that
        # all grid PMFs together stay within _MAX_POINTS (memory); the lower weight's
        # shortfall grows as E² (E of its restriction): cells sized for E = 6, more beyond.
        firsts, want = [], []
        for q, span in zip(rates, spans):
            first = build(sig[qs == q].min(), q)
            n = math.ceil(span / lr) if span > 0 else 0
            if n and first.cut_loss is not None and direction == "remove":
                n = math.ceil(n * max(1.0, _gauss_coord(first.cut_loss, q) / 6.0))
            firsts.append(first)
            want.append(n)
        pts = sum((n + 1) * max(f.logw_up.shape[0], 1) for n, f in zip(want, firsts))
        got = want
        if pts > _MAX_POINTS:
            f = _MAX_POINTS / pts
            got = [max(1 if n else 0, int(n * f)) for n in want]
        self.capped = got != want
        ones: list = []
        grids = []
        for q, first, n in zip(rates, firsts, got):
            g = grid_points(sig[qs == q], n) if n else np.array([float(sig[qs == q].min())])
            grids.append((q, len(ones), g))
            ones += [first] + [build(s, q) for s in g[1:]]
        N = len(ones)
        up: Dict[tuple, int] = {}
        lo: Dict[tuple, int] = {}
        cut_ok = direction == "remove" and all(o.logw_lo_cut is not None for o in ones)
        for q, base, g in grids:
            E = [_gauss_coord(o.cut_loss, q) if cut_ok else 0.0
                 for o in ones[base:base + len(g)]]
            for (m, T), s, qq in zip(counts, sig, qs):
                if qq != q:
                    continue
                s = float(s)
                if len(g) == 1:
                    key_u = key_l = (base, base, 1.0)
                else:
                    k = int(np.searchsorted(g, s, side="right")) - 1
                    k = min(max(k, 0), len(g) - 2)
                    s_a, s_b = float(g[k]), float(g[k + 1])
                    wu = upper_weight(s, s_a, s_b, levels)
                    wl = lower_weight(s, s_a, s_b, E[k], levels) if cut_ok else \
                        (1.0 if s <= s_a else 0.0)
                    key_u = (base + k, base + k + 1, wu)
                    key_l = (base + k, base + k + 1, wl)
                up[key_u] = up.get(key_u, 0) + T
                lo[key_l] = lo.get(key_l, 0) + T
        self.h = h
        self.steps = sum(T for _, T in counts)
        self.onesteps = []
        reps_up = [_rep(o, o.logw_up, h) for o in ones]
        self.parts_up = _MixParts(reps_up, [(a, b, w, c) for (a, b, w), c in up.items()], h)
        self.lower_ok = all(o.lower_ok for o in ones) and all(
            o.log_reveal_lo == -math.inf for o in ones)
        if self.lower_ok:
            # grid PMF g is the full lower PMF, N + g its restriction below the cut
            reps_lo = [_rep(o, o.logw_lo, h) for o in ones]
            if cut_ok:
                reps_lo += [_rep(o, o.logw_lo_cut, h) for o in ones]
            mixes = [((N + a) if (cut_ok and 0.0 < w < 1.0) else a, b, w, c)
                     for (a, b, w), c in lo.items()]
            self.parts_lo = _MixParts(reps_lo, mixes, h)
        else:
            self.parts_lo = None
        # Q-mass at +∞ of the upper mixtures: w·w_a + (1 − w)·w_b per step
        terms = []
        for (a, b, w), c in up.items():
            la = math.log(w) + ones[a].log_w_inf if w > 0 else -math.inf
            lb = math.log1p(-w) + ones[b].log_w_inf if w < 1 else -math.inf
            terms.append((c, float(np.logaddexp(la, lb))))
        self.log_p_inf = _log_p_inf(terms)
        self.p_inf = math.exp(self.log_p_inf)
        self.p_inf_lo = 0.0
        self.quad = self.steps * _QUAD_REL
        self.mixtures = (len(up), len(lo), levels, cut_ok)
        self.cells = sum(len(g) - 1 for _, _, g in grids)
        self.points = N


def _gauss_coord(loss: float, q: float) -> float:
    """ε′ of a remove-direction loss: e^loss = 1 − q + q·e^{ε′} (docs/math.md §4.10)."""
    return math.log(max(math.expm1(loss) + q, 1e-300) / q)


def _rep(one, logw, h):
    """(grid indices, log Q-masses, losses) of a grid PMF, its finite masses only."""
    keep = np.isfinite(logw)
    idx = np.nonzero(keep)[0]
    if idx.size == 0:
        pos = np.array([one.i0], dtype=np.int64)
        return pos, np.array([-np.inf]), pos * h
    pos = one.i0 + idx
    return pos, np.ascontiguousarray(logw[idx]), pos * h


def grid_points(sig: np.ndarray, cells: int) -> np.ndarray:
    """``cells`` + 1 geometric grid points from min σ to max σ, the same doubles as the
    merge's pilot grid (anchored at min σ, log-ratio span/cells)."""
    smin, smax = float(sig.min()), float(sig.max())
    lr = math.log(smax / smin) / cells
    _, pts = _snap(np.array([smin * math.exp(k * lr) for k in range(cells + 1)]), smin, lr,
                   up=False)
    pts = np.unique(np.minimum(np.maximum(pts, smin), smax))
    if pts[-1] < smax:
        pts = np.append(pts, smax)
    return pts
