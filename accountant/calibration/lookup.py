"""Microsecond noise-multiplier lookup with proven bounds, from a shipped certified lattice.

``lookup_noise(epsilon, delta, sample_rate, steps)`` answers "which σ makes T steps of the
Poisson-subsampled Gaussian (add/remove) spend at most ε at δ?" in microseconds, with a
σ that is *certified sufficient* (its PLD-certified ε at the query is ≤ ε, so it is never
below the smallest sufficient σ, nor below :func:`accountant.calibrate`'s answer) and a
*proven* bound ``max_excess`` on how far above the optimum it can be. Outside the table's
ranges it calibrates (``fallback=True``, the default) or raises ValueError.

The table (``accountant/data/noise_table.npz``, built by :mod:`accountant.calibration.lookup_build`)
is a lattice, not a grid of calibrations. For sample rates q (ratio 1.05 apart), step
counts T (ratio ≤ 1.12 apart, sparser where σ hardly depends on T) and noise multipliers
σ_j = 1.03^j, it stores the PLD accountant's certified bracket lower ≤ ε(δ) ≤ upper at
seven δ from 1e-8 to 1e-5 (half-decades); one FFT composition per lattice point serves all
seven. Storing ε per σ instead of σ per ε removes the ε axis: any ε in [1, 8] is answered
by the first σ_j whose bound fits, so the σ spacing (3 %) is the whole cost of the ε axis.

Why the answer is proven sufficient (docs/math.md §8):

* Monotonicity: ε(δ) of the mechanism grows with q and T and falls as σ grows (each is a
  post-processing of the other: drop steps, replace a step's output by pure noise with
  probability 1 − q/q′, add independent Gaussian noise). So the lattice point
  (q′ ≥ q, T′ ≥ T, σ_j ≤ σ) bounds the query's ε from above.
* Between the stored δ: for a fixed mechanism, δ as a function of x = e^ε is convex and
  non-increasing (a supremum of affine functions of x), so x(δ) = e^{ε(δ)} is convex in δ
  and lies below the chord between two stored δ; the chord of the stored upper bounds is a
  proven upper bound on e^{ε(δ)}. The answer is the first σ_j whose chord is ≤ e^ε.
* Stored values are rounded outward (upper bounds up, lower bounds down, on a 1/4096 grid
  in ln ε, with a further 1e-6 relative margin), and the returned σ is raised by 1e-12
  relative to cover the last-ulp differences of exp between platforms.

Why ``max_excess`` is proven: at the dominated corner (q″ ≤ q, T″ ≤ T, δ″ ≥ δ) the largest
σ_j whose certified *lower* bound exceeds ε has a true ε above the target, and so does the
query's mechanism at σ_j (monotonicity again): the optimal σ is above σ_j, hence
σ/σ_opt − 1 ≤ σ/σ_j − 1 = ``max_excess``. It is an upper bound on the excess over the
optimum, and therefore over ``calibrate``'s σ (which is ≥ the optimum).

A query that is exactly one of the calibrated grid points kept from the earlier table
(ε ∈ {1, 2, 3, 4, 8}, δ ∈ {1e-8, 1e-6, 1e-5}, ten q, nine T) returns that calibration
(``calibrate(..., lookup=True)`` uses the same entries through :func:`exact_entry`).
"""
from __future__ import annotations

import math
from bisect import bisect_left, bisect_right
from dataclasses import dataclass

from ..core import _validate as v
from .noise_table import _table, exact_entry, table_axes  # noqa: F401 public here too

__all__ = ["NoiseLookup", "lookup_noise", "exact_entry", "table_axes"]

# Relative margin on returned σ (up) and proven lower σ (down): covers exp's last-ulp
# differences between the build machine and this one.
_SAFETY = 1e-12


