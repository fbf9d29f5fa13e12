"""The frozen results of the risk layer: one bracketed risk (:class:`RiskResult`) and a
trade-off curve with its band (:class:`TradeoffCurve`)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Mapping, Tuple

import numpy as np

from ..core._json import kind_of
from ..core.bounds import check_bracket


@dataclass(frozen=True)
class RiskResult:
    """One attack-risk quantity with its bracket.

    Attributes
    ----------
    quantity : "tpr", "advantage", "bayes_success", "reconstruction", "gdp_mu", ...
    at : the parameters it was computed at (e.g. ``{"fpr": 1e-3}``).
    estimate : the method's best value (the upper bound for certified methods).
    lower, upper : a proven bracket when ``certified``; for estimates, the interval
        derived from the method's own rigorous δ interval (possibly vacuous).
    certified : True only when both sides are proven bounds on the true value.
    higher_is_riskier : which side is the conservative one; ``float(result)`` returns it
        (the upper bound for every risk, the lower bound for a type-II error β).
    """

    quantity: str
    at: Mapping
    estimate: float
    lower: float
    upper: float
    certified: bool
    method: str
    warnings: Tuple[str, ...] = ()
    details: Mapping = field(default_factory=dict)
    seconds: float = 0.0
    higher_is_riskier: bool = True

    def __post_init__(self):
        check_bracket(self)

    @property
    def kind(self) -> str:
        return kind_of(self.certified)

    def __float__(self) -> float:
        if not self.certified:
            return float(self.estimate)
        return float(self.upper if self.higher_is_riskier else self.lower)

    def as_dict(self) -> dict:
        d = {"quantity": self.quantity, "method": self.method,
             self.quantity: float(self), "estimate": self.estimate,
             "lower": self.lower, "upper": self.upper, "certified": self.certified,
             "kind": self.kind, **{k: v for k, v in self.at.items()},
             "seconds": self.seconds, "warnings": list(self.warnings)}
        if self.details:
            d["details"] = dict(self.details)
        return d

    def __str__(self) -> str:
        at = ", ".join(f"{k}={v:g}" if isinstance(v, float) else f"{k}={v}"
                       for k, v in self.at.items())
        label = "certified" if self.certified else "ESTIMATE, not a proven bound"
        text = (f"{self.quantity}={float(self):.6g} [{self.lower:.6g}, {self.upper:.6g}]"
                f"{' at ' + at if at else ''} ({self.method}, {label})")
        for w in self.warnings:
            text += f"\n  warning: {w}"
        return text


@dataclass(frozen=True)
class TradeoffCurve:
    """The trade-off curve β(α) (Dong–Roth–Su f-DP, symmetrised for add/remove;
    docs/math.md §15.1) on a grid of false-positive rates α, with its band.

    ``beta_lower ≤ β(α) ≤ beta_upper`` at every ``alpha`` when ``certified``;
    ``beta_estimate`` is the method's value (the lower bound, the pessimistic side, for
    certified methods). Equivalently the true-positive rate 1 − β lies in
    [``tpr_lower``, ``tpr_upper``]. Between grid points the certified curve is convex:
    the chord of the upper band and the tangent lines of the lower band stay bounds.
    """

    alpha: np.ndarray
    beta_lower: np.ndarray
    beta_upper: np.ndarray
    beta_estimate: np.ndarray
    certified: bool
    method: str
    warnings: Tuple[str, ...] = ()
    details: Mapping = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def tpr_lower(self) -> np.ndarray:
        return 1.0 - self.beta_upper

    @property
    def tpr_upper(self) -> np.ndarray:
        return 1.0 - self.beta_lower

    @property
    def kind(self) -> str:
        return kind_of(self.certified)

    def as_dict(self) -> dict:
        d = {"quantity": "tradeoff", "method": self.method, "certified": self.certified,
             "kind": self.kind, "alpha": self.alpha.tolist(),
             "beta_lower": self.beta_lower.tolist(), "beta_upper": self.beta_upper.tolist(),
             "beta_estimate": self.beta_estimate.tolist(), "seconds": self.seconds,
             "warnings": list(self.warnings)}
        if self.details:
            d["details"] = dict(self.details)
        return d

    def __str__(self) -> str:
        label = "certified band" if self.certified else "ESTIMATE, not a proven bound"
        rows = [f"trade-off curve ({self.method}, {label}): {len(self.alpha)} points",
                "  alpha (FPR)     beta lower     beta upper     TPR upper"]
        for a, bl, bu in zip(self.alpha, self.beta_lower, self.beta_upper):
            rows.append(f"  {a:<14.6g}  {bl:<13.6g}  {bu:<13.6g}  {1.0 - bl:.6g}")
        for w in self.warnings:
            rows.append(f"  warning: {w}")
        return "\n".join(rows)
