"""Discrete and guarantee-level steps (accountant/loss/discrete.py, docs/math.md §10):
discrete Laplace and Gaussian, randomized response, (ε, δ) and zCDP steps, and the pure-DP
answer at δ = 0.

References: dp_accounting's published test values (recorded below as numbers, each with
its file and test), closed forms (Kairouz–Oh–Viswanath composition of (ε, δ) steps, the
Gaussian RDP, Bun–Steinke's zCDP conversion) and mpmath sums over the atoms.
"""
from __future__ import annotations

import math
from fractions import Fraction

import mpmath as mp
import numpy as np
import pytest
from hypothesis import given, strategies as st

import accountant as acc
from accountant.core.mechanisms import (ZCDP, DiscreteGaussian, DiscreteLaplace, EpsilonDelta,
                                        Gaussian, Laplace, RandomizedResponse, Schedule,
                                        SubsampledGaussian, SubsampledLaplace)
from accountant.loss import privacy_losses
from accountant.loss.discrete import MAX_DISCRETE_GAUSSIAN_ATOMS, DiscreteGaussianLoss

mp.mp.dps = 40
METHODS = ("pld", "rdp", "edgeworth", "saddlepoint")


# -- dp_accounting's published values ---------------------------------------------------------
# rdp/rdp_privacy_accountant_test.py, test_compute_rdp_randomized_response_replace_one:
# RDP of RandomizedResponseDpEvent(p, k) (REPLACE_ONE: the bucket changed, our pair) at
# orders 1.5, 2.5, 5, 50, 100, inf.
RR_RDP = {
    (0.3, 10): [2.6946320226546314, 2.983865364028855, 3.11316970070507,
                3.1854244842182466, 3.1886682560677593, 3.1918471524802814],
    (0.05, 20): [5.850317703374384, 5.910360162307462, 5.930633082131939,
                 5.94180620835157, 5.942307807732949, 5.942799375126701],
    (0.01, 3): [5.684126770932727, 5.692634596034571, 5.695421239467805,
                5.696956976543137, 5.697025920968522, 5.697093486505405],
}
# same file, test_compute_rdp_randomized_response_inf_order (replace_one): p = 0.1, k = 10
RR_RDP_INF = 4.51085950651685

# pld/privacy_loss_mechanism_test.py, test_discrete_laplace_get_delta_for_epsilon_vectorized
# (sampling_prob = 1): DiscreteLaplacePrivacyLoss(0.5, sensitivity=4), δ at these ε.
DL_EPS = [-2.0, -1.0, -0.5, 0.0, 0.5, 1.0, 2.0]
DL_DELTA = [0.86466472, 0.77686984, 0.7222211, 0.63212056, 0.54202002, 0.39346934, 0.0]

# pld/privacy_loss_mechanism_test.py, test_discrete_gaussian_from_privacy_parameters
# (sampling_prob = 1): (Δ, ε, δ) → σ to 3 decimals (assertAlmostEqual(..., 3)).
DG_CALIBRATION = [(1, 1.0, 0.12693674, 1.041), (2, 1.0, 0.12693674, 1.972),
                  (3, 1.0, 0.78760074, 0.993), (6, 1.0, 0.78760074, 2.014),
                  (1, 2.0, 0.02092364, 1.038), (5, 2.0, 0.02092364, 5.008),
                  (1, 16.0, 1e-5, 0.306), (2, 16.0, 1e-5, 0.703)]


@pytest.mark.parametrize("pk", sorted(RR_RDP))
def test_randomized_response_rdp_matches_dp_accounting(pk):
    pl, = privacy_losses(RandomizedResponse(*pk))
    got = [pl.rdp(a) for a in (1.5, 2.5, 5.0, 50.0, 100.0)] + [float(pl.sup_loss_upper())]
    for g, want in zip(got, RR_RDP[pk]):
        assert want <= g <= want * (1 + 1e-12)     # ours: an upper bound, 1e-14 above
    pl10, = privacy_losses(RandomizedResponse(0.1, 10))
    assert abs(float(pl10.sup_loss_upper()) - RR_RDP_INF) < 1e-14


