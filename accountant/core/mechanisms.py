"""One step of a mechanism, and schedules of steps.

Mechanisms are frozen, hashable dataclasses validated on construction; they only describe
what the trainer did. Their privacy loss lives in :mod:`accountant.loss`, which every
accountant reads.

Units: sensitivity 1 (clip norm 1), so ``noise_multiplier`` is the noise standard deviation
(Gaussian) or scale (Laplace) per unit of sensitivity.

Neighbouring relation: ``"add_remove"`` (default) or ``"replace_one"``. Under replace-one a
clipped contribution can move the sum by 2, so Gaussian and Laplace mechanisms behave as with
sensitivity 2, consistently in every accountant. Fixed-size sampling (``sampling="fixed"``)
is only defined under replace-one, which is then its default.

Degenerate steps. A sample rate of 0 is accepted (no example, or user, is ever sampled: the
step touches no one's data); so is a mixture whose every component has shift 0. Such a step
is the identity for privacy: :func:`active_part` drops it, and :func:`accountant.epsilon` /
:func:`accountant.delta` answer a schedule made only of such steps with ε = 0 (δ = 0 at
every ε ≥ 0), exactly, in every method. A noise multiplier of 0 is refused: a mechanism
without noise is not private (ε = ∞).

Size: one frozen dataclass per mechanism family, with its validation, is the whole of this
module; keeping every family's declaration in one place lets the accountants, the state
files and the adapters list them from one tuple (:data:`MECHANISM_TYPES`).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Tuple, Union

from . import _validate as v

NEIGHBORING = ("add_remove", "replace_one")
#: Largest ``max_examples_per_user`` of an :class:`ELS` step (its accounting cost grows
#: like k²; see the class docstring for the measurements).
MAX_ELS_EXAMPLES = 256
#: Smallest nonzero ``MixtureOfGaussians`` sensitivity, relative to the noise multiplier.
#: Below it the shift's square is subnormal and the privacy-loss kernels, which work in
#: x·c/σ², run at subnormal speed and resolve nothing (1e-308 took minutes).
MIN_RELATIVE_SENSITIVITY = 1e-100
SAMPLING = ("poisson", "fixed")


def _set(obj, name, value):
    object.__setattr__(obj, name, value)


def _check_scale(obj):
    """Validation shared by the mechanisms described by one noise scale."""
    _set(obj, "noise_multiplier", v.noise_multiplier("noise_multiplier", obj.noise_multiplier))
    v.choice("neighboring", obj.neighboring, NEIGHBORING)


@dataclass(frozen=True)
class Gaussian:
    """Gaussian mechanism N(f(D), σ²) with L2 sensitivity 1."""

    noise_multiplier: float
    neighboring: str = "add_remove"

    def __post_init__(self):
        _check_scale(self)


@dataclass(frozen=True)
class Laplace:
    """Laplace mechanism with scale ``noise_multiplier`` per unit of L1 sensitivity."""

    noise_multiplier: float
    neighboring: str = "add_remove"

    def __post_init__(self):
        _check_scale(self)


@dataclass(frozen=True)
class SubsampledGaussian:
    """Gaussian mechanism on a subsample: Poisson at rate q, or a fixed-size batch q·n;
    q ∈ [0, 1] (q = 0 samples no one: ε = 0).

    Poisson sampling under add/remove has the dominating pair N(0,σ²) vs
    (1−q)N(0,σ²) + qN(1,σ²); replace-one (Poisson or fixed size) has
    (1−q)N(0,σ²) + qN(−1,σ²) vs (1−q)N(0,σ²) + qN(1,σ²) (Zhu, Dong, Wang 2022).
    """

    noise_multiplier: float
    sample_rate: float
    sampling: str = "poisson"
    neighboring: str | None = None

    def __post_init__(self):
        _set(self, "noise_multiplier",
             v.noise_multiplier("noise_multiplier", self.noise_multiplier))
        _set(self, "sample_rate", v.sample_rate("sample_rate", self.sample_rate, allow_zero=True))
        v.choice("sampling", self.sampling, SAMPLING)
        if self.neighboring is None:
            _set(self, "neighboring", "replace_one" if self.sampling == "fixed" else "add_remove")
        v.choice("neighboring", self.neighboring, NEIGHBORING)
        if self.sampling == "fixed" and self.neighboring != "replace_one":
            raise ValueError(
                "neighboring must be 'replace_one' when sampling='fixed' "
                "(fixed-size batches are only defined under replace-one)"
            )


@dataclass(frozen=True)
class SubsampledLaplace:
    """Laplace mechanism on a Poisson subsample: each record enters the batch with
    probability q ∈ [0, 1] (q = 0 samples no one: ε = 0; q = 1 is :class:`Laplace`), and the
    batch's sum of contributions of L1 norm ≤ 1 gets Laplace noise of scale
    ``noise_multiplier``.

    Dominating pair (add/remove): Lap(0, b) vs (1 − q)Lap(0, b) + q·Lap(1, b), and the
    swapped pair; both directions are accounted (docs/math.md §2.7). Replace-one is refused
    (ValueError naming ``neighboring``): its symmetric pair is not implemented, see §2.7.

    Accountants: ``method="edgeworth"`` answers it; "pld", "rdp" and "saddlepoint" stop in
    the exact one-step bounds of :mod:`accountant._exact`, which dispatch on the loss type
    and do not know this loss yet (issue 14).
    """

    noise_multiplier: float
    sample_rate: float
    neighboring: str = "add_remove"

    def __post_init__(self):
        _set(self, "noise_multiplier",
             v.noise_multiplier("noise_multiplier", self.noise_multiplier))
        _set(self, "sample_rate", v.sample_rate("sample_rate", self.sample_rate, allow_zero=True))
        # v.choice, not !=: a numpy array compares element-wise and its truth value raises
        v.choice("neighboring (a SubsampledLaplace is add/remove only: the replace-one "
                 "pair is not implemented)", self.neighboring, ("add_remove",))


@dataclass(frozen=True)
class MixtureOfGaussians:
    """Mixture of Gaussians: P = N(0,σ²), Q = Σ_j w_j N(c_j, σ²) (add/remove).

    ``sensitivities`` c_j ≥ 0 and ``probabilities`` w_j (summing to 1 within 1e-12), as
    dp_accounting's ``MixtureOfGaussiansDpEvent``. A nonzero c_j must be at least
    :data:`MIN_RELATIVE_SENSITIVITY` (1e-100) times the noise multiplier.
    """

    noise_multiplier: float
    sensitivities: Tuple[float, ...]
    probabilities: Tuple[float, ...]
    neighboring: str = "add_remove"

    def __post_init__(self):
        _set(self, "noise_multiplier",
             v.noise_multiplier("noise_multiplier", self.noise_multiplier))
        sens_in = v.items("sensitivities", self.sensitivities)
        probs_in = v.items("probabilities", self.probabilities)
        if len(sens_in) == 0 or len(sens_in) != len(probs_in):
            raise ValueError(
                "sensitivities and probabilities must be non-empty and of equal length, "
                f"got {len(sens_in)} and {len(probs_in)}"
            )
        sens = tuple(v.nonnegative(f"sensitivities[{i}]", c) for i, c in enumerate(sens_in))
        probs = tuple(v.probability(f"probabilities[{i}]", p) for i, p in enumerate(probs_in))
        tiny = MIN_RELATIVE_SENSITIVITY * self.noise_multiplier
        for i, (c, given) in enumerate(zip(sens, sens_in)):
            # a nonzero Fraction below the double range converts to 0.0: still a shift
            # other than 0, refused like any other below the resolvable range
            if 0 < c < tiny or (c == 0 and given != 0):
                raise ValueError(
                    f"sensitivities[{i}] must be 0 or at least "
                    f"{MIN_RELATIVE_SENSITIVITY:g} * noise_multiplier (= {tiny:.3g}), got "
                    f"{v._show(given)}: such a shift is below what the accountants resolve "
                    "in double precision (its square is subnormal); use 0 or a larger shift")
        if abs(math.fsum(probs) - 1.0) > 1e-12:
            raise ValueError(
                f"probabilities must sum to 1 (tolerance 1e-12), got sum {math.fsum(probs)!r}"
            )
        _set(self, "sensitivities", sens)
        _set(self, "probabilities", probs)
        # v.choice, not !=: a numpy array compares element-wise and its truth value raises
        v.choice("neighboring (a MixtureOfGaussians is add/remove only)", self.neighboring,
                 ("add_remove",))


@dataclass(frozen=True)
class ELS:
    """Example-level sampling with user-level add/remove (Ganesh 2024, Thm 3.1).

    Examples are Poisson-sampled at rate q ∈ [0, 1] and clipped one by one; a user holds at most
    ``max_examples_per_user`` = k examples. The user-level privacy loss is the mixture of
    Gaussians with shifts j = 0..k and Binomial(k, q) weights; k = 1 is the subsampled
    Gaussian.

    k is limited to :data:`MAX_ELS_EXAMPLES` (256): every accountant works on the k + 1
    components, and the cost grows like k² (measured, ε at δ = 1e-5 over 10 steps, σ ∈
    [1, 5], q ∈ [1e-3, 0.5]: k = 256 takes ≤ 5 s with PLD and ≤ 3 s with RDP, k = 1000
    35 s and 18 s, k = 10⁶ did not finish). Beyond that, user-level sampling (``ULS``) or
    the group-privacy baselines apply.
    """

    noise_multiplier: float
    sample_rate: float
    max_examples_per_user: int

    def __post_init__(self):
        _set(self, "noise_multiplier",
             v.noise_multiplier("noise_multiplier", self.noise_multiplier))
        _set(self, "sample_rate", v.sample_rate("sample_rate", self.sample_rate, allow_zero=True))
        _set(self, "max_examples_per_user",
             v.count("max_examples_per_user", self.max_examples_per_user,
                     maximum=MAX_ELS_EXAMPLES))

    @property
    def neighboring(self) -> str:
        return "add_remove"


@dataclass(frozen=True)
class ULS:
    """User-level sampling: users Poisson-sampled at rate q_u ∈ [0, 1], each sampled user's examples
    combined and clipped once. Accounted as the subsampled Gaussian at q_u; the number of
    examples per user does not enter the accounting.
    """

    noise_multiplier: float
    sample_rate: float
    max_examples_per_user: int | None = None

    def __post_init__(self):
        _set(self, "noise_multiplier",
             v.noise_multiplier("noise_multiplier", self.noise_multiplier))
        _set(self, "sample_rate", v.sample_rate("sample_rate", self.sample_rate, allow_zero=True))
        if self.max_examples_per_user is not None:
            _set(self, "max_examples_per_user",
                 v.count("max_examples_per_user", self.max_examples_per_user))

    @property
    def neighboring(self) -> str:
        return "add_remove"


# -- Discrete and guarantee-level steps (issue 15) -----------------------------------------
# Their privacy losses live in accountant/loss/discrete.py.


@dataclass(frozen=True)
class DiscreteGaussian:
    """Discrete Gaussian N_Z(0, σ²) added to an integer-valued query of sensitivity Δ
    (Canonne, Kamath, Steinke 2020): P = N_Z(0, σ²) vs Q = N_Z(Δ, σ²) (replace-one: 2Δ).
    ``noise_multiplier`` is σ in units of the integer lattice (not per unit of Δ)."""

    noise_multiplier: float
    sensitivity: int = 1
    neighboring: str = "add_remove"

    def __post_init__(self):
        _check_scale(self)
        _set(self, "sensitivity", v.count("sensitivity", self.sensitivity))


@dataclass(frozen=True)
class DiscreteLaplace:
    """Discrete Laplace noise P(x) ∝ exp(−a·|x|) on the integers added to an integer-valued
    query of sensitivity Δ (dp_accounting's ``DiscreteLaplaceDpEvent(noise_parameter,
    sensitivity)``); a = ``noise_parameter`` > 0, so the step is (a·Δ, 0)-DP."""

    noise_parameter: float
    sensitivity: int = 1
    neighboring: str = "add_remove"

    def __post_init__(self):
        _set(self, "noise_parameter", v.positive("noise_parameter", self.noise_parameter))
        _set(self, "sensitivity", v.count("sensitivity", self.sensitivity))
        v.choice("neighboring", self.neighboring, NEIGHBORING)


@dataclass(frozen=True)
class RandomizedResponse:
    """k-ary randomized response (dp_accounting's ``RandomizedResponseDpEvent``): with
    probability p = ``noise_parameter`` ∈ (0, 1] the output is a uniformly random one of the
    k = ``num_buckets`` ≥ 2 buckets, otherwise the true one; ε = log(1 + k(1 − p)/p).
    The pair is the record's bucket changed, the same under either ``neighboring``."""

    noise_parameter: float
    num_buckets: int
    neighboring: str = "add_remove"

    def __post_init__(self):
        p = v.probability("noise_parameter", self.noise_parameter)
        if p == 0:
            raise ValueError("noise_parameter must be in (0, 1], got 0: randomized response "
                             "that never randomizes is not private (epsilon = inf)")
        _set(self, "noise_parameter", p)
        _set(self, "num_buckets", v.count("num_buckets", self.num_buckets, minimum=2))
        v.choice("neighboring", self.neighboring, NEIGHBORING)


@dataclass(frozen=True)
class ZCDP:
    """A step known only to be (ξ, ρ)-zCDP: D_α ≤ ξ + ρα for every α > 1 (Bun & Steinke
    2016; dp_accounting's ``ZCDpEvent(rho, xi)``)."""

    rho: float
    xi: float = 0.0
    neighboring: str = "add_remove"

    def __post_init__(self):
        _set(self, "rho", v.nonnegative("rho", self.rho))
        _set(self, "xi", v.nonnegative("xi", self.xi))
        v.choice("neighboring", self.neighboring, NEIGHBORING)


@dataclass(frozen=True)
class EpsilonDelta:
    """A step known only to be (ε, δ)-DP; accounted by its tight dominating pair
    (Kairouz, Oh, Viswanath 2015; dp_accounting's ``EpsilonDeltaDpEvent``)."""

    epsilon: float
    delta: float = 0.0
    neighboring: str = "add_remove"

    def __post_init__(self):
        _set(self, "epsilon", v.nonnegative("epsilon", self.epsilon))
        d = v.probability("delta", self.delta)
        if d == 1:
            raise ValueError("delta must be in [0, 1), got 1: a (epsilon, 1)-DP step "
                             "promises nothing")
        _set(self, "delta", d)
        v.choice("neighboring", self.neighboring, NEIGHBORING)


# -- Samplers beyond Poisson (issue 15) -----------------------------------------------------
# One unit of ``steps`` of these mechanisms is one epoch (or cycle) of training steps, as
# their docstrings say; their privacy losses live in accountant/loss/ (one module per sampler).


@dataclass(frozen=True)
class TruncatedSubsampledGaussian:
    """Truncated Poisson sampling (Ganesh 2025, arXiv 2508.15089; dp_accounting's
    ``TruncatedSubsampledGaussianDpEvent``): each of ``dataset_size`` = n records enters the
    batch with probability q = ``sample_rate``; a batch larger than B = ``max_batch_size`` is
    cut to a uniformly random B of its records; the sum gets N(0, σ²). One step per unit.
    n counts the dataset that holds the record (the larger of two add/remove neighbours,
    as dp_accounting's ``dataset_size``). Accounted by a dominating pair
    (docs/math.md §11.2): a public mixture of the Poisson pair at rate q and, with probability
    P[Bin(n − 1, q) ≥ B], a sensitivity-2 Poisson pair; n·q·(1 − q) ≤ 1e8."""

    noise_multiplier: float
    sample_rate: float
    max_batch_size: int
    dataset_size: int

    def __post_init__(self):
        _set(self, "noise_multiplier",
             v.noise_multiplier("noise_multiplier", self.noise_multiplier))
        _set(self, "sample_rate", v.sample_rate("sample_rate", self.sample_rate, allow_zero=True))
        _set(self, "max_batch_size", v.count("max_batch_size", self.max_batch_size))
        _set(self, "dataset_size", v.count("dataset_size", self.dataset_size))

    @property
    def neighboring(self) -> str:
        return "add_remove"


@dataclass(frozen=True)
class RandomAllocation:
    """Random allocation ("balls in bins" for k = 1): every record takes part in exactly
    k = ``num_selections`` of the t = ``num_steps`` steps of an epoch, chosen uniformly at
    random, each step adding N(0, σ²) to its clipped sum (Feldman & Shenfeld, arXiv
    2602.17284; Chua et al. arXiv 2412.16802). **One unit of steps is one epoch of t
    training steps.** Add/remove adjacency."""

    noise_multiplier: float
    num_steps: int
    num_selections: int = 1

    def __post_init__(self):
        _set(self, "noise_multiplier",
             v.noise_multiplier("noise_multiplier", self.noise_multiplier))
        _set(self, "num_steps", v.count("num_steps", self.num_steps))
        _set(self, "num_selections", v.count("num_selections", self.num_selections,
                                             maximum=self.num_steps))

    @property
    def neighboring(self) -> str:
        return "add_remove"


@dataclass(frozen=True)
class Shuffle:
    """Shuffled fixed-size batches: each epoch permutes the n = ``dataset_size`` records
    and cuts them into m = ⌈n/B⌉ consecutive batches of B = ``batch_size`` (the last one
    smaller when B does not divide n), each record in exactly one batch (PyTorch's
    ``DataLoader(shuffle=True, drop_last=False)``). **One unit of steps is one epoch** of m
    training steps; epochs reshuffle independently. No tight upper bound is known: the
    accountants return the bracket [a proven lower bound from the shuffle attack of Chua et
    al. (arXiv 2403.17673), the proven upper bound without amplification], and Poisson
    accounting at rate B/n does not apply (docs/math.md §13).

    ``neighboring="add_remove"`` is zero-out, as in Chua et al.: the removed record's slot
    stays in its batch and contributes 0 (sensitivity 1); ``"replace_one"`` has
    sensitivity 2."""

    noise_multiplier: float
    batch_size: int
    dataset_size: int
    neighboring: str = "add_remove"

    def __post_init__(self):
        _set(self, "noise_multiplier",
             v.noise_multiplier("noise_multiplier", self.noise_multiplier))
        _set(self, "batch_size", v.count("batch_size", self.batch_size))
        _set(self, "dataset_size", v.count("dataset_size", self.dataset_size))
        if self.batch_size > self.dataset_size:
            raise ValueError(f"batch_size must be <= dataset_size ({self.dataset_size}), got "
                             f"{self.batch_size}")
        v.choice("neighboring", self.neighboring, NEIGHBORING)


@dataclass(frozen=True)
class CyclicPoisson:
    """Cyclic Poisson sampling for banded matrix factorization (DP-FTRL / BandMF,
    Choquette-Choo et al. arXiv 2306.08153): the n = ``dataset_size`` records are split
    into b = ``bands`` fixed partitions; step i Poisson-samples partition i mod b at rate
    B·b/n (B = ``batch_size``, the expected batch); the b-banded lower-triangular factor C,
    normalised to columns of L2 norm ≤ 1, adds N(0, σ²) correlated noise (σ is the noise
    multiplier for that normalisation). **One unit of steps is one cycle of b training
    steps**: T training steps are ⌈T/b⌉ units, each accounted as the Poisson-subsampled
    Gaussian at rate min(1, B·b/n) (Choquette-Choo et al.'s amplification theorem,
    docs/math.md §14)."""

    noise_multiplier: float
    bands: int
    dataset_size: int
    batch_size: int

    def __post_init__(self):
        _set(self, "noise_multiplier",
             v.noise_multiplier("noise_multiplier", self.noise_multiplier))
        _set(self, "bands", v.count("bands", self.bands))
        _set(self, "dataset_size", v.count("dataset_size", self.dataset_size))
        _set(self, "batch_size", v.count("batch_size", self.batch_size))
        if self.bands > self.dataset_size:
            raise ValueError(f"bands must be <= dataset_size ({self.dataset_size}), got "
                             f"{self.bands}")

    @property
    def sample_rate(self) -> float:
        """The Poisson rate within a partition, B·b/n (at most 1)."""
        return min(1.0, self.batch_size * self.bands / self.dataset_size)

    @property
    def neighboring(self) -> str:
        return "add_remove"


Mechanism = Union[Gaussian, Laplace, SubsampledGaussian, SubsampledLaplace, MixtureOfGaussians,
                  ELS, ULS, DiscreteGaussian, DiscreteLaplace, RandomizedResponse, ZCDP,
                  EpsilonDelta, TruncatedSubsampledGaussian, RandomAllocation, Shuffle,
                  CyclicPoisson]
MECHANISM_TYPES = (Gaussian, Laplace, SubsampledGaussian, SubsampledLaplace, MixtureOfGaussians,
                   ELS, ULS, DiscreteGaussian, DiscreteLaplace, RandomizedResponse, ZCDP,
                   EpsilonDelta, TruncatedSubsampledGaussian, RandomAllocation, Shuffle,
                   CyclicPoisson)


#: How a training step draws its batch: Poisson ("poisson"), fixed-size batches ("fixed",
#: replace-one), user-level ELS ("els": examples Poisson-sampled, a user holds ≤ k) or
#: ULS ("uls": users Poisson-sampled), truncated Poisson ("truncated": Poisson, then cut to
#: a maximum batch size), random allocation ("random-allocation": balls in bins, each record
#: in k of the t steps of an epoch) or shuffled fixed-size batches ("shuffle").
SAMPLINGS = ("poisson", "fixed", "els", "uls", "truncated", "random-allocation", "shuffle")
#: Samplings whose mechanism describes a whole epoch (one unit of ``steps`` = one epoch of
#: :func:`steps_per_unit` training steps).
EPOCH_SAMPLINGS = ("random-allocation", "shuffle")


def steps_per_unit(mechanism: Mechanism) -> int:
    """Training steps in one unit of ``steps`` of ``mechanism``: t = ``num_steps`` for
    :class:`RandomAllocation`, ⌈n/B⌉ for :class:`Shuffle` (the last batch of an epoch may be
    smaller, as PyTorch's ``DataLoader(drop_last=False)`` cuts it), b = ``bands`` for
    :class:`CyclicPoisson` (one cycle), 1 for every per-step mechanism."""
    if isinstance(mechanism, RandomAllocation):
        return mechanism.num_steps
    if isinstance(mechanism, Shuffle):
        return -(-mechanism.dataset_size // mechanism.batch_size)
    if isinstance(mechanism, CyclicPoisson):
        return mechanism.bands
    return 1


def units_from_steps(mechanism: Mechanism, steps: int, name: str = "steps") -> int:
    """The number of units of ``mechanism`` (epochs, cycles or steps) in ``steps`` training
    steps: ``steps`` must be a whole number of units (ValueError naming ``name`` otherwise —
    a partial epoch is not the mechanism the accountants know)."""
    T = v.count(name, steps)
    t = steps_per_unit(mechanism)
    if T % t:
        what = "cycles" if isinstance(mechanism, CyclicPoisson) else "epochs"
        raise ValueError(
            f"{name} must be a whole number of {what} of {t} training steps with "
            f"{type(mechanism).__name__} (one unit of its steps is one {what[:-1]}), got {T} "
            f"= {T // t} {what} + {T % t} steps")
    return T // t


def _nothing_else(sampling: str, given: dict) -> None:
    """ValueError naming the sampler parameters given to a sampling that does not read them
    (a value silently ignored would mean an answer for another set-up)."""
    extra = [k for k, val in given.items() if val is not None]
    if extra:
        verb = "does" if len(extra) == 1 else "do"
        raise ValueError(f"{', '.join(extra)} {verb} not apply to sampling={sampling!r} "
                         f"(drop it, or choose the sampling that uses it)")


def _implied_rate(sample_rate, implied: float, sampling: str, how: str) -> None:
    """A ``sample_rate`` given with a sampler that fixes it must agree (relative 1e-9)."""
    if sample_rate is None:
        return
    q = v.sample_rate("sample_rate", sample_rate)
    if abs(q - implied) > 1e-9 * implied:
        raise ValueError(f"sample_rate must be left out (None) or {how} = {implied:.10g} with "
                         f"sampling={sampling!r}, got {v._show(sample_rate)}")


def from_parameters(noise_multiplier: float, sample_rate: float | None = None, *,
                    sampling: str | None = None, examples_per_user: int | None = None,
                    mechanism: str = "gaussian", neighboring: str | None = None,
                    dataset_size: int | None = None, batch_size: int | None = None,
                    max_batch_size: int | None = None, num_selections: int | None = None,
                    steps_per_epoch: int | None = None) -> Mechanism:
    """The mechanism of one training step (one epoch for ``sampling`` in
    :data:`EPOCH_SAMPLINGS`) from the parameters a trainer states — the one factory the
    trainer accountant, calibration and the CLI share.

    Parameters
    ----------
    noise_multiplier : σ (Laplace: the scale).
    sample_rate : Poisson rate q ∈ [0, 1] (the user rate for "uls"). None means 1 (full
        batches) for "poisson", "fixed", "els", "uls"; required for "truncated"; for
        "random-allocation" and "shuffle" it is implied by the batch size and may be left
        out (given, it must equal B/n, resp. k/t).
    sampling : one of :data:`SAMPLINGS`; None means "els" when ``examples_per_user`` > 1,
        else "poisson".

        * "poisson", "fixed" (replace-one): :class:`SubsampledGaussian` (:class:`Gaussian`
          for Poisson at q = 1).
        * "els" (needs ``examples_per_user``), "uls": :class:`ELS`, :class:`ULS`.
        * "truncated": :class:`TruncatedSubsampledGaussian`; needs ``sample_rate``,
          ``dataset_size`` n and ``max_batch_size`` B.
        * "random-allocation": :class:`RandomAllocation` with k = ``num_selections``
          (default 1, the balls-in-bins sampler) and t = ``steps_per_epoch``, or t = k·n/B
          from ``dataset_size`` and ``batch_size`` (the expected batch; k·n/B must then be
          an integer).
        * "shuffle": :class:`Shuffle`; needs ``dataset_size`` n and ``batch_size`` B.
    examples_per_user : k for "els"/"uls" (None, or 1, with any other sampling).
    mechanism : "gaussian" or "laplace" (no subsampling: rate 1, "poisson" only).
    neighboring : "add_remove" or "replace_one" where the mechanism has both (None: its
        default); the truncated and random-allocation samplers are add/remove only.
    dataset_size, batch_size, max_batch_size, num_selections, steps_per_epoch : the sampler
        parameters above; giving one to a sampling that does not read it is a ValueError.

    Steps. For "random-allocation" and "shuffle" the mechanism returned is one **epoch**:
    a schedule of T training steps is ``T / steps_per_unit(m)`` units of it, and T must be a
    whole number of epochs (:func:`units_from_steps`; the CLI's ``--steps`` and the
    calibration's ``steps`` count training steps and are converted so). Every other
    sampling gives one training step.

    Every argument is validated here or by the mechanism built (ValueError naming it)."""
    v.choice("mechanism", mechanism, ("gaussian", "laplace"))
    # (ELS itself refuses k > MAX_ELS_EXAMPLES; for ULS k does not enter the accounting)
    k = None if examples_per_user is None else v.count("examples_per_user", examples_per_user)
    if sampling is None:
        sampling = "els" if (k is not None and k > 1) else "poisson"
    v.choice("sampling", sampling, SAMPLINGS)
    sampler = {"dataset_size": dataset_size, "batch_size": batch_size,
               "max_batch_size": max_batch_size, "num_selections": num_selections,
               "steps_per_epoch": steps_per_epoch}
    if sampling in ("truncated", "random-allocation", "shuffle"):
        return _new_sampler(noise_multiplier, sample_rate, sampling, k, mechanism,
                            neighboring, sampler)
    _nothing_else(sampling, sampler)
    sample_rate = 1.0 if sample_rate is None else sample_rate
    if sampling in ("els", "uls"):
        if mechanism != "gaussian":
            raise ValueError(f"sampling={sampling!r} needs mechanism='gaussian', got "
                             f"{mechanism!r}")
        if sampling == "els":
            if k is None:
                raise ValueError("examples_per_user must be an integer >= 1 with "
                                 "sampling='els', got None")
            return ELS(noise_multiplier, sample_rate, k)
        return ULS(noise_multiplier, sample_rate, k)
    if k is not None and k != 1:
        raise ValueError("examples_per_user > 1 needs sampling='els' or 'uls', got "
                         f"sampling={sampling!r}")
    q = v.sample_rate("sample_rate", sample_rate, allow_zero=True)
    if mechanism == "laplace":
        if q != 1.0:
            raise ValueError(f"sample_rate must be 1 for mechanism='laplace' (no "
                             f"subsampled Laplace yet), got {v._show(sample_rate)}")
        return Laplace(noise_multiplier, neighboring or "add_remove")
    if q == 1.0 and sampling == "poisson":
        return Gaussian(noise_multiplier, neighboring or "add_remove")
    return SubsampledGaussian(noise_multiplier, q, sampling, neighboring)


def _built(cls, sampling, neighboring, **fields):
    """``cls(**fields)`` with ``neighboring`` passed on when the class has such a field (its
    default otherwise); a class with one fixed relation refuses any other by name."""
    import dataclasses
    if "neighboring" in {f.name for f in dataclasses.fields(cls)}:
        return cls(**fields) if neighboring is None else cls(**fields, neighboring=neighboring)
    m = cls(**fields)
    if neighboring is not None:
        v.choice(f"neighboring (sampling={sampling!r} is {m.neighboring} only)", neighboring,
                 (m.neighboring,))
    return m


def _new_sampler(sigma, sample_rate, sampling, k, mechanism, neighboring, sampler):
    """:func:`from_parameters` for the samplers of issue 15 (arguments as there)."""
    if mechanism != "gaussian":
        raise ValueError(f"sampling={sampling!r} needs mechanism='gaussian', got {mechanism!r}")
    if k is not None and k != 1:
        raise ValueError(f"examples_per_user > 1 needs sampling='els' or 'uls', got "
                         f"sampling={sampling!r}")
    uses = {"truncated": ("dataset_size", "max_batch_size"),
            "random-allocation": ("dataset_size", "batch_size", "num_selections",
                                  "steps_per_epoch"),
            "shuffle": ("dataset_size", "batch_size")}[sampling]
    _nothing_else(sampling, {key: val for key, val in sampler.items() if key not in uses})
    n, B = sampler["dataset_size"], sampler["batch_size"]
    if sampling == "truncated":
        missing = [name for name, val in (("sample_rate", sample_rate),
                                          ("dataset_size", n),
                                          ("max_batch_size", sampler["max_batch_size"]))
                   if val is None]
        if missing:
            raise ValueError(f"{', '.join(missing)} required with sampling='truncated' (no "
                             "default is assumed for a quantity that changes the answer)")
        return _built(TruncatedSubsampledGaussian, sampling, neighboring,
                      noise_multiplier=sigma, sample_rate=sample_rate,
                      max_batch_size=sampler["max_batch_size"], dataset_size=n)
    if sampling == "shuffle":
        missing = [name for name, val in (("dataset_size", n), ("batch_size", B))
                   if val is None]
        if missing:
            raise ValueError(f"{', '.join(missing)} required with sampling='shuffle' (no "
                             "default is assumed for a quantity that changes the answer)")
        m = _built(Shuffle, sampling, neighboring, noise_multiplier=sigma, batch_size=B,
                   dataset_size=n)
        _implied_rate(sample_rate, m.batch_size / m.dataset_size, sampling,
                      "batch_size / dataset_size")
        return m
    # random allocation: t given, or t = k·n/B
    sel = 1 if sampler["num_selections"] is None else v.count("num_selections",
                                                              sampler["num_selections"])
    t = sampler["steps_per_epoch"]
    if t is not None:
        if n is not None or B is not None:
            raise ValueError("give steps_per_epoch, or dataset_size and batch_size, with "
                             "sampling='random-allocation', not both")
        t = v.count("steps_per_epoch", t)
    else:
        missing = [name for name, val in (("dataset_size", n), ("batch_size", B))
                   if val is None]
        if missing:
            raise ValueError(f"{', '.join(missing)} (or steps_per_epoch) required with "
                             "sampling='random-allocation' (no default is assumed for a "
                             "quantity that changes the answer)")
        n, B = v.count("dataset_size", n), v.count("batch_size", B)
        if B > n:
            raise ValueError(f"batch_size must be <= dataset_size ({n}), got {B}")
        if (sel * n) % B:
            raise ValueError(
                f"batch_size must divide num_selections * dataset_size = {sel * n} with "
                f"sampling='random-allocation' (t = k·n/B steps per epoch must be an "
                f"integer), got batch_size={B}; give steps_per_epoch instead")
        t = sel * n // B
    m = _built(RandomAllocation, sampling, neighboring, noise_multiplier=sigma, num_steps=t,
               num_selections=sel)
    _implied_rate(sample_rate, m.num_selections / m.num_steps, sampling,
                  "num_selections / steps_per_epoch")
    return m


@dataclass(frozen=True)
class Schedule:
    """A sequence of ``(mechanism, steps)`` segments, composed in order.

    Adjacent equal segments are merged; composition order does not change any accountant's
    answer. All segments must use the same neighbouring relation, and each mechanism's steps
    in all (nested schedules multiplied out) are at most 2**53, as a single ``steps``.
    """

    segments: Tuple[Tuple[Mechanism, int], ...] = field(default_factory=tuple)

    def __post_init__(self):
        segs = []
        try:
            items = list(self.segments)
        except TypeError:
            raise ValueError("segments must be a sequence of (mechanism, steps) pairs") from None
        for item in items:
            try:
                mech, steps = item
            except (TypeError, ValueError):
                raise ValueError(
                    f"segments must hold (mechanism, steps) pairs, got {item!r}"
                ) from None
            if isinstance(mech, Schedule):
                steps = v.count("steps", steps)
                for m, s in mech.segments:
                    segs.append((m, s * steps))
                continue
            if not isinstance(mech, MECHANISM_TYPES):
                raise ValueError(f"segments must hold mechanisms, got {type(mech).__name__}")
            segs.append((mech, v.count("steps", steps)))
        if not segs:
            raise ValueError("segments must hold at least one (mechanism, steps) pair")
        merged = []
        for m, s in segs:
            if merged and merged[-1][0] == m:
                merged[-1] = (m, merged[-1][1] + s)
            else:
                merged.append((m, s))
        # A nested schedule's steps multiply and equal segments add up: each total is a
        # count of one mechanism's steps, which the kernels compose exactly only up to
        # MAX_COUNT (the same limit as a single segment's steps).
        totals: dict = {}
        for m, s in merged:
            totals[m] = totals.get(m, 0) + s
        for m, total in totals.items():
            if total > v.MAX_COUNT:
                raise ValueError(f"steps must be an integer >= 1 and <= {v.MAX_COUNT} for each "
                                 f"mechanism in all, got {v._show(total)} steps of {m!r}")
        rels = {m.neighboring for m, _ in merged}
        if len(rels) > 1:
            raise ValueError("segments must all use the same neighboring relation, got "
                             + " and ".join(sorted(rels)))
        _set(self, "segments", tuple(merged))

    @property
    def neighboring(self) -> str:
        return self.segments[0][0].neighboring

    @property
    def steps(self) -> int:
        return sum(s for _, s in self.segments)

    def counts(self) -> Tuple[Tuple[Mechanism, int], ...]:
        """Distinct mechanisms with their total step counts (order does not matter)."""
        totals: dict = {}
        for m, s in self.segments:
            totals[m] = totals.get(m, 0) + s
        return tuple(totals.items())


#: A mechanism or a schedule of them: what the accountants accept.
MechanismLike = Union[Mechanism, Schedule]


def as_schedule(mechanism: MechanismLike, steps: int = 1) -> Schedule:
    """Turn ``mechanism`` (or a Schedule) repeated ``steps`` times into a Schedule."""
    steps = v.count("steps", steps)
    if isinstance(mechanism, Schedule):
        if steps == 1:
            return mechanism
        return Schedule(tuple((m, s * steps) for m, s in mechanism.segments))
    if not isinstance(mechanism, MECHANISM_TYPES):
        raise ValueError(
            "mechanism must be one of "
            + ", ".join(t.__name__ for t in MECHANISM_TYPES)
            + f" or a Schedule, got {type(mechanism).__name__}"
        )
    return Schedule(((mechanism, steps),))


def is_identity(mechanism: Mechanism) -> bool:
    """True when a step of ``mechanism`` has the same output law on neighbouring datasets
    (ε = 0, δ = 0): a sample rate of 0, or a mixture whose every weighted shift is 0."""
    if isinstance(mechanism, (SubsampledGaussian, SubsampledLaplace, ELS, ULS,
                              TruncatedSubsampledGaussian)):
        return mechanism.sample_rate == 0.0
    if isinstance(mechanism, MixtureOfGaussians):
        return all(c == 0.0 or w == 0.0
                   for c, w in zip(mechanism.sensitivities, mechanism.probabilities))
    return False


def active_part(schedule: Schedule) -> "Schedule | None":
    """``schedule`` without its identity steps (:func:`is_identity`); None when nothing
    is left (the whole schedule is private at ε = 0, δ = 0)."""
    segs = tuple((m, s) for m, s in schedule.segments if not is_identity(m))
    if len(segs) == len(schedule.segments):
        return schedule
    return Schedule(segs) if segs else None
