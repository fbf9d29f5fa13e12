"""Privacy loss of a pair with finitely many outcomes (docs/math.md §10.1).

A :class:`FiniteLoss` is given by its loss values ℓ_j (increasing) with P-masses p_j (the
Q-mass of atom j is p_j·e^{ℓ_j}), a Q-mass at +∞ (outcomes Q can produce and P cannot) and a
P-mass at −∞ (outcomes only P produces), all in log space. Every question of the interface
is a finite sum:

    δ(ε) = Q∞ + Σ_{ℓ_j > ε} q_j·(1 − e^{ε − ℓ_j}),   P[L > ε] = Σ_{ℓ_j > ε} p_j,
    K_Y(t) = log(Σ_j q_j e^{tℓ_j} + Q∞·[t = 0]) (+∞ for t > 0 when Q∞ > 0),

each a sum of non-negative terms (no cancellation). The PLD cells of an atom ℓ in the cell
(ε_i, ε_{i+1}] are a_i += p·expm1(ℓ − ε_i)/expm1(h), b_i += p·e^{ℓ−ε_i}·expm1(h − ℓ + ε_i)/expm1(h)
(docs/math.md §4), again products of non-negative factors.

Errors of the stored pair. The masses and losses a mechanism computes carry rounding: each
stored Q-mass is within a relative ``mass_rel`` of the true one and each loss within an
absolute ``loc_err``. δ(ε) = E_Q[(1 − e^{ε−L})₊], and every composed δ, is non-decreasing in
each Q-mass and in each loss value (the composed δ is a sum over atom tuples of products of
Q-masses times (1 − e^{ε − Σℓ})₊), so the pair with every loss raised by ``loc_err`` and
every Q-mass by the factor 1 + ``mass_rel`` bounds all of them from above, and the pair lowered
the same way from below (docs/math.md §10.1). Upper answers (hockey stick bound, CGF at
t > 0, upper PLD cells) use the raised pair, the lower hockey-stick bound the lowered one;
the lower PLD cells use the stored pair, whose relative mass error is inside the PLD's
per-step quadrature margin (the lowered-chord construction needs total masses 1).

A second, dominated pair (``lower``: e.g. a truncated pair with its tails merged into single
outcomes, which is post-processing) serves the lower answers instead when the pair itself
is only an upper (dominating) one. The lower PLD grid holds no mass at +∞; the part
m = min(Q∞, P₋∞) is a public coin revealing the pair, passed as ``PldCells.log_reveal`` and
composed by the PLD as the lower side's mass at +∞ (exact for an (ε, δ) step); the Q-mass at
+∞ beyond it is dropped by the lower construction (valid, loose where it decides δ).
"""
from __future__ import annotations

import math
from fractions import Fraction
from typing import Optional, Sequence, Tuple

import numpy as np

from ..core.rounding import _KAPPA, _U, round_up
from ..core.special import expm1_minus_x as _e1, x_exp_minus_expm1 as _e2
from .base import PrivacyLoss
from .results import (CALL_WORK, PldCells, PldSupport, StepMoments, Tilted, from_central,
                      higher_cumulants, moment_sums)

__all__ = ["FiniteLoss"]

_NEG = -math.inf


def _lse(v: np.ndarray) -> float:
    """log Σ e^v over a 1-d array, −inf for an empty or all −inf one (fsum of the scaled
    terms: correctly rounded sum)."""
    if v.size == 0:
        return _NEG
    top = float(np.max(v))
    if top == _NEG:
        return _NEG
    return top + math.log(math.fsum(np.exp(v - top).tolist()))


def _suffix_lse(v: np.ndarray) -> np.ndarray:
    """out[k] = log Σ_{j ≥ k} e^{v_j}, out[n] = −inf (positive partial sums only)."""
    n = v.shape[0]
    out = np.full(n + 1, _NEG)
    if n:
        out[:n] = np.logaddexp.accumulate(v[::-1])[::-1]
    return out