def test_randomized_response_pld_epsilon_one():
    """pld/pld_privacy_accountant_test.py, test_randomized_response (REPLACE_ONE):
    p = 4/(3 + e), k = 4 has δ(1) = 0 (ε = log(1 + k(1 − p)/p) = 1)."""
    m = RandomizedResponse(4 / (3 + math.e), 4)
    assert acc.delta(m, 1.0 + 1e-12).upper == 0.0
    r = acc.epsilon(m, 0)
    assert r.lower <= 1.0 <= r.upper and r.upper - r.lower < 1e-14


def test_discrete_laplace_delta_matches_dp_accounting():
    pl, = privacy_losses(DiscreteLaplace(0.5, 4))
    got = np.exp(pl.log_hockey_stick(np.array(DL_EPS)))
    assert np.allclose(got, DL_DELTA, atol=5e-9, rtol=0)
    for e, want in zip(DL_EPS, DL_DELTA):
        if e >= 0:
            lo, up = acc.delta(DiscreteLaplace(0.5, 4), e).lower, acc.delta(
                DiscreteLaplace(0.5, 4), e).upper
            assert lo - 5e-9 <= want <= up + 5e-9
    # test_discrete_laplace_get_delta_for_epsilon: (1.0, 1, ε = 1) → 0
    assert acc.delta(DiscreteLaplace(1.0, 1), 1.0).upper == 0.0


def test_discrete_laplace_composition_matches_dp_accounting():
    """pld/pld_privacy_accountant_test.py, test_discrete_laplace_basic: 3 × DL(1, 1) and
    2 × DL(0.5, 1) give ε = 4 at δ = 0 and δ(4) = 0."""
    s = Schedule(((DiscreteLaplace(1.0, 1), 3), (DiscreteLaplace(0.5, 1), 2)))
    for method in METHODS:
        r = acc.epsilon(s, 0, method=method)
        assert r.lower == r.upper == 4.0
    assert acc.delta(s, 4.0).upper == 0.0
    assert acc.delta(s, 3.9).lower > 0.0


@pytest.mark.parametrize("d,eps,delta,sigma", DG_CALIBRATION)
def test_discrete_gaussian_calibration_matches_dp_accounting(d, eps, delta, sigma):
    """δ(ε) decreases in σ, and σ is given to 3 decimals: the stated δ lies between our
    certified δ at σ + 0.0005 (lower) and at σ − 0.0005 (upper)."""
    hi = privacy_losses(DiscreteGaussian(sigma - 5e-4, d))[0].log_delta_bound(eps, "upper")
    lo = privacy_losses(DiscreteGaussian(sigma + 5e-4, d))[0].log_delta_bound(eps, "lower")
    assert lo <= math.log(delta) <= hi


def test_zcdp_rdp_matches_dp_accounting():
    """rdp/rdp_privacy_accountant_test.py: test_compute_rdp_multi_zcdp (α = 2: RDP =
    ξ1 + ξ2 + α(ρ1 + ρ2)) and test_zcdp_matches_gaussian (ZCDP(1/2σ²) = Gaussian(σ) at
    α = 2.71828)."""
    from accountant.accountants import rdp
    xi1, xi2, rho1, rho2 = 3.14159, 1.23456, 2.71828, 6.28319
    s = Schedule(((ZCDP(rho1, xi1), 1), (ZCDP(rho2, xi2), 1)))
    want = xi1 + xi2 + 2.0 * (rho1 + rho2)
    got = rdp.rdp_of(s, "remove", 2.0)
    assert want <= got <= want * (1 + 1e-14)
    sigma, alpha = 3.14159, 2.71828
    g = rdp.rdp_of(Schedule(((Gaussian(sigma), 1),)), "remove", alpha)
    z = rdp.rdp_of(Schedule(((ZCDP(1 / (2 * sigma ** 2)), 1),)), "remove", alpha)
    assert z == pytest.approx(g, rel=1e-14) and z >= alpha / (2 * sigma ** 2)


