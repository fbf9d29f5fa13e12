"""Privacy loss of a pair of Gaussian mixtures with a common σ.

P = Σ_i u_i N(a_i, σ²), Q = Σ_j w_j N(c_j, σ²). This one family covers the Gaussian
mechanism, the Poisson-subsampled Gaussian (both directions), replace-one subsampling, the
mixture of Gaussians and the user-level ELS/ULS schemes (notes/math.md §2).
"""
from __future__ import annotations

import math
from functools import cached_property

import numpy as np
from scipy.special import gammaln

from .._kernels import mixture as _k
from .base import PrivacyLoss

# Integration and hockey-stick accuracy. The adaptive quadrature's Kronrod estimate is
# a very conservative error proxy for these analytic integrands.
_RTOL = 1e-11
_OFFSETS = np.array([-38.0, -16.0, -8.0, -4.0, -2.0, -1.0, 0.0, 1.0, 2.0, 4.0, 8.0, 16.0, 38.0])


def _clean(means, weights):
    means = np.asarray(means, dtype=float)
    weights = np.asarray(weights, dtype=float)
    keep = weights > 0
    means, weights = means[keep], weights[keep]
    # Merge equal means so that limits of L are exact.
    um = np.unique(means)
    uw = np.array([weights[means == m].sum() for m in um])
    return um, uw


