"""dp_accounting ``DpEvent`` → our :class:`~accountant.core.mechanisms.Schedule`, and two
accountants that take events: :class:`DpEventAccountant` (a plain object with
dp_accounting's ``compose`` / ``get_epsilon`` / ``get_delta``) and ``CertifiedAccountant``, a
real ``dp_accounting.PrivacyAccountant`` subclass (``supports``, ``ledger``,
``neighboring_relation``) that ``dp_accounting.calibrate_dp_mechanism`` and code written for
dp_accounting (jax_privacy's ``calibrate(accountant_fn=...)``) use unchanged.

dp_accounting is imported lazily: ``import accountant`` never needs it, and neither does
importing this module; converting events and building ``CertifiedAccountant`` (created on
first access, PEP 562) do.

Events (dp_accounting 0.6 names unless marked; each row checked against dp_accounting 0.6's
own ``PLDAccountant`` / ``RdpAccountant`` and main's). "=": our mechanism's pair is the
event's exact dominating pair, so the bracket is certified for the event; "≤": our pair
dominates the event's, so only the upper bound is proven and the accountants report
lower = 0 with an ``upper_only`` warning (docs/math.md §1.2).

=================================================  ==============================================
event                                               our step (relations; notes)
=================================================  ==============================================
``GaussianDpEvent(σ)``                              = ``Gaussian(σ)``
``LaplaceDpEvent(b)``                               = ``Laplace(b)`` (replace-one: sensitivity 2;
                                                    dp_accounting's PLD refuses REPLACE_ONE and
                                                    its RDP uses sensitivity 1 there)
``DiscreteLaplaceDpEvent(a, Δ)``                    = ``DiscreteLaplace(a, Δ)``: pmf ∝ e^{−a|x|} on
                                                    ℤ, integer Δ, ε = aΔ (replace-one: 2Δ;
                                                    dp_accounting refuses REPLACE_ONE)
``RandomizedResponseDpEvent(p, k)``                 = ``RandomizedResponse(p, k)`` (replace-one;
                                                    ≤ under zero-out; add/remove refused, as in
                                                    dp_accounting): p is the probability of a
                                                    uniform output
``ZCDpEvent(ρ, ξ)``                                 = ``ZCDP(ρ, ξ)``: D_α ≤ ξ + ρα (RDP only: the
                                                    "auto" method switches to RDP)
``EpsilonDeltaDpEvent(ε, δ)`` (main)                = ``EpsilonDelta(ε, δ)`` (PLD only)
``DiscreteGaussianDpEvent(σ, Δ, dimension)``        = ``DiscreteGaussian(σ, Δ)`` for dimension 1 and
(main)                                              integer Δ; otherwise refused
``TruncatedSubsampledGaussianDpEvent(n, q, B, σ)``  = ``TruncatedSubsampledGaussian(σ, q, B, n)``
                                                    (add/remove only)
``RandomAllocationDpEvent(Gaussian(σ), k, t)``      = ``RandomAllocation(σ, t, k)``: one epoch of t
(PR #414)                                           steps (add/remove, zero-out)
``PoissonSampledDpEvent(q, GaussianDpEvent(σ))``    = ``SubsampledGaussian(σ, q)``
``PoissonSampledDpEvent(q, LaplaceDpEvent(b))``     = ``SubsampledLaplace(b, q)`` (add/remove,
                                                    zero-out)
``PoissonSampledDpEvent(q, MixtureOfGaussians…)``   = ``MixtureOfGaussians`` with the extra shift 0
                                                    at weight 1 − q
``SampledWithoutReplacementDpEvent(n, m, Gauss.)``  = ``SubsampledGaussian(σ, m/n, "fixed")``
                                                    (replace-one only)
``MixtureOfGaussiansDpEvent(σ, c, w)``              = ``MixtureOfGaussians(σ, c, w)``
``SelfComposedDpEvent(e, k)``                       the steps of e, k times
``ComposedDpEvent([e₁, …])``                        the steps of each eᵢ in turn
``NoOpDpEvent``                                     nothing
``NonPrivateDpEvent``                               not private: ε = ∞, δ = 1
=================================================  ==============================================

Events marked (main) are in dp_accounting's main branch (b5b0286), (PR #414) in
google/differential-privacy pull request 414; when the installed dp_accounting lacks a class
the event is recognised by its class name and fields.

Inside a sampling (or allocation) event, a composition of Gaussians on the same sample is one
Gaussian with σ = (Σ σᵢ⁻²)^{−1/2} (their sufficient statistic; exact, Dong–Roth–Su 2019
Cor. 3.3; docs/math.md §2.1). Nested Poisson sampling is Poisson sampling at the product rate.
Everything else — ``SampledWithReplacementDpEvent``, ``SingleEpochTreeAggregationDpEvent``,
``RepeatAndSelectDpEvent``, ``ExponentialMechanismDpEvent``, ``PermuteAndFlipDpEvent``,
``UnsupportedDpEvent``, Poisson sampling of anything but a Gaussian, a Gaussian mixture or a
Laplace (jax_privacy's ``dpsgd_event(use_zcdp=True)`` emits ``PoissonSampledDpEvent(q,
ZCDpEvent(ρ))``: no amplification by sampling is proven for a bare zCDP guarantee, and
dp_accounting refuses it too) — raises ``ValueError`` naming the event's class.

jax_privacy 2.x (``jax_privacy.accounting``) emits only dp_accounting's own classes:
``GaussianDpEvent`` / ``ZCDpEvent`` (``use_zcdp``), ``PoissonSampledDpEvent``,
``SampledWithoutReplacementDpEvent`` / ``SampledWithReplacementDpEvent``,
``TruncatedSubsampledGaussianDpEvent``, ``SelfComposedDpEvent``, ``NonPrivateDpEvent``; its
``BandMFConfig.calibrate`` builds accountants as ``accountant_fn(neighboring_relation)`` with
ADD_OR_REMOVE_ONE or REPLACE_SPECIAL.

Neighbouring relations (docs/math.md §1.3): ``"add_remove"`` (ADD_OR_REMOVE_ONE, the default),
``"replace_one"`` (REPLACE_ONE: Gaussian and Laplace sensitivity 2, as in dp_accounting's
PLD) and ``"replace_special"`` (REPLACE_SPECIAL, "zero-out": a record is replaced by one that
contributes nothing). Under zero-out every noise-addition pair above (Gaussian, Laplace,
discrete Laplace, discrete Gaussian, Poisson-sampled Gaussian / Laplace, mixtures, random
allocation) is exactly its add/remove pair — the special record adds 0 where the real one
adds its clipped value, and nothing else changes — so those steps are accounted as
add/remove, as dp_accounting does. Randomized response under zero-out (the special input
answers uniformly, dp_accounting's REPLACE_SPECIAL pair R(x) vs U) is dominated "≤" by the
replace-one pair R(x) vs R(x′): U is the average of R(x′) over x′, and the hockey-stick
divergence is jointly convex (docs/math.md §1.2). Truncated Poisson sampling and fixed-size
batches are refused under zero-out: the special record keeps its place in the batch and
no pair of ours is proven for it. ``ZCDpEvent`` and ``EpsilonDeltaDpEvent`` are guarantees
about whatever relation the accountant uses, and map as they are.

Degenerate events get dp_accounting 0.6.0's answer wherever that answer is exact:

* nothing sampled — ``PoissonSampledDpEvent(0, …)``, ``SampledWithoutReplacementDpEvent(n,
  0, …)`` (replace-one, as every fixed-size event), ``SelfComposedDpEvent(e, 0)``,
  ``NoOpDpEvent``, a truncated event with q, B or n = 0, an allocation with k = 0, a zero
  sensitivity, ``ZCDpEvent(0, 0)``, ``EpsilonDeltaDpEvent(0, 0)``: no step; ε = 0 and δ = 0.
  ``from_dp_event`` of an event with no step at all is one step that samples no one,
  ``SubsampledGaussian(1.0, 0.0)``, which every method answers with 0.
* not private — ``NonPrivateDpEvent``, a noise scale of 0 (``GaussianDpEvent(0)``,
  ``LaplaceDpEvent(0)``, ``DiscreteLaplaceDpEvent(0, Δ)``, …, jax_privacy's
  ``ZCDpEvent(inf)``), ``RandomizedResponseDpEvent(0, k ≥ 2)``, ε = ∞ or δ = 1, a noise-free
  mixture with no weight at shift 0: the accountants answer ε = ∞ at every δ and δ = 1 at
  every ε, certified (lower = upper), as dp_accounting does; a Schedule cannot hold such a
  step, so ``from_dp_event`` refuses it.
* sampled noise-free mechanisms (``PoissonSampledDpEvent(q, GaussianDpEvent(0))`` or of a
  ``LaplaceDpEvent(0)``, q > 0; a fixed-size sample of one; a noise-free truncated event):
  their exact answer is δ(ε) = 1 − (1 − q)^T at every ε ≥ 0 — ε = ∞ below that δ and 0
  above it — which dp_accounting reports as ε = ∞ everywhere (an upper bound, not the
  value). ``from_dp_event`` and :class:`DpEventAccountant` refuse them; ``CertifiedAccountant``
  answers the bracket [the other steps' lower bound, ∞] (δ: [max(that, 1 − (1 − q)^T), 1]),
  certified, and ε = ∞ exactly below the floor 1 − Π(1 − q)^T (rounded down) — because
  ``calibrate_dp_mechanism`` probes σ = 0 first and needs a number there.

Size: over 500 lines because the event table (one branch per dp_accounting event, each with
its degenerate cases and neighbouring relations), the two accountants that share it, and the
lazily built ``dp_accounting.PrivacyAccountant`` subclass belong together: splitting them
would spread one mapping over several modules.
"""
from __future__ import annotations

