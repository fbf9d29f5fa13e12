"""numba kernels of the Edgeworth accountant (docs/math.md §5): the Derumigny–Girard–
Guyonvarch bound on the normal approximation, Edgeworth tails of the composed loss and the
ε(δ) searches over them. The composed cumulants come from the privacy loss
(:meth:`accountant.loss.base.PrivacyLoss.moments`)."""
from __future__ import annotations

import math

import numpy as np
from numba import njit

# ----------------------------------------------------------------------------------------
# Derumigny–Girard–Guyonvarch bound (arXiv 2101.05780, appendix Theorems A.2 / A.3, the
# "no continuity", skewed case): scalar kernels, minimised over the free ε ∈ (0, 1/3).
# Only Γ(3/2, ·) and γ(3/2, ·) appear, which have closed forms in erf/erfc.
# ----------------------------------------------------------------------------------------
_PSI = 1.0253          # |Ψ(t)| ≤ 1.0253/(2π|t|), the smoothing-kernel constant of DGG
_CHI1 = 0.09916191
_SQRT_PI = math.sqrt(math.pi)


@njit(cache=True)
def _upper_gamma_15(x):
    """Γ(3/2, x) = √x e^{−x} + (√π/2)·erfc(√x)."""
    r = math.sqrt(x)
    return r * math.exp(-x) + 0.5 * _SQRT_PI * math.erfc(r)


@njit(cache=True)
def _lower_gamma_15(x):
    """γ(3/2, x) = (√π/2)·erf(√x) − √x e^{−x}, x ≥ 0."""
    r = math.sqrt(x)
    return 0.5 * _SQRT_PI * math.erf(r) - r * math.exp(-x)


@njit(cache=True)
def _dgg_common(e, n, K4, K3t):
    return 0.1995 * K3t / math.sqrt(n) + (0.031 * K3t * K3t
                                          + 0.327 * K4 * (1.0 / 12 + 1.0 / (4 * (1 - 3 * e) ** 2))) / n


@njit(cache=True)
def dgg_iid(e, n, K4, K3, K3t, lam):
    """Theorem A.3 (i.i.d. summands), eq. (17) with the remainder r₁,ₙ of eq. (21)."""
    a3 = abs(lam)
    w = (1 - 3 * e) ** 2
    e3 = math.exp(e * e / 6 + e * e / (2 * (1 - 3 * e)) ** 2)
    P2 = (48 * e * math.sqrt(K4 / n) + 4 * e * e * K4 / n
          + 96 * math.sqrt(2 * e) * a3 / (K4 ** 0.25 * n ** 0.25)
          + 32 * e * lam * lam / math.sqrt(K4 * n)
          + 16 * math.sqrt(2.0) * K4 ** 0.25 * a3 * e ** 1.5 / n ** 0.75)
    e2 = math.exp(e * e * (1.0 / 6 + 1 / (2 * w) + 2 * P2 / (576 * w)))
    denom = 2 * w * math.pi
    brace = K4 / 12 + 1 / (4 * w) + P2 / (576 * w)
    Rn = (_PSI / denom * K4 / (24 * n * n) * 8 * math.gamma(5.0)
          + _PSI / denom * K4 * K4 / (576 * n ** 3) * 16 * math.gamma(6.0)
          + _PSI / math.pi * e2 / (8 * n * n) * brace * 16 * math.gamma(6.0)
          + _PSI / denom * a3 / (6 * n ** 1.5) * 2 ** 0.5 * math.gamma(2.5)
          + _PSI / denom * lam * lam / (36 * n * n) * 8 * math.gamma(5.0)
          + _PSI / denom * K4 * a3 / (72 * n ** 2.5) * 2 ** 3.5 * math.gamma(5.5)
          + _PSI / math.pi * e2 * a3 / (12 * n ** 1.5) * brace * 2 ** 3.5 * math.gamma(5.5))
    mlg = min(math.sqrt(2 * e) * (n / K4) ** 0.25, 2 * math.sqrt(n) / K3t)
    r1 = ((14.1961 + 67.0415) * K3t ** 4 / (16 * math.pi ** 4 * n * n)
          + 4.3394 * a3 * K3t ** 3 / (8 * math.pi ** 3 * n * n)
          + Rn + 1.306 * (e2 - e3) * lam * lam / (36 * n)
          + a3 * (_upper_gamma_15(mlg) - _upper_gamma_15(2 * math.sqrt(n) / K3t)) / math.sqrt(n)
          + _PSI * 2 ** 2.5 * K3 / (3 * math.pi * math.sqrt(n))
          * (_upper_gamma_15(mlg * mlg / 8) - _upper_gamma_15(4 * n / (8 * K3t * K3t))))
    return _dgg_common(e, n, K4, K3t) + (0.054 * a3 * K3t + 0.037 * e3 * lam * lam) / n + r1


