"""The privacy-loss interface every accountant reads.

A :class:`PrivacyLoss` describes one step of a mechanism in one direction by a dominating
pair (P, Q) and its privacy loss L(x) = log Q(x)/P(x), increasing in the outcome x.
X = L under P, Y = L under Q (docs/math.md §1).

What an accountant may use:

* ``lo_loss``, ``hi_loss`` — the infimum and supremum of L (either may be infinite; L may
  carry atoms there, e.g. Laplace).
* ``loss(x)``, ``inverse_loss(eps)`` — L and its inverse on (lo_loss, hi_loss).
* ``log_hockey_stick(eps)`` / ``hockey_stick(eps)`` — the exact one-step
  δ(ε) = Q[L > ε] − e^ε P[L > ε], in log space.
* ``log_sf(eps, under)`` — log P[L > ε] under "P" (X) or "Q" (Y).
* ``cgf(t)`` — K_Y(t) = log E_Q[e^{tL}] for real t > −1; K_X(t) = K_Y(t − 1).
* ``cgf_exact`` — True when ``cgf`` is a closed form (no quadrature error to allow for);
  ``cgf_upper(t)`` — a cheap proven upper bound on K_Y(t), t > 0, or None;
  ``quadrature_size`` — the weight of one quadrature of this loss in work budgets
  (docs/math.md §3.1); ``cgf_closed_at_integers`` — ``cgf`` is a closed form at integer
  t ≥ 1 too (cheap orders for an order search, docs/math.md §3.3).
* ``moments(under)``, ``tilted(t, centre)`` — small frozen results
  (:mod:`accountant.loss.results`) for the Edgeworth and saddle-point accountants.
* ``log_delta_bound(eps, side)``, ``epsilon_bound(delta, side)``, ``delta_zero_above()`` —
  the exact one-step hockey stick and its inverse as proven bounds (their own rounding
  included), for one-step answers and the lower bounds of every accountant.
* ``sup_loss_upper()``, ``sup_loss_lower()`` — sup L as exact rational upper and lower
  bounds (None when unbounded);
  ``gaussian_shift`` — Δ/σ when the pair is one Gaussian each side (μ-GDP), else None.
"""
from __future__ import annotations

import math
from fractions import Fraction
from typing import TYPE_CHECKING, Optional

import numpy as np

from ..core.rounding import epsilon_from_bound, guard_log_delta

if TYPE_CHECKING:
    from .results import StepMoments, Tilted


