"""Mechanism → privacy loss, one object per direction, cached per frozen mechanism.

``privacy_losses(mechanism)`` returns the directions an accountant must compose separately
and then take the worse of (docs/math.md §1.3): ``("remove", "add")`` for add/remove
adjacency with an asymmetric pair, a single entry for symmetric pairs (Gaussian, Laplace,
replace-one), where the two directions coincide by reflection.

Each mechanism family registers the factory that builds its losses with
:func:`register_loss`, in the module that defines the loss; the accountants only ever see
the :class:`~accountant.loss.base.PrivacyLoss` interface, so a new family is one
module and one registration (the subsampled Laplace, :mod:`.subsampled_laplace`, is one).
"""
from __future__ import annotations

from typing import Tuple

import numpy as np

from ..core.mechanisms import (ELS, ULS, Gaussian, Laplace, Mechanism, MixtureOfGaussians,
                               Schedule, SubsampledGaussian)
from .base import PrivacyLoss
from .laplace import LaplaceLoss
from .mixture import GaussianMixtureLoss, binomial_log_pmf
from .registry import identity_loss, privacy_losses, register_loss

__all__ = ["PrivacyLoss", "GaussianMixtureLoss", "LaplaceLoss", "SubsampledLaplaceLoss",
           "privacy_losses", "directions_of", "loss_for", "register_loss", "identity_loss"]


def _mixture_pair(sigma, shifts, weights, log_weights=False) -> Tuple[PrivacyLoss, ...]:
    """Remove: N(0) vs Σ w N(c); add: Σ w N(−c) vs N(0) (the swapped pair, reflected)."""
    shifts = np.asarray(shifts, dtype=float)
    weights = np.asarray(weights, dtype=float)
    zero = -np.inf if log_weights else 0.0
    one = [0.0] if log_weights else [1.0]
    if np.all((shifts == 0) | (weights == zero)):
        # No component moves: L ≡ 0 in both directions.
        return identity_loss(sigma)
    remove = GaussianMixtureLoss(sigma, [0.0], one, shifts, weights, "remove", log_weights)
    add = GaussianMixtureLoss(sigma, -shifts, weights, [0.0], one, "add", log_weights)
    return remove, add


def _sensitivity(mechanism) -> float:
    """A clipped contribution moves the sum by 1 under add/remove, by 2 under replace-one."""
    return 2.0 if mechanism.neighboring == "replace_one" else 1.0


@register_loss(ULS)
def _uls(mechanism: ULS) -> Tuple[PrivacyLoss, ...]:
    return privacy_losses(SubsampledGaussian(mechanism.noise_multiplier, mechanism.sample_rate))


@register_loss(Gaussian)
def _gaussian(mechanism: Gaussian) -> Tuple[PrivacyLoss, ...]:
    return (GaussianMixtureLoss(mechanism.noise_multiplier, [0.0], [1.0],
                                [_sensitivity(mechanism)], [1.0]),)


@register_loss(Laplace)
def _laplace(mechanism: Laplace) -> Tuple[PrivacyLoss, ...]:
    return (LaplaceLoss(mechanism.noise_multiplier, _sensitivity(mechanism)),)


@register_loss(SubsampledGaussian)
def _subsampled_gaussian(mechanism: SubsampledGaussian) -> Tuple[PrivacyLoss, ...]:
    sigma, q = mechanism.noise_multiplier, mechanism.sample_rate
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


@register_loss(MixtureOfGaussians)
def _mixture_of_gaussians(mechanism: MixtureOfGaussians) -> Tuple[PrivacyLoss, ...]:
    return _mixture_pair(mechanism.noise_multiplier, mechanism.sensitivities,
                         mechanism.probabilities)


@register_loss(ELS)
def _els(mechanism: ELS) -> Tuple[PrivacyLoss, ...]:
    # Log weights: the pmf at large j underflows a double (q = 0.01, k = 1000: j > 290)
    # but those shifts dominate every CGF at α > 1; dropping them made the RDP bound
    # too low. Normalised in log space (the lgamma sums carry a little rounding).
    k, q = mechanism.max_examples_per_user, mechanism.sample_rate
    lw = binomial_log_pmf(k, q)
    lw = lw - np.logaddexp.reduce(lw[lw > -np.inf])
    return _mixture_pair(mechanism.noise_multiplier, np.arange(k + 1, dtype=float), lw,
                         log_weights=True)


def directions_of(schedule: Schedule) -> Tuple[str, ...]:
    """The directions a schedule must be composed in (union over its mechanisms)."""
    dirs = []
    for m, _ in schedule.counts():
        for pl in privacy_losses(m):
            if pl.direction not in dirs:
                dirs.append(pl.direction)
    return tuple(dirs)


def loss_for(mechanism: Mechanism, direction: str) -> PrivacyLoss:
    """The privacy loss of ``mechanism`` in ``direction``; symmetric pairs serve both."""
    losses = privacy_losses(mechanism)
    for pl in losses:
        if pl.direction == direction:
            return pl
    return losses[0]


# Families defined in their own modules register themselves on import.
from .subsampled_laplace import SubsampledLaplaceLoss  # noqa: E402
from .public_mixture import PublicMixtureLoss  # noqa: E402
from . import truncated_poisson as _truncated_poisson  # noqa: E402,F401
from . import cyclic_poisson as _cyclic_poisson  # noqa: E402,F401
from .discrete import DiscreteGaussianLoss, EpsilonDeltaLoss, ZCDPLoss  # noqa: E402,F401
from .shuffle import ShuffleLoss  # noqa: E402,F401
from .random_allocation import RandomAllocationLoss  # noqa: E402,F401