import dataclasses
import math
from typing import List, Optional, Tuple

from ..core import _validate as v
from ..core.bounds import Result
from ..core.mechanisms import (ZCDP, DiscreteGaussian, DiscreteLaplace, EpsilonDelta, Gaussian,
                               Laplace, MixtureOfGaussians, RandomAllocation, RandomizedResponse,
                               Schedule, SubsampledGaussian, SubsampledLaplace,
                               TruncatedSubsampledGaussian, is_identity)
from ..session.trainer import PrivacyAccountant

# (CertifiedAccountant, built on first access, is left out: a star import would need
# dp_accounting)
__all__ = ["from_dp_event", "DpEventAccountant", "NEIGHBORING", "UnsupportedEvent"]

#: The adapter's neighbouring relations: dp_accounting's ADD_OR_REMOVE_ONE, REPLACE_ONE and
#: REPLACE_SPECIAL (zero-out), in that order.
NEIGHBORING = ("add_remove", "replace_one", "replace_special")
#: "auto": PLD, or RDP once a zCDP step (which only RDP can account) was composed.
METHODS = ("auto", "pld", "rdp", "edgeworth", "saddlepoint")


class UnsupportedEvent(ValueError):
    """An event (``.event``, possibly a sub-event) that this adapter cannot account."""

    def __init__(self, event: object, why: str = "") -> None:
        name = type(event).__name__
        super().__init__(f"unsupported dp_accounting event {name}" + (f": {why}" if why else ""))
        self.event = event


