"""A public-coin mixture of privacy-loss pairs (docs/math.md §11.1).

With probability w_i the step runs the pair (P_i, Q_i) and the outcome says which i ran:
P = ⊕ w_i P_i, Q = ⊕ w_i Q_i on disjoint supports, in one direction. The loss on the
outcome (i, z) is L_i(z), so the law of L under P (or Q, or Q tilted by e^{tL}) is the
mixture of the components' laws, and every answer of the privacy-loss interface is
additive or a log-sum-exp of the components' answers:

* δ(ε) = Σ w_i δ_i(ε), P[L > ε] = Σ w_i P_i[L_i > ε], K_Y(t) = log Σ w_i e^{K_i(t)};
* the PLD cell integrals a, b, Fb, Qb, r0, Pt, dtop are linear in the measure: weighted
  sums (the mass at +∞ a log-sum-exp);
* moments and tilted laws: a mixture of laws (weights w_i, or w_i·e^{K_i(t) − K(t)} for
  the tilt), whose central moments follow from the components' by the binomial formula.

The outcome of the mixture is not one real line ordered by the loss; it is identified with
the value of the loss itself (the pair of laws of L under P and Q is equivalent to the pair
for every privacy question), so ``loss`` is the identity and ``inverse_loss`` too.

Weights. The pair is defined by the weights given, divided by their exact (rational) sum,
which must be 1 within 1e-12; the certified bounds allow for that division and for the
rounding of each product w_i·δ_i.
"""
from __future__ import annotations

import math
from fractions import Fraction
from typing import Optional, Sequence, Tuple

import numpy as np

from ..core.rounding import _U
from .base import PrivacyLoss
from .results import PldCells, PldSupport, StepMoments, Tilted, from_central

__all__ = ["PublicMixtureLoss"]

# Relative padding of each component's CGF before mixing: the accountants pad a CGF that
# is not a closed form by 1e-9 of itself (accountants.rdp.pad_cgf, docs/math.md §3.1), but a
# mixture's log-sum-exp can amplify a component's relative error by K_i/K (a large K_i
# under a small weight); padding each component first keeps the mixture's value above the
# mixture of the true CGFs whenever each component is within that margin.
_CGF_REL = 1e-9
# Below this weight a component is sent whole to +∞ in the upper PLD cells (and to the
# identity pair in the lower cells): its cells, scaled by w, would underflow, and the upper
# PMF must not lose mass.
_TINY_WEIGHT = 2.0 ** -900


def _binom_central(j: int, d: float, mus: Sequence[float]) -> float:
    """E[(X + d)^j] from the central moments mus = [1, 0, μ2, μ3, μ4, μ5] of X."""
    return math.fsum(math.comb(j, r) * mus[r] * d ** (j - r) for r in range(j + 1))


