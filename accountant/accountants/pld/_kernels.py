"""numba kernels of the PLD accountant: one-step profiles, CGF scans, spectra.

Notation (docs/math.md §1, §4): grid ε_i = e0 + i·h, u_i = e^{ε_i}; cell i is the loss
interval (ε_i, ε_{i+1}]. For one step with loss L (X = L under P), the privacy loss answers
the cell integrals (``pld_cells``):

* ``a_i = E_P[expm1(L − ε_i); cell i] / expm1(h)`` and
  ``b_i = E_P[e^h − e^{L−ε_i}; cell i] / expm1(h)``, so a_i + b_i = P[cell i] and
  a_i/(a_i+b_i) is the P-mean position of e^L inside [u_i, u_{i+1}] (in units of Δu_i).
"""
from __future__ import annotations

import math

import numpy as np
from numba import njit



@njit(cache=True)
def profiles(a, b, e0, h, Fb, Qb, r0, Pt, dtop, slope0=-1.0):
    """Upper (connect-the-dots) and lower (lowered-chord) one-step PMFs on the grid.

    ``slope0`` is −(total P-mass) of the input: −1 for a pair; a sub-measure (one part of
    a grid with coarse tails, docs/math.md §4.9) has the left line W − Π·u instead of
    1 − u, and its lower PMF keeps its total Π.

    Returns ``(pi_up, pi_lo, ok)``: P-masses at the grid points (the Q-mass at ε_i is
    e^{ε_i}·π_i); the upper PMF also has the Q-mass ``dtop`` at +∞ (added by the caller).
    ``ok`` is False when the lower construction degenerates (grid far too coarse).
    See :mod:`accountant.accountants.pld.bracket` for the proofs.
    """
    ncell = a.shape[0]
    n = ncell  # last point index
    npts = ncell + 1
    em1h = math.expm1(h)
    u = np.empty(npts)
    for i in range(npts):
        u[i] = math.exp(e0 + i * h)
    pi_up = np.zeros(npts)
    for i in range(npts):
        v = 0.0
        if i < ncell:
            v += b[i]
        if i > 0:
            v += a[i - 1]
        pi_up[i] = v
    pi_up[0] += Qb / u[0]
    pi_up[n] += Pt
    # Cumulative P-masses below / above each grid point.
    F = np.empty(npts)
    S = np.empty(npts)
    F[0] = Fb
    for i in range(ncell):
        F[i + 1] = F[i] + a[i] + b[i]
    S[n] = Pt
    for i in range(ncell - 1, -1, -1):
        S[i] = S[i + 1] + a[i] + b[i]
    # r_i = E_P[(u_i − e^L)_+], f_i = E_P[(e^L − u_i)_+] = δ(ε_i), by positive recursions.
    r = np.empty(npts)
    f = np.empty(npts)
    r[0] = r0
    for i in range(ncell):
        r[i + 1] = r[i] + u[i] * em1h * (F[i] + b[i])
    f[n] = dtop
    for i in range(ncell - 1, -1, -1):
        f[i] = f[i + 1] + u[i] * em1h * (S[i + 1] + a[i])
    # Largest chord-minus-profile gap per cell: ≤ Δu·a·b/(a+b) (tangents at both ends).
    gap = np.zeros(ncell)
    for i in range(ncell):
        s = a[i] + b[i]
        if s > 0:
            gap[i] = u[i] * em1h * (a[i] / s) * b[i]
    m = np.empty(npts)
    for i in range(npts):
        g1 = gap[i - 1] if i > 0 else 0.0
        g2 = gap[i] if i < ncell else 0.0
        m[i] = max(g1, g2)
    m[n] = max(m[n], f[n])
    # Left region: points forced onto the line 1 − u; right region: onto 0.
    j = 0
    for i in range(npts):
        if e0 + i * h < 0.0 and r[i] <= m[i]:
            j = i
    jl = j + 1
    k = -1
    for i in range(jl + 1, npts):
        if f[i] <= m[i]:
            k = i
            break
    if k < 0 or k - 1 <= jl:
        return pi_up, np.zeros(npts), False
    kr = k - 1
    mp = m.copy()
    for i in range(0, jl + 1):
        mp[i] = r[i]
    for i in range(kr, npts):
        mp[i] = f[i]
    # Slopes of the lowered interpolant; segment −1 is [0, u_0].
    nseg = ncell + 1
    sl = np.empty(nseg)
    wt = np.empty(nseg)
    sl[0] = slope0
    wt[0] = u[0]
    for i in range(ncell):
        if i + 1 <= jl:
            sl[i + 1] = slope0
        elif i >= kr:
            sl[i + 1] = 0.0
        else:
            du = u[i] * em1h
            sl[i + 1] = -(S[i + 1] + a[i]) - (mp[i + 1] - mp[i]) / du
        wt[i + 1] = u[i] * em1h
    # Greatest convex minorant: pool adjacent violators on the slopes (weights = widths).
    bs = np.empty(nseg)  # block slope
    bw = np.empty(nseg)  # block weight
    bn = np.empty(nseg, dtype=np.int64)  # block segment count
    nb = 0
    for i in range(nseg):
        bs[nb] = sl[i]
        bw[nb] = wt[i]
        bn[nb] = 1
        nb += 1
        while nb > 1 and bs[nb - 2] > bs[nb - 1]:
            w = bw[nb - 2] + bw[nb - 1]
            bs[nb - 2] = (bs[nb - 2] * bw[nb - 2] + bs[nb - 1] * bw[nb - 1]) / w
            bw[nb - 2] = w
            bn[nb - 2] += bn[nb - 1]
            nb -= 1
    gs = np.empty(nseg)
    pos = 0
    pooled = nb < nseg
    for q in range(nb):
        for _ in range(bn[q]):
            gs[pos] = bs[q]
            pos += 1
    pi_lo = np.zeros(npts)
    for i in range(npts):
        right = gs[i + 1] if i + 1 < nseg else 0.0
        left = gs[i]
        if not pooled and i > jl and i < kr:
            # No pooling: the jump equals π_up minus the second difference of m (exact form).
            du0 = u[i - 1] * em1h
            du1 = u[i] * em1h
            v = pi_up[i] - ((mp[i + 1] - mp[i]) / du1 - (mp[i] - mp[i - 1]) / du0)
        else:
            v = right - left
        pi_lo[i] = v if v > 0.0 else 0.0
    return pi_up, pi_lo, True