# -- randomized response, discrete Laplace: exact enumeration ------------------------------
def _binomial_eps(eps0, T, delta, top_mass, p_inf=0.0):
    """ε(δ) of T steps of a pair with atoms ±ε₀ (Q-mass ``top_mass`` at +ε₀) and, with
    ``p_inf``, the KOV extra Q-mass at +∞ (Kairouz, Oh & Viswanath 2015, Thm 3.3;
    δ_T(x) = 1 − (1 − δ)^T + (1 − δ)^T Σ_k C(T,k) a^k (1−a)^{T−k} (1 − e^{x − (2k − T)ε₀})₊)."""
    eps0, a, d = mp.mpf(eps0), mp.mpf(top_mass), mp.mpf(p_inf)

    def dT(x):
        s = mp.fsum(mp.binomial(T, k) * a ** k * (1 - a) ** (T - k)
                    * (1 - mp.e ** (x - (2 * k - T) * eps0))
                    for k in range(T + 1) if (2 * k - T) * eps0 > x)
        return 1 - (1 - d) ** T + (1 - d) ** T * s
    lo, hi = mp.mpf(0), T * eps0
    if dT(lo) <= delta:
        return mp.mpf(0), dT
    for _ in range(120):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if dT(mid) > delta else (lo, mid)
    return hi, dT


@pytest.mark.parametrize("eps,dlt,T,target", [(1.0, 1e-4, 5, 1e-3), (0.3, 1e-6, 20, 3e-5),
                                               (0.5, 0.0, 8, 1e-5), (0.1, 1e-7, 50, 1e-5)])
def test_epsilon_delta_composition_contains_kov(eps, dlt, T, target):
    """The (ε, δ) pair composed by the PLD contains the Kairouz–Oh–Viswanath optimal
    composition (which it is: the pair is tight)."""
    a = math.exp(eps) / (1 + math.exp(eps))
    ref, dT = _binomial_eps(eps, T, target, a, dlt)
    r = acc.epsilon(EpsilonDelta(eps, dlt), target, steps=T)
    assert r.certified and r.lower <= ref <= r.upper
    assert r.upper - ref <= 1e-3 * ref + 1e-9
    x = float(ref) * 0.9
    rd = acc.delta(EpsilonDelta(eps, dlt), x, steps=T)
    assert rd.lower <= dT(x) <= rd.upper


def test_epsilon_delta_one_step_profile():
    for e, d in [(0.0, 0.1), (1.0, 1e-6), (3.0, 0.2)]:
        pl, = privacy_losses(EpsilonDelta(e, d))
        assert math.exp(pl.log_hockey_stick(e)) == pytest.approx(d, rel=1e-14)
        r = acc.epsilon(EpsilonDelta(e, d), d * 1.0000001) if d > 0 else None
        if r is not None:
            assert r.upper <= e * (1 + 1e-12) + 1e-12


def test_epsilon_delta_refused_outside_pld():
    m = EpsilonDelta(1.0, 1e-6)
    for method in ("rdp", "edgeworth", "saddlepoint"):
        with pytest.raises(ValueError, match="method='pld'"):
            acc.epsilon(m, 1e-5, steps=3, method=method)
    # δ = 0 is pure DP: RDP answers it
    r = acc.epsilon(EpsilonDelta(1.0), 1e-5, steps=3, method="rdp")
    assert r.lower <= r.upper <= 3.0


@pytest.mark.parametrize("m,T,delta", [(RandomizedResponse(0.5, 4), 5, 1e-3),
                                       (RandomizedResponse(0.2, 3), 8, 1e-6),
                                       (DiscreteLaplace(0.5, 2), 6, 1e-4)])
