"""Composition for the PLD accountant (docs/math.md §4.3, §4.4, §4.5): the one-step PMFs of a
direction (:class:`_Parts`), the exponentially tilted FFT window that holds the answer
(:func:`_window`), the composed upper and lower PLDs with their certified FFT and
truncation error terms (:class:`_Composed`), and everything for one direction at one grid
step (:class:`_Direction`). The proofs are in :mod:`accountant.accountants.pld.bracket`.

Size: one class per stage of one composition, plus the array twins of the two δ bounds
that the trade-off curves read at hundreds of ε (docs/math.md §15.2); splitting them from
their scalar originals would put one formula in two modules.
"""
from __future__ import annotations

import math
from typing import Optional

import numpy as np
from scipy import fft as sfft

from ...loss import loss_for
from . import _kernels as _kp
from .onestep import _GridTooLarge, _one_step  # noqa: F401 (_GridTooLarge: raised through)

_U = 2.0 ** -52            # unit round-off (generous: 2u)
_FFT_C = 8.0               # per-stage relative error constant of the FFT bound
_QUAD_REL = 5e-13          # relative margin per step for the one-step quadrature
_ETA = 1e-11               # tilted mass allowed outside the FFT window (each side)
_MAX_WINDOW = 1 << 22      # FFT length of the composed window
_PROXY_LEN = 1024          # cells per PMF of a search stand-in (_Parts.proxy)
_FLAT_MIN = 8              # from this many PMFs, F runs in one kernel call
_PROXY_TOTAL = 1 << 16     # cells of all PMFs' stand-ins together (≥ 64 per PMF)
# δ is read from the spectrum (docs/math.md §4.11) when at most this many of its lowest
# bins are non-zero (and ≤ n/16), and λh is at least _SPEC_MIN_LH (its error term grows
# as 1/(λh))
_SPEC_MAX_K = 2048
_SPEC_MIN_LH = 1e-6
_SPEC_REL = 1e-6           # … while its own error terms are ≤ this part of D (upper side)
_SPEC_REL_LO = 1e-4        # … (lower side: see _Composed._spec_d)


