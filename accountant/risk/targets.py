"""Risk targets: a limit on one attack risk, for calibration (docs/math.md §15.8).

Each target is a small frozen dataclass that checks its fields on construction and answers
``value(mechanism, steps, method, rtol)`` — the certified bracket of its risk at a
mechanism, read by the functions of :mod:`accountant.risk.tradeoff` and
:mod:`accountant.risk.metrics` — with ``limit`` (the largest allowed value of that risk),
``floor`` (the value every mechanism reaches as the noise grows: the blind guess) and a
one-line ``describe()``. :func:`accountant.calibrate` takes one as ``target=``.
"""
from __future__ import annotations

import math
import time
from dataclasses import dataclass
from typing import Optional

from scipy.special import ndtri

from ..core import _validate as v
from ..core.mechanisms import MechanismLike, as_schedule
from ..loss.gdp import gdp_delta_bracket
from ..accountants.exact import gaussian_mu, gaussian_mu_rel
from .metrics import advantage, bayes_success, gdp_fit, reconstruction_risk
from .results import RiskResult
from .tradeoff import tpr

__all__ = ["RiskTarget", "TprTarget", "AdvantageTarget", "BayesTarget",
           "ReconstructionTarget", "GdpMuTarget"]


def _limit(name: str, value, low: float, why: str) -> float:
    """A limit in (low, 1): at or below ``low`` no noise reaches it, at 1 it says nothing."""
    x = v.open_probability(name, value)
    if not x > low:
        raise ValueError(f"{name} must be in ({low:g}, 1), got {value!r}: {why}")
    return x


def _pld_rtol(method: Optional[str], rtol: Optional[float]) -> dict:
    """The δ-query accuracy for the risks read from one δ(ε) (advantage, Bayes): PLD takes
    ``rtol``, the other methods have their own accuracy."""
    if rtol is None or method not in (None, "pld"):
        return {}
    return {"rtol": v.positive("rtol", rtol)}


class RiskTarget:
    """Base of the risk targets: a limit on one risk of a mechanism (docs/math.md §15.8)."""

    #: the ``quantity`` of the :class:`RiskResult` that ``value`` returns
    quantity = ""
    #: whether ``value``'s ``rtol`` is relative to (risk − floor) — the δ(ε) query's
    #: accuracy for the risks read from one δ — rather than to the risk
    rtol_of_excess = False

    @property
    def limit(self) -> float:
        """The largest allowed value of the risk."""
        raise NotImplementedError

    @property
    def floor(self) -> float:
        """The risk's value without any information (infinite noise); limits are above it."""
        return 0.0

    def value(self, mechanism: MechanismLike, steps: int = 1, method: Optional[str] = None,
              rtol: Optional[float] = None, **options) -> RiskResult:
        """The bracket of the risk at ``mechanism`` composed ``steps`` times."""
        raise NotImplementedError

    def describe(self) -> str:
        """One line, e.g. "TPR <= 0.05 at FPR 0.001"."""
        raise NotImplementedError

    def gdp_mu(self) -> float:
        """The μ at which the μ-GDP curve meets the limit: a starting point for the noise
        search (the CLT makes DP-SGD close to μ-GDP), never a bound."""
        raise NotImplementedError


def _gdp_tpr_mu(alpha: float, limit: float) -> float:
    # G_μ: TPR(α) = Φ(Φ⁻¹(α) + μ) (docs/math.md §15.7)
    return float(ndtri(limit) - ndtri(alpha))


@dataclass(frozen=True)
class TprTarget(RiskTarget):
    """True-positive rate of any membership-inference test at false-positive rate ``fpr``
    at most ``max_tpr`` (docs/math.md §15.3). ``max_tpr`` must exceed ``fpr``: the
    coin-flip test reaches TPR = FPR whatever the noise."""

    fpr: float
    max_tpr: float
    quantity = "tpr"

    def __post_init__(self):
        a = v.open_probability("fpr", self.fpr)
        object.__setattr__(self, "fpr", a)
        object.__setattr__(self, "max_tpr", _limit(
            "max_tpr", self.max_tpr, a,
            f"a test at FPR {a:g} reaches TPR {a:g} by guessing, whatever the noise"))

    @property
    def limit(self) -> float:
        return self.max_tpr

    @property
    def floor(self) -> float:
        return self.fpr

    def value(self, mechanism: MechanismLike, steps: int = 1, method: Optional[str] = None,
              rtol: Optional[float] = None, **options) -> RiskResult:
        return tpr(mechanism, self.fpr, steps, method=method, rtol=rtol, **options)

    def describe(self) -> str:
        return f"TPR <= {self.max_tpr:g} at FPR {self.fpr:g}"

    def gdp_mu(self) -> float:
        return _gdp_tpr_mu(self.fpr, self.max_tpr)


@dataclass(frozen=True)
class AdvantageTarget(RiskTarget):
    """Membership-inference advantage max (TPR − FPR) = δ(0) at most ``max_advantage``
    (docs/math.md §15.4)."""

    max_advantage: float
    quantity = "advantage"
    rtol_of_excess = True

    def __post_init__(self):
        object.__setattr__(self, "max_advantage", _limit(
            "max_advantage", self.max_advantage, 0.0,
            "no mechanism with finite noise has advantage 0"))

    @property
    def limit(self) -> float:
        return self.max_advantage

    def value(self, mechanism: MechanismLike, steps: int = 1, method: Optional[str] = None,
              rtol: Optional[float] = None, **options) -> RiskResult:
        return advantage(mechanism, steps, method=method, **{**_pld_rtol(method, rtol),
                                                             **options})

    def describe(self) -> str:
        return f"advantage <= {self.max_advantage:g}"

    def gdp_mu(self) -> float:
        # μ-GDP: δ(0) = 2Φ(μ/2) − 1
        return float(2.0 * ndtri(0.5 * (1.0 + self.max_advantage)))


