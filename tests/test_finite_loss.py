"""The generic finite pair (accountant/loss/finite.py, docs/math.md §10.1).

References are independent: the hockey stick, tails, CGF, moments and tilted laws are
summed over the atoms in mpmath (40 digits) from the definition δ(ε) = E_Q[(1 − e^{ε−L})₊];
the composed δ is the exact T-fold convolution of the pair (atoms on a lattice of step 1/8,
so that sums of losses are exact), in mpmath, and ε(δ) its bisection.
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
from accountant.core.mechanisms import EpsilonDelta, Schedule, Gaussian
from accountant.loss import register_loss
from accountant.loss.finite import FiniteLoss

mp.mp.dps = 40


# -- references ------------------------------------------------------------------------------
def _ref_pair(pl):
    """(losses, Q-masses, P-masses, Q∞, P−∞) of a FiniteLoss in mpmath."""
    ell = [mp.mpf(float(x)) for x in pl.ell]
    p = [mp.e ** mp.mpf(float(x)) for x in pl.log_p]
    q = [pi * mp.e ** li for pi, li in zip(p, ell)]
    qinf = mp.e ** mp.mpf(pl.log_q_inf) if pl.log_q_inf > -math.inf else mp.mpf(0)
    pninf = mp.e ** mp.mpf(pl.log_p_ninf) if pl.log_p_ninf > -math.inf else mp.mpf(0)
    return ell, q, p, qinf, pninf


def _ref_delta(pl, eps):
    ell, q, _, qinf, _ = _ref_pair(pl)
    eps = mp.mpf(eps)
    return qinf + mp.fsum(qi * (1 - mp.e ** (eps - li)) for li, qi in zip(ell, q) if li > eps)


def _ref_cgf(pl, t):
    ell, q, _, _, _ = _ref_pair(pl)
    return mp.log(mp.fsum(qi * mp.e ** (mp.mpf(t) * li) for li, qi in zip(ell, q)))


def _pair(losses, pmass, qinf=0.0, pninf=0.0):
    """A FiniteLoss from losses and P-masses given as numbers (renormalised in mpmath so
    that both totals are 1: the Q-masses p·e^ℓ plus Q∞ sum to 1 after scaling p)."""
    losses = [mp.mpf(x) for x in losses]
    pm = [mp.mpf(x) for x in pmass]
    # scale P so that Σp + P−∞ = 1 and Σ p e^ℓ + Q∞ = 1: solve for the two free masses
    sp = mp.fsum(pm)
    sq = mp.fsum(pi * mp.e ** li for pi, li in zip(pm, losses))
    # choose c with c·sp + pninf = 1; then Q∞ = 1 − c·sq must be ≥ 0
    c = (1 - mp.mpf(pninf)) / sp
    qi = 1 - c * sq
    assert qi >= -1e-15          # (rounding of masses given as doubles)
    lp = [float(mp.log(c * x)) for x in pm]
    return FiniteLoss([float(x) for x in losses], lp,
                      log_q_inf=float(mp.log(qi)) if qi > mp.mpf(10) ** -12 else -math.inf,
                      log_p_ninf=math.log(pninf) if pninf > 0 else -math.inf)


PAIRS = [
    # randomized-response-like, symmetric around 0
    _pair([-1.0, 0.0, 1.0], [math.e / (2 + math.e), 1 / (2 + math.e), 1 / (2 + math.e)]),
    # asymmetric with a P-mass at −∞ and the Q-mass at +∞ that normalisation leaves
    _pair([-0.75, 0.25, 1.5], [0.5, 0.3, 0.05], pninf=0.1),
    # many atoms on the 1/8 lattice (p ∝ e^{−ℓ/2}·g with g symmetric: Σp = Σq)
    _pair([k / 8 for k in range(-6, 7)],
          [math.exp(-k / 16 - abs(k) / 4) for k in range(-6, 7)]),
]


# -- one step --------------------------------------------------------------------------------
@pytest.mark.parametrize("pl", PAIRS)
def test_hockey_stick_and_bounds_against_mpmath(pl):
    for eps in [-2.0, -0.5, 0.0, 0.1, 0.25, 0.7, 1.0, 1.49, 3.0]:
        ref = _ref_delta(pl, eps)
        got = pl.log_hockey_stick(eps)
        if ref == 0:
            assert got == -math.inf
            assert pl.log_delta_bound(max(eps, 0.0), "lower") == -math.inf or eps < 0
            continue
        assert abs(got - float(mp.log(ref))) < 1e-13 * (1 + abs(got))
        if eps >= 0:
            lo, up = pl.log_delta_bound(eps, "lower"), pl.log_delta_bound(eps, "upper")
            assert lo <= mp.log(ref) <= up
            assert up - lo < 1e-11 * (1 + abs(up))
    # vectorised form agrees with the scalar one
    e = np.array([0.0, 0.3, 1.0])
    assert np.array_equal(pl.log_hockey_stick(e), [pl.log_hockey_stick(x) for x in e])


@pytest.mark.parametrize("pl", PAIRS)
def test_tails_against_mpmath(pl):
    ell, q, p, qinf, _ = _ref_pair(pl)
    for eps in [-1.0, 0.0, 0.2, 1.0, 2.0]:
        rq = qinf + mp.fsum(qi for li, qi in zip(ell, q) if li > eps)
        rp = mp.fsum(pi for li, pi in zip(ell, p) if li > eps)
        for under, ref in (("Q", rq), ("P", rp)):
            got = pl.log_sf(eps, under)
            if ref == 0:
                assert got == -math.inf
            else:
                assert abs(got - float(mp.log(ref))) < 1e-13


@pytest.mark.parametrize("pl", PAIRS)
def test_cgf_against_mpmath(pl):
    for t in [-0.5, 0.25, 1.0, 3.0, 10.0]:
        if t > 0 and pl.log_q_inf > -math.inf:
            assert pl.cgf(t) == math.inf      # Q-mass at +∞: E_Q[e^{tL}] = ∞
            continue
        ref = _ref_cgf(pl, t)
        got = pl.cgf(t)
        assert abs(got - float(ref)) < 1e-13 * (1 + abs(got))
        if t > 0:
            assert got >= ref                 # the raised pair: an upper bound
    assert abs(pl.cgf(0.0)) < 1e-15
    assert np.allclose(pl.cgf(np.array([0.5, 2.0])), [pl.cgf(0.5), pl.cgf(2.0)])


def test_moments_and_tilted_against_mpmath():
    pl = PAIRS[2]
    ell, q, p, _, _ = _ref_pair(pl)
    for under, w in (("Q", q), ("P", p)):
        m = pl.moments(under)
        mean = mp.fsum(wi * li for wi, li in zip(w, ell))
        var = mp.fsum(wi * (li - mean) ** 2 for wi, li in zip(w, ell))
        mu3 = mp.fsum(wi * (li - mean) ** 3 for wi, li in zip(w, ell))
        a1 = mp.fsum(wi * abs(li - mean) for wi, li in zip(w, ell))
        assert abs(m.k1 - mean) < 1e-14 * abs(mean) + 1e-16
        assert abs(m.k2 - var) < 1e-13 * var
        assert abs(m.mu3 - mu3) < 1e-12 * abs(mu3) + 1e-15
        assert abs(m.abs1 - a1) < 1e-13 * a1
    t = 1.7
    tl = pl.tilted(t)
    K = _ref_cgf(pl, t)
    wt = [qi * mp.e ** (t * li - K) for qi, li in zip(q, ell)]
    k1 = mp.fsum(wi * li for wi, li in zip(wt, ell))
    k2 = mp.fsum(wi * (li - k1) ** 2 for wi, li in zip(wt, ell))
    pt = mp.fsum(wi * abs(li - k1) ** 3 for wi, li in zip(wt, ell))
    assert abs(tl.K - K) < 1e-14 * abs(K) + tl.abs_err_K
    assert abs(tl.K1 - k1) < 1e-13 * abs(k1)
    assert abs(tl.K2 - k2) < 1e-12 * k2
    assert abs(tl.Pt - pt) < 1e-12 * pt


def test_infinite_masses_refuse_moments_naming_pld():
    pl = PAIRS[1]
    with pytest.raises(ValueError, match="method='pld'"):
        pl.moments("Q")
    with pytest.raises(ValueError, match="method='pld'"):
        pl.moments("P")
    with pytest.raises(ValueError, match="method='pld'"):
        pl.tilted(0.5)


def test_from_outcomes_merges_and_routes():
    # outcomes: two of equal loss log 2, one Q-only, one P-only
    lp = np.log([0.2, 0.1, 0.0, 0.7])
    lq = np.log([0.4, 0.2, 0.3, 0.1])
    with np.errstate(divide="ignore"):
        lp = np.log([0.2, 0.1, 0.0, 0.6])
        lq = np.log([0.4, 0.2, 0.3, 0.1])
    pl = FiniteLoss.from_outcomes(np.append(lp, math.log(0.1)), np.append(lq, -math.inf))
    assert pl.ell.size == 2                       # log 2 (merged) and log(1/6)
    assert abs(math.exp(pl.log_q_inf) - 0.3) < 1e-15
    assert abs(math.exp(pl.log_p_ninf) - 0.1) < 1e-15
    k = int(np.argmin(abs(pl.ell - math.log(2))))
    assert abs(math.exp(pl.log_p[k]) - 0.3) < 1e-15
    assert pl.hi_loss == math.inf and pl.lo_loss == -math.inf
    assert pl.sup_loss_upper() is None
    with pytest.raises(ValueError, match="same length"):
        FiniteLoss.from_outcomes([0.0], [0.0, 0.0])


def test_sup_loss_bounds_and_zero_above():
    pl = PAIRS[0]
    up, lo = pl.sup_loss_upper(), pl.sup_loss_lower()
    assert lo <= Fraction(1.0) <= up
    assert pl.log_delta_bound(pl.delta_zero_above(), "upper") == -math.inf
    assert pl.delta_zero_above() >= 1.0


def test_lower_pair_serves_lower_bounds():
    """A pair built as an upper bound (tail Q-mass sent to +∞) with a dominated pair beside
    it: upper answers from the first, lower answers from the second."""
    exact = PAIRS[0]
    # upper: the top atom's Q-mass moved to +∞ (and its P-mass to −∞): dominates
    lq_top = float(exact.log_q[-1])
    up = FiniteLoss(exact.ell[:-1], exact.log_p[:-1], log_q_inf=lq_top,
                    log_p_ninf=float(exact.log_p[-1]), lower=exact)
    for eps in [0.0, 0.5, 0.9]:
        lo_b, up_b = up.log_delta_bound(eps, "lower"), up.log_delta_bound(eps, "upper")
        ref = mp.log(_ref_delta(exact, eps))
        assert lo_b <= ref <= up_b
        assert up_b > ref + 0.01                  # the upper pair is looser
    cu, cl = up.pld_cells(-2000, 1e-3, 4001)
    assert cu.log_w_inf == pytest.approx(lq_top, abs=1e-12)
    assert cl.dtop == 0.0 and cl.log_w_inf == -math.inf


# -- composition through the PLD accountant ------------------------------------------------
@dataclass(frozen=True)
class _Custom(EpsilonDelta):
    """A mechanism standing for one of the PAIRS (index ``tag``), served by a FiniteLoss."""
    epsilon: float = 1.0
    tag: int = 0


@register_loss(_Custom)
def _custom_loss(mechanism):
    return (PAIRS[mechanism.tag],)


def _ref_composed(pl, T):
    """Exact T-fold composition on the 1/8 lattice: {loss: Q-mass} and the Q-mass at +∞."""
    ell, q, _, qinf, _ = _ref_pair(pl)
    keys = [round(float(x) * 8) for x in ell]
    d = {0: mp.mpf(1)}
    for _ in range(T):
        nd = {}
        for k0, w0 in d.items():
            for k1, w1 in zip(keys, q):
                nd[k0 + k1] = nd.get(k0 + k1, 0) + w0 * w1
        d = nd
    return d, 1 - (1 - qinf) ** T


def _ref_delta_T(d, pinf, eps):
    eps = mp.mpf(eps)
    return pinf + mp.fsum(w * (1 - mp.e ** (eps - mp.mpf(k) / 8)) for k, w in d.items()
                          if mp.mpf(k) / 8 > eps)


def _ref_eps_T(d, pinf, delta):
    lo, hi = mp.mpf(0), mp.mpf(max(d) / 8 + 1)
    if _ref_delta_T(d, pinf, 0) <= delta:
        return mp.mpf(0)
    for _ in range(120):
        mid = (lo + hi) / 2
        if _ref_delta_T(d, pinf, mid) > delta:
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2


@pytest.mark.parametrize("tag,T,delta", [(0, 3, 1e-3), (0, 6, 1e-5), (1, 4, 0.4),
                                         (1, 2, 0.25), (2, 5, 1e-4)])
def test_pld_composition_contains_enumeration(tag, T, delta):
    d, pinf = _ref_composed(PAIRS[tag], T)
    ref = _ref_eps_T(d, pinf, delta)
    r = acc.epsilon(_Custom(tag=tag), delta, steps=T, method="pld", closed_form=False)
    assert r.certified
    assert r.lower <= ref <= r.upper
    # (PAIRS[1]: the Q-mass at +∞ beyond the revealing coin is dropped on the lower side)
    assert r.upper - r.lower <= (0.1 if tag == 1 else 1e-3) * ref
    eps = float(ref) * 0.8
    rd = acc.delta(_Custom(tag=tag), eps, steps=T, method="pld", closed_form=False)
    refd = _ref_delta_T(d, pinf, eps)
    assert rd.lower <= refd <= rd.upper
    if pinf == 0:
        assert rd.upper - rd.lower <= 1e-2 * refd
    else:
        # the lower PLD drops the Q-mass at +∞ beyond the revealing coin min(Q∞, P₋∞)
        # (docs/math.md §10.1): only the upper is tight here
        assert rd.upper - refd <= 1e-2 * refd


def test_pld_epsilon_is_infinite_past_the_mass_at_infinity():
    """Two steps of PAIRS[1] put Q-mass 0.199 at +∞: δ_T(ε) > 0.15 at every ε."""
    r = acc.epsilon(_Custom(tag=1), 0.15, steps=2, method="pld", closed_form=False)
    assert r.upper == math.inf


@given(st.integers(0, 2), st.integers(1, 4), st.floats(1e-6, 0.3))
def test_pld_bracket_ordered_and_monotone(tag, T, delta):
    if tag == 1 and delta < 0.11 * T:     # below the composed Q-mass at +∞: ε = ∞
        delta = 0.5
    r1 = acc.epsilon(_Custom(tag=tag), delta, steps=T, method="pld")
    r2 = acc.epsilon(_Custom(tag=tag), min(delta * 2, 0.9), steps=T, method="pld")
    assert 0 <= r1.lower <= r1.upper
    assert r2.lower <= r1.upper           # ε is non-increasing in δ


def test_composition_with_a_gaussian_is_order_invariant():
    a = Schedule(((_Custom(tag=2), 3), (Gaussian(2.0), 2)))
    b = Schedule(((Gaussian(2.0), 2), (_Custom(tag=2), 3)))
    ra, rb = acc.epsilon(a, 1e-5), acc.epsilon(b, 1e-5)
    assert ra.upper == rb.upper and ra.lower == rb.lower
