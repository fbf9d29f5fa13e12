"""dp-accountant: certified, fast privacy accounting.

>>> import accountant as acc
>>> m = acc.SubsampledGaussian(noise_multiplier=1.1, sample_rate=0.01)
>>> r = acc.epsilon(m, delta=1e-5, steps=10_000)      # certified PLD bracket
"""
from .accountants.api import built_methods, delta, epsilon
from .core.bounds import AccountantWarning, Result
from .core.mechanisms import (ELS, ULS, ZCDP, CyclicPoisson, DiscreteGaussian, DiscreteLaplace,
                              EpsilonDelta, Gaussian, Laplace, MixtureOfGaussians,
                              RandomAllocation, RandomizedResponse, Schedule, Shuffle,
                              SubsampledGaussian, SubsampledLaplace,
                              TruncatedSubsampledGaussian)

__version__ = "0.1.0"

# Heavier entry points load on first use, so that `import accountant` (and the CLI) stays
# quick: name → module that defines it.
_LAZY = {
    "PrivacyAccountant": "session.trainer",
    "calibrate": "calibration.search",
    "calibrate_steps": "calibration.search",
    "calibrate_sample_rate": "calibration.search",
    "lookup_noise": "calibration.lookup",
    "NoiseLookup": "calibration.lookup",
    "choose_contribution_bound": "planning.user_level",
    "compare_sampling": "planning.user_level",
    "compare": "interop.comparison",
    "tpr": "risk.tradeoff",
    "tradeoff": "risk.tradeoff",
    "RiskResult": "risk.results",
    "TradeoffCurve": "risk.results",
    "advantage": "risk.metrics",
    "bayes_success": "risk.metrics",
    "reconstruction_risk": "risk.metrics",
    "gdp_fit": "risk.metrics",
    "GdpFit": "risk.metrics",
    "TprTarget": "risk.targets",
    "AdvantageTarget": "risk.targets",
    "BayesTarget": "risk.targets",
    "ReconstructionTarget": "risk.targets",
    "GdpMuTarget": "risk.targets",
    "RiskCalibration": "calibration.risk_search",
}

__all__ = [
    "epsilon", "delta", "built_methods", "Result", "AccountantWarning",
    "Gaussian", "Laplace", "SubsampledGaussian", "SubsampledLaplace", "MixtureOfGaussians",
    "ELS", "ULS", "Schedule", "DiscreteGaussian", "DiscreteLaplace", "RandomizedResponse",
    "ZCDP", "EpsilonDelta", "TruncatedSubsampledGaussian", "RandomAllocation", "Shuffle",
    "CyclicPoisson",
    *_LAZY,
]


def __getattr__(name):
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'accountant' has no attribute {name!r}")
    import importlib
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__():
    return sorted(set(globals()) | set(__all__))
