"""dp-accountant: certified, fast privacy accounting.

>>> import accountant as acc
>>> m = acc.SubsampledGaussian(noise_multiplier=1.1, sample_rate=0.01)
>>> r = acc.epsilon(m, delta=1e-5, steps=10_000)
"""
from .api import delta, epsilon, built_methods
from .bounds import Result
from .mechanisms import (ELS, ULS, Gaussian, Laplace, MixtureOfGaussians, Schedule,
                         SubsampledGaussian)
from .session import PrivacyAccountant

__version__ = "0.1.0"

__all__ = [
    "epsilon", "delta", "built_methods", "Result", "PrivacyAccountant",
    "Gaussian", "Laplace", "SubsampledGaussian", "MixtureOfGaussians", "ELS", "ULS", "Schedule",
]