@njit(cache=True)
def dgg_inid(e, n, K4, K3, K3t, lam):
    """Theorem A.2 (independent, non-identical summands), eq. (11) with r₁,ₙ of eq. (15);
    inf when its Δ-term needs the generalised incomplete gamma (n/K₄ tiny: vacuous)."""
    a3 = abs(lam)
    w = (1 - 3 * e) ** 2
    P1 = (144 + 48 * e + 4 * e * e) / 576 + (96 * math.sqrt(2 * e) + 32 * e
                                             + 16 * math.sqrt(2.0) * e ** 1.5) / 576
    e1 = math.exp(e * e * (1.0 / 6 + 2 * P1 / w))
    denom = w * math.pi
    r = K4 / n
    Rn = (_PSI / (48 * denom) * r ** 1.5 * 8 * math.gamma(5.0)
          + _PSI / (24 * 24 * 2 * denom) * r * r * 16 * math.gamma(6.0)
          + _PSI * e1 / (2 * math.pi) * r * r * (1.0 / 24 + P1 / (2 * w)) ** 2 * 16 * math.gamma(6.0)
          + _PSI / (12 * denom) * r ** 1.25 * 2 ** 2.5 * math.gamma(4.5)
          + _PSI / (72 * denom) * r ** 1.5 * 8 * math.gamma(5.0)
          + _PSI / (144 * denom) * r ** 1.75 * 2 ** 3.5 * math.gamma(5.5)
          + _PSI * e1 / (6 * math.pi) * a3 * K4 / n ** 1.5 * (1.0 / 24 + P1 / (2 * w))
          * 16 * math.gamma(6.0))
    D = (1 - 4 * _CHI1 - math.sqrt(r)) / 2
    if D <= 0:
        return np.inf
    up = 2 * D * min(e * math.sqrt(n / K4), 2 * n / (K3t * K3t))
    lo = 4 * D * n / (K3t * K3t)
    curly = 0.5 * D ** -1.5 * abs(_lower_gamma_15(lo) - _lower_gamma_15(up))
    mlg = min(math.sqrt(2 * e) * (n / K4) ** 0.25, 2 * math.sqrt(n) / K3t)
    r1 = ((14.1961 + 67.0415) * K3t ** 4 / (16 * math.pi ** 4 * n * n)
          + 4.3394 * a3 * K3t ** 3 / (8 * math.pi ** 3 * n * n) + Rn
          + a3 * (_upper_gamma_15(mlg) - _upper_gamma_15(2 * math.sqrt(n) / K3t)) / math.sqrt(n)
          + _PSI * K3 * curly / (6 * math.pi * math.sqrt(n)))
    return _dgg_common(e, n, K4, K3t) + (0.054 * a3 * K3t + 0.037 * e1 * lam * lam) / n + r1


@njit(cache=True)
def _dgg_at(iid, k, n, K4, K3, K3t, lam):
    e = 0.005 * k
    return dgg_iid(e, n, K4, K3, K3t, lam) if iid else dgg_inid(e, n, K4, K3, K3t, lam)


@njit(cache=True)
def dgg_min(iid, n, K4, K3, K3t, lam):
    """min over ε ∈ {0.005, 0.010, …, 0.325} of the DGG bound (every ε gives a valid bound):
    every 8th grid point, then the fine grid within 7 points of the best of those (the
    bound is unimodal in ε; on 2 538 random inputs this equals the full 65-point minimum)."""
    best = np.inf
    kb = 1
    for k in range(1, 66, 8):
        v = _dgg_at(iid, k, n, K4, K3, K3t, lam)
        if v < best:
            best = v
            kb = k
    for k in range(max(1, kb - 7), min(65, kb + 7) + 1):
        if (k - 1) % 8 == 0:
            continue
        v = _dgg_at(iid, k, n, K4, K3, K3t, lam)
        if v < best:
            best = v
    return best


