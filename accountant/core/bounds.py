"""The result type every accountant returns, and the project's warning class."""
from __future__ import annotations

import math
import warnings as _warnings
from dataclasses import dataclass, field
from typing import Iterable, Mapping, Tuple

from ._json import kind_of


class AccountantWarning(UserWarning):
    """A diagnostic about a returned value (a bracket wider than asked, a vacuous
    estimate interval, …). Silence it the usual way::

        warnings.filterwarnings("ignore", category=accountant.AccountantWarning)
    """


def emit_warnings(messages: Iterable[str], source: str, stacklevel: int = 3) -> None:
    """Raise each diagnostic as an :class:`AccountantWarning` prefixed by ``source``."""
    for msg in messages:
        _warnings.warn(f"{source}: {msg}", AccountantWarning, stacklevel=stacklevel)


def check_bracket(res: "Result") -> None:
    """The invariant of every result with ``estimate``, ``lower``, ``upper``: no None, NaN
    or negative value and lower ≤ upper; a violation is a bug (RuntimeError)."""
    for name in ("estimate", "lower", "upper"):
        val = getattr(res, name)
        if val is None or math.isnan(val) or val < 0:
            raise RuntimeError(f"internal error: {res.method} produced {name}={val!r}")
    if res.lower > res.upper:
        raise RuntimeError(f"internal error: {res.method} produced lower > upper "
                           f"({res.lower!r} > {res.upper!r})")


@dataclass(frozen=True)
class Result:
    """An ε (or δ) with its bracket.

    Attributes
    ----------
    quantity : "epsilon" or "delta" — what was computed.
    at : the other parameter (δ when ``quantity == "epsilon"``, ε otherwise).
    estimate : the method's best value.
    lower, upper : a proven bracket when ``certified``; for estimates, the rigorous interval
        when one exists (possibly [0, inf], then ``vacuous`` is True).
    certified : True only when ``upper`` is a proven upper bound and ``lower`` a proven
        lower bound on the true value.
    method : the accountant's name.
    warnings : named diagnostics (e.g. "negative_density" for Edgeworth).
    details : method-specific facts (chosen RDP order, grid step, ...).
    """

    quantity: str
    at: float
    estimate: float
    lower: float
    upper: float
    certified: bool
    method: str
    warnings: Tuple[str, ...] = ()
    details: Mapping = field(default_factory=dict)
    seconds: float = 0.0

    def __post_init__(self):
        check_bracket(self)

    @property
    def vacuous(self) -> bool:
        """True when the interval says nothing (lower 0 and upper inf, or δ-interval [0, 1])."""
        top = 1.0 if self.quantity == "delta" else math.inf
        return self.lower <= 0.0 and self.upper >= top

    @property
    def kind(self) -> str:
        """``"certified"`` (a proven bracket) or ``"estimate"`` — the JSON schema's kind."""
        return kind_of(self.certified)

    def __float__(self) -> float:
        return float(self.upper if self.certified else self.estimate)

    def as_dict(self) -> dict:
        """The JSON schema's result object (README, "JSON output"); infinities stay floats
        here and become strings in :func:`accountant.core._json.dumps`."""
        d = {
            "quantity": self.quantity,
            "method": self.method,
            self.quantity: float(self),
            "estimate": self.estimate,
            "lower": self.lower,
            "upper": self.upper,
            "certified": self.certified,
            "kind": self.kind,
            "vacuous": self.vacuous,
            "delta" if self.quantity == "epsilon" else "epsilon": self.at,
            "seconds": self.seconds,
            "warnings": list(self.warnings),
        }
        if self.details:
            d["details"] = dict(self.details)
        return d

    def __str__(self) -> str:
        if self.certified:
            label = "certified"
        else:
            label = ("ESTIMATE, not a proven bound; its rigorous interval is vacuous"
                     if self.vacuous else "ESTIMATE, not a proven bound")
        text = (f"{self.quantity}={float(self):.6g} [{self.lower:.6g}, {self.upper:.6g}] "
                f"({self.method}, {label})")
        for w in self.warnings:
            text += f"\n  warning: {w}"
        return text