class _NonPrivate:
    """Marker segment: a step whose two output laws have disjoint supports (ε = ∞)."""

    def __init__(self, event):
        self.name = type(event).__name__


class _Unbounded:
    """Marker segment: a step with no noise whose output reveals the record only when it
    is sampled (a sampled noise-free mechanism). Its only proven upper bound here is
    ε = ∞ (δ = 1), dp_accounting's answer; ``rate`` q, when known, gives the exact floor
    δ(ε) ≥ 1 − (1 − q)^T of T such steps at every ε (the outcome that only the record's
    presence produces). :class:`DpEventAccountant` and :func:`from_dp_event` refuse it with
    ``why``."""

    def __init__(self, event, rate: Optional[float], why: str):
        self.event, self.rate, self.why = event, rate, why
        self.name = type(event).__name__


class _Dominating:
    """Marker segment: ``mechanism``'s pair dominates the event's, not exactly its pair, so
    only upper bounds hold (docs/math.md §1.2)."""

    def __init__(self, mechanism, event):
        self.mechanism = mechanism
        self.name = type(event).__name__


def _dp_event():
    try:
        from dp_accounting import dp_event
    except ImportError as exc:
        raise ImportError("accountant.interop.dp_accounting needs the dp_accounting package "
                          "to read its events (pip install dp-accounting)") from exc
    return dp_event


def _unsupported(event, why=""):
    return UnsupportedEvent(event, why)


def _is(ev, event, name: str, fields: Tuple[str, ...] = ()) -> bool:
    """``event`` is dp_accounting's ``name`` event: by class when the installed dp_accounting
    has it, else by class name and fields (events of newer versions, e.g. main's
    ``EpsilonDeltaDpEvent`` or PR #414's ``RandomAllocationDpEvent``)."""
    cls = getattr(ev, name, None)
    if cls is not None:
        return isinstance(event, cls)
    if type(event).__name__ != name:
        return False
    missing = [f for f in fields if not hasattr(event, f)]
    if missing:
        raise _unsupported(event, f"expected the fields {', '.join(fields)}; "
                                  f"{', '.join(missing)} missing")
    return True


def _arg(event, field: str) -> str:
    return f"{type(event).__name__}.{field}"


def _nonneg_or_inf(event, field: str) -> float:
    """A float in [0, inf] (inf: no guarantee, a non-private step)."""
    x = v._as_float(_arg(event, field), getattr(event, field))
    if not (0 <= x <= math.inf):
        raise ValueError(f"{_arg(event, field)} must be in [0, inf], got {v._show(x)}")
    return x


def _count0(event, field: str, maximum: int = v.MAX_COUNT) -> int:
    return v.count(_arg(event, field), getattr(event, field), minimum=0, maximum=maximum)


def _gaussian_sigma(ev, event):
    """σ of a Gaussian-only (possibly composed) event on one sample, else None."""
    if isinstance(event, ev.GaussianDpEvent):
        return float(event.noise_multiplier)
    if isinstance(event, ev.SelfComposedDpEvent):
        s = _gaussian_sigma(ev, event.event)
        if s is None:
            return None
        count = _count0(event, "count")
        return math.inf if count == 0 else s / math.sqrt(count)
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


def _ours(nb: str) -> str:
    """Our mechanisms' relation for the adapter's: zero-out pairs are add/remove pairs."""
    return "add_remove" if nb == "replace_special" else nb


