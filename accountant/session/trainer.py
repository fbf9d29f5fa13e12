"""Stateful accountant for trainers: per-step history, incremental accounting, durable state.

>>> import accountant as acc
>>> a = acc.PrivacyAccountant(method="pld")
>>> for t in range(1000):
...     a.step(noise_multiplier=1.0 + 1e-4 * t, sample_rate=0.01)
>>> a.get_epsilon(delta=1e-5)            # a certified Result

History. ``step``/``compose`` append ``(mechanism, steps)`` segments; a step equal to the last
segment's mechanism only increases its count (Opacus merges the same way). Repeated
mechanisms anywhere in the history share every cached object.

Incremental work. A new step never recomputes the past:

* RDP (:class:`_RdpEngine`): the CGF of each distinct mechanism is cached per direction on a
  fixed set of orders and only filled at the orders a query needs; composition is a dot
  product of step counts with those cached values. See the class docstring for how the
  order is searched when thousands of distinct mechanisms are present.
* PLD: each answer is cached until the history changes; the per-mechanism one-step PLDs are
  cached by :mod:`accountant.accountants.pld.bracket`. When the history holds more distinct mechanisms than
  ``max_merged`` they are merged conservatively (:func:`dominating_schedule`).
* Edgeworth / saddle point: answers are cached until the history changes (their modules
  cache per-mechanism cumulants).

Durable state. :meth:`PrivacyAccountant.state_dict` is a JSON-ready dict with a format name,
a schema version, the payload (method, options, history; every float as ``float.hex`` so it
round-trips bit-exactly) and the SHA-256 of the canonical payload. :meth:`save` writes it
atomically (:func:`accountant.core._files.write_atomically`: temporary file
``.<name>.tmp-<hex>`` in the same directory, fsync, ``os.replace``; a leftover of a write
killed midway is removed by the next save of the same path once it is 5 minutes old);
:meth:`load` / :meth:`load_state_dict` refuse truncated, edited or foreign content with a
``ValueError`` saying what is wrong, and never change an accountant when they refuse.

Reading is strict. :meth:`load` reads regular files only (a symlink to one is fine; a FIFO,
device, socket or directory is refused without blocking) of at most 64 MiB
(:data:`accountant.core._files.STATE_MAX_BYTES`; 2 GiB, ``TORCH_MAX_BYTES``, for an Opacus
checkpoint saved by PyTorch). The state must be exactly what :meth:`save`
writes: strict JSON (no ``NaN``/``Infinity``, no duplicate keys, nesting beyond Python's
recursion limit refused), ``schema_version`` the integer 1 (not ``true``), every float a
canonical ``float.hex`` string (``"1.1"`` is refused, not read as hex), every integer a JSON
integer, every field of every mechanism present with its own type, and nothing else.

Recordable histories. Every entry point — :meth:`~PrivacyAccountant.step`,
:meth:`~PrivacyAccountant.compose`, :meth:`~PrivacyAccountant.load` — applies the same
limits, so whatever an accountant holds can be saved and loaded again, and a loaded history
holds nothing the accountants cannot compute:

* noise multipliers: the range every mechanism accepts
  (:func:`accountant.core._validate.noise_multiplier`), checked when a mechanism is built — from
  a state file too;
* steps: integers in [1, :data:`MAX_STEPS`] = [1, 2**53], for every segment and for the
  total, so that every count is exact in floating point;
* examples per user k (ELS, ULS) at most :data:`MAX_EXAMPLES_PER_USER`, the mechanisms'
  own ELS limit (:data:`accountant.core.mechanisms.MAX_ELS_EXAMPLES` = 256): the ELS privacy
  loss is a mixture of k + 1 Gaussians.

Size: one job, the trainer's accountant — recording steps, merging its history, answering
with each method incrementally and its durable state — whose parts share the history's
invariants above.
"""
from __future__ import annotations

import hashlib
import json
import math
import os
from typing import Dict, List, Tuple

import numpy as np

from ..accountants import exact as _exact
from ..accountants import rdp as _rdp
from ..core._optimize import minimize_bounded
from ..core import _validate as v
from ..core._files import STATE_MAX_BYTES, TORCH_MAX_BYTES, read_user_file, write_atomically
from ..core.bounds import Result, emit_warnings
from ..core.mechanisms import (ELS, MAX_ELS_EXAMPLES, MECHANISM_TYPES, ULS, Gaussian,
                               MixtureOfGaussians, Schedule, SubsampledGaussian, as_schedule,
                               from_parameters, is_identity)
from ..loss import _mixture_kernels as _km
from ..loss import GaussianMixtureLoss, LaplaceLoss, loss_for, privacy_losses
from ..loss.mixture import _RTOL as _MIX_RTOL
from ..accountants.rdp import certify, log_delta_from_rdp

__all__ = ["PrivacyAccountant", "load_schedule", "dominating_schedule", "STATE_FORMAT",
           "SCHEMA_VERSION", "MAX_STEPS", "MAX_EXAMPLES_PER_USER"]

METHODS = ("pld", "rdp", "edgeworth", "saddlepoint")
STATE_FORMAT = "dp-accountant/PrivacyAccountant"
SCHEMA_VERSION = 1
# Limits of a recorded history (module docstring, "Recordable histories").
MAX_STEPS = 2 ** 53
MAX_EXAMPLES_PER_USER = MAX_ELS_EXAMPLES


# ----------------------------------------------------------------------------------------
# Conservative merging of nearby mechanisms
# ----------------------------------------------------------------------------------------
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


def _grid_round(x, anchor, lr, up):
    """Round x onto the geometric grid anchor·e^{k·lr} (k integer), up or down, guaranteeing
    the side in floating point."""
    k = math.log(x / anchor) / lr
    k = math.ceil(k - 1e-9) if up else math.floor(k + 1e-9)
    y = anchor * math.exp(k * lr)
    while (up and y < x) or (not up and y > x):
        k = k + 1 if up else k - 1
        y = anchor * math.exp(k * lr)
    return y


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


