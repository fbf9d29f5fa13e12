"""Conservative merging of nearby mechanisms: σ rounded down and q up (a dominating
schedule) or the other way (a dominated one), on a geometric grid.

Used by the trainer accountant (:mod:`accountant.session`: basic composition and lower
bounds of its RDP answers), by the PLD accountant's merged path (its grid snapping,
:mod:`accountant.accountants.pld.merge`, docs/math.md §4.8) and by the RDP
engine (:mod:`accountant.rdp`), whose order search is guided by dominating representatives
when a schedule holds many distinct mechanisms. Public as
:func:`accountant.session.dominating_schedule`.
"""
from __future__ import annotations

import math
from typing import Dict, Sequence, Tuple

import numpy as np

from .mechanisms import ELS, ULS, Gaussian, Mechanism, MixtureOfGaussians, SubsampledGaussian

__all__ = ["dominating_schedule", "central_schedule", "undominated"]


def _family(m):
    """(family key, σ, q or None) for mechanisms whose σ (and q) may be rounded; None for the
    others. ULS is accounted exactly as the subsampled Gaussian at the user rate."""
    if isinstance(m, ULS):
        return ("sg", "poisson", "add_remove"), m.noise_multiplier, m.sample_rate
    if isinstance(m, SubsampledGaussian):
        return ("sg", m.sampling, m.neighboring), m.noise_multiplier, m.sample_rate
    if isinstance(m, Gaussian):
        return ("g", m.neighboring), m.noise_multiplier, None
    if isinstance(m, MixtureOfGaussians):
        return ("mog", m.sensitivities, m.probabilities), m.noise_multiplier, None
    if isinstance(m, ELS):
        return ("els", m.max_examples_per_user, m.sample_rate), m.noise_multiplier, None
    return None


def _build(key, sigma, q):
    kind = key[0]
    if kind == "sg":
        return SubsampledGaussian(sigma, min(q, 1.0), key[1], key[2])
    if kind == "g":
        return Gaussian(sigma, key[1])
    if kind == "mog":
        return MixtureOfGaussians(sigma, key[1], key[2])
    return ELS(sigma, key[2], key[1])


def _prepare(counts):
    """Group the roundable mechanisms by family: arrays of log σ, log q, indices, extremes."""
    fams: Dict = {}
    fixed = []
    for i, (m, T) in enumerate(counts):
        f = _family(m)
        if f is None:
            fixed.append(i)
            continue
        key, s, q = f
        fams.setdefault(key, ([], [], []))
        fams[key][0].append(s)
        fams[key][1].append(1.0 if q is None else q)
        fams[key][2].append(i)
    out = []
    for key, (s, q, idx) in fams.items():
        s, q = np.array(s), np.array(q)
        out.append((key, s, q, np.array(idx), key[0] == "sg"))
    return out, fixed


def _grid_index(x, anchor, lr, up):
    """Integer k (array) with anchor·e^{k·lr} ≥ x (up) or ≤ x (down)."""
    k = np.log(x / anchor) / lr
    return np.ceil(k - 1e-9) if up else np.floor(k + 1e-9)


def _snap(x, anchor, lr, up):
    """(k, anchor·e^{k·lr}) per element, on the requested side of x even after round-off."""
    k = _grid_index(x, anchor, lr, up)
    y = anchor * np.exp(k * lr)
    for _ in range(8):
        bad = (y < x) if up else (y > x)
        if not bad.any():
            break
        k = np.where(bad, k + (1 if up else -1), k)
        y = anchor * np.exp(k * lr)
    return k, y


def _round_counts(counts, lr, dominate, prepared=None, build=True, central=False):
    """Round every roundable mechanism of ``counts`` on a geometric grid of log-ratio ``lr``.

    ``dominate=True``: σ down, q up (anchored at the family's smallest σ and largest q, so a
    constant σ or q is kept exactly); ``dominate=False``: σ up, q down (anchored at the
    largest σ and smallest q). Members with equal grid indices share one representative,
    which is on the required side for each of them. With ``build=False`` only the number
    of distinct results is returned. ``central=True`` keeps the cells of ``dominate`` but
    puts each representative at its members' step-weighted geometric mean σ (and q): a
    model of the cell, neither above nor below it.
    """
    fams, fixed = prepared if prepared is not None else _prepare(counts)
    n = len(fixed)
    groups = []
    for key, s, q, idx, has_q in fams:
        ks, s2 = _snap(s, s.min() if dominate else s.max(), lr, up=not dominate)
        if has_q:
            kq, q2 = _snap(q, q.max() if dominate else q.min(), lr, up=dominate)
        else:
            kq, q2 = np.zeros_like(ks), q
        buckets: Dict = {}
        for j, ck in enumerate(zip(ks.tolist(), kq.tolist())):
            buckets.setdefault(ck, []).append(j)
        n += len(buckets)
        groups.append((key, s2, q2, idx, has_q, buckets))
    if not build:
        return n
    out: Dict = {}
    for i in fixed:
        m, T = counts[i]
        out[m] = out.get(m, 0) + T
    for key, s2, q2, idx, has_q, buckets in groups:
        for members in buckets.values():
            j0 = members[0]
            if central:
                T = np.array([float(counts[idx[j]][1]) for j in members])
                m0 = counts[idx[j0]][0]
                fam = [_family(counts[idx[j]][0]) for j in members]
                sig = float(np.exp(np.dot(T, np.log([f[1] for f in fam])) / T.sum()))
                q = (min(1.0, float(np.exp(np.dot(T, np.log([f[2] for f in fam])) / T.sum())))
                     if has_q else None)
                rep = _build(key, sig, q) if len(members) > 1 else m0
            else:
                rep = _build(key, float(s2[j0]), min(1.0, float(q2[j0])) if has_q else None)
            for j in members:
                out[rep] = out.get(rep, 0) + counts[idx[j]][1]
    return tuple(out.items())