class FiniteLoss(PrivacyLoss):
    """A pair with finitely many atoms (docs/math.md §10.1).

    Parameters
    ----------
    ell : loss values of the finite atoms (any order; equal values are merged).
    log_p : log P-masses of those atoms (−inf entries are dropped).
    log_q_inf : log Q-mass at +∞ (P = 0 there).
    log_p_ninf : log P-mass at −∞ (Q = 0 there).
    direction : "remove" or "add" (as every loss).
    lower : an optional dominated :class:`FiniteLoss` used for every lower answer
        (``log_delta_bound(side="lower")``, the lower PLD cells); without it the pair
        itself is exact and serves both sides.
    mass_rel, loc_err : bounds on the relative error of each stored Q-mass and the absolute
        error of each stored loss against the true pair (0: the stored pair is the pair).
    sup_exact : sup L as an exact rational when the caller knows it (pure-DP answers).
    whole : the PLD grid holds every atom (True, for few atoms with large masses at the
        ends); False lets it stop where the Q-tails left out are below the PLD's tail
        masses (many atoms with negligible tails: the discrete Gaussian).
    """

    cgf_exact = True      # finite sums (docs/math.md §10.1)

    def __init__(self, ell: Sequence[float], log_p: Sequence[float],
                 log_q_inf: float = _NEG, log_p_ninf: float = _NEG,
                 direction: str = "remove", lower: Optional["FiniteLoss"] = None,
                 mass_rel: float = 0.0, loc_err: float = 0.0,
                 sup_exact: Optional[Fraction] = None, whole: bool = True) -> None:
        ell = np.asarray(ell, dtype=float).ravel()
        lp = np.asarray(log_p, dtype=float).ravel()
        if ell.shape != lp.shape:
            raise ValueError(f"ell and log_p must have the same length, got {ell.shape[0]} "
                             f"and {lp.shape[0]}")
        if not (np.all(np.isfinite(ell)) and not np.any(np.isnan(lp))
                and np.all(lp < np.inf)):
            raise ValueError("ell must be finite and log_p in [-inf, inf)")
        keep = lp > _NEG
        ell, lp = ell[keep], lp[keep]
        order = np.argsort(ell, kind="stable")
        ell, lp = ell[order], lp[order]
        # Merge atoms of equal loss (post-processing that loses nothing); "equal" within
        # 8 ulps, since equal ratios computed as log q − log p differ in their last bits:
        # the merged atom sits at log Σq − log Σp, and the spread joins ``loc_err``.
        spread = 0.0
        if ell.size > 1:
            tol = 8 * _U * np.maximum(1.0, np.abs(ell))
            new = np.concatenate([[True], np.diff(ell) > tol[1:]])
            if not np.all(new):
                start = np.nonzero(new)[0]
                segs_l = np.split(ell, start[1:])
                segs_p = np.split(lp, start[1:])
                lps = np.array([float(np.logaddexp.reduce(sp)) for sp in segs_p])
                lqs = np.array([float(np.logaddexp.reduce(sp + sl))
                                for sl, sp in zip(segs_l, segs_p)])
                spread = max(float(sl[-1] - sl[0]) for sl in segs_l)
                ell = np.array([sl[0] if sl.size == 1 else lq_ - lp_
                                for sl, lq_, lp_ in zip(segs_l, lqs, lps)])
                lp = lps
        self.ell = ell
        self.log_p = lp
        self.log_q = lp + ell
        self.log_q_inf = float(log_q_inf)
        self.log_p_ninf = float(log_p_ninf)
        if math.isnan(self.log_q_inf) or math.isnan(self.log_p_ninf):
            raise ValueError("log_q_inf and log_p_ninf must be numbers")
        self.direction = direction
        self.lower = lower
        self.mass_rel = float(mass_rel)
        self.loc_err = max(float(loc_err), 2 * spread)
        self.sup_exact = sup_exact
        self.whole = bool(whole)
        if ell.size == 0 and self.log_q_inf == _NEG:
            raise ValueError("a finite pair needs at least one atom or a Q-mass at +inf")
        self.lo_loss = -math.inf if (self.log_p_ninf > _NEG or ell.size == 0) else float(ell[0])
        self.hi_loss = math.inf if (self.log_q_inf > _NEG or ell.size == 0) else float(ell[-1])
        # suffix sums: P[L > ℓ_{k−1}] = e^{sp[k]} etc. (Q's without the mass at +∞)
        self._sp = _suffix_lse(lp)
        self._sq = _suffix_lse(self.log_q)
        self._shifted: dict = {}

    # -- construction from outcomes ------------------------------------------------------
    @classmethod
    def from_outcomes(cls, log_p: Sequence[float], log_q: Sequence[float], **kw) -> "FiniteLoss":
        """The pair of outcome masses (log P-mass, log Q-mass of each outcome; −inf is 0):
        outcomes with P = 0 go to +∞, with Q = 0 to −∞, the others to ℓ = log q − log p;
        outcomes of equal loss are merged (post-processing that loses nothing)."""
        lp = np.asarray(log_p, dtype=float).ravel()
        lq = np.asarray(log_q, dtype=float).ravel()
        if lp.shape != lq.shape:
            raise ValueError(f"log_p and log_q must have the same length, got {lp.shape[0]} "
                             f"and {lq.shape[0]}")
        if np.any(np.isnan(lp)) or np.any(np.isnan(lq)) or np.any(lp == np.inf) \
                or np.any(lq == np.inf):
            raise ValueError("log_p and log_q must be in [-inf, inf)")
        both = (lp > _NEG) & (lq > _NEG)
        q_only = (lp == _NEG) & (lq > _NEG)
        p_only = (lp > _NEG) & (lq == _NEG)
        lqi = _lse(lq[q_only])
        lpn = _lse(lp[p_only])
        return cls(lq[both] - lp[both], lp[both], lqi, lpn, **kw)

    def __repr__(self):
        return (f"{type(self).__name__}(atoms={self.ell.size}, lo={self.lo_loss:.6g}, "
                f"hi={self.hi_loss:.6g}, direction={self.direction!r})")

    # -- the raised / lowered pairs (module docstring) ------------------------------------
    def _pair(self, side: str) -> Tuple[np.ndarray, np.ndarray, float]:
        """(ℓ, log q, log Q∞) of the pair raised (``side="upper"``) or lowered by the
        stored errors; the stored pair itself when both are 0."""
        if self.mass_rel == 0.0 and self.loc_err == 0.0:
            return self.ell, self.log_q, self.log_q_inf
        hit = self._shifted.get(side)
        if hit is None:
            up = side == "upper"
            # the shift and the factor are rounded so that they still cover the errors
            eta = self.loc_err * (1 + 4 * _U) + 0.0
            ell = self.ell + eta if up else self.ell - eta
            ell = np.nextafter(ell, np.inf if up else -np.inf)
            if not up and self.mass_rel >= 1.0:
                # errors as large as the masses: the lowered pair keeps no Q-mass (its
                # profile is 0, the trivial lower bound); log1p(−1 − …) would raise
                lf = -math.inf
            else:
                lf = math.log1p(self.mass_rel) if up else math.log1p(-self.mass_rel)
                lf = lf + 4 * _U * abs(lf) + (4 * _U if up else -4 * _U)
            # Q-masses: q̃·(1 ± rel) (the log-mass is shifted by the same amount as ℓ
            # moves, so that the Q-mass itself is the stored one times the factor)
            lq = self.log_q + lf
            lqi = self.log_q_inf + lf if self.log_q_inf > _NEG else _NEG
            hit = self._shifted[side] = (ell, lq, lqi)
        return hit

    # -- interface: loss and its inverse (outcomes are the atoms' ranks) --------------------
    def loss(self, x: float | np.ndarray) -> float | np.ndarray:
        """L of outcome x, where outcome j = 0..n−1 is the j-th atom (increasing loss), and
        x < 0 / x ≥ n are the outcomes at −∞ / +∞ (meaningful only where those exist)."""
        x = np.asarray(x, dtype=float)
        n = self.ell.size
        j = np.clip(np.floor(x), 0, max(n - 1, 0)).astype(int)
        val = self.ell[j] if n else np.full(x.shape, math.inf)
        out = np.where(x < 0, -np.inf, np.where(x >= n, np.inf, val))
        return out if out.ndim else float(out)

    def inverse_loss(self, eps: float | np.ndarray) -> float | np.ndarray:
        """The outcome rank at which L first exceeds ε (the number of atoms ≤ ε)."""
        e = np.asarray(eps, dtype=float)
        out = np.searchsorted(self.ell, e, side="right").astype(float)
        return out if out.ndim else float(out)

    # -- hockey stick and tails ----------------------------------------------------------
    @staticmethod
    def _log_hs(ell, lq, lqi, e: float) -> Tuple[float, float]:
        """(log δ(e), largest |log term|) of the pair (ℓ, log q, log Q∞): Q∞ plus the
        non-negative terms q_j(1 − e^{e − ℓ_j}) over ℓ_j > e."""
        k = int(np.searchsorted(ell, e, side="right"))
        with np.errstate(divide="ignore"):
            # e − ℓ_j is one correctly rounded subtraction (relative error ≤ u)
            terms = lq[k:] + np.log(-np.expm1(e - ell[k:]))
        if lqi > _NEG:
            terms = np.append(terms, lqi)
        ld = _lse(terms)
        fin = terms[np.isfinite(terms)]
        size = float(np.max(np.abs(fin))) if fin.size else 0.0
        return ld, size

    def log_hockey_stick(self, eps: float | np.ndarray) -> float | np.ndarray:
        """log δ(ε) of the stored pair (a finite sum of non-negative terms)."""
        e = np.asarray(eps, dtype=float)
        flat = np.array([self._log_hs(self.ell, self.log_q, self.log_q_inf, float(x))[0]
                         for x in e.ravel()])
        out = flat.reshape(e.shape)
        return out if out.ndim else float(out)

    def log_sf(self, eps: float | np.ndarray, under: str = "Q") -> float | np.ndarray:
        """log P[L > ε] under "P" or "Q" (the mass at +∞ counts under Q, the one at −∞
        never does)."""
        if under not in ("P", "Q"):
            raise ValueError(f"under must be 'P' or 'Q', got {under!r}")
        e = np.asarray(eps, dtype=float)
        k = np.searchsorted(self.ell, e, side="right")
        if under == "P":
            out = self._sp[k]
        else:
            out = np.logaddexp(self._sq[k], self.log_q_inf)
        out = np.asarray(out, dtype=float)
        return out if out.ndim else float(out)

    # -- CGF -----------------------------------------------------------------------------
    def cgf(self, t: float | np.ndarray) -> float | np.ndarray:
        """K_Y(t) = log(Σ_j q_j e^{tℓ_j} + Q∞·[t = 0]) for t > −1; +inf for t > 0 when the
        pair has a Q-mass at +∞. At t > 0 the raised pair is summed (an upper bound on the
        true pair's K, docs/math.md §10.1)."""
        def one(t):
            t = float(t)
            if not t > -1.0:
                raise ValueError(f"t must be > -1 for the CGF, got {t!r}")
            if t == 0.0:
                return _lse(np.append(self.log_q, self.log_q_inf))
            if t > 0 and self.log_q_inf > _NEG:
                return math.inf
            ell, lq, _ = self._pair("upper") if t > 0 else (self.ell, self.log_q, None)
            v = lq + t * ell
            k = _lse(v)
            if t > 0:
                # rounding of the exponents t·ℓ_j + log q_j and of the sum, taken upward
                size = float(np.max(np.abs(v))) if v.size else 0.0
                k += 8 * _U * (abs(k) + size + 1.0)
            return k
        if np.ndim(t):
            return np.array([one(x) for x in np.ravel(t)]).reshape(np.shape(t))
        return one(t)

    @property
    def quadrature_size(self) -> int:
        return 2

    # -- moments and tilted laws (Edgeworth, saddle point) ---------------------------------
    def _refuse_infinite(self, what: str) -> None:
        raise ValueError(
            f"{what} of this privacy loss are infinite: the pair puts mass on an outcome "
            "only one of the two distributions produces (an (epsilon, delta) step with "
            "delta > 0); use method='pld'")

    def moments(self, under: str) -> StepMoments:
        """Moments of L under "P" or "Q" from the atoms (docs/math.md §10.1); the mean is
        summed as Σ p·(ℓe^ℓ − expm1 ℓ) (under Q) or −Σ p·(expm1 ℓ − ℓ) (under P), sums of
        non-negative terms, so that a mean far below the spread keeps its accuracy."""
        if under not in ("P", "Q"):
            raise ValueError(f"under must be 'P' or 'Q', got {under!r}")
        if (under == "Q" and self.log_q_inf > _NEG) or (under == "P" and self.log_p_ninf > _NEG):
            self._refuse_infinite("the moments")
        lw = self.log_q if under == "Q" else self.log_p
        tot = _lse(lw)
        w = np.exp(lw - tot)
        p = np.exp(self.log_p - tot)
        if under == "Q":
            # E_Q[L] = Σ p(ℓe^ℓ − expm1 ℓ) + Σ p·expm1 ℓ, and Σ p·expm1 ℓ = Σq − Σp = P(−∞)
            mean = float(np.sum(p * _e2(self.ell))) + math.exp(self.log_p_ninf - tot)
        else:
            # E_P[L] = −Σ p(expm1 ℓ − ℓ) + (Σq − Σp) = −Σ p·e1(ℓ) − Q∞
            mean = -float(np.sum(p * _e1(self.ell))) - math.exp(self.log_q_inf - tot)
        v = moment_sums(w, self.ell - mean)
        mu = v / v[0]
        rel = 1e-14 + 8 * _U * self.ell.size
        return from_central(mean, mu[2], mu[3], mu[4], mu[5], mu[6], mu[7], rel)

    def tilted(self, t: float, centre: Optional[float] = None) -> Tilted:
        """K, K′, K″, P_t and K3..K5 of L under Q tilted by e^{tL} (t > 0), from the atoms."""
        t = float(t)
        if self.log_q_inf > _NEG:
            self._refuse_infinite("the tilted laws (the CGF at t > 0)")
        v0 = self.log_q + t * self.ell
        K = _lse(v0)
        w = np.exp(v0 - K)
        c = float(np.sum(w * self.ell)) / float(np.sum(w))
        v = moment_sums(w, self.ell - c)
        r = v[1] / v[0]
        K1 = c + r
        K2 = max(v[2] / v[0] - r * r, 0.0)
        Pt = v[7] / v[0] + 3.0 * abs(r) * (v[2] / v[0] + 2 * abs(r) * v[6] / v[0] + r * r)
        k3, k4, k5 = higher_cumulants(v, v[0], r)
        size = float(np.max(np.abs(v0))) if v0.size else 0.0
        n = self.ell.size
        abs_err_K = 8 * _U * (abs(K) + size + n) + self.mass_rel + t * self.loc_err
        spread = float(np.sum(w * np.abs(self.ell)))
        rel = 1e-14 + 8 * _U * n * (1.0 + spread / max(abs(K1), 1e-300)) + self.mass_rel
        return Tilted(t, K, float(K1), float(K2), float(Pt), abs_err_K, float(min(rel, 1e-6))
                      if K2 > 0 else math.inf, k3, k4, k5, CALL_WORK)

    # -- certified one-step answers --------------------------------------------------------
    def _bound_pair(self, side: str):
        """The pair whose hockey stick bounds the true one on ``side``."""
        if side == "upper":
            return self._pair("upper")
        src = self.lower if self.lower is not None else self
        return src._pair("lower")

    def log_delta_bound(self, eps: float, side: str) -> float:
        """log δ(ε) of the raised (upper) or lowered (lower; the dominated pair when one is
        given) pair, with the rounding of the sum: each term's log is within a few u of its
        size and fsum rounds once (docs/math.md §10.1)."""
        if side not in ("upper", "lower"):
            raise ValueError(f"side must be 'upper' or 'lower', got {side!r}")
        s = self.sup_loss_upper() if side == "upper" else self.sup_loss_lower()
        if s is not None and Fraction(float(eps)) >= s:
            return _NEG                   # δ(ε) = 0 from sup L on (exact rational bound)
        ell, lq, lqi = self._bound_pair(side)
        ld, size = self._log_hs(ell, lq, lqi, float(eps))
        if ld == _NEG:
            return _NEG
        pad = _KAPPA * _U * (abs(ld) + size + 4.0)
        return ld + pad if side == "upper" else ld - pad

    def delta_zero_above(self) -> float:
        """The raised pair's largest loss (inf with a Q-mass at +∞)."""
        s = self.sup_loss_upper()
        return math.inf if s is None else round_up(s)

    def sup_loss_upper(self) -> Optional[Fraction]:
        """sup L (exact when given as ``sup_exact``, else the largest stored loss plus its
        error, rounded up); None with a Q-mass at +∞."""
        if self.log_q_inf > _NEG or self.ell.size == 0:
            return None
        if self.sup_exact is not None:
            return Fraction(self.sup_exact)
        return Fraction(float(self.ell[-1])) + Fraction(self.loc_err) * (1 + Fraction(1, 2 ** 50))

    def sup_loss_lower(self) -> Optional[Fraction]:
        """A rational lower bound on sup L (None when L is unbounded above)."""
        if self.log_q_inf > _NEG or self.ell.size == 0:
            return None
        if self.sup_exact is not None:
            return Fraction(self.sup_exact)
        return Fraction(float(self.ell[-1])) - Fraction(self.loc_err) * (1 + Fraction(1, 2 ** 50))

    # -- PLD -----------------------------------------------------------------------------
    def _lower_cells_pair(self):
        """(ℓ, log p, log P(−∞), log Q∞, log m) of the pair the lower PLD cells describe:
        the dominated pair when one is given, else the stored pair (not the lowered one: the
        lowered-chord construction reads the profile as 1 − u + E_P[(u − e^L)₊], which
        needs total masses 1; the stored masses' relative error, ~1e-15, is inside the
        PLD's per-step quadrature margin, docs/math.md §4.4, as for every loss's cells).

        With masses at both +∞ and −∞, m = min(Q∞, P₋∞) of each is a public coin that
        reveals the pair (P = m[A] + (1 − m)P″, Q = m[D] + (1 − m)Q″): the cells describe
        (P″, Q″) and ``log_reveal`` carries m, which the PLD composes as the lower side's
        mass at +∞. What is left at +∞ in Q″ is passed as δ(ε_n), and the lower
        construction drops it (still a dominated pair; docs/math.md §10.1)."""
        src = self.lower if self.lower is not None else self
        ell, lp, lpn, lqi = src.ell, src.log_p, src.log_p_ninf, src.log_q_inf
        lm = min(lqi, lpn)
        if lm > _NEG:
            l1m = math.log1p(-math.exp(lm))
            lp = lp - l1m
            rest = lambda lx: (lx + math.log1p(-math.exp(lm - lx)) - l1m) if lx > lm else _NEG
            lpn, lqi = rest(lpn), rest(lqi)
        return ell, lp, lpn, lqi, lm

    def _extent(self) -> Tuple[float, float]:
        """The smallest and largest finite loss of every pair the cells use."""
        los, his = [], []
        for ell in (self._pair("upper")[0], self.ell if self.lower is None else self.lower.ell):
            if ell.size:
                los.append(float(ell[0]))
                his.append(float(ell[-1]))
        lo = min(los) if los else 0.0
        hi = max(his) if his else 0.0
        return lo, hi

    def pld_support(self, log_tau_lo: float, log_tau_hi: float, floor: float) -> PldSupport:
        """Every atom (docs/math.md §4, §10.1): the grid must hold them all; it starts below
        0 so that the lower construction has its line 1 − u to follow."""
        lo, hi = self._extent()
        if self.whole or self.ell.size < 2:
            return PldSupport(min(lo, -1e-300), max(hi, 0.0), None, True, 2)
        # The top: the first atom above which the finite atoms' Q-mass is ≤ τ_hi (the Q-mass
        # at +∞ goes there whatever the grid); the bottom: the last atom below which Q's
        # mass is ≤ τ_lo, and P's for the lower construction's extension.
        ell = self.ell
        k_hi = int(np.argmax(self._sq[1:] <= log_tau_hi)) if np.any(
            self._sq[1:] <= log_tau_hi) else ell.size - 1
        pre_q = np.logaddexp.accumulate(self.log_q)      # Q[L ≤ ℓ_k]
        pre_p = np.logaddexp.accumulate(self.log_p)
        below_q = np.nonzero(pre_q <= log_tau_lo)[0]
        below_p = np.nonzero(pre_p <= log_tau_lo)[0]
        k_lo = int(below_q[-1]) + 1 if below_q.size else 0
        k_lp = int(below_p[-1]) + 1 if below_p.size else 0
        e_hi = max(float(ell[min(k_hi, ell.size - 1)]), 0.0)
        e_lo = min(float(ell[min(k_lo, ell.size - 1)]), -1e-300)
        e_lower = min(float(ell[min(k_lp, ell.size - 1)]), e_lo)
        return PldSupport(e_lo, e_hi, e_lower, False, 2)

    def pld_cells(self, i0: int, h: float, npts: int) -> Tuple[PldCells, PldCells]:
        """(upper, lower) :class:`PldCells` on ε_i = (i0 + i)·h: the raised pair and the
        lowered (dominated) one, each atom split between the ends of its cell."""
        ell, lq, lqi = self._pair("upper")
        up = _cells(ell, lq - ell, self.log_p_ninf, lqi, i0, h, npts)
        ell_l, lp_l, lpn_l, lqi_l, lm = self._lower_cells_pair()
        lo = _cells(ell_l, lp_l, lpn_l, lqi_l, i0, h, npts)
        if lm > _NEG:
            lo = PldCells(lo.a, lo.b, lo.Fb, lo.Qb, lo.r0, lo.Pt, lo.dtop, lo.log_w_inf, lm)
        return up, lo


