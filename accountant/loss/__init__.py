"""Mechanism → privacy loss, one object per direction, cached per frozen mechanism.

``privacy_losses(mechanism)`` returns the directions an accountant must compose separately
and then take the worse of (docs/math.md §1.3): ``("remove", "add")`` for add/remove
adjacency with an asymmetric pair, a single entry for symmetric pairs (Gaussian, Laplace,
replace-one), where the two directions coincide by reflection.
"""
from __future__ import annotations

from functools import lru_cache
from typing import Tuple

import numpy as np

from ..core.mechanisms import ELS, ULS, Gaussian, Laplace, MixtureOfGaussians, SubsampledGaussian
from .base import PrivacyLoss
from .laplace import LaplaceLoss
from .mixture import GaussianMixtureLoss, binomial_log_pmf

__all__ = ["PrivacyLoss", "GaussianMixtureLoss", "LaplaceLoss", "privacy_losses",
           "directions_of"]


def _mixture_pair(sigma, shifts, weights, log_weights=False) -> Tuple[PrivacyLoss, ...]:
    """Remove: N(0) vs Σ w N(c); add: Σ w N(−c) vs N(0) (the swapped pair, reflected)."""
    shifts = np.asarray(shifts, dtype=float)
    weights = np.asarray(weights, dtype=float)
    zero = -np.inf if log_weights else 0.0
    one = [0.0] if log_weights else [1.0]
    if np.all((shifts == 0) | (weights == zero)):
        # No component moves: L ≡ 0 in both directions.
        return (GaussianMixtureLoss(sigma, [0.0], [1.0], [0.0], [1.0], "remove"),)
    remove = GaussianMixtureLoss(sigma, [0.0], one, shifts, weights, "remove", log_weights)
    add = GaussianMixtureLoss(sigma, -shifts, weights, [0.0], one, "add", log_weights)
    return remove, add


@lru_cache(maxsize=4096)
def privacy_losses(mechanism) -> Tuple[PrivacyLoss, ...]:
    """The privacy-loss objects of one step of ``mechanism``, one per direction."""
    if isinstance(mechanism, ULS):
        return privacy_losses(SubsampledGaussian(mechanism.noise_multiplier, mechanism.sample_rate))
    sens = 2.0 if mechanism.neighboring == "replace_one" else 1.0
    if isinstance(mechanism, Gaussian):
        return (GaussianMixtureLoss(mechanism.noise_multiplier, [0.0], [1.0], [sens], [1.0]),)
    if isinstance(mechanism, Laplace):
        return (LaplaceLoss(mechanism.noise_multiplier, sens),)
    sigma = mechanism.noise_multiplier
    if isinstance(mechanism, SubsampledGaussian):
        q = mechanism.sample_rate
        if mechanism.sampling == "fixed" and q < 1.0:
            # Fixed-size batches (B of n without replacement) under replace-one: the other
            # records' gradients are shared by the two datasets, so the adversary sets them
            # all equal to the replaced record's g and the replacement to −g: the batch sum
            # is B·g, or (B − 2)·g with probability γ = B/n — the add/remove pair of Poisson
            # subsampling at sensitivity 2 (docs/math.md §2.4). The symmetric pair below
            # (right for Poisson replace-one, where no record is displaced) was used here
            # and certified ε up to 4× too small.
            return _mixture_pair(sigma, [0.0, 2.0], [1 - q, q])
        if mechanism.neighboring == "replace_one":
            # (1−q)N(0)+qN(−1) vs (1−q)N(0)+qN(1): symmetric under x → −x.
            if q == 1.0:
                return (GaussianMixtureLoss(sigma, [-1.0], [1.0], [1.0], [1.0]),)
            return (GaussianMixtureLoss(sigma, [0.0, -1.0], [1 - q, q], [0.0, 1.0], [1 - q, q]),)
        if q == 1.0:
            return (GaussianMixtureLoss(sigma, [0.0], [1.0], [1.0], [1.0]),)
        return _mixture_pair(sigma, [0.0, 1.0], [1 - q, q])
    if isinstance(mechanism, MixtureOfGaussians):
        return _mixture_pair(sigma, mechanism.sensitivities, mechanism.probabilities)
    if isinstance(mechanism, ELS):
        # Log weights: the pmf at large j underflows a double (q = 0.01, k = 1000: j > 290)
        # but those shifts dominate every CGF at α > 1; dropping them made the RDP bound
        # too low. Normalised in log space (the lgamma sums carry a little rounding).
        k, q = mechanism.max_examples_per_user, mechanism.sample_rate
        lw = binomial_log_pmf(k, q)
        lw = lw - np.logaddexp.reduce(lw[lw > -np.inf])
        return _mixture_pair(sigma, np.arange(k + 1, dtype=float), lw, log_weights=True)
    raise ValueError(f"mechanism must be a mechanism of accountant.core.mechanisms, got {mechanism!r}")


def directions_of(schedule) -> Tuple[str, ...]:
    """The directions a schedule must be composed in (union over its mechanisms)."""
    dirs = []
    for m, _ in schedule.counts():
        for pl in privacy_losses(m):
            if pl.direction not in dirs:
                dirs.append(pl.direction)
    return tuple(dirs)


def loss_for(mechanism, direction: str) -> PrivacyLoss:
    """The privacy loss of ``mechanism`` in ``direction``; symmetric pairs serve both."""
    losses = privacy_losses(mechanism)
    for pl in losses:
        if pl.direction == direction:
            return pl
    return losses[0]
