"""Cumulants and tilted moments of the privacy loss, one step, cached per mechanism.

Two families of numbers feed the approximate accountants (docs/math.md §5, §6):

* :func:`step_moments` — for X = L under P or Y = L under Q: the mean κ₁, the central
  moments μ₂..μ₅, the absolute central moments E|L−κ₁| and E|L−κ₁|³, and the cumulants
  κ₂ = μ₂, κ₃ = μ₃, κ₄ = μ₄ − 3μ₂², κ₅ = μ₅ − 10μ₃μ₂ (Edgeworth accountant and the
  Derumigny–Girard–Guyonvarch bound, which needs centred absolute moments).
* :func:`tilted` — for a real t > 0, K(t) = log E_Q[e^{tL}], K′(t), K″(t) and
  P_t = E_t|L − K′(t)|³ under the tilted law dQ_t ∝ e^{tL} dQ (saddle-point accountant).

Gaussian-mixture pairs use one adaptive vector Gauss–Kronrod pass for the mean (written
as the integral of a non-negative function, so that a mean far below E|L| keeps its
relative accuracy) and one pass for all central moments about that mean — no raw-moment
cancellation. Panels break at every component, at the tilted peaks and at the point where
L equals the centre (the kink of |L − c|). The Gaussian pair and the Laplace pair are in
closed form / exact piecewise integrals.

Every pass is bounded in work (``_WORK``, in units of panel evaluations × components:
mixtures with hundreds of components cost ~100× more per panel); a panel layout beyond
reach returns NaN values with an infinite error (``Tilted``) or NaN moments, which the
accountants refuse rather than score. ``Tilted.work`` records the cost, which the
saddle-point accountant's per-query budget counts.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np

from ._kernels import edgeworth as _ke
from ._kernels import mixture as _km
from .privacy_loss import GaussianMixtureLoss, LaplaceLoss, loss_for, privacy_losses

__all__ = ["StepMoments", "Tilted", "step_moments", "mechanism_moments", "tilted",
           "mechanism_tilted"]

# Relative tolerance of the Kronrod–Gauss difference per panel. The difference
# over-estimates the error of the 15-point rule on these analytic integrands by many
# orders of magnitude; 1e-12 gives cumulants to ~1e-13 relative (tests/test_cumulants.py).
_RTOL = 1e-12
_RTOL_TILT = 1e-11
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
_CALL_WORK = 800.0    # Python overhead of one quadrature (~0.1 ms), in work units


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


@dataclass(frozen=True)
class StepMoments:
    """Moments of one step's privacy loss under P ("X") or Q ("Y").

    k1..k5 are the cumulants; mu2..mu5 the central moments; abs1 = E|L − k1| and
    abs3 = E|L − k1|³; rel_err an upper estimate of the relative quadrature error.
    """

    k1: float
    k2: float
    k3: float
    k4: float
    k5: float
    mu2: float
    mu3: float
    mu4: float
    mu5: float
    abs1: float
    abs3: float
    rel_err: float = 0.0

    @property
    def cumulants(self):
        return (self.k1, self.k2, self.k3, self.k4, self.k5)


@dataclass(frozen=True)
class Tilted:
    """K(t), K′(t), K″(t) and P_t = E_t|L − K′(t)|³ of one step under Q tilted by e^{tL}.

    rel_err is an upper estimate of the relative error of each of the four numbers (K
    carries it as an absolute error ``abs_err_K``); where the quadrature cannot reach the
    tilted law the numbers are NaN and both errors infinite.
    """

    t: float
    K: float
    K1: float
    K2: float
    Pt: float
    abs_err_K: float = 0.0
    rel_err: float = 0.0
    K3: float = 0.0   # third to fifth tilted cumulants (estimates only: the SPA-MSD
    K4: float = 0.0   # correction, and derivative data of the Hermite surrogate between
    K5: float = 0.0   # lattice tilts in accountant/saddlepoint.py)
    work: float = 0.0  # what the quadrature cost, in work units (see _WORK): the
                       # saddle-point accountant's budget is counted in them


def _from_central(mean, mu2, mu3, mu4, mu5, abs1, abs3, rel_err):
    mean, mu2, mu3, mu4, mu5, abs1, abs3, rel_err = (
        float(x) for x in (mean, mu2, mu3, mu4, mu5, abs1, abs3, rel_err))
    return StepMoments(k1=mean, k2=mu2, k3=mu3, k4=mu4 - 3.0 * mu2 * mu2,
                       k5=mu5 - 10.0 * mu3 * mu2, mu2=mu2, mu3=mu3, mu4=mu4, mu5=mu5,
                       abs1=abs1, abs3=abs3, rel_err=rel_err)


# ----------------------------------------------------------------------------------------
# Gaussian mixtures
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
        return _from_central(mean, mu2, 0.0, 3.0 * mu2 * mu2, 0.0, sd * math.sqrt(2 / math.pi),
                             2.0 * math.sqrt(2.0 / math.pi) * sd ** 3, 0.0)
    # Means from non-negative integrands: −E_P[L] = E_P[expm1 L − L], E_Q[L] = E_P[L e^L − expm1 L].
    br0 = _breaks_with(loss, 0.0)
    kind = 4 if under == "Q" else 3
    nv = _visits(loss, br0)
    if nv < 0:
        return _failed_moments()
    v, e, _ = _ke.integrate_moments(kind, br0, *loss.args, 0.0, 0.0, 0.0, _RTOL, 255, nv)
    mean = v[1] if under == "Q" else -v[1]
    if not math.isfinite(mean):
        return _failed_moments()
    err_mean = e[1] / max(abs(v[1]), 1e-300)
    br = _breaks_with(loss, 0.0, mean)
    nv = _visits(loss, br)
    if nv < 0:
        return _failed_moments()
    v, e, _ = _ke.integrate_moments(1 if under == "Q" else 0, br, *loss.args, 0.0, 0.0, mean,
                                    _RTOL, 255, nv)
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
    return _from_central(mean + r, mu2, mu3, mu4, mu5, mu[6], mu[7], rel)


def _failed_moments():
    """Moments the quadrature cannot reach (too many panels × components, or values out
    of floating-point range): NaN values and an infinite error, which the accountants
    refuse rather than score."""
    nan = math.nan
    return StepMoments(nan, nan, nan, nan, nan, nan, nan, nan, nan, nan, nan, math.inf)


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
    br = _breaks_with(loss, t, c)
    nv = _visits(loss, br)
    if nv < 0:
        return _failed(t, work)
    v, e, n = _ke.integrate_moments(2, br, *loss.args, t, shift, c, _RTOL_TILT, need, nv)
    work += n * per
    if not (v[0] > 0 and np.all(np.isfinite(v))):
        return _failed(t, work)
    r = v[1] / v[0]
    if centre is not None and r * r > 1e-8 * max(v[2] / v[0] - r * r, 1e-300):
        # The hint was off by more than 1e-4 sd: centre again so P_t stays tight.
        c = c + r
        br = _breaks_with(loss, t, c)
        nv = _visits(loss, br)
        if nv < 0:
            return _failed(t, work)
        v, e, n = _ke.integrate_moments(2, br, *loss.args, t, shift, c, _RTOL_TILT, need, nv)
        work += n * per
        if not (v[0] > 0 and np.all(np.isfinite(v))):
            return _failed(t, work)
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
    k3, k4, k5 = _higher(v, m0, r)
    return Tilted(t, float(K), float(K1), float(K2), float(Pt), float(abs_err_K), rel, k3, k4, k5,
                  float(work))


def _failed(t, work=_CALL_WORK):
    """The tilted law is out of the quadrature's reach at t (its mass underflows between
    the panels, e.g. t ~ 1e8 on a bounded loss, or the panel layout alone exceeds the work
    cap): NaN values, infinite error."""
    nan = math.nan
    return Tilted(t, nan, nan, nan, nan, math.inf, math.inf, nan, nan, nan, float(work))


def _higher(v, m0, r):
    """Third to fifth cumulants from moments about c, with r = mean − c."""
    m2, m3, m4, m5 = v[2] / m0, v[3] / m0, v[4] / m0, v[5] / m0
    mu2 = m2 - r * r
    mu3 = m3 - 3 * r * m2 + 2 * r ** 3
    mu4 = m4 - 4 * r * m3 + 6 * r * r * m2 - 3 * r ** 4
    mu5 = m5 - 5 * r * m4 + 10 * r * r * m3 - 10 * r ** 3 * m2 + 4 * r ** 5
    return float(mu3), float(mu4 - 3 * mu2 * mu2), float(mu5 - 10 * mu3 * mu2)


# ----------------------------------------------------------------------------------------
# Laplace: L has atoms at ±a (a = s/b) and an exponential density on (−a, a)
# (under P: ¼e^{−(l+a)/2}; under Q: ¼e^{(l−a)/2}); everything is an exact sum of the
# atoms plus Gauss–Legendre panels on which the exponential varies by at most e^{8}.
# ----------------------------------------------------------------------------------------
_GL_X, _GL_W = np.polynomial.legendre.leggauss(40)


def _laplace_parts(a: float, under: str, t: float):
    """(atom locations, log atom masses, log density coefficient λ, log c0) for the law of L
    under P (t ignored), Q, or Q tilted by e^{tL} (unnormalised): density e^{c0 + λ l}."""
    if under == "P":
        return np.array([-a, a]), np.array([math.log(0.5), math.log(0.5) - a]), -0.5, math.log(0.25) - a / 2
    # Q tilted by e^{tL}: atoms e^{∓ta} times Q's atoms, density times e^{tl}.
    return (np.array([-a, a]), np.array([math.log(0.5) - a - t * a, math.log(0.5) + t * a]),
            0.5 + t, math.log(0.25) - a / 2)


def _laplace_integrals(a, atoms, logm, lam, c0, c, shift):
    """Σ over atoms and the density of e^{−shift}·[1, d, d², d³, d⁴, d⁵, |d|, |d|³], d = l − c."""
    # Panels: split at c (the kink of |d|) and so that λ·width ≤ 8 on each; where the
    # exponential is below e^{-60} of its peak (|λ| large: strong tilts) it is dropped.
    lo_end, hi_end = -a, a
    if lam * 2 * a > 60.0:
        lo_end = a - 60.0 / lam
    elif -lam * 2 * a > 60.0:
        hi_end = -a - 60.0 / lam
    ends = [lo_end, hi_end]
    if lo_end < c < hi_end:
        ends.insert(1, c)
    xs, lw = [atoms], [logm]
    for lo, hi in zip(ends[:-1], ends[1:]):
        m = max(1, int(math.ceil(abs(lam) * (hi - lo) / 8.0)))
        edges = np.linspace(lo, hi, m + 1)
        half = 0.5 * np.diff(edges)
        x = (0.5 * (edges[:-1] + edges[1:]))[:, None] + half[:, None] * _GL_X[None, :]
        xs.append(x.ravel())
        lw.append((c0 + lam * x + np.log(half[:, None] * _GL_W[None, :])).ravel())
    x = np.concatenate(xs)
    w = np.exp(np.concatenate(lw) - shift)
    d = x - c
    ad = np.abs(d)
    wd = w * d
    wd2 = wd * d
    wd3 = wd2 * d
    wd4 = wd3 * d
    return np.array([w.sum(), wd.sum(), wd2.sum(), wd3.sum(), wd4.sum(), (wd4 * d).sum(),
                     (w * ad).sum(), (w * ad ** 3).sum()])


def _laplace_moments(loss: LaplaceLoss, under: str) -> StepMoments:
    a = loss.eps0
    atoms, logm, lam, c0 = _laplace_parts(a, under, 0.0)
    # Mean in closed form: E_Q[L] = KL(Q‖P) = a − 1 + e^{−a} = −E_P[L] (symmetric pair).
    kl = a + math.expm1(-a)
    mean = kl if under == "Q" else -kl
    v = _laplace_integrals(a, atoms, logm, lam, c0, mean, 0.0)
    mu = v / v[0]
    return _from_central(mean, mu[2], mu[3], mu[4], mu[5], mu[6], mu[7], 1e-13)


def _laplace_tilted(loss: LaplaceLoss, t: float) -> Tilted:
    a = loss.eps0
    atoms, logm, lam, c0 = _laplace_parts(a, "Q", t)
    K = float(loss.cgf(t))
    v1 = _laplace_integrals(a, atoms, logm, lam, c0, 0.0, K)
    c = v1[1] / v1[0]
    v = _laplace_integrals(a, atoms, logm, lam, c0, c, K)
    r = v[1] / v[0]
    K1 = c + r
    K2 = v[2] / v[0] - r * r
    Pt = v[7] / v[0] + 3.0 * abs(r) * (v[2] / v[0] + 2 * abs(r) * v[6] / v[0] + r * r)
    k3, k4, k5 = _higher(v, v[0], r)
    return Tilted(t, K, float(K1), float(K2), float(Pt), 1e-13 * (1 + abs(K)), 1e-12, k3, k4, k5,
                  _CALL_WORK)


# ----------------------------------------------------------------------------------------
# Public entry points (cached)
# ----------------------------------------------------------------------------------------
def step_moments(loss, under: str) -> StepMoments:
    """Moments of one step of ``loss`` under "P" (X) or "Q" (Y); not cached (see
    :func:`mechanism_moments`)."""
    if under not in ("P", "Q"):
        raise ValueError(f"under must be 'P' or 'Q', got {under!r}")
    if isinstance(loss, GaussianMixtureLoss):
        return _mixture_moments(loss, under)
    if isinstance(loss, LaplaceLoss):
        return _laplace_moments(loss, under)
    raise ValueError(f"loss must be a GaussianMixtureLoss or LaplaceLoss, got {type(loss).__name__}")


@lru_cache(maxsize=8192)
def mechanism_moments(mechanism, direction: str, under: str) -> StepMoments:
    """:func:`step_moments` of ``mechanism``'s loss in ``direction``, cached per mechanism."""
    return step_moments(loss_for(mechanism, direction), under)


