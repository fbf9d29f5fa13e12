"""The Poisson-subsampled Laplace mechanism (docs/math.md §2.7; issue 14, item 7).

Checked against an independent mpmath reference built from the definition in the outcome
domain (Laplace densities and survival functions, the set {q > e^ε p} found by root
search on L(z); 30–60 digits): the one-step hockey stick, the tails, the CGF, the moments
and tilted moments, the PLD cell integrals, and the composed δ of two steps
(δ₂(ε) = E_{L₁~Q}[δ₁(ε − L₁)], one quadrature over the outcome of the first step).

The accountants: the PLD composition (``pld.epsilon_bracket`` / ``delta_bracket``), the RDP
conversion (``rdp.rdp_of`` + ``epsilon_from_rdp``), the saddle point's per-direction search
and the Edgeworth accountant consume the loss unchanged, and so do the exact one-step
bounds (the loss answers ``log_delta_bound``): every public entry point serves the family
(``test_public_entry_points``) with no edit to an accountant module.
"""
from __future__ import annotations

import math
from fractions import Fraction
import warnings

import mpmath as mp
import numpy as np
import pytest
from hypothesis import given, strategies as st

import accountant as acc
from accountant.accountants import rdp
from accountant.accountants import saddlepoint as spa
from accountant.accountants.exact import pure_epsilon
from accountant.accountants.pld import bracket as pld
from accountant.core.mechanisms import Schedule, SubsampledLaplace, as_schedule, is_identity
from accountant.loss import (GaussianMixtureLoss, LaplaceLoss, directions_of, privacy_losses,
                             register_loss)
from accountant.loss.subsampled_laplace import SubsampledLaplaceLoss

#: dp_accounting's expected ε for PoissonSampledDpEvent(0.2, LaplaceDpEvent(0.5)) composed
#: 1 + 2 times at δ = 1e-14 (pld/pld_privacy_accountant_test.py,
#: test_poisson_subsampled_laplace; checked there to 1e-3).
DP_ACCOUNTING_EPSILON = 2.46964

_CASES = [(0.5, 0.2), (1.0, 0.01), (3.0, 0.5), (0.1, 0.001), (2.0, 1e-5)]
_DIRS = ("remove", "add")


@pytest.fixture(autouse=True)
def _mp_digits():
    # 25 digits leave ten beyond the 1e-13 compared; each file sets its own precision
    with mp.workdps(25):
        yield


