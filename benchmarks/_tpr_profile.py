"""A *reproduction*, written for this project, of the TPR-at-FPR method that dp_accounting's
main branch (after 0.6.0) ships as ``PrivacyLossDistribution.get_true_positive_rates``.

It is not dp_accounting's code: it is re-derived from the method's description (its
docstring and "Section 3.1 of the supplementary material" it cites) so that the benchmark
can run the method on dp_accounting 0.6.0, which does not have it. See
``benchmarks/RISK_PEERS.md`` (b) for the description.

The method: every point (ε, δ) of a mechanism's privacy profile makes the set of
achievable (FPR α, TPR) pairs lie under two lines, TPR ≤ e^ε·α + δ and
TPR ≤ 1 − e^(−ε)·(1 − δ − α) (the (ε, δ)-DP region, Kairouz, Oh, Viswanath 2015). Taking
the minimum over a finite grid of δ (by default δ = 0 and 3000 values log-spaced over
[1e-13, 1]) gives an upper bound on the TPR: valid whenever each ε(δ) used is itself an
upper bound, loose between grid points, and symmetric about the line TPR = 1 − FPR (it
ignores the add/remove asymmetry).

Used only by ``benchmarks/bench_risk.py`` and ``benchmarks/record_risk_reference.py``;
nothing in ``accountant/`` imports it.
"""
from __future__ import annotations

from typing import Callable

import numpy as np

#: The δ grid the method uses when none is given: 0 and 3000 points log-spaced in [1e-13, 1].
DEFAULT_DELTAS = np.concatenate(([0.0], np.logspace(-13.0, 0.0, 3000)))


def tpr_upper_from_profile(epsilon_for_delta: Callable[[float], float],
                           fpr: float | np.ndarray,
                           deltas: np.ndarray | None = None) -> np.ndarray:
    """Upper bound on the TPR at each ``fpr`` from ε(δ) on a grid of δ (reproduction).

    Parameters
    ----------
    epsilon_for_delta
        δ ↦ ε(δ), an upper bound on the mechanism's ε at that δ (for instance a pessimistic
        PLD's ``get_epsilon_for_delta``). An infinite ε contributes no constraint.
    fpr
        False positive rate(s) in [0, 1].
    deltas
        The δ grid; :data:`DEFAULT_DELTAS` when ``None``.

    Returns
    -------
    numpy.ndarray
        min over the grid of min(e^ε·α + δ, 1 − e^(−ε)(1 − δ − α)), clipped to [0, 1].
    """
    alpha = np.atleast_1d(np.asarray(fpr, dtype=float))
    grid = DEFAULT_DELTAS if deltas is None else np.asarray(deltas, dtype=float)
    eps = np.array([float(epsilon_for_delta(float(d))) for d in grid])
    keep = np.isfinite(eps)
    eps, grid = eps[keep], grid[keep]
    if eps.size == 0:
        return np.ones_like(alpha)
    # Rows: grid points; columns: the FPRs. Both lines of the (ε, δ) region at once.
    e = eps[:, None]
    d = grid[:, None]
    line_low = np.exp(e) * alpha[None, :] + d
    line_high = 1.0 - np.exp(-e) * (1.0 - d - alpha[None, :])
    bound = np.minimum(line_low, line_high).min(axis=0)
    return np.clip(bound, 0.0, 1.0)


#: The FPR grid of the μ-GDP estimate when none is given: 500 points log-spaced in [1e-12, 0.5].
DEFAULT_GDP_FPRS = np.logspace(-12.0, np.log10(0.5), 500)


def gdp_estimate_from_profile(epsilon_for_delta: Callable[[float], float],
                              fprs: np.ndarray | None = None,
                              deltas: np.ndarray | None = None) -> float:
    """μ-GDP estimate of dp_accounting main's ``get_gdp_parameter_estimate`` (reproduction).

    The largest Φ⁻¹(TPR⁺(α)) − Φ⁻¹(α) over an FPR grid, TPR⁺ from
    :func:`tpr_upper_from_profile`. Neither a lower nor an upper bound on the mechanism's
    μ: the TPR bound makes it high, the finite FPR grid can make it low (the method's own
    docstring says so). dp_accounting also returns ∞ when a PLD's mass at +∞ exceeds the
    smallest FPR; callers here pass PLDs whose infinite mass is ~1e-15, below the grid.
    """
    from scipy import stats

    grid = DEFAULT_GDP_FPRS if fprs is None else np.asarray(fprs, dtype=float)
    grid = grid[grid <= 0.5]  # the TPR bound is symmetric about TPR = 1 − FPR
    tpr = tpr_upper_from_profile(epsilon_for_delta, grid, deltas)
    return float(np.max(stats.norm.ppf(tpr) - stats.norm.ppf(grid)))
