"""Privacy-loss core against mpmath (mp.dps = 50).

What is checked, and against what:

* K(t) = log E_Q[e^{tL}] (``cgf``) — integer orders of the subsampled-Gaussian remove pair
  against the binomial sum evaluated live in mpmath; every other case (fractional orders,
  the add direction, t ∈ (−1, 0), ELS k = 2..8, a mixture of Gaussians, replace-one) against
  values recorded in ``_QUAD_REFS`` below, computed once by ``_mp_cgf`` (mpmath tanh-sinh
  quadrature at 50 digits of ∫ Q^{1+t} P^{−t} over 1.5σ panels covering every point where
  the log-integrand is within 130 nats of its maximum; mixture weights are the exact binary
  values of the float q, renormalised in mpmath). Two of them are recomputed live to keep
  the recorder honest. Requirement: 1e-8 relative, or 1e-15 absolute where |K| is tiny.
* one-step hockey stick δ(ε): Gaussian closed form (Balle–Wang 2018), subsampled Gaussian
  (both directions), ELS and replace-one via an mpmath root of L(x) = ε and mixture tails;
  Laplace from its three-region formula derived independently in mpmath.
* loss / inverse_loss round trips, log_sf under P and Q, lo_loss / hi_loss limits, and
  extreme inputs (σ = 1e4, q = 1e-9; σ = 1e6; q = 1e-12): finite, never NaN, ε → 0 cleanly.
"""
import math

import mpmath as mp
import numpy as np
import pytest

from accountant.core.mechanisms import ELS, Gaussian, Laplace, MixtureOfGaussians, SubsampledGaussian
from accountant.loss import loss_for, privacy_losses

mp.mp.dps = 50  # for the references computed at import


@pytest.fixture(autouse=True)
def _mp_digits():
    # Each test file runs at its own precision whatever the files collected after it set.
    with mp.workdps(50):
        yield


REL = 1e-8
ABS = 1e-15
_SENS = (0.0, 0.5, 1.0, 2.0)
_PROBS = (0.9, 0.05, 0.03, 0.02)


# ---------------------------------------------------------------------------------------
# mpmath references
# ---------------------------------------------------------------------------------------
def _pair(kind, sigma, q=None, k=None):
    """(P means, P weights, Q means, Q weights) with exact mpmath weights."""
    if kind in ("sg_remove", "sg_add"):
        Q = mp.mpf(q)
        sh, w = [0, 1], [1 - Q, Q]
    elif kind in ("els_remove", "els_add"):
        Q = mp.mpf(q)
        sh = list(range(k + 1))
        w = [mp.binomial(k, j) * Q ** j * (1 - Q) ** (k - j) for j in sh]
    elif kind in ("mog_remove", "mog_add"):
        sh, w = list(_SENS), [mp.mpf(p) for p in _PROBS]
    elif kind == "replace":
        Q = mp.mpf(q)
        return [0, -1], [1 - Q, Q], [0, 1], [1 - Q, Q]
    else:
        raise ValueError(kind)
    if kind.endswith("remove"):
        return [0], [1], sh, w
    return [-c for c in sh], w, [0], [1]


def _loss(kind, sigma, q=None, k=None):
    if kind.startswith("sg"):
        pls = privacy_losses(SubsampledGaussian(sigma, q))
    elif kind == "replace":
        return privacy_losses(SubsampledGaussian(sigma, q, neighboring="replace_one"))[0]
    elif kind.startswith("els"):
        pls = privacy_losses(ELS(sigma, q, k))
    else:
        pls = privacy_losses(MixtureOfGaussians(sigma, _SENS, _PROBS))
    return pls[0] if kind.endswith("remove") else pls[-1]


def _mp_logmix(x, means, ws, s):
    return mp.log(mp.fsum(w * mp.exp(-(x - m) ** 2 / (2 * s * s)) for m, w in zip(means, ws))
                  / (s * mp.sqrt(2 * mp.pi)))


def _mp_cgf(pm, pw, qm, qw, sigma, t):
    """log ∫ Q^{1+t} P^{−t} dx by mpmath quadrature (how ``_QUAD_REFS`` was made)."""
    t, s = mp.mpf(t), mp.mpf(sigma)
    pw = [mp.mpf(w) for w in pw]
    qw = [mp.mpf(w) for w in qw]
    pw = [w / mp.fsum(pw) for w in pw]
    qw = [w / mp.fsum(qw) for w in qw]
    # Where the log-integrand is within 130 nats of its maximum (float scan, step σ/16).
    fp = np.array([float(w) for w in pw])
    fq = np.array([float(w) for w in qw])
    pmf, qmf = np.array(pm, float), np.array(qm, float)
    tf = float(t)
    cent = np.concatenate([pmf, qmf, ((1 + tf) * qmf[:, None] - tf * pmf[None, :]).ravel()])
    lo, hi = cent.min() - 60 * sigma, cent.max() + 60 * sigma
    x = np.linspace(lo, hi, int((hi - lo) / (sigma / 16)) + 2)

    def lm(means, w):
        with np.errstate(divide="ignore"):
            z = -((x[:, None] - means[None, :]) ** 2) / (2 * sigma ** 2) + np.log(w)[None, :]
        m = z.max(1)
        return m + np.log(np.exp(z - m[:, None]).sum(1))

    g = (1 + tf) * lm(qmf, fq) - tf * lm(pmf, fp)
    keep = x[g > g.max() - 130]
    a, b = keep.min() - sigma, keep.max() + sigma
    n = max(2, int(math.ceil((b - a) / (1.5 * sigma))))
    pts = [mp.mpf(a) + (mp.mpf(b) - mp.mpf(a)) * j / n for j in range(n + 1)]
    gm = mp.mpf(g.max())
    pmm, qmm = [mp.mpf(v) for v in pm], [mp.mpf(v) for v in qm]
    f = lambda y: mp.exp((1 + t) * _mp_logmix(y, qmm, qw, s) - t * _mp_logmix(y, pmm, pw, s) - gm)
    return gm + mp.log(mp.quad(f, pts))


def _mp_binom_remove(sigma, q, alpha):
    """Integer α = t + 1, remove pair: Σ_i C(α,i) q^i (1−q)^{α−i} e^{(i²−i)/(2σ²)}."""
    q, s = mp.mpf(q), mp.mpf(sigma)
    if q == 1:
        return mp.mpf(alpha * alpha - alpha) / (2 * s * s)
    # Running products for C(α,i)·q^i·(1−q)^{α−i} (exact rational recurrences, fast).
    r = q / (1 - q)
    c = (1 - q) ** alpha
    terms = []
    for i in range(alpha + 1):
        terms.append(c * mp.exp(mp.mpf(i * i - i) / (2 * s * s)))
        c = c * (alpha - i) / (i + 1) * r
    return mp.log(mp.fsum(terms))


def _check(got, ref, what):
    ref = float(ref)
    err = abs(got - ref)
    assert math.isfinite(got), what
    assert err <= max(REL * abs(ref), ABS), f"{what}: got {got!r}, mpmath {ref!r}, rel {err / abs(ref):.2e}"
    return err / abs(ref) if ref != 0 else err


# ---------------------------------------------------------------------------------------
# K(t)
# ---------------------------------------------------------------------------------------
_SIGMAS = (0.3, 1.0, 5.0, 50.0)
_QS = (1e-6, 1e-3, 0.1, 0.5, 1.0)
_INT_T = (1, 2, 7, 31, 256)


def test_cgf_integer_orders_remove_vs_binomial_sum():
    worst = 0.0
    for s in _SIGMAS:
        for q in _QS:
            pl = privacy_losses(SubsampledGaussian(s, q))[0]
            got_many = pl.cgf_many(np.array(_INT_T, dtype=float))
            for t, gm in zip(_INT_T, got_many):
                ref = _mp_binom_remove(s, q, t + 1)
                worst = max(worst, _check(pl.cgf(float(t)), ref, f"σ={s} q={q} t={t}"))
                assert gm == pytest.approx(pl.cgf(float(t)), rel=1e-14, abs=1e-300)
    assert worst < REL


def test_cgf_closed_at_integers_says_where_the_binomial_sum_applies():
    # The RDP engine orders its directions by this property (docs/math.md §3.3): it must
    # hold exactly for the pairs whose integer orders the kernel sums in closed form — the
    # two-point remove pairs (Poisson and fixed-size batches, ELS with k = 1) — whose value
    # is then the binomial sum (shift c: σ/c in the sum), and for the exact closed forms.
    cases = [(SubsampledGaussian(1.3, 0.02), "remove", True, 1.3),
             (SubsampledGaussian(0.9, 0.3, sampling="fixed"), "remove", True, 0.45),
             (ELS(2.0, 0.01, 1), "remove", True, 2.0),
             (Gaussian(2.0), "remove", True, None), (Laplace(1.5), "remove", True, None),
             (SubsampledGaussian(1.3, 0.02), "add", False, None),
             (SubsampledGaussian(1.3, 0.02, neighboring="replace_one"), "remove", False, None),
             (ELS(2.0, 0.01, 3), "remove", False, None),
             (MixtureOfGaussians(1.5, (0.0, 1.0, 2.0), (0.5, 0.3, 0.2)), "remove", False, None)]
    for m, d, closed, scale in cases:
        pl = loss_for(m, d)
        assert pl.cgf_closed_at_integers is closed, (m, d)
        if scale is not None:
            q = m.sample_rate
            for t in (1, 4, 33):
                ref = _mp_binom_remove(scale, q, t + 1)
                assert _check(pl.cgf(float(t)), ref, f"{m} t={t}") < REL


def test_cgf_corners():
    # σ = 0.3, t = 256: K ≈ 1e5; σ = 50, q = 1e-6: K ≈ 1e-16.
    big = privacy_losses(SubsampledGaussian(0.3, 0.5))[0].cgf(256.0)
    assert big > 9e4
    tiny = privacy_losses(SubsampledGaussian(50.0, 1e-6))[0].cgf(1.0)
    _check(tiny, _mp_binom_remove(50.0, 1e-6, 2), "tiny")
    assert 1e-17 < tiny < 1e-15


@pytest.mark.parametrize("kind", ["sg_remove", "sg_add", "replace", "els_remove", "els_add",
                                  "mog_remove", "mog_add"])
def test_cgf_vs_recorded_mpmath_quadrature(kind):
    rows = [r for r in _QUAD_REFS if r[0] == kind]
    assert rows
    worst = 0.0
    for _, s, q, k, t, ref in rows:
        pl = _loss(kind, s, q, k)
        got = pl.cgf(t)
        worst = max(worst, _check(got, ref, f"{kind} σ={s} q={q} k={k} t={t}"))
        assert pl.cgf_many(np.array([t]))[0] == got
    assert worst < REL


def test_recorded_references_reproduce():
    # Keep the recorder honest: two rows recomputed live.
    for row in (("sg_add", 0.8, 0.05, None, 31.7), ("replace", 2.0, 0.05, None, 2.5)):
        ref = dict(((r[0], r[1], r[2], r[3], r[4]), r[5]) for r in _QUAD_REFS)[row]
        live = _mp_cgf(*_pair(row[0], row[1], row[2], row[3]), row[1], row[4])
        assert abs(live - mp.mpf(ref)) <= 1e-15 * abs(live)


def test_cgf_negative_orders_and_domain():
    for m in (SubsampledGaussian(1.0, 0.1), ELS(2.0, 0.05, 3), Gaussian(1.5), Laplace(1.0),
              SubsampledGaussian(1.0, 0.1, sampling="fixed")):
        for pl in privacy_losses(m):
            ts = np.array([-0.99, -0.9, -0.5, -0.1, -1e-6])
            k = pl.cgf(ts)
            assert np.all(np.isfinite(k)) and np.all(k < 0), (m, pl.direction, k)
            assert pl.cgf(0.0) == 0.0
            # K_X(t) = K_Y(t − 1): K_X(1) = K_Y(0) = 0 and K_X(0) = K_Y(−1) = 0.
            assert pl.cgf_p(1.0) == 0.0
            with pytest.raises(ValueError, match="t must be > -1"):
                pl.cgf(-1.0)
            with pytest.raises(ValueError, match="t must be > -1"):
                pl.cgf(np.array([0.5, -2.0]))