# ----------------------------------------------------------------------------------------
# Edgeworth tails and the ε(δ) search (docs/math.md §5), scalar kernels.
# K holds the composed cumulants (K₁..K₅); order 1, 2 or 3 correction brackets.
# ----------------------------------------------------------------------------------------
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)


@njit(cache=True)
def _bracket(z, g, k, l5, order):
    z2 = z * z
    out = g / 6.0 * (z2 - 1.0)
    if order >= 2:
        out += k / 24.0 * z * (z2 - 3.0) + g * g / 72.0 * z * (z2 * (z2 - 10.0) + 15.0)
    if order >= 3:
        he4 = z2 * (z2 - 6.0) + 3.0
        he6 = z2 * (z2 * (z2 - 15.0) + 45.0) - 15.0
        he8 = z2 * (z2 * (z2 * (z2 - 28.0) + 210.0) - 420.0) + 105.0
        out += l5 / 120.0 * he4 + g * k / 144.0 * he6 + g ** 3 / 1296.0 * he8
    return out


@njit(cache=True)
def _shape(K):
    """(s, γ, κ, λ) = (√K₂, K₃/s³, K₄/s⁴, K₅/s⁵) for K₂ > 0, dividing by s (or K₂) one
    factor at a time: s³ underflows to 0 for K₂ below ~1e-205 (a division by zero) and
    overflows above ~1e205 (γ silently 0); one factor at a time, a quotient overflows only
    when the standardised cumulant itself is beyond the double range."""
    s = math.sqrt(K[1])
    return s, K[2] / s / s / s, K[3] / K[1] / K[1], K[4] / K[1] / K[1] / s


@njit(cache=True)
def _tail_value(z, g, k, l5, order):
    """Q(z) + φ(z)·bracket(z), not clipped."""
    q = 0.5 * math.erfc(z / math.sqrt(2.0))
    ph = _INV_SQRT_2PI * math.exp(-0.5 * z * z)
    if ph == 0.0:
        # |z| > 38.6: the correction φ·polynomial is below the smallest double, and the
        # polynomial alone may overflow (0·inf = NaN, which min/max would clip to 0 unseen)
        return q
    return q + ph * _bracket(z, g, k, l5, order)


@njit(cache=True)
def ew_tail(x, K, order):
    """S̃(x) clipped to [0, 1]."""
    if K[1] <= 0.0:
        return 1.0 if x < K[0] else 0.0
    s, g, k, l5 = _shape(K)
    v = _tail_value((x - K[0]) / s, g, k, l5, order)
    return min(1.0, max(0.0, v))


@njit(cache=True)
def _exp_times(eps, s):
    if s <= 0.0:
        return 0.0
    v = eps + math.log(s)
    return math.exp(v) if v < 709.0 else np.inf


@njit(cache=True)
def ew_delta(eps, KX, KY, order):
    """δ̃(ε) = S̃_Y(ε) − e^ε S̃_X(ε) (may be negative)."""
    return ew_tail(eps, KY, order) - _exp_times(eps, ew_tail(eps, KX, order))


@njit(cache=True)
def ew_interval(eps, KX, KY, dX, dY, upper):
    """The DGG δ-bound at ε: upper (True) or lower end, in [0, 1]."""
    sy = ew_tail(eps, KY, 1)
    sx = ew_tail(eps, KX, 1)
    if upper:
        v = min(sy + dY, 1.0) - _exp_times(eps, max(sx - dX, 0.0))
    else:
        v = max(sy - dY, 0.0) - _exp_times(eps, min(sx + dX, 1.0))
    return min(max(v, 0.0), 1.0)


@njit(cache=True)
def _value(what, eps, KX, KY, order, dX, dY):
    if what == 0:
        return ew_delta(eps, KX, KY, order)
    return ew_interval(eps, KX, KY, dX, dY, what == 2)


@njit(cache=True)
def _bisect(what, a, b, delta, KX, KY, order, dX, dY):
    """Shrink [a, b] with value(a) > δ ≥ value(b) to width 1e-13·max(1, b)."""
    for _ in range(200):
        if b - a <= 1e-13 * max(1.0, abs(b)):
            break
        m = 0.5 * (a + b)
        if _value(what, m, KX, KY, order, dX, dY) > delta:
            a = m
        else:
            b = m
    return a, b


