"""Log-space special functions of accountant/core/special.py against mpmath (50 digits)."""
import math

import mpmath as mp
import numpy as np
import pytest

from accountant.core.special import log1mexp, log_cdf_normal, log_sf_normal, logaddexp, logsubexp

mp.mp.dps = 50  # for the references computed at import


@pytest.fixture(autouse=True)
def _mp_digits():
    # Each test file runs at its own precision whatever the files collected after it set.
    with mp.workdps(50):
        yield


def _mp_log_sf(z):
    return mp.log(mp.erfc(mp.mpf(z) / mp.sqrt(2)) / 2)


# A deterministic grid over [-40, 1e4]: dense where the branches meet (−5, 25, 37) and
# log-spaced out to 1e4 where the asymptotic series is used.
_Z = sorted(set(
    [float(z) for z in np.linspace(-40.0, 40.0, 321)]
    + [-5.0 - 1e-12, -5.0, -4.999999, 24.999999, 25.0, 25.000001, 37.0, 37.5, 38.5, 0.0, -0.0]
    + [float(z) for z in np.geomspace(40.0, 1e4, 60)]
    + [1e-300, -1e-300, 1e-8, -1e-8]
))


def test_log_sf_normal_matches_mpmath():
    worst = 0.0
    for z in _Z:
        ref = _mp_log_sf(z)
        got = log_sf_normal(z)
        assert math.isfinite(got)
        # Relative error on log Φ̄ for the upper tail; near z ≤ 0 the value is tiny in
        # magnitude (log Φ̄ → 0), so measure the error of Φ̄ itself there.
        if ref < -1:
            err = abs((got - ref) / ref)
        else:
            err = float(abs(mp.expm1(mp.mpf(got) - ref)))
        worst = max(worst, err)
    assert worst < 5e-15, worst


def test_log_sf_normal_limits_and_monotone():
    assert log_sf_normal(np.inf) == -np.inf
    assert log_sf_normal(-np.inf) == 0.0
    vals = np.array([log_sf_normal(z) for z in _Z])
    assert np.all(np.diff(vals) <= 0)
    # Far lower tail: log(1 − Φ̄(−|z|)) ≈ −Φ̄(|z|), of order 1e-350 → 0.0 or −tiny.
    assert -1e-300 < log_sf_normal(-40.0) <= 0.0
    assert log_cdf_normal(3.0) == pytest.approx(float(mp.log(mp.ncdf(3))), rel=1e-14)


def test_logaddexp_log1mexp_logsubexp():
    for a, b in [(0.0, 0.0), (-1e3, 2.0), (700.0, 699.0), (-745.0, -746.0), (3.0, -np.inf)]:
        ref = mp.log(mp.exp(a) + mp.exp(b)) if b != -np.inf else mp.mpf(a)
        assert logaddexp(a, b) == pytest.approx(float(ref), rel=1e-15, abs=1e-300)
        assert logaddexp(b, a) == pytest.approx(float(ref), rel=1e-15, abs=1e-300)
    for x in [-1e-20, -1e-10, -1e-3, -0.5, -0.6931471805599453, -0.7, -5.0, -50.0, -800.0]:
        ref = mp.log(-mp.expm1(mp.mpf(x)))
        assert log1mexp(x) == pytest.approx(float(ref), rel=1e-14, abs=1e-320)
    assert log1mexp(0.0) == -np.inf
    assert log1mexp(1.0) == -np.inf
    assert logsubexp(1.0, 1.0) == -np.inf
    assert logsubexp(2.0, 1.0) == pytest.approx(float(mp.log(mp.e ** 2 - mp.e)), rel=1e-15)
    assert logsubexp(0.0, -1e-12) == pytest.approx(float(mp.log(-mp.expm1(mp.mpf(-1e-12)))), rel=1e-12)


def _mp_cell(xl, xr, el, h, pm, plw, qm, qlw, sigma):
    """(a, b) of one Gaussian-mixture PLD cell by mpmath quadrature (docs/math.md §4)."""
    with mp.workdps(30):
        s2 = mp.mpf(sigma) ** 2

        def lse(x, m, lw):
            return mp.log(mp.fsum(mp.e ** (mp.mpf(w) + (x * mp.mpf(mu) - mp.mpf(mu) ** 2 / 2)
                                           / s2) for mu, w in zip(m, lw)))

        def dens(x):
            return mp.e ** (lse(x, pm, plw) - x * x / (2 * s2)) / (mp.sqrt(2 * mp.pi) * sigma)

        def d(x):
            return lse(x, qm, qlw) - lse(x, pm, plw) - el
        em1h = mp.expm1(h)
        a = mp.quad(lambda x: dens(x) * mp.expm1(d(x)), [xl, xr]) / em1h
        b = mp.quad(lambda x: dens(x) * (mp.e ** h - mp.e ** d(x)), [xl, xr]) / em1h
        return a, b


@pytest.mark.parametrize("kind", ["remove", "add", "three"])
def test_mixture_cells_match_mpmath_in_every_node_tier(kind):
    """The cells of a Gaussian-mixture pair (two-exponential form for pairs sharing a
    component, log-domain form otherwise) against mpmath: each cell's mass to 1e-13, and
    its a/b split to 1e-14 of the mass once scaled by h (what moves e^L within the cell),
    over cells of 2 to 8 quadrature nodes (wide cells in x come from small q)."""
    from accountant.loss import _mixture_pld_kernels as kc
    from accountant.loss import privacy_losses
    import accountant as acc
    rng = np.random.default_rng(7)
    if kind == "three":
        m = acc.MixtureOfGaussians(1.3, [0.0, 1.0, 2.0], [0.5, 0.3, 0.2])
        settings = [(m, h) for h in (2e-3, 2e-4)]
    else:
        settings = [(acc.SubsampledGaussian(s, q), h) for s, q, h in
                    ((0.8, 1e-3, 1e-4), (1.1, 0.01, 6.25e-5), (2.0, 1e-4, 2e-3), (3.0, 0.5, 1e-5))]
    tiers = set()
    for mech, h in settings:
        pl = [p for p in privacy_losses(mech) if p.direction == ("add" if kind == "add"
                                                                  else "remove")][0]
        pm, plw, qm, qlw, sig = pl.args
        for x0 in rng.uniform(-3 * sig, 3 * sig + 1, 4):
            from accountant.loss import _mixture_kernels as km
            i0 = math.floor(km.loss(x0, pm, plw, qm, qlw, sig) / h)
            xs, a, b = kc.mixture_cells(i0 * h, h, 2, pm, plw, qm, qlw, sig, pl.lo_loss,
                                        pl.hi_loss)
            ea, eb = _mp_cell(xs[0], xs[1], mp.mpf(i0) * h, h, pm, plw, qm, qlw, sig)
            mass = ea + eb
            assert abs(a[0] + b[0] - mass) <= 1e-13 * mass
            assert abs(a[0] - ea) * h <= 1e-14 * mass
            cmax = max(abs(pm).max(), abs(qm).max())
            tiers.add(kc._panels(xs[0], xs[1], -1e300, 1e300, cmax, sig, 1 / sig ** 2)[3].size)
    if kind == "remove":
        assert tiers >= {2, 3, 4}   # the node tiers exercised (8 nodes: q = 1e-4, h = 2e-3)
