"""Privacy loss of a pair of Gaussian mixtures with a common σ.

P = Σ_i u_i N(a_i, σ²), Q = Σ_j w_j N(c_j, σ²). This one family covers the Gaussian
mechanism, the Poisson-subsampled Gaussian (both directions), replace-one subsampling, the
mixture of Gaussians and the user-level ELS/ULS schemes (docs/math.md §2).
"""
from __future__ import annotations

import math
from typing import Optional, Sequence, Tuple

import numpy as np

from . import _moment_kernels as _ke
from . import _mixture_kernels as _k
from . import _mixture_exact, _mixture_pld
from .base import PrivacyLoss
from .results import (CALL_WORK, PldCells, PldSupport, StepMoments, Tilted, from_central,
                      higher_cumulants)

_km = _k

# Integration and hockey-stick accuracy. The adaptive quadrature's Kronrod estimate is
# a very conservative error proxy for these analytic integrands.
_RTOL = 1e-11
_OFFSETS = np.array([-38.0, -16.0, -8.0, -4.0, -2.0, -1.0, 0.0, 1.0, 2.0, 4.0, 8.0, 16.0, 38.0])


def _clean(means, weights, log_weights=False):
    """Sorted distinct means with their log weights (components of weight 0 dropped;
    equal means merged so that the limits of L are exact). ``log_weights``: the weights
    are given as logarithms, so that weights below the smallest double (ELS: the
    Binomial(k, q) pmf at large j) are kept, not rounded to 0."""
    if len(means) <= 2:
        # (the pairs of the subsampled Gaussian: plain floats, no array operations — a
        # trainer history of 10⁴ distinct steps builds 4·10⁴ of these per first query)
        ms = [float(m) for m in means]
        if log_weights:
            ls = [float(w) for w in weights]
        else:
            ls = [math.log(w) if w > 0 else -math.inf for w in (float(x) for x in weights)]
        kept = [(m, lw) for m, lw in zip(ms, ls) if lw > -math.inf]
        if len(kept) <= 1 or kept[0][0] < kept[1][0]:
            return (np.array([m for m, _ in kept], dtype=float),
                    np.array([lw for _, lw in kept], dtype=float))
    means = np.asarray(means, dtype=float)
    lw = np.asarray(weights, dtype=float)
    if not log_weights:
        with np.errstate(divide="ignore"):
            lw = np.log(lw)
    keep = lw > -np.inf
    means, lw = means[keep], lw[keep]
    if means.shape[0] <= 1 or bool(np.all(means[1:] > means[:-1])):
        # already sorted and distinct (every mechanism's pair but MoG): the same arrays
        # np.unique and the one-term sums give, at a fraction of the cost (the trainer
        # builds one pair per distinct step)
        return means.copy(), lw.copy()
    um = np.unique(means)
    ulw = np.array([np.logaddexp.reduce(lw[means == m]) for m in um])
    return um, ulw