@njit(cache=True)
def ew_search(what, grid, delta, KX, KY, order, dX, dY, last):
    """Crossings of value(ε) = δ on a grid, refined by bisection.

    what: 0 = Edgeworth δ̃, 1 = DGG lower end, 2 = DGG upper end.
    last=True: the largest ε with value > δ (returns the left end of the final bracket,
    −1 when none, +inf when the last grid point is still above). last=False: the smallest
    ε with value ≤ δ (right end of the bracket; +inf when none, 0 when the first point).
    """
    n = grid.shape[0]
    if last:
        for i in range(n - 1, -1, -1):
            if _value(what, grid[i], KX, KY, order, dX, dY) > delta:
                if i == n - 1:
                    return np.inf
                a, b = _bisect(what, grid[i], grid[i + 1], delta, KX, KY, order, dX, dY)
                return a
        return -1.0
    for i in range(n):
        if not _value(what, grid[i], KX, KY, order, dX, dY) > delta:
            if i == 0:
                return 0.0
            a, b = _bisect(what, grid[i - 1], grid[i], delta, KX, KY, order, dX, dY)
            return b
    return np.inf


@njit(cache=True)
def _tails2(x, K0, s, g, k, l5, order, degenerate):
    """(S̃ at ``order``, S̃ at order 1), each clipped to [0, 1]."""
    if degenerate:
        v = 1.0 if x < K0 else 0.0
        return v, v
    z = (x - K0) / s
    q = 0.5 * math.erfc(z / math.sqrt(2.0))
    ph = _INV_SQRT_2PI * math.exp(-0.5 * z * z)
    if ph == 0.0:
        # as in _tail_value: no correction below the smallest double, no 0·inf
        v = min(1.0, max(0.0, q))
        return v, v
    b1 = g / 6.0 * (z * z - 1.0)
    b = _bracket(z, g, k, l5, order) if order > 1 else b1
    return min(1.0, max(0.0, q + ph * b)), min(1.0, max(0.0, q + ph * b1))


@njit(cache=True)
def ew_prepare(KX, KY, top, npts, order, dX, dY):
    """The search grid (npts points on [0, top]) and, on it, δ̃ (row 0) and the DGG lower
    and upper δ-bounds (rows 1, 2) — the same numbers as :func:`ew_delta` and
    :func:`ew_interval`, with the normal tail and density computed once per point."""
    grid = np.empty(npts)
    vals = np.empty((3, npts))
    dgx = KX[1] <= 0.0
    dgy = KY[1] <= 0.0
    sx, gx, kx, lx = (1.0, 0.0, 0.0, 0.0) if dgx else _shape(KX)
    sy, gy, ky, ly = (1.0, 0.0, 0.0, 0.0) if dgy else _shape(KY)
    step = top / (npts - 1)
    for i in range(npts):
        x = i * step if i < npts - 1 else top     # as numpy.linspace
        grid[i] = x
        tx, tx1 = _tails2(x, KX[0], sx, gx, kx, lx, order, dgx)
        ty, ty1 = _tails2(x, KY[0], sy, gy, ky, ly, order, dgy)
        if x < 700.0:
            # e^x·S for S ∈ [0, 1]: one exp per point (as _exp_times up to rounding)
            ex = math.exp(x)
            vals[0, i] = ty - ex * tx
            lo = max(ty1 - dY, 0.0) - ex * min(tx1 + dX, 1.0)
            up = min(ty1 + dY, 1.0) - ex * max(tx1 - dX, 0.0)
        else:
            vals[0, i] = ty - _exp_times(x, tx)
            lo = max(ty1 - dY, 0.0) - _exp_times(x, min(tx1 + dX, 1.0))
            up = min(ty1 + dY, 1.0) - _exp_times(x, max(tx1 - dX, 0.0))
        vals[1, i] = min(max(lo, 0.0), 1.0)
        vals[2, i] = min(max(up, 0.0), 1.0)
    return grid, vals