def _round_counts(counts, lr, dominate, prepared=None, build=True):
    """Round every roundable mechanism of ``counts`` on a geometric grid of log-ratio ``lr``.

    ``dominate=True``: σ down, q up (anchored at the family's smallest σ and largest q, so a
    constant σ or q is kept exactly); ``dominate=False``: σ up, q down (anchored at the
    largest σ and smallest q). Members with equal grid indices share one representative,
    which is on the required side for each of them. With ``build=False`` only the number
    of distinct results is returned.
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
            rep = _build(key, float(s2[j0]), min(1.0, float(q2[j0])) if has_q else None)
            for j in members:
                out[rep] = out.get(rep, 0) + counts[idx[j]][1]
    return tuple(out.items())


def dominating_schedule(counts, max_mechanisms: int, min_ratio: float = 1e-3,
                        dominate: bool = True):
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
    return _round_counts(counts, lr, dominate, prepared), math.exp(lr)


# ----------------------------------------------------------------------------------------
# Incremental RDP
# ----------------------------------------------------------------------------------------
# Orders α (t = α − 1). Integer orders of the subsampled Gaussian (remove) are closed form
# (binomial sum, a few µs); the others need quadrature and are only filled where needed.
_ORDERS = np.array([1.1, 1.25, 1.5, 1.75] + list(range(2, 65))
                   + [72, 80, 96, 112, 128, 160, 192, 224, 256, 320, 384, 448, 512, 640, 768,
                      1024, 1536, 2048, 3072, 4096, 8192, 16384], dtype=float)
_SCAN_ORDERS = (1.1, 1.5, 2, 3, 4, 6, 8, 11, 16, 23, 32, 45, 64, 96, 128, 192, 256, 384, 512,
                1024, 2048, 4096, 16384)
_SCAN = np.array([int(np.nonzero(_ORDERS == a)[0][0]) for a in _SCAN_ORDERS])
_EXACT_MEMBERS = 64     # up to this many distinct mechanisms, the order search uses them all
_REPS = 24              # otherwise it is guided by at most this many dominating representatives


def _is_cheap(pl) -> bool:
    """Closed-form CGF at integer orders (no quadrature)."""
    if isinstance(pl, LaplaceLoss):
        return True
    if isinstance(pl, GaussianMixtureLoss):
        n, m = pl.pm.shape[0], pl.qm.shape[0]
        return n == 1 and (m == 1 or (m == 2 and pl.qm[0] == pl.pm[0] and pl.plw[0] == 0.0))
    return False


def _poisson_sg(m):
    """(σ, q) of a Poisson-subsampled Gaussian under add/remove with q < 1 (ULS included)."""
    if isinstance(m, ULS) or (isinstance(m, SubsampledGaussian) and m.sampling == "poisson"
                              and m.neighboring == "add_remove"):
        if m.sample_rate < 1.0:
            return m.noise_multiplier, m.sample_rate
    return None


class _SGRemove:
    """Remove-direction CGF of the Poisson-subsampled Gaussian straight from the kernel, on
    the very arrays :func:`privacy_losses` builds (P = N(0,σ²), Q = (1−q)N(0,σ²) + qN(1,σ²);
    checked equal in the tests). Building a full privacy-loss object costs ~0.3 ms, which
    dominated a query over thousands of distinct steps; this costs ~5 µs."""

    __slots__ = ("args",)
    direction = "remove"
    cgf_exact = False
    quadrature_size = 3

    def cgf_upper(self, t):
        """The coupling bound (as GaussianMixtureLoss.cgf_upper)."""
        return max(float(_km.cgf_coupling_bound(float(t), *self.args)), 0.0) if t > 0 else None

    def __init__(self, sigma, q):
        self.args = (np.array([0.0]), np.array([0.0]), np.array([0.0, 1.0]),
                     np.log(np.array([1.0 - q, q])), float(sigma))

    def cgf_many(self, ts):
        return _km.cgf_many(np.ascontiguousarray(ts, dtype=float), *self.args, _MIX_RTOL)

    def cgf(self, t):
        return float(_km.cgf(float(t), *self.args, _MIX_RTOL))


def _evaluator(m, direction):
    sq = _poisson_sg(m)
    if sq is not None and direction == "remove":
        return _SGRemove(*sq)
    return loss_for(m, direction)


def _directions(m):
    if _poisson_sg(m) is not None:
        return ("remove", "add")
    return tuple(pl.direction for pl in privacy_losses(m))


def _cheap(m, direction):
    if _poisson_sg(m) is not None:
        return direction == "remove"
    return _is_cheap(loss_for(m, direction))


def _gaussian_only(counts):
    """Exact μ of a Gaussian-only history (None otherwise), without building every loss."""
    for m, _ in counts:
        if not (isinstance(m, Gaussian) or (isinstance(m, (SubsampledGaussian, ULS))
                                            and m.sample_rate == 1.0)):
            return None
    return _exact.gaussian_mu(Schedule(counts))


class _Rows:
    """Lazily filled CGF values K(α − 1) of some privacy losses on the fixed orders."""

    def __init__(self):
        self.index: Dict = {}
        self.losses: List = []
        self.vals: List[np.ndarray] = []

    def row(self, key, pl) -> int:
        i = self.index.get(key)
        if i is None:
            i = len(self.losses)
            self.index[key] = i
            self.losses.append(pl)
            self.vals.append(np.full(_ORDERS.shape[0], np.nan))
        return i

    def fill(self, rows, cols):
        cols = np.asarray(cols)
        for r in rows:
            vals = self.vals[r]
            miss = cols[np.isnan(vals[cols])]
            if miss.size:
                pl = self.losses[r]
                ts = _ORDERS[miss] - 1.0
                if hasattr(pl, "cgf_many"):
                    got = pl.cgf_many(ts)
                else:
                    got = np.array([pl.cgf(float(t)) for t in ts])
                # The quadrature margin of the RDP accountant (docs/math.md §3.1); an order
                # whose CGF could not be evaluated is never trusted (NaN → inf).
                vals[miss] = _rdp.pad_cgf(pl, got)

    def totals(self, rows, counts, cols):
        """Σ_r counts_r · K_r at the given order indices (fixed summation order)."""
        self.fill(rows, cols)
        mat = np.stack([self.vals[r][cols] for r in rows])
        with np.errstate(invalid="ignore"):
            tot = np.asarray(counts, dtype=float) @ np.where(np.isinf(mat), np.inf, mat)
        return np.where(np.isnan(tot), np.inf, tot)


class _RdpEngine:
    """RDP of a growing history with cached per-mechanism CGFs.

    For each direction the composed CGF is Σ_m T_m K_m(α − 1) (RDP adds over steps). Every
    value that enters the reported bound is an exact CGF of the members (the distinct
    mechanisms of the history); the search for the order costs a few evaluations per member:

    1. locate the best order on a coarse scan, then on the fixed integer orders near it,
       using the members themselves (≤ 64 distinct) or ≤ 24 dominating representatives
       (:func:`dominating_schedule`: σ down, q up — valid upper bounds on every CGF);
    2. evaluate every member **exactly** at the five fixed orders around that order
       (widening while the minimum sits on the window's edge); integer orders of the
       subsampled Gaussian are closed form (binomial sum, ~5 µs);
    3. between two exactly evaluated orders the composed CGF lies below its chord (a CGF is
       convex): minimising the conversion with the chord costs no CGF evaluation;
    4. one fractional order: Brent on the guide (members, or representatives rescaled by
       the exact members/representatives ratio at the neighbouring fixed orders), then one
       exact evaluation per member there (~120 µs each: quadrature).

    The minimum over all exactly evaluated orders (and chords) is returned, so the result is
    a certified RDP bound whatever the guide's accuracy. A direction whose bound at the
    worst direction's best orders (from its guide, dominating or exact) is already below
    the worst direction's value cannot be the maximum and is skipped: for the subsampled
    Gaussian this skips the quadrature-only "add" direction.

    The conversion to (ε, δ) is Canonne–Kamath–Steinke 2020, Prop. 12 (as in
    :mod:`accountant.accountants.rdp`); pure DP, basic composition and the lower bound are added by
    :meth:`PrivacyAccountant._rdp_query`.
    """

    def __init__(self):
        self.rows: Dict[str, _Rows] = {}
        self.rep_rows: Dict[str, _Rows] = {}
        self._reps = None

    # -- helpers -------------------------------------------------------------------------
    def _members(self, counts, direction):
        rows = self.rows.setdefault(direction, _Rows())
        idx = [rows.row(m, _evaluator(m, direction)) for m, _ in counts]
        return rows, idx, [T for _, T in counts]

    def _guide(self, counts, direction):
        if len(counts) <= _EXACT_MEMBERS:
            return self._members(counts, direction), True
        if self._reps is None or self._reps[0] is not counts:
            self._reps = (counts, dominating_schedule(counts, _REPS, dominate=True)[0])
        reps = self._reps[1]
        rows = self.rep_rows.setdefault(direction, _Rows())
        idx = [rows.row(m, _evaluator(m, direction)) for m, _ in reps]
        return (rows, idx, [T for _, T in reps]), len(reps) == len(counts)

    @staticmethod
    def _objective(kind, at):
        if kind == "epsilon":
            ld = math.log(at)

            def f(alpha, K):
                return K / (alpha - 1) + math.log1p(-1.0 / alpha) - (ld + math.log(alpha)) / (alpha - 1)
        else:
            def f(alpha, K):
                return log_delta_from_rdp(alpha, K / (alpha - 1), at)
        return f

    @staticmethod
    def _values(f, cols, tot):
        out = np.array([f(_ORDERS[c], K) if math.isfinite(K) else math.inf
                        for c, K in zip(cols, tot)])
        out[np.isnan(out)] = math.inf
        return out

    def _locate(self, guide, f):
        rows, idx, cnt = guide
        scan = _SCAN
        vals = self._values(f, scan, rows.totals(idx, cnt, scan))
        s = int(np.argmin(vals))
        lo = scan[max(s - 1, 0)]
        hi = scan[min(s + 1, len(scan) - 1)]
        cols = np.arange(lo, hi + 1)
        vals = self._values(f, cols, rows.totals(idx, cnt, cols))
        b = int(np.argmin(vals))
        return int(cols[b]), float(vals[b])

    def _exact(self, members, f, centre):
        rows, idx, cnt = members
        n = _ORDERS.shape[0]
        lo, hi = max(centre - 2, 0), min(centre + 2, n - 1)
        for _ in range(n):
            cols = np.arange(lo, hi + 1)
            tot = rows.totals(idx, cnt, cols)
            vals = self._values(f, cols, tot)
            b = int(np.argmin(vals))
            if b == 0 and lo > 0:
                lo = max(lo - 3, 0)
            elif b == len(cols) - 1 and hi < n - 1:
                hi = min(hi + 3, n - 1)
            else:
                break
        best, alpha = float(vals[b]), float(_ORDERS[cols[b]])
        if not math.isfinite(best):
            return best, alpha, int(cols[b])
        # Chord refinement on the two neighbouring intervals (K convex ⇒ K ≤ chord).
        pts = [(0.0, 0.0)] if cols[b] == 0 else []   # K(0) = 0 closes the interval (1, α₀]
        pts += [(_ORDERS[c] - 1.0, K) for c, K in zip(cols, tot)]
        j = len(pts) - len(cols) + b
        for a_i, a_j in ((j - 1, j), (j, j + 1)):
            if a_i < 0 or a_j >= len(pts):
                continue
            (t0, K0), (t1, K1) = pts[a_i], pts[a_j]
            if not (math.isfinite(K0) and math.isfinite(K1)):
                continue

            def g(t, t0=t0, K0=K0, t1=t1, K1=K1):
                return f(1.0 + t, K0 + (t - t0) * (K1 - K0) / (t1 - t0))
            lo_t = max(t0, 1e-6)
            if t1 <= lo_t:
                continue
            x, fx = minimize_bounded(g, lo_t, t1, xatol=1e-6)
            if math.isfinite(fx) and fx < best:
                best, alpha = float(fx), 1.0 + float(x)
        return best, alpha, int(cols[b])

    @staticmethod
    def _at(group, t):
        rows, idx, cnt = group
        return math.fsum(T * float(_rdp.pad_cgf(rows.losses[r], rows.losses[r].cgf(t)))
                         for r, T in zip(idx, cnt))

    def _fractional(self, guide, members, f, col):
        """Exact value at a fractional order: the order minimising the guide's (exact or
        dominating) objective between the fixed orders around ``col`` (Brent on log(α − 1)),
        then every member's exact CGF there (one evaluation per distinct mechanism)."""
        lo = _ORDERS[col - 1] if col > 0 else 1.0 + 1e-3
        hi = _ORDERS[min(col + 1, _ORDERS.shape[0] - 1)]
        if hi <= lo:
            return math.inf, float(_ORDERS[col])
        ratio = None
        if guide is not members:
            # Steer the representatives (dominating, a slightly shifted copy of the members)
            # onto the members: log(K_members/K_reps) is smooth in t, so interpolate it
            # between the exactly evaluated neighbouring fixed orders. Only the order comes
            # from this model; the value returned is the members' exact CGF there.
            cols = np.arange(max(col - 1, 0), min(col + 2, _ORDERS.shape[0]))
            km = members[0].totals(members[1], members[2], cols)
            kg = guide[0].totals(guide[1], guide[2], cols)
            if np.all(np.isfinite(km) & np.isfinite(kg) & (km > 0) & (kg > 0)):
                tcols, lr = _ORDERS[cols] - 1.0, np.log(km / kg)
                ratio = lambda t: math.exp(float(np.interp(t, tcols, lr)))

        def g(u):
            a = 1.0 + math.exp(u)
            K = self._at(guide, a - 1.0)
            if ratio is not None:
                K *= ratio(a - 1.0)
            val = f(a, K) if math.isfinite(K) else math.inf
            return val if math.isfinite(val) else math.inf
        x, fx = minimize_bounded(g, math.log(lo - 1.0), math.log(hi - 1.0), xatol=1e-3)
        alpha = 1.0 + math.exp(float(x))
        if guide is members:
            return float(fx), alpha
        K = self._at(members, alpha - 1.0)
        val = f(alpha, K) if math.isfinite(K) else math.inf
        return (val if math.isfinite(val) else math.inf), alpha

    # -- query -----------------------------------------------------------------------------
    def compute(self, counts, kind, at) -> Tuple[float, dict]:
        """Worst direction's min over orders: ε (kind "epsilon") or log δ ("delta")."""
        f = self._objective(kind, at)
        dirs = []
        for m, _ in counts:
            for d in _directions(m):
                if d not in dirs:
                    dirs.append(d)
        # Cheap directions first, so that their exact value can rule out the others.
        cheap = {d: all(_cheap(m, d) for m, _ in counts) for d in dirs}
        dirs.sort(key=lambda d: not cheap[d])
        worst, info, best_col = -math.inf, {}, None
        for d in dirs:
            guide, is_members = self._guide(counts, d)
            if best_col is not None and not cheap[d]:
                # Any order whose (dominating) bound is below the current worst rules the
                # direction out; try the worst direction's best order and its neighbours.
                cols = np.arange(max(best_col - 1, 0), min(best_col + 2, _ORDERS.shape[0]))
                rows, idx, cnt = guide
                if np.min(self._values(f, cols, rows.totals(idx, cnt, cols))) <= worst:
                    info.setdefault("skipped_directions", []).append(d)
                    continue
            centre, bound = self._locate(guide, f)
            if not is_members and bound <= worst:
                info.setdefault("skipped_directions", []).append(d)
                continue
            members = guide if is_members else self._members(counts, d)
            val, alpha, col = self._exact(members, f, centre)
            if math.isfinite(val):
                fval, falpha = self._fractional(guide, members, f, col)
                if fval < val:
                    val, alpha = fval, falpha
            if val >= worst:
                worst, best_col = val, col
                info.update({"order": alpha, "direction": d})
        return worst, info