class PublicMixtureLoss(PrivacyLoss):
    """P = ⊕ w_i P_i, Q = ⊕ w_i Q_i: the pair of component ``i`` runs with probability
    ``weights[i]`` and the outcome shows which (docs/math.md §11.1). All components must be
    of one ``direction``."""

    def __init__(self, components: Sequence[PrivacyLoss], weights: Sequence[float]) -> None:
        comps = list(components)
        ws = [float(w) for w in weights]
        if not comps or len(comps) != len(ws):
            raise ValueError("components and weights must be non-empty and of equal length, "
                             f"got {len(comps)} and {len(ws)}")
        for i, w in enumerate(ws):
            if not (w >= 0.0 and math.isfinite(w)):
                raise ValueError(f"weights[{i}] must be in [0, 1], got {w!r}")
        total = sum(Fraction(w) for w in ws)
        if abs(total - 1) > Fraction(1, 10 ** 12):
            raise ValueError(f"weights must sum to 1 (tolerance 1e-12), got {float(total)!r}")
        dirs = {c.direction for c in comps}
        if len(dirs) != 1:
            raise ValueError(f"components must share one direction, got {sorted(dirs)}")
        keep = [(c, w) for c, w in zip(comps, ws) if w > 0.0]
        self.components: Tuple[PrivacyLoss, ...] = tuple(c for c, _ in keep)
        self.weights = np.array([w for _, w in keep], dtype=float)
        with np.errstate(divide="ignore"):
            self.log_weights = np.log(self.weights)
        # |1/S − 1| for the exact sum S of the weights kept (the pair is normalised by S)
        s = sum(Fraction(w) for _, w in keep)
        self._norm_rel = float(abs(1 / s - 1)) * 1.01 + 1e-300
        self.direction = comps[0].direction
        self.lo_loss = float(min(c.lo_loss for c in self.components))
        self.hi_loss = float(max(c.hi_loss for c in self.components))
        self.cgf_exact = all(bool(c.cgf_exact) for c in self.components)

    def __repr__(self):
        parts = ", ".join(f"{w:.6g}: {c!r}" for c, w in zip(self.components, self.weights))
        return f"PublicMixtureLoss({{{parts}}}, direction={self.direction!r})"

    # -- outcome = the loss value ------------------------------------------------------
    def loss(self, x: float | np.ndarray) -> float | np.ndarray:
        """L(x) = x: the outcome is identified with the loss value (module docstring)."""
        x = np.asarray(x, dtype=float)
        out = np.clip(x, self.lo_loss, self.hi_loss)
        return out if out.ndim else float(out)

    def inverse_loss(self, eps: float | np.ndarray) -> float | np.ndarray:
        e = np.asarray(eps, dtype=float)
        out = np.where(e <= self.lo_loss, -np.inf, np.where(e >= self.hi_loss, np.inf, e))
        return out if out.ndim else float(out)

    # -- additive answers --------------------------------------------------------------
    def _lse(self, logs: Sequence) -> np.ndarray:
        """log Σ w_i e^{logs_i}, elementwise over arrays of one shape."""
        arr = np.stack([np.asarray(v, dtype=float) for v in logs]) + \
            self.log_weights.reshape((-1,) + (1,) * np.ndim(logs[0]))
        with np.errstate(invalid="ignore"):
            return np.logaddexp.reduce(arr, axis=0)

    def log_hockey_stick(self, eps: float | np.ndarray) -> float | np.ndarray:
        """log δ(ε) = log Σ w_i δ_i(ε) (docs/math.md §11.1)."""
        out = self._lse([c.log_hockey_stick(eps) for c in self.components])
        return out if np.ndim(out) else float(out)

    def log_sf(self, eps: float | np.ndarray, under: str = "Q") -> float | np.ndarray:
        """log P[L > ε] = log Σ w_i P_i[L_i > ε] under "P" or "Q"."""
        if under not in ("P", "Q"):
            raise ValueError(f"under must be 'P' or 'Q', got {under!r}")
        out = self._lse([c.log_sf(eps, under) for c in self.components])
        return out if np.ndim(out) else float(out)

    # -- CGF -----------------------------------------------------------------------------
    def _mix_cgf(self, ks: np.ndarray) -> np.ndarray:
        """log Σ w_i e^{K_i} over the first axis: log1p(Σ w_i expm1(K_i)) where that is
        small (a tiny K keeps its relative accuracy), a log-sum-exp otherwise."""
        w = self.weights.reshape((-1,) + (1,) * (ks.ndim - 1))
        with np.errstate(over="ignore", invalid="ignore"):
            small = np.sum(w * np.expm1(np.minimum(ks, 1.0)), axis=0)
            direct = np.logaddexp.reduce(ks + np.log(w), axis=0)
            out = np.where(np.all(ks <= 1.0, axis=0) & (np.abs(small) < 0.5),
                           np.log1p(small), direct)
        return np.where(np.any(np.isnan(ks), axis=0), np.nan, out)

    def _padded(self, c: PrivacyLoss, k):
        return k if c.cgf_exact else k + _CGF_REL * np.abs(k)

    def cgf(self, t: float | np.ndarray) -> float | np.ndarray:
        """K_Y(t) = log Σ w_i e^{K_i(t)}, real t > −1 (docs/math.md §11.1), each component
        not in closed form first raised by 1e-9 of itself (see ``_CGF_REL``): its value is
        then above the mixture of the true CGFs whenever each component is within the
        margin the RDP accountant allows for."""
        ks = np.stack([np.asarray(self._padded(c, np.asarray(c.cgf(t), dtype=float)))
                       for c in self.components])
        out = self._mix_cgf(ks)
        return out if np.ndim(out) else float(out)

    def cgf_upper(self, t: float) -> Optional[float]:
        """log Σ w_i e^{U_i(t)} from the components' proven upper bounds U_i (None if one
        has none), raised by 8u·(1 + |·|) for the log-sum-exp's rounding."""
        ups = [c.cgf_upper(t) for c in self.components]
        if any(u is None for u in ups):
            return None
        val = float(self._mix_cgf(np.array(ups, dtype=float)))
        return max(val + 8 * _U * (1.0 + abs(val) + max(abs(u) for u in ups)), 0.0)

    @property
    def quadrature_size(self) -> int:
        return int(sum(c.quadrature_size for c in self.components))

    @property
    def cgf_closed_at_integers(self) -> bool:
        return all(bool(c.cgf_closed_at_integers) for c in self.components)

    # -- moments and tilted laws -----------------------------------------------------------
    def moments(self, under: str) -> StepMoments:
        """Moments of the mixture law of L under "P" or "Q" (docs/math.md §11.1, §5): the
        mean and central moments exactly from the components' (binomial formula about the
        common mean); E|L − k1| and E|L − k1|³ as upper values (|X + d|ᵏ ≤ (|X| + |d|)ᵏ,
        expanded with the components' own absolute moments), clipped by Lyapunov's
        E|X| ≤ μ2^{1/2}, E|X|³ ≤ μ4^{3/4}, which the true values obey."""
        if under not in ("P", "Q"):
            raise ValueError(f"under must be 'P' or 'Q', got {under!r}")
        ms = [c.moments(under) for c in self.components]
        if any(not math.isfinite(m.rel_err) for m in ms):
            nan = math.nan
            return StepMoments(nan, nan, nan, nan, nan, nan, nan, nan, nan, nan, nan, math.inf)
        w = [float(x) for x in self.weights]
        mean = math.fsum(wi * m.k1 for wi, m in zip(w, ms))
        cm = [0.0] * 6
        a1 = a3 = 0.0
        for wi, m in zip(w, ms):
            d = m.k1 - mean
            mus = [1.0, 0.0, m.mu2, m.mu3, m.mu4, m.mu5]
            for j in range(2, 6):
                cm[j] += wi * _binom_central(j, d, mus)
            ad = abs(d)
            a1 += wi * (m.abs1 + ad)
            a3 += wi * (m.abs3 + 3 * ad * m.mu2 + 3 * ad * ad * m.abs1 + ad ** 3)
        mu2, mu3, mu4, mu5 = cm[2], cm[3], cm[4], cm[5]
        a1 = min(a1, math.sqrt(max(mu2, 0.0)))
        a3 = min(a3, max(mu4, 0.0) ** 0.75)
        rel = max(m.rel_err for m in ms) + 4 * _U
        return from_central(mean, mu2, mu3, mu4, mu5, a1, a3, rel)

    def tilted(self, t: float, centre: Optional[float] = None) -> Tilted:
        """The law of L under Q tilted by e^{tL}, t > 0 (docs/math.md §11.1, §6): the mixture
        of the components' tilted laws with weights π_i = w_i e^{K_i − K}; K′ and K″ from
        theirs, P_t = E_t|L − K′|³ as an upper value (each component's
        E|X + d|³ ≤ P_t,i + 3|d|K″_i + 3d²K″_i^{1/2} + |d|³), K‴..K⁽⁵⁾ by the binomial
        formula. ``centre`` is passed on to the components as their first guess of K′."""
        t = float(t)
        tl = [c.tilted(t, centre) for c in self.components]
        work = math.fsum(x.work for x in tl)
        if any(not (math.isfinite(x.K) and math.isfinite(x.rel_err)) for x in tl):
            nan = math.nan
            return Tilted(t, nan, nan, nan, nan, math.inf, math.inf, nan, nan, nan, work)
        ks = np.array([x.K for x in tl])
        K = float(self._mix_cgf(ks))
        lpi = self.log_weights + ks - K
        pi = np.exp(lpi - np.logaddexp.reduce(lpi))   # normalised (sums to 1 to rounding)
        K1 = math.fsum(p * x.K1 for p, x in zip(pi, tl))
        cm = [0.0] * 6
        Pt = 0.0
        rel = 0.0
        for p, x in zip(pi, tl):
            d = x.K1 - K1
            mus = [1.0, 0.0, x.K2, x.K3, x.K4 + 3 * x.K2 ** 2, x.K5 + 10 * x.K3 * x.K2]
            for j in range(2, 6):
                cm[j] += p * _binom_central(j, d, mus)
            ad = abs(d)
            Pt += p * (x.Pt + 3 * ad * x.K2 + 3 * ad * ad * math.sqrt(max(x.K2, 0.0)) + ad ** 3)
            rel = max(rel, x.rel_err)
        K2 = cm[2]
        # the spread of the components' means enters K″ through d²: its error is
        # 2|d|·rel·|K′_i| per component, relative to K″
        spread = math.fsum(p * 2 * abs(x.K1 - K1) * x.rel_err * abs(x.K1)
                           for p, x in zip(pi, tl))
        rel = rel + (spread / K2 if K2 > 0 else math.inf) + 8 * _U
        abs_err_K = max(x.abs_err_K for x in tl) + 8 * _U * (1.0 + abs(K))
        k3 = cm[3]
        k4 = cm[4] - 3 * K2 * K2
        k5 = cm[5] - 10 * cm[3] * K2
        return Tilted(t, K, float(K1), float(K2), float(Pt), float(abs_err_K), float(rel),
                      float(k3), float(k4), float(k5), work)

    # -- certified one-step answers ---------------------------------------------------------
    def log_delta_bound(self, eps: float, side: str) -> float:
        """log Σ w_i δ_i(ε) from the components' certified bounds on ``side``
        (docs/math.md §11.1), rounded outward: each log w_i + log δ_i carries u(|log w_i| + 1) of
        rounding, the log-sum-exp 4u(1 + max|term|) more, and the pair's normalisation by
        the exact sum of the weights |1/S − 1|."""
        up = side == "upper"
        terms = []
        for c, lw in zip(self.components, self.log_weights):
            ld = c.log_delta_bound(eps, side)
            if ld == -math.inf:
                continue
            terms.append(float(lw) + ld)
        if not terms:
            return -math.inf
        top = max(terms)
        val = top + math.log(math.fsum(math.exp(x - top) for x in terms))
        pad = (8 * _U * (1.0 + max(abs(x) for x in terms) + float(np.max(np.abs(self.log_weights))))
               + 2 * self._norm_rel)
        return val + pad if up else val - pad

    def delta_zero_above(self) -> float:
        return max(c.delta_zero_above() for c in self.components)

    def sup_loss_upper(self) -> Optional[Fraction]:
        vals = [c.sup_loss_upper() for c in self.components]
        if any(v is None for v in vals):
            return None
        return max(vals)

    # -- PLD ---------------------------------------------------------------------------------
    def pld_support(self, log_tau_lo: float, log_tau_hi: float, floor: float) -> PldSupport:
        """The union of the components' supports (docs/math.md §11.1, §4): a Q-tail of at most
        τ in each component leaves Σ w_i τ = τ in the mixture. A component of weight below
        2⁻⁹⁰⁰ goes to +∞ (upper) or to the identity (lower): its support is not needed."""
        sups = [c.pld_support(log_tau_lo, log_tau_hi, floor)
                for c, w in zip(self.components, self.weights) if w >= _TINY_WEIGHT]
        if not sups:
            return PldSupport(-1.0, 1.0, None, False, 1)
        lowers = [s.e_lower for s in sups if s.e_lower is not None]
        return PldSupport(min(s.e_lo for s in sups), max(s.e_hi for s in sups),
                          min(lowers) if lowers else None, any(s.whole for s in sups),
                          int(sum(s.cost for s in sups)))

    def pld_cells(self, i0: int, h: float, npts: int) -> Tuple[PldCells, PldCells]:
        """(upper, lower) :class:`PldCells`: the components' cells weighted and summed (every
        cell quantity is linear in the measure), the mass at +∞ a log-sum-exp. A component
        of weight below 2⁻⁹⁰⁰ is put whole at +∞ in the upper cells (a pair with Q ⊥ P
        dominates every pair) and at the loss 0 (the identity pair P = Q, dominated by every
        pair) in the lower cells."""
        a_u = np.zeros(npts - 1)
        b_u = np.zeros(npts - 1)
        a_l = np.zeros(npts - 1)
        b_l = np.zeros(npts - 1)
        s_u = [0.0] * 5
        s_l = [0.0] * 5
        dtop_u = dtop_l = 0.0
        lw_inf = []
        ident = 0.0
        for c, w, lw in zip(self.components, self.weights, self.log_weights):
            if w < _TINY_WEIGHT:
                lw_inf.append(float(lw))
                ident += float(w)
                continue
            up, lo = c.pld_cells(i0, h, npts)
            a_u += w * up.a
            b_u += w * up.b
            a_l += w * lo.a
            b_l += w * lo.b
            for k, name in enumerate(("Fb", "Qb", "r0", "Pt")):
                s_u[k] += w * getattr(up, name)
                s_l[k] += w * getattr(lo, name)
            dtop_u += w * up.dtop
            dtop_l += w * lo.dtop
            if up.log_w_inf > -math.inf:
                lw_inf.append(float(lw) + up.log_w_inf)
        if ident > 0.0:
            # the identity pair: an atom of P- and Q-mass ``ident`` at L = 0 = ε_k, k = −i0
            k = -i0
            if 1 <= k < npts:
                a_l[k - 1] += ident
            elif k == 0:
                s_l[0] += ident
                s_l[1] += ident
        log_w_inf = float(np.logaddexp.reduce(lw_inf)) if lw_inf else -math.inf
        # rounding of the weighted sums: a few u of the mass at +∞, kept an upper value
        if log_w_inf > -math.inf:
            log_w_inf += 8 * _U * (1.0 + abs(log_w_inf))
        upper = PldCells(a_u, b_u, s_u[0], s_u[1], s_u[2], s_u[3], dtop_u, log_w_inf)
        lower = PldCells(a_l, b_l, s_l[0], s_l[1], s_l[2], s_l[3], dtop_l, log_w_inf)
        return upper, lower