@njit(cache=True)
def _falsi(what, a, b, delta, KX, KY, order, dX, dY):
    """Shrink [a, b] with value(a) > δ ≥ value(b) to width 1e-13·max(1, b) (Illinois
    regula falsi, bisecting where it would not move inside the bracket)."""
    fa = _value(what, a, KX, KY, order, dX, dY) - delta
    fb = _value(what, b, KX, KY, order, dX, dY) - delta
    side = 0
    for _ in range(200):
        if b - a <= 1e-13 * max(1.0, abs(b)):
            break
        m = 0.5 * (a + b)
        if fa != fb:
            y = b - fb * (b - a) / (fb - fa)
            if a < y < b:
                m = y
        fm = _value(what, m, KX, KY, order, dX, dY) - delta
        if fm > 0:
            a, fa = m, fm
            if side == 1:
                fb *= 0.5
            side = 1
        else:
            b, fb = m, fm
            if side == -1:
                fa *= 0.5
            side = -1
    return a, b


@njit(cache=True)
def _shrink(what, a, b, delta, KX, KY, order, dX, dY):
    # δ̃ (smooth): regula falsi; the DGG bounds (kinks where a tail is clipped): bisection
    if what == 0:
        return _falsi(what, a, b, delta, KX, KY, order, dX, dY)
    return _bisect(what, a, b, delta, KX, KY, order, dX, dY)


@njit(cache=True)
def ew_search_grid(what, grid, vals, delta, KX, KY, order, dX, dY, last):
    """:func:`ew_search` on values precomputed by :func:`ew_prepare` (row ``what``)."""
    n = grid.shape[0]
    if last:
        for i in range(n - 1, -1, -1):
            if vals[what, i] > delta:
                if i == n - 1:
                    return np.inf
                a, b = _shrink(what, grid[i], grid[i + 1], delta, KX, KY, order, dX, dY)
                return a
        return -1.0
    for i in range(n):
        if not vals[what, i] > delta:
            if i == 0:
                return 0.0
            a, b = _shrink(what, grid[i - 1], grid[i], delta, KX, KY, order, dX, dY)
            return b
    return np.inf


@njit(cache=True)
def ew_non_monotone_vals(vals, floor):
    """:func:`ew_non_monotone` on δ̃ precomputed on the grid."""
    scale = 0.0
    for i in range(vals.shape[0]):
        scale = max(scale, abs(vals[i]))
    for i in range(1, vals.shape[0]):
        if vals[i - 1] < floor:
            break
        if vals[i] - vals[i - 1] > 1e-12 * max(scale, 1e-300):
            return True
    return False


@njit(cache=True)
def ew_non_monotone(grid, KX, KY, order, floor):
    """True when δ̃ increases somewhere on the grid (beyond rounding) where it is still
    above ``floor``: the far tail, where the expansion's polynomial terms outgrow the
    Gaussian and no query reads it, is not reported."""
    prev = ew_delta(grid[0], KX, KY, order)
    scale = abs(prev)
    vals = np.empty(grid.shape[0])
    vals[0] = prev
    for i in range(1, grid.shape[0]):
        vals[i] = ew_delta(grid[i], KX, KY, order)
        scale = max(scale, abs(vals[i]))
    for i in range(1, grid.shape[0]):
        if vals[i - 1] < floor:
            break
        if vals[i] - vals[i - 1] > 1e-12 * max(scale, 1e-300):
            return True
    return False


@njit(cache=True)
def ew_negative_density(K, order):
    """True when the Edgeworth density −dS̃/dx is negative somewhere on z ∈ [−10, 10]."""
    if K[1] <= 0.0:
        return False
    s, g, k, l5 = _shape(K)
    for i in range(201):
        z = -10.0 + 0.1 * i
        z2 = z * z
        v = 1.0 + g / 6.0 * z * (z2 - 3.0)
        if order >= 2:
            v += k / 24.0 * (z2 * (z2 - 6.0) + 3.0) + g * g / 72.0 * (z2 * (z2 * (z2 - 15.0) + 45.0) - 15.0)
        if order >= 3:
            he5 = z * (z2 * (z2 - 10.0) + 15.0)
            he7 = z * (z2 * (z2 * (z2 - 21.0) + 105.0) - 105.0)
            he9 = z * (z2 * (z2 * (z2 * (z2 - 36.0) + 378.0) - 1260.0) + 945.0)
            v += l5 / 120.0 * he5 + g * k / 144.0 * he7 + g ** 3 / 1296.0 * he9
        if v < 0.0:
            return True
    return False