# ----------------------------------------------------------------------------------------
# The accountant
# ----------------------------------------------------------------------------------------
_PLD_OPTIONS = ("rtol", "atol", "h")
_SESSION_OPTIONS = ("max_merged", "merge_ratio", "lower_mechanisms")


class PrivacyAccountant:
    """Trainer-facing accountant: ``step`` after each optimizer step, ask any time.

    Parameters
    ----------
    method : "pld" (default; certified bracket), "rdp" (certified upper bound), "edgeworth"
        or "saddlepoint" (estimates with their rigorous interval when one exists).
    max_merged : PLD only — above this many distinct mechanisms, nearby steps are merged
        conservatively for the upper bound (:func:`dominating_schedule`, σ rounded down and q
        up on a geometric grid of ratio ≥ 1 + ``merge_ratio``). Default 32.
    merge_ratio : PLD only — the finest merging grid, default 1e-3.
    lower_mechanisms : PLD only — the lower side of the bracket comes from the dominated
        schedule (σ up, q down) with at most this many mechanisms. Default 12.
    **options : passed to the method (e.g. ``rtol``, ``atol``, ``h`` for "pld").

    The result of a merged PLD query stays ``certified=True``: its upper bound is the PLD
    upper bound of a dominating schedule and its lower bound the PLD lower bound of a
    dominated one; ``details["merged"]`` records the grid ratios and sizes.
    """

    def __init__(self, method: str = "pld", *, max_merged: int = 32, merge_ratio: float = 1e-3,
                 lower_mechanisms: int = 12, **options):
        self._method = v.choice("method", method, METHODS)
        self._settings = {
            "max_merged": v.count("max_merged", max_merged),
            "merge_ratio": v.positive("merge_ratio", merge_ratio),
            "lower_mechanisms": v.count("lower_mechanisms", lower_mechanisms),
        }
        self._options = _check_options(method, options)
        self._segments: List[list] = []     # [mechanism, steps], merged when unchanged
        self._counts: Dict = {}             # distinct mechanism → total steps (first-seen order)
        self._steps = 0
        self._version = 0
        self._answers: Dict = {}
        self._rdp = _RdpEngine()

    # -- recording -------------------------------------------------------------------------
    def step(self, noise_multiplier: float, sample_rate: float = 1.0, steps: int = 1,
             examples_per_user: int | None = None, sampling: str | None = None):
        """Record ``steps`` optimizer steps with noise σ and sampling rate q.

        ``sampling``: "poisson" (default), "fixed" (fixed-size batches, replace-one),
        "els" (example-level sampling, user-level add/remove; needs ``examples_per_user``) or
        "uls" (user-level sampling). Giving ``examples_per_user`` > 1 without ``sampling``
        means "els". q = 1 with Poisson sampling is the plain Gaussian mechanism.

        Limits (as for :meth:`compose` and :meth:`load`): σ as every mechanism accepts it,
        steps an integer in [1, 2**53] (the history's total too), ``examples_per_user`` ≤
        MAX_EXAMPLES_PER_USER; ValueError naming the argument and its range otherwise, and nothing is
        recorded.
        """
        mech = _mechanism(noise_multiplier, sample_rate, examples_per_user, sampling)
        return self.compose(mech, steps)

    def compose(self, mechanism, steps: int = 1):
        """Record ``steps`` repetitions of a mechanism (or of a Schedule).

        The limits of a recorded history apply (module docstring: steps in [1, 2**53] per
        segment and in total, examples per user ≤ MAX_EXAMPLES_PER_USER); ValueError, and nothing recorded,
        otherwise.
        """
        sched = as_schedule(mechanism, steps)
        if self._segments:
            rel = self._segments[0][0].neighboring
            if sched.neighboring != rel:
                raise ValueError(f"mechanism must use the history's neighboring relation "
                                 f"{rel!r}, got {sched.neighboring!r}")
        added = 0
        for m, s in sched.segments:
            _check_recordable(m, s)
            added += s
        _check_total_steps(self._steps, added)
        for m, s in sched.segments:
            if self._segments and self._segments[-1][0] == m:
                self._segments[-1][1] += s
            else:
                self._segments.append([m, s])
            if not is_identity(m):  # a step that samples no one spends nothing
                self._counts[m] = self._counts.get(m, 0) + s
            self._steps += s
        self._changed()
        return self

    def _changed(self):
        self._version += 1
        self._answers.clear()

    def reset(self):
        """Forget the history (settings and caches of mechanisms are kept)."""
        self._segments, self._counts, self._steps = [], {}, 0
        self._changed()

    # -- views -----------------------------------------------------------------------------
    @property
    def method(self) -> str:
        return self._method

    @property
    def history(self) -> List[Tuple[object, int]]:
        """The (mechanism, steps) segments, in order (a copy)."""
        return [(m, s) for m, s in self._segments]

    @property
    def schedule(self) -> Schedule:
        """The history as a Schedule (ValueError when empty)."""
        if not self._segments:
            raise ValueError("the accountant has no steps yet")
        return Schedule(tuple((m, s) for m, s in self._segments))

    def __len__(self) -> int:
        return self._steps

    def __repr__(self):
        return (f"PrivacyAccountant(method={self._method!r}, steps={self._steps}, "
                f"segments={len(self._segments)}, distinct={len(self._counts)})")

    # -- queries ---------------------------------------------------------------------------
    def get_epsilon(self, delta: float, method: str | None = None) -> Result:
        """ε spent so far at ``delta`` (a Result; ``float(r)`` is the certified upper bound)."""
        d = v.delta("delta", delta)
        r = self._query("epsilon", d, method)
        emit_warnings(r.warnings, r.method)
        return r

    def get_delta(self, epsilon: float, method: str | None = None) -> Result:
        """δ spent so far at ``epsilon`` ≥ 0."""
        e = v.epsilon("epsilon", epsilon)
        r = self._query("delta", e, method)
        emit_warnings(r.warnings, r.method)
        return r

    def _query(self, kind, at, method):
        method = self._method if method is None else v.choice("method", method, METHODS)
        key = (kind, at, method)
        hit = self._answers.get(key)
        if hit is not None:
            return hit
        import time
        t0 = time.perf_counter()
        if not self._counts:  # no step, or only steps that sample no one (q = 0)
            res = Result(kind, at, 0.0, 0.0, 0.0, True, method, details={"steps": self._steps})
        elif method == "rdp":
            res = self._rdp_query(kind, at)
        elif method == "pld":
            res = self._pld_query(kind, at)
        else:
            from ..accountants import api
            res = api.query(kind, self.schedule, at, method=method,
                            **self._method_options(method))
        import dataclasses
        res = dataclasses.replace(res, seconds=time.perf_counter() - t0)
        self._answers[key] = res
        return res

    def _method_options(self, method):
        return dict(self._options) if method == self._method else {}

    # RDP -----------------------------------------------------------------------------------
    def _rdp_query(self, kind, at) -> Result:
        counts = tuple(self._counts.items())
        sched = Schedule(counts)
        val, info = self._rdp.compute(counts, kind, at)
        # Basic composition and the lower bound need one root-finding per mechanism: with
        # many distinct mechanisms they are taken on a dominating / dominated schedule.
        up_sched = Schedule(dominating_schedule(counts, 8, dominate=True)[0])
        lo_sched = sched if _gaussian_only(counts) is not None else \
            Schedule(dominating_schedule(counts, 8, dominate=False)[0])
        res = certify(kind, at, val, info, up_sched, lo_sched)
        res.details["distinct_mechanisms"] = len(counts)
        return res

    # PLD -----------------------------------------------------------------------------------
    def _pld_query(self, kind, at) -> Result:
        from ..accountants import api

        def fn(schedule, at, **kw):
            return api.query(kind, schedule, at, **kw)
        opts = self._method_options("pld")
        counts = tuple(self._counts.items())
        if _gaussian_only(counts) is not None:
            # Gaussian mechanisms only: exactly μ-GDP with μ² = Σ T_i/σ_i² (Dong–Roth–Su 2019,
            # Cor. 3.3), bracketed for its own rounding (Private Evolution, histograms).
            sched = Schedule(counts)
            return _exact.gaussian_result(sched, "pld", **{"delta" if kind == "epsilon"
                                                            else "epsilon": at})
        cap = self._settings["max_merged"]
        if len(counts) <= cap:
            return fn(self.schedule, at, method="pld", **opts)
        up_counts, r_up = dominating_schedule(counts, cap, self._settings["merge_ratio"], True)
        lo_counts, r_lo = dominating_schedule(counts, self._settings["lower_mechanisms"],
                                              self._settings["merge_ratio"], False)
        up = fn(Schedule(up_counts), at, method="pld", **opts)
        lo = fn(Schedule(lo_counts), at, method="pld", **opts)
        upper, lower = up.upper, min(lo.lower, up.upper)
        warns = tuple(dict.fromkeys(up.warnings + lo.warnings + (
            f"steps_merged: {len(counts)} distinct mechanisms; upper bound from {len(up_counts)} "
            f"(σ down, q up, grid ratio {r_up:.6g}), lower bound from {len(lo_counts)} "
            f"(σ up, q down, grid ratio {r_lo:.6g})",)))
        details = {"merged": {"distinct_mechanisms": len(counts),
                              "upper_mechanisms": len(up_counts), "upper_grid_ratio": r_up,
                              "lower_mechanisms": len(lo_counts), "lower_grid_ratio": r_lo,
                              "upper_schedule_lower": up.lower,
                              "lower_schedule_upper": lo.upper},
                   "upper": dict(up.details), "lower": dict(lo.details)}
        return Result(kind, at, upper, lower, upper, True, "pld", warns, details)

    # -- durable state -----------------------------------------------------------------------
    def state_dict(self) -> dict:
        """JSON-ready state: format, schema version, payload and its SHA-256."""
        payload = {
            "method": self._method,
            "settings": _encode_options(self._settings),
            "options": _encode_options(self._options),
            "history": [[_encode_mechanism(m), int(s)] for m, s in self._segments],
        }
        return {"format": STATE_FORMAT, "schema_version": SCHEMA_VERSION,
                "payload": payload, "sha256": _checksum(payload)}

    def load_state_dict(self, state) -> "PrivacyAccountant":
        """Replace this accountant's method, settings and history by ``state``.

        ``state`` must be exactly what :meth:`state_dict` returns (module docstring,
        "Reading is strict"; the limits of "Recordable histories" apply). Everything is
        validated before anything changes: on ``ValueError`` the accountant is untouched.
        """
        fresh = _parse_state(state)
        # Commit (no exception can happen past this point).
        same_method = fresh._method == self._method
        self._method, self._settings = fresh._method, fresh._settings
        self._options = fresh._options
        self._segments, self._counts, self._steps = fresh._segments, fresh._counts, fresh._steps
        if not same_method:
            self._rdp = _RdpEngine()
        self._changed()
        return self

    def save(self, path) -> None:
        """Write the state to ``path`` atomically (:func:`accountant.core._files.write_atomically`:
        temp file ``.<name>.tmp-<hex>`` beside it, fsync, ``os.replace``; the temp file is
        removed on any error, and a leftover of a save killed midway is removed by the next
        successful save of the same path once it is 5 minutes old). ValueError naming
        ``path`` when it cannot be written."""
        text = json.dumps(self.state_dict(), indent=1, sort_keys=True, ensure_ascii=True) + "\n"
        write_atomically(path, text.encode("ascii"), "path")

    @classmethod
    def load(cls, path) -> "PrivacyAccountant":
        """A new accountant from a state file (ValueError, one line, if invalid).

        Only a regular file (or a symlink to one) of at most 64 MiB (2 GiB for a PyTorch
        file) is read; a FIFO, device, socket or directory is refused without blocking. The
        file is read as our JSON state first (written by :meth:`save`, checked strictly:
        module docstring). A PyTorch file (zip or legacy pickle) is read as an Opacus state
        instead — an accountant's ``state_dict()`` saved with ``torch.save``, or a
        ``PrivacyEngine.save_checkpoint`` file — when torch is installed, with
        ``torch.load(weights_only=True)`` (no code from the file runs); its
        ``(noise_multiplier, sample_rate, steps)`` history is validated strictly
        (:func:`accountant.interop.opacus.check_history`, then the limits of a recorded
        history) and accounted with method "pld" ("rdp" for a ``dpacc_rdp`` state).
        Anything else is refused.
        """
        path = os.fspath(path)
        raw = _read_bytes(path)
        try:
            state = _decode_json(path, raw)
        except ValueError:
            if not _is_torch_file(raw):
                raise
            from .opacus_state import read_torch_state  # lazy: imports torch on use
            history, mechanism = read_torch_state(raw, f"state file {path!r}")
            acc = cls.__new__(cls)
            cls.__init__(acc, "rdp" if mechanism == "dpacc_rdp" else "pld")
            try:
                for sigma, q, n in history:
                    acc.step(sigma, q, n)
            except ValueError as exc:
                raise ValueError(f"state file {path!r}: {exc}") from None
            return acc
        acc = cls.__new__(cls)
        cls.__init__(acc)
        return acc.load_state_dict(state)