@njit(cache=True)
def log_cgf(logw, ell, t):
    """(K, K', K'') of the discrete measure with log-masses ``logw`` at losses ``ell``:
    K(t) = log Σ w_i e^{t ℓ_i}."""
    best = -np.inf
    for i in range(logw.shape[0]):
        v = logw[i] + t * ell[i]
        if v > best:
            best = v
    if best == -np.inf:
        return -np.inf, 0.0, 0.0
    s0 = 0.0
    s1 = 0.0
    s2 = 0.0
    for i in range(logw.shape[0]):
        e = math.exp(logw[i] + t * ell[i] - best)
        s0 += e
        s1 += e * ell[i]
        s2 += e * ell[i] * ell[i]
    m1 = s1 / s0
    return best + math.log(s0), m1, max(s2 / s0 - m1 * m1, 0.0)


@njit(cache=True)
def log_cgf_each(logw, ell, starts, t):
    """(K_m, K_m′, K_m″)(t) of each measure m stored back to back (as
    :func:`log_cgf_sum`), as three arrays."""
    nm = starts.shape[0] - 1
    K = np.empty(nm)
    d1 = np.empty(nm)
    d2 = np.empty(nm)
    for m in range(nm):
        a = starts[m]
        b = starts[m + 1]
        K[m], d1[m], d2[m] = log_cgf(logw[a:b], ell[a:b], t)
    return K, d1, d2


@njit(cache=True)
def log_cgf_sum(logw, ell, starts, counts, t):
    """Σ_m T_m·(K_m, K_m′, K_m″)(t) of the measures m stored back to back
    (``logw[starts[m]:starts[m+1]]``, T_m = ``counts[m]``): one call instead of one per
    measure (a merged trainer history has hundreds of short PMFs, and the call overhead
    was most of its CGF time). The same sums, in the same order, as :func:`log_cgf`."""
    Ks, d1s, d2s = log_cgf_each(logw, ell, starts, t)
    K = 0.0
    d1 = 0.0
    d2 = 0.0
    for m in range(counts.shape[0]):
        K += counts[m] * Ks[m]
        d1 += counts[m] * d1s[m]
        d2 += counts[m] * d2s[m]
    return K, d1, d2


