"""The ROC of a membership-inference attacker, drawn from a certified trade-off curve:
``dp-accountant risk --plot`` and the extra panel of ``dp-accountant compare --plot``.

    dp-accountant risk --noise-multiplier 1.1 --sample-rate 0.0042667 --epochs 60 --plot roc.png

What is drawn (log–log axes, false-positive rate on x, true-positive rate on y):

* the **certified band**: every point of the true ROC lies in it, not only the grid points
  of the curve. Between two grid points α_i < α_{i+1} the band uses only facts of every
  trade-off curve (docs/math.md §15.1: β is convex and non-increasing, so TPR = 1 − β is
  concave and non-decreasing with TPR(0) ≥ 0 and TPR(1) = 1): the chord of the lower
  bounds is a lower bound, and TPR(α) ≤ min(TPR(α_{i+1}), TPR(α_i)·α/α_i) bounds it from
  above (TPR(α)/α is non-increasing for a concave TPR with TPR(0) ≥ 0). The band's two
  edges are also drawn as lines: at rtol = 1e-2 the band is too thin to see on log axes;
* an **estimate** (a method that is not certified) as one dashed line labelled
  "estimate (not a bound)", never as a band;
* the closest **μ-GDP** curve TPR = Φ(Φ⁻¹(α) + μ) when a fit is given, dotted and labelled
  as a fit (it is neither bound);
* the **random-guess** line TPR = FPR;
* the brackets of TPR at the requested false-positive rates (``dp-accountant risk --fpr``),
  as vertical bars (hollow markers for estimates).

matplotlib is imported inside the functions (an optional dependency); the file is written
atomically (:func:`accountant.core._files.write_atomically`).
"""
from __future__ import annotations

import math
from typing import TYPE_CHECKING, Optional, Sequence, Tuple

import numpy as np

if TYPE_CHECKING:
    from ..core.mechanisms import MechanismLike
    from ..risk import TradeoffCurve

__all__ = ["band", "draw_roc", "plot", "gdp_mu", "plot_alphas", "roc_data"]

#: relative margin on the band between grid points: the few float operations of the chord
#: and the ratio must not move a bound inward.
_MARGIN = 1e-12
#: the axes' left edge: the smallest FPR anyone reports (dp_accounting's tests go to 1e-10)
FPR_MIN = 1e-10


def plot_alphas(method: str = "pld") -> np.ndarray:
    """The false-positive rates of a plotted curve. For "pld" (one composed profile answers
    every α): :func:`accountant.tradeoff`'s default grid and 8 points per decade from 1e-10,
    since the band between two grid points is drawn from the two alone and a denser grid
    draws a narrower band. Other methods answer each α with many δ(ε) queries (RDP: seconds
    per α), so they get 2 points per decade and the linear part: a wider band between the
    points, still certified, in a tenth of the time."""
    if method == "pld":
        from ..risk.tradeoff import default_alphas
        return np.unique(np.concatenate([default_alphas(), np.geomspace(FPR_MIN, 0.999, 81)]))
    return np.unique(np.concatenate([np.geomspace(FPR_MIN, 1e-2, 17),
                                     np.linspace(0.05, 0.95, 7)]))


def roc_data(mechanism: "MechanismLike", steps: int = 1, method: str = "pld",
             rtol: Optional[float] = None, fit: bool = False,
             **options) -> Tuple["TradeoffCurve", object]:
    """(curve, fit) to draw: the trade-off curve on :func:`plot_alphas` (rtol 1e-2 unless
    given) and, with ``fit``, the μ-GDP fit (:func:`accountant.gdp_fit`; else None)."""
    from .. import risk
    curve = risk.tradeoff(mechanism, steps, alphas=plot_alphas(method), method=method,
                          rtol=rtol, **options)
    gdp = risk.gdp_fit(mechanism, steps, method=method, **options) if fit else None
    return curve, gdp