def _cells(ell, lp, lpn, lqi, i0: int, h: float, npts: int) -> PldCells:
    """Cell integrals of the atoms (ℓ_j, p_j), the P-mass e^{lpn} at −∞ and the Q-mass e^{lqi}
    at +∞ on the grid ε_i = (i0 + i)·h, i < npts (docs/math.md §4, §10.1; the contract of
    ``LaplaceLoss.pld_cells``)."""
    ncell = npts - 1
    em1h = math.expm1(h)
    e0 = i0 * h
    en = (i0 + ncell) * h
    a = np.zeros(ncell)
    b = np.zeros(ncell)
    # cell of each atom: c with ε_c < ℓ ≤ ε_{c+1}, t = ℓ − ε_c ∈ (0, h]
    j = np.ceil(ell / h)
    c = (j - 1 - i0).astype(np.int64)
    t = ell - (j - 1) * h
    # keep t in (0, h] against the rounding of (j − 1)·h
    t = np.clip(t, 0.0, h)
    below = c < 0
    above = c >= ncell
    mid = ~(below | above)
    p = np.exp(lp)
    if np.any(mid):
        cm, tm, pm = c[mid], t[mid], p[mid]
        np.add.at(a, cm, pm * np.expm1(tm) / em1h)
        np.add.at(b, cm, pm * np.exp(tm) * np.expm1(h - tm) / em1h)
    pninf = math.exp(lpn) if lpn > _NEG else 0.0
    Fb = math.fsum(p[below].tolist()) + pninf
    Qb = math.fsum(np.exp(lp[below] + ell[below]).tolist())
    # r0 = E_P[(e^{ε_0} − e^L)₊]: the atoms at or below ε_0 and the atom at −∞
    r0 = math.fsum((p[below] * np.exp(e0) * -np.expm1(ell[below] - e0)).tolist()) \
        + pninf * math.exp(e0)
    Pt = math.fsum(p[above].tolist())
    # δ(ε_n): Q∞ plus what lies above the grid (nothing when the grid holds every atom)
    dt_terms = (lp[above] + ell[above] + np.log(-np.expm1(en - ell[above]))).tolist()
    if lqi > _NEG:
        dt_terms.append(lqi)
    ldt = _lse(np.array(dt_terms)) if dt_terms else _NEG
    dtop = math.exp(ldt) if ldt > _NEG else 0.0
    return PldCells(a, b, Fb, Qb, r0, Pt, dtop, ldt)