@njit(cache=True)
def delta_scan_part(w, lam, h, out, shift, k_hi, k_lo, state, off):
    """Scaled δ at the points ℓ_k = e_lo + k·h, k = k_hi down to k_lo, of the measure with
    masses w_k·e^{−λℓ_k + log_c} (a tilted representation): out[k] = d_k with
    d_k·e^{shift[k]} = δ(ℓ_k)·e^{λℓ_k − log_c}, where δ(ℓ_k) = Σ_{j>k} ω_j (1 − e^{ℓ_k − ℓ_j}).

    Positive-term recursion: with S̃_k = Σ_{j>k} w_j e^{−λ(ℓ_j − ℓ_k)}:
    S̃_k = e^{−λh}(S̃_{k+1} + w_{k+1}),  d_k = e^{−(1+λ)h} d_{k+1} + (1 − e^{−h}) S̃_k.
    δ(ℓ_k) is non-increasing in k, so callers can bisect on log d_k + shift − λℓ_k + log_c.
    It runs from ``state`` = (S̃_{k_hi+1}, d_{k_hi+1}, shift) (zeros at the top of the
    window, with d_{n−1} = 0), updated in place, so that a caller may scan only as far down
    as it reads. The masses are cyclic: w_k is ``w[(k + off) % n]`` (an inverse FFT's
    output, not rolled)."""
    n = w.shape[0]
    el = math.exp(-lam * h)
    e1 = math.exp(-(1.0 + lam) * h)
    om = -math.expm1(-h)
    St = state[0]
    d = state[1]
    sh = state[2]
    big = 1e200
    lbig = 460.51701859880916  # log(1e200)
    for k in range(k_hi, k_lo - 1, -1):
        j = k + 1 + off
        wk = w[j - n if j >= n else j]
        if wk > 0.0:
            if sh != 0.0:
                la = math.log(wk) - sh
                while la > 600.0:
                    # The incoming mass dwarfs the stored scale: rescale down.
                    d /= big
                    St /= big
                    sh += lbig
                    la -= lbig
                wk = math.exp(la)
        else:
            wk = 0.0
        St = el * (St + wk)
        d = e1 * d + om * St
        # Rescale before e^{-(1+λ)h} per step underflows the scaled values (large tilts).
        if 0.0 < d < 1e-200:
            d *= big
            St *= big
            sh -= lbig
        out[k] = d
        shift[k] = sh
    state[0] = St
    state[1] = d
    state[2] = sh


@njit(cache=True)
def coarse_blocks(logw, ell, block):
    """Blocks of ``block`` consecutive bins: (log total mass, min ℓ, max ℓ). With ℓ_max for
    t ≥ 0 (ℓ_min for t < 0) the block sums give upper bounds on the CGF for Chernoff bounds."""
    n = logw.shape[0]
    nb = (n + block - 1) // block
    lm = np.empty(nb)
    emin = np.empty(nb)
    emax = np.empty(nb)
    for k in range(nb):
        s = k * block
        e = min(n, s + block)
        best = -np.inf
        for i in range(s, e):
            if logw[i] > best:
                best = logw[i]
        if best == -np.inf:
            lm[k] = -np.inf
        else:
            acc = 0.0
            for i in range(s, e):
                acc += math.exp(logw[i] - best)
            lm[k] = best + math.log(acc)
        emin[k] = ell[s]
        emax[k] = ell[e - 1]
    return lm, emin, emax