def _guarantees(ev, event, rel):
    """The guarantee-level and discrete events: a list of segments, or None if ``event`` is
    none of them."""
    if _is(ev, event, "ZCDpEvent", ("rho", "xi")):
        rho, xi = _nonneg_or_inf(event, "rho"), _nonneg_or_inf(event, "xi")
        if math.isinf(rho) or math.isinf(xi):
            return [(_NonPrivate(event), 1)]          # jax_privacy's ZCDpEvent(inf): σ = 0
        return [] if rho == 0 and xi == 0 else [(ZCDP(rho, xi, rel), 1)]
    if _is(ev, event, "EpsilonDeltaDpEvent", ("epsilon", "delta")):
        eps = _nonneg_or_inf(event, "epsilon")
        delta = v.probability(_arg(event, "delta"), event.delta)
        if math.isinf(eps) or delta == 1:
            return [(_NonPrivate(event), 1)]
        return [] if eps == 0 and delta == 0 else [(EpsilonDelta(eps, delta, rel), 1)]
    if _is(ev, event, "DiscreteLaplaceDpEvent", ("noise_parameter", "sensitivity")):
        a = v.nonnegative(_arg(event, "noise_parameter"), event.noise_parameter)
        d = _count0(event, "sensitivity")
        if d == 0:
            return []
        return [(_NonPrivate(event), 1)] if a == 0 else [(DiscreteLaplace(a, d, rel), 1)]
    if _is(ev, event, "DiscreteGaussianDpEvent", ("sigma", "sensitivity", "dimension")):
        if event.dimension is None or isinstance(event.dimension, bool) or event.dimension != 1:
            raise _unsupported(event, "only the univariate discrete Gaussian (dimension=1) is "
                                      f"supported, got dimension={event.dimension!r}")
        sigma = v.nonnegative(_arg(event, "sigma"), event.sigma)
        d = _count0(event, "sensitivity")
        if d == 0:
            return []
        return [(_NonPrivate(event), 1)] if sigma == 0 else [(DiscreteGaussian(sigma, d, rel), 1)]
    return None


def _segments(ev, event, nb) -> List[Tuple[object, int]]:
    rel = _ours(nb)
    if isinstance(event, ev.NoOpDpEvent):
        return []
    if isinstance(event, ev.NonPrivateDpEvent):
        return [(_NonPrivate(event), 1)]
    if isinstance(event, ev.GaussianDpEvent):
        if _noise_free(event, event.noise_multiplier):
            return [(_NonPrivate(event), 1)]
        return [(Gaussian(event.noise_multiplier, rel), 1)]
    if isinstance(event, ev.LaplaceDpEvent):
        if _noise_free(event, event.noise_multiplier):
            return [(_NonPrivate(event), 1)]
        return [(Laplace(event.noise_multiplier, rel), 1)]
    found = _guarantees(ev, event, rel)
    if found is not None:
        return found
    if _is(ev, event, "RandomizedResponseDpEvent", ("noise_parameter", "num_buckets")):
        p = v.probability(_arg(event, "noise_parameter"), event.noise_parameter)
        k = v.count(_arg(event, "num_buckets"), event.num_buckets)
        if nb == "add_remove":
            raise _unsupported(event, "randomized response changes one record's bucket: it is "
                                      "defined under replace-one adjacency (dp_accounting "
                                      "refuses ADD_OR_REMOVE_ONE too); use neighboring "
                                      "'replace_one' or 'replace_special'")
        if k == 1 or p == 1:
            return []                     # the output does not depend on the input
        if p == 0 and nb == "replace_special":
            # the special input answers uniformly: the supports overlap, ε(δ) is finite
            return [(_Unbounded(event, None, "randomized response without noise under "
                                             "zero-out is not supported"), 1)]
        if p == 0:
            return [(_NonPrivate(event), 1)]
        m = RandomizedResponse(p, k, rel)
        return [(_Dominating(m, event) if nb == "replace_special" else m, 1)]
    if _is(ev, event, "TruncatedSubsampledGaussianDpEvent",
           ("dataset_size", "sampling_probability", "truncated_batch_size", "noise_multiplier")):
        n = _count0(event, "dataset_size")
        q = v.probability(_arg(event, "sampling_probability"), event.sampling_probability)
        b = _count0(event, "truncated_batch_size")
        sigma = v.nonnegative(_arg(event, "noise_multiplier"), event.noise_multiplier)
        if nb != "add_remove":
            raise _unsupported(event, "truncated Poisson sampling is accounted under add/remove "
                                      f"adjacency only, got neighboring {nb!r}")
        if q == 0 or b == 0 or n == 0:
            return []
        if sigma == 0:
            return [(_Unbounded(event, None, "a noise-free truncated sampled Gaussian is not "
                                             "supported (epsilon = inf is only an upper "
                                             "bound)"), 1)]
        return [(TruncatedSubsampledGaussian(sigma, q, b, n), 1)]
    if _is(ev, event, "RandomAllocationDpEvent", ("event", "num_selected", "num_steps")):
        t = v.count(_arg(event, "num_steps"), event.num_steps)
        k = _count0(event, "num_selected", maximum=t)
        if nb == "replace_one":
            raise _unsupported(event, "random allocation is accounted under add/remove (or "
                                      "zero-out) adjacency only, got neighboring 'replace_one'")
        sigma = _gaussian_sigma(ev, event.event)
        if sigma is None:
            raise _unsupported(event, "the allocated event must be a GaussianDpEvent (or "
                                      f"Gaussians composed on one call), got "
                                      f"{type(event.event).__name__}")
        if k == 0 or math.isinf(sigma):
            return []
        if _noise_free(event.event, sigma):
            return [(_NonPrivate(event), 1)]
        return [(RandomAllocation(sigma, t, k), 1)]
    if isinstance(event, ev.MixtureOfGaussiansDpEvent):
        if nb == "replace_one":
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
        inner = _segments(ev, event.event, nb)
        return [(m, s * int(event.count)) for m, s in inner] if event.count else []
    if isinstance(event, ev.ComposedDpEvent):
        out = []
        for e in event.events:
            out.extend(_segments(ev, e, nb))
        return out
    if isinstance(event, ev.PoissonSampledDpEvent):
        q = float(event.sampling_probability)
        if not (0 <= q <= 1):
            raise _unsupported(event, f"sampling_probability must be in [0, 1], got {q!r}")
        if q == 0:
            return []
        return _sampled(ev, event, event.event, q, "poisson", nb)
    if isinstance(event, ev.SampledWithoutReplacementDpEvent):
        n, m = event.source_dataset_size, event.sample_size
        if nb != "replace_one":
            raise ValueError("SampledWithoutReplacementDpEvent is only defined under "
                             "replace-one adjacency: use neighboring='replace_one'")
        if not (0 <= m <= n and n > 0):
            raise _unsupported(event, "need 0 <= sample_size <= source_dataset_size and "
                                      f"source_dataset_size > 0, got {m}, {n}")
        if m == 0:
            return []
        return _sampled(ev, event, event.event, m / n, "fixed", nb)
    raise _unsupported(event)


