"""dp_accounting ``DpEvent`` → our :class:`~accountant.core.mechanisms.Schedule`, and a drop-in
accountant with dp_accounting's ``compose(event, count)`` / ``get_epsilon`` / ``get_delta``.

dp_accounting is imported lazily (only to recognise event classes); converting events needs
it installed, since the events are its objects.

Supported events (nested freely where the meaning is a single step of one of our mechanisms):

====================================================  ============================================
``GaussianDpEvent(σ)``                                 ``Gaussian(σ)``
``LaplaceDpEvent(b)``                                  ``Laplace(b)``
``PoissonSampledDpEvent(q, GaussianDpEvent(σ))``       ``SubsampledGaussian(σ, q)``
``PoissonSampledDpEvent(q, MixtureOfGaussians…)``      ``MixtureOfGaussians`` with the extra
                                                       shift 0 at weight 1 − q
``SampledWithoutReplacementDpEvent(n, m, Gaussian)``   ``SubsampledGaussian(σ, m/n, "fixed")``
                                                       (replace-one)
``MixtureOfGaussiansDpEvent(σ, c, w)``                  ``MixtureOfGaussians(σ, c, w)``
``SelfComposedDpEvent(e, k)``                           the steps of e, k times
``ComposedDpEvent([e₁, …])``                            the steps of each eᵢ in turn
``NoOpDpEvent``                                         nothing
``NonPrivateDpEvent``                                  not private: ε = ∞, δ = 1
====================================================  ============================================

Inside a sampling event, a composition of Gaussians on the same sample is one Gaussian with
σ = (Σ σᵢ⁻²)^{−1/2} (their sufficient statistic; exact, Dong–Roth–Su 2019 Cor. 3.3).
Anything else raises ``ValueError`` naming the event's class.

Degenerate events get dp_accounting 0.6.0's answer wherever that answer is exact:

* nothing sampled — ``PoissonSampledDpEvent(0, …)``, ``SampledWithoutReplacementDpEvent(n,
  0, …)`` (replace-one, as every fixed-size event), ``SelfComposedDpEvent(e, 0)``,
  ``NoOpDpEvent``: no step; ε = 0 and δ = 0 (both dp_accounting accountants answer 0 where
  they accept the event). ``from_dp_event`` of an event with no step at all is one step
  that samples no one, ``SubsampledGaussian(1.0, 0.0)``, which every method answers with 0.
* not private — ``NonPrivateDpEvent``, and ``GaussianDpEvent(0)`` / ``LaplaceDpEvent(0)`` /
  a noise-free mixture with no weight at shift 0 (the two outputs have disjoint supports):
  ``DpEventAccountant`` answers ε = ∞ at every δ and δ = 1 at every ε, certified
  (lower = upper), as dp_accounting does; a Schedule cannot hold such a step, so
  ``from_dp_event`` refuses it.
* sampled noise-free mechanisms (``PoissonSampledDpEvent(q, GaussianDpEvent(0))``,
  q > 0): refused. Their exact answer is δ(ε) = 1 − (1 − q)^T at every ε — ε = ∞ below
  that δ and 0 above it — which dp_accounting reports as ε = ∞ everywhere (an upper bound,
  not the value).
"""
from __future__ import annotations

import math
from typing import List, Tuple

from ..core import _validate as v
from ..core.bounds import Result
from ..core.mechanisms import (Gaussian, Laplace, MixtureOfGaussians, Schedule, SubsampledGaussian,
                               is_identity)
from ..session.trainer import PrivacyAccountant

__all__ = ["from_dp_event", "DpEventAccountant"]

NEIGHBORING = ("add_remove", "replace_one")


class _NonPrivate:
    """Marker segment: a step whose two output laws have disjoint supports (ε = ∞)."""

    def __init__(self, event):
        self.name = type(event).__name__


def _dp_event():
    try:
        from dp_accounting import dp_event
    except ImportError as exc:
        raise ImportError("accountant.interop.dp_accounting needs the dp_accounting package "
                          "to read its events (pip install dp-accounting)") from exc
    return dp_event


def _unsupported(event, why=""):
    name = type(event).__name__
    return ValueError(f"unsupported dp_accounting event {name}" + (f": {why}" if why else ""))


def _gaussian_sigma(ev, event):
    """σ of a Gaussian-only (possibly composed) event on one sample, else None."""
    if isinstance(event, ev.GaussianDpEvent):
        return float(event.noise_multiplier)
    if isinstance(event, ev.SelfComposedDpEvent):
        s = _gaussian_sigma(ev, event.event)
        return None if s is None else s / math.sqrt(event.count)
    if isinstance(event, ev.ComposedDpEvent):
        inv = 0.0
        for e in event.events:
            s = _gaussian_sigma(ev, e)
            if s is None:
                return None
            if s == 0:
                inv = math.inf
            else:
                inv += 1.0 / (s * s)
        return math.inf if inv == 0 else 1.0 / math.sqrt(inv)
    if isinstance(event, ev.NoOpDpEvent):
        return math.inf
    return None