class PrivacyLoss:
    """Abstract one-step privacy loss in one direction (``"remove"`` or ``"add"``)."""

    direction: str = "remove"
    lo_loss: float = -np.inf
    hi_loss: float = np.inf

    # -- interface -----------------------------------------------------------------------
    def loss(self, x: float | np.ndarray) -> float | np.ndarray:
        raise NotImplementedError

    def inverse_loss(self, eps: float | np.ndarray) -> float | np.ndarray:
        raise NotImplementedError

    def log_hockey_stick(self, eps: float | np.ndarray) -> float | np.ndarray:
        raise NotImplementedError

    def log_sf(self, eps: float | np.ndarray, under: str = "Q") -> float | np.ndarray:
        raise NotImplementedError

    def cgf(self, t: float | np.ndarray) -> float | np.ndarray:
        raise NotImplementedError

    #: ``cgf`` is a closed form: its value carries only rounding (docs/math.md §3.1).
    cgf_exact: bool = False

    #: ``pld_cells`` on adjacent grids (of different steps) describe disjoint parts of the
    #: one-step PLD, and the topmost grid's ``log_w_inf`` covers every mass the cells leave
    #: out, so a grid may be fine where the mass is and coarse in the tails (see
    #: docs/math.md §4.9).
    pld_cells_split: bool = False

    #: The PLD bracket narrows as h² from coarse grids on (a smooth loss): the PLD
    #: accountant may choose its first grid from the loss's moments (docs/math.md §4.6).
    pld_second_order: bool = False

    def cgf_upper(self, t: float) -> Optional[float]:
        """A cheap proven upper bound on K_Y(t) for t > 0, or None when there is none."""
        return None

    @property
    def quadrature_size(self) -> int:
        """Work weight of one CGF quadrature of this loss (its Gaussian components)."""
        return 2

    @property
    def cgf_closed_at_integers(self) -> bool:
        """``cgf`` is a closed form at integer t ≥ 1 (t ≤ 5000) as well, so that an order
        search may evaluate those orders freely (docs/math.md §3.1, §3.3)."""
        return bool(self.cgf_exact)

    def moments(self, under: str) -> StepMoments:
        """:class:`~accountant.loss.results.StepMoments` of L under "P" or "Q"
        (Edgeworth accountant, docs/math.md §5)."""
        raise NotImplementedError

    def tilted(self, t: float, centre: Optional[float] = None) -> Tilted:
        """:class:`~accountant.loss.results.Tilted`: K, K′, K″, P_t … of L under Q
        tilted by e^{tL}, t > 0 (saddle-point accountant, docs/math.md §6)."""
        raise NotImplementedError

    def log_delta_bound(self, eps: float, side: str) -> float:
        """A proven upper (``side="upper"``) or lower bound on log δ(ε) of one step, ε ≥ 0,
        that includes the rounding of its own evaluation (docs/math.md §2, §9)."""
        raise NotImplementedError(f"{type(self).__name__} has no certified one-step "
                                  "hockey stick")

    def delta_zero_above(self) -> float:
        """A point above which the upper bound on the one-step δ is 0 (inf if none)."""
        return math.inf

    def epsilon_bound(self, delta: float, side: str = "upper",
                      guess: Optional[float] = None) -> float:
        """The one-step ε(δ) as a proven bound on ``side`` (0 if δ(0) ≤ δ), by inverting
        :meth:`log_delta_bound`; ``guess`` only saves evaluations."""
        return epsilon_from_bound(lambda e, sd: guard_log_delta(self.log_delta_bound(e, sd), sd),
                                  delta, side, self.delta_zero_above(), guess)

    #: Δ/σ of a pair of single Gaussians (the step is μ-GDP with this μ), else None.
    gaussian_shift = None

    def sup_loss_upper(self) -> Optional[Fraction]:
        """A rational upper bound on sup L (None when L is unbounded above): ``hi_loss``
        is a rounded logarithm, raised by 64 ulps (0 stays 0: a loss identically 0)."""
        h = float(self.hi_loss)
        if not math.isfinite(h):
            return None
        return Fraction(h) * (1 + Fraction(64, 2 ** 53)) if h > 0 else Fraction(0)

    def sup_loss_lower(self) -> Optional[Fraction]:
        """A rational lower bound on sup L (None when L is unbounded above): ``hi_loss``
        lowered by 64 ulps (the δ = 0 answer's lower bound, docs/math.md §10.5)."""
        h = float(self.hi_loss)
        if not math.isfinite(h):
            return None
        return Fraction(h) * (1 - Fraction(64, 2 ** 53)) if h > 0 else Fraction(h)

    # -- derived -------------------------------------------------------------------------
    def hockey_stick(self, eps: float | np.ndarray) -> float | np.ndarray:
        """δ(ε) of one step (exact)."""
        return np.exp(self.log_hockey_stick(eps))

    def cgf_p(self, t: float | np.ndarray) -> float | np.ndarray:
        """K_X(t) = log E_P[e^{tL}] = K_Y(t − 1)."""
        return self.cgf(np.asarray(t, dtype=float) - 1.0) if np.ndim(t) else self.cgf(float(t) - 1.0)

    def rdp(self, order: float) -> float:
        """Rényi divergence D_α(Q‖P) = K_Y(α − 1)/(α − 1), α > 1."""
        order = float(order)
        return self.cgf(order - 1.0) / (order - 1.0)

    @property
    def pure_epsilon(self) -> float:
        """The ε at which δ(ε) = 0 (inf when the loss is unbounded above)."""
        return float(self.hi_loss)