def _sampled(ev, outer, inner, q, sampling, nb):
    rel = _ours(nb)
    if isinstance(inner, ev.PoissonSampledDpEvent) and sampling == "poisson":
        # Independent Poisson sampling twice is Poisson sampling at the product rate.
        return _sampled(ev, outer, inner.event, q * float(inner.sampling_probability),
                        sampling, nb)
    if q == 0:
        return []
    sigma = _gaussian_sigma(ev, inner)
    if sigma is not None:
        if math.isinf(sigma):
            return []
        if sigma == 0:
            return [(_Unbounded(outer, q, "sampling a noise-free Gaussian gives δ(ε) = "
                                          "1 − (1 − q)^T at every ε (ε = ∞ below that δ, 0 "
                                          "above), which is not supported"), 1)]
        _check_sigma(inner, sigma)
        return [(SubsampledGaussian(sigma, q, sampling, rel), 1)]
    if isinstance(inner, ev.LaplaceDpEvent) and sampling == "poisson":
        if nb == "replace_one":
            raise _unsupported(outer, "Poisson-sampled Laplace is accounted under add/remove "
                                      "(or zero-out) adjacency only, as in dp_accounting")
        if inner.noise_multiplier == 0:
            return [(_Unbounded(outer, q, "sampling a noise-free Laplace is not supported"), 1)]
        _check_sigma(inner, inner.noise_multiplier)
        return [(SubsampledLaplace(inner.noise_multiplier, q, rel), 1)]
    if isinstance(inner, ev.MixtureOfGaussiansDpEvent) and sampling == "poisson":
        if nb == "replace_one":
            raise _unsupported(inner, "only defined under add/remove adjacency")
        if inner.standard_deviation == 0:
            raise _unsupported(outer, "sampling a noise-free mixture is not supported")
        _check_sigma(inner, inner.standard_deviation)
        sens = (0.0,) + tuple(float(c) for c in inner.sensitivities)
        probs = (1.0 - q,) + tuple(q * float(p) for p in inner.sampling_probs)
        return [(MixtureOfGaussians(inner.standard_deviation, sens, probs), 1)]
    why = f"sampling of {type(inner).__name__} is not supported"
    if type(inner).__name__ == "ZCDpEvent":
        why += (" (no amplification by sampling is proven for a bare zCDP guarantee; "
                "dp_accounting refuses it too: use GaussianDpEvent)")
    raise _unsupported(outer, why)


def _split(segs):
    """(private segments that touch someone's data, non-private markers, names of the events
    accounted by a dominating pair, (unbounded marker, steps) pairs)."""
    private, non_private, upper_only, unbounded = [], [], [], []
    for m, s in segs:
        if s <= 0:
            continue
        if isinstance(m, _NonPrivate):
            non_private.append(m)
            continue
        if isinstance(m, _Unbounded):
            unbounded.append((m, s))
            continue
        if isinstance(m, _Dominating):
            upper_only.append(m.name)
            m = m.mechanism
        if not is_identity(m):
            private.append((m, s))
    return private, non_private, upper_only, unbounded