def _check_sigma(event, sigma):
    if not (sigma > 0):
        raise _unsupported(event, f"noise must be positive, got {sigma!r} (not differentially "
                                  "private)")


def _noise_free(event, sigma):
    """True for a noise scale of exactly 0 (a non-private step); refuses negative or NaN."""
    if sigma == 0:
        return True
    _check_sigma(event, sigma)
    return False


def _segments(ev, event, neighboring) -> List[Tuple[object, int]]:
    if isinstance(event, ev.NoOpDpEvent):
        return []
    if isinstance(event, ev.NonPrivateDpEvent):
        return [(_NonPrivate(event), 1)]
    if isinstance(event, ev.GaussianDpEvent):
        if _noise_free(event, event.noise_multiplier):
            return [(_NonPrivate(event), 1)]
        return [(Gaussian(event.noise_multiplier, neighboring), 1)]
    if isinstance(event, ev.LaplaceDpEvent):
        if _noise_free(event, event.noise_multiplier):
            return [(_NonPrivate(event), 1)]
        return [(Laplace(event.noise_multiplier, neighboring), 1)]
    if isinstance(event, ev.MixtureOfGaussiansDpEvent):
        if neighboring != "add_remove":
            raise _unsupported(event, "only defined under add/remove adjacency")
        if _noise_free(event, event.standard_deviation):
            at_zero = math.fsum(float(p) for c, p in zip(event.sensitivities, event.sampling_probs)
                                if float(c) == 0)
            if at_zero == 0:
                return [(_NonPrivate(event), 1)]
            if all(float(c) == 0 or float(p) == 0
                   for c, p in zip(event.sensitivities, event.sampling_probs)):
                return []
            raise _unsupported(event, "a noise-free mixture with weight at shift 0 has "
                                      "δ(ε) = 1 − w₀ at every ε, which is not supported")
        return [(MixtureOfGaussians(event.standard_deviation, tuple(event.sensitivities),
                                    tuple(event.sampling_probs)), 1)]
    if isinstance(event, ev.SelfComposedDpEvent):
        if isinstance(event.count, bool) or int(event.count) != event.count or event.count < 0:
            raise _unsupported(event, f"count must be an integer >= 0, got {event.count!r}")
        inner = _segments(ev, event.event, neighboring)
        return [(m, s * int(event.count)) for m, s in inner] if event.count else []
    if isinstance(event, ev.ComposedDpEvent):
        out = []
        for e in event.events:
            out.extend(_segments(ev, e, neighboring))
        return out
    if isinstance(event, ev.PoissonSampledDpEvent):
        q = float(event.sampling_probability)
        if not (0 <= q <= 1):
            raise _unsupported(event, f"sampling_probability must be in [0, 1], got {q!r}")
        if q == 0:
            return []
        return _sampled(ev, event, event.event, q, "poisson", neighboring)
    if isinstance(event, ev.SampledWithoutReplacementDpEvent):
        n, m = event.source_dataset_size, event.sample_size
        if neighboring != "replace_one":
            raise ValueError("SampledWithoutReplacementDpEvent is only defined under "
                             "replace-one adjacency: use neighboring='replace_one'")
        if not (0 <= m <= n and n > 0):
            raise _unsupported(event, "need 0 <= sample_size <= source_dataset_size and "
                                      f"source_dataset_size > 0, got {m}, {n}")
        if m == 0:
            return []
        return _sampled(ev, event, event.event, m / n, "fixed", neighboring)
    raise _unsupported(event)


def _sampled(ev, outer, inner, q, sampling, neighboring):
    if isinstance(inner, ev.PoissonSampledDpEvent) and sampling == "poisson":
        # Independent Poisson sampling twice is Poisson sampling at the product rate.
        return _sampled(ev, outer, inner.event, q * float(inner.sampling_probability),
                        sampling, neighboring)
    if q == 0:
        return []
    sigma = _gaussian_sigma(ev, inner)
    if sigma is not None:
        if math.isinf(sigma):
            return []
        if sigma == 0:
            raise _unsupported(outer, "sampling a noise-free Gaussian gives δ(ε) = 1 − (1 − q)^T "
                                      "at every ε (ε = ∞ below that δ, 0 above), which is not "
                                      "supported")
        _check_sigma(inner, sigma)
        return [(SubsampledGaussian(sigma, q, sampling, neighboring), 1)]
    if isinstance(inner, ev.MixtureOfGaussiansDpEvent) and sampling == "poisson":
        if neighboring != "add_remove":
            raise _unsupported(inner, "only defined under add/remove adjacency")
        if inner.standard_deviation == 0:
            raise _unsupported(outer, "sampling a noise-free mixture is not supported")
        _check_sigma(inner, inner.standard_deviation)
        sens = (0.0,) + tuple(float(c) for c in inner.sensitivities)
        probs = (1.0 - q,) + tuple(q * float(p) for p in inner.sampling_probs)
        return [(MixtureOfGaussians(inner.standard_deviation, sens, probs), 1)]
    raise _unsupported(outer, f"sampling of {type(inner).__name__} is not supported")