# ---------------------------------------------------------------------------------------
# mpmath reference from the definition
# ---------------------------------------------------------------------------------------
class _Ref:
    """P, Q of one direction in the outcome domain (densities, survival functions)."""

    def __init__(self, b, q, direction):
        self.b, self.q, self.dir = mp.mpf(b), mp.mpf(q), direction
        self.c = 1 if direction == "remove" else -1          # the sampled component
        self.kinks = sorted([mp.mpf(0), mp.mpf(self.c)])

    def _lap(self, x, m):
        return mp.exp(-abs(x - m) / self.b) / (2 * self.b)

    def _sf(self, x, m):
        z = (x - m) / self.b
        return mp.exp(-z) / 2 if z >= 0 else 1 - mp.exp(z) / 2

    def p(self, x):
        return self._lap(x, 0) if self.dir == "remove" else self._mix(x)

    def qd(self, x):
        return self._mix(x) if self.dir == "remove" else self._lap(x, 0)

    def _mix(self, x):
        return (1 - self.q) * self._lap(x, 0) + self.q * self._lap(x, self.c)

    def _mix_sf(self, x):
        return (1 - self.q) * self._sf(x, 0) + self.q * self._sf(x, self.c)

    def sf_p(self, x):
        return self._sf(x, 0) if self.dir == "remove" else self._mix_sf(x)

    def sf_q(self, x):
        return self._mix_sf(x) if self.dir == "remove" else self._sf(x, 0)

    def L(self, x):
        return mp.log(self.qd(x) / self.p(x))

    def increasing(self):
        return self.L(self.kinks[1] + 1) > self.L(self.kinks[0] - 1)

    def range(self):
        a, b = self.L(self.kinks[0] - 1), self.L(self.kinks[1] + 1)
        return min(a, b), max(a, b)

    def root(self, eps):
        """The outcome with L = ε (inside the kinks), by bisection: L is monotone there,
        and nearly flat where q·e^ℓ ≪ 1 (a secant search stalls)."""
        lo, hi = self.kinks
        inc = self.increasing()
        for _ in range(int(3.4 * mp.mp.dps) + 20):
            mid = (lo + hi) / 2
            if (self.L(mid) > eps) == inc:
                hi = mid
            else:
                lo = mid
        return (lo + hi) / 2

    def tails(self, eps):
        """(P[L > ε], Q[L > ε])."""
        eps = mp.mpf(eps)
        lo, hi = self.range()
        if eps >= hi:
            return mp.mpf(0), mp.mpf(0)
        if eps < lo:
            return mp.mpf(1), mp.mpf(1)
        x = self.root(eps)
        if self.increasing():
            return self.sf_p(x), self.sf_q(x)
        return 1 - self.sf_p(x), 1 - self.sf_q(x)

    def delta1(self, eps):
        """δ(ε) = Q[L > ε] − e^ε·P[L > ε] (Neyman–Pearson); 1 − e^ε below the range."""
        eps = mp.mpf(eps)
        if eps < self.range()[0]:
            return -mp.expm1(eps)
        tp, tq = self.tails(eps)
        return tq - mp.exp(eps) * tp

    def delta2(self, eps):
        """Two steps: E_{L₁~Q}[δ₁(ε − L₁)]; the atoms of L₁ (outside the kinks) exactly,
        the rest by quadrature with breaks where ε − L₁ crosses the ends of L's range."""
        eps = mp.mpf(eps)
        k0, k1 = self.kinks
        lo, hi = self.range()
        total = ((1 - self.sf_q(k0)) * self.delta1(eps - self.L(k0 - 1))
                 + self.sf_q(k1) * self.delta1(eps - self.L(k1 + 1)))
        pts = [k0, k1]
        tiny = mp.mpf(10) ** (-mp.mp.dps + 5)
        for edge in (lo, hi):
            f = lambda x: self.L(x) - (eps - edge)
            if f(k0 + tiny) * f(k1 - tiny) < 0:
                pts.append(mp.findroot(f, (k0, k1), solver="illinois"))
        return total + mp.quad(lambda x: self.qd(x) * self.delta1(eps - self.L(x)), sorted(pts))

    def _pts(self):
        return [-mp.inf] + self.kinks + [mp.inf]

    def cgf(self, t):
        # K ~ 1e-17 is the log of an integral within 1e-17 of 1: 45 digits keep 25 of K
        with mp.workdps(45):
            t = mp.mpf(t)
            return +mp.log(mp.quad(lambda x: self.qd(x) ** (1 + t) * self.p(x) ** (-t),
                                   self._pts()))

    def central(self, weight, norm=1):
        """(mean, μ₂..μ₅, E|L − mean|, E|L − mean|³) of L under ``weight``/norm."""
        w = lambda x: weight(x) / norm
        mean = mp.quad(lambda x: w(x) * self.L(x), self._pts())
        pts = self._pts()
        lo, hi = self.range()
        if lo < mean < hi:
            pts = sorted(pts[1:-1] + [self.root(mean)])
            pts = [-mp.inf] + pts + [mp.inf]
        out = [mean] + [mp.quad(lambda x: w(x) * (self.L(x) - mean) ** k, pts)
                        for k in (2, 3, 4, 5)]
        out += [mp.quad(lambda x: w(x) * abs(self.L(x) - mean) ** k, pts) for k in (1, 3)]
        return out

    def tilted(self, t):
        t = mp.mpf(t)
        K = self.cgf(t)
        return K, self.central(lambda x: self.qd(x) ** (1 + t) * self.p(x) ** (-t), mp.exp(K))


def _loss(b, q, direction) -> SubsampledLaplaceLoss:
    pls = privacy_losses(SubsampledLaplace(b, q))
    return pls[0] if direction == "remove" else pls[1]