def test_cgf_gaussian_and_laplace_closed_forms():
    for s in (0.3, 1.0, 50.0):
        pl = privacy_losses(Gaussian(s))[0]
        for t in (-0.5, 0.05, 2.5, 256.0):
            assert pl.cgf(t) == pytest.approx(t * (1 + t) / (2 * s * s), rel=1e-14)
        # replace-one doubles the sensitivity
        pr = privacy_losses(SubsampledGaussian(s, 1.0, sampling="fixed"))[0]
        assert pr.cgf(3.0) == pytest.approx(3 * 4 * 4 / (2 * s * s), rel=1e-14)
    for b in (0.5, 2.0):
        pl = privacy_losses(Laplace(b))[0]
        for t in (-0.7, -0.5, -0.5 + 1e-12, 0.3, 4.0):
            # E_P[(Q/P)^{1+t}] for Q = Lap(1, b), P = Lap(0, b), integrated region by region
            # by hand: x < 0 (ratio e^{−1/b}), 0 < x < 1 (ratio e^{(2x−1)/b}), x > 1 (e^{1/b}).
            B, T = mp.mpf(b), mp.mpf(t)
            left = mp.exp(-(1 + T) / B) / 2
            right = mp.exp(T / B) / 2
            mid = (mp.exp(-(1 + T) / B) / (2 * B)
                   * (B * mp.expm1((1 + 2 * T) / B) / (1 + 2 * T) if 1 + 2 * T != 0 else 1))
            ref = mp.log(left + mid + right)
            _check(pl.cgf(t), ref, f"laplace b={b} t={t}")


def test_els_k1_is_subsampled_gaussian():
    for t in (0.5, 3.0, 17.25):
        a = privacy_losses(ELS(1.3, 0.02, 1))
        b = privacy_losses(SubsampledGaussian(1.3, 0.02))
        for x, y in zip(a, b):
            assert x.cgf(t) == pytest.approx(y.cgf(t), rel=1e-12)


# ---------------------------------------------------------------------------------------
# Hockey stick, tails, loss
# ---------------------------------------------------------------------------------------
def _mp_sf_mix(x, means, ws, s):
    return mp.fsum(w * mp.erfc((x - m) / (s * mp.sqrt(2))) / 2 for m, w in zip(means, ws))


def _mp_hockey(pm, pw, qm, qw, sigma, eps, x0):
    """δ(ε) = Q̄(x_ε) − e^ε P̄(x_ε), x_ε the mpmath root of L(x) = ε started at x0."""
    s = mp.mpf(sigma)
    pmm, qmm = [mp.mpf(v) for v in pm], [mp.mpf(v) for v in qm]
    L = lambda x: _mp_logmix(x, qmm, qw, s) - _mp_logmix(x, pmm, pw, s)
    x = mp.findroot(lambda y: L(y) - eps, mp.mpf(x0))
    return _mp_sf_mix(x, qmm, qw, s) - mp.exp(eps) * _mp_sf_mix(x, pmm, pw, s), x


_HS_CASES = [("sg_remove", 1.1, 0.01, None), ("sg_add", 1.1, 0.01, None),
             ("sg_remove", 0.3, 0.5, None), ("sg_add", 0.3, 0.5, None),
             ("sg_remove", 20.0, 1e-4, None), ("sg_add", 20.0, 1e-4, None),
             ("els_remove", 2.0, 0.05, 4), ("els_add", 2.0, 0.05, 4), ("replace", 1.0, 0.1, None)]


@pytest.mark.parametrize("case", _HS_CASES, ids=lambda c: f"{c[0]}-{c[1]}-{c[2]}")
def test_hockey_stick_vs_mpmath(case):
    kind, s, q, k = case
    pl = _loss(kind, s, q, k)
    pm, pw, qm, qw = _pair(kind, s, q, k)
    hi = min(pl.hi_loss, 30.0)
    eps = np.unique(np.concatenate([np.linspace(max(pl.lo_loss, -2.0), hi, 12)[1:-1],
                                    [0.0, 1e-3, 0.5, 2.0]]))
    eps = eps[(eps > pl.lo_loss) & (eps < pl.hi_loss)]
    got = pl.log_hockey_stick(eps)
    got_rev = pl.log_hockey_stick(eps[::-1])[::-1]
    xs = pl.inverse_loss(eps)
    for e, g, gr, x0 in zip(eps, got, got_rev, xs):
        ref, _ = _mp_hockey(pm, pw, qm, qw, s, mp.mpf(e), x0)
        assert ref > 0
        assert abs(g - float(mp.log(ref))) <= 1e-9 * max(1.0, abs(g)), (e, g, ref)
        assert g == gr
    # Beyond the loss range: δ = 0 above hi_loss, 1 − e^ε below lo_loss.
    if np.isfinite(pl.hi_loss):
        assert pl.log_hockey_stick(pl.hi_loss + 1e-9) == -np.inf
    if np.isfinite(pl.lo_loss):
        e = pl.lo_loss - 0.1
        assert pl.log_hockey_stick(e) == pytest.approx(math.log(-math.expm1(e)), rel=1e-14)


def test_hockey_stick_gaussian_closed_form():
    for s in (0.3, 1.0, 7.0):
        pl = privacy_losses(Gaussian(s))[0]
        mu = mp.mpf(1) / s
        eps = np.array([0.0, 0.1, 1.0, 3.0, 10.0])
        got = pl.log_hockey_stick(eps)
        for e, g in zip(eps, got):
            E = mp.mpf(e)
            ref = mp.ncdf(-E / mu + mu / 2) - mp.exp(E) * mp.ncdf(-E / mu - mu / 2)
            assert abs(g - float(mp.log(ref))) <= 1e-10 * max(1.0, abs(g)), (s, e)


def test_hockey_stick_laplace():
    for b in (0.5, 1.0, 3.0):
        pl = privacy_losses(Laplace(b))[0]
        e0 = 1.0 / b
        for e in (-2 * e0, -0.5 * e0, 0.0, 0.3 * e0, 0.99 * e0):
            # Q = Lap(1, b), P = Lap(0, b); L > ε ⇔ x > x_ε = (εb + 1)/2 inside (−1/b, 1/b).
            E, B = mp.mpf(e), mp.mpf(b)
            if e < -e0:
                ref = 1 - mp.exp(E)
            else:
                x = (E * B + 1) / 2
                ref = (1 - mp.exp((x - 1) / B) / 2) - mp.exp(E) * mp.exp(-x / B) / 2
            assert pl.hockey_stick(e) == pytest.approx(float(ref), rel=1e-13)
        assert pl.hockey_stick(e0) == 0.0 and pl.hockey_stick(5 * e0) == 0.0


@pytest.mark.parametrize("case", _HS_CASES[:7], ids=lambda c: f"{c[0]}-{c[1]}-{c[2]}")
def test_log_sf_under_p_and_q(case):
    kind, s, q, k = case
    pl = _loss(kind, s, q, k)
    pm, pw, qm, qw = _pair(kind, s, q, k)
    S = mp.mpf(s)
    pmm, qmm = [mp.mpf(v) for v in pm], [mp.mpf(v) for v in qm]
    eps = np.linspace(max(pl.lo_loss, -1.0), min(pl.hi_loss, 8.0), 9)[1:-1]
    lq = pl.log_sf(eps, under="Q")
    lp = pl.log_sf(eps, under="P")
    for e, a, b in zip(eps, lq, lp):
        L = lambda x: _mp_logmix(x, qmm, qw, S) - _mp_logmix(x, pmm, pw, S)
        x = mp.findroot(lambda y: L(y) - e, mp.mpf(pl.inverse_loss(float(e))))
        assert a == pytest.approx(float(mp.log(_mp_sf_mix(x, qmm, qw, S))), rel=1e-11, abs=1e-13)
        assert b == pytest.approx(float(mp.log(_mp_sf_mix(x, pmm, pw, S))), rel=1e-11, abs=1e-13)
        assert a >= b  # Y = L under Q stochastically dominates X
    with pytest.raises(ValueError, match="under"):
        pl.log_sf(0.1, under="R")


@pytest.mark.parametrize("mech", [SubsampledGaussian(1.1, 0.01), SubsampledGaussian(0.3, 0.5),
                                  ELS(2.0, 0.05, 8), MixtureOfGaussians(0.7, _SENS, _PROBS),
                                  SubsampledGaussian(1.0, 0.2, sampling="fixed"), Gaussian(2.0)],
                         ids=repr)
def test_loss_inverse_round_trip_and_limits(mech):
    for pl in privacy_losses(mech):
        x = np.linspace(-6.0, 8.0, 57)
        L = pl.loss(x)
        assert np.all(np.diff(L) >= 0)
        assert np.all((L >= pl.lo_loss) & (L <= pl.hi_loss))
        # Round trip where L is not saturated at its limits (there x is not identifiable).
        x = x[(L > pl.lo_loss + 1e-6) & (L < pl.hi_loss - 1e-6)]
        L = pl.loss(x)
        assert np.all(np.diff(L) > 0)
        back = pl.inverse_loss(L)
        np.testing.assert_allclose(back, x, rtol=1e-11, atol=1e-11)
        # unsorted input gives the same answers in place
        perm = np.random.default_rng(0).permutation(len(L))
        np.testing.assert_array_equal(pl.inverse_loss(L[perm]), back[perm])
        assert pl.inverse_loss(float(L[5])) == pytest.approx(x[5], rel=1e-11, abs=1e-11)
        eps = np.linspace(pl.loss(-3.0), pl.loss(5.0), 41)
        eps = eps[(eps > pl.lo_loss + 1e-9) & (eps < pl.hi_loss - 1e-9)]
        np.testing.assert_allclose(pl.loss(pl.inverse_loss(eps)), eps, rtol=1e-12, atol=1e-14)
        # limits of L at ∓∞ (component ratios there are below e^{−60})
        far = 60 * max(1.0, pl.sigma ** 2) + 10
        lo, hi = pl.loss(-far), pl.loss(far)
        if np.isfinite(pl.lo_loss):
            assert lo == pytest.approx(pl.lo_loss, rel=1e-12, abs=1e-15)
        else:
            assert lo < -10
        if np.isfinite(pl.hi_loss):
            assert hi == pytest.approx(pl.hi_loss, rel=1e-12, abs=1e-15)
        else:
            assert hi > 10
        assert pl.inverse_loss(pl.lo_loss - 1e-3) == -np.inf if np.isfinite(pl.lo_loss) else True
        assert pl.inverse_loss(np.array([np.nan, 0.0 if pl.lo_loss < 0 < pl.hi_loss else np.nan]))[0] != 0.0


def test_subsampled_gaussian_loss_closed_form():
    s, q = 0.8, 1e-6
    pl = privacy_losses(SubsampledGaussian(s, q))[0]
    for x in (-3.0, 0.0, 0.5, 2.0, 9.0):
        ref = mp.log1p(mp.mpf(q) * mp.expm1((2 * mp.mpf(x) - 1) / (2 * mp.mpf(s) ** 2)))
        assert pl.loss(x) == pytest.approx(float(ref), rel=1e-13)


# ---------------------------------------------------------------------------------------
# Extreme inputs
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("mech", [SubsampledGaussian(1e4, 1e-9), SubsampledGaussian(1e6, 0.01),
                                  SubsampledGaussian(1.0, 1e-12), ELS(1e4, 1e-9, 8),
                                  SubsampledGaussian(0.05, 0.5), Gaussian(1e4)], ids=repr)
def test_extreme_inputs_finite(mech):
    ts = np.array([-0.9, -0.5, 0.05, 1.0, 2.5, 31.0, 255.5, 256.0])
    for pl in privacy_losses(mech):
        k = pl.cgf_many(ts)
        assert np.all(np.isfinite(k)), k
        assert np.all(k[ts > 0] >= 0) and np.all(k[ts < 0] <= 0)
        assert np.all(np.diff(k[ts > 0]) >= 0)
        eps = np.concatenate([[0.0, 1e-12, 1e-6], np.linspace(0.01, 20, 50)])
        d = pl.log_hockey_stick(eps)
        assert not np.any(np.isnan(d))
        # Monotone where δ is representable (below e^{−700} it is 0 in floating point and
        # may come out as −inf or as a huge negative log).
        rep = d > -700
        assert np.all(np.diff(d[rep]) <= 1e-12)
        assert np.all(d <= 0.0)
        assert not np.any(np.isnan(pl.log_sf(eps, "P"))) and not np.any(np.isnan(pl.log_sf(eps, "Q")))
        assert not np.any(np.isnan(pl.inverse_loss(eps)))
    if isinstance(mech, SubsampledGaussian) and mech.noise_multiplier >= 1e4:
        # ε → 0 cleanly: δ(0) is tiny and δ vanishes (−inf in log space or ~0) for ε ≥ 1.
        rm = privacy_losses(mech)[0]
        assert rm.hockey_stick(0.0) < 1e-6
        assert rm.hockey_stick(1.0) < 1e-300