def from_dp_event(event: object, neighboring: str = "add_remove") -> Schedule:
    """The Schedule of a dp_accounting event (see the module docstring for the mapping).

    Parameters
    ----------
    event : a ``dp_accounting.dp_event.DpEvent``.
    neighboring : "add_remove" (dp_accounting's ADD_OR_REMOVE_ONE, the default),
        "replace_one" (REPLACE_ONE; Gaussian sensitivity becomes 2, as in dp_accounting's PLD)
        or "replace_special" (REPLACE_SPECIAL, zero-out: the add/remove pairs,
        docs/math.md §1.3).

    An event with no privacy-relevant step (only ``NoOpDpEvent``, sample rate or size 0, …)
    becomes one step that samples no one (ε = 0 in every accountant). Raises ValueError for
    unsupported events (naming the event class), for non-private ones (ε = ∞, which a
    Schedule cannot hold; the accountants answer them) and for events only dominated by a
    Schedule ("≤" in the table: its bracket would not be the event's).
    """
    v.choice("neighboring", neighboring, NEIGHBORING)
    segs = _segments(_dp_event(), event, neighboring)
    private, non_private, upper_only, unbounded = _split(segs)
    if unbounded:
        raise _unsupported(unbounded[0][0].event, unbounded[0][0].why)
    if non_private:
        raise ValueError(f"event {type(event).__name__} holds a non-private step "
                         f"({non_private[0].name}: no noise, epsilon = inf at every delta < 1); "
                         "a Schedule cannot hold it (DpEventAccountant answers epsilon = inf)")
    if upper_only:
        raise ValueError(f"event {type(event).__name__} holds {upper_only[0]} under "
                         f"neighboring {neighboring!r}, which a Schedule only dominates (its "
                         "lower bounds would not hold); DpEventAccountant and "
                         "CertifiedAccountant report its upper bound")
    segs = [(m, s) for m, s in segs if s > 0]
    if not segs:
        return Schedule(((SubsampledGaussian(1.0, 0.0, "poisson", _ours(neighboring)), 1),))
    return Schedule(tuple(segs))


class _EventLedger:
    """What both event accountants share: events translated once, composed into one
    :class:`~accountant.PrivacyAccountant` (incremental), non-private, unbounded and
    dominated steps remembered, queries answered as Results.

    ``unbounded``: accept sampled noise-free steps (:class:`_Unbounded`), answered with the
    bracket [lower, ∞] — the upper bound dp_accounting gives, which
    ``calibrate_dp_mechanism`` needs at σ = 0 — instead of refusing them."""

    def __init__(self, neighboring: str, method: str, options: dict,
                 unbounded: bool = False) -> None:
        self.neighboring = v.choice("neighboring", neighboring, NEIGHBORING)
        self.method = v.choice("method", method, METHODS)
        self.acc = PrivacyAccountant("pld" if method == "auto" else method, **options)
        self.non_private: Optional[str] = None   # first non-private event class composed
        self.upper_only: List[str] = []          # classes accounted by a dominating pair
        self.unbounded: List[str] = []           # classes of sampled noise-free steps
        self.log_unsampled = 0.0                 # Σ T·log(1 − q) over them (q known)
        self.zcdp = False
        self._allow_unbounded = unbounded
        self._last: Tuple[object, object] = (None, None)

    def translate(self, event) -> list:
        """``event``'s segments; the last event's are kept, so that dp_accounting's
        check-then-compose (two ``_maybe_compose`` calls) traverses it once."""
        last, segs = self._last
        if last is not None and last is event:
            return segs
        segs = _segments(_dp_event(), event, self.neighboring)
        if not self._allow_unbounded:
            for m, _ in segs:
                if isinstance(m, _Unbounded):
                    raise _unsupported(m.event, m.why)
        self._last = (event, segs)
        return segs

    def add(self, segs, count: int) -> None:
        private, non_private, upper_only, unbounded = _split(segs)
        if not count:
            return
        if private:
            self.acc.compose(Schedule(tuple(private)), count)
            self.zcdp = self.zcdp or any(isinstance(m, ZCDP) for m, _ in private)
        if non_private and self.non_private is None:
            self.non_private = non_private[0].name
        for name in upper_only:
            if name not in self.upper_only:
                self.upper_only.append(name)
        for m, s in unbounded:
            if m.name not in self.unbounded:
                self.unbounded.append(m.name)
            if m.rate is not None:
                self.log_unsampled += s * count * math.log1p(-m.rate)

    def resolved_method(self) -> str:
        if self.method != "auto":
            return self.method
        return "rdp" if self.zcdp else "pld"

    def _delta_floor(self) -> float:
        """A lower bound on 1 − Π(1 − q)^T over the unbounded steps: each of them alone
        puts that Q-mass where P has none (docs/math.md §1.2: dropping the other outputs
        is post-processing). log1p, the products and the sum err by a few ulps each; the
        relative margin 1e-12 covers them."""
        s = self.log_unsampled * (1.0 - 1e-12)        # s ≤ 0: moved towards 0 (floor down)
        return max(0.0, math.nextafter(-math.expm1(s), 0.0)) if s < 0 else 0.0

    def result(self, quantity: str, at: float) -> Result:
        method = self.resolved_method()
        at = v.delta("target_delta", at) if quantity == "epsilon" else \
            v.epsilon("target_epsilon", at)
        top = math.inf if quantity == "epsilon" else 1.0
        if self.non_private is not None:
            return Result(quantity, at, top, top, top, True, method,
                          details={"non_private": f"{self.non_private}: the outputs on "
                                                  "neighbouring datasets have disjoint supports"})
        floor = self._delta_floor() if self.unbounded else 0.0
        if quantity == "epsilon" and at < floor:
            # δ(ε) ≥ floor > at at every ε: ε(at) = ∞ exactly
            return Result(quantity, at, top, top, top, True, method,
                          details={"unbounded": f"{', '.join(self.unbounded)}: δ(ε) >= "
                                                f"{floor!r} at every ε"})
        r = (self.acc.get_epsilon(at, method=method) if quantity == "epsilon"
             else self.acc.get_delta(at, method=method))
        if self.upper_only and r.lower > 0:
            note = (f"upper_only: {', '.join(self.upper_only)} under neighboring "
                    f"{self.neighboring!r} is accounted by a dominating pair; the lower "
                    "bound is 0")
            r = dataclasses.replace(r, lower=0.0, warnings=r.warnings + (note,))
        if self.unbounded:
            note = (f"unbounded: {', '.join(self.unbounded)} samples a noise-free mechanism; "
                    "its only upper bound here is " + ("epsilon = inf" if quantity == "epsilon"
                                                        else "delta = 1") +
                    "; the lower bound is the other steps'" +
                    (" and the sampling floor" if quantity == "delta" else ""))
            lower = max(r.lower, floor) if quantity == "delta" else r.lower
            r = dataclasses.replace(r, estimate=top, lower=lower, upper=top,
                                    warnings=r.warnings + (note,))
        return r