def _rel(x, ref):
    ref = float(ref)
    return abs(x - ref) / abs(ref) if ref else abs(x)


# ---------------------------------------------------------------------------------------
# The mechanism and the registry
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("kwargs, match", [
    ({"noise_multiplier": 0.0, "sample_rate": 0.1}, "noise_multiplier must be"),
    ({"noise_multiplier": -1.0, "sample_rate": 0.1}, "noise_multiplier must be"),
    ({"noise_multiplier": 1e-7, "sample_rate": 0.1}, r"noise_multiplier must be in \[1e-06"),
    ({"noise_multiplier": "1", "sample_rate": 0.1}, "noise_multiplier must be a real"),
    ({"noise_multiplier": 1.0, "sample_rate": 1.5}, r"sample_rate must be in \[0, 1\]"),
    ({"noise_multiplier": 1.0, "sample_rate": -0.1}, r"sample_rate must be in \[0, 1\]"),
    ({"noise_multiplier": 1.0, "sample_rate": math.nan}, r"sample_rate must be in \[0, 1\]"),
    ({"noise_multiplier": 1.0, "sample_rate": 0.1, "neighboring": "replace_one"},
     "neighboring .*add/remove only.*'add_remove'"),
    ({"noise_multiplier": 1.0, "sample_rate": 0.1, "neighboring": "other"}, "neighboring"),
])
def test_mechanism_validation_names_the_argument(kwargs, match):
    with pytest.raises(ValueError, match=match):
        SubsampledLaplace(**kwargs)


def test_mechanism_is_a_frozen_exported_schedule_member():
    m = acc.SubsampledLaplace(0.5, 0.2)
    assert m == SubsampledLaplace(0.5, 0.2) and hash(m) == hash(SubsampledLaplace(0.5, 0.2))
    assert m.neighboring == "add_remove" and "SubsampledLaplace" in acc.__all__
    with pytest.raises(Exception):
        m.sample_rate = 0.3
    s = Schedule(((m, 1), (m, 2)))          # dp_accounting's 1 + 2 composition
    assert s.segments == ((m, 3),)
    assert is_identity(SubsampledLaplace(1.0, 0.0)) and not is_identity(m)
    with pytest.raises(ValueError, match="same neighboring relation"):
        Schedule(((m, 1), (acc.Laplace(1.0, "replace_one"), 1)))


def test_registry_serves_every_family_as_before():
    # What the isinstance chain built, family by family.
    g = privacy_losses(acc.Gaussian(2.0, "replace_one"))
    assert len(g) == 1 and isinstance(g[0], GaussianMixtureLoss) and list(g[0].qm) == [2.0]
    lap = privacy_losses(acc.Laplace(0.7, "replace_one"))
    assert len(lap) == 1 and isinstance(lap[0], LaplaceLoss) and lap[0].sensitivity == 2.0
    sg = privacy_losses(acc.SubsampledGaussian(1.1, 0.01))
    assert [pl.direction for pl in sg] == ["remove", "add"]
    assert list(sg[0].qm) == [0.0, 1.0] and list(sg[1].pm) == [-1.0, 0.0]
    r1 = privacy_losses(acc.SubsampledGaussian(1.1, 0.01, neighboring="replace_one"))
    assert len(r1) == 1 and list(r1[0].pm) == [-1.0, 0.0] and list(r1[0].qm) == [0.0, 1.0]
    fx = privacy_losses(acc.SubsampledGaussian(1.1, 0.01, "fixed"))
    assert len(fx) == 2 and list(fx[0].qm) == [0.0, 2.0]
    assert privacy_losses(acc.SubsampledGaussian(1.1, 1.0))[0].gaussian_shift == pytest.approx(1 / 1.1)
    assert privacy_losses(acc.ULS(1.1, 0.01)) == privacy_losses(acc.SubsampledGaussian(1.1, 0.01))
    els = privacy_losses(acc.ELS(1.1, 0.01, 3))
    assert len(els) == 2 and list(els[0].qm) == [0.0, 1.0, 2.0, 3.0]
    mog = privacy_losses(acc.MixtureOfGaussians(1.0, (0.0, 1.0), (0.5, 0.5)))
    assert len(mog) == 2
    ident = privacy_losses(acc.SubsampledGaussian(1.3, 0.0))
    assert len(ident) == 1 and ident[0].sigma == 1.3 and ident[0].hi_loss == 0.0
    with pytest.raises(ValueError, match="mechanism must be a mechanism"):
        privacy_losses("not a mechanism")