# (kind, σ, q, k, t, K) — K = _mp_cgf(*_pair(kind, σ, q, k), σ, t) at mp.dps = 50, recorded
# once (20 significant digits; see the module docstring). Kinds: subsampled Gaussian
# remove/add, replace-one (fixed-size sampling), ELS remove/add (k = 2, 4, 8) and the
# mixture _SENS/_PROBS remove/add.
_QUAD_REFS = [
    ('sg_remove', 0.3, 1e-06, None, -0.6, '-2.3726354888482479265e-9'),
    ('sg_remove', 0.3, 1e-06, None, 0.05, '6.5288296850899804117e-10'),
    ('sg_remove', 0.3, 1e-06, None, 0.5, '1.2341076125819606259e-8'),
    ('sg_remove', 0.3, 1e-06, None, 2.5, '0.82978327148751389576'),
    ('sg_remove', 0.3, 1e-06, None, 10.5, '511.95496191674423027'),
    ('sg_remove', 0.3, 1e-06, None, 31.7, '5307.0661380879017505'),
    ('sg_remove', 0.3, 1e-06, None, 100.25, '54991.804556006121416'),
    ('sg_remove', 0.3, 1e-06, None, 255.5, '360543.82154188219063'),
    ('sg_add', 0.3, 1e-06, None, -0.6, '-2.5154245842753988073e-9'),
    ('sg_add', 0.3, 1e-06, None, 0.05, '4.6594968393575409254e-10'),
    ('sg_add', 0.3, 1e-06, None, 0.5, '6.1079619381244724089e-9'),
    ('sg_add', 0.3, 1e-06, None, 1.0, '1.5051544412761771456e-8'),
    ('sg_add', 0.3, 1e-06, None, 2.5, '5.5198432466746378347e-8'),
    ('sg_add', 0.3, 1e-06, None, 7.0, '2.5922012645011558155e-7'),
    ('sg_add', 0.3, 1e-06, None, 10.5, '4.8006071041406872186e-7'),
    ('sg_add', 0.3, 1e-06, None, 31.7, '2.5314916854333818375e-6'),
    ('sg_add', 0.3, 1e-06, None, 100.25, '0.000013561982729017824793'),
    ('sg_add', 0.3, 1e-06, None, 255.5, '0.00005042069723930505684'),
    ('sg_add', 0.3, 1e-06, None, 256.0, '0.000050556739188378466246'),
    ('sg_remove', 0.3, 0.001, None, -0.6, '-0.000084823364863246130728'),
    ('sg_remove', 0.3, 0.001, None, 0.05, '0.000037114921903547853048'),
    ('sg_remove', 0.3, 0.001, None, 0.5, '0.0015094162775666237008'),
    ('sg_remove', 0.3, 0.001, None, 2.5, '24.433967637717517393'),
    ('sg_remove', 0.3, 0.001, None, 10.5, '591.39414762503880713'),
    ('sg_remove', 0.3, 0.001, None, 31.7, '5532.9497357106176293'),
    ('sg_remove', 0.3, 0.001, None, 100.25, '55691.214778003062799'),
    ('sg_remove', 0.3, 0.001, None, 255.5, '362315.6607709411088'),
    ('sg_add', 0.3, 0.001, None, -0.6, '-0.000099862951717477857202'),
    ('sg_add', 0.3, 0.001, None, 0.05, '0.000013996838584661330572'),
    ('sg_add', 0.3, 0.001, None, 0.5, '0.00016207464702609886786'),
    ('sg_add', 0.3, 0.001, None, 1.0, '0.00035968610560425851532'),
    ('sg_add', 0.3, 0.001, None, 2.5, '0.0010694135634575055243'),
    ('sg_add', 0.3, 0.001, None, 7.0, '0.0036733578115907490334'),
    ('sg_add', 0.3, 0.001, None, 10.5, '0.0059393205809191672272'),
    ('sg_add', 0.3, 0.001, None, 31.7, '0.02141294289550969523'),
    ('sg_add', 0.3, 0.001, None, 100.25, '0.077878082703446898616'),
    ('sg_add', 0.3, 0.001, None, 255.5, '0.215584209113699135'),
    ('sg_add', 0.3, 0.001, None, 256.0, '0.21603783156131254556'),
    ('sg_remove', 0.3, 0.05, None, -0.6, '-0.011508314372252717689'),
    ('sg_remove', 0.3, 0.05, None, 0.05, '0.0073393896800689355123'),
    ('sg_remove', 0.3, 0.05, None, 0.5, '0.5128353055799933256'),
    ('sg_remove', 0.3, 0.05, None, 2.5, '38.12604815372956955'),
    ('sg_remove', 0.3, 0.05, None, 10.5, '636.3824121874624872'),
    ('sg_remove', 0.3, 0.05, None, 31.7, '5660.8728879881180038'),
    ('sg_remove', 0.3, 0.05, None, 100.25, '56087.307107302662591'),
    ('sg_remove', 0.3, 0.05, None, 255.5, '363319.09467183342827'),
    ('sg_add', 0.3, 0.05, None, -0.6, '-0.014620787997755222112'),
    ('sg_add', 0.3, 0.05, None, 0.05, '0.0016953652099433742777'),
    ('sg_add', 0.3, 0.05, None, 0.5, '0.018269528619699787475'),
    ('sg_add', 0.3, 0.05, None, 1.0, '0.038343907907457077058'),
    ('sg_add', 0.3, 0.05, None, 2.5, '0.10304158545361176658'),
    ('sg_add', 0.3, 0.05, None, 7.0, '0.31052745886971302124'),
    ('sg_add', 0.3, 0.05, None, 10.5, '0.47710945297649792524'),
    ('sg_add', 0.3, 0.05, None, 31.7, '1.5147417200110282923'),
    ('sg_add', 0.3, 0.05, None, 100.25, '4.9493976656609446603'),
    ('sg_add', 0.3, 0.05, None, 255.5, '12.817380159574261946'),
    ('sg_add', 0.3, 0.05, None, 256.0, '12.842796068833956875'),
    ('sg_remove', 0.3, 0.5, None, -0.6, '-0.20414206247360507481'),
    ('sg_remove', 0.3, 0.5, None, 0.05, '0.12708625759144744096'),
    ('sg_remove', 0.3, 0.5, None, 0.5, '3.1453715446024954887'),
    ('sg_remove', 0.3, 0.5, None, 2.5, '46.185095979154328391'),
    ('sg_remove', 0.3, 0.5, None, 10.5, '662.86214075689401193'),
    ('sg_remove', 0.3, 0.5, None, 31.7, '5736.1674205290232942'),
    ('sg_remove', 0.3, 0.5, None, 100.25, '56320.443847968309711'),
    ('sg_remove', 0.3, 0.5, None, 255.5, '363909.70774818640098'),
    ('sg_add', 0.3, 0.5, None, -0.6, '-0.26573981559575123852'),
    ('sg_add', 0.3, 0.5, None, 0.05, '0.02878191854190265335'),
    ('sg_add', 0.3, 0.5, None, 0.5, '0.30146184910683895027'),
    ('sg_add', 0.3, 0.5, None, 1.0, '0.61934061574839842977'),
    ('sg_add', 0.3, 0.5, None, 2.5, '1.6050725881562303789'),
    ('sg_add', 0.3, 0.5, None, 7.0, '4.6383765161372993876'),
    ('sg_add', 0.3, 0.5, None, 10.5, '7.0219406011740223033'),
    ('sg_add', 0.3, 0.5, None, 31.7, '21.571381566679356589'),
    ('sg_add', 0.3, 0.5, None, 100.25, '68.881383173951914299'),
    ('sg_add', 0.3, 0.5, None, 255.5, '176.27871897362263314'),
    ('sg_add', 0.3, 0.5, None, 256.0, '176.62479809360899859'),
    ('replace', 0.3, 1e-06, None, -0.6, '-4.8882976458744000424e-9'),
    ('replace', 0.3, 1e-06, None, 0.05, '1.1188846947791121999e-9'),
    ('replace', 0.3, 1e-06, None, 1.0, '8.1963073035947098704e-8'),
    ('replace', 0.3, 1e-06, None, 2.5, '0.82978470520763754778'),
    ('replace', 0.3, 1e-06, None, 31.7, '5307.0661697879176005'),
    ('replace', 0.3, 1e-06, None, 256.0, '361960.52515371444771'),
    ('replace', 0.3, 0.001, None, -0.6, '-0.00018484407492258839739'),
    ('replace', 0.3, 0.001, None, 0.05, '0.000051150924803033962652'),
    ('replace', 0.3, 0.001, None, 1.0, '0.065167233636902647513'),
    ('replace', 0.3, 0.001, None, 2.5, '24.436468888551441351'),
    ('replace', 0.3, 0.001, None, 31.7, '5532.9814515711922274'),
    ('replace', 0.3, 0.001, None, 256.0, '363736.07413249812633'),
    ('replace', 0.3, 0.05, None, -0.6, '-0.026272827536617928283'),
    ('replace', 0.3, 0.05, None, 0.05, '0.0090863776782878520372'),
    ('replace', 0.3, 0.05, None, 1.0, '5.1768163326731167178'),
    ('replace', 0.3, 0.05, None, 2.5, '38.254281389698445889'),
    ('replace', 0.3, 0.05, None, 31.7, '5662.4988854202033558'),
    ('replace', 0.3, 0.05, None, 256.0, '364754.33900017097543'),
    ('replace', 0.3, 0.5, None, -0.6, '-0.47975795603932954077'),
    ('replace', 0.3, 0.5, None, 0.05, '0.1592485154197216751'),
    ('replace', 0.3, 0.5, None, 1.0, '10.418007701629796205'),
    ('replace', 0.3, 0.5, None, 2.5, '47.917963930554191632'),
    ('replace', 0.3, 0.5, None, 31.7, '5758.14018615277356'),
    ('replace', 0.3, 0.5, None, 256.0, '365510.41796393057822'),
    ('replace', 0.3, 1.0, None, -0.6, '-5.3333333333333338268'),
    ('replace', 0.3, 1.0, None, 0.05, '1.1666666666666668209'),
    ('replace', 0.3, 1.0, None, 1.0, '44.444444444444447734'),
    ('replace', 0.3, 1.0, None, 2.5, '194.44444444444445884'),
    ('replace', 0.3, 1.0, None, 31.7, '23035.333333333334021'),
    ('replace', 0.3, 1.0, None, 256.0, '1462044.4444444445527'),
    ('sg_remove', 0.8, 1e-06, None, -0.6, '-4.5248182108151184944e-13'),
    ('sg_remove', 0.8, 1e-06, None, 0.05, '9.8980945835132252703e-14'),
    ('sg_remove', 0.8, 1e-06, None, 0.5, '1.4140189266793276627e-12'),
    ('sg_remove', 0.8, 1e-06, None, 2.5, '1.6497168262931053559e-11'),
    ('sg_remove', 0.8, 1e-06, None, 10.5, '2.2767642592818501503e-10'),
    ('sg_remove', 0.8, 1e-06, None, 31.7, '358.06874225456812955'),
    ('sg_remove', 0.8, 1e-06, None, 100.25, '6531.111196631116362'),
    ('sg_remove', 0.8, 1e-06, None, 255.5, '47656.126229382157996'),
    ('sg_add', 0.8, 1e-06, None, -0.6, '-4.5248259114400256023e-13'),
    ('sg_add', 0.8, 1e-06, None, 0.05, '9.898001935369726941e-14'),
    ('sg_add', 0.8, 1e-06, None, 0.5, '1.4139948622264185005e-12'),
    ('sg_add', 0.8, 1e-06, None, 1.0, '3.7706369241484797215e-12'),
    ('sg_add', 0.8, 1e-06, None, 2.5, '1.6496326007058176234e-11'),
    ('sg_add', 0.8, 1e-06, None, 7.0, '1.0557244486506994515e-10'),
    ('sg_add', 0.8, 1e-06, None, 10.5, '2.2763380776609978222e-10'),
    ('sg_add', 0.8, 1e-06, None, 31.7, '1.9537922287405276104e-9'),
    ('sg_add', 0.8, 1e-06, None, 100.25, '1.9120457693500248078e-8'),
    ('sg_add', 0.8, 1e-06, None, 255.5, '1.2329015792900421199e-7'),
    ('sg_add', 0.8, 1e-06, None, 256.0, '1.237717121798261043e-7'),
    ('sg_remove', 0.8, 0.001, None, -0.6, '-4.4670434192672832031e-7'),
    ('sg_remove', 0.8, 0.001, None, 0.05, '9.8219502261833326766e-8'),
    ('sg_remove', 0.8, 0.001, None, 0.5, '1.4082322841663232398e-6'),
    ('sg_remove', 0.8, 0.001, None, 2.5, '0.000016710395128590696485'),
    ('sg_remove', 0.8, 0.001, None, 10.5, '14.897614613593091119'),
    ('sg_remove', 0.8, 0.001, None, 31.7, '583.95233987728399834'),
    ('sg_remove', 0.8, 0.001, None, 100.25, '7230.5214186280577452'),
    ('sg_remove', 0.8, 0.001, None, 255.5, '49427.965458441076167'),
    ('sg_add', 0.8, 0.001, None, -0.6, '-4.4740492002488520279e-7'),
    ('sg_add', 0.8, 0.001, None, 0.05, '9.7376391955459216786e-8'),
    ('sg_add', 0.8, 0.001, None, 0.5, '1.3863191472829436478e-6'),
    ('sg_add', 0.8, 0.001, None, 1.0, '3.6829706472937481539e-6'),
    ('sg_add', 0.8, 0.001, None, 2.5, '0.000015937382412053043736'),
    ('sg_add', 0.8, 0.001, None, 7.0, '0.000098938881809758541067'),
    ('sg_add', 0.8, 0.001, None, 10.5, '0.00020875168124285595003'),
    ('sg_add', 0.8, 0.001, None, 31.7, '0.0016069221469195183452'),
    ('sg_add', 0.8, 0.001, None, 100.25, '0.01242141221869354936'),
    ('sg_add', 0.8, 0.001, None, 255.5, '0.058139182771128047992'),
    ('sg_add', 0.8, 0.001, None, 256.0, '0.058319329155681419513'),
    ('sg_remove', 0.8, 0.05, None, -0.6, '-0.0008258892293053582679'),
    ('sg_remove', 0.8, 0.05, None, 0.05, '0.00020102970285002978304'),
    ('sg_remove', 0.8, 0.05, None, 0.5, '0.0031339538067949422172'),
    ('sg_remove', 0.8, 0.05, None, 2.5, '0.076281624848313725074'),
    ('sg_remove', 0.8, 0.05, None, 10.5, '59.885032734341726849'),
    ('sg_remove', 0.8, 0.05, None, 31.7, '711.8754921547843728'),
    ('sg_remove', 0.8, 0.05, None, 100.25, '7626.6137479276575371'),
    ('sg_remove', 0.8, 0.05, None, 255.5, '50431.39935933339564'),
    ('sg_add', 0.8, 0.05, None, -0.6, '-0.0008517786412046270396'),
    ('sg_add', 0.8, 0.05, None, 0.05, '0.00016943598361730290651'),
    ('sg_add', 0.8, 0.05, None, 0.5, '0.0022839619541483287081'),
    ('sg_add', 0.8, 0.05, None, 1.0, '0.0057430293010008246431'),
    ('sg_add', 0.8, 0.05, None, 2.5, '0.02163488854956463634'),
    ('sg_add', 0.8, 0.05, None, 7.0, '0.10093077310584316684'),
    ('sg_add', 0.8, 0.05, None, 10.5, '0.18256435617860968481'),
    ('sg_add', 0.8, 0.05, None, 31.7, '0.84078889185699191519'),
    ('sg_add', 0.8, 0.05, None, 100.25, '3.5684191186423635249'),
    ('sg_add', 0.8, 0.05, None, 255.5, '10.561919610171090773'),
    ('sg_add', 0.8, 0.05, None, 256.0, '10.585192260767275183'),
    ('sg_remove', 0.8, 0.5, None, -0.6, '-0.044395432104238780311'),
    ('sg_remove', 0.8, 0.5, None, 0.05, '0.012102792170479027247'),
    ('sg_remove', 0.8, 0.5, None, 0.5, '0.20491943022682861218'),
    ('sg_remove', 0.8, 0.5, None, 2.5, '4.4879659344991462675'),
    ('sg_remove', 0.8, 0.5, None, 10.5, '86.364745785654623144'),
    ('sg_remove', 0.8, 0.5, None, 31.7, '787.17002469568966322'),
    ('sg_remove', 0.8, 0.5, None, 100.25, '7859.750488593304657'),
    ('sg_remove', 0.8, 0.5, None, 255.5, '51022.012435686368344'),
    ('sg_add', 0.8, 0.5, None, -0.6, '-0.047337045601330082486'),
    ('sg_add', 0.8, 0.5, None, 0.05, '0.0085018815106448868247'),
    ('sg_add', 0.8, 0.5, None, 0.5, '0.10785637852715559575'),
    ('sg_add', 0.8, 0.5, None, 1.0, '0.25569209517804203961'),
    ('sg_add', 0.8, 0.5, None, 2.5, '0.84041223338517920518'),
    ('sg_add', 0.8, 0.5, None, 7.0, '3.1206569184400834129'),
    ('sg_add', 0.8, 0.5, None, 10.5, '5.1111399878293377373'),
    ('sg_add', 0.8, 0.5, None, 31.7, '18.291557426689135993'),
    ('sg_add', 0.8, 0.5, None, 100.25, '63.675608973601457848'),
    ('sg_add', 0.8, 0.5, None, 255.5, '169.10272955025912969'),
    ('sg_add', 0.8, 0.5, None, 256.0, '169.44429527414433285'),
    ('replace', 0.8, 1e-06, None, -0.6, '-1.0946573216740549148e-12'),
    ('replace', 0.8, 1e-06, None, 0.05, '2.3945628913111060629e-13'),
    ('replace', 0.8, 1e-06, None, 1.0, '9.1221443516339194051e-12'),
    ('replace', 0.8, 1e-06, None, 2.5, '3.9909381595748747498e-11'),
    ('replace', 0.8, 1e-06, None, 31.7, '358.06877395458397956'),
    ('replace', 0.8, 1e-06, None, 256.0, '47849.414042603303837'),
    ('replace', 0.8, 0.001, None, -0.6, '-1.0834506854087062038e-6'),
    ('replace', 0.8, 0.001, None, 0.05, '2.3701469607154044669e-7'),
    ('replace', 0.8, 0.001, None, 1.0, '9.0316487572481491008e-6'),
    ('replace', 0.8, 0.001, None, 2.5, '0.000039552740479922496828'),
    ('replace', 0.8, 0.001, None, 31.7, '583.98405573785859635'),
    ('replace', 0.8, 0.001, None, 256.0, '49624.963021386982461'),
    ('replace', 0.8, 0.05, None, -0.6, '-0.0021231750133538129049'),
    ('replace', 0.8, 0.05, None, 0.05, '0.00046838199893984389946'),
    ('replace', 0.8, 0.05, None, 1.0, '0.018988312975393928828'),
    ('replace', 0.8, 0.05, None, 2.5, '0.11870882449738720763'),
    ('replace', 0.8, 0.05, None, 31.7, '713.50148958686972477'),
    ('replace', 0.8, 0.05, None, 256.0, '50643.22788905983156'),
    ('replace', 0.8, 0.5, None, -0.6, '-0.13603310448139488215'),
    ('replace', 0.8, 0.5, None, 0.05, '0.030194978966957484973'),
    ('replace', 0.8, 0.5, None, 1.0, '1.2476765815547066204'),
    ('replace', 0.8, 0.5, None, 2.5, '6.2061326303697470978'),
    ('replace', 0.8, 0.5, None, 31.7, '809.14279031943992903'),
    ('replace', 0.8, 0.5, None, 256.0, '51399.306852819434348'),
    ('replace', 0.8, 1.0, None, -0.6, '-0.74999999999999993061'),
    ('replace', 0.8, 1.0, None, 0.05, '0.16406249999999999133'),
    ('replace', 0.8, 1.0, None, 1.0, '6.2499999999999993061'),
    ('replace', 0.8, 1.0, None, 2.5, '27.343749999999996964'),
    ('replace', 0.8, 1.0, None, 31.7, '3239.3437499999994974'),
    ('replace', 0.8, 1.0, None, 256.0, '205599.99999999997717'),
    ('sg_remove', 2.0, 1e-06, None, -0.6, '-3.408303304743835944e-14'),
    ('sg_remove', 2.0, 1e-06, None, 0.05, '7.4556649858772854155e-15'),
    ('sg_remove', 2.0, 1e-06, None, 0.5, '1.0650951470017878979e-13'),
    ('sg_remove', 2.0, 1e-06, None, 2.5, '1.24261177752903245e-12'),
    ('sg_remove', 2.0, 1e-06, None, 10.5, '1.7148085182779620527e-11'),
    ('sg_remove', 2.0, 1e-06, None, 31.7, '1.4721035848493155782e-10'),
    ('sg_remove', 2.0, 1e-06, None, 100.25, '1.4415178521012332843e-9'),
    ('sg_remove', 2.0, 1e-06, None, 255.5, '4648.2902918821636807'),
    ('sg_add', 2.0, 1e-06, None, -0.6, '-3.4083035166822749119e-14'),
    ('sg_add', 2.0, 1e-06, None, 0.05, '7.4556624359929415832e-15'),
    ('sg_add', 2.0, 1e-06, None, 0.5, '1.0650944846941661232e-13'),
    ('sg_add', 2.0, 1e-06, None, 1.0, '2.8402515176465241317e-13'),
    ('sg_add', 2.0, 1e-06, None, 2.5, '1.2426094594523562337e-12'),
    ('sg_add', 2.0, 1e-06, None, 7.0, '7.9526894137794937899e-12'),
    ('sg_add', 2.0, 1e-06, None, 10.5, '1.7147967888099800633e-11'),
    ('sg_add', 2.0, 1e-06, None, 31.7, '1.4720741093360591168e-10'),
    ('sg_add', 2.0, 1e-06, None, 100.25, '1.4414275447803043666e-9'),
    ('sg_add', 2.0, 1e-06, None, 255.5, '9.3061643197903916466e-9'),
    ('sg_add', 2.0, 1e-06, None, 256.0, '9.3425507110221751179e-9'),
    ('sg_remove', 2.0, 0.001, None, -0.6, '-3.4066125261109979018e-8'),
    ('sg_remove', 2.0, 0.001, None, 0.05, '7.4534678853907286674e-9'),
    ('sg_remove', 2.0, 0.001, None, 0.5, '1.0649298465193043585e-7'),
    ('sg_remove', 2.0, 0.001, None, 2.5, '1.2431901422143299947e-6'),
    ('sg_remove', 2.0, 0.001, None, 10.5, '0.000017198829672112352699'),
    ('sg_remove', 2.0, 0.001, None, 31.7, '0.00014863178667157153572'),
    ('sg_remove', 2.0, 0.001, None, 100.25, '569.37884182269763521'),
    ('sg_remove', 2.0, 0.001, None, 255.5, '6420.1295209410818515'),
    ('sg_add', 2.0, 0.001, None, -0.6, '-3.4068238923474735669e-8'),
    ('sg_add', 2.0, 0.001, None, 0.05, '7.4509248851699682455e-9'),
    ('sg_add', 2.0, 0.001, None, 0.5, '1.0642693268649001958e-7'),
    ('sg_add', 2.0, 0.001, None, 1.0, '2.8376116840722440999e-7'),
    ('sg_add', 2.0, 0.001, None, 2.5, '1.240878318745412631e-6'),
    ('sg_add', 2.0, 0.001, None, 7.0, '7.9305764063691611651e-6'),
    ('sg_add', 2.0, 0.001, None, 10.5, '0.000017081848090124431338'),
    ('sg_add', 2.0, 0.001, None, 31.7, '0.00014569142187653308346'),
    ('sg_add', 2.0, 0.001, None, 100.25, '0.0013976923776325990726'),
    ('sg_add', 2.0, 0.001, None, 255.5, '0.008637951729916473617'),
    ('sg_add', 2.0, 0.001, None, 256.0, '0.0086705516120604656429'),
    ('sg_remove', 2.0, 0.05, None, -0.6, '-0.000083261212202885518987'),
    ('sg_remove', 2.0, 0.05, None, 0.05, '0.000018380514894905519853'),
    ('sg_remove', 2.0, 0.05, None, 0.5, '0.00026426742657006422748'),
    ('sg_remove', 2.0, 0.05, None, 2.5, '0.003175131661089621946'),
    ('sg_remove', 2.0, 0.05, None, 10.5, '0.050251533566567484527'),
    ('sg_remove', 2.0, 0.05, None, 31.7, '31.844534675114724134'),
    ('sg_remove', 2.0, 0.05, None, 100.25, '965.47116982775665255'),
    ('sg_remove', 2.0, 0.05, None, 255.5, '7423.5634218334013244'),
    ('sg_add', 2.0, 0.05, None, -0.6, '-0.000083494251672460453758'),
    ('sg_add', 2.0, 0.05, None, 0.05, '0.000018100102966273705924'),
    ('sg_add', 2.0, 0.05, None, 0.5, '0.00025698174878520808313'),
    ('sg_add', 2.0, 0.05, None, 1.0, '0.00068065269438011993867'),
    ('sg_add', 2.0, 0.05, None, 2.5, '0.0029192233230529937687'),
    ('sg_add', 2.0, 0.05, None, 7.0, '0.017666398149847387172'),
    ('sg_add', 2.0, 0.05, None, 10.5, '0.03659154292372761439'),
    ('sg_add', 2.0, 0.05, None, 31.7, '0.25691572858626855259'),
    ('sg_add', 2.0, 0.05, None, 100.25, '1.6625438265767387214'),
    ('sg_add', 2.0, 0.05, None, 255.5, '6.4296022399347950093'),
    ('sg_add', 2.0, 0.05, None, 256.0, '6.4468319295730864613'),
    ('sg_remove', 2.0, 0.5, None, -0.6, '-0.0074486994038834666583'),
    ('sg_remove', 2.0, 0.5, None, 0.05, '0.0016951427606564146472'),
    ('sg_remove', 2.0, 0.5, None, 0.5, '0.024909688816046591382'),
    ('sg_remove', 2.0, 0.5, None, 2.5, '0.33223885101590229981'),
    ('sg_remove', 2.0, 0.5, None, 10.5, '8.0243665762362709307'),
    ('sg_remove', 2.0, 0.5, None, 31.7, '106.91967834648428532'),
    ('sg_remove', 2.0, 0.5, None, 100.25, '1198.6079104696264972'),
    ('sg_remove', 2.0, 0.5, None, 255.5, '8014.1764981863740281'),
    ('sg_add', 2.0, 0.5, None, -0.6, '-0.0075387563214611354526'),
    ('sg_add', 2.0, 0.5, None, 0.05, '0.0015867076572021995265'),
    ('sg_add', 2.0, 0.5, None, 0.5, '0.022087919080978698255'),
    ('sg_add', 2.0, 0.5, None, 1.0, '0.057274050719860772299'),
    ('sg_add', 2.0, 0.5, None, 2.5, '0.23141614551789097413'),
    ('sg_add', 2.0, 0.5, None, 7.0, '1.2071119682475271901'),
    ('sg_add', 2.0, 0.5, None, 10.5, '2.2809028859561420801'),
    ('sg_add', 2.0, 0.5, None, 31.7, '11.428708292989400768'),
    ('sg_add', 2.0, 0.5, None, 100.25, '49.905760788844244067'),
    ('sg_add', 2.0, 0.5, None, 255.5, '147.50263543238412911'),
    ('sg_add', 2.0, 0.5, None, 256.0, '147.82565378329494347'),
    ('replace', 2.0, 1e-06, None, -0.6, '-1.2125387273799974823e-13'),
    ('replace', 2.0, 1e-06, None, 0.05, '2.6524284661438431036e-14'),
    ('replace', 2.0, 1e-06, None, 1.0, '1.0104489394836185954e-12'),
    ('replace', 2.0, 1e-06, None, 2.5, '4.4207141102446200404e-12'),
    ('replace', 2.0, 1e-06, None, 31.7, '5.2371063315845630948e-10'),
    ('replace', 2.0, 1e-06, None, 256.0, '4673.4140426033095437'),
    ('replace', 2.0, 0.001, None, -0.6, '-1.212146568646940395e-7'),
    ('replace', 2.0, 0.001, None, 0.05, '2.6515707168130373098e-8'),
    ('replace', 2.0, 0.001, None, 1.0, '1.0101224261444731096e-6'),
    ('replace', 2.0, 0.001, None, 2.5, '4.4192893797003027623e-6'),
    ('replace', 2.0, 0.001, None, 31.7, '0.00052360980030781632628'),
    ('replace', 2.0, 0.001, None, 256.0, '6448.9630213869881676'),
    ('replace', 2.0, 0.05, None, -0.6, '-0.00029865012875164711186'),
    ('replace', 2.0, 0.05, None, 0.05, '0.000065334300795345765998'),
    ('replace', 2.0, 0.05, None, 1.0, '0.0024900903518770378047'),
    ('replace', 2.0, 0.05, None, 2.5, '0.010911901337385345943'),
    ('replace', 2.0, 0.05, None, 31.7, '33.470029111139466879'),
    ('replace', 2.0, 0.05, None, 256.0, '7467.2278890598372663'),
    ('replace', 2.0, 0.5, None, -0.6, '-0.028236594814926254985'),
    ('replace', 2.0, 0.5, None, 0.05, '0.0061774962721758067056'),
    ('replace', 2.0, 0.5, None, 1.0, '0.23551916333957541677'),
    ('replace', 2.0, 0.5, None, 2.5, '1.0331010273149174223'),
    ('replace', 2.0, 0.5, None, 31.7, '128.88349994331274343'),
    ('replace', 2.0, 0.5, None, 256.0, '8223.3068528194400547'),
    ('replace', 2.0, 1.0, None, -0.6, '-0.12000000000000000222'),
    ('replace', 2.0, 1.0, None, 0.05, '0.026250000000000001527'),
    ('replace', 2.0, 1.0, None, 1.0, '1.0'),
    ('replace', 2.0, 1.0, None, 2.5, '4.375'),
    ('replace', 2.0, 1.0, None, 31.7, '518.29499999999997712'),
    ('replace', 2.0, 1.0, None, 256.0, '32896.0'),
    ('sg_remove', 7.0, 1e-06, None, -0.6, '-2.4741399654093001749e-15'),
    ('sg_remove', 7.0, 1e-06, None, 0.05, '5.4121812473630937075e-16'),
    ('sg_remove', 7.0, 1e-06, None, 0.5, '7.7316875684607119201e-15'),
    ('sg_remove', 7.0, 1e-06, None, 2.5, '9.0203025377183001974e-14'),
    ('sg_remove', 7.0, 1e-06, None, 10.5, '1.2448019569369862032e-12'),
    ('sg_remove', 7.0, 1e-06, None, 31.7, '1.0686126943491907869e-11'),
    ('sg_remove', 7.0, 1e-06, None, 100.25, '1.0463894331206930658e-10'),
    ('sg_remove', 7.0, 1e-06, None, 255.5, '6.7560616786572357097e-10'),
    ('sg_add', 7.0, 1e-06, None, -0.6, '-2.4741399756816867694e-15'),
    ('sg_add', 7.0, 1e-06, None, 0.05, '5.412181123773442492e-16'),
    ('sg_add', 7.0, 1e-06, None, 0.5, '7.7316872474486308409e-15'),
    ('sg_add', 7.0, 1e-06, None, 1.0, '2.0617832445854976415e-14'),
    ('sg_add', 7.0, 1e-06, None, 2.5, '9.0203014141760164202e-14'),
    ('sg_add', 7.0, 1e-06, None, 7.0, '5.7729923657725119151e-13'),
    ('sg_add', 7.0, 1e-06, None, 10.5, '1.2448013884245906119e-12'),
    ('sg_add', 7.0, 1e-06, None, 31.7, '1.0686112657085504317e-11'),
    ('sg_add', 7.0, 1e-06, None, 100.25, '1.0463850560397113275e-10'),
    ('sg_add', 7.0, 1e-06, None, 255.5, '6.7559898697441900564e-10'),
    ('sg_add', 7.0, 1e-06, None, 256.0, '6.7824062576006668869e-10'),
    ('sg_remove', 7.0, 0.001, None, -0.6, '-2.4740579304559875671e-9'),
    ('sg_remove', 7.0, 0.001, None, 0.05, '5.4120746734658077129e-10'),
    ('sg_remove', 7.0, 0.001, None, 0.5, '7.7316073989529101387e-9'),
    ('sg_remove', 7.0, 0.001, None, 2.5, '9.0205827746389035678e-8'),
    ('sg_remove', 7.0, 0.001, None, 10.5, '1.2450470070051312759e-6'),
    ('sg_remove', 7.0, 0.001, None, 31.7, '0.000010692929334259302502'),
    ('sg_remove', 7.0, 0.001, None, 100.25, '0.00010485469859093105861'),
    ('sg_remove', 7.0, 0.001, None, 255.5, '0.0006791937980238927959'),
    ('sg_add', 7.0, 0.001, None, -0.6, '-2.4740681915099926393e-9'),
    ('sg_add', 7.0, 0.001, None, 0.05, '5.4119512201597763369e-10'),
    ('sg_add', 7.0, 0.001, None, 0.5, '7.7312867410149628311e-9'),
    ('sg_add', 7.0, 0.001, None, 1.0, '2.0616550885602737244e-8'),
    ('sg_add', 7.0, 0.001, None, 2.5, '9.019460471847919864e-8'),
    ('sg_add', 7.0, 0.001, None, 7.0, '5.7719161538353488542e-7'),
    ('sg_add', 7.0, 0.001, None, 10.5, '1.2444791217350304997e-6'),
    ('sg_add', 7.0, 0.001, None, 31.7, '0.000010678658675287147585'),
    ('sg_add', 7.0, 0.001, None, 100.25, '0.0001044174693386767296'),
    ('sg_add', 7.0, 0.001, None, 255.5, '0.0006720204010412701797'),
    ('sg_add', 7.0, 0.001, None, 256.0, '0.00067464112100470810212'),
    ('sg_remove', 7.0, 0.05, None, -0.6, '-6.1754629068046239455e-6'),
    ('sg_remove', 7.0, 0.05, None, 0.05, '1.3517459267084657483e-6'),
    ('sg_remove', 7.0, 0.05, None, 0.5, '0.000019319207583161020052'),
    ('sg_remove', 7.0, 0.05, None, 2.5, '0.00022583558232445509223'),
    ('sg_remove', 7.0, 0.05, None, 10.5, '0.0031414098440103199971'),
    ('sg_remove', 7.0, 0.05, None, 31.7, '0.027556331836473386283'),
    ('sg_remove', 7.0, 0.05, None, 100.25, '0.29106668392983642695'),
    ('sg_remove', 7.0, 0.05, None, 255.5, '2.3510562893131445962'),
    ('sg_add', 7.0, 0.05, None, -0.6, '-6.176676672422833236e-6'),
    ('sg_add', 7.0, 0.05, None, 0.05, '1.350285614109835154e-6'),
    ('sg_add', 7.0, 0.05, None, 0.5, '0.000019281277333814019953'),
    ('sg_add', 7.0, 0.05, None, 1.0, '0.000051391534578312610313'),
    ('sg_add', 7.0, 0.05, None, 2.5, '0.00022450800273025529342'),
    ('sg_add', 7.0, 0.05, None, 7.0, '0.0014305646947697666207'),
    ('sg_add', 7.0, 0.05, None, 10.5, '0.00307421952901391587'),
    ('sg_add', 7.0, 0.05, None, 31.7, '0.025864827843839834452'),
    ('sg_add', 7.0, 0.05, None, 100.25, '0.23828394910999838275'),
    ('sg_add', 7.0, 0.05, None, 255.5, '1.3646594704910796743'),
    ('sg_add', 7.0, 0.05, None, 256.0, '1.3695118286596328829'),
    ('sg_remove', 7.0, 0.5, None, -0.6, '-0.00061192979906198061994'),
    ('sg_remove', 7.0, 0.5, None, 0.05, '0.00013430330277308352993'),
    ('sg_remove', 7.0, 0.5, None, 0.5, '0.0019230310033544571931'),
    ('sg_remove', 7.0, 0.5, None, 2.5, '0.022667025152429609423'),
    ('sg_remove', 7.0, 0.5, None, 10.5, '0.3262686661640904929'),
    ('sg_remove', 7.0, 0.5, None, 31.7, '3.1578216336351510869'),
    ('sg_remove', 7.0, 0.5, None, 100.25, '47.47182778102901183'),
    ('sg_remove', 7.0, 0.5, None, 255.5, '492.35138958212943477'),
    ('sg_add', 7.0, 0.5, None, -0.6, '-0.00061255242401420859266'),
    ('sg_add', 7.0, 0.5, None, 0.05, '0.00013355420245727656846'),
    ('sg_add', 7.0, 0.5, None, 0.5, '0.0019035735630395659901'),
    ('sg_add', 7.0, 0.5, None, 1.0, '0.0050633878498130396539'),
    ('sg_add', 7.0, 0.5, None, 2.5, '0.021985898644297791023'),
    ('sg_add', 7.0, 0.5, None, 7.0, '0.13760889684708176912'),
    ('sg_add', 7.0, 0.5, None, 10.5, '0.29172161591012883755'),
    ('sg_add', 7.0, 0.5, None, 31.7, '2.2731980184509277162'),
    ('sg_add', 7.0, 0.5, None, 100.25, '17.225864472111383493'),
    ('sg_add', 7.0, 0.5, None, 255.5, '74.824845582688320315'),
    ('sg_add', 7.0, 0.5, None, 256.0, '75.04056595762368647'),
    ('replace', 7.0, 1e-06, None, -0.6, '-9.7965981662211320158e-15'),
    ('replace', 7.0, 1e-06, None, 0.05, '2.1430058488608730724e-15'),
    ('replace', 7.0, 1e-06, None, 1.0, '8.1638318051842870027e-14'),
    ('replace', 7.0, 1e-06, None, 2.5, '3.5716764147681393721e-13'),
    ('replace', 7.0, 1e-06, None, 31.7, '4.2312732054704971543e-11'),
    ('replace', 7.0, 1e-06, None, 256.0, '2.6855741107346195653e-9'),
    ('replace', 7.0, 0.001, None, -0.6, '-9.7963945182234375571e-9'),
    ('replace', 7.0, 0.001, None, 0.05, '2.1429613012192589137e-9'),
    ('replace', 7.0, 0.001, None, 1.0, '8.1636621089603011988e-8'),
    ('replace', 7.0, 0.001, None, 2.5, '3.5716021864348190272e-7'),
    ('replace', 7.0, 0.001, None, 31.7, '0.000042311877521328993102'),
    ('replace', 7.0, 0.001, None, 256.0, '0.0026856191725128788212'),
    ('replace', 7.0, 0.05, None, -0.6, '-0.000024467323434435212129'),
    ('replace', 7.0, 0.05, None, 0.05, '5.3522289041681364044e-6'),
    ('replace', 7.0, 0.05, None, 1.0, '0.0002038949171004958169'),
    ('replace', 7.0, 0.05, None, 2.5, '0.00089204758133318167881'),
    ('replace', 7.0, 0.05, None, 31.7, '0.10581100468882178593'),
    ('replace', 7.0, 0.05, None, 256.0, '7.382013400647347858'),
    ('replace', 7.0, 0.5, None, -0.6, '-0.0024365482839188685888'),
    ('replace', 7.0, 0.5, None, 0.05, '0.00053299497789300498788'),
    ('replace', 7.0, 0.5, None, 1.0, '0.020304580930369010758'),
    ('replace', 7.0, 0.5, None, 2.5, '0.088832698361836003399'),
    ('replace', 7.0, 0.5, None, 31.7, '10.526484156266004679'),
    ('replace', 7.0, 0.5, None, 256.0, '670.68685950140422314'),
    ('replace', 7.0, 1.0, None, -0.6, '-0.0097959183673469389568'),
    ('replace', 7.0, 1.0, None, 0.05, '0.0021428571428571429818'),
    ('replace', 7.0, 1.0, None, 1.0, '0.081632653061224489796'),
    ('replace', 7.0, 1.0, None, 2.5, '0.35714285714285714286'),
    ('replace', 7.0, 1.0, None, 31.7, '42.309795918367345071'),
    ('replace', 7.0, 1.0, None, 256.0, '2685.3877551020408163'),
    ('sg_remove', 50.0, 1e-06, None, -0.6, '-4.8009601249391638629e-17'),
    ('sg_remove', 50.0, 1e-06, None, 0.05, '1.0502100276035875104e-17'),
    ('sg_remove', 50.0, 1e-06, None, 0.5, '1.5003000397038401325e-16'),
    ('sg_remove', 50.0, 1e-06, None, 2.5, '1.75035004772189233e-15'),
    ('sg_remove', 50.0, 1e-06, None, 10.5, '2.4154830735883266655e-14'),
    ('sg_remove', 50.0, 1e-06, None, 31.7, '2.0735947167625359239e-13'),
    ('sg_remove', 50.0, 1e-06, None, 100.25, '2.0304686472768153576e-12'),
    ('sg_remove', 50.0, 1e-06, None, 255.5, '1.3109773114577529321e-11'),
    ('sg_add', 50.0, 1e-06, None, -0.6, '-4.8009601253233683445e-17'),
    ('sg_add', 50.0, 1e-06, None, 0.05, '1.0502100271413414934e-17'),
    ('sg_add', 50.0, 1e-06, None, 0.5, '1.5003000385032011275e-16'),
    ('sg_add', 50.0, 1e-06, None, 1.0, '4.0008001018747770043e-16'),
    ('sg_add', 50.0, 1e-06, None, 2.5, '1.7503500435196558125e-15'),
    ('sg_add', 50.0, 1e-06, None, 7.0, '1.1202240258355062029e-14'),
    ('sg_add', 50.0, 1e-06, None, 10.5, '2.4154830523250098868e-14'),
    ('sg_add', 50.0, 1e-06, None, 31.7, '2.0735946633289806763e-13'),
    ('sg_add', 50.0, 1e-06, None, 100.25, '2.0304684835666479072e-12'),
    ('sg_add', 50.0, 1e-06, None, 255.5, '1.3109770428803784766e-11'),
    ('sg_add', 50.0, 1e-06, None, 256.0, '1.3161030672255947196e-11'),
    ('sg_remove', 50.0, 0.001, None, -0.6, '-4.8009570564909717847e-11'),
    ('sg_remove', 50.0, 0.001, None, 0.05, '1.0502096289794216784e-11'),
    ('sg_remove', 50.0, 0.001, None, 0.5, '1.5002997398441884234e-10'),
    ('sg_remove', 50.0, 0.001, None, 2.5, '1.7503510958312340769e-9'),
    ('sg_remove', 50.0, 0.001, None, 10.5, '2.4154922366801053332e-8'),
    ('sg_remove', 50.0, 0.001, None, 31.7, '2.0736201380421791818e-7'),
    ('sg_remove', 50.0, 0.001, None, 100.25, '2.0305491263047999721e-6'),
    ('sg_remove', 50.0, 0.001, None, 255.5, '0.000013111105642022217025'),
    ('sg_add', 50.0, 0.001, None, -0.6, '-4.8009574403108661112e-11'),
    ('sg_add', 50.0, 0.001, None, 0.05, '1.0502091671961113169e-11'),
    ('sg_add', 50.0, 0.001, None, 0.5, '1.5002985404070186529e-10'),
    ('sg_add', 50.0, 0.001, None, 1.0, '4.0007953081283351948e-10'),
    ('sg_add', 50.0, 0.001, None, 2.5, '1.750346897801139869e-9'),
    ('sg_add', 50.0, 0.001, None, 7.0, '1.1202199995495593983e-8'),
    ('sg_add', 50.0, 0.001, None, 10.5, '2.4154709946478278494e-8'),
    ('sg_add', 50.0, 0.001, None, 31.7, '2.0735667579737059024e-7'),
    ('sg_add', 50.0, 0.001, None, 100.25, '2.0303855800100740439e-6'),
    ('sg_add', 50.0, 0.001, None, 255.5, '0.000013108422556668810871'),
    ('sg_add', 50.0, 0.001, None, 256.0, '0.000013159674902739255314'),
    ('sg_remove', 50.0, 0.05, None, -0.6, '-1.2002029345285399014e-7'),
    ('sg_remove', 50.0, 0.05, None, 0.05, '2.625476352576857924e-8'),
    ('sg_remove', 50.0, 0.05, None, 0.5, '3.7507125814495005498e-7'),
    ('sg_remove', 50.0, 0.05, None, 2.5, '4.3759976843853238342e-6'),
    ('sg_remove', 50.0, 0.05, None, 10.5, '0.000060397952274274009954'),
    ('sg_remove', 50.0, 0.05, None, 31.7, '0.00051870112243034659963'),
    ('sg_remove', 50.0, 0.05, None, 100.25, '0.00508576809577307838'),
    ('sg_remove', 50.0, 0.05, None, 255.5, '0.032933959899163210901'),
    ('sg_add', 50.0, 0.05, None, -0.6, '-1.2002074965231845309e-7'),
    ('sg_add', 50.0, 0.05, None, 0.05, '2.6254214660787780481e-8'),
    ('sg_add', 50.0, 0.05, None, 0.5, '3.7505700191167532196e-7'),
    ('sg_add', 50.0, 0.05, None, 1.0, '1.0001425015364697362e-6'),
    ('sg_add', 50.0, 0.05, None, 2.5, '4.3754987162178046964e-6'),
    ('sg_add', 50.0, 0.05, None, 7.0, '0.000028000797365365934625'),
    ('sg_add', 50.0, 0.05, None, 10.5, '0.000060372704482940714578'),
    ('sg_add', 50.0, 0.05, None, 31.7, '0.00051806665878301145848'),
    ('sg_add', 50.0, 0.05, None, 100.25, '0.005066329217333955128'),
    ('sg_add', 50.0, 0.05, None, 255.5, '0.032615039372935029235'),
    ('sg_add', 50.0, 0.05, None, 256.0, '0.03274225808762294997'),
    ('sg_remove', 50.0, 0.5, None, -0.6, '-0.000011999879979204998818'),
    ('sg_remove', 50.0, 0.5, None, 0.05, '2.625144366754115614e-6'),
    ('sg_remove', 50.0, 0.5, None, 0.5, '0.000037503750031248436953'),
    ('sg_remove', 50.0, 0.5, None, 2.5, '0.00043763127953425676138'),
    ('sg_remove', 50.0, 0.5, None, 10.5, '0.0060441481028118192279'),
    ('sg_remove', 50.0, 0.5, None, 31.7, '0.051996918460205304016'),
    ('sg_remove', 50.0, 0.5, None, 100.25, '0.51268044223910618162'),
    ('sg_remove', 50.0, 0.5, None, 255.5, '3.3628609441829072923'),
    ('sg_add', 50.0, 0.5, None, -0.6, '-0.000012000119963206518601'),
    ('sg_add', 50.0, 0.5, None, 0.05, '2.6248556360015835887e-6'),
    ('sg_add', 50.0, 0.5, None, 0.5, '0.000037496250531139094441'),
    ('sg_add', 50.0, 0.5, None, 1.0, '0.000099985002999225249901'),
    ('sg_add', 50.0, 0.5, None, 2.5, '0.00043736879701293705152'),
    ('sg_add', 50.0, 0.5, None, 7.0, '0.0027979017066896875675'),
    ('sg_add', 50.0, 0.5, None, 10.5, '0.0060308664748412087923'),
    ('sg_add', 50.0, 0.5, None, 31.7, '0.051663155847485410079'),
    ('sg_add', 50.0, 0.5, None, 100.25, '0.50245381948505700283'),
    ('sg_add', 50.0, 0.5, None, 255.5, '3.1950090653441367321'),
    ('sg_add', 50.0, 0.5, None, 256.0, '3.2073454980213190806'),
    ('replace', 50.0, 1e-06, None, -0.6, '-1.920000050431693738e-16'),
    ('replace', 50.0, 1e-06, None, 0.05, '4.2000001103193302187e-17'),
    ('replace', 50.0, 1e-06, None, 1.0, '1.6000000420264114195e-15'),
    ('replace', 50.0, 1e-06, None, 2.5, '7.0000001838655499704e-15'),
    ('replace', 50.0, 1e-06, None, 31.7, '8.2927202178207905321e-13'),
    ('replace', 50.0, 1e-06, None, 256.0, '5.263360138250156922e-11'),
    ('replace', 50.0, 0.001, None, -0.6, '-1.9199992836617766886e-10'),
    ('replace', 50.0, 0.001, None, 0.05, '4.1999984330103981232e-11'),
    ('replace', 50.0, 0.001, None, 1.0, '1.5999994030522432938e-9'),
    ('replace', 50.0, 0.001, None, 2.5, '6.9999973883636201904e-9'),
    ('replace', 50.0, 0.001, None, 31.7, '8.2927169078755334462e-7'),
    ('replace', 50.0, 0.001, None, 256.0, '0.000052633581099754741012'),
    ('replace', 50.0, 0.05, None, -0.6, '-4.799908895864724957e-7'),
    ('replace', 50.0, 0.05, None, 0.05, '1.0499800711105198409e-7'),
    ('replace', 50.0, 0.05, None, 1.0, '3.9999240839748457772e-6'),
    ('replace', 50.0, 0.05, None, 2.5, '0.000017499667921278879721'),
    ('replace', 50.0, 0.05, None, 31.7, '0.0020731416316097471705'),
    ('replace', 50.0, 0.05, None, 256.0, '0.13158545224740406388'),
    ('replace', 50.0, 0.5, None, -0.6, '-0.000047995200479960965303'),
    ('replace', 50.0, 0.5, None, 0.05, '0.00001049895010499760162'),
    ('replace', 50.0, 0.5, None, 1.0, '0.00039996000400146598682'),
    ('replace', 50.0, 0.5, None, 2.5, '0.0017498250175300292407'),
    ('replace', 50.0, 0.5, None, 31.7, '0.20729727070273861271'),
    ('replace', 50.0, 0.5, None, 256.0, '13.15708602030139042'),
    ('replace', 50.0, 1.0, None, -0.6, '-0.00019200000000000000355'),
    ('replace', 50.0, 1.0, None, 0.05, '0.000042000000000000002442'),
    ('replace', 50.0, 1.0, None, 1.0, '0.0016'),
    ('replace', 50.0, 1.0, None, 2.5, '0.007'),
    ('replace', 50.0, 1.0, None, 31.7, '0.82927199999999996339'),
    ('replace', 50.0, 1.0, None, 256.0, '52.6336'),
    ('els_remove', 0.5, 0.001, 2, -0.5, '-0.000017546270905356396242'),
    ('els_add', 0.5, 0.001, 2, -0.5, '-0.000017546270905356396242'),
    ('els_remove', 0.5, 0.001, 2, 0.05, '4.1400837205662009205e-6'),
    ('els_add', 0.5, 0.001, 2, 0.05, '3.3644247540937758852e-6'),
    ('els_remove', 0.5, 0.001, 2, 1.0, '0.00023473049960224418781'),
    ('els_add', 0.5, 0.001, 2, 1.0, '0.00011332147603547472145'),
    ('els_remove', 0.5, 0.001, 2, 3.5, '63.830202495377504658'),
    ('els_add', 0.5, 0.001, 2, 3.5, '0.00071332259791627276653'),
    ('els_remove', 0.5, 0.001, 2, 20.0, '3069.8742782827502447'),
    ('els_add', 0.5, 0.001, 2, 20.0, '0.0099575676977483799059'),
    ('els_remove', 0.5, 0.001, 2, 128.0, '130313.79913802260865'),
    ('els_add', 0.5, 0.001, 2, 128.0, '0.1287209428895782602'),
    ('els_remove', 0.5, 0.1, 2, -0.5, '-0.028878823016846304452'),
    ('els_add', 0.5, 0.1, 2, -0.5, '-0.028878823016846304452'),
    ('els_remove', 0.5, 0.1, 2, 0.05, '0.010794464819474275435'),
    ('els_add', 0.5, 0.1, 2, 0.05, '0.0043109127071095191535'),
    ('els_remove', 0.5, 0.1, 2, 1.0, '6.8046980873747825038'),
    ('els_add', 0.5, 0.1, 2, 1.0, '0.11125973603423688498'),
    ('els_remove', 0.5, 0.1, 2, 3.5, '105.27673416310959598'),
    ('els_add', 0.5, 0.1, 2, 3.5, '0.48671391468553789093'),
    ('els_remove', 0.5, 0.1, 2, 20.0, '3263.2914260942500836'),
    ('els_add', 0.5, 0.1, 2, 20.0, '3.5268594676441883874'),
    ('els_remove', 0.5, 0.1, 2, 128.0, '131501.93304600753623'),
    ('els_add', 0.5, 0.1, 2, 128.0, '25.408614427694645675'),
    ('els_remove', 2.0, 0.001, 2, -0.5, '-1.4192078800793089545e-7'),
    ('els_add', 2.0, 0.001, 2, -0.5, '-1.4192078800793089545e-7'),
    ('els_remove', 2.0, 0.001, 2, 0.05, '2.9813536783209168893e-8'),
    ('els_add', 2.0, 0.001, 2, 0.05, '2.9793204182751841006e-8'),
    ('els_remove', 2.0, 0.001, 2, 1.0, '1.1364239622687213569e-6'),
    ('els_add', 2.0, 0.001, 2, 1.0, '1.1343114801419030556e-6'),
    ('els_remove', 2.0, 0.001, 2, 3.5, '8.9632703766355907473e-6'),
    ('els_add', 2.0, 0.001, 2, 3.5, '8.9189076355726522206e-6'),
    ('els_remove', 2.0, 0.001, 2, 20.0, '0.000241515237675793732'),
    ('els_add', 2.0, 0.001, 2, 20.0, '0.00023544985085891346821'),
    ('els_remove', 2.0, 0.001, 2, 128.0, '6473.7991380226086459'),
    ('els_add', 2.0, 0.001, 2, 128.0, '0.0087017462442707920198'),
    ('els_remove', 2.0, 0.1, 2, -0.5, '-0.0013445183494430862763'),
    ('els_add', 2.0, 0.1, 2, -0.5, '-0.0013445183494430862763'),
    ('els_remove', 2.0, 0.1, 2, 0.05, '0.00029031418030947396558'),
    ('els_add', 2.0, 0.1, 2, 0.05, '0.00027493218407293223499'),
    ('els_remove', 2.0, 0.1, 2, 1.0, '0.011641620863139810389'),
    ('els_add', 2.0, 0.1, 2, 1.0, '0.010028053395687171559'),
    ('els_remove', 2.0, 0.1, 2, 3.5, '0.10778762390933264054'),
    ('els_add', 2.0, 0.1, 2, 3.5, '0.071307269206552960192'),
    ('els_remove', 2.0, 0.1, 2, 20.0, '113.30862376005233511'),
    ('els_add', 2.0, 0.1, 2, 20.0, '1.2166893690297492873'),
    ('els_remove', 2.0, 0.1, 2, 128.0, '7661.9330460075362278'),
    ('els_add', 2.0, 0.1, 2, 128.0, '16.522189397544321287'),
    ('els_remove', 10.0, 0.001, 2, -0.5, '-5.0249821090371981643e-9'),
    ('els_add', 10.0, 0.001, 2, -0.5, '-5.0249821090371981643e-9'),
    ('els_remove', 10.0, 0.001, 2, 0.05, '1.0552579358747606369e-9'),
    ('els_add', 10.0, 0.001, 2, 0.05, '1.055234550267215417e-9'),
    ('els_remove', 10.0, 0.001, 2, 1.0, '4.0201071758125236581e-8'),
    ('els_add', 10.0, 0.001, 2, 1.0, '4.0198642084610015126e-8'),
    ('els_remove', 10.0, 0.001, 2, 3.5, '3.1659938718947436313e-7'),
    ('els_add', 10.0, 0.001, 2, 3.5, '3.1654836404505722966e-7'),
    ('els_remove', 10.0, 0.001, 2, 20.0, '8.4454584506094560238e-6'),
    ('els_add', 10.0, 0.001, 2, 20.0, '8.4384852851384267374e-6'),
    ('els_remove', 10.0, 0.001, 2, 128.0, '0.00033275221388007438102'),
    ('els_add', 10.0, 0.001, 2, 128.0, '0.00033103376910852058067'),
    ('els_remove', 10.0, 0.1, 2, -0.5, '-0.000050157293845504195686'),
    ('els_add', 10.0, 0.1, 2, -0.5, '-0.000050157293845504195686'),
    ('els_remove', 10.0, 0.1, 2, 0.05, '0.000010543518839520249699'),
    ('els_add', 10.0, 0.1, 2, 0.05, '0.000010522571599993893048'),
    ('els_remove', 10.0, 0.1, 2, 1.0, '0.00040235036127909951787'),
    ('els_add', 10.0, 0.1, 2, 1.0, '0.00040017399781414346059'),
    ('els_remove', 10.0, 0.1, 2, 3.5, '0.0031829777578823175348'),
    ('els_add', 10.0, 0.1, 2, 3.5, '0.0031372701375174940168'),
    ('els_remove', 10.0, 0.1, 2, 20.0, '0.087546332613243825968'),
    ('els_add', 10.0, 0.1, 2, 20.0, '0.081283539549261132021'),
    ('els_remove', 10.0, 0.1, 2, 128.0, '4.4476408542591369797'),
    ('els_add', 10.0, 0.1, 2, 128.0, '2.7164388211135907086'),
    ('els_remove', 0.5, 0.001, 4, -0.5, '-0.00006005702037341802162'),
    ('els_add', 0.5, 0.001, 4, -0.5, '-0.00006005702037341802162'),
    ('els_remove', 0.5, 0.001, 4, 0.05, '0.000014794517466170165706'),
    ('els_add', 0.5, 0.001, 4, 0.05, '0.000011189527309215271341'),
    ('els_remove', 0.5, 0.001, 4, 1.0, '8.7390285642280283272'),
    ('els_add', 0.5, 0.001, 4, 1.0, '0.00036417687478160783632'),
    ('els_remove', 0.5, 0.001, 4, 3.5, '379.66040497832153344'),
    ('els_add', 0.5, 0.001, 4, 3.5, '0.0021739000857462780405'),
    ('els_remove', 0.5, 0.001, 4, 20.0, '12859.748556565500489'),
    ('els_add', 0.5, 0.001, 4, 20.0, '0.027070707083750827352'),
    ('els_remove', 0.5, 0.001, 4, 128.0, '524819.59827604521729'),
    ('els_add', 0.5, 0.001, 4, 128.0, '0.30859028450183536256'),
    ('els_remove', 0.5, 0.1, 4, -0.5, '-0.077196299692831607172'),
    ('els_add', 0.5, 0.1, 4, -0.5, '-0.077196299692831607172'),
    ('els_remove', 0.5, 0.1, 4, 0.05, '0.037401868081361985369'),
    ('els_add', 0.5, 0.1, 4, 0.05, '0.010776051043638139926'),
    ('els_remove', 0.5, 0.1, 4, 1.0, '45.57932735945594689'),
    ('els_add', 0.5, 0.1, 4, 1.0, '0.26438692816285259208'),
    ('els_remove', 0.5, 0.1, 4, 3.5, '462.55346832610717869'),
    ('els_add', 0.5, 0.1, 4, 3.5, '1.0991492604258406464'),
    ('els_remove', 0.5, 0.1, 4, 20.0, '13246.582852188500167'),
    ('els_add', 0.5, 0.1, 4, 20.0, '7.4766222554981058488'),
    ('els_remove', 0.5, 0.1, 4, 128.0, '527195.86609201507246'),
    ('els_add', 0.5, 0.1, 4, 128.0, '51.921738779660876829'),
    ('els_remove', 2.0, 0.001, 4, -0.5, '-5.6747693031403284261e-7'),
    ('els_add', 2.0, 0.001, 4, -0.5, '-5.6747693031403284261e-7'),
    ('els_remove', 2.0, 0.001, 4, 0.05, '1.1925147462054686423e-7'),
    ('els_add', 2.0, 0.001, 4, 0.05, '1.190889957920712817e-7'),
    ('els_remove', 2.0, 0.001, 4, 1.0, '4.5482785906711820441e-6'),
    ('els_add', 2.0, 0.001, 4, 1.0, '4.5313975409015730288e-6'),
    ('els_remove', 2.0, 0.001, 4, 3.5, '0.00003592957446721052734'),
    ('els_add', 2.0, 0.001, 4, 3.5, '0.000035575052770325933922'),
    ('els_remove', 2.0, 0.001, 4, 20.0, '259.7487295331361911'),
    ('els_add', 2.0, 0.001, 4, 20.0, '0.00092998559407591060127'),
    ('els_remove', 2.0, 0.001, 4, 128.0, '29459.598276045217292'),
    ('els_add', 2.0, 0.001, 4, 128.0, '0.032583537113309255936'),
    ('els_remove', 2.0, 0.1, 4, -0.5, '-0.0052350270591656662302'),
    ('els_add', 2.0, 0.1, 4, -0.5, '-0.0052350270591656662302'),
    ('els_remove', 2.0, 0.1, 4, 0.05, '0.0011606979700906529716'),
    ('els_add', 2.0, 0.1, 4, 0.05, '0.001045778092617131'),
    ('els_remove', 2.0, 0.1, 4, 1.0, '0.049215278037312934333'),
    ('els_add', 2.0, 0.1, 4, 1.0, '0.036845897894767825518'),
    ('els_remove', 2.0, 0.1, 4, 3.5, '0.62539495546893502809'),
    ('els_add', 2.0, 0.1, 4, 3.5, '0.24469249614090350994'),
    ('els_remove', 2.0, 0.1, 4, 20.0, '646.58285374673261972'),
    ('els_add', 2.0, 0.1, 4, 20.0, '3.46344730164557679'),
    ('els_remove', 2.0, 0.1, 4, 128.0, '31835.866092015072456'),
    ('els_add', 2.0, 0.1, 4, 128.0, '38.789155977122592883'),
    ('els_remove', 10.0, 0.001, 4, -0.5, '-2.0099724616883757526e-8'),
    ('els_add', 10.0, 0.001, 4, -0.5, '-2.0099724616883757526e-8'),
    ('els_remove', 10.0, 0.001, 4, 0.05, '4.2210357122040261969e-9'),
    ('els_add', 10.0, 0.001, 4, 0.05, '4.2208486324285296897e-9'),
    ('els_remove', 10.0, 0.001, 4, 1.0, '1.6080751615011342252e-7'),
    ('els_add', 10.0, 0.001, 4, 1.0, '1.6078807929019263394e-7'),
    ('els_remove', 10.0, 0.001, 4, 3.5, '1.2664867818670529416e-6'),
    ('els_add', 10.0, 0.001, 4, 3.5, '1.2660786077895982856e-6'),
    ('els_remove', 10.0, 0.001, 4, 20.0, '0.00003379546008369380186'),
    ('els_add', 10.0, 0.001, 4, 20.0, '0.000033739676216291653657'),
    ('els_remove', 10.0, 0.001, 4, 128.0, '0.0013344680645752322795'),
    ('els_add', 10.0, 0.001, 4, 128.0, '0.0013207203000851439684'),
    ('els_remove', 10.0, 0.1, 4, -0.5, '-0.00020044705544549051519'),
    ('els_add', 10.0, 0.1, 4, -0.5, '-0.00020044705544549051519'),
    ('els_remove', 10.0, 0.1, 4, 0.05, '0.000042177688869417453277'),
    ('els_add', 10.0, 0.1, 4, 0.05, '0.000042010505047451949686'),
    ('els_remove', 10.0, 0.1, 4, 1.0, '0.0016123227590646347437'),
    ('els_add', 10.0, 0.1, 4, 1.0, '0.0015949521558848840241'),
    ('els_remove', 10.0, 0.1, 4, 3.5, '0.012814037559278680356'),
    ('els_add', 10.0, 0.1, 4, 3.5, '0.012449127984479624866'),
    ('els_remove', 10.0, 0.1, 4, 20.0, '0.36437118555744659585'),
    ('els_add', 10.0, 0.1, 4, 20.0, '0.3139822196833708878'),
    ('els_remove', 10.0, 0.1, 4, 128.0, '164.65773480156932513'),
    ('els_add', 10.0, 0.1, 4, 128.0, '9.3163830805156670839'),
    ('els_remove', 0.5, 0.001, 8, -0.5, '-0.00019786594029655277751'),
    ('els_add', 0.5, 0.001, 8, -0.5, '-0.00019786594029655277751'),
    ('els_remove', 0.5, 0.001, 8, 0.05, '0.000051438918959238875124'),
    ('els_add', 0.5, 0.001, 8, 0.05, '0.00003565005593859054827'),
    ('els_remove', 0.5, 0.001, 8, 1.0, '145.47591553648823152'),
    ('els_add', 0.5, 0.001, 8, 1.0, '0.0011165775722086391936'),
    ('els_remove', 0.5, 0.001, 8, 3.5, '1767.3208099566430669'),
    ('els_add', 0.5, 0.001, 8, 3.5, '0.0062976576485799404001'),
    ('els_remove', 0.5, 0.001, 8, 20.0, '52599.497113131000979'),
    ('els_add', 0.5, 0.001, 8, 20.0, '0.069968717517396123388'),
    ('els_remove', 0.5, 0.001, 8, 128.0, '2106407.1965520904346'),
    ('els_add', 0.5, 0.001, 8, 128.0, '0.71102780629485462171'),
    ('els_remove', 0.5, 0.1, 8, -0.5, '-0.19671439255523414121'),
    ('els_add', 0.5, 0.1, 8, -0.5, '-0.19671439255523414121'),
    ('els_remove', 0.5, 0.1, 8, 0.05, '0.13842476850250892524'),
    ('els_add', 0.5, 0.1, 8, 0.05, '0.025744202113092317611'),
    ('els_remove', 0.5, 0.1, 8, 1.0, '219.15863851209709358'),
    ('els_add', 0.5, 0.1, 8, 1.0, '0.60387044612013196971'),
    ('els_remove', 0.5, 0.1, 8, 3.5, '1933.1069366522143574'),
    ('els_add', 0.5, 0.1, 8, 3.5, '2.4058411438929223121'),
    ('els_remove', 0.5, 0.1, 8, 20.0, '53373.165704377000334'),
    ('els_add', 0.5, 0.1, 8, 20.0, '15.575292732738207179'),
    ('els_remove', 0.5, 0.1, 8, 128.0, '2111159.7321840301449'),
    ('els_add', 0.5, 0.1, 8, 128.0, '105.32564405243997329'),
    ('els_remove', 2.0, 0.001, 8, -0.5, '-2.2682612792907139969e-6'),
    ('els_add', 2.0, 0.001, 8, -0.5, '-2.2682612792907139969e-6'),
    ('els_remove', 2.0, 0.001, 8, 0.05, '4.7698460694832932446e-7'),
    ('els_add', 2.0, 0.001, 8, 0.05, '4.7568767376776930248e-7'),
    ('els_remove', 2.0, 0.001, 8, 1.0, '0.000018213825849922459417'),
    ('els_add', 2.0, 0.001, 8, 1.0, '0.000018079075336539457802'),
    ('els_remove', 2.0, 0.001, 8, 3.5, '0.00014433583995395534936'),
    ('els_add', 2.0, 0.001, 8, 3.5, '0.00014150545480571503185'),
    ('els_remove', 2.0, 0.001, 8, 20.0, '2199.4971131310016918'),
    ('els_add', 2.0, 0.001, 8, 20.0, '0.0036302765677337609625'),
    ('els_remove', 2.0, 0.001, 8, 128.0, '124967.19655209043458'),
    ('els_add', 2.0, 0.001, 8, 128.0, '0.1163364075264519864'),
    ('els_remove', 2.0, 0.1, 8, -0.5, '-0.019919061333614706233'),
    ('els_add', 2.0, 0.1, 8, -0.5, '-0.019919061333614706233'),
    ('els_remove', 2.0, 0.1, 8, 0.05, '0.0046411528402447806421'),
    ('els_add', 2.0, 0.1, 8, 0.05, '0.0038251365138494299655'),
    ('els_remove', 2.0, 0.1, 8, 1.0, '0.22425353411116168183'),
    ('els_add', 2.0, 0.1, 8, 1.0, '0.12782918124270608818'),
    ('els_remove', 2.0, 0.1, 8, 3.5, '43.411358996811672808'),
    ('els_add', 2.0, 0.1, 8, 3.5, '0.77580424038898315435'),
    ('els_remove', 2.0, 0.1, 8, 20.0, '2973.1657043770003408'),
    ('els_add', 2.0, 0.1, 8, 20.0, '9.0652182428903181377'),
    ('els_remove', 2.0, 0.1, 8, 128.0, '129719.73218403014491'),
    ('els_add', 2.0, 0.1, 8, 128.0, '86.785551631149441755'),
    ('els_remove', 10.0, 0.001, 8, -0.5, '-8.0397267980562447379e-8'),
    ('els_add', 10.0, 0.001, 8, -0.5, '-8.0397267980562447379e-8'),
    ('els_remove', 10.0, 0.001, 8, 0.05, '1.6884174598672055919e-8'),
    ('els_add', 10.0, 0.001, 8, 0.05, '1.6882678041817698858e-8'),
    ('els_remove', 10.0, 0.001, 8, 1.0, '6.4325589961989776575e-7'),
    ('els_add', 10.0, 0.001, 8, 1.0, '6.4310041318934544665e-7'),
    ('els_remove', 10.0, 0.001, 8, 3.5, '5.0666611939690846851e-6'),
    ('els_add', 10.0, 0.001, 8, 3.5, '5.0633959783157937105e-6'),
    ('els_remove', 10.0, 0.001, 8, 20.0, '0.00013529102715939160937'),
    ('els_add', 10.0, 0.001, 8, 20.0, '0.00013484477856230726983'),
    ('els_remove', 10.0, 0.001, 8, 128.0, '0.0053658373330602085171'),
    ('els_add', 10.0, 0.001, 8, 128.0, '0.0052558426330470706322'),
    ('els_remove', 10.0, 0.1, 8, -0.5, '-0.00080033644272932994755'),
    ('els_add', 10.0, 0.1, 8, -0.5, '-0.00080033644272932994755'),
    ('els_remove', 10.0, 0.1, 8, 0.05, '0.00016873967954219780297'),
    ('els_add', 10.0, 0.1, 8, 0.05, '0.00016740846074015547875'),
    ('els_remove', 10.0, 0.1, 8, 1.0, '0.0064728277979413479611'),
    ('els_add', 10.0, 0.1, 8, 1.0, '0.0063344922931679280624'),
    ('els_remove', 10.0, 0.1, 8, 3.5, '0.051930060137128695231'),
    ('els_add', 10.0, 0.1, 8, 3.5, '0.049020993443767332974'),
    ('els_remove', 10.0, 0.1, 8, 20.0, '1.5921185683615397361'),
    ('els_add', 10.0, 0.1, 8, 20.0, '1.1773115149791634569'),
    ('els_remove', 10.0, 0.1, 8, 128.0, '2907.9043817557577275'),
    ('els_add', 10.0, 0.1, 8, 128.0, '29.474743814822766549'),
    ('mog_remove', 0.6, None, None, -0.5, '-0.0074797341324794194486'),
    ('mog_add', 0.6, None, None, -0.5, '-0.0074797341324794194486'),
    ('mog_remove', 0.6, None, None, 0.05, '0.0031422078354823160627'),
    ('mog_add', 0.6, None, None, 0.05, '0.0010918395862808119366'),
    ('mog_remove', 0.6, None, None, 1.0, '3.3367755419434676592'),
    ('mog_add', 0.6, None, None, 1.0, '0.02856423974159869804'),
    ('mog_remove', 0.6, None, None, 3.5, '69.895896499824499083'),
    ('mog_add', 0.6, None, None, 3.5, '0.1333381575117718994'),
    ('mog_remove', 0.6, None, None, 20.0, '2251.1808502193424387'),
    ('mog_add', 0.6, None, None, 20.0, '1.1753470271668611005'),
    ('mog_remove', 0.6, None, None, 128.0, '91228.682365633109281'),
    ('mog_add', 0.6, None, None, 128.0, '10.426993977138455117'),
    ('mog_remove', 3.0, None, None, -0.5, '-0.00013496927536606660857'),
    ('mog_add', 3.0, None, None, -0.5, '-0.00013496927536606660857'),
    ('mog_remove', 3.0, None, None, 0.05, '0.000028576299254892776841'),
    ('mog_add', 3.0, None, None, 0.05, '0.000028116354595835624653'),
    ('mog_remove', 3.0, None, None, 1.0, '0.0011044643736874880036'),
    ('mog_add', 3.0, None, None, 1.0, '0.0010566216565690898185'),
    ('mog_remove', 3.0, None, None, 3.5, '0.0090543779121001353016'),
    ('mog_add', 3.0, None, None, 3.5, '0.0080411863264184798099'),
    ('mog_remove', 3.0, None, None, 20.0, '11.775183702610483756'),
    ('mog_add', 3.0, None, None, 20.0, '0.17836493446081741013'),
    ('mog_remove', 3.0, None, None, 128.0, '3164.6823656331882773'),
    ('mog_add', 3.0, None, None, 128.0, '3.7828128037727463654'),
]