def load_schedule(path) -> Schedule:
    """The history saved in a state file, as a Schedule (any file :meth:`PrivacyAccountant.load`
    reads).

    Raises ValueError when the file is missing, truncated, edited, foreign or empty.
    """
    acct = PrivacyAccountant.load(path)
    if not len(acct):
        raise ValueError(f"state file {os.fspath(path)!r} holds no steps")
    return acct.schedule


# ----------------------------------------------------------------------------------------
# Helpers: mechanisms from step arguments, options, encoding
# ----------------------------------------------------------------------------------------
def _describe(x) -> str:
    """``repr(x)`` for a message, shortened (a huge integer's repr is slow, and fails beyond
    4300 digits)."""
    if isinstance(x, int) and not isinstance(x, bool) and x.bit_length() > 64:
        return f"an integer of about {int(x.bit_length() * 0.30103) + 1} digits"
    try:
        r = repr(x)
    except (ValueError, RecursionError):
        return f"a {type(x).__name__}"
    return r if len(r) <= 80 else r[:77] + "..."


def _check_recordable(m, steps, where: str = "") -> None:
    """ValueError unless ``steps`` repetitions of mechanism ``m`` are within the limits of a
    recorded history (module docstring, "Recordable histories"). ``where`` prefixes the
    argument names (e.g. "payload.history[3] "). The noise multiplier is not checked here:
    every mechanism checked it when it was built (:func:`accountant.core._validate.noise_multiplier`),
    on load too."""
    if isinstance(steps, bool) or not isinstance(steps, int) or not 1 <= steps <= MAX_STEPS:
        raise ValueError(f"{where}steps must be an integer in [1, 2**53 = {MAX_STEPS}], "
                         f"got {_describe(steps)}")
    k = getattr(m, "max_examples_per_user", None)
    if k is not None and k > MAX_EXAMPLES_PER_USER:
        raise ValueError(f"{where}max_examples_per_user must be an integer in "
                         f"[1, {MAX_EXAMPLES_PER_USER}] in a PrivacyAccountant history (an ELS "
                         f"step is a mixture of k + 1 Gaussians), got {_describe(k)}")