def test_register_loss_takes_new_families_and_subclasses():
    class Toy:
        neighboring = "add_remove"

    class ToyChild(Toy):
        pass

    made = []

    @register_loss(Toy)
    def _toy(m):
        made.append(m)
        return (LaplaceLoss(3.0),)

    child = ToyChild()
    assert isinstance(privacy_losses(child)[0], LaplaceLoss) and made == [child]
    with pytest.raises(TypeError, match="mechanism class"):
        register_loss("Toy")


def test_registration_of_the_subsampled_laplace():
    rm, ad = privacy_losses(SubsampledLaplace(0.5, 0.2))
    assert isinstance(rm, SubsampledLaplaceLoss) and (rm.direction, ad.direction) == _DIRS
    assert directions_of(as_schedule(SubsampledLaplace(0.5, 0.2))) == _DIRS
    # q = 1: the Laplace mechanism itself; q = 0: the identity pair
    one = privacy_losses(SubsampledLaplace(0.5, 1.0))
    assert len(one) == 1 and isinstance(one[0], LaplaceLoss) and one[0].sensitivity == 1.0
    zero = privacy_losses(SubsampledLaplace(0.5, 0.0))
    assert len(zero) == 1 and zero[0].hi_loss == zero[0].lo_loss == 0.0


# ---------------------------------------------------------------------------------------
# The loss against mpmath
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("b, q", _CASES)
@pytest.mark.parametrize("direction", _DIRS)
def test_range_atoms_and_inverse(b, q, direction):
    pl, ref = _loss(b, q, direction), _Ref(b, q, direction)
    lo, hi = ref.range()
    assert _rel(pl.lo_loss, lo) < 1e-14 and _rel(pl.hi_loss, hi) < 1e-14
    down, up = pl.eps0_bracket()
    assert down <= hi <= up and up - down < 1e-12 * (1 + abs(float(hi)))
    assert pl.sup_loss_upper() == Fraction(up) and mp.mpf(up) >= hi
    # constant outside the kinks (the atoms), increasing between them
    x = np.array([-3.0, -1.0, -0.5, 0.0, 0.25, 0.5, 1.0, 2.0]) * (1 if direction == "remove" else -1)
    x = np.sort(x)
    L = pl.loss(x)
    assert np.all(np.diff(L) >= 0)
    for xi, li in zip(x, L):
        assert abs(li - float(ref.L(mp.mpf(xi)))) <= 1e-14 * (1 + abs(li))
    eps = np.linspace(pl.lo_loss, pl.hi_loss, 9)[1:-1]
    back = pl.loss(pl.inverse_loss(eps))
    assert np.allclose(back, eps, rtol=1e-12, atol=1e-15)
    assert pl.inverse_loss(pl.hi_loss) == math.inf and pl.inverse_loss(pl.lo_loss) == -math.inf


@pytest.mark.parametrize("b, q", _CASES)
@pytest.mark.parametrize("direction", _DIRS)
def test_hockey_stick_and_tails(b, q, direction):
    pl, ref = _loss(b, q, direction), _Ref(b, q, direction)
    # (not at the atoms themselves: their float locations are a rounding away from the
    # true ones, and P[L > ε] jumps there)
    eps = np.concatenate([[pl.lo_loss - 0.3], np.linspace(pl.lo_loss, pl.hi_loss, 13)[1:-1],
                          [pl.hi_loss + 1e-12, pl.hi_loss + 0.1]])
    got = pl.hockey_stick(eps)
    for e, d in zip(eps, got):
        r = ref.delta1(e)
        assert (d == 0.0 and r == 0) or _rel(d, r) < 1e-13, (e, d, r)
        tp, tq = ref.tails(e)
        for under, t in (("P", tp), ("Q", tq)):
            v = math.exp(pl.log_sf(e, under))
            assert (v == 0.0 and t == 0) or _rel(v, t) < 1e-13, (e, under, v, t)