def test_replace_one_cgf_at_large_orders_is_not_nan():
    # Found by hypothesis (tests/test_rdp.py): the excess form's integrand overflowed
    # (inf − inf) at t ≥ 133 for replace-one SG σ = 3.75, q = 0.005859375, and the RDP of
    # that order was NaN. mpmath (60 digits) values of K(t):
    m = SubsampledGaussian(3.75, 0.005859375, neighboring="replace_one")
    pl = loss_for(m, "remove")
    for t, ref in ((130.0, 0.0835499152523), (133.0, 0.0874533502798),
                   (140.0, 0.0969130248664), (200.0, 397.44919935)):
        assert pl.cgf(t) == pytest.approx(ref, rel=1e-9)
        assert pl.cgf_many(np.array([t]))[0] == pytest.approx(ref, rel=1e-9)


def test_els_cgf_across_a_far_component_transition():
    # The excess form missed (or overflowed on) the tilted peak of the k = 256 component
    # near t = 30.2 for q = 5.7e-12; mpmath (60 digits) values:
    m = ELS(float(np.float32(12.220134735107422)), 5.694563562563047e-12, 256)
    pl = loss_for(m, "remove")
    for t, ref in ((30.1, 6.68344932166228e-18), (30.2, 6.80397321299444e-18),
                   (30.20075915238642, 2.05916697165866e-17), (30.21, 24.4566751636615)):
        assert pl.cgf(t) == pytest.approx(ref, rel=1e-9)