def _count(count) -> int:
    return v.count("count", count, minimum=0)


class _Queries:
    """What both event accountants answer from their :class:`_EventLedger` (``self._core``):
    floats for dp_accounting's API, the whole Result beside them (``last_result`` keeps the
    last one computed)."""

    last_result: Optional[Result] = None

    @property
    def method(self) -> str:
        """The method asked for ("auto" resolves per query: Result.method says which)."""
        return self._core.method

    @property
    def accountant(self) -> PrivacyAccountant:
        """Our accountant underneath (its history is the composed schedule)."""
        return self._core.acc

    def get_epsilon(self, target_delta: float) -> float:
        return float(self.get_epsilon_result(target_delta))

    def get_delta(self, target_epsilon: float) -> float:
        return float(self.get_delta_result(target_epsilon))

    def get_epsilon_result(self, target_delta: float) -> Result:
        """ε at δ as a Result; ``float(result)`` is what ``get_epsilon`` returns (ε = ∞,
        certified, once a non-private step was composed)."""
        self.last_result = self._core.result("epsilon", target_delta)
        return self.last_result

    def get_delta_result(self, target_epsilon: float) -> Result:
        """δ at ε as a Result; ``float(result)`` is what ``get_delta`` returns (δ = 1,
        certified, once a non-private step was composed)."""
        self.last_result = self._core.result("delta", target_epsilon)
        return self.last_result


class DpEventAccountant(_Queries):
    """Drop-in for dp_accounting's ``PLDAccountant`` / ``RdpAccountant`` without subclassing
    them (:func:`CertifiedAccountant` is the subclass).

    >>> from dp_accounting import dp_event
    >>> a = DpEventAccountant()
    >>> a.compose(dp_event.PoissonSampledDpEvent(0.01, dp_event.GaussianDpEvent(1.0)), 1000)
    >>> a.get_epsilon(1e-5)      # a float (certified upper bound); get_epsilon_result → Result

    Parameters
    ----------
    method : "auto" (default: PLD, or RDP once a ``ZCDpEvent`` was composed), "pld", "rdp",
        "edgeworth" or "saddlepoint".
    neighboring : "add_remove", "replace_one" or "replace_special" (module docstring).
    **options : passed to :class:`accountant.PrivacyAccountant`.

    Composing is incremental (:class:`accountant.PrivacyAccountant` underneath): a thousand
    one-step composes with distinct σ cost one query, not a thousand.
    """

    def __init__(self, method: str = "auto", neighboring: str = "add_remove",
                 **options) -> None:
        self._core = _EventLedger(neighboring, method, options)
        self._events: list = []

    @property
    def neighboring(self) -> str:
        return self._core.neighboring

    def supports(self, event: object) -> bool:
        try:
            self._core.translate(event)
        except ValueError:
            return False
        return True

    def compose(self, event: object, count: int = 1) -> "DpEventAccountant":
        """Add ``count`` repetitions of ``event`` (ValueError and no change if unsupported)."""
        count = _count(count)
        self._core.add(self._core.translate(event), count)
        self._events.append((event, count))
        return self

    @property
    def ledger(self) -> object:
        """The composed event, as dp_accounting's accountants report it."""
        ev = _dp_event()
        return ev.ComposedDpEvent([ev.SelfComposedDpEvent(e, c) if c != 1 else e
                                   for e, c in self._events])