def _check_total_steps(recorded: int, added: int, where: str = "") -> None:
    if recorded + added > MAX_STEPS:
        raise ValueError(f"{where}steps must total at most 2**53 = {MAX_STEPS} over a "
                         f"PrivacyAccountant history, got {recorded} recorded + "
                         f"{_describe(added)} more")


def _mechanism(sigma, q, k, sampling):
    return from_parameters(sigma, q, sampling=sampling, examples_per_user=k)


def _check_options(method, options):
    out = {}
    for k, val in options.items():
        if method == "pld" and k in _PLD_OPTIONS:
            out[k] = v.positive(k, val) if k != "atol" else v.nonnegative(k, val)
        elif method == "edgeworth" and k == "order":
            out[k] = v.count("order", val)
            if out[k] > 3:
                raise ValueError(f"order must be 1, 2 or 3, got {val!r}")
        else:
            raise ValueError(f"unknown option {k!r} for method {method!r}")
    return out


def _hex(x) -> str:
    return float(x).hex()


def _unhex(name, s) -> float:
    """The float of a canonical ``float.hex`` string, exactly as :func:`_hex` writes it:
    "1.1" (which ``float.fromhex`` would read as 1.0625), " 0x1p0", "0X1P0", "inf" or "nan"
    are refused, never reinterpreted."""
    if isinstance(s, str):
        try:
            x = float.fromhex(s)
        except (ValueError, OverflowError):
            x = None
        if x is not None and math.isfinite(x) and x.hex() == s:
            return x
    raise ValueError(f"{name} must be a finite float written by float.hex (e.g. "
                     f"{(1.1).hex()!r} for 1.1), got {_describe(s)}")


