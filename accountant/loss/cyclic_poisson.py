"""Privacy loss of cyclic Poisson sampling for b-banded matrix factorization
(Choquette-Choo et al. 2023, arXiv 2306.08153; docs/math.md §14).

One unit of steps is one cycle of b training steps. In a cycle every record belongs to one
partition and can enter only the one step that samples its partition, at rate
q = min(1, B·b/n); the b-banded lower-triangular factor C (columns of norm ≤ 1) maps the
contributions of different cycles to disjoint rows of the noisy output, so a cycle is one
Poisson-subsampled Gaussian step at rate q and noise σ (§14): ``privacy_losses`` of
``SubsampledGaussian(σ, q)``.
"""
from __future__ import annotations

from typing import Tuple

from ..core.mechanisms import CyclicPoisson, SubsampledGaussian
from .base import PrivacyLoss
from .registry import identity_loss, privacy_losses, register_loss

__all__ = []


@register_loss(CyclicPoisson)
def _cyclic_poisson(mechanism: CyclicPoisson) -> Tuple[PrivacyLoss, ...]:
    q = mechanism.sample_rate
    if q == 0.0:
        return identity_loss(mechanism.noise_multiplier)
    return privacy_losses(SubsampledGaussian(mechanism.noise_multiplier, q))