def tilted(loss, t: float, centre=None) -> Tilted:
    """K(t), K′(t), K″(t), P_t of one step at t > 0 (not cached).

    ``centre``, a guess of K′(t) (e.g. extrapolated from a nearby t), saves the locating
    pass; the result does not depend on it beyond rounding.
    """
    t = float(t)
    if not t > 0 or not math.isfinite(t):
        raise ValueError(f"t must be in (0, inf), got {t!r}")
    if isinstance(loss, GaussianMixtureLoss):
        return _mixture_tilted(loss, t, centre)
    if isinstance(loss, LaplaceLoss):
        return _laplace_tilted(loss, t)
    raise ValueError(f"loss must be a GaussianMixtureLoss or LaplaceLoss, got {type(loss).__name__}")


_TILT_CACHE: dict = {}


def mechanism_tilted(mechanism, direction: str, t: float, centre=None) -> Tilted:
    """:func:`tilted` of ``mechanism``'s loss in ``direction``, cached per (mechanism, t)."""
    key = (mechanism, direction, float(t))
    hit = _TILT_CACHE.get(key)
    if hit is None:
        if len(_TILT_CACHE) > 200_000:
            _TILT_CACHE.clear()
        hit = _TILT_CACHE[key] = tilted(loss_for(mechanism, direction), t, centre)
    return hit


def directions(mechanism):
    """The directions in which ``mechanism`` has its own privacy loss."""
    return tuple(pl.direction for pl in privacy_losses(mechanism))