class GaussianMixtureLoss(PrivacyLoss):
    """L(x) = log Σ_j w_j N(x; c_j, σ²) − log Σ_i u_i N(x; a_i, σ²), increasing in x."""

    pld_cells_split = True   # one global left-out mass, in every log_w_inf (_mixture_pld)
    pld_second_order = True

    def __init__(self, sigma: float, p_means: Sequence[float] | np.ndarray,
                 p_weights: Sequence[float] | np.ndarray, q_means: Sequence[float] | np.ndarray,
                 q_weights: Sequence[float] | np.ndarray, direction: str = "remove",
                 log_weights: bool = False) -> None:
        self.sigma = float(sigma)
        pm, plw = _clean(p_means, p_weights, log_weights)
        qm, qlw = _clean(q_means, q_weights, log_weights)
        self.pm, self.plw = pm, plw
        self.qm, self.qlw = qm, qlw
        self.direction = direction
        # Limits of L at ∓∞ come from the outermost components (docs/math.md §2).
        # At x → −∞ the lowest mean dominates each density; at +∞ the highest.
        if qm[0] > pm[0]:
            lo = -np.inf
        elif qm[0] == pm[0]:
            lo = float(self.qlw[0] - self.plw[0])
        else:
            raise ValueError("privacy loss is not monotone: Q's lowest component is below P's")
        if qm[-1] > pm[-1]:
            hi = np.inf
        elif qm[-1] == pm[-1]:
            hi = float(self.qlw[-1] - self.plw[-1])
        else:
            raise ValueError("privacy loss is not monotone: Q's highest component is below P's")
        self.lo_loss, self.hi_loss = lo, hi
        self._cgf_cache: dict = {}
        # one Gaussian on each side: K(t) = t(1 + t)Δ²/(2σ²) exactly, and μ = Δ/σ
        self.cgf_exact = bool(pm.shape[0] == 1 and qm.shape[0] == 1)
        self.gaussian_shift = (float((qm[0] - pm[0]) / self.sigma) if self.cgf_exact
                               else None)

    def cgf_upper(self, t: float) -> Optional[float]:
        """The joint-convexity (coupling) bound log Σ_ij u_i w_j e^{t(1+t)(c_j−a_i)²/(2σ²)}
        ≥ K(t), t > 0 (docs/math.md §3.5)."""
        if not t > 0:
            return None
        return max(float(_k.cgf_coupling_bound(float(t), *self.args)), 0.0)

    @property
    def quadrature_size(self) -> int:
        return int(self.pm.shape[0] + self.qm.shape[0])

    @property
    def cgf_closed_at_integers(self) -> bool:
        """Closed forms at integer t: the Gaussian pair, and the two-point remove pair
        (binomial sum, docs/math.md §3.1) — the same test as ``_kernels.mixture.cgf``."""
        return self.cgf_exact or bool(self.pm.shape[0] == 1 and self.qm.shape[0] == 2
                                      and self.qm[0] == self.pm[0] and self.plw[0] == 0.0)

    def moments(self, under: str) -> StepMoments:
        """Moments of L under "P" or "Q" by adaptive quadrature (docs/math.md §5)."""
        return _mixture_moments(self, under)

    def tilted(self, t: float, centre: Optional[float] = None) -> Tilted:
        """The law of L under Q tilted by e^{tL} (docs/math.md §6); ``centre`` guesses K′(t)."""
        return _mixture_tilted(self, t, centre)

    def log_delta_bound(self, eps: float, side: str) -> float:
        """A proven bound on log δ(ε) of one step (docs/math.md §2; the rounding model is
        in :mod:`accountant.accountants.exact`)."""
        return _mixture_exact.log_delta_bound(self, eps, side)

    def delta_zero_above(self) -> float:
        return _mixture_exact.delta_zero_above(self)

    def pld_support(self, log_tau_lo: float, log_tau_hi: float, floor: float) -> PldSupport:
        """Where the PLD grid must reach (docs/math.md §4): Q-tails e^log_tau_lo below and
        e^log_tau_hi above, P's lower tail for the lowered chords (searched no lower than
        ``floor``)."""
        return _mixture_pld.support(self, log_tau_lo, log_tau_hi, floor)

    def pld_cells(self, i0: int, h: float, npts: int) -> Tuple[PldCells, PldCells]:
        """(upper, lower) :class:`PldCells` on ε_i = (i0 + i)·h (one set serves both)."""
        c = _mixture_pld.cells(self, i0, h, npts)
        return c, c

    def __repr__(self):
        return (f"GaussianMixtureLoss(sigma={self.sigma}, P={list(zip(self.pm, np.exp(self.plw)))}, "
                f"Q={list(zip(self.qm, np.exp(self.qlw)))}, direction={self.direction!r})")

    @property
    def args(self) -> Tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, float]:
        """The plain arrays and floats the numba kernels take."""
        return self.pm, self.plw, self.qm, self.qlw, self.sigma

    # -- loss and its inverse ------------------------------------------------------------
    def loss(self, x: float | np.ndarray) -> float | np.ndarray:
        """L(x); L(∓∞) = lo_loss / hi_loss."""
        x = np.asarray(x, dtype=float)
        out = _k.loss_array(np.ascontiguousarray(x.ravel()), *self.args).reshape(x.shape)
        out = np.where(x == -np.inf, self.lo_loss, np.where(x == np.inf, self.hi_loss, out))
        return out if out.ndim else float(out)

    def inverse_loss(self, eps: float | np.ndarray) -> float | np.ndarray:
        """x with L(x) = ε (−inf / +inf at or beyond lo_loss / hi_loss). Arrays go through
        one warm-started sweep in ascending order (``_kernels.mixture.inverse_loss_sorted``)."""
        e = np.asarray(eps, dtype=float)
        if e.ndim == 0:
            return float(_k.inverse_loss(float(e), *self.args, self.lo_loss, self.hi_loss))
        out = _sorted_apply(_k.inverse_loss_sorted, e.ravel(), self.args,
                            self.lo_loss, self.hi_loss)
        return out.reshape(e.shape)

    # -- hockey stick and tails ----------------------------------------------------------
    def log_hockey_stick(self, eps: float | np.ndarray) -> float | np.ndarray:
        """log δ(ε) of one step, exact. Arrays are swept in ascending order with warm-started
        inversion (``_kernels.mixture.log_hockey_stick_sorted``): ~1e5 points in a few ms."""
        e = np.asarray(eps, dtype=float)
        out = _sorted_apply(_k.log_hockey_stick_sorted, e.ravel(), self.args,
                            self.lo_loss, self.hi_loss).reshape(e.shape)
        return out if out.ndim else float(out)

    def log_sf(self, eps: float | np.ndarray, under: str = "Q") -> float | np.ndarray:
        if under not in ("P", "Q"):
            raise ValueError(f"under must be 'P' or 'Q', got {under!r}")
        e = np.asarray(eps, dtype=float)
        uq = under == "Q"
        kern = lambda f, *a: _k.log_sf_loss_sorted(f, *a, uq)
        out = _sorted_apply(kern, e.ravel(), self.args, self.lo_loss, self.hi_loss)
        out = out.reshape(e.shape)
        return out if out.ndim else float(out)

    # -- moments -------------------------------------------------------------------------
    def breakpoints(self, t: float = 0.0) -> np.ndarray:
        """Panel ends for quadrature: around every component and every tilted peak
        (1+t)c_j − t·a_i, out to ±38σ where the integrands are below e^{-700} of the peak."""
        centres = np.concatenate([self.pm, self.qm,
                                  ((1.0 + t) * self.qm[:, None] - t * self.pm[None, :]).ravel()])
        centres = np.unique(centres)
        pts = np.unique((centres[:, None] + self.sigma * _OFFSETS[None, :]).ravel())
        # Merge points closer than σ/2: the Gauss–Kronrod rule resolves that width.
        keep = [pts[0]]
        for x in pts[1:]:
            if x - keep[-1] >= 0.5 * self.sigma:
                keep.append(x)
        if keep[-1] != pts[-1]:
            keep[-1] = pts[-1]
        return np.asarray(keep)

    def integrate(self, kind: int, t: float = 0.0, shift: float = 0.0, center: float = 0.0,
                  power: float = 0.0, rtol: float = _RTOL) -> Tuple[float, float]:
        """Adaptive quadrature of one of the integrand kinds of ``_kernels.mixture``."""
        br = self.breakpoints(t if kind in (0, 1, 5) else 0.0)
        return _k.integrate(kind, br, *self.args, float(t), float(shift), float(center),
                            float(power), rtol)

    def _is_two_point_remove(self):
        return self.pm.shape[0] == 1 and self.qm.shape[0] <= 2 and self.pm[0] == self.qm[0]

    def _cgf_scalar(self, t: float) -> float:
        if not t > -1.0:
            raise ValueError(f"t must be > -1 for the CGF, got {t!r}")
        cached = self._cgf_cache.get(t)
        if cached is not None:
            return cached
        val = float(_k.cgf(t, *self.args, _RTOL))
        if len(self._cgf_cache) < 100_000:
            self._cgf_cache[t] = val
        return val

    # Kept for callers of the former private helpers; both now run in one numba call.
    def _cgf_integer_two_point(self, alpha: int) -> float:
        return self._cgf_scalar(float(alpha) - 1.0)

    def _cgf_quadrature(self, t: float) -> float:
        return self._cgf_scalar(float(t))

    def cgf(self, t: float | np.ndarray) -> float | np.ndarray:
        """K_Y(t) = log E_Q[e^{tL}], real t > −1 (``_kernels.mixture.cgf``).

        Closed forms for a Gaussian pair and for integer orders of the two-point
        (subsampled Gaussian, remove) pair (binomial sum, Mironov–Talwar–Zhang 2019);
        otherwise adaptive Gauss–Kronrod (rtol 1e-11) in log space on the cells where
        Q^{1+t}P^{−t} has mass, and the non-negative split
        E_Q[e^{tL}] − 1 = E_Q[expm1(tL) − tL] + t·KL(Q‖P) when |K| < 0.1, so that tiny
        K (≈ 1e-17) keep their relative accuracy. Measured against mpmath (50 digits) over
        σ ∈ [0.3, 50], q ∈ [1e-6, 1], t ∈ (−1, 256] (tests/test_privacy_loss.py).
        """
        if np.ndim(t):
            return self.cgf_many(t)
        return self._cgf_scalar(float(t))

    def cgf_many(self, ts: np.ndarray) -> np.ndarray:
        """K_Y at every order of ``ts`` (any shape) in one numba call (no per-order
        Python overhead; results are not cached)."""
        ts = np.asarray(ts, dtype=float)
        flat = np.ascontiguousarray(ts.ravel())
        if flat.size and not np.all(flat > -1.0):
            raise ValueError(f"t must be > -1 for the CGF, got {flat[~(flat > -1.0)][0]!r}")
        return _k.cgf_many(flat, *self.args, _RTOL).reshape(ts.shape)