def band(curve: "TradeoffCurve",
         per_interval: int = 12) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(alpha, tpr_lower, tpr_upper) on a dense grid from ``alpha[0]`` to 1: proven bounds
    at every point when ``curve.certified`` (module docstring; docs/math.md §15.1).

    Parameters
    ----------
    curve : a :class:`accountant.risk.TradeoffCurve`.
    per_interval : points drawn in each interval between two grid points (log-spaced).
    """
    a = np.asarray(curve.alpha, dtype=float)
    lo = np.minimum(np.asarray(curve.tpr_lower, dtype=float), 1.0)
    up = np.minimum(np.asarray(curve.tpr_upper, dtype=float), 1.0)
    if a[-1] < 1.0:                  # TPR(1) = 1 for every test: an exact last point
        a, lo, up = np.append(a, 1.0), np.append(lo, 1.0), np.append(up, 1.0)
    xs, ls, us = [], [], []
    for i in range(a.size - 1):
        t = np.geomspace(a[i], a[i + 1], per_interval, endpoint=False)
        w = (t - a[i]) / (a[i + 1] - a[i])
        xs.append(t)
        ls.append(((1.0 - w) * lo[i] + w * lo[i + 1]) * (1.0 - _MARGIN))
        us.append(np.minimum(up[i + 1], up[i] * (t / a[i])) * (1.0 + _MARGIN))
    xs.append(a[-1:])
    ls.append(lo[-1:])
    us.append(up[-1:])
    x = np.concatenate(xs)
    # the best test is at least as good as guessing: TPR ≥ FPR (β(α) ≤ 1 − α, §15.1)
    l_ = np.maximum(np.concatenate(ls), x)
    u_ = np.minimum(np.concatenate(us), 1.0)
    return x, np.minimum(l_, u_), u_


def gdp_mu(fit: object) -> Optional[Tuple[float, str]]:
    """(μ, label) of a μ-GDP fit for the plot, or None.

    ``fit`` is what :func:`accountant.gdp_fit` returns (its ``mu`` is a bracket, a
    :class:`~accountant.risk.RiskResult`, or a number) or a plain number.
    """
    if fit is None:
        return None
    mu = getattr(fit, "mu", fit)
    value = float(getattr(mu, "estimate", mu))
    if not math.isfinite(value) or value < 0:
        return None
    regret = getattr(fit, "regret", None)
    r = getattr(regret, "estimate", regret)
    extra = f", regret {float(r):.3g}" if r is not None and math.isfinite(float(r)) else ""
    return value, f"closest μ-GDP curve, μ = {value:.4g}{extra} (a fit, not a bound)"


def draw_roc(ax: object, curve: "TradeoffCurve", fit: object = None, points: Sequence = (),
             title: str = "", guess: bool = True) -> None:
    """Draw the ROC of ``curve`` (a :class:`~accountant.risk.TradeoffCurve`) into the
    matplotlib axes ``ax`` (module docstring): the certified band or the estimate, the
    μ-GDP ``fit`` if given, the random-guess line (unless ``guess`` is False: a second
    curve on the same axes) and the TPR brackets of ``points``
    (:class:`~accountant.risk.RiskResult` with quantity "tpr"; others are ignored)."""
    from scipy.special import ndtr, ndtri
    x = np.geomspace(FPR_MIN, 1.0, 400)
    ymin = FPR_MIN
    if curve.certified:
        bx, bl, bu = band(curve)
        ax.fill_between(bx, bl, bu, color="tab:blue", alpha=0.35, lw=0,
                        label=f"certified band ({curve.method})")
        ax.plot(bx, bu, color="tab:blue", lw=1.6, label="TPR upper bound (certified)")
        ax.plot(bx, bl, color="navy", lw=0.9, label="TPR lower bound (certified)")
        ymin = min(ymin, float(bl[0]))
    else:
        tpr = np.clip(1.0 - np.asarray(curve.beta_estimate, dtype=float), 0.0, 1.0)
        keep = tpr > 0
        ax.plot(np.asarray(curve.alpha)[keep], tpr[keep], color="tab:orange", lw=1.6,
                ls="--", label=f"{curve.method} estimate (not a bound)")
        if keep.any():
            ymin = min(ymin, float(tpr[keep][0]))
    g = gdp_mu(fit)
    if g is not None:
        ax.plot(x, ndtr(ndtri(x) + g[0]), color="tab:green", lw=1.2, ls=":", label=g[1])
    if guess:
        ax.plot(x, x, color="black", lw=0.8, ls=(0, (1, 3)), label="random guess (TPR = FPR)")
    for r in points:
        if getattr(r, "quantity", None) != "tpr":
            continue
        f = float(r.at["fpr"])
        color = "tab:red"
        if r.certified:
            ax.plot([f, f], [r.lower, r.upper], color=color, lw=2.0)
            ax.plot([f], [r.upper], marker="o", color=color, ms=5)
        else:
            ax.plot([f], [r.estimate], marker="o", mfc="none", mec=color, ms=6, ls="none")
        ax.annotate(f"{float(r):.3g}", (f, float(r)), textcoords="offset points",
                    xytext=(4, 4), fontsize=7, color=color)
        ymin = min(ymin, float(r.lower) if r.lower > 0 else ymin)
    if any(getattr(r, "quantity", None) == "tpr" for r in points):
        kinds = {bool(r.certified) for r in points if getattr(r, "quantity", None) == "tpr"}
        ax.plot([], [], color="tab:red", marker="o", lw=2.0,
                label="TPR at the asked FPR" + (" (certified bracket)" if kinds == {True}
                                                 else " (estimate, hollow: not a bound)"))
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlim(FPR_MIN, 1.0)
    ax.set_ylim(max(ymin / 3.0, 1e-300), 1.5)
    ax.set_xlabel("false-positive rate (FPR)")
    ax.set_ylabel("true-positive rate (TPR) of the best attack")
    if title:
        ax.set_title(title, fontsize=9)
    ax.grid(True, which="major", alpha=0.3)
    ax.legend(fontsize=7, loc="lower right")


def plot(curve: "TradeoffCurve", path: str, fit: object = None, points: Sequence = (),
         title: str = "") -> str:
    """Draw the ROC (:func:`draw_roc`) into ``path`` (any format matplotlib writes, by
    extension; written atomically). Returns ``path``. ValueError for a path that cannot
    be written or without matplotlib."""
    from ..calibration.tables import check_output
    from ._plotting import plot_formats, pyplot, save
    ext = check_output(path, plot_formats(), "plot path")
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 5.5), dpi=110)
    try:
        draw_roc(ax, curve, fit=fit, points=points, title=title)
        fig.tight_layout()
    except BaseException:
        plt.close(fig)
        raise
    return save(fig, path, ext)