def test_pld_contains_exact_enumeration(m, T, delta):
    pl, = privacy_losses(m)
    ell = [mp.mpf(float(x)) for x in pl.ell]
    q = [mp.e ** mp.mpf(float(x)) for x in pl.log_q]
    # the losses are multiples of one step (a, or ±ε and 0): integer keys
    unit = min(abs(x) for x in ell if x != 0)
    keys = [int(mp.nint(x / unit)) for x in ell]
    d = {0: mp.mpf(1)}
    for _ in range(T):
        nd = {}
        for k0, w0 in d.items():
            for k1, w1 in zip(keys, q):
                nd[k0 + k1] = nd.get(k0 + k1, 0) + w0 * w1
        d = nd

    def dT(x):
        return mp.fsum(w * (1 - mp.e ** (x - k * unit)) for k, w in d.items() if k * unit > x)
    lo, hi = mp.mpf(0), max(d) * unit
    for _ in range(120):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if dT(mid) > delta else (lo, mid)
    r = acc.epsilon(m, delta, steps=T)
    assert r.lower <= hi and lo <= r.upper
    assert r.upper - hi <= 2e-3 * hi
    for method in ("rdp", "saddlepoint"):
        r2 = acc.epsilon(m, delta, steps=T, method=method)
        assert r2.lower <= hi and lo <= r2.upper


# -- discrete Gaussian ------------------------------------------------------------------------
def _dg_sum(sigma, d, fn, centre_shift=0.0):
    s = mp.mpf(sigma)
    n = int(60 * sigma) + d + 10
    z = mp.fsum(mp.e ** (-mp.mpf(x) ** 2 / (2 * s * s)) for x in range(-n, n + 1))
    return mp.fsum(fn(mp.mpf(x), s) for x in range(-n - 40, n + d + 40)) / z


@pytest.mark.parametrize("sigma,d", [(0.3, 1), (0.7, 2), (1.0, 1), (2.5, 3), (10.0, 1)])
def test_discrete_gaussian_cgf_closed_form(sigma, d):
    pl, = privacy_losses(DiscreteGaussian(sigma, d))
    for t in (0.3, 1.0, 2.5, 7.0):
        ref = mp.log(_dg_sum(sigma, d, lambda x, s: mp.e ** (-(x - d) ** 2 / (2 * s * s)
                                                             + t * d * (2 * x - d) / (2 * s * s))))
        got = pl.cgf(t)
        assert ref <= got <= ref + 1e-14 * (1 + abs(ref))
        cont = t * (1 + t) * d * d / (2 * sigma ** 2)
        assert got <= pl.cgf_upper(t) and pl.cgf_upper(t) <= cont * (1 + 1e-14)
        if t == int(t):   # integer orders: Θ(Δ(1+t)) = Θ(0), the continuous value
            assert got == pytest.approx(cont, rel=1e-14)


@pytest.mark.parametrize("sigma,d", [(0.3, 1), (1.0, 1), (2.5, 3), (10.0, 1)])
def test_discrete_gaussian_hockey_stick_bracket(sigma, d):
    pl, = privacy_losses(DiscreteGaussian(sigma, d))
    for eps in (0.0, 0.5, 2.0):
        ref = _dg_sum(sigma, d, lambda x, s: (lambda L: mp.e ** (-(x - d) ** 2 / (2 * s * s))
                                              * (1 - mp.e ** (eps - L)) if L > eps else 0)(
            mp.mpf(d) * (2 * x - d) / (2 * s * s)))
        lo, up = pl.log_delta_bound(eps, "lower"), pl.log_delta_bound(eps, "upper")
        assert lo <= mp.log(ref) <= up and up - lo < 1e-9