@njit(cache=True)
def spectrum_accumulate(X, T, logabs, phase, logU, rel, dX, u):
    """Add T·log X to (logabs, phase) and the round-off bookkeeping of the power X^T:
    logU += T·log min(1, |X| + dX) (a bound on |X^T| of the exact spectrum) and
    rel += T·(dX/(|X| + dX) + 4u) (relative error of the computed power, first order)."""
    # |X| + dX < e^{−800/T} alone puts the bin below e^{−800} (logU ≤ 0): tested on |X|²,
    # without a logarithm (at T ≥ 1 000 all but a few hundred of 10⁵ bins end here)
    t0 = math.exp(-800.0 / T) - dX
    thr2 = t0 * t0 if t0 > 0.0 else -1.0
    for k in range(X.shape[0]):
        if logU[k] < -800.0:
            # |X^T| of every factor so far is below e^{-800}: Y_k and its error vanish.
            logabs[k] = -np.inf
            continue
        re = X[k].real
        im = X[k].imag
        if re * re + im * im < thr2:
            logU[k] = -np.inf
            logabs[k] = -np.inf
            continue
        a = math.hypot(re, im)
        b = a + dX
        if b > 1.0:
            b = 1.0
        logU[k] += T * math.log(b)
        rel[k] += T * (dX / b + 4.0 * u)
        if logU[k] < -800.0:
            logabs[k] = -np.inf
            continue
        if a > 0:
            logabs[k] += T * math.log(a)
            phase[k] += T * math.atan2(im, re)
        else:
            logabs[k] = -np.inf


@njit(cache=True)
def spectrum_finish(logabs, phase, logU, rel, n, dX, u, c_inv):
    """(Y, e, top): Y = exp(logabs + i·phase), e the per-bin round-off bound of irfft(Y),
    (1/n)·Σ_k (|ΔY_k| + c_inv·|Y_k|) over the full (Hermitian) spectrum, and top the
    largest k with Y_k ≠ 0 (−1 if none): at T ≥ 1 000 steps a few hundred of 10⁵ bins."""
    m = logabs.shape[0]
    Y = np.zeros(m, dtype=np.complex128)
    tot = 0.0
    top = -1
    for k in range(m):
        w = 1.0 if (k == 0 or (n % 2 == 0 and k == m - 1)) else 2.0
        lu = logU[k]
        if lu > -745.0:
            U = math.exp(lu)
            tot += w * U * (rel[k] + c_inv)
        la = logabs[k]
        # Below e^{-600} Y_k is dropped (subnormal intermediates slow the inverse FFT ~10×);
        # the dropped |Y_k| ≤ e^{-600} is covered by the error total.
        tot += w * 1e-260
        if la > -600.0:
            r = math.exp(la)
            # Reduce the phase before sin/cos (|phase| may reach T·π).
            ph = phase[k] - 2.0 * math.pi * math.floor(phase[k] / (2.0 * math.pi))
            Y[k] = complex(r * math.cos(ph), r * math.sin(ph))
            top = k
    return Y, tot / n, top


@njit(cache=True)
def spectral_delta(Y, wr, ws, ir, is_, n, off, J, ks, lh, l1h, out):
    """out[i] = D_k, k = ks[i]: the scaled δ of :func:`delta_scan_part`,
    D_k = Σ_{j=k+1}^{J} c_j (e^{−λh(j−k)} − e^{−(1+λ)h(j−k)}), read from the spectrum
    itself, with c_j = irfft(Y)[(j + off) mod n] and Y_f = 0 for f ≥ K = len(Y) < n/2
    (docs/math.md §4.11). Per frequency the sum over j is geometric:

        Σ_{j=k+1}^{J} ω^j ρ^{j−k} = ω^k·ωρ(1 − (ωρ)^N)/(1 − ωρ),   ω = e^{2πif/n}, N = J − k,

    with ``wr`` = ωρ, ``ir`` = 1/(1 − ωρ) (ρ = e^{−λh}) and ``ws``, ``is_`` the same for
    e^{−(1+λ)h}; lh = λh, l1h = (1 + λ)h. The powers ω^{f(off+k)} and ω^{fN} are taken by
    products along f, restarted every 32 frequencies from exactly reduced angles."""
    K = Y.shape[0]
    tau = 2.0 * math.pi
    for i in range(ks.shape[0]):
        k = ks[i]
        N = J - k
        if N <= 0:
            out[i] = 0.0
            continue
        rN = math.exp(-lh * N)
        sN = math.exp(-l1h * N)
        pa = (off + k) % n
        pb = N % n
        a1 = complex(math.cos(tau * pa / n), math.sin(tau * pa / n))
        b1 = complex(math.cos(tau * pb / n), math.sin(tau * pb / n))
        a = complex(1.0, 0.0)
        b = complex(1.0, 0.0)
        tot = 0.0
        for f in range(K):
            if f % 32 == 0:
                ta = tau * ((f * pa) % n) / n
                tb = tau * ((f * pb) % n) / n
                a = complex(math.cos(ta), math.sin(ta))
                b = complex(math.cos(tb), math.sin(tb))
            elif f > 0:
                a = a * a1
                b = b * b1
            yf = Y[f]
            if yf.real == 0.0 and yf.imag == 0.0:
                continue
            t = yf * a * (wr[f] * (1.0 - rN * b) * ir[f] - ws[f] * (1.0 - sN * b) * is_[f])
            tot += t.real if f == 0 else 2.0 * t.real
        out[i] = tot / n