@pytest.mark.parametrize("b, q", _CASES + [(1.0, 1e-7), (0.05, 0.3)])
@pytest.mark.parametrize("direction", _DIRS)
def test_cgf(b, q, direction):
    pl, ref = _loss(b, q, direction), _Ref(b, q, direction)
    ts = [-0.9, -0.5, -0.2, 1e-6, 0.5, 1.0, 2.0, 3.5, 9.0]
    got = pl.cgf(np.array(ts))
    for t, k in zip(ts, got):
        r = ref.cgf(t)
        assert _rel(k, r) < 1e-12 or abs(k - float(r)) < 1e-300, (t, k, r)
        up = pl.cgf_upper(t)
        assert (up is None) == (t <= 0)
        if up is not None:
            assert up >= k
    # the binomial closed form (integer orders of remove, used where K > 0.1) agrees with
    # the quadrature
    if direction == "remove":
        for n in (2, 5, 20, 200):
            k = pl._cgf_binomial(n)
            if k > 0.1:
                assert _rel(k, pl._cgf_quadrature(float(n))) < 1e-12


@pytest.mark.parametrize("b, q", _CASES)
@pytest.mark.parametrize("direction", _DIRS)
@pytest.mark.parametrize("under", ("P", "Q"))
def test_moments(b, q, direction, under):
    pl, ref = _loss(b, q, direction), _Ref(b, q, direction)
    m = pl.moments(under)
    # (at q = 1e-5 the fourth central moment is 1e-21: the reference needs more digits)
    with mp.workdps(40 if q < 1e-3 else 25):
        r = ref.central(ref.p if under == "P" else ref.qd)
    mine = [m.k1, m.mu2, m.mu3, m.mu4, m.mu5, m.abs1, m.abs3]
    for name, x, y in zip(("mean", "mu2", "mu3", "mu4", "mu5", "abs1", "abs3"), mine, r):
        assert _rel(x, y) < 1e-12, (name, x, y)


@pytest.mark.parametrize("b, q", _CASES)
@pytest.mark.parametrize("direction", _DIRS)
def test_tilted(b, q, direction):
    pl, ref = _loss(b, q, direction), _Ref(b, q, direction)
    for t in ((0.3, 2.0) if (b, q) == _CASES[0] else (2.0,)):
        tl = pl.tilted(t)
        K, (K1, K2, _, _, _, _, P3) = ref.tilted(t)
        assert _rel(tl.K, K) < 1e-12 and _rel(tl.K1, K1) < 1e-12 and _rel(tl.K2, K2) < 1e-11
        assert tl.Pt >= float(P3) * (1 - 1e-11)
        assert tl.rel_err < 1e-10 and tl.abs_err_K < 1e-10
    # a centre hint changes nothing beyond rounding
    hinted = pl.tilted(2.0, centre=pl.tilted(2.0).K1 * 1.01)
    assert _rel(hinted.K2, pl.tilted(2.0).K2) < 1e-12


# ---------------------------------------------------------------------------------------
# PLD cell integrals
# ---------------------------------------------------------------------------------------
def _ref_cells(ref, i0, h, npts):
    """a_i, b_i from the exact CDFs at the exact grid points (i0 + i)·h."""
    eps = [mp.mpf(i0 + i) * mp.mpf(h) for i in range(npts)]
    cdf = []
    for e in eps:
        tp, tq = ref.tails(e)
        cdf.append((1 - tp, 1 - tq))
    em1h = mp.expm1(mp.mpf(h))
    out = []
    for i in range(npts - 1):
        pc = cdf[i + 1][0] - cdf[i][0]
        qc = cdf[i + 1][1] - cdf[i][1]
        ra = (mp.exp(-eps[i]) * qc - pc) / em1h
        out.append((ra, pc - ra))
    return out