def test_discrete_gaussian_composition_contains_lattice_enumeration():
    """σ = 1, Δ = 1: L(x) = x − ½ on the integers, so T steps have L_T = Σx − T/2 with
    Σx the T-fold convolution of N_ℤ(Δ, 1) (Q-side), summed in mpmath."""
    T, delta = 3, 1e-6
    n = 45
    s = mp.mpf(1)
    z = mp.fsum(mp.e ** (-mp.mpf(x) ** 2 / 2) for x in range(-n, n + 1))
    q = {x: mp.e ** (-(mp.mpf(x) - 1) ** 2 / 2) / z for x in range(-n, n + 2)}
    d = {0: mp.mpf(1)}
    for _ in range(T):
        nd = {}
        for k0, w0 in d.items():
            for k1, w1 in q.items():
                nd[k0 + k1] = nd.get(k0 + k1, 0) + w0 * w1
        d = nd

    def dT(e):
        return mp.fsum(w * (1 - mp.e ** (e - (k - T / 2))) for k, w in d.items()
                       if k - T / 2 > e)
    lo, hi = mp.mpf(0), mp.mpf(40)
    for _ in range(100):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if dT(mid) > delta else (lo, mid)
    r = acc.epsilon(DiscreteGaussian(1.0, 1), delta, steps=T)
    assert r.lower <= hi and lo <= r.upper and r.upper - hi < 2e-3 * hi
    rr = acc.epsilon(DiscreteGaussian(1.0, 1), delta, steps=T, method="rdp")
    assert rr.lower <= hi and lo <= rr.upper


def test_discrete_gaussian_moments():
    for sigma in (0.8, 3.0, 20.0):
        pl, = privacy_losses(DiscreteGaussian(sigma, 2))
        for under, c in (("Q", 2), ("P", 0)):
            m = pl.moments(under)
            mean = _dg_sum(sigma, 2, lambda x, s: mp.e ** (-(x - c) ** 2 / (2 * s * s))
                           * 2 * (2 * x - 2) / (2 * s * s))
            assert abs(m.k1 - mean) <= 1e-12 * abs(mean)
        t = pl.tilted(1.5)
        assert t.K == pytest.approx(pl.cgf(1.5), rel=1e-15)
        assert t.K1 > 0 and t.K2 > 0


def test_discrete_gaussian_atom_cap():
    big = DiscreteGaussianLoss(2e4, 1)
    with pytest.raises(ValueError, match="method='rdp'"):
        big.pld_support(-50.0, -50.0, -600.0)
    with pytest.raises(ValueError, match="method='rdp'"):
        acc.epsilon(DiscreteGaussian(2e4, 1), 1e-5, steps=3, method="pld")
    # the one-step bounds fall back on the RDP conversion (upper) and 0 (lower)
    assert big.log_delta_bound(1e-4, "lower") == -math.inf
    assert big.log_delta_bound(1e-4, "upper") < 0
    assert MAX_DISCRETE_GAUSSIAN_ATOMS == 1_000_000
    # RDP needs no atoms
    r = acc.epsilon(DiscreteGaussian(2e4, 1), 1e-5, steps=10, method="rdp")
    assert 0 <= r.lower <= r.upper < 1e-2


# -- zCDP ---------------------------------------------------------------------------------------
def test_zcdp_refused_outside_rdp():
    for method in ("pld", "edgeworth", "saddlepoint"):
        with pytest.raises(ValueError, match="method='rdp'"):
            acc.epsilon(ZCDP(0.1), 1e-5, steps=3, method=method)
        with pytest.raises(ValueError, match="method='rdp'"):
            acc.epsilon(Schedule(((ZCDP(0.1), 2), (Gaussian(2.0), 2))), 1e-5, method=method)


def test_zcdp_rdp_bounds():
    rho, delta = 0.05, 1e-6
    r = acc.epsilon(ZCDP(rho), delta, steps=4, method="rdp")
    # Bun & Steinke 2016, Prop. 1.3: ρ-zCDP is (ρ + 2√(ρ log 1/δ), δ)-DP
    bs = 4 * rho + 2 * math.sqrt(4 * rho * math.log(1 / delta))
    assert r.lower == 0.0 and r.upper <= bs
    # mixed with Gaussian steps: RDP adds; ZCDP(1/2σ²) is the Gaussian's RDP curve
    sigma = 3.0
    mixed = Schedule(((Gaussian(sigma), 5), (ZCDP(1 / (2 * sigma ** 2)), 5)))
    alone = ZCDP(10 / (2 * sigma ** 2))
    a, b = acc.epsilon(mixed, delta, method="rdp"), acc.epsilon(alone, delta, method="rdp")
    assert a.upper == pytest.approx(b.upper, rel=1e-9)
    g = acc.epsilon(Gaussian(sigma), delta, method="pld")      # one Gaussian step
    assert a.lower >= g.lower * (1 - 1e-12) and a.lower <= a.upper     # the floor
    assert a.upper >= acc.epsilon(Gaussian(sigma), delta, steps=10).upper
    assert acc.epsilon(ZCDP(0.0, 0.0), delta, method="rdp").upper == 0.0