def _sorted_apply(kernel, flat, args, lo_loss, hi_loss):
    """Run a sorted-sweep kernel on ``flat`` in any order: NaN stays NaN, unsorted input is
    sorted and the result put back in place."""
    flat = np.ascontiguousarray(flat, dtype=float)
    nan = np.isnan(flat)
    if nan.any():
        out = np.full(flat.shape, np.nan)
        out[~nan] = _sorted_apply(kernel, flat[~nan], args, lo_loss, hi_loss)
        return out
    if flat.size < 2 or np.all(flat[1:] >= flat[:-1]):
        return kernel(flat, *args, lo_loss, hi_loss)
    order = np.argsort(flat, kind="stable")
    out = np.empty_like(flat)
    out[order] = kernel(np.ascontiguousarray(flat[order]), *args, lo_loss, hi_loss)
    return out


def binomial_log_pmf(k: int, q: float) -> np.ndarray:
    """log Binomial(k, q) pmf at 0..k (−inf where it vanishes)."""
    j = np.arange(k + 1, dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        lq = math.log(q)
        l1q = math.log1p(-q) if q < 1 else -np.inf
        # math.lgamma: scipy.special would add a third of a second to every start-up
        lg = np.array([math.lgamma(x) for x in range(1, k + 2)])  # lg[n] = log n!
        out = lg[k] - lg[j.astype(int)] - lg[(k - j).astype(int)] + j * lq
        out = out + np.where(k - j > 0, (k - j) * l1q, 0.0)
    return out

# ----------------------------------------------------------------------------------------
# Moments and tilted laws (docs/math.md §5, §6): the questions of the Edgeworth and
# saddle-point accountants, answered by adaptive Gauss–Kronrod in the numba kernels.
# ----------------------------------------------------------------------------------------
# Relative tolerance of the Kronrod–Gauss difference per panel. The difference
# over-estimates the error of the 15-point rule on these analytic integrands by many
# orders of magnitude; 1e-12 gives cumulants to ~1e-13 relative (tests/test_cumulants.py).
_MOM_RTOL = 1e-12
_MOM_RTOL_TILT = 1e-11
# Work of one quadrature pass, in "work units": 15-point panel evaluations × (mixture
# components + 20) — one evaluation costs ~2.5 µs plus ~0.13 µs per component (both
# mixtures are summed at 15 points for 8 moments), so a unit is ~0.13 µs on one core.
# Panels are laid out around every component and tilted peak, so a mixture with m
# components has O(m) panels costing O(m) each: an ELS with k = 256 took 0.3–6 s per
# tilted quadrature under the fixed 100 000-visit cap, and a saddle-point query needs
# dozens of them (issue 13: > 60 s). Adaptive refinement stops at _WORK (~0.4 s; this
# leaves the cap at 100 000 visits up to 10 components: every usual mechanism); an
# initial layout above 4·_WORK alone is out of reach (NaN values, infinite error).
_WORK = 3e6
_VISITS = 100000
_CALL_WORK = CALL_WORK


def _visits(loss, breaks) -> int:
    """Panel visits allowed to one pass over ``breaks`` (−1: out of reach)."""
    per = _per_panel(loss)
    panels = breaks.shape[0] - 1
    if panels * per > 4.0 * _WORK:
        return -1
    return int(min(_VISITS, max(_WORK / per - panels, 0.0)))


def _per_panel(loss) -> float:
    """Work units of one 15-point panel evaluation of ``loss``'s mixtures."""
    return loss.pm.shape[0] + loss.qm.shape[0] + 20.0


# ----------------------------------------------------------------------------------------
# Gaussian mixtures: moment and tilted-law quadratures
# ----------------------------------------------------------------------------------------
def _breaks_with(loss: GaussianMixtureLoss, t: float, c: float = math.nan) -> np.ndarray:
    """Panel ends: the core's layout (components, tilted peaks, ±38σ) plus x with L(x) = c."""
    xc = math.nan
    if loss.lo_loss < c < loss.hi_loss:
        xc = _km.inverse_loss(c, *loss.args, loss.lo_loss, loss.hi_loss)
    return _ke.breakpoints(loss.pm, loss.qm, loss.sigma, t, xc)


def _mixture_moments(loss: GaussianMixtureLoss, under: str) -> StepMoments:
    s2 = loss.sigma ** 2
    if loss.pm.shape[0] == 1 and loss.qm.shape[0] == 1:
        # Gaussian pair: L is normal with variance μ² = Δ²/σ² and mean ∓μ²/2 under P/Q.
        mu2 = (loss.qm[0] - loss.pm[0]) ** 2 / s2
        mean = 0.5 * mu2 if under == "Q" else -0.5 * mu2
        sd = math.sqrt(mu2)
        return from_central(mean, mu2, 0.0, 3.0 * mu2 * mu2, 0.0, sd * math.sqrt(2 / math.pi),
                             2.0 * math.sqrt(2.0 / math.pi) * sd ** 3, 0.0)
    # Means from non-negative integrands: −E_P[L] = E_P[expm1 L − L], E_Q[L] = E_P[L e^L − expm1 L].
    br0 = _breaks_with(loss, 0.0)
    kind = 4 if under == "Q" else 3
    nv = _visits(loss, br0)
    if nv < 0:
        return _failed_moments()
    v, e, _ = _ke.integrate_moments(kind, br0, *loss.args, 0.0, 0.0, 0.0, _MOM_RTOL, 255, nv)
    mean = v[1] if under == "Q" else -v[1]
    if not math.isfinite(mean):
        return _failed_moments()
    err_mean = e[1] / max(abs(v[1]), 1e-300)
    br = _breaks_with(loss, 0.0, mean)
    nv = _visits(loss, br)
    if nv < 0:
        return _failed_moments()
    v, e, _ = _ke.integrate_moments(1 if under == "Q" else 0, br, *loss.args, 0.0, 0.0, mean,
                                    _MOM_RTOL, 255, nv)
    if not (v[0] > 0 and np.all(np.isfinite(v)) and np.all(np.isfinite(e))):
        return _failed_moments()
    m0 = v[0]
    # Normalise by the computed mass (≈ 1) so the moments are of a probability law.
    mu = v / m0
    rel = float(np.max(e[2:] / np.maximum(np.abs(v[2:]), 1e-300))) + err_mean
    # The centre is the exact mean up to rounding; v[1]/m0 is the residual first moment.
    r = mu[1]
    mu2 = mu[2] - r * r
    mu3 = mu[3] - 3 * r * mu[2] + 2 * r ** 3
    mu4 = mu[4] - 4 * r * mu[3] + 6 * r * r * mu[2] - 3 * r ** 4
    mu5 = mu[5] - 5 * r * mu[4] + 10 * r * r * mu[3] - 10 * r ** 3 * mu[2] + 4 * r ** 5
    return from_central(mean + r, mu2, mu3, mu4, mu5, mu[6], mu[7], rel)


def _failed_moments():
    """Moments the quadrature cannot reach (too many panels × components, or values out
    of floating-point range): NaN values and an infinite error, which the accountants
    refuse rather than score."""
    nan = math.nan
    return StepMoments(nan, nan, nan, nan, nan, nan, nan, nan, nan, nan, nan, math.inf)


def _centred_pass(loss, t, shift, c, need):
    """((moments, errors) about c of the tilted law, or None where out of reach or not
    finite; panel visits spent)."""
    br = _breaks_with(loss, t, c)
    nv = _visits(loss, br)
    if nv < 0:
        return None, 0
    v, e, n = _ke.integrate_moments(2, br, *loss.args, t, shift, c, _MOM_RTOL_TILT, need, nv)
    return ((v, e) if v[0] > 0 and np.all(np.isfinite(v)) else None), n


def _mixture_tilted(loss: GaussianMixtureLoss, t: float, centre=None) -> Tilted:
    if loss.pm.shape[0] == 1 and loss.qm.shape[0] == 1:
        # Gaussian pair: under Q_t, L ~ N(μ²(1/2 + t), μ²); K(t) = t(1+t)μ²/2.
        mu2 = (loss.qm[0] - loss.pm[0]) ** 2 / loss.sigma ** 2
        return Tilted(t, 0.5 * t * (1 + t) * mu2, mu2 * (0.5 + t), mu2,
                      2.0 * math.sqrt(2.0 / math.pi) * mu2 ** 1.5, 1e-16 * t * (1 + t) * mu2,
                      work=1.0)
    br0 = _breaks_with(loss, t)
    per = _per_panel(loss)
    work = _CALL_WORK
    nv = _visits(loss, br0)
    if nv < 0:
        # before the peak scan too, which alone costs as much as a pass
        return _failed(t, work)
    shift = _km.tilted_log_peak(br0, *loss.args, t)
    work += (br0.shape[0] / 15.0) * per
    # Components needed: mass, moments 1..5 and the absolute third moment (bits 0-5, 7).
    need = 0b10111111
    if centre is None or not math.isfinite(centre):
        # Pass 1 only locates the centre c ≈ K′(t) (a coarse tolerance suffices: pass 2
        # measures the residual mean about c and breaks its panels at the kink of |L − c|).
        v1, _, n = _ke.integrate_moments(2, br0, *loss.args, t, shift, 0.0, 1e-5, 3, nv)
        work += n * per
        if not (v1[0] > 0 and math.isfinite(v1[1])):
            return _failed(t, work)
        c = v1[1] / v1[0]
    else:
        c = float(centre)
    got, n = _centred_pass(loss, t, shift, c, need)
    work += n * per
    if got is None:
        return _failed(t, work)
    v, e = got
    r = v[1] / v[0]
    if centre is not None and r * r > 1e-8 * max(v[2] / v[0] - r * r, 1e-300):
        # The hint was off by more than 1e-4 sd: centre again so P_t stays tight.
        c = c + r
        got, n = _centred_pass(loss, t, shift, c, need)
        work += n * per
        if got is None:
            return _failed(t, work)
        v, e = got
    m0 = v[0]
    r = v[1] / m0
    K1 = c + r
    K2 = v[2] / m0 - r * r
    Pt = v[7] / m0
    # |E|d − r|³ − E|d|³| ≤ 3|r|·E(|d| + |r|)²: keep P_t an upper value.
    Pt += 3.0 * abs(r) * (v[2] / m0 + 2 * abs(r) * v[6] / m0 + r * r)
    # K = log m0 + shift. For tiny K this keeps an absolute error ~1e-15 (not a relative
    # one), which is what the accountant needs: δ depends on T·K through e^{T·K}.
    K = math.log(m0) + shift
    abs_err_K = e[0] / m0 + 1e-15 * (1.0 + abs(K))
    rel = float(max(e[2] / max(v[2], 1e-300), e[7] / max(v[7], 1e-300), e[0] / m0))
    if not (math.isfinite(rel) and math.isfinite(abs_err_K)):
        rel = math.inf
    k3, k4, k5 = higher_cumulants(v, m0, r)
    return Tilted(t, float(K), float(K1), float(K2), float(Pt), float(abs_err_K), rel, k3, k4, k5,
                  float(work))


def _failed(t, work=_CALL_WORK):
    """The tilted law is out of the quadrature's reach at t (its mass underflows between
    the panels, e.g. t ~ 1e8 on a bounded loss, or the panel layout alone exceeds the work
    cap): NaN values, infinite error."""
    nan = math.nan
    return Tilted(t, nan, nan, nan, nan, math.inf, math.inf, nan, nan, nan, float(work))
