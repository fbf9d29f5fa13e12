"""Cumulants and tilted moments of the privacy loss, one step, cached per mechanism.

Two families of numbers feed the approximate accountants (docs/math.md §5, §6):

* :func:`step_moments` — for X = L under P or Y = L under Q: the mean κ₁, the central
  moments μ₂..μ₅, the absolute central moments E|L−κ₁| and E|L−κ₁|³, and the cumulants
  κ₂ = μ₂, κ₃ = μ₃, κ₄ = μ₄ − 3μ₂², κ₅ = μ₅ − 10μ₃μ₂ (Edgeworth accountant and the
  Derumigny–Girard–Guyonvarch bound, which needs centred absolute moments).
* :func:`tilted` — for a real t > 0, K(t) = log E_Q[e^{tL}], K′(t), K″(t) and
  P_t = E_t|L − K′(t)|³ under the tilted law dQ_t ∝ e^{tL} dQ (saddle-point accountant).

The privacy loss answers (``loss.moments(under)``, ``loss.tilted(t, centre)``); this
module caches the answers per mechanism. Gaussian-mixture pairs use one adaptive vector
Gauss–Kronrod pass for the mean (written as the integral of a non-negative function, so
that a mean far below E|L| keeps its relative accuracy) and one pass for all central
moments about that mean — no raw-moment cancellation. Panels break at every component, at the tilted peaks and at the point where
L equals the centre (the kink of |L − c|). The Gaussian pair and the Laplace pair are in
closed form / exact piecewise integrals.

Every pass is bounded in work (``privacy_loss.mixture._WORK``, in panel evaluations ×
components: mixtures with hundreds of components cost ~100× more per panel); a layout beyond
reach returns NaN values with an infinite error (``Tilted``) or NaN moments, which the
accountants refuse rather than score. ``Tilted.work`` records the cost, which the
saddle-point accountant's per-query budget counts.
"""
from __future__ import annotations

import math
from functools import lru_cache
from typing import TYPE_CHECKING, Optional, Tuple


from ..loss import loss_for, privacy_losses
from ..loss.results import StepMoments, Tilted

if TYPE_CHECKING:
    from ..core.mechanisms import Mechanism
    from ..loss.base import PrivacyLoss

__all__ = ["StepMoments", "Tilted", "step_moments", "mechanism_moments", "tilted",
           "mechanism_tilted"]


# ----------------------------------------------------------------------------------------
# Public entry points (cached)
# ----------------------------------------------------------------------------------------
def step_moments(loss: PrivacyLoss, under: str) -> StepMoments:
    """Moments of one step of ``loss`` under "P" (X) or "Q" (Y); not cached (see
    :func:`mechanism_moments`)."""
    if under not in ("P", "Q"):
        raise ValueError(f"under must be 'P' or 'Q', got {under!r}")
    return loss.moments(under)


@lru_cache(maxsize=8192)
def mechanism_moments(mechanism: Mechanism, direction: str, under: str) -> StepMoments:
    """:func:`step_moments` of ``mechanism``'s loss in ``direction``, cached per mechanism."""
    return step_moments(loss_for(mechanism, direction), under)


def tilted(loss: PrivacyLoss, t: float, centre: Optional[float] = None) -> Tilted:
    """K(t), K′(t), K″(t), P_t of one step at t > 0 (not cached).

    ``centre``, a guess of K′(t) (e.g. extrapolated from a nearby t), saves the locating
    pass; the result does not depend on it beyond rounding.
    """
    t = float(t)
    if not t > 0 or not math.isfinite(t):
        raise ValueError(f"t must be in (0, inf), got {t!r}")
    return loss.tilted(t, centre)


_TILT_CACHE: dict = {}


def mechanism_tilted(mechanism: Mechanism, direction: str, t: float,
                     centre: Optional[float] = None) -> Tilted:
    """:func:`tilted` of ``mechanism``'s loss in ``direction``, cached per (mechanism, t)."""
    key = (mechanism, direction, float(t))
    hit = _TILT_CACHE.get(key)
    if hit is None:
        if len(_TILT_CACHE) > 200_000:
            _TILT_CACHE.clear()
        hit = _TILT_CACHE[key] = tilted(loss_for(mechanism, direction), t, centre)
    return hit


def directions(mechanism: Mechanism) -> Tuple[str, ...]:
    """The directions in which ``mechanism`` has its own privacy loss."""
    return tuple(pl.direction for pl in privacy_losses(mechanism))
