"""Small frozen results the privacy loss returns to the accountants (docs/math.md §5, §6):
the moments of one step (:class:`StepMoments`), its tilted law (:class:`Tilted`), and the
PLD grid's support and cells (:class:`PldSupport`, :class:`PldCells`)."""
from __future__ import annotations

from dataclasses import dataclass
from typing import Optional, Sequence, Tuple

import numpy as np

# Python overhead of one quadrature (~0.1 ms), in the work units of the saddle point's
# budget (see privacy_loss.mixture: 15-point panel evaluations × (components + 20)).
CALL_WORK = 800.0


@dataclass(frozen=True)
class StepMoments:
    """Moments of one step's privacy loss under P ("X") or Q ("Y").

    k1..k5 are the cumulants; mu2..mu5 the central moments; abs1 = E|L − k1| and
    abs3 = E|L − k1|³; rel_err an upper estimate of the relative quadrature error.
    """

    k1: float
    k2: float
    k3: float
    k4: float
    k5: float
    mu2: float
    mu3: float
    mu4: float
    mu5: float
    abs1: float
    abs3: float
    rel_err: float = 0.0

    @property
    def cumulants(self) -> Tuple[float, float, float, float, float]:
        return (self.k1, self.k2, self.k3, self.k4, self.k5)


@dataclass(frozen=True)
class Tilted:
    """K(t), K′(t), K″(t) and P_t = E_t|L − K′(t)|³ of one step under Q tilted by e^{tL}.

    rel_err is an upper estimate of the relative error of each of the four numbers (K
    carries it as an absolute error ``abs_err_K``); where the quadrature cannot reach the
    tilted law the numbers are NaN and both errors infinite.
    """

    t: float
    K: float
    K1: float
    K2: float
    Pt: float
    abs_err_K: float = 0.0
    rel_err: float = 0.0
    K3: float = 0.0   # third to fifth tilted cumulants (estimates only: the SPA-MSD
    K4: float = 0.0   # correction, and derivative data of the Hermite surrogate between
    K5: float = 0.0   # lattice tilts in accountant/accountants/saddlepoint.py)
    work: float = 0.0  # what the quadrature cost, in work units (see _WORK): the
                       # saddle-point accountant's budget is counted in them


def moment_sums(w: np.ndarray, d: np.ndarray) -> np.ndarray:
    """Σ w·[1, d, d², d³, d⁴, d⁵, |d|, |d|³]: the moment vector of a weighted sample about
    a centre (the quadrature families' moments and tilted laws, docs/math.md §5, §6)."""
    ad = np.abs(d)
    wd = w * d
    wd2 = wd * d
    wd3 = wd2 * d
    wd4 = wd3 * d
    return np.array([w.sum(), wd.sum(), wd2.sum(), wd3.sum(), wd4.sum(), (wd4 * d).sum(),
                     (w * ad).sum(), (w * ad ** 3).sum()])


def from_central(mean: float, mu2: float, mu3: float, mu4: float, mu5: float, abs1: float,
                 abs3: float, rel_err: float) -> StepMoments:
    mean, mu2, mu3, mu4, mu5, abs1, abs3, rel_err = (
        float(x) for x in (mean, mu2, mu3, mu4, mu5, abs1, abs3, rel_err))
    return StepMoments(k1=mean, k2=mu2, k3=mu3, k4=mu4 - 3.0 * mu2 * mu2,
                       k5=mu5 - 10.0 * mu3 * mu2, mu2=mu2, mu3=mu3, mu4=mu4, mu5=mu5,
                       abs1=abs1, abs3=abs3, rel_err=rel_err)


def higher_cumulants(v: Sequence[float], m0: float, r: float) -> Tuple[float, float, float]:
    """Third to fifth cumulants from moments about c, with r = mean − c."""
    m2, m3, m4, m5 = v[2] / m0, v[3] / m0, v[4] / m0, v[5] / m0
    mu2 = m2 - r * r
    mu3 = m3 - 3 * r * m2 + 2 * r ** 3
    mu4 = m4 - 4 * r * m3 + 6 * r * r * m2 - 3 * r ** 4
    mu5 = m5 - 5 * r * m4 + 10 * r * r * m3 - 10 * r ** 3 * m2 + 4 * r ** 5
    return float(mu3), float(mu4 - 3 * mu2 * mu2), float(mu5 - 10 * mu3 * mu2)


@dataclass(frozen=True)
class PldSupport:
    """Where one step's PLD grid must reach (docs/math.md §4), in loss values.

    Q-mass below ``e_lo`` and above ``e_hi`` is at most the tails asked for; ``e_lower``
    (None: no extension) is a loss below which the P-mass no longer matters to the lower
    PLD; ``whole`` says the loss has atoms at ``e_lo``/``e_hi`` that the grid must hold
    (it cannot be clipped); ``cost`` is the kernel work per grid point.
    """

    e_lo: float
    e_hi: float
    e_lower: Optional[float]
    whole: bool
    cost: int


@dataclass(frozen=True, eq=False)
class PldCells:
    """Cell integrals of one step on the grid ε_i = (i0 + i)·h (docs/math.md §4):
    ``a``, ``b`` per cell, Fb = P[L ≤ ε_0], Qb = Q[L ≤ ε_0], r0 = E_P[(e^{ε_0} − e^L)_+],
    Pt = P[L > ε_n], dtop = δ(ε_n), and ``log_w_inf`` the log Q-mass the upper PLD puts at
    +∞ (δ(ε_n) plus any mass left out of the cells, rounded up).

    ``log_reveal`` (lower cells only; −inf by default) is log m of a public coin: the pair
    is, with probability m, the fully revealing pair (an outcome only Q produces vs one
    only P produces) and otherwise the pair the cells describe, normalised to total mass 1.
    The lower PLD then carries m as a mass at +∞, which the lowered-chord construction
    cannot hold (docs/math.md §10.1)."""

    a: np.ndarray
    b: np.ndarray
    Fb: float
    Qb: float
    r0: float
    Pt: float
    dtop: float
    log_w_inf: float
    log_reveal: float = -np.inf
