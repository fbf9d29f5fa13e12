"""Truncated Poisson sampling and the public-coin mixture loss (docs/math.md §11; issue 15).

References: mpmath (the binomial tails summed at 60 digits; the one-step δ of each
Gaussian-mixture component from its definition, the root of L = ε found by bisection; the
integer-order CGF of the two-point pairs by the binomial sum), dp_accounting 0.6's PLD
numbers (recorded below with their source), and the Poisson-subsampled Gaussian the
mechanism tends to when truncation becomes impossible.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

import mpmath as mp
import numpy as np
import pytest
from hypothesis import given, strategies as st

import accountant as acc
from accountant.accountants.exact import one_step_epsilon_bracket
from accountant.core.mechanisms import (Schedule, SubsampledGaussian,
                                        TruncatedSubsampledGaussian as TSG)
from accountant.loss import (GaussianMixtureLoss, PublicMixtureLoss, privacy_losses,
                             register_loss)
from accountant.loss.truncated_poisson import (_poisson, binomial_sf_bracket,
                                               truncation_parameters)

#: dp_accounting 0.6, pld/pld_privacy_accountant_test.py,
#: test_truncated_subsampled_gaussian_basic: (n, q, B, σ) = (4, 0.5, 2, 1) × 3 then
#: (3, 0.5, 2, 1) × 2, δ = 1e-6 (checked there to 1e-6).
DPA_BASIC = 17.904330
#: dp_accounting 0.6 PLDAccountant() (default grid 1e-4), TruncatedSubsampledGaussianDpEvent
#: (dataset_size=n, sampling_probability=q, truncated_batch_size=B, noise_multiplier=σ)
#: composed T times, get_epsilon(1e-5); measured on this machine (numpy 2.x, scipy 1.x):
#: (σ, q, B, n, T): ε
DPA_DPSGD = {
    (1.1, 0.01, 650, 60000, 1000): 4.005826128762965,
    (1.1, 0.01, 700, 60000, 1000): 1.538902513937523,
    (0.8, 0.005, 320, 60000, 2000): 11.408423576679526,
}


@pytest.fixture(autouse=True)
def _mp_digits():
    with mp.workdps(40):
        yield


# ---------------------------------------------------------------------------------------
# mpmath references
# ---------------------------------------------------------------------------------------
def _mp_sf(N, k, q):
    """P[Bin(N, q) ≥ k] = I_q(k, N − k + 1), the regularised incomplete beta function (an
    evaluation independent of the code's term-by-term sum)."""
    if k <= 0:
        return mp.mpf(1)
    if k > N:
        return mp.mpf(0)
    return mp.betainc(k, N - k + 1, 0, mp.mpf(q), regularized=True)


def _mp_delta_mixture_pair(pl: GaussianMixtureLoss, eps) -> mp.mpf:
    """δ(ε) of a Gaussian-mixture pair from its definition (its stored weights)."""
    pm, plw, qm, qlw, sigma = pl.args
    s = mp.mpf(sigma)
    u = [(mp.mpf(a), mp.e ** mp.mpf(lw)) for a, lw in zip(pm, plw)]
    w = [(mp.mpf(c), mp.e ** mp.mpf(lw)) for c, lw in zip(qm, qlw)]
    tot_u, tot_w = mp.fsum(x for _, x in u), mp.fsum(x for _, x in w)
    dens = lambda comps, tot, x: mp.fsum(k * mp.npdf(x, m, s) for m, k in comps) / tot
    sf = lambda comps, tot, x: mp.fsum(k * mp.ncdf(-(x - m) / s) for m, k in comps) / tot
    L = lambda x: mp.log(dens(w, tot_w, x)) - mp.log(dens(u, tot_u, x))
    eps = mp.mpf(eps)
    if eps >= pl.hi_loss:
        return mp.mpf(0)
    if eps < pl.lo_loss:
        return 1 - mp.e ** eps
    lo, hi = mp.mpf(-1), mp.mpf(1)
    while L(lo) > eps:
        lo *= 2
    while L(hi) < eps:
        hi *= 2
    for _ in range(160):
        mid = (lo + hi) / 2
        if L(mid) < eps:
            lo = mid
        else:
            hi = mid
    x = (lo + hi) / 2
    return sf(w, tot_w, x) - mp.e ** eps * sf(u, tot_u, x)


def _mp_delta(pl, eps) -> mp.mpf:
    """δ(ε) of a public mixture of Gaussian-mixture pairs: Σ w_i δ_i / Σ w_i."""
    if isinstance(pl, GaussianMixtureLoss):
        return _mp_delta_mixture_pair(pl, eps)
    ws = [mp.mpf(float(w)) for w in pl.weights]
    return mp.fsum(w * _mp_delta_mixture_pair(c, eps)
                   for w, c in zip(ws, pl.components)) / mp.fsum(ws)


def _mp_cgf_two_point(sigma, rate, shift, alpha):
    """log E_P[(Q/P)^α] of N(0) vs (1 − r)N(0) + rN(c) at integer α (binomial sum)."""
    r, c, s = mp.mpf(rate), mp.mpf(shift), mp.mpf(sigma)
    return mp.log(mp.fsum(mp.binomial(alpha, i) * r ** i * (1 - r) ** (alpha - i)
                          * mp.e ** ((i * i - i) * c * c / (2 * s * s))
                          for i in range(alpha + 1)))


# ---------------------------------------------------------------------------------------
# p and ρ, proven brackets
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("N,k,q", [(3, 2, 0.5), (59999, 600, 0.01), (59999, 650, 0.01),
                                   (2000, 30, 0.01), (2000, 5, 0.01), (500, 499, 0.9),
                                   (100, 1, 1e-9), (10, 0, 0.3), (10, 11, 0.3)])
def test_binomial_bracket_holds_the_tail(N, k, q):
    lo, hi = binomial_sf_bracket(N, k, q)
    ref = _mp_sf(N, k, q)
    assert Fraction(lo) <= hi
    assert mp.mpf(lo.numerator) / lo.denominator <= ref * (1 + mp.mpf(10) ** -35)
    assert ref <= mp.mpf(hi.numerator) / hi.denominator * (1 + mp.mpf(10) ** -35)
    if ref > 0:
        assert float((hi - lo) / hi) < 1e-50


def test_truncation_parameters_match_their_definition():
    # ρ = E[q·B/(|S| + 1) | |S| ≥ B], summed over |S| directly
    n, q, B = 40, 0.3, 14
    p_lo, p_hi, m_lo, m_hi = truncation_parameters(n, q, B)
    qq = mp.mpf(q)
    pmf = lambda s: mp.binomial(n - 1, s) * qq ** s * (1 - qq) ** (n - 1 - s)
    p = mp.fsum(pmf(s) for s in range(B, n))
    m = mp.fsum(pmf(s) * qq * B / (s + 1) for s in range(B, n))
    assert float(p_lo) <= p <= float(p_hi) * (1 + 1e-15)
    assert float(m_lo) <= m * (1 + 1e-30) and m <= float(m_hi) * (1 + 1e-15)
    assert m / p < q * B / (B + 1)


def test_too_many_terms_is_refused():
    with pytest.raises(ValueError, match="dataset_size"):
        privacy_losses(TSG(1.0, 0.5, 100, 10 ** 9))


# ---------------------------------------------------------------------------------------
# the pair that is built
# ---------------------------------------------------------------------------------------
def test_pair_is_the_two_branch_public_mixture():
    rm, add = privacy_losses(TSG(1.0, 0.5, 2, 4))
    assert isinstance(rm, PublicMixtureLoss) and rm.direction == "remove"
    assert add.direction == "add"
    # p = P[Bin(3, ½) ≥ 2] = ½ (rounded down), ρ = (2/4)·P[Bin(4, ½) ≥ 3]/p = 5/16 (up)
    assert rm.weights[1] <= 0.5 and 1 - rm.weights[1] <= rm.weights[0]
    a, b = rm.components
    assert np.allclose(np.exp(a.qlw), [0.5, 0.5]) and list(a.qm) == [0.0, 1.0]
    assert list(b.qm) == [0.0, 2.0]
    rho = math.exp(b.qlw[1])
    assert 5 / 16 <= rho <= 5 / 16 * (1 + 1e-12)


def test_degenerate_parameters():
    # B ≥ n: no batch is ever cut — the Poisson pair itself
    pls = privacy_losses(TSG(1.1, 0.01, 60000, 60000))
    assert all(isinstance(pl, GaussianMixtureLoss) for pl in pls)
    for pl, ref in zip(pls, privacy_losses(SubsampledGaussian(1.1, 0.01))):
        assert pl.direction == ref.direction
        assert pl.hockey_stick(0.5) == ref.hockey_stick(0.5)
    # q = 0: the identity
    assert acc.epsilon(TSG(1.0, 0.0, 3, 10), 1e-5, steps=10).upper == 0.0
    # q = 1, B < n: a fixed batch of B of n, the sensitivity-2 pair at rate B/n alone
    r1 = acc.epsilon(TSG(1.0, 1.0, 10, 100), 1e-5, steps=20)
    r2 = acc.epsilon(SubsampledGaussian(0.5, 0.1), 1e-5, steps=20)
    assert r1.lower <= r2.upper and r2.lower <= r1.upper


def test_p_below_the_double_range_uses_the_conservative_pair():
    # p = P[Bin(59999, 0.01) ≥ 2001] ≈ e^{−1300}: weight rounded up to the smallest double
    m = TSG(1.1, 0.01, 2001, 60000)
    rm = privacy_losses(m)[0]
    assert rm.weights[1] > 0
    b = rm.components[1]
    assert math.isclose(math.exp(b.qlw[1]), 0.01, rel_tol=1e-12)
    r = acc.epsilon(m, 1e-5, steps=100)
    rp = acc.epsilon(SubsampledGaussian(1.1, 0.01), 1e-5, steps=100)
    assert r.upper >= rp.lower and r.lower <= rp.upper
    assert r.upper <= rp.upper * (1 + 1e-9)


# ---------------------------------------------------------------------------------------
# the public mixture: one-step answers against mpmath
# ---------------------------------------------------------------------------------------
_MECHS = [TSG(1.0, 0.5, 2, 4), TSG(1.1, 0.01, 650, 60000), TSG(2.0, 0.1, 12, 100)]


@pytest.mark.parametrize("mech", _MECHS)
@pytest.mark.parametrize("eps", [0.0, 0.3, 1.5, 4.0])
def test_hockey_stick_is_the_weighted_sum(mech, eps):
    for pl in privacy_losses(mech):
        ref = _mp_delta(pl, eps)
        got = pl.hockey_stick(eps)
        assert abs(got - ref) <= 1e-10 * ref + 1e-300
        lo = math.exp(pl.log_delta_bound(eps, "lower"))
        up = math.exp(pl.log_delta_bound(eps, "upper"))
        assert lo <= ref <= up
        assert up - lo <= 1e-8 * ref


@pytest.mark.parametrize("mech", _MECHS)
def test_cgf_at_integer_orders(mech):
    p_lo, _, _, m_hi = truncation_parameters(mech.dataset_size, mech.sample_rate,
                                             mech.max_batch_size)
    rm = privacy_losses(mech)[0]
    wa, wb = (mp.mpf(float(w)) for w in rm.weights)
    rho = math.exp(rm.components[1].qlw[1])
    for alpha in (2, 3, 5, 8):
        ka = _mp_cgf_two_point(mech.noise_multiplier, mech.sample_rate, 1, alpha)
        kb = _mp_cgf_two_point(mech.noise_multiplier, rho, 2, alpha)
        ref = mp.log((wa * mp.e ** ka + wb * mp.e ** kb) / (wa + wb))
        got = rm.cgf(alpha - 1.0)
        # the mixture pads each component by 1e-9 of itself (docs/math.md §11.1)
        assert float(ref) <= got <= float(ref) * (1 + 2e-9) + 1e-300


def test_component_order_does_not_matter():
    rm = privacy_losses(TSG(1.0, 0.5, 2, 4))[0]
    (a, b), (wa, wb) = rm.components, rm.weights
    swapped = PublicMixtureLoss([b, a], [wb, wa])
    eps = np.array([-0.5, 0.0, 0.7, 2.5, 6.0])
    assert np.allclose(swapped.log_hockey_stick(eps), rm.log_hockey_stick(eps), rtol=1e-14)
    assert np.allclose(swapped.cgf(np.array([0.5, 2.0, 7.0])), rm.cgf(np.array([0.5, 2.0, 7.0])),
                       rtol=1e-14)
    cu, cl = rm.pld_cells(-2000, 1e-3, 6001)
    su, sl = swapped.pld_cells(-2000, 1e-3, 6001)
    assert np.allclose(cu.a, su.a, rtol=1e-13, atol=0) and np.allclose(cl.b, sl.b, rtol=1e-13, atol=0)
    for eps_ in (0.5, 3.0):
        assert swapped.log_delta_bound(eps_, "upper") == pytest.approx(
            rm.log_delta_bound(eps_, "upper"), rel=1e-14)


def test_schedule_order_does_not_matter():
    m1, m2 = TSG(1.0, 0.5, 2, 4), TSG(1.0, 0.5, 2, 3)
    r1 = acc.epsilon(Schedule(((m1, 3), (m2, 2))), 1e-6)
    r2 = acc.epsilon(Schedule(((m2, 2), (m1, 3))), 1e-6)
    assert r1.lower == r2.lower and r1.upper == r2.upper


def test_moments_and_tilted_law_of_the_mixture():
    rm = privacy_losses(TSG(2.0, 0.1, 12, 100))[0]
    (a, b), w = rm.components, rm.weights / rm.weights.sum()
    for under in ("P", "Q"):
        m, ma, mb = rm.moments(under), a.moments(under), b.moments(under)
        assert m.k1 == pytest.approx(w[0] * ma.k1 + w[1] * mb.k1, rel=1e-13)
        var = w[0] * (ma.k2 + (ma.k1 - m.k1) ** 2) + w[1] * (mb.k2 + (mb.k1 - m.k1) ** 2)
        assert m.k2 == pytest.approx(var, rel=1e-12)
        assert m.k2 ** 1.5 <= m.abs3 <= m.mu4 ** 0.75 * (1 + 1e-12)
        assert m.abs1 <= math.sqrt(m.k2) * (1 + 1e-12)
    t, h = 1.5, 1e-4
    tl = rm.tilted(t)
    K = lambda s: float(rm._mix_cgf(np.array([a.cgf(s), b.cgf(s)])))
    assert tl.K == pytest.approx(K(t), rel=1e-10)
    assert tl.K1 == pytest.approx((K(t + h) - K(t - h)) / (2 * h), rel=1e-6)
    assert tl.K2 == pytest.approx((K(t + h) - 2 * K(t) + K(t - h)) / h ** 2, rel=1e-4)
    assert tl.Pt >= tl.K2 ** 1.5


def test_weights_are_validated():
    a, b = _poisson(1.0, 0.1, 1.0)
    with pytest.raises(ValueError, match="sum to 1"):
        PublicMixtureLoss([a], [0.9])
    with pytest.raises(ValueError, match="direction"):
        PublicMixtureLoss([a, b], [0.5, 0.5])
    with pytest.raises(ValueError, match="weights"):
        PublicMixtureLoss([a, a], [1.5, -0.5])


# ---------------------------------------------------------------------------------------
# dp_accounting's construction (replace-one pair at σ/2) through our engine
# ---------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _DpaTruncated(TSG):
    """dp_accounting's pair: its second branch is the replace-one pair
    (1 − ρ)N(0) + ρN(−2) vs (1 − ρ)N(0) + ρN(2) (REPLACE_ONE at σ/2)."""


@register_loss(_DpaTruncated)
def _dpa_pair(m):
    p_lo, _, _, m_hi = truncation_parameters(m.dataset_size, m.sample_rate, m.max_batch_size)
    p, rho, s = float(p_lo), float(m_hi / p_lo), m.noise_multiplier
    a_rm, a_add = _poisson(s, m.sample_rate, 1.0)
    comps = [GaussianMixtureLoss(s, [0.0, -2.0], [1 - rho, rho], [0.0, 2.0], [1 - rho, rho], d)
             for d in ("remove", "add")]
    return (PublicMixtureLoss([a_rm, comps[0]], [1 - p, p]),
            PublicMixtureLoss([a_add, comps[1]], [1 - p, p]))


def _basic(cls):
    return Schedule(((cls(1.0, 0.5, 2, 4), 3), (cls(1.0, 0.5, 2, 3), 2)))


def test_dp_accounting_basic_value_in_our_bracket_of_its_pair():
    r = acc.epsilon(_basic(_DpaTruncated), 1e-6, rtol=1e-7)
    assert r.certified
    assert r.lower <= DPA_BASIC <= r.upper
    assert r.upper - r.lower < 3e-6


def test_the_proven_pair_is_below_dp_accountings():
    r = acc.epsilon(_basic(TSG), 1e-6, rtol=1e-6)
    assert r.certified and r.upper < DPA_BASIC
    # measured: [16.45645, 16.45647]
    assert 16.45 < r.lower <= r.upper < 16.47


@pytest.mark.parametrize("case", sorted(DPA_DPSGD))
def test_dp_accounting_dpsgd_settings(case):
    s, q, B, n, T = case
    ref = DPA_DPSGD[case]
    theirs = acc.epsilon(_DpaTruncated(s, q, B, n), 1e-5, steps=T, rtol=1e-5)
    # dp_accounting's pessimistic PLD: above the lower bound of its pair, within its
    # grid's 1e-5 relative error of the upper one (measured: inside [lower, upper] but for
    # B = 700, 2.3e-6 above)
    assert theirs.lower <= ref <= theirs.upper * (1 + 1e-5)
    ours = acc.epsilon(TSG(s, q, B, n), 1e-5, steps=T, rtol=1e-5)
    assert ours.certified and ours.upper <= theirs.lower
    poisson = acc.epsilon(SubsampledGaussian(s, q), 1e-5, steps=T)
    assert ours.lower >= poisson.lower


def test_large_dataset_tends_to_poisson():
    # B twelve standard deviations above the mean: p ≈ 1e-33, ε is the Poisson one
    n, q = 10 ** 6, 1e-3
    B = int(n * q + 12 * math.sqrt(n * q * (1 - q)))
    r = acc.epsilon(TSG(1.0, q, B, n), 1e-6, steps=1000)
    rp = acc.epsilon(SubsampledGaussian(1.0, q), 1e-6, steps=1000)
    assert r.lower <= rp.upper and rp.lower <= r.upper
    assert abs(r.upper - rp.upper) <= 1e-6 * rp.upper
    # and with the cap at the mean, truncation costs a lot
    rc = acc.epsilon(TSG(1.0, q, int(n * q), n), 1e-6, steps=1000)
    assert rc.lower > 1.5 * rp.upper


# ---------------------------------------------------------------------------------------
# every accountant, and the bracket's properties
# ---------------------------------------------------------------------------------------
def test_every_method_answers():
    m = TSG(1.1, 0.01, 650, 60000)
    pld = acc.epsilon(m, 1e-5, steps=200)
    for method in ("rdp", "saddlepoint"):
        r = acc.epsilon(m, 1e-5, steps=200, method=method)
        assert r.certified and r.upper >= pld.lower and r.lower <= pld.upper
    with pytest.warns(Warning):
        est = acc.epsilon(m, 1e-5, steps=200, method="edgeworth")
    assert math.isfinite(est.estimate)
    d = acc.delta(m, pld.upper, steps=200)
    assert d.lower <= 1e-5 * (1 + 1e-9)


@given(sigma=st.floats(0.6, 4.0), q=st.floats(1e-3, 0.5), n=st.integers(2, 5000),
       frac=st.floats(0.5, 2.0))
def test_one_step_bracket_ordered_and_monotone(sigma, q, n, frac):
    B = max(1, int(frac * n * q))
    pls = privacy_losses(TSG(sigma, q, B, n))
    prev = math.inf
    for delta in (1e-9, 1e-6, 1e-3):
        lo, up = one_step_epsilon_bracket(pls, delta)
        assert 0.0 <= lo <= up
        assert up <= prev
        prev = lo
        # the mixture's one-step ε is at least the Poisson pair's (it is a component
        # with weight ≥ 1 − p, and the other dominates it)...
    lo_p, _ = one_step_epsilon_bracket(privacy_losses(SubsampledGaussian(sigma, q)), 1e-6)
    _, up_t = one_step_epsilon_bracket(pls, 1e-6)
    assert up_t >= lo_p


def test_composed_bracket_monotone_in_delta():
    m = TSG(1.0, 0.5, 2, 4)
    prev = None
    for delta in (1e-8, 1e-6, 1e-4, 1e-2):
        r = acc.epsilon(m, delta, steps=3)
        assert r.lower <= r.upper
        if prev is not None:
            assert r.upper <= prev.upper and r.lower <= prev.lower
        prev = r


def test_pld_cells_are_the_weighted_sums_and_tiny_weights_go_to_infinity():
    a, _ = _poisson(1.0, 0.1, 1.0)
    b, _ = _poisson(1.0, 0.05, 2.0)
    i0, h, npts = -3000, 2e-3, 6001
    mix = PublicMixtureLoss([a, b], [0.75, 0.25])
    up, lo = mix.pld_cells(i0, h, npts)
    ca, _ = a.pld_cells(i0, h, npts)
    cb, _ = b.pld_cells(i0, h, npts)
    assert np.allclose(up.a, 0.75 * ca.a + 0.25 * cb.a, rtol=1e-15, atol=0)
    assert np.allclose(up.b, 0.75 * ca.b + 0.25 * cb.b, rtol=1e-15, atol=0)
    assert up.Qb == pytest.approx(0.75 * ca.Qb + 0.25 * cb.Qb, rel=1e-15)
    # a component of weight 2^-1000: whole at +∞ above, the identity (an atom at 0) below
    w = 2.0 ** -1000
    tiny = PublicMixtureLoss([a, b], [1.0 - w, w])
    up, lo = tiny.pld_cells(i0, h, npts)
    assert up.log_w_inf >= math.log(w)
    assert np.allclose(up.a, (1.0 - w) * ca.a, rtol=1e-15, atol=0)
    # the identity atom is placed at L = 0 (the end of cell −i0 − 1), where it does not
    # move a double of size 1e-3; with no Poisson component it is all there is
    alone = PublicMixtureLoss([b, a], [w, 1.0 - w]).pld_cells(i0, h, npts)[1]
    assert alone.a[-i0 - 1] >= (1.0 - w) * ca.a[-i0 - 1]