@pytest.mark.parametrize("b, q, h", [(0.5, 0.2, 0.05), (3.0, 0.5, 0.01), (0.1, 0.001, 0.1),
                                     (0.02, 1e-9, 0.5)])
@pytest.mark.parametrize("direction", _DIRS)
def test_pld_cells(b, q, h, direction):
    pl, ref = _loss(b, q, direction), _Ref(b, q, direction)
    lo, hi = min(pl.lo_loss, -pl.hi_loss), pl.hi_loss
    i0, i1 = math.floor(lo / h), math.ceil(hi / h)
    npts = i1 - i0 + 1
    with mp.workdps(60):
        refs = _ref_cells(ref, i0, h, npts)
    a, bb, Fb, Qb, r0, Pt, dtop = pl._cells_at(i0, h, npts)
    assert np.all(a >= 0) and np.all(bb >= 0) and Pt == dtop == 0.0
    for i, (ra, rb) in enumerate(refs):
        for x, r in ((a[i], ra), (bb[i], rb)):
            # the cells holding an atom carry its float location (rounded sup L): a few
            # ulps of the location over the atom's distance to the grid
            tol = 1e-11 if abs(r) > 1e-300 else 0.0
            assert abs(x - float(r)) <= tol * abs(float(r)) + 1e-300, (i, x, r)
    # The atoms move with eps0: up for the upper PMF (dominating), down for the lower one;
    # the Q-mass of each atom is kept, so the P-mass moves against the location.
    down, up = pl.eps0_bracket()
    hi_i = math.ceil(up / h) - i0
    a_u, b_u, *_ = pl._cells_at(i0, h, max(npts, hi_i + 1), up)
    a_d, b_d, *_ = pl._cells_at(i0, h, max(npts, hi_i + 1), down)
    mass_u, mass_d = (a_u + b_u).sum(), (a_d + b_d).sum()
    assert mass_u <= (a + bb).sum() + 1e-15 <= mass_d + 2e-15


# ---------------------------------------------------------------------------------------
# The accountants
# ---------------------------------------------------------------------------------------
def _pld_epsilon(m, delta, T, **kw):
    """The PLD accountant's certified composition bracket, capped at the pure-DP ε as
    ``pld.compute`` does (its exact single-step floor is the part that does not run)."""
    s = as_schedule(m, T)
    lo, up, _, warns = pld.epsilon_bracket(s, delta, **kw)
    return lo, min(up, pure_epsilon(s)), warns


def _rdp_epsilon(m, delta, T):
    """The RDP conversion (CKS 2020) minimised over a grid of orders, worst direction."""
    s = as_schedule(m, T)
    orders = np.concatenate([1 + np.geomspace(1e-2, 10, 30), np.geomspace(12, 2e4, 40)])
    worst = 0.0
    for d in directions_of(s):
        best = min(rdp.epsilon_from_rdp(a, rdp.rdp_of(s, d, a), delta) for a in orders)
        worst = max(worst, best)
    return min(worst, pure_epsilon(s))


def _spa_epsilon(m, delta, T):
    """The saddle-point accountant's per-direction search: (estimate, lower, upper)."""
    s = as_schedule(m, T)
    est = lo = up = 0.0
    for d in directions_of(s):
        spa._STATE.left, spa._STATE.exhausted = 2e7, False
        try:
            msd, clt, lo_d, up_d, ok = spa._eps_direction(spa._curve_for(s, d), delta)
        finally:
            spa._STATE.left = None
        assert ok
        est, lo, up = max(est, msd), max(lo, lo_d), max(up, up_d)
    return est, lo, up


def _true_epsilon_one_step(b, q, delta):
    """max over directions of the exact one-step ε(δ), by bisection on the mpmath δ."""
    best = mp.mpf(0)
    for d in _DIRS:
        ref = _Ref(b, q, d)
        lo, hi = mp.mpf(0), ref.range()[1]
        if ref.delta1(lo) <= delta:
            continue
        for _ in range(56):
            mid = (lo + hi) / 2
            lo, hi = (mid, hi) if ref.delta1(mid) > delta else (lo, mid)
        best = max(best, hi)
    return best