class GaussianMixtureLoss(PrivacyLoss):
    """L(x) = log Σ_j w_j N(x; c_j, σ²) − log Σ_i u_i N(x; a_i, σ²), increasing in x."""

    def __init__(self, sigma, p_means, p_weights, q_means, q_weights, direction="remove"):
        self.sigma = float(sigma)
        pm, pw = _clean(p_means, p_weights)
        qm, qw = _clean(q_means, q_weights)
        self.pm, self.plw = pm, np.log(pw)
        self.qm, self.qlw = qm, np.log(qw)
        self.direction = direction
        # Limits of L at ∓∞ come from the outermost components (notes/math.md §2).
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

    def __repr__(self):
        return (f"GaussianMixtureLoss(sigma={self.sigma}, P={list(zip(self.pm, np.exp(self.plw)))}, "
                f"Q={list(zip(self.qm, np.exp(self.qlw)))}, direction={self.direction!r})")

    @property
    def args(self):
        """The plain arrays and floats the numba kernels take."""
        return self.pm, self.plw, self.qm, self.qlw, self.sigma

    # -- loss and its inverse ------------------------------------------------------------
    def loss(self, x):
        x = np.asarray(x, dtype=float)
        out = np.array([_k.loss(xi, *self.args) for xi in x.ravel()]).reshape(x.shape)
        return out if out.ndim else float(out)

    def inverse_loss(self, eps):
        e = np.asarray(eps, dtype=float)
        out = np.array([_k.inverse_loss(ei, *self.args, self.lo_loss, self.hi_loss)
                        for ei in e.ravel()]).reshape(e.shape)
        return out if out.ndim else float(out)

    # -- hockey stick and tails ----------------------------------------------------------
    def log_hockey_stick(self, eps):
        e = np.asarray(eps, dtype=float)
        out = _k.log_hockey_stick_array(np.ascontiguousarray(e.ravel()), *self.args,
                                        self.lo_loss, self.hi_loss).reshape(e.shape)
        return out if out.ndim else float(out)

    def log_sf(self, eps, under: str = "Q"):
        if under not in ("P", "Q"):
            raise ValueError(f"under must be 'P' or 'Q', got {under!r}")
        e = np.asarray(eps, dtype=float)
        out = _k.log_sf_loss_array(np.ascontiguousarray(e.ravel()), *self.args, self.lo_loss,
                                   self.hi_loss, under == "Q").reshape(e.shape)
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
                  power: float = 0.0, rtol: float = _RTOL):
        """Adaptive quadrature of one of the integrand kinds of ``_kernels.mixture``."""
        br = self.breakpoints(t if kind in (0, 1, 5) else 0.0)
        return _k.integrate(kind, br, *self.args, float(t), float(shift), float(center),
                            float(power), rtol)

    def _is_two_point_remove(self):
        return self.pm.shape[0] == 1 and self.qm.shape[0] <= 2 and self.pm[0] == self.qm[0]

    def _cgf_scalar(self, t: float) -> float:
        if t == 0.0:
            return 0.0
        if not t > -1.0:
            raise ValueError(f"t must be > -1 for the CGF, got {t!r}")
        cached = self._cgf_cache.get(t)
        if cached is not None:
            return cached
        s2 = self.sigma * self.sigma
        if self.pm.shape[0] == 1 and self.qm.shape[0] == 1:
            # Gaussian pair: K(t) = t(1+t)Δ²/(2σ²).
            d = self.qm[0] - self.pm[0]
            val = t * (1.0 + t) * d * d / (2.0 * s2)
        elif self._is_two_point_remove() and t == math.floor(t) and t <= 5000:
            val = self._cgf_integer_two_point(int(t) + 1)
        else:
            val = self._cgf_quadrature(t)
        self._cgf_cache[t] = val
        return val

    def _cgf_integer_two_point(self, alpha: int) -> float:
        """P = N(a,σ²), Q = (1−q)N(a,σ²) + qN(a+c,σ²), integer α:
        E_P[(Q/P)^α] = Σ_i C(α,i) q^i (1−q)^{α−i} e^{(i²−i)c²/(2σ²)} (Mironov et al. 2019)."""
        c = self.qm[1] - self.qm[0]
        lq, l1q = self.qlw[1], self.qlw[0]
        i = np.arange(alpha + 1, dtype=float)
        terms = (gammaln(alpha + 1) - gammaln(i + 1) - gammaln(alpha - i + 1)
                 + i * lq + (alpha - i) * l1q + (i * i - i) * c * c / (2 * self.sigma ** 2))
        m = terms.max()
        log_a = m + math.log(np.exp(terms - m).sum())
        if log_a < 1e-3:
            # Cancellation-free form for tiny values: Σ over i ≥ 2 of the excess terms.
            excess = np.exp(terms[2:]) * -np.expm1(-(i[2:] ** 2 - i[2:]) * c * c / (2 * self.sigma ** 2))
            return math.log1p(float(excess.sum()))
        return float(log_a)

    @cached_property
    def _spread(self) -> float:
        return float(max(abs(self.qm).max(), abs(self.pm).max()) * 2)

    def _cgf_quadrature(self, t: float) -> float:
        # K ≤ t(1+t)Δ²/(2σ²) with Δ the widest shift between components; when that is
        # small the direct excess form cannot overflow and keeps relative accuracy.
        crude = abs(t) * (1.0 + t) * self._spread ** 2 / (2 * self.sigma ** 2)
        if crude >= 1.0 or t < 0:
            centres = self.breakpoints(t)
            shift = _k.tilted_log_peak(centres, *self.args, t)
            val, _ = self.integrate(0, t=t, shift=shift)
            log_m = shift + math.log(val)
            if log_m >= 1.0 or t < 0:
                return log_m
        # E_Q[e^{tL}] − 1 = E_Q[expm1(tL) − tL] + t·KL(Q‖P): both parts ≥ 0 (t > 0).
        excess, _ = self.integrate(6, t=t)
        return math.log1p(excess)

    def cgf(self, t):
        """K_Y(t) = log E_Q[e^{tL}], real t > −1.

        Integer orders of the two-point (subsampled Gaussian, remove) pair use the binomial
        closed form; other orders use adaptive Gauss–Kronrod in log space, and the
        non-negative split E_Q[e^{tL}] − 1 = E_Q[expm1(tL) − tL] + t·KL(Q‖P) when K is small,
        so the relative error stays near 1e-12 even for K ≈ 1e-15.
        """
        if np.ndim(t):
            return np.array([self._cgf_scalar(float(ti)) for ti in np.ravel(t)]).reshape(np.shape(t))
        return self._cgf_scalar(float(t))


def binomial_log_pmf(k: int, q: float) -> np.ndarray:
    """log Binomial(k, q) pmf at 0..k (−inf where it vanishes)."""
    j = np.arange(k + 1, dtype=float)
    with np.errstate(divide="ignore"):
        lq = math.log(q)
        l1q = math.log1p(-q) if q < 1 else -np.inf
        out = gammaln(k + 1) - gammaln(j + 1) - gammaln(k - j + 1) + j * lq
        out = out + np.where(k - j > 0, (k - j) * l1q, 0.0)
    return out