def _split(segs):
    """(private segments that touch someone's data, the non-private markers)."""
    private = [(m, s) for m, s in segs if not isinstance(m, _NonPrivate) and not is_identity(m)]
    non_private = [m for m, s in segs if isinstance(m, _NonPrivate) and s > 0]
    return private, non_private


def from_dp_event(event: object, neighboring: str = "add_remove") -> Schedule:
    """The Schedule of a dp_accounting event (see the module docstring for the mapping).

    Parameters
    ----------
    event : a ``dp_accounting.dp_event.DpEvent``.
    neighboring : "add_remove" (dp_accounting's ADD_OR_REMOVE_ONE, the default) or
        "replace_one" (REPLACE_ONE; Gaussian sensitivity becomes 2, as in dp_accounting's PLD).

    An event with no privacy-relevant step (only ``NoOpDpEvent``, sample rate or size 0, …)
    becomes one step that samples no one (ε = 0 in every accountant). Raises ValueError for
    unsupported events (naming the event class) and for non-private ones (ε = ∞, which a
    Schedule cannot hold; :class:`DpEventAccountant` answers them).
    """
    if neighboring not in NEIGHBORING:
        raise ValueError(f"neighboring must be one of {NEIGHBORING}, got {neighboring!r}")
    segs = _segments(_dp_event(), event, neighboring)
    non_private = [m for m, s in segs if isinstance(m, _NonPrivate) and s > 0]
    if non_private:
        raise ValueError(f"event {type(event).__name__} holds a non-private step "
                         f"({non_private[0].name}: no noise, epsilon = inf at every delta < 1); "
                         "a Schedule cannot hold it (DpEventAccountant answers epsilon = inf)")
    segs = [(m, s) for m, s in segs if s > 0]
    if not segs:
        return Schedule(((SubsampledGaussian(1.0, 0.0, "poisson", neighboring), 1),))
    return Schedule(tuple(segs))


class DpEventAccountant:
    """Drop-in for dp_accounting's ``PLDAccountant`` / ``RdpAccountant``.

    >>> from dp_accounting import dp_event
    >>> a = DpEventAccountant()
    >>> a.compose(dp_event.PoissonSampledDpEvent(0.01, dp_event.GaussianDpEvent(1.0)), 1000)
    >>> a.get_epsilon(1e-5)      # a float (certified upper bound); get_epsilon_result → Result

    Composing is incremental (:class:`accountant.PrivacyAccountant` underneath): a thousand
    one-step composes with distinct σ cost one query, not a thousand.
    """

    def __init__(self, method: str = "pld", neighboring: str = "add_remove", **options) -> None:
        if neighboring not in NEIGHBORING:
            raise ValueError(f"neighboring must be one of {NEIGHBORING}, got {neighboring!r}")
        self.neighboring = neighboring
        self.method = method
        self._acc = PrivacyAccountant(method, **options)
        self._events: list = []
        self._non_private = None     # the class name of the first non-private step composed

    def supports(self, event: object) -> bool:
        try:
            _segments(_dp_event(), event, self.neighboring)
        except ValueError:
            return False
        return True

    def compose(self, event: object, count: int = 1) -> "DpEventAccountant":
        """Add ``count`` repetitions of ``event`` (ValueError and no change if unsupported)."""
        if isinstance(count, bool) or int(count) != count or count < 0:
            raise ValueError(f"count must be an integer >= 0, got {count!r}")
        private, non_private = _split(_segments(_dp_event(), event, self.neighboring))
        if count and private:
            self._acc.compose(Schedule(tuple(private)), int(count))
        if count and non_private and self._non_private is None:
            self._non_private = non_private[0].name
        self._events.append((event, int(count)))
        return self

    @property
    def ledger(self) -> object:
        """The composed event, as dp_accounting's accountants report it."""
        ev = _dp_event()
        return ev.ComposedDpEvent([ev.SelfComposedDpEvent(e, c) if c != 1 else e
                                   for e, c in self._events])

    @property
    def accountant(self) -> PrivacyAccountant:
        return self._acc

    def _not_private(self, quantity, at):
        value = math.inf if quantity == "epsilon" else 1.0
        return Result(quantity, at, value, value, value, True, self.method,
                      details={"non_private": f"{self._non_private}: the outputs on neighbouring "
                                              "datasets have disjoint supports"})

    def get_epsilon(self, target_delta: float) -> float:
        return float(self.get_epsilon_result(target_delta))

    def get_delta(self, target_epsilon: float) -> float:
        return float(self.get_delta_result(target_epsilon))

    def get_epsilon_result(self, target_delta: float) -> Result:
        """ε at δ as a Result (ε = ∞, certified, once a non-private step was composed)."""
        if self._non_private is not None:
            return self._not_private("epsilon", v.delta("target_delta", target_delta))
        return self._acc.get_epsilon(target_delta)

    def get_delta_result(self, target_epsilon: float) -> Result:
        """δ at ε as a Result (δ = 1, certified, once a non-private step was composed)."""
        if self._non_private is not None:
            return self._not_private("delta", v.epsilon("target_epsilon", target_epsilon))
        return self._acc.get_delta(target_epsilon)