def _encode_options(opts):
    out = {}
    for k, val in opts.items():
        if isinstance(val, bool) or not isinstance(val, (int, float)):
            raise ValueError(f"option {k!r} cannot be saved: {val!r}")
        out[k] = {"int": val} if isinstance(val, int) else {"float": _hex(val)}
    return out


_SETTING_KINDS = {"max_merged": "int", "merge_ratio": "float", "lower_mechanisms": "int"}


def _option_kinds(method) -> dict:
    """The options :func:`_check_options` accepts for ``method``, with how each is stored."""
    if method == "pld":
        return {k: "float" for k in _PLD_OPTIONS}
    if method == "edgeworth":
        return {"order": "int"}
    return {}


def _keys_text(keys) -> str:
    return ", ".join(sorted(repr(k) for k in keys)) or "none"


def _decode_options(name, obj, kinds, required=()):
    """Settings or options of a state: ``{key: {"int": n} | {"float": hex}}`` with each key's
    own kind (``kinds``), no unknown key, every ``required`` key present."""
    where = f"payload.{name}"
    if not isinstance(obj, dict):
        raise ValueError(f"{where} must be an object, got {_describe(obj)}")
    unknown = set(obj) - set(kinds)
    if unknown:
        raise ValueError(f"{where} has unknown key(s) {_keys_text(unknown)} "
                         f"(allowed: {_keys_text(kinds)})")
    missing = [k for k in required if k not in obj]
    if missing:
        raise ValueError(f"{where} is missing {_keys_text(missing)}")
    out = {}
    for k, kind in kinds.items():
        if k not in obj:
            continue
        val, at = obj[k], f"{where}.{k}"
        what = "an integer" if kind == "int" else "a float.hex string"
        if not (isinstance(val, dict) and len(val) == 1 and kind in val):
            raise ValueError(f"{at} must be {{{kind!r}: {what}}}, got {_describe(val)}")
        x = val[kind]
        if kind == "float":
            out[k] = _unhex(f"{at}.float", x)
        elif type(x) is int:
            out[k] = x
        else:
            raise ValueError(f"{at}.int must be a JSON integer, got {_describe(x)}")
    return out