@njit(cache=True)
def mixture_accumulate(XT, ia, ib, wa, cnt, logabs, phase, logU, rel, dX, u, lcut):
    """:func:`spectrum_accumulate` for factors that are mixtures of two transforms: factor i
    is (wa_i·X_{ia_i} + (1 − wa_i)·X_{ib_i})^{cnt_i}, with XT[k, r] the transform of PMF r
    at bin k (docs/math.md §4.10). Bin by bin, the factors are multiplied as complex
    numbers (one log and one atan2 per bin, not per factor) with the same bookkeeping:
    logU += cnt·log min(1, |z| + dX), rel += cnt·(dX/(|z| + dX) + 4u) per factor (each
    complex product adds ≤ 4u, as each power did). A bin whose bound U falls below e^lcut
    (far below the round-off of the live bins) is dropped: its value is set to 0 and rel
    to ≥ 1, so the error total (U·rel) still covers what was dropped (the remaining
    factors can only shrink |Y|); this stops a dying bin after a few factors."""
    nb = XT.shape[0]
    nm = ia.shape[0]
    for k in range(nb):
        if logU[k] < lcut:
            logabs[k] = -np.inf
            continue
        pr = 1.0
        pi = 0.0
        sp = 0.0            # log scale of (pr, pi)
        ub = 1.0
        su = logU[k]        # log scale of ub
        r = rel[k]
        zero = False
        dead = False
        for i in range(nm):
            xa = XT[k, ia[i]]
            xb = XT[k, ib[i]]
            w = wa[i]
            zr = w * xa.real + (1.0 - w) * xb.real
            zi = w * xa.imag + (1.0 - w) * xb.imag
            a = math.sqrt(zr * zr + zi * zi)
            b = a + dX
            if b > 1.0:
                b = 1.0
            c = cnt[i]
            r += c * (dX / b + 4.0 * u)
            if c == 1.0:
                ub *= b
            else:
                ub *= b ** c
            if a > 0.0 and not zero:
                if c == 1.0:
                    t = pr * zr - pi * zi
                    pi = pr * zi + pi * zr
                    pr = t
                else:
                    # z^c in polar form (c a whole count)
                    la = c * math.log(a)
                    th = c * math.atan2(zi, zr)
                    m = math.exp(la + 700.0)   # scaled: e^{la} may underflow
                    zr2 = m * math.cos(th)
                    zi2 = m * math.sin(th)
                    t = pr * zr2 - pi * zi2
                    pi = pr * zi2 + pi * zr2
                    pr = t
                    sp -= 700.0
            else:
                zero = True
            if ub < 1e-8:
                su += math.log(ub)
                ub = 1.0
                if su < lcut:
                    dead = True
                    break
            mag = abs(pr) + abs(pi)
            if not zero and mag == 0.0:
                zero = True
            elif not zero and (mag < 1e-150 or mag > 1e150):
                lm = math.log(mag)
                pr /= mag
                pi /= mag
                sp += lm
        lu = su + math.log(ub)
        if dead or lu < lcut:
            logU[k] = lu
            logabs[k] = -np.inf
            rel[k] = r + 1.0
            continue
        logU[k] = lu
        rel[k] = r
        if zero:
            logabs[k] = -np.inf
        else:
            logabs[k] += sp + 0.5 * math.log(pr * pr + pi * pi)
            phase[k] += math.atan2(pi, pr)