def _relation_names(pa) -> dict:
    nr = pa.NeighboringRelation
    return {nr.ADD_OR_REMOVE_ONE: "add_remove", nr.REPLACE_ONE: "replace_one",
            nr.REPLACE_SPECIAL: "replace_special"}


def _build_certified_accountant():
    """The ``dp_accounting.PrivacyAccountant`` subclass, built on first use (its base class
    lives in dp_accounting, which is imported only then)."""
    try:
        from dp_accounting import privacy_accountant as pa
    except ImportError as exc:
        raise ImportError("CertifiedAccountant needs the dp_accounting package "
                          "(pip install dp-accounting)") from exc
    names = _relation_names(pa)
    by_name = {s: r for r, s in names.items()}

    class CertifiedUnsupportedEventError(pa.UnsupportedEventError, ValueError):
        """dp_accounting's ``UnsupportedEventError`` that is also a ``ValueError``."""

    class CertifiedAccountant(_Queries, pa.PrivacyAccountant):
        """A ``dp_accounting.PrivacyAccountant`` whose answers are certified bounds.

        ``get_epsilon(δ)`` / ``get_delta(ε)`` return floats, the proven upper bounds of our
        accountant (docs/math.md §4.6); ``get_epsilon_result`` / ``get_delta_result`` return
        the whole :class:`~accountant.core.bounds.Result` (bracket, method, warnings), and
        ``last_result`` holds the last one computed. Events map as in the table of
        :mod:`accountant.interop.dp_accounting`; unsupported ones raise
        ``UnsupportedEventError`` (also a ``ValueError``) naming the event's class, and
        ``supports(event)`` is False for them.

        >>> import dp_accounting
        >>> from accountant.interop.dp_accounting import CertifiedAccountant
        >>> make = lambda s: dp_accounting.SelfComposedDpEvent(
        ...     dp_accounting.PoissonSampledDpEvent(0.01, dp_accounting.GaussianDpEvent(s)), 1000)
        >>> sigma = dp_accounting.calibrate_dp_mechanism(CertifiedAccountant, make, 2.0, 1e-5)

        Parameters
        ----------
        neighboring_relation : a ``dp_accounting.NeighboringRelation`` (default
            ADD_OR_REMOVE_ONE) or one of "add_remove", "replace_one", "replace_special".
        method : "auto" (default: PLD, or RDP once a ``ZCDpEvent`` was composed), "pld",
            "rdp", "edgeworth" or "saddlepoint".
        **options : passed to :class:`accountant.PrivacyAccountant`.

        Like dp_accounting's own accountants, ``supports`` and ``compose`` share one
        traversal (``_maybe_compose``); ``compose`` translates the event once, and the
        composition itself is incremental (distinct steps with their counts).
        """

        UnsupportedEventError = CertifiedUnsupportedEventError

        def __init__(self, neighboring_relation=pa.NeighboringRelation.ADD_OR_REMOVE_ONE,
                     method: str = "auto", **options) -> None:
            if isinstance(neighboring_relation, str):
                rel = v.choice("neighboring_relation", neighboring_relation, NEIGHBORING)
                neighboring_relation = by_name[rel]
            elif neighboring_relation in names:
                rel = names[neighboring_relation]
            else:
                raise ValueError("neighboring_relation must be a dp_accounting "
                                 "NeighboringRelation or one of " + ", ".join(NEIGHBORING)
                                 + f", got {neighboring_relation!r}")
            self._core = _EventLedger(rel, method, options, unbounded=True)
            super().__init__(neighboring_relation)

        def _maybe_compose(self, event, count: int, do_compose: bool):
            try:
                segs = self._core.translate(event)
            except ValueError as exc:
                return self.CompositionErrorDetails(
                    invalid_event=getattr(exc, "event", event), error_message=str(exc))
            if do_compose:
                self._core.add(segs, count)
            return None

        def compose(self, event, count: int = 1) -> "CertifiedAccountant":
            """Account ``count`` repetitions of ``event`` (nothing changes if it raises)."""
            count = _count(count)
            error = self._maybe_compose(event, count, False)
            if error is not None:
                raise CertifiedUnsupportedEventError(
                    f"Unsupported event: {type(event).__name__}. Error: "
                    f"[{error.error_message}] caused by subevent "
                    f"{type(error.invalid_event).__name__}.")
            self._maybe_compose(event, count, True)
            if count:
                self._ledger.compose(event, count)
            return self


    # Importable names (pickle finds the class through this module's __getattr__).
    CertifiedAccountant.__module__ = __name__
    CertifiedAccountant.__qualname__ = "CertifiedAccountant"
    CertifiedUnsupportedEventError.__module__ = __name__
    CertifiedUnsupportedEventError.__qualname__ = "CertifiedAccountant.UnsupportedEventError"
    return CertifiedAccountant


def __getattr__(name: str):
    # PEP 562: CertifiedAccountant subclasses dp_accounting's base class, so it is built on
    # first access and this module imports without dp_accounting.
    if name == "CertifiedAccountant":
        cls = _build_certified_accountant()
        globals()[name] = cls
        return cls
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