_FLOAT_FIELDS = ("noise_multiplier", "sample_rate")
_TUPLE_FIELDS = ("sensitivities", "probabilities")
_MECHS = {cls.__name__: cls for cls in MECHANISM_TYPES}


def _encode_mechanism(m) -> dict:
    import dataclasses
    out = {"type": type(m).__name__}
    for f in dataclasses.fields(m):
        val = getattr(m, f.name)
        if f.name in _FLOAT_FIELDS:
            out[f.name] = _hex(val)
        elif f.name in _TUPLE_FIELDS:
            out[f.name] = [_hex(x) for x in val]
        else:
            out[f.name] = val          # str, int or None
    return out


_STR_FIELDS = ("sampling", "neighboring")


def _decode_mechanism(where, obj):
    """A mechanism from its saved object: the ``type`` and every field of that class, each
    with the type :func:`_encode_mechanism` writes, nothing else."""
    import dataclasses
    if not isinstance(obj, dict) or not isinstance(obj.get("type"), str):
        raise ValueError(f"{where} must be an object with a 'type' string")
    cls = _MECHS.get(obj["type"])
    if cls is None:
        raise ValueError(f"{where}.type must be one of {', '.join(sorted(_MECHS))}, "
                         f"got {_describe(obj['type'])}")
    fields = dataclasses.fields(cls)
    extra = set(obj) - {f.name for f in fields} - {"type"}
    if extra:
        raise ValueError(f"{where} has unknown field(s) {_keys_text(extra)}")
    missing = [f.name for f in fields if f.name not in obj]
    if missing:
        raise ValueError(f"{where} ({cls.__name__}) is missing field(s) {_keys_text(missing)}")
    kwargs = {}
    for f in fields:
        val, at = obj[f.name], f"{where}.{f.name}"
        if f.name in _FLOAT_FIELDS:
            val = _unhex(at, val)
        elif f.name in _TUPLE_FIELDS:
            if not isinstance(val, list) or not val:
                raise ValueError(f"{at} must be a non-empty list of float.hex strings, "
                                 f"got {_describe(val)}")
            val = tuple(_unhex(f"{at}[{j}]", x) for j, x in enumerate(val))
        elif f.name in _STR_FIELDS:
            if not isinstance(val, str):
                raise ValueError(f"{at} must be a string, got {_describe(val)}")
        elif val is None:
            if f.default is not None:
                raise ValueError(f"{at} must be a JSON integer, got null")
        elif type(val) is not int:
            raise ValueError(f"{at} must be a JSON integer"
                             + (" or null" if f.default is None else "")
                             + f", got {_describe(val)}")
        kwargs[f.name] = val
    try:
        return cls(**kwargs)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{where}: {exc}") from None


def _canonical(obj) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True,
                      allow_nan=False).encode("ascii")


def _checksum(payload) -> str:
    return hashlib.sha256(_canonical(payload)).hexdigest()


_STATE_KEYS = ("format", "schema_version", "payload", "sha256")
_PAYLOAD_KEYS = ("method", "settings", "options", "history")


def _first_difference(got, want, where="payload"):
    """(path, got, expected) of the first place where a payload as read differs from the
    payload :meth:`PrivacyAccountant.state_dict` writes for it, or None. Types count: ``true``
    is not ``1``, ``1.0`` is not ``1``."""
    if isinstance(got, dict) and isinstance(want, dict):
        for k in sorted(set(got) | set(want), key=repr):
            if k not in got or k not in want:
                return f"{where}.{k}", got.get(k, "nothing"), want.get(k, "nothing")
            d = _first_difference(got[k], want[k], f"{where}.{k}")
            if d is not None:
                return d
        return None
    if isinstance(got, list) and isinstance(want, list):
        for i, (a, b) in enumerate(zip(got, want)):
            d = _first_difference(a, b, f"{where}[{i}]")
            if d is not None:
                return d
        if len(got) != len(want):
            return where, f"{len(got)} entries", f"{len(want)} entries"
        return None
    if type(got) is type(want) and got == want:
        return None
    return where, got, want