def test_dp_accounting_poisson_subsampled_laplace():
    """dp_accounting composes PoissonSampledDpEvent(0.2, LaplaceDpEvent(0.5)) once and then
    twice and expects ε = 2.46964 at δ = 1e-14: three steps of the pure ε₀ = log(0.8 + 0.2e²),
    to their 5 digits (docs/math.md §2.7)."""
    m = SubsampledLaplace(0.5, 0.2)
    exact = 3 * mp.log(mp.mpf("0.8") + mp.mpf("0.2") * mp.e ** 2)
    assert abs(float(exact) - DP_ACCOUNTING_EPSILON) < 5e-6
    sched = Schedule(((m, 1), (m, 2)))
    assert pure_epsilon(sched) >= exact
    lo, up, warns = _pld_epsilon(sched, 1e-14, 1)
    assert lo <= exact <= up and up - exact < 1e-12 and not warns
    # their number is the 5-digit rounding of the bracket's content
    assert lo <= DP_ACCOUNTING_EPSILON + 5e-6 and DP_ACCOUNTING_EPSILON - 5e-6 <= up
    # A tighter request still holds the exact value (the top atom of the composition,
    # Q-mass 0.154³, keeps ε(1e-14) within 3e-12 of 3·ε₀); the lower PMF puts that atom on
    # the grid point below it, so the width stays ~3 grid steps of the finest grid (2e-6).
    lo7, up7, _ = _pld_epsilon(sched, 1e-14, 1, rtol=1e-7, atol=1e-7)
    assert lo7 <= exact <= up7 and exact - lo7 < 1e-5
    ew = acc.epsilon(m, delta=1e-14, steps=3, method="edgeworth")
    assert ew.estimate <= float(exact) * (1 + 1e-15)


@pytest.mark.parametrize("b, q, delta", [(0.5, 0.2, 1e-6), (1.0, 0.05, 1e-3), (2.0, 0.5, 1e-8)])
def test_accountants_one_step_against_mpmath(b, q, delta):
    m = SubsampledLaplace(b, q)
    with mp.workdps(25):
        truth = _true_epsilon_one_step(b, q, delta)
    lo, up, _ = _pld_epsilon(m, delta, 1)
    assert lo <= truth <= up and up - lo <= max(1e-3 * up, 1e-3)     # the default rtol/atol
    r = _rdp_epsilon(m, delta, 1)
    assert r >= truth and r >= lo
    est, slo, sup = _spa_epsilon(m, delta, 1)
    assert slo <= truth <= sup * (1 + 1e-12)
    ew = acc.epsilon(m, delta=delta, steps=1, method="edgeworth")
    assert 0.0 <= ew.estimate <= pure_epsilon(as_schedule(m)) and not ew.certified


@pytest.mark.parametrize("b, q, grid", [(0.5, 0.2, (0.0, 0.5, 1.0)), (2.0, 0.5, (0.1,)),
                                        (0.3, 0.01, (0.05,))])
def test_pld_two_steps_against_mpmath(b, q, grid):
    m = SubsampledLaplace(b, q)
    s = as_schedule(m, 2)
    with mp.workdps(20):
        for eps in grid:
            truth = max(_Ref(b, q, d).delta2(eps) for d in _DIRS)
            lo, up, _, _ = pld.delta_bracket(s, eps)
            assert lo <= truth <= up, (eps, lo, truth, up)


@pytest.mark.parametrize("T", [3, 30, 300])
def test_accountants_agree_on_compositions(T):
    m = SubsampledLaplace(1.0, 0.05)
    lo, up, _ = _pld_epsilon(m, 1e-6, T)
    assert lo <= up
    r = _rdp_epsilon(m, 1e-6, T)
    assert r >= lo
    est, slo, sup = _spa_epsilon(m, 1e-6, T)
    assert slo <= up and sup >= lo
    ew = acc.epsilon(m, delta=1e-6, steps=T, method="edgeworth")
    assert ew.estimate == pytest.approx(0.5 * (lo + up), rel=0.25)