class _Parts:
    """The finite parts of the one-step PLDs of one direction and one side, with counts:
    ``items`` holds (grid indices, log-masses, losses, count) per mechanism."""

    # {t: [K_m(t)]} of the last exact F calls, for :meth:`_spectra_each` (F assigns a
    # fresh dict before adding to it, so the class default is never mutated)
    _last_K = None

    def __init__(self, items, side, h):
        self.h = h
        self.items = []
        for one, T in items:
            logw = one.logw_up if side == "up" else one.logw_lo
            keep = np.isfinite(logw)
            idx = np.nonzero(keep)[0]
            if idx.size == 0:
                continue
            s, e = idx[0], idx[-1] + 1
            if 4 * idx.size < 3 * (e - s):
                # a split grid (coarse tails, onestep._build_split) is mostly empty points:
                # keep the masses only, with their grid indices
                pos = one.i0 + idx
                lw = np.ascontiguousarray(logw[idx])
            else:
                pos = one.i0 + s + np.arange(e - s)
                lw = np.ascontiguousarray(logw[s:e])
            self.items.append((pos, lw, pos * h, T))
        self.steps = sum(T for *_, T in self.items)
        self._proxy = None
        self._flat = None

    @property
    def proxy(self) -> "_Parts":
        """A short stand-in for *searching* (tilts, window and Chernoff parameters): each
        long PMF summed in blocks of ≤ _PROXY_LEN cells, every block replaced by two
        half-masses at its mean ± its standard deviation (mass, mean and variance kept, so
        each step's K is off by fourth-order terms: a block's mass at its mean alone put
        T·t²·var/2 into F, a 7 % wrong tilt at q = 1e-3, T = 1e5). It proves nothing:
        every bound is evaluated with the exact F at the parameter the search found.
        (With F taking 85 passes over 10⁵-point PMFs per query, the searches were 30 % of
        a fine-grid query.)"""
        if self._proxy is None:
            # (many PMFs — a merged trainer history — get shorter stand-ins: the searches
            # ran 441 F passes over 313 PMFs of ~2 000 cells, a fifth of such a query)
            self._proxy = self.stand_in(
                min(_PROXY_LEN, max(64, _PROXY_TOTAL // max(len(self.items), 1))))
        return self._proxy

    def stand_in(self, plen: int) -> "_Parts":
        """The stand-in of :attr:`proxy` with blocks of ≤ 1/plen of each PMF's cells
        (``self`` when every PMF is short already)."""
        if all(lw.shape[0] <= 2 * plen for _, lw, _, _ in self.items):
            return self     # short already: the search runs on the exact F once
        px = _Parts((), "up", self.h)
        for i0, lw, ell, T in self.items:
            if lw.shape[0] > 2 * plen:
                B = -(-lw.shape[0] // plen)
                top = float(lw.max())
                w = np.exp(lw - top)
                starts = np.arange(0, lw.shape[0], B)
                x = ell - np.repeat(ell[starts], np.diff(np.append(starts, lw.shape[0])))
                w0 = np.add.reduceat(w, starts)
                keep = w0 > 0
                w0 = w0[keep]
                m1 = np.add.reduceat(w * x, starts)[keep] / w0
                var = np.maximum(np.add.reduceat(w * x * x, starts)[keep] / w0 - m1 * m1,
                                 0.0)
                mid = ell[starts][keep] + m1
                sd = np.sqrt(var)
                lw = np.repeat(np.log(0.5 * w0) + top, 2)
                ell = np.column_stack((mid - sd, mid + sd)).ravel()
            px.items.append((None, np.ascontiguousarray(lw), np.ascontiguousarray(ell), T))
        px.steps = self.steps
        px._proxy = px
        px._flat = None
        return px

    def support(self):
        """(largest, −smallest) loss of the composition: Σ_m T_m·(top, bottom of PMF m)."""
        return (sum(T * ell[-1] for *_, ell, T in self.items),
                -sum(T * ell[0] for *_, ell, T in self.items))

    def top_index(self) -> int:
        """Grid index of the composition's largest finite loss."""
        return sum(T * int(pos[-1]) for pos, _, _, T in self.items)

    def accumulate(self, lam, n, logabs, phase, logU, rel):
        """Add every factor's λ-tilted, normalised PMF, folded onto n cyclic bins and
        transformed (rfft), raised to its count, to the log-spectrum (logabs, phase) with
        its round-off bookkeeping (logU, rel; docs/math.md §4.4). Returns (F(λ), dropped):
        tilted masses below 1e-280 are left out (subnormal inputs slow the FFT ~10×), their
        total is ``dropped``."""
        each = self._spectra_each(lam, n)
        dX = _FFT_C * max(1.0, math.log2(n)) * _U
        F0 = dropped = 0.0
        for (X, K, d), (*_, T) in zip(each, self.items):
            _kp.spectrum_accumulate(X, float(T), logabs, phase, logU, rel, dX, _U)
            F0 += T * K
            dropped += T * d
        return F0, dropped

    def _spectra_each(self, lam, n):
        """[(X, K(λ), dropped tilted mass)] per factor (see :meth:`accumulate`)."""
        Ks = (self._last_K or {}).get(lam) or [None] * len(self.items)
        return [_spectrum(i0, lw, ell, lam, n, K)
                for (i0, lw, ell, _), K in zip(self.items, Ks)]

    def F(self, t):
        """F(t) = Σ_m T_m K_m(t) of the discrete PLDs, with F′ and F″."""
        if len(self.items) >= _FLAT_MIN:
            if self._flat is None:
                lens = [lw.shape[0] for _, lw, _, _ in self.items]
                self._flat = (np.concatenate([lw for _, lw, _, _ in self.items]),
                              np.concatenate([ell for _, _, ell, _ in self.items]),
                              np.concatenate(([0], np.cumsum(lens))).astype(np.int64),
                              np.array([float(T) for *_, T in self.items]))
            return _kp.log_cgf_sum(*self._flat, t)
        K = d1 = d2 = 0.0
        ks = []
        for _, lw, ell, T in self.items:
            k, k1, k2 = _kp.log_cgf(lw, ell, t)
            ks.append(k)
            K += T * k
            d1 += T * k1
            d2 += T * k2
        # (each factor's K(t), kept for a transform at the same t: the window search ends
        # with F(λ) at the tilt composed, and a pass over a 10⁵-point PMF costs ~0.2 ms)
        if self._last_K is None or len(self._last_K) >= 8:
            self._last_K = {}
        self._last_K[t] = ks
        return K, d1, d2


def _spectrum(i0, lw, ell, lam, n, K=None):
    """(X, K(λ), dropped): the rfft of one PMF (log Q-masses ``lw`` at grid indices ``i0``,
    losses ``ell``) λ-tilted, normalised and folded onto n cyclic bins; tilted masses below
    1e-280 are left out (subnormal inputs slow the FFT ~10×), ``dropped`` is their total.
    ``K``: K(λ) when the caller has it already."""
    if K is None:
        K = _kp.log_cgf(lw, ell, lam)[0]
    wt = np.exp(lw + lam * ell - K)
    d = 0.0
    tiny = wt < 1e-280
    if tiny.any():
        d = float(wt[tiny].sum()) + 1e-280 * int(tiny.sum())
        wt[tiny] = 0.0
    pos = i0 % n
    x = np.bincount(pos, weights=wt, minlength=n) if lw.shape[0] > n else None
    if x is None:
        x = np.zeros(n)
        x[pos] = wt
    return sfft.rfft(x), K, d


def _solve_increasing(fn, target, lo, hi, rtol=1e-3, max_iter=40):
    """x in [lo, hi] with fn(x) ≈ target for increasing fn (bisection in log scale once
    bracketed, then a few regula-falsi steps); precision only matters for centring."""
    flo, fhi = fn(lo) - target, fn(hi) - target
    for _ in range(max_iter):
        if hi - lo <= rtol * hi:
            break
        if math.isfinite(flo) and math.isfinite(fhi) and fhi != flo:
            x = lo - flo * (hi - lo) / (fhi - flo)
            # Keep the step inside the middle 80 % so that the bracket shrinks.
            x = min(max(x, lo + 0.1 * (hi - lo)), hi - 0.1 * (hi - lo))
        else:
            x = 0.5 * (lo + hi)
        fx = fn(x) - target
        if fx < 0:
            lo, flo = x, fx
        else:
            hi, fhi = x, fx
    return 0.5 * (lo + hi)


def _saddle_lambda_for_eps(parts, eps):
    """λ ≥ 0 with F′(λ) = ε (the tilt centring the composition at ε)."""
    parts = parts.proxy      # any λ ≥ 0 is valid: this only centres the window
    if parts.F(0.0)[1] >= eps:
        return 0.0
    hi = 1.0
    while parts.F(hi)[1] < eps:
        hi *= 4
        if hi > 1e4:
            return 0.0  # ε beyond the support's bulk: see _saddle_lambda_for_delta
    return _solve_increasing(lambda t: parts.F(t)[1], eps, 0.0, hi)


def _saddle_lambda_for_delta(parts, delta):
    """λ whose saddle-point estimate of δ(F′(λ)) is δ (only used to centre the window)."""
    parts = parts.proxy
    ld = math.log(delta)

    def g(t):
        K, k1, k2 = parts.F(t)
        return -(K - t * k1 - math.log(t * (1 + t)) - 0.5 * math.log(2 * math.pi * max(k2, 1e-300)))

    lo, hi = 1e-4, 1.0
    if g(lo) >= -ld:
        return 0.0
    while g(hi) < -ld:
        lo, hi = hi, hi * 4
        if hi > 1e6:
            # No saddle point (δ sits on an atom at the top of the support, e.g. Laplace):
            # fall back on the Chernoff-optimal tilt argmin_t (F(t) − log δ)/t.
            return _chernoff_tilt(parts, delta)
    return _solve_increasing(g, -ld, lo, hi, rtol=2e-2)


def _chernoff_tilt(parts, delta):
    parts = parts.proxy
    ld = math.log(delta)
    ts = np.geomspace(1e-3, 1e5, 25)
    vals = [(parts.F(t)[0] - ld) / t for t in ts]
    return float(ts[int(np.argmin(vals))])


def _chernoff_eps(parts, ld, with_t=False):
    """Upper bound on ε(e^ld) of the composed upper PLD without an FFT:
    δ(ε) ≤ Q[L > ε] ≤ e^{F(t) − tε} for every t > 0 (F includes no +∞ mass; added apart).
    The same bound read the other way: the Q-mass above the returned ε is ≤ e^ld. With
    ``with_t``, (ε, t) with t the tilt that proves it."""
    def b(t, P=parts.proxy):
        return (P.F(t)[0] - ld) / t
    # t searched on the stand-in (parts.proxy); the bound is the exact F at the best t.
    ts = list(np.geomspace(0.05, 200.0, 9))
    vals = [b(t) for t in ts]
    i = int(np.argmin(vals))
    for t in np.geomspace(ts[max(i - 1, 0)], ts[min(i + 1, len(ts) - 1)], 7)[1:-1]:
        ts.append(t)
        vals.append(b(t))
    t = ts[int(np.argmin(vals))]
    eps = float(b(t, parts))
    return (eps, float(t)) if with_t else eps


def _window(parts, lam, le):
    """Chernoff window [W_lo, W_hi] of the λ-tilted composition: tilted mass ≤ e^le on each
    side, since P̃[S > W] ≤ exp(F(λ+s) − F(λ) − sW) for every s > 0 (and likewise below),
    with s searched from the Gaussian guess; never beyond the support of the composition."""
    F0, m1, var = parts.F(lam)
    sd = math.sqrt(max(var, 1e-300))
    z = math.sqrt(-2 * le)
    bounds = []
    # The composed support ends hold every mass: a window end needs go no further.
    support = parts.support()
    px = parts.proxy
    F0p = px.F(lam)[0] if px is not parts else F0
    for sign, edge in zip((1.0, -1.0), support):
        # sign·W(s) = (F(λ + sign·s) − F(λ) − log η)/s is certified for every s > 0; its
        # minimiser solves N(s) = s·φ′ − φ + log η = 0 (φ(s) = F(λ + sign·s) − F(λ)),
        # and N grows (N′ = s·φ″), so safeguarded Newton in log s finds it from the
        # Gaussian guess in a few evaluations. (A pattern search by factors of 1.5 took 30
        # per side where the law is far from Gaussian or the optimum is s → ∞, a bounded
        # support: 90 % of a δ query's time at q = 1e-5.)
        def nw(u, P=px, F0=F0p):
            s = math.exp(u)
            K, K1, K2 = P.F(lam + sign * s)
            phi = K - F0
            w = (phi - le) / s
            n = s * sign * K1 - phi + le
            return (w if w == w else math.inf), n, s * s * K2
        # The search runs on the stand-in; the bound is W at its best s with the exact F
        # (the exact search remains for a stand-in whose best s fails exactly).
        best, u_best = _newton_window(nw, math.log(z / sd))
        if px is not parts:
            # the exact bound at the stand-in's optimum (or the whole exact search when
            # that optimum fails exactly): further exact Newton steps left the windows of
            # issue 17's cases unchanged and cost ~0.2 ms each on a 10⁵-point PMF
            start = u_best if math.isfinite(u_best) else math.log(z / sd)
            best = _newton_window(lambda u: nw(u, parts, F0), start,
                                  max_eval=1 if math.isfinite(u_best) else 14)[0]
        bounds.append(sign * min(best, edge))
    return bounds[1], bounds[0], F0, m1, sd


def _newton_window(nw, u, max_eval=14):
    """(smallest W, its u) over a safeguarded Newton search for N(e^u) = 0 (N increasing
    in u); ``nw(u)`` gives (W, N, dN/du). Every W is a valid bound: this only tightens."""
    best, u_best = math.inf, math.nan
    lo, hi = -math.inf, math.inf          # N(lo) < 0 < N(hi)
    for _ in range(max_eval):
        w, n, dn = nw(u)
        # Still descending but no longer gaining: W tends to the support's end (s → ∞).
        stalled = n < 0 and 0.0 <= best - w <= 1e-7 * (abs(w) + 1.0)
        if w < best:
            best, u_best = w, u
        if not (n == n and dn == dn) or stalled:
            break
        if n < 0:
            lo = u
        else:
            hi = u
        step = -n / dn if dn > 0 else (math.inf if n < 0 else -math.inf)
        nxt = u + max(-4.0, min(4.0, step))
        if not lo < nxt < hi:
            nxt = 0.5 * (lo + hi) if math.isfinite(lo) and math.isfinite(hi) else nxt
        if abs(nxt - u) < 0.02:
            # A tiny Newton step far from the root: N is steep here (near the support's
            # end, where F grows fast), so the step says little. Until the root is
            # bracketed, move one unit of log s towards it (σ 0.8, q 1e-3, T 1e5: a window
            # end stayed at the support's end, 96 times wider, and the FFT 4× larger).
            if n > 0 and lo == -math.inf:
                nxt = u - 1.0
            elif n < 0 and hi == math.inf:
                nxt = u + 1.0
            else:
                break
        if abs(nxt) > 700.0:
            break
        u = nxt
    return best, u_best


def _window_holds(parts, lam, w_lo, w_hi, sd, le):
    """True when Chernoff certifies tilted mass ≤ e^le beyond [w_lo, w_hi] for ``parts``
    (tried at the Gaussian-optimal s on each side only; False means: search properly)."""
    F0, m1, var = parts.F(lam)
    sd = math.sqrt(max(var, 1e-300))
    if not (w_lo < m1 < w_hi):
        return False
    s_hi = (w_hi - m1) / (sd * sd)
    s_lo = (m1 - w_lo) / (sd * sd)
    ok_hi = parts.F(lam + s_hi)[0] - F0 - s_hi * w_hi <= le
    ok_lo = parts.F(lam - s_lo)[0] - F0 + s_lo * w_lo <= le
    return ok_hi and ok_lo


class _Composed:
    """log δ(ℓ_k) on the window for one side, plus the additive corrections.

    Read from the spectrum (docs/math.md §4.11) when it is band-limited — at T ≥ 1 000
    steps a few hundred of 10⁵ bins are non-zero — each δ(ℓ_k) then costs O(K) and no
    inverse FFT or scan is run; otherwise (or for many reads) from the inverse FFT by the
    positive recursion of §4.3."""

    def __init__(self, parts: _Parts, lam, J_lo, n, side, w_inf_log1p):
        h = parts.h
        self.h, self.J_lo, self.n, self.lam, self.side = h, J_lo, n, lam, side
        logn = max(1.0, math.log2(n))
        dX0 = _FFT_C * logn * _U
        m = n // 2 + 1
        logabs = np.zeros(m)
        phase = np.zeros(m)
        logU = np.zeros(m)
        rel = np.zeros(m)
        F0, dropped = parts.accumulate(lam, n, logabs, phase, logU, rel)
        self.log_c = F0
        Y, err, kmax = _kp.spectrum_finish(logabs, phase, logU, rel, n, dX0, _U,
                                           _FFT_C * logn * _U)
        self.bin_err = err + 4 * _U + (dropped if side == "up" else 0.0)
        self.off = J_lo % n      # (cyclic: window bin k is irfft(Y)[(k + off) % n])
        self.e_lo = J_lo * h
        # Above the composition's largest loss Σ T·(top of each PMF) the true masses are 0:
        # what the transform leaves there is round-off and mass wrapped around from below
        # the window, which lies below every ε read (≥ e_lo). Both sides keep 0 there (a
        # 4000-bin window tail carrying the per-bin round-off term put 5e-14 into δ ≈ 6e-18).
        top = parts.top_index() - J_lo
        self.top = top if 0 <= top < n - 1 else n - 1
        self.w_inf_log1p = w_inf_log1p
        self._Y = Y
        self._spec = None
        self._w = None
        K = kmax + 1
        if lam * h >= _SPEC_MIN_LH and 0 < K <= min(_SPEC_MAX_K, n // 16):
            self._spec = self._spectral(Y[:K].copy())
            self._ks, self._one = np.zeros(1, dtype=np.int64), np.empty(1)
        else:
            self._materialize()

    def _spectral(self, Yk):
        """The per-frequency constants of :func:`_kernels.spectral_delta`, the bound on its
        rounding error and the per-bin error weight Σ_{i=1}^{∞} (ρ^i − σ^i)
        (docs/math.md §4.11)."""
        n, lh, l1h = self.n, self.lam * self.h, (self.lam + 1.0) * self.h
        th = 2.0 * math.pi * np.arange(Yk.shape[0]) / n
        c, sn, s2 = np.cos(th), np.sin(th), np.sin(0.5 * th) ** 2
        out = []
        for x in (lh, l1h):
            rho = math.exp(-x)
            w = rho * (c + 1j * sn)
            # 1 − ρe^{iθ} = −expm1(−x + iθ), both parts without cancellation (θ < π/2)
            om = (2.0 * s2 - math.expm1(-x) * c) - 1j * (rho * sn)
            out += [w, 1.0 / om, rho * np.abs(1.0 / om)]
        wr, ir, br, ws, is_, bs = out
        alpha = np.full(Yk.shape[0], 2.0)
        alpha[0] = 1.0
        # |term_f| ≤ α|Y_f|·2(ρ/|1 − ωρ| + σ/|1 − ωσ|); each term errs by ≤ 256u of that
        # (the products along f, ≤ 31 of them, and the geometric forms) and the sum by
        # ≤ K·u of the total: a bound on |computed − exact| of D_k at every k.
        mag = float(np.sum(alpha * np.abs(Yk) * 2.0 * (br + bs))) / n
        err = (256.0 + Yk.shape[0]) * _U * mag * (1.0 + 1e-6)
        nb = (1.0 / math.expm1(lh) - 1.0 / math.expm1(l1h)) * (1.0 + 1e-9)
        return Yk, wr, ws, ir, is_, err, nb

    def _materialize(self):
        """The inverse FFT and the state of the scan (docs/math.md §4.3)."""
        n, off = self.n, self.off
        c = sfft.irfft(self._Y, n)
        if self.side == "up":
            np.maximum(c, 0.0, out=c)
            c += self.bin_err
        else:
            c -= self.bin_err
            np.maximum(c, 0.0, out=c)
        top = self.top
        if top < n - 1:
            a, cnt = (top + 1 + off) % n, n - 1 - top
            c[a:a + cnt] = 0.0
            if a + cnt > n:
                c[:a + cnt - n] = 0.0
        # δ(ℓ_k) is scanned from the top down only as far as it is read (an ε query reads
        # near the tilted mean, about half-way; the scan was ~10 % of a query)
        self._w = c
        self.d = np.empty(n)
        self.d[n - 1] = 0.0
        self.shift = np.empty(n)
        self.shift[n - 1] = 0.0
        self._state = np.zeros(3)
        self._done = n - 1      # d[k] is known for k ≥ _done
        self._spec = None
        self._Y = None

    def _scan_to(self, k):
        """Make d[k'] known for every k' ≥ k (in steps of ≥ 1/8 of the window)."""
        if k < self._done:
            k_lo = max(0, min(k, self._done - max(self.n // 8, 1024)))
            _kp.delta_scan_part(self._w, self.lam, self.h, self.d, self.shift,
                                self._done - 1, k_lo, self._state, self.off)
            self._done = k_lo

    def _spec_d(self, ks: np.ndarray) -> Optional[np.ndarray]:
        """D_k of this side at the indices ks, error terms included (§4.11); None where
        the scan should be used instead."""
        Yk, wr, ws, ir, is_, err, nb = self._spec
        out = np.empty(ks.shape[0])
        lh, l1h = self.lam * self.h, (self.lam + 1.0) * self.h
        _kp.spectral_delta(Yk, wr, ws, ir, is_, self.n, self.off, self.top, ks, lh, l1h, out)
        N = np.maximum(self.top - ks, 0)
        # Σ_{i=1}^{N} (ρ^i − σ^i), the weight of a per-bin error over bins k+1 … top
        G = (np.expm1(-l1h * N) / math.expm1(l1h) - np.expm1(-lh * N) / math.expm1(lh))
        pad = self.bin_err * np.minimum(G * (1.0 + 1e-9), nb) + err
        up = self.side == "up"
        # Far from the tilt's centre the error terms are a sizeable part of D: err does not
        # shrink with D, and the scan clamps each bin's mass at 0, so that it subtracts
        # less where masses are below the per-bin error (the window's last s.d. or so).
        # There the scan is used instead (σ 3, q 0.3: read from the spectrum, the lower δ
        # near the window's bottom was 7 % of the scan's, the upper 1 + 8e-5 times). The
        # lower side's pad is mostly the per-bin term, which the scan subtracts as well
        # wherever masses exceed it (σ 0.8, q 1e-3, T 1e5: 4e-6 of D at the answer, where
        # both agree to 1e-12): its gate is wider; the two differ by ≤ 3.4e-5 of δ at
        # reads far from the centre, where the scan is not used.
        if np.any((N > 0) & ((err if up else pad) > (_SPEC_REL if up else _SPEC_REL_LO)
                             * np.abs(out))):
            return None
        if up:
            return np.where(N > 0, out + pad, 0.0)
        return np.maximum(out - pad, 0.0)

    def _spec_d1(self, k: int) -> Optional[float]:
        """:meth:`_spec_d` at one index, in scalars (a bisection reads ~20 of them; the
        array form's numpy calls were most of their cost)."""
        Yk, wr, ws, ir, is_, err, nb = self._spec
        N = self.top - k
        if N <= 0:
            return 0.0
        lh, l1h = self.lam * self.h, (self.lam + 1.0) * self.h
        out = self._one
        self._ks[0] = k
        _kp.spectral_delta(Yk, wr, ws, ir, is_, self.n, self.off, self.top, self._ks, lh,
                           l1h, out)
        d = float(out[0])
        G = math.expm1(-l1h * N) / math.expm1(l1h) - math.expm1(-lh * N) / math.expm1(lh)
        pad = self.bin_err * min(G * (1.0 + 1e-9), nb) + err
        if self.side == "up":
            return None if err > _SPEC_REL * abs(d) else d + pad
        return None if pad > _SPEC_REL_LO * abs(d) else max(d - pad, 0.0)

    def ell(self, k):
        return self.e_lo + k * self.h

    def logd(self, k):
        """log δ(ℓ_k) of the composed discrete PLD."""
        if self._spec is not None:
            d = self._spec_d1(k)
            if d is not None:
                return ((math.log(d) - self.lam * self.ell(k) + self.log_c) if d > 0
                        else -math.inf)
            self._materialize()
        self._scan_to(k)
        d = self.d[k]
        if d > 0:
            return math.log(d) + self.shift[k] - self.lam * self.ell(k) + self.log_c
        return -math.inf

    def logd_many(self, k: np.ndarray) -> np.ndarray:
        """:meth:`logd` at an array of indices (0 ≤ k < n)."""
        if self._spec is not None and k.size * self._spec[0].shape[0] > 4 * self.n:
            self._materialize()     # many reads: one inverse FFT and scan are cheaper
        if self._spec is not None:
            d = self._spec_d(np.asarray(k, dtype=np.int64))
            if d is not None:
                with np.errstate(divide="ignore"):
                    out = np.log(d) - self.lam * self.ell(k) + self.log_c
                return np.where(d > 0, out, -np.inf)
            self._materialize()
        if k.size:
            self._scan_to(int(k.min()))
        d = self.d[k]
        with np.errstate(divide="ignore"):
            out = np.log(d) + self.shift[k] - self.lam * self.ell(k) + self.log_c
        return np.where(d > 0, out, -np.inf)

    def first_below(self, lt):
        """Smallest k with log δ(ℓ_k) ≤ lt (δ is non-increasing in k); n if none."""
        lo, hi = 0, self.n  # invariant: answer in [lo, hi]
        if self._spec is None:
            # scan down from the top until δ exceeds e^lt (the answer lies above that
            # point); first to the middle, where the tilt puts the answer of an ε query
            self._scan_to(self.n // 2)
            while self._done > 0 and self.logd(self._done) <= lt:
                self._scan_to(self._done - 1)
            if self.logd(self._done) > lt:
                lo = self._done + 1
        # (read from the spectrum each D_k is a bound of its own: a bisection that met a
        # rounding-level wiggle of D would land on a valid, if not the first, k)
        while lo < hi:
            mid = (lo + hi) // 2
            if self.logd(mid) <= lt:
                hi = mid
            else:
                lo = mid + 1
        return lo


class _Direction:
    """Everything for one direction at one grid step h."""

    def __init__(self, counts, direction, h, tau_hi=None, log_tau_hi=None):
        self.h = h
        self.onesteps = []
        for mech, T in counts:
            pl = loss_for(mech, direction)
            self.onesteps.append((_one_step(mech, pl, h, tau_hi, log_tau_hi), T))
        self.steps = sum(T for _, T in counts)
        self.parts_up = _Parts(self.onesteps, "up", h)
        self.lower_ok = all(one.lower_ok for one, _ in self.onesteps)
        self.parts_lo = _Parts(self.onesteps, "lo", h) if self.lower_ok else None
        # Q-mass at +∞ of the composition, 1 − Π(1 − w_m)^{T_m} ≤ Σ T_m·w_m: the union
        # bound (in logarithms) where it is within 1e-6 of the product, which is kept for
        # larger masses (plus the union of any w_m too small to be a double).
        self.log_p_inf = _log_p_inf([(T, one.log_w_inf) for one, T in self.onesteps])
        self.p_inf = math.exp(self.log_p_inf)
        # The lower side's mass at +∞: 1 − Π(1 − m)^T of the public-coin revealing parts
        # (PldCells.log_reveal), rounded down (docs/math.md §10.1); 0 for most losses.
        lr = [(T, one.log_reveal_lo) for one, T in self.onesteps
              if self.lower_ok and one.log_reveal_lo > -math.inf]
        if lr:
            s = math.fsum(T * math.log1p(-math.exp(l)) for T, l in lr)
            self.p_inf_lo = -math.expm1(s) * (1 - 16 * _U * (len(lr) + 2))
        else:
            self.p_inf_lo = 0.0
        self.quad = self.steps * _QUAD_REL

    def compose(self, lam, around=None, eta=_ETA, log_eta=None, lower=True, log_top=None,
                upper=True):
        """FFT composition with tilt λ; the window covers the tilted mass (and ``around``),
        leaving tilted mass ≤ eta outside on each side; ``log_eta`` gives log eta instead
        (at δ = 5e-324 the η ≪ δ the callers want is no double). ``lower=False`` composes
        the upper side only (the lower bounds are then the trivial 0); with it, ``log_top``
        lets the window end where the untilted Q-mass above is ≤ e^log_top (see
        docs/math.md §4.4: for the upper side the mass above the window is counted at +∞,
        so its end is a matter of accuracy only). ``upper=False`` composes the lower side
        only, on its own window (``self.up`` is then None: the caller bounds the upper side
        otherwise, e.g. by Chernoff)."""
        if log_eta is None:
            log_eta = math.log(eta)
        h = self.h
        self.log_eta = log_eta
        # e^{−λh} must not underflow in the scans; the bounds stay valid for any λ ≥ 0.
        lam = min(lam, 20.0 / h)
        if not upper and self.parts_lo is None:
            raise RuntimeError("internal error: a lower-side-only composition needs the "
                               "lower PLD")
        w_lo, w_hi, F0, m1, sd = _window(self.parts_up if upper else self.parts_lo, lam,
                                         log_eta)
        parts_lo = self.parts_lo if lower else None
        if upper and parts_lo is not None and not _window_holds(parts_lo, lam, w_lo, w_hi, sd,
                                                                 log_eta):
            a, b, *_ = _window(self.parts_lo, lam, log_eta)
            w_lo, w_hi = min(w_lo, a), max(w_hi, b)
        t_top = None
        if upper and not lower and log_top is not None and around is None:
            w_top, t_top = _chernoff_eps(self.parts_up, log_top, with_t=True)
            # The window must stay longer than the tilted law's reach above its centre
            # (≈ the answer) plus 3 s.d.: tilted mass from beyond that wraps around onto
            # losses above the answer and, untilted there, weighs e^{λ·n·h} times its
            # true size (valid, but a window of 7.8 for a reach of 14 lost 1e-5 of ε).
            w_top = max(w_top, w_lo + (w_hi - m1) + 3.0 * sd)
            if w_lo + 8 * h < w_top < w_hi:
                w_hi = w_top
            else:
                t_top = None
        if around is not None:
            w_lo = min(w_lo, around - 4 * h)
            w_hi = max(w_hi, around + 4 * h)
        J_lo = math.floor(w_lo / h) - 2
        J_hi = math.ceil(w_hi / h) + 2
        n = sfft.next_fast_len(J_hi - J_lo + 1, real=True)
        if n > _MAX_WINDOW:
            raise _GridTooLarge(n)
        self.n = n
        self.lam = lam
        self.up = _Composed(self.parts_up, lam, J_lo, n, "up", 0.0) if upper else None
        self.lo = _Composed(parts_lo, lam, J_lo, n, "lo", 0.0) if parts_lo else None
        if not upper:
            self.log_above, self.above = 0.0, 1.0   # (no upper side: nothing is claimed)
            return self
        top = (J_lo + n - 1) * h
        # Untilted mass above the window (upper) ≤ e^{−λ·top + F(λ)}·η; for a window ended
        # by log_top, the Chernoff bound e^{F(t) − t·top} at its own tilt t (exact F).
        if t_top is None:
            self.log_above = min(-lam * top + self.up.log_c + log_eta, 0.0)
        else:
            self.log_above = min(self.parts_up.F(t_top)[0] - t_top * top, 0.0)
        self.above = math.exp(self.log_above)
        return self

    # δ at a point, each side, including every correction.
    def _log_wrap(self, comp, k):
        return min(-self.lam * comp.ell(k) + comp.log_c + _LOG2 + self.log_eta, 700.0)

    def _wrap(self, comp, k):
        return math.exp(self._log_wrap(comp, k))

    def delta_upper(self, eps):
        c = self.up
        k = math.floor((eps - c.e_lo) / c.h + 1e-9)
        if k < 0:
            return 1.0
        if k >= c.n - 1:
            D = 0.0
        else:
            D = _interp(c, k, eps)
        val = D + self.p_inf + self.above
        return min(1.0, val * (1 + self.quad))

    def delta_lower(self, eps):
        c = self.lo
        if c is None:
            return 0.0
        k = math.floor((eps - c.e_lo) / c.h + 1e-9)
        if k < 0:
            return 0.0
        if k >= c.n - 1:
            return 0.0
        D = _interp(c, k, eps) - self._wrap(c, k)
        if not D <= 1.0:
            # a proven lower bound is never above 1: this one carries an escaped error
            return 0.0
        return max(0.0, D * (1 - self.quad)) + self.p_inf_lo

    # The same two bounds at an array of ε (the trade-off curves read hundreds of ε per
    # window, docs/math.md §15.2); element for element the formulas of the scalar ones.
    def delta_upper_many(self, eps: np.ndarray) -> np.ndarray:
        c = self.up
        k = np.floor((eps - c.e_lo) / c.h + 1e-9).astype(np.int64)
        inside = (k >= 0) & (k < c.n - 1)
        D = np.zeros(eps.shape)
        if inside.any():
            D[inside] = _interp_many(c, k[inside], eps[inside])
        val = np.minimum(1.0, (D + self.p_inf + self.above) * (1 + self.quad))
        return np.where(k < 0, 1.0, val)

    def delta_lower_many(self, eps: np.ndarray) -> np.ndarray:
        c = self.lo
        out = np.zeros(eps.shape)
        if c is None:
            return out
        k = np.floor((eps - c.e_lo) / c.h + 1e-9).astype(np.int64)
        inside = (k >= 0) & (k < c.n - 1)
        if inside.any():
            ki = k[inside]
            lw = np.minimum(-self.lam * c.ell(ki) + c.log_c + _LOG2 + self.log_eta, 700.0)
            D = _interp_many(c, ki, eps[inside]) - np.exp(lw)
            ok = D <= 1.0        # a proven lower bound is never above 1 (see delta_lower)
            out[inside] = np.where(ok, np.maximum(0.0, D * (1 - self.quad)) + self.p_inf_lo,
                                   0.0)
        return out

    def error_floor(self, eps):
        """Size of the certified error terms (round-off, window, +∞ mass) in δ at ε: the
        smallest δ this grid and window can resolve near ε."""
        c = self.up
        lam, h = self.lam, self.h
        # A tilted error e per bin adds e·Σ_{m≥1} e^{−λmh}(1 − e^{−mh}) to the scaled δ
        # (the weights of delta_scan_part): 1/(e^{λh} − 1) − 1/(e^{(λ+1)h} − 1), at most n.
        if lam * h > 1e-12:
            nb = min(c.n, 1.0 / math.expm1(lam * h) - 1.0 / math.expm1((lam + 1.0) * h))
        else:
            nb = c.n
        lr = math.log(c.bin_err * max(nb, 1e-300)) - lam * eps + c.log_c
        return math.exp(min(lr, 700.0)) + self.p_inf + self.above

    def eps_upper(self, delta):
        """Smallest ε with δ_upper(ε) ≤ δ; "below"/"above" when the window misses it."""
        c = self.up
        lt = _log_slack(delta, self.quad, _logaddexp(self.log_p_inf, self.log_above))
        if lt is None:
            return math.inf
        k = c.first_below(lt)
        if k >= c.n:
            return "above"
        if k == 0:
            return c.ell(0) if c.ell(0) <= 0 else "below"
        return _solve(c, k - 1, lt)

    def eps_lower(self, delta):
        """Largest ε with δ_lower(ε) > δ; "below"/"above" when the window misses it."""
        c = self.lo
        if c is None:
            return 0.0
        if self.p_inf_lo > 0.0:
            if self.p_inf_lo > delta:
                return math.inf        # δ_T(ε) ≥ the revealing mass > δ at every ε
            # the composed finite part must exceed δ − p_inf_lo (rounded up)
            delta = (delta - self.p_inf_lo) * (1 + 4 * _U)
            if not delta > 0.0:
                return 0.0
        # log(δ/(1 − quad)), rounded up
        lt0 = math.log(delta) - math.log1p(-self.quad)
        lt0 += 8 * _U * (abs(lt0) + 1.0)
        if lt0 >= 0.0:
            return 0.0   # δ_lower ≤ 1 never exceeds it (δ = 1 − 2⁻⁵³ searched forever)
        # δ_lo(ℓ_k) = D_k − wrap_k > δ  ⇔  D_k > δ + wrap_k; wrap_k decreases in k, so
        # start from the last k with D_k > δ and step down (rarely more than once).
        k = c.first_below(lt0) - 1
        if k >= c.n - 2:
            return "above"
        while k >= 0:
            lt = _logaddexp(lt0, self._log_wrap(c, k))
            if c.logd(k) > lt:
                return max(0.0, _solve(c, k, lt, "lower"))
            k -= 1
        return 0.0 if c.ell(0) <= 0 else "below"


def _log_p_inf(terms) -> float:
    """log of the composition's Q-mass at +∞, 1 − Π(1 − w_m)^{T_m} ≤ Σ T_m·w_m, from
    (T_m, log w_m): the union bound where it is below 1e-6 (within 1e-6 of the product),
    else the product (plus the union of any w_m too small to be a double)."""
    union = _lse([math.log(T) + lw for T, lw in terms])
    if union < math.log(1e-6):
        return union
    prod = _log(-math.expm1(sum(T * math.log1p(-min(math.exp(lw), 1.0)) for T, lw in terms)))
    tiny = _lse([math.log(T) + lw for T, lw in terms if math.exp(lw) == 0.0])
    return _logaddexp(prod, tiny)


def _interp(c, k, eps):
    """δ of the discrete PLD at ε ∈ [ℓ_k, ℓ_{k+1}]: linear in e^ε (exact). Values above 1
    (a window whose error terms swamp it: log δ = 1458 was seen) are capped at e^700 — a
    vacuous upper bound the caller clips to 1; the lower side refuses such values."""
    Dk = math.exp(min(c.logd(k), 700.0))
    Dk1 = math.exp(min(c.logd(k + 1), 700.0)) if k + 1 < c.n else 0.0
    frac = math.expm1(eps - c.ell(k)) / math.expm1(c.h)
    return Dk - frac * (Dk - Dk1)


def _interp_many(c, k, eps):
    """:func:`_interp` at arrays of indices and ε."""
    Dk = np.exp(np.minimum(c.logd_many(k), 700.0))
    k1 = np.minimum(k + 1, c.n - 1)
    Dk1 = np.where(k + 1 < c.n, np.exp(np.minimum(c.logd_many(k1), 700.0)), 0.0)
    frac = np.expm1(eps - c.ell(k)) / math.expm1(c.h)
    return Dk - frac * (Dk - Dk1)


def _solve(c, k, log_target, side="upper"):
    """ε ∈ [ℓ_k, ℓ_{k+1}] where the exact discrete δ equals e^log_target
    (D_k ≥ target ≥ D_{k+1}); in units of D_k, which may be subnormal. Rounded to
    ``side``: the interpolation fraction by its rounding bound (the two 1 − r terms carry
    a few u of their logs each) and the sum ℓ_k + log1p(·) by a few u of its terms (an
    ε one ulp below the exact composition of a finite pair was certified;
    docs/math.md §4.3, §10.1)."""
    up = side == "upper"
    ldk = c.logd(k)
    ldk1 = c.logd(k + 1)
    if ldk <= ldk1:
        x = c.ell(k + 1)
    else:
        r1 = math.exp(ldk1 - ldk)
        rt = math.exp(min(log_target - ldk, 0.0))
        frac = min(max((1.0 - rt) / (1.0 - r1), 0.0), 1.0)
        lr1 = abs(ldk1 - ldk) if r1 > 0 else 0.0
        lrt = abs(log_target - ldk)
        pad = 4 * _U * (2.0 + lrt + lr1) * (1.0 + frac) / (1.0 - r1)
        frac = min(frac + pad, 1.0) if up else max(frac - pad, 0.0)
        x = c.ell(k) + math.log1p(frac * math.expm1(c.h))
    err = 4 * _U * (abs(c.e_lo) + abs(k * c.h) + abs(x) + c.h)
    return x + err if up else x - err


_LOG2 = math.log(2.0)


def _log(x):
    return math.log(x) if x > 0 else -math.inf


def _lse(vals):
    top = max(vals, default=-math.inf)
    if top == -math.inf:
        return top
    return top + math.log(math.fsum(math.exp(v - top) for v in vals))


def _logaddexp(a, b):
    if a < b:
        a, b = b, a
    return a if b == -math.inf else a + math.log1p(math.exp(b - a))


def _log_slack(delta, quad, log_extra):
    """log(δ/(1 + quad) − e^log_extra), rounded down, or None when it is not positive;
    in logarithms, since δ may be subnormal (5e-324/(1 + quad) rounds back to 5e-324)."""
    lt = math.log(delta) - math.log1p(quad)
    if log_extra >= lt:
        return None
    if log_extra > -math.inf:
        lt += math.log1p(-math.exp(log_extra - lt))
    return lt - 8 * _U * (abs(lt) + 1.0)
