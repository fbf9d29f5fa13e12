"""numba kernels of the random-allocation loss (docs/math.md §12): sums of independent
non-negative variables on the geometric lattice e^{kΔ}, in the two representations that
bound the law of the sum in convex order.

* Upper ("split") representation: masses ``p`` at the lattice points e^{kΔ}, k = off + i.
  The sum of two lattice points, e^{JΔ}(1 + e^{−dΔ}) (d = J − I ≥ 0), lies between the
  points J + f0(d) and J + f0(d) + 1 and is split between them with the mean-preserving
  weights 1 − λ(d), λ(d): the result is ≥ the exact sum in convex order.
* Lower ("merge") representation: per lattice cell, a mass ``m`` and a mass-weighted
  relative position ``R`` (the atom sits at e^{kΔ}·R/m). The sums of pairs of atoms are
  grouped by the cell of the sum of their cells' lower ends and each group is merged into
  its mean: a conditional expectation, ≤ the exact sum in convex order.

Both f0 and λ depend only on d, and beyond d = D2 (f0 = 0, λ ≤ ½) λ(d) = e^{−dΔ}/expm1(Δ)
decays geometrically, so the pairs with d > D2 are summed by running sums: O(n·D2)
instead of O(n²). Every sum is of non-negative terms (no cancellation).
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit


def split_span(dlt: float) -> int:
    """D2: the smallest d with f0(d) = 0 and λ(d) ≤ ½ for every d ≥ D2."""
    return int(math.ceil(math.log(2.0 / math.expm1(dlt)) / dlt)) + 1


@njit(cache=True)
def pair_tables(dlt, D2):
    """f0(d) and λ(d) for d = 0..D2: e^{JΔ} + e^{(J−d)Δ} = e^{(J + f0 + θ)Δ}, θ ∈ [0, 1),
    λ = expm1(θΔ)/expm1(Δ) (the weight of the upper neighbour)."""
    f0 = np.empty(D2 + 1, np.int64)
    lam = np.empty(D2 + 1)
    em1 = math.expm1(dlt)
    for d in range(D2 + 1):
        phi = math.log1p(math.exp(-d * dlt)) / dlt
        f = math.floor(phi)
        r = math.expm1((phi - f) * dlt) / em1
        f0[d] = f
        lam[d] = min(max(r, 0.0), 1.0)
    return f0, lam


@njit(cache=True)
def _conv_up_pass(p, op, q, oq, dlt, f0, lam, D2, out, lo, strict):
    """Pairs (I from p, J from q) with I ≤ J (I < J when ``strict``), split onto the
    lattice and added to ``out`` (offset ``lo``)."""
    npn = p.shape[0]
    nq = q.shape[0]
    em1 = math.expm1(dlt)
    decay = math.exp(-dlt)
    tailfac = math.exp(-(D2 + 1) * dlt) / em1
    Sp = 0.0     # Σ p_I over I ≤ ref = J − D2 − 1
    Se = 0.0     # Σ p_I e^{(I − ref)Δ} over the same I
    ptr = op     # next p index to enter the running sums
    ref = oq - D2 - 1
    for jj in range(nq):
        J = oq + jj
        nref = J - D2 - 1
        if nref != ref:
            Se *= math.exp(-(nref - ref) * dlt) if nref - ref != 1 else decay
            ref = nref
        while ptr <= ref and ptr < op + npn:
            v = p[ptr - op]
            Sp += v
            Se += v * math.exp((ptr - ref) * dlt)
            ptr += 1
        qj = q[jj]
        if qj == 0.0:
            continue
        dmin = 1 if strict else 0
        for d in range(dmin, D2 + 1):
            I = J - d
            if I < op:
                break
            if I >= op + npn:
                continue
            m = p[I - op] * qj
            if m == 0.0:
                continue
            t = J + f0[d] - lo
            lm = lam[d]
            out[t] += m * (1.0 - lm)
            out[t + 1] += m * lm
        if Sp > 0.0:
            ls = Se * tailfac
            out[J - lo] += qj * (Sp - ls)
            out[J + 1 - lo] += qj * ls


@njit(cache=True)
def conv_up(p, op, q, oq, dlt, f0, lam, D2):
    """Upper representation of the sum of two independent lattice variables (masses ``p``
    at e^{(op+i)Δ}, ``q`` at e^{(oq+j)Δ}): returns (masses, offset)."""
    lo = max(op, oq)
    hi = max(op + p.shape[0] - 1, oq + q.shape[0] - 1) + f0[0] + 2
    out = np.zeros(hi - lo + 1)
    _conv_up_pass(p, op, q, oq, dlt, f0, lam, D2, out, lo, False)
    _conv_up_pass(q, oq, p, op, dlt, f0, lam, D2, out, lo, True)
    return out, lo


@njit(cache=True)
def _conv_lo_pass(m1, R1, o1, m2, R2, o2, dlt, f0, ed, ef, D2, om, oR, lo, strict):
    n1 = m1.shape[0]
    n2 = m2.shape[0]
    decay = math.exp(-dlt)
    Sm = 0.0     # Σ m_I over I ≤ ref
    SR = 0.0     # Σ R_I e^{(I − J)Δ} over I ≤ ref, kept relative to ref
    ptr = o1
    ref = o2 - D2 - 1
    shift = math.exp(-(D2 + 1) * dlt)
    for jj in range(n2):
        J = o2 + jj
        nref = J - D2 - 1
        if nref != ref:
            SR *= math.exp(-(nref - ref) * dlt) if nref - ref != 1 else decay
            ref = nref
        while ptr <= ref and ptr < o1 + n1:
            Sm += m1[ptr - o1]
            SR += R1[ptr - o1] * math.exp((ptr - ref) * dlt)
            ptr += 1
        mj = m2[jj]
        if mj == 0.0:
            continue
        rj = R2[jj]
        dmin = 1 if strict else 0
        for d in range(dmin, D2 + 1):
            I = J - d
            if I < o1:
                break
            if I >= o1 + n1:
                continue
            mi = m1[I - o1]
            if mi == 0.0:
                continue
            g = J + f0[d] - lo
            # atoms at e^{JΔ}·rj/mj and e^{IΔ}·ri/mi; relative to e^{gΔ}
            om[g] += mi * mj
            oR[g] += (rj * mi + R1[I - o1] * mj * ed[d]) * ef[d]
        if Sm > 0.0:
            om[J - lo] += mj * Sm
            oR[J - lo] += rj * Sm + mj * SR * shift


@njit(cache=True)
def conv_lo(m1, R1, o1, m2, R2, o2, dlt, f0, D2):
    """Lower representation of the sum (groups merged into their means): returns
    (masses, relative positions × masses, offset); positions are not yet re-binned."""
    lo = max(o1, o2)
    hi = max(o1 + m1.shape[0] - 1, o2 + m2.shape[0] - 1) + f0[0] + 2
    om = np.zeros(hi - lo + 1)
    oR = np.zeros(hi - lo + 1)
    ed = np.empty(D2 + 1)
    ef = np.empty(D2 + 1)
    for d in range(D2 + 1):
        ed[d] = math.exp(-d * dlt)
        ef[d] = math.exp(-f0[d] * dlt)
    _conv_lo_pass(m1, R1, o1, m2, R2, o2, dlt, f0, ed, ef, D2, om, oR, lo, False)
    _conv_lo_pass(m2, R2, o2, m1, R1, o1, dlt, f0, ed, ef, D2, om, oR, lo, True)
    return om, oR, lo


@njit(cache=True)
def rebin_lo(m, R, off, dlt_in, dlt_out, lo_out, n_out):
    """Move every atom (mass m, position e^{kΔ_in}·R/m) into the cell of the lattice
    e^{jΔ_out} that holds it (clamped to [lo_out, lo_out + n_out)) and merge per cell."""
    om = np.zeros(n_out)
    oR = np.zeros(n_out)
    for i in range(m.shape[0]):
        mi = m[i]
        if mi == 0.0:
            continue
        lx = (off + i) * dlt_in + math.log(R[i] / mi)
        j = int(math.floor(lx / dlt_out))
        if j < lo_out:
            j = lo_out
        elif j >= lo_out + n_out:
            j = lo_out + n_out - 1
        om[j - lo_out] += mi
        oR[j - lo_out] += mi * math.exp(lx - j * dlt_out)
    return om, oR


@njit(cache=True)
def coarsen_up(p, off, w_up):
    """Lattice Δ → 2Δ by a mean-preserving split of the odd points: e^{kΔ} lies between
    e^{(k−1)Δ} and e^{(k+1)Δ} and goes up with weight ``w_up`` = 1/(1 + e^Δ). Returns
    (masses, offset) on the new lattice."""
    lo = off // 2 if off % 2 == 0 else (off - 1) // 2
    hi_idx = off + p.shape[0] - 1
    hi = (hi_idx + 1) // 2
    out = np.zeros(hi - lo + 1)
    for i in range(p.shape[0]):
        k = off + i
        v = p[i]
        if v == 0.0:
            continue
        if k % 2 == 0:
            out[k // 2 - lo] += v
        else:
            a = (k - 1) // 2
            out[a - lo] += v * (1.0 - w_up)
            out[a + 1 - lo] += v * w_up
    return out, lo


@njit(cache=True)
def lattice_conv(p, q):
    """Plain convolution of two non-negative arrays (index sums), summed directly."""
    n1 = p.shape[0]
    n2 = q.shape[0]
    out = np.zeros(n1 + n2 - 1)
    for i in range(n1):
        pi = p[i]
        if pi == 0.0:
            continue
        for j in range(n2):
            out[i + j] += pi * q[j]
    return out