@pytest.mark.parametrize("method", ["pld", "rdp", "edgeworth", "saddlepoint"])
def test_rate_one_is_the_laplace_mechanism_and_rate_zero_the_identity(method):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for T in (1, 5):
            a = acc.epsilon(SubsampledLaplace(0.8, 1.0), delta=1e-6, steps=T, method=method)
            b = acc.epsilon(acc.Laplace(0.8), delta=1e-6, steps=T, method=method)
            assert (a.lower, a.estimate, a.upper) == (b.lower, b.estimate, b.upper)
        z = acc.epsilon(SubsampledLaplace(0.8, 0.0), delta=1e-6, steps=10, method=method)
        assert z.upper == z.lower == 0.0 and z.certified


def test_vanishing_sample_rate_gives_vanishing_epsilon():
    ups = []
    for q in (1e-1, 1e-2, 1e-3, 1e-4, 1e-6):
        m = SubsampledLaplace(1.0, q)
        lo, up, _ = _pld_epsilon(m, 1e-5, 100)
        ups.append(up)
        assert lo <= up <= pure_epsilon(as_schedule(m, 100))
        ew = acc.epsilon(m, delta=1e-5, steps=100, method="edgeworth")
        assert 0.0 <= ew.estimate <= up * 1.5 + 1e-12
    assert all(x > y for x, y in zip(ups, ups[1:])) and ups[-1] < 1e-3


_b = st.floats(0.2, 5.0)
_q = st.floats(1e-4, 0.9)


@given(b=_b, q1=_q, q2=_q, eps=st.floats(-1.0, 3.0))
def test_one_step_delta_is_monotone_in_q_and_b(b, q1, q2, eps):
    q1, q2 = sorted((q1, q2))
    for d in _DIRS:
        lo_q, hi_q = _loss(b, q1, d), _loss(b, q2, d)
        assert lo_q.hockey_stick(eps) <= hi_q.hockey_stick(eps) * (1 + 1e-12) + 1e-300
        more_noise = _loss(b * 1.5, q1, d)
        assert more_noise.hockey_stick(eps) <= lo_q.hockey_stick(eps) * (1 + 1e-12) + 1e-300


@given(b=_b, q1=_q, q2=_q, T=st.sampled_from([2, 10, 100]))
def test_pld_bracket_is_ordered_and_monotone(b, q1, q2, T):
    q1, q2 = sorted((q1, q2))
    lo1, up1, _ = _pld_epsilon(SubsampledLaplace(b, q1), 1e-5, T)
    lo2, up2, _ = _pld_epsilon(SubsampledLaplace(b, q2), 1e-5, T)
    lo3, up3, _ = _pld_epsilon(SubsampledLaplace(b * 1.5, q2), 1e-5, T)
    assert lo1 <= up1 and lo2 <= up2 and lo3 <= up3
    # a larger rate leaks at least as much; more noise at most as much
    assert lo1 <= up2 and lo3 <= up2


# ---------------------------------------------------------------------------------------
# The public entry points: every accountant serves the new family (issue 14, item 7)
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("method, steps", [("pld", 1), ("pld", 3), ("rdp", 1), ("rdp", 3),
                                           ("saddlepoint", 3), ("edgeworth", 3)])
def test_public_entry_points(method, steps):
    r = acc.epsilon(SubsampledLaplace(0.5, 0.2), delta=1e-14, steps=steps, method=method)
    exact_pure = steps * math.log(0.8 + 0.2 * math.e ** 2)
    if r.certified:
        assert 0.0 <= r.lower <= r.upper
        assert r.upper <= exact_pure * (1 + 1e-12) + 1e-12
    if method == "pld" and steps == 3:
        # dp_accounting's test_poisson_subsampled_laplace, inside our certified bracket
        assert r.lower <= DP_ACCOUNTING_EPSILON <= r.upper + 1e-5
        assert r.lower <= exact_pure <= r.upper
    if method == "pld" and steps == 1:
        # one step: the closed form, bracketed
        exact = _true_epsilon_one_step(0.5, 0.2, 1e-14)
        assert r.lower <= exact <= r.upper