# -- pure DP at δ = 0 ---------------------------------------------------------------------------
PURE = Schedule(((Laplace(2.0), 3), (RandomizedResponse(0.3, 5), 2), (DiscreteLaplace(0.7, 3), 4),
                 (EpsilonDelta(0.25), 5), (SubsampledLaplace(1.0, 0.1), 7)))


def test_pure_dp_at_delta_zero_every_method():
    # max over directions of Σ T·sup L (SubsampledLaplace: remove sup g(1/b) is the larger)
    q, b = 0.1, 1.0
    sl_remove = math.log(1 - q + q * math.exp(1 / b))
    sl_add = -math.log(1 - q + q * math.exp(-1 / b))
    want = (3 * 0.5 + 2 * math.log1p(5 * 0.7 / 0.3) + 4 * 0.7 * 3 + 5 * 0.25
            + 7 * max(sl_remove, sl_add))
    res = [acc.epsilon(PURE, 0, method=m) for m in METHODS]
    for r in res:
        assert r.certified and r.lower <= r.upper
        assert r.lower <= want * (1 + 1e-14) and want * (1 - 1e-14) <= r.upper
        assert r.upper - r.lower < 1e-12 * want
        assert (r.lower, r.upper) == (res[0].lower, res[0].upper)
    # δ(ε) = 0 at and above it, positive below
    assert acc.delta(PURE, res[0].upper, method="rdp").upper == 0.0
    assert acc.delta(PURE, res[0].lower * (1 - 1e-6), method="rdp").upper > 0.0


def test_delta_zero_needs_pure_dp():
    for m in (Gaussian(1.0), EpsilonDelta(1.0, 1e-6), ZCDP(0.1), DiscreteGaussian(1.0),
              SubsampledGaussian(1.0, 0.1)):
        with pytest.raises(ValueError, match="pure-DP"):
            acc.epsilon(Schedule(((Laplace(1.0), 1), (m, 1))), 0.0)
    # a schedule whose steps sample no one is private at ε = 0
    assert acc.epsilon(SubsampledGaussian(1.0, 0.0), 0).upper == 0.0
    with pytest.raises(ValueError, match="delta"):
        acc.epsilon(Laplace(1.0), -0.0 - 1e-300)
    with pytest.raises(ValueError, match="unknown option"):
        acc.epsilon(Laplace(1.0), 0, bogus=1)
    assert acc.epsilon(Laplace(1.0), Fraction(0)).upper == 1.0


@given(st.floats(0.05, 5.0), st.integers(2, 50), st.integers(1, 20))
def test_pure_dp_bracket_holds_exact_sum(a, k, T):
    """Laplace steps (s/b exact as a rational) and discrete Laplace steps (a·Δ exact): the
    bracket contains the rational sum."""
    s = Schedule(((Laplace(a), T), (DiscreteLaplace(a, 2), k)))
    want = T * (Fraction(1) / Fraction(a)) + k * Fraction(a) * 2
    r = acc.epsilon(s, 0)
    assert Fraction(r.lower) <= want <= Fraction(r.upper)


# -- properties --------------------------------------------------------------------------------
MECHS = [RandomizedResponse(0.4, 3), DiscreteLaplace(0.8, 1), EpsilonDelta(0.5, 1e-7),
         DiscreteGaussian(1.5, 1)]