def dominating_schedule(counts: Sequence[Tuple[Mechanism, int]], max_mechanisms: int,
                        min_ratio: float = 1e-3, dominate: bool = True,
                        ) -> Tuple[Sequence[Tuple[Mechanism, int]], float]:
    """Merge nearby mechanisms so that at most ``max_mechanisms`` distinct ones remain.

    Parameters
    ----------
    counts : sequence of (mechanism, steps) with distinct mechanisms.
    max_mechanisms : the target number of distinct mechanisms (≥ 1).
    min_ratio : the finest grid: σ and q move by a factor of at most 1 + min_ratio·1.5^j,
        where j ≥ 0 is the smallest number of coarsenings that meets ``max_mechanisms``.
    dominate : True rounds σ **down** and q **up** (the result dominates the input: an
        upper bound for every accountant); False rounds σ up and q down (the result is
        dominated: a lower bound).

    Why rounding dominates (every step separately, hence every composition — the trade-off
    order is preserved by composition, Dong–Roth–Su 2019, Thm 4):

    * σ: for any pair of Gaussian mixtures with a common σ' < σ, adding independent noise
      N(0, σ² − σ'²) to both members turns the σ' pair into the σ pair, a post-processing;
      so the σ' pair dominates (both directions, any sampling, MoG and ELS alike).
    * q (subsampled Gaussian, Poisson or fixed size, add/remove or replace-one): with
      t = q/q' ≤ 1 the q pair is the t-mixture (1 − t)(R, R) + t(P', Q') of the q' pair with
      an identical pair (R, R); the hockey-stick divergence is jointly convex and vanishes on
      (R, R), so H_e(q pair) ≤ t·H_e(q' pair) ≤ H_e(q' pair) for every e^ε, in both directions.
      (ELS and MoG keep their q and weights: only σ is rounded there.)

    Bound on the rounding: each step's σ is changed by a factor in [1/r, 1] and q by a factor
    in [1, r] (r = the returned ratio); the dominated variant moves the other way, and the
    true accounting lies between the two schedules' answers.

    Returns
    -------
    (counts, ratio) — the merged (mechanism, steps) pairs and the grid ratio r used (1.0
    when nothing needed merging).
    """
    return _merge(counts, max_mechanisms, min_ratio, dominate, False)


def central_schedule(counts: Sequence[Tuple[Mechanism, int]], max_mechanisms: int,
                     min_ratio: float = 1e-3) -> Tuple[Sequence[Tuple[Mechanism, int]], float]:
    """The cells of ``dominating_schedule(counts, max_mechanisms, min_ratio)`` with each
    representative at its members' step-weighted geometric mean σ and q: the midpoint rule
    over a cell, so its CGF differs from the members' by the square of the cell's width —
    a model (neither an upper nor a lower bound) that an order search can follow.

    Returns
    -------
    (counts, ratio) as :func:`dominating_schedule`.
    """
    return _merge(counts, max_mechanisms, min_ratio, True, True)


def _merge(counts, max_mechanisms, min_ratio, dominate, central):
    counts = tuple(counts)
    if len(counts) <= max_mechanisms:
        return counts, 1.0
    prepared = _prepare(counts)
    lr = math.log1p(min_ratio)
    # Start near the needed grid: a family spanning a ratio R needs about log R / lr cells.
    span = max((math.log(s.max() / s.min()) + math.log(q.max() / q.min())
                for _, s, q, _, _ in prepared[0]), default=0.0)
    lr = max(lr, span / (2.0 * max_mechanisms))
    # Beyond lr = span every family is a single cell: coarser grids cannot merge more (the
    # rest — Laplace, distinct ELS rates — is kept as is).
    top = max(span * 1.01 + 1e-12, lr)
    while lr < top:
        if _round_counts(counts, lr, dominate, prepared, build=False) <= max_mechanisms:
            break
        lr = min(lr * 1.5, top)
    # (a family spanning σ from 90 to 1e12 and q from 1e-300 up needs lr > 709: the ratio
    # is then no double, and inf says so; exp raised OverflowError — hour-long fuzz, seed
    # 2030, case 11961)
    ratio = math.exp(lr) if lr < 709.0 else math.inf
    return _round_counts(counts, lr, dominate, prepared, central=central), ratio


def undominated(counts: Sequence[Tuple[Mechanism, int]]) -> list:
    """The entries of ``counts`` whose mechanism is not dominated by another entry's of the
    same family: (σ′, q′) dominates (σ, q) when σ′ ≤ σ and q′ ≥ q (see
    :func:`dominating_schedule` for why; both directions). A one-step quantity that grows
    under domination — ε(δ), δ(ε) of one step — has the same maximum over these entries
    as over all of them (a history of 10⁴ distinct σ at one q has one such entry); exact
    ties are all kept, and mechanisms that cannot be rounded are always kept.
    """
    counts = tuple(counts)
    fams, fixed = _prepare(counts)
    keep = set(fixed)
    for _, s, q, idx, _ in fams:
        order = np.lexsort((-q, s))          # σ ascending, then q descending
        best_q, best_s = -math.inf, math.inf
        for j in order.tolist():
            if q[j] > best_q:
                best_q, best_s = q[j], s[j]
            elif s[j] > best_s or q[j] < best_q:
                continue                     # an earlier entry has σ′ ≤ σ, q′ ≥ q, ≠
            keep.add(int(idx[j]))
    return [counts[i] for i in sorted(keep)]