def _parse_state(state) -> "PrivacyAccountant":
    """Validate a state dict fully; return a new accountant holding it (ValueError, saying
    what is wrong, for anything :meth:`PrivacyAccountant.state_dict` would not have written
    or a recorded history may not hold)."""
    if not isinstance(state, dict):
        raise ValueError(f"state must be a JSON object, got {type(state).__name__}")
    fmt = state.get("format")
    if not isinstance(fmt, str) or fmt != STATE_FORMAT:
        raise ValueError(f"not a dp-accountant state: format is {_describe(fmt)}, "
                         f"expected {STATE_FORMAT!r}")
    ver = state.get("schema_version")
    if type(ver) is not int or ver != SCHEMA_VERSION:
        raise ValueError(f"unsupported schema_version {_describe(ver)} (this version reads the "
                         f"integer {SCHEMA_VERSION})")
    missing = [k for k in _STATE_KEYS if k not in state]
    if missing:
        raise ValueError(f"state is missing {', '.join(missing)}")
    extra = set(state) - set(_STATE_KEYS)
    if extra:
        raise ValueError(f"state has unknown key(s) {_keys_text(extra)}")
    payload, recorded = state["payload"], state["sha256"]
    if not isinstance(payload, dict):
        raise ValueError("state payload must be an object")
    if not isinstance(recorded, str):
        raise ValueError(f"state sha256 must be a string of 64 hex digits, got "
                         f"{type(recorded).__name__}")
    try:
        digest = _checksum(payload)
    except (TypeError, ValueError, RecursionError) as exc:
        msg = "nested too deeply" if isinstance(exc, RecursionError) else str(exc)
        raise ValueError(f"state payload is not canonical JSON: {msg}") from None
    if digest != recorded:
        raise ValueError("checksum mismatch: the state was edited or corrupted "
                         f"(sha256 of payload {digest[:12]}…, recorded {recorded[:12]!r}…)")
    missing = [k for k in _PAYLOAD_KEYS if k not in payload]
    if missing:
        raise ValueError(f"state payload is missing {_keys_text(missing)}")
    extra = set(payload) - set(_PAYLOAD_KEYS)
    if extra:
        raise ValueError(f"state payload has unknown key(s) {_keys_text(extra)}")
    method = payload["method"]
    if not isinstance(method, str) or method not in METHODS:
        raise ValueError(f"payload.method must be one of {', '.join(METHODS)}, "
                         f"got {_describe(method)}")
    settings = _decode_options("settings", payload["settings"], _SETTING_KINDS,
                               required=tuple(_SETTING_KINDS))
    options = _decode_options("options", payload["options"], _option_kinds(method))
    try:
        fresh = PrivacyAccountant(method, **settings, **options)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"payload settings/options are invalid: {exc}") from None
    hist = payload["history"]
    if not isinstance(hist, list):
        raise ValueError("payload.history must be a list of [mechanism, steps] pairs")
    rel = None
    for i, item in enumerate(hist):
        at = f"payload.history[{i}]"
        if not (isinstance(item, list) and len(item) == 2):
            raise ValueError(f"{at} must be a [mechanism, steps] pair")
        m = _decode_mechanism(at, item[0])
        s = item[1]
        if type(s) is not int:
            raise ValueError(f"{at} steps must be a JSON integer in [1, 2**53 = {MAX_STEPS}], "
                             f"got {_describe(s)}")
        _check_recordable(m, s, at + " ")
        _check_total_steps(fresh._steps, s, "payload.history ")
        if rel is None:
            rel = m.neighboring
        elif m.neighboring != rel:
            raise ValueError(f"payload.history mixes neighboring relations {rel} and "
                             f"{m.neighboring}")
        if fresh._segments and fresh._segments[-1][0] == m:
            raise ValueError(f"{at} repeats the mechanism of payload.history[{i - 1}] (save() "
                             "writes adjacent equal steps as one segment)")
        fresh.compose(m, s)
    # Anything else save() would not have written (e.g. adjacent equal segments, which
    # compose merges) is refused too: what loads is exactly what the file says.
    diff = _first_difference(payload, fresh.state_dict()["payload"])
    if diff is not None:
        where, got, want = diff
        raise ValueError(f"{where} is not as save() writes it (edited by hand?): got "
                         f"{_describe(got)}, save() writes {_describe(want)}")
    return fresh


def _torch_limit(head) -> int:
    return TORCH_MAX_BYTES if _is_torch_file(head) else STATE_MAX_BYTES


def _read_bytes(path):
    """A state file's bytes: a regular file of at most 64 MiB (2 GiB for a PyTorch file)."""
    raw = read_user_file(path, what="state file", limit=STATE_MAX_BYTES, head_limit=_torch_limit)
    if not raw.strip():
        raise ValueError(f"state file {path!r} is empty")
    return raw


def _is_torch_file(raw) -> bool:
    """torch.save output: a zip archive, or (legacy format) a pickle of protocol 2 to 5."""
    return raw[:4] == b"PK\x03\x04" or (raw[:1] == b"\x80" and raw[1:2] in (b"\x02", b"\x03",
                                                                           b"\x04", b"\x05"))


def _reject_constant(name):
    raise ValueError(f"{name} is not JSON (strict JSON has no NaN or Infinity)")


def _reject_duplicates(pairs):
    out = {}
    for k, val in pairs:
        if k in out:
            raise ValueError(f"duplicate key {k!r}")
        out[k] = val
    return out


def _decode_json(path, raw):
    """The JSON value of a state file's bytes: strict JSON (no NaN/Infinity, no duplicate
    keys); ValueError, one line, otherwise — nesting too deep for the parser included."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError(f"state file {path!r} is neither a dp-accountant JSON state nor a "
                         "PyTorch file (Opacus state)") from None
    try:
        return json.loads(text, object_pairs_hook=_reject_duplicates,
                          parse_constant=_reject_constant)
    except json.JSONDecodeError as exc:
        raise ValueError(f"state file {path!r} is not valid JSON (truncated or corrupted?): "
                         f"{exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except RecursionError:
        raise ValueError(f"state file {path!r} is nested too deeply to be a dp-accountant "
                         "state (corrupted?)") from None
    except ValueError as exc:          # a duplicate key, NaN, a 5000-digit integer, …
        raise ValueError(f"state file {path!r} is not strict JSON: "
                         f"{(str(exc).splitlines() or ['invalid'])[0]}") from None
