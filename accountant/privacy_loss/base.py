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
"""
from __future__ import annotations

import numpy as np


class PrivacyLoss:
    """Abstract one-step privacy loss in one direction (``"remove"`` or ``"add"``)."""

    direction: str = "remove"
    lo_loss: float = -np.inf
    hi_loss: float = np.inf

    # -- interface -----------------------------------------------------------------------
    def loss(self, x):
        raise NotImplementedError

    def inverse_loss(self, eps):
        raise NotImplementedError

    def log_hockey_stick(self, eps):
        raise NotImplementedError

    def log_sf(self, eps, under: str = "Q"):
        raise NotImplementedError

    def cgf(self, t):
        raise NotImplementedError

    # -- derived -------------------------------------------------------------------------
    def hockey_stick(self, eps):
        """δ(ε) of one step (exact)."""
        return np.exp(self.log_hockey_stick(eps))

    def cgf_p(self, t):
        """K_X(t) = log E_P[e^{tL}] = K_Y(t − 1)."""
        return self.cgf(np.asarray(t, dtype=float) - 1.0) if np.ndim(t) else self.cgf(float(t) - 1.0)

    def rdp(self, order):
        """Rényi divergence D_α(Q‖P) = K_Y(α − 1)/(α − 1), α > 1."""
        order = float(order)
        return self.cgf(order - 1.0) / (order - 1.0)

    @property
    def pure_epsilon(self) -> float:
        """The ε at which δ(ε) = 0 (inf when the loss is unbounded above)."""
        return float(self.hi_loss)