@dataclass(frozen=True, slots=True)
class NoiseLookup:
    """Answer of :func:`lookup_noise`.

    Attributes
    ----------
    noise_multiplier : σ; certified sufficient (its certified ε at the query ≤ target).
    source : "table" (shipped lattice or a kept calibration) or "calibrate" (fallback).
    max_excess : proven bound on σ/σ_opt − 1, σ_opt the smallest σ whose true ε(δ) ≤ the
        target (hence also on the excess over :func:`accountant.calibrate`'s σ); inf when
        nothing is proven.
    epsilon : a certified upper bound on ε(δ) at (σ, sample_rate, steps) — ≤ target.
    certified : whether ``epsilon`` is a proven bound (always, for method "pld").
    lower_bound : the proven lower bound on σ_opt behind ``max_excess`` (0 when none).
    target_epsilon, delta, sample_rate, steps : the query.
    method : the accountant that certifies the numbers ("pld").
    """

    noise_multiplier: float
    source: str
    max_excess: float
    epsilon: float
    certified: bool
    lower_bound: float
    target_epsilon: float
    delta: float
    sample_rate: float
    steps: int
    method: str = "pld"

    def __float__(self) -> float:
        return float(self.noise_multiplier)

    def as_dict(self) -> dict:
        return {"noise_multiplier": self.noise_multiplier, "source": self.source,
                "max_excess": self.max_excess, "epsilon": self.epsilon,
                "certified": self.certified, "kind": "certified" if self.certified else "estimate",
                "lower_bound": self.lower_bound, "target_epsilon": self.target_epsilon,
                "delta": self.delta, "sample_rate": self.sample_rate, "steps": self.steps,
                "method": self.method}


# ----------------------------------------------------------------------------------------
# Answers from the table (its data: accountant.calibration.noise_table)
# ----------------------------------------------------------------------------------------
def _ranges(t) -> str:
    return (f"epsilon in [{t.eps_range[0]:g}, {t.eps_range[1]:g}], delta in "
            f"[{t.deltas[0]:g}, {t.deltas[-1]:g}], sample_rate in [{t.q[0]:g}, {t.q[-1]:g}], "
            f"steps in [{t.all_steps[0]}, {t.all_steps[-1]}]")


def _inside(t, eps, delta, q, T) -> bool:
    return (t.eps_range[0] <= eps <= t.eps_range[1] and t.deltas[0] <= delta <= t.deltas[-1]
            and t.q[0] <= q <= t.q[-1] and t.all_steps[0] <= T <= t.all_steps[-1])


def _from_table(t, eps, delta, q, T):
    """(σ, certified ε at the query, proven lower bound on σ_opt), or None."""
    S = t.scale
    x = S * math.log(eps)
    U = t.neg_up
    # Upper: dominating lattice point q′ ≥ q, T′ ≥ T.
    steps, cells = t.rows[bisect_left(t.q, q)]
    j0, nj, off = cells[bisect_left(steps, T)]
    m = bisect_right(t.deltas, delta) - 1
    base = off + m * nj
    # First σ_j whose stored upper ε at δ_m is ≤ ε (u ≤ floor(x); u carries a margin).
    thr = -math.floor(x)
    jm = bisect_left(U, thr, base, base + nj) - base
    if jm >= nj:
        return None
    dm = t.deltas[m]
    if delta > dm:
        # δ between two stored δ: the chord of e^ε (convex in δ) over the two columns; its
        # first fitting σ_j lies between the two columns' own answers.
        lam = (delta - dm) / (t.deltas[m + 1] - dm)
        base2 = base + nj
        j = bisect_left(U, thr, base2, base2 + nj) - base2
        while True:
            e1 = math.exp(-U[base + j] / S)
            e2 = math.exp(-U[base2 + j] / S)
            chord = (1.0 - lam) * math.exp(min(e1 - eps, 700.0)) + lam * math.exp(e2 - eps)
            if chord <= 1.0 - 1e-12 or j >= jm:
                break
            j += 1
        eps_cert = eps + math.log(chord) if chord <= 1.0 - 1e-12 else min(e1, eps)
    else:
        j = jm
        # (Stored values carry a margin above the bound: capping the report at ε is safe.)
        eps_cert = min(math.exp(-U[base + j] / S), eps)
    sigma = math.exp((j0 + j) * t.log_s) * (1.0 + _SAFETY)
    # Proven lower bound: dominated lattice point q″ ≤ q, T″ ≤ T, δ″ ≥ δ; the largest σ_j
    # whose certified lower ε exceeds ε (stored ℓ = floor(S ln lower) > x).
    steps, cells = t.rows[bisect_right(t.q, q) - 1]
    j0, nj, off = cells[bisect_right(steps, T) - 1]
    base = off + bisect_left(t.deltas, delta) * nj
    jl = bisect_right(t.neg_lo, -(math.floor(x + 1e-6) + 1), base, base + nj) - base - 1
    lower = math.exp((j0 + jl) * t.log_s) * (1.0 - _SAFETY) if jl >= 0 else 0.0
    return sigma, eps_cert, lower


