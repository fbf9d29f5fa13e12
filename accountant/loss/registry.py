"""The registry of mechanism families: ``register_loss(MechanismType)`` records the factory
that builds a family's privacy losses (one per direction, docs/math.md §1.3), and
``privacy_losses(mechanism)`` asks it. Families register themselves in the module that
defines their loss (:mod:`accountant.loss` for the built-in ones, and e.g.
:mod:`accountant.loss.subsampled_laplace`).
"""
from __future__ import annotations

from functools import lru_cache
from typing import Callable, Dict, Tuple

from ..core.mechanisms import Mechanism
from .base import PrivacyLoss
from .mixture import GaussianMixtureLoss

__all__ = ["register_loss", "privacy_losses", "identity_loss", "LossFactory"]

LossFactory = Callable[[object], Tuple[PrivacyLoss, ...]]
_FACTORIES: Dict[type, LossFactory] = {}


def register_loss(mechanism_type: type) -> Callable[[LossFactory], LossFactory]:
    """Decorator: ``factory(mechanism)`` builds the losses of every ``mechanism_type``
    (one per direction, docs/math.md §1.3). A later registration of the same type
    replaces the earlier one."""
    if not isinstance(mechanism_type, type):
        raise TypeError(f"register_loss takes a mechanism class, got {mechanism_type!r}")

    def deco(factory: LossFactory) -> LossFactory:
        _FACTORIES[mechanism_type] = factory
        return factory
    return deco


def _factory_for(mechanism) -> LossFactory | None:
    # The exact class first, then its bases in method-resolution order, so that a subclass
    # of a registered mechanism is served by its nearest registered ancestor.
    for cls in type(mechanism).__mro__:
        factory = _FACTORIES.get(cls)
        if factory is not None:
            return factory
    return None


@lru_cache(maxsize=1 << 15)
def privacy_losses(mechanism: Mechanism) -> Tuple[PrivacyLoss, ...]:
    """The privacy-loss objects of one step of ``mechanism``, one per direction (cached: a
    trainer history of 10⁴ distinct steps is walked several times per query, and an LRU
    smaller than it rebuilt every pair on every walk)."""
    factory = _factory_for(mechanism)
    if factory is None:
        raise ValueError(f"mechanism must be a mechanism of accountant.mechanisms, got "
                         f"{mechanism!r}")
    return factory(mechanism)


def identity_loss(scale: float = 1.0) -> Tuple[PrivacyLoss, ...]:
    """The loss L ≡ 0 (P = Q) of a step that touches no one's data (``scale`` only names
    the noise of the step it stands for)."""
    return (GaussianMixtureLoss(scale, [0.0], [1.0], [0.0], [1.0], "remove"),)