@given(st.integers(0, 3), st.integers(1, 6), st.floats(1e-6, 0.1))
def test_bracket_ordered_and_monotone_in_delta(i, T, delta):
    m = MECHS[i]
    r1 = acc.epsilon(m, delta, steps=T)
    r2 = acc.epsilon(m, delta * 3, steps=T)
    assert 0 <= r1.lower <= r1.upper and 0 <= r2.lower <= r2.upper
    assert r2.lower <= r1.upper


@given(st.integers(0, 3))
def test_order_invariant_with_a_gaussian_step(i):
    m = MECHS[i]
    a = Schedule(((m, 2), (Gaussian(3.0), 3)))
    b = Schedule(((Gaussian(3.0), 3), (m, 2)))
    ra, rb = acc.epsilon(a, 1e-5), acc.epsilon(b, 1e-5)
    assert (ra.lower, ra.upper) == (rb.lower, rb.upper)
    assert ra.lower <= ra.upper


def test_replace_one_doubles_the_sensitivity():
    a, = privacy_losses(DiscreteLaplace(0.5, 2, "replace_one"))
    b, = privacy_losses(DiscreteLaplace(0.5, 4))
    assert np.array_equal(a.ell, b.ell)
    c, = privacy_losses(DiscreteGaussian(2.0, 1, "replace_one"))
    assert c.sens == 2
    r1, = privacy_losses(RandomizedResponse(0.3, 4, "replace_one"))
    r2, = privacy_losses(RandomizedResponse(0.3, 4))
    assert np.array_equal(r1.ell, r2.ell)


def test_epsilon_delta_revealing_mass_on_both_sides():
    """(0, δ) steps: δ_T(ε) = 1 − (1 − δ)^T for every ε ≥ 0 (the finite part is L ≡ 0), held
    by the upper PLD's mass at +∞ and by the lower side's revealing coin
    (docs/math.md §10.1); past that mass ε is infinite on both sides."""
    m = EpsilonDelta(0.0, 0.1)
    r = acc.delta(m, 1.0, steps=3)
    assert r.lower <= 0.271 <= r.upper and r.upper - r.lower < 1e-9
    r = acc.epsilon(m, 0.2, steps=3)
    assert r.lower == r.upper == math.inf
    assert acc.epsilon(m, 0.3, steps=3).upper == 0.0


def test_discrete_gaussian_tiny_sigma_rdp():
    # σ = 1e-3: every term of Θ(c) is below e^{−745} of Θ(0)'s largest (log 0 before)
    r = acc.epsilon(DiscreteGaussian(1e-3, 1), 1e-5, steps=2, method="rdp")
    assert 0 < r.lower <= r.upper < math.inf
    pl, = privacy_losses(DiscreteGaussian(1e-3, 1))
    assert pl.cgf(0.5) <= pl.cgf_upper(0.5)


def _rr_exact(p, k, T):
    """Exact T-fold composition of k-ary randomized response: the numbers of steps at +ε
    and −ε (trinomial), Q-masses in mpmath; returns δ_T(x)."""
    p = mp.mpf(p)
    eps = mp.log(1 + k * (1 - p) / p)
    q_top, q_bot, q_mid = 1 - p + p / k, p / k, (k - 2) * p / k

    def dT(x):
        tot = mp.mpf(0)
        for a in range(T + 1):
            for b in range(T + 1 - a):
                loss = (a - b) * eps
                if loss > x:
                    w = (mp.factorial(T) / (mp.factorial(a) * mp.factorial(b)
                                            * mp.factorial(T - a - b))
                         * q_top ** a * q_bot ** b * q_mid ** (T - a - b))
                    tot += w * (1 - mp.e ** (x - loss))
        return tot
    return dT


@given(st.floats(0.05, 0.95), st.integers(2, 6), st.integers(1, 4), st.floats(0.0, 1.0))
def test_randomized_response_delta_bracket_contains_exact(p, k, T, frac):
    pl, = privacy_losses(RandomizedResponse(p, k))
    x = frac * T * pl.hi_loss
    dT = _rr_exact(p, k, T)
    r = acc.delta(RandomizedResponse(p, k), x, steps=T)
    assert r.certified and r.lower <= dT(x) <= r.upper