def _gdp_mu_for_delta(eps: float, d: float) -> float:
    """μ whose μ-GDP δ(eps) is d (bisection in log μ; a starting point only)."""
    lo, hi = 1e-6, 1.0
    while gdp_delta_bracket(hi, eps)[1] < d and hi < 1e4:
        lo, hi = hi, 2.0 * hi
    for _ in range(60):
        mid = math.sqrt(lo * hi)
        if gdp_delta_bracket(mid, eps)[1] < d:
            lo = mid
        else:
            hi = mid
    return math.sqrt(lo * hi)


@dataclass(frozen=True)
class BayesTarget(RiskTarget):
    """Probability of guessing membership, when the record is in with probability
    ``prior``, at most ``max_success`` (docs/math.md §15.5). Guessing the likelier side
    succeeds with max(prior, 1 − prior) without any output, so the limit must exceed it."""

    prior: float
    max_success: float
    quantity = "bayes_success"
    rtol_of_excess = True

    def __post_init__(self):
        p = v.open_probability("prior", self.prior)
        object.__setattr__(self, "prior", p)
        object.__setattr__(self, "max_success", _limit(
            "max_success", self.max_success, max(p, 1.0 - p),
            f"guessing the likelier side succeeds with probability {max(p, 1.0 - p):g} "
            "without seeing any output"))

    @property
    def limit(self) -> float:
        return self.max_success

    @property
    def floor(self) -> float:
        return max(self.prior, 1.0 - self.prior)

    def value(self, mechanism: MechanismLike, steps: int = 1, method: Optional[str] = None,
              rtol: Optional[float] = None, **options) -> RiskResult:
        return bayes_success(mechanism, self.prior, steps, method=method,
                             **{**_pld_rtol(method, rtol), **options})

    def describe(self) -> str:
        return f"Bayes success <= {self.max_success:g} at prior {self.prior:g}"

    def gdp_mu(self) -> float:
        p = self.prior
        eps = abs(math.log1p(-p) - math.log(p))
        return _gdp_mu_for_delta(eps, (self.max_success - self.floor) / min(p, 1.0 - p))


@dataclass(frozen=True)
class ReconstructionTarget(RiskTarget):
    """The reconstruction-robustness bound at most ``max_success`` (docs/math.md §15.6):
    the success of any reconstruction attack whose success without the output is
    ``baseline``. The limit must exceed the baseline."""

    baseline: float
    max_success: float
    quantity = "reconstruction_bound"

    def __post_init__(self):
        k = v.open_probability("baseline", self.baseline)
        object.__setattr__(self, "baseline", k)
        object.__setattr__(self, "max_success", _limit(
            "max_success", self.max_success, k,
            f"the attack succeeds with probability {k:g} without seeing any output"))

    @property
    def limit(self) -> float:
        return self.max_success

    @property
    def floor(self) -> float:
        return self.baseline

    def value(self, mechanism: MechanismLike, steps: int = 1, method: Optional[str] = None,
              rtol: Optional[float] = None, **options) -> RiskResult:
        return reconstruction_risk(mechanism, self.baseline, steps, method=method, rtol=rtol,
                                   **options)

    def describe(self) -> str:
        return (f"reconstruction success <= {self.max_success:g} at baseline "
                f"{self.baseline:g}")

    def gdp_mu(self) -> float:
        return _gdp_tpr_mu(self.baseline, self.max_success)


@dataclass(frozen=True)
class GdpMuTarget(RiskTarget):
    """The μ of the closest μ-GDP curve (μ* of :func:`accountant.risk.gdp_fit`, on
    false-positive rates ≥ ``alpha_min``) at most ``max_mu`` (docs/math.md §15.7)."""

    max_mu: float
    alpha_min: float = 1e-10
    quantity = "gdp_mu"

    def __post_init__(self):
        object.__setattr__(self, "max_mu", v.positive("max_mu", self.max_mu))
        am = v.open_probability("alpha_min", self.alpha_min)
        if not am < 0.5:
            raise ValueError(f"alpha_min must be in (0, 0.5), got {self.alpha_min!r}")
        object.__setattr__(self, "alpha_min", am)

    @property
    def limit(self) -> float:
        return self.max_mu

    def value(self, mechanism: MechanismLike, steps: int = 1, method: Optional[str] = None,
              rtol: Optional[float] = None, **options) -> RiskResult:
        """μ* of :func:`accountant.risk.gdp_fit` (docs/math.md §15.7); for a Gaussian-only
        schedule its own μ (the curve is G_μ), in closed form."""
        t0 = time.perf_counter()
        if method in (None, "pld") and not options:
            mu = gaussian_mu(as_schedule(mechanism, steps))
            if mu is not None:
                lo, up = mu * (1 - gaussian_mu_rel(None)), mu * (1 + gaussian_mu_rel(None))
                return RiskResult("gdp_mu", {"alpha_min": self.alpha_min}, up, lo, up, True,
                                  "pld", (), {"exact": "gaussian mu closed form"},
                                  time.perf_counter() - t0)
        return gdp_fit(mechanism, steps, alpha_min=self.alpha_min, method=method, rtol=rtol,
                       **options).mu

    def describe(self) -> str:
        return f"GDP mu <= {self.max_mu:g}"

    def gdp_mu(self) -> float:
        return self.max_mu