# ----------------------------------------------------------------------------------------
# Public functions
# ----------------------------------------------------------------------------------------
def lookup_noise(epsilon: float, delta: float, sample_rate: float, steps: int, *,
                 method: str = "pld", fallback: bool = True) -> NoiseLookup:
    """A certified-sufficient noise multiplier in microseconds, with a proven excess bound.

    Parameters
    ----------
    epsilon : target ε > 0.
    delta : in (0, 1).
    sample_rate : Poisson sampling rate q in (0, 1] (add/remove adjacency).
    steps : integer ≥ 1.
    method : "pld" only: the table is certified with the PLD accountant (None = "pld").
    fallback : outside the table's ranges, calibrate (True, milliseconds to a second) or
        raise ValueError (False).

    Returns
    -------
    NoiseLookup — ``float(result)`` is σ; ``result.max_excess`` bounds σ/σ_opt − 1.

    Raises
    ------
    ValueError : bad arguments; ``method`` other than "pld"; a query outside the table
        with ``fallback=False`` (the message gives the table's ranges); or, on fallback,
        whatever :func:`accountant.calibrate` raises (e.g. a target out of its σ range).
    """
    # Plain floats and ints (the common case) skip the general checks, which cost as much
    # as the lookup; anything else (numpy scalars, …) goes through them.
    if type(epsilon) is float and 0.0 < epsilon < math.inf:
        eps = epsilon
    else:
        eps = v.positive("epsilon", epsilon)
    if type(delta) is float and 0.0 < delta < 1.0:
        d = delta
    else:
        d = v.delta("delta", delta)
    if type(sample_rate) is float and 0.0 < sample_rate <= 1.0:
        q = sample_rate
    else:
        q = v.sample_rate("sample_rate", sample_rate)
    if type(steps) is int and steps >= 1:
        T = steps
    else:
        T = v.count("steps", steps)
    if method is not None and method != "pld":
        raise ValueError(f"method must be 'pld' (the shipped table is certified with the "
                         f"PLD accountant; use calibrate(..., method=...)), got {method!r}")
    t = _table()
    hit = t.exact.get((eps, d, q, T))
    if hit is not None:
        sig, ce = hit
        # A calibration with rtol: σ ≤ σ_opt·(1 + rtol) (calibrate's certified promise).
        r = t.exact_rtol
        return NoiseLookup(sig, "table", r, ce, True, sig / (1.0 + r), eps, d, q, T)
    if _inside(t, eps, d, q, T):
        got = _from_table(t, eps, d, q, T)
        if got is not None:
            sig, ce, low = got
            excess = sig / low - 1.0 if low > 0 else math.inf
            return NoiseLookup(sig, "table", excess, ce, True, low, eps, d, q, T)
    if not fallback:
        raise ValueError(f"the query (epsilon={eps:g}, delta={d:g}, sample_rate={q:g}, "
                         f"steps={T}) is outside the lookup table's grid ({_ranges(t)}); "
                         "use fallback=True or calibrate()")
    from .search import calibrate
    c = calibrate(eps, d, q, T)
    proven = c.certified and c.optimality in ("certified", "table")
    excess = c.rtol if proven else math.inf
    if not proven and c.certified and "certified_rtol" in c.details:
        # optimality within rtol not reached, but a looser gap is proven
        excess = c.details["certified_rtol"]
    low = c.noise_multiplier / (1.0 + excess) if math.isfinite(excess) else 0.0
    return NoiseLookup(c.noise_multiplier, "calibrate", excess, c.epsilon, c.certified, low,
                       eps, d, q, T)
