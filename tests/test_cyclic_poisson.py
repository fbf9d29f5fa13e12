"""Cyclic Poisson sampling for b-banded matrix factorization (docs/math.md §14; issue 15).

One unit of steps is one cycle of b training steps, accounted as one Poisson-subsampled
Gaussian step at rate min(1, B·b/n) (Choquette-Choo et al. 2023, arXiv 2306.08153; the same
reduction as jax_privacy's ``amplified_bandmf_event``). Checked against dp_accounting's PLD
number for that reduction, the μ-GDP closed form at rate 1 (mpmath), and the
Poisson-subsampled Gaussian itself.
"""
from __future__ import annotations

import math

import mpmath as mp
import pytest

import accountant as acc
from accountant.core.mechanisms import CyclicPoisson, SubsampledGaussian
from accountant.loss import privacy_losses

#: jax_privacy.accounting.amplified_bandmf_event(noise_multiplier=3, iterations=512,
#: num_bands=4, sampling_prob=0.1) is PoissonSampledDpEvent(0.1, GaussianDpEvent(3))
#: composed ⌈512/4⌉ = 128 times; dp_accounting 0.6 PLDAccountant().get_epsilon(1e-6) of it
#: (measured on this machine, default grid 1e-4):
DPA_BANDMF = 1.8080895006371582


def test_a_cycle_is_one_poisson_step():
    m = CyclicPoisson(1.3, bands=4, dataset_size=10_000, batch_size=50)
    assert m.sample_rate == pytest.approx(0.02, rel=1e-15)
    assert privacy_losses(m) == privacy_losses(SubsampledGaussian(1.3, m.sample_rate))
    r = acc.epsilon(m, 1e-5, steps=100)
    rp = acc.epsilon(SubsampledGaussian(1.3, m.sample_rate), 1e-5, steps=100)
    assert (r.lower, r.upper) == (rp.lower, rp.upper)


def test_dp_accounting_value_of_the_reduction():
    # 512 training steps with 4 bands: 128 cycles; rate B·b/n = 100·4/4000 = 0.1
    m = CyclicPoisson(3.0, bands=4, dataset_size=4000, batch_size=100)
    r = acc.epsilon(m, 1e-6, steps=math.ceil(512 / 4), rtol=1e-6)
    assert r.certified
    # dp_accounting's pessimistic PLD at its default grid: within 1e-5 of the bracket
    assert r.lower * (1 - 1e-5) <= DPA_BANDMF <= r.upper * (1 + 1e-5)


def _gdp_delta(mu, eps):
    mu, eps = mp.mpf(mu), mp.mpf(eps)
    return mp.ncdf(-eps / mu + mu / 2) - mp.e ** eps * mp.ncdf(-eps / mu - mu / 2)


@pytest.mark.parametrize("sigma,cycles", [(2.0, 10), (5.0, 300), (0.7, 3)])
def test_rate_one_is_mu_gdp(sigma, cycles):
    # B·b ≥ n: every record is in every cycle's batch; ⌈T/b⌉ Gaussian steps, μ = √k/σ
    m = CyclicPoisson(sigma, bands=8, dataset_size=1000, batch_size=200)
    assert m.sample_rate == 1.0
    with mp.workdps(40):
        mu = mp.sqrt(cycles) / sigma
        for method in ("pld", "rdp"):
            r = acc.epsilon(m, 1e-6, steps=cycles, method=method)
            assert _gdp_delta(mu, r.upper) <= mp.mpf(1e-6) * (1 + mp.mpf(10) ** -12)
            if r.lower > 0:
                assert _gdp_delta(mu, r.lower) >= mp.mpf(1e-6) * (1 - mp.mpf(10) ** -12)


def test_more_bands_fewer_cycles_higher_rate():
    # the same 600 training steps and expected batch: b = 1 is DP-SGD at q = B/n over 600
    # steps; b = 6 is 100 cycles at q = 6B/n — as the theorem says, both are computed
    n, B, T = 60_000, 120, 600
    e1 = acc.epsilon(CyclicPoisson(1.0, 1, n, B), 1e-5, steps=T)
    e6 = acc.epsilon(CyclicPoisson(1.0, 6, n, B), 1e-5, steps=T // 6)
    d1 = acc.epsilon(SubsampledGaussian(1.0, B / n), 1e-5, steps=T)
    assert (e1.lower, e1.upper) == (d1.lower, d1.upper)
    assert e6.lower > 0 and e6.upper < math.inf


def test_validation():
    with pytest.raises(ValueError, match="bands"):
        CyclicPoisson(1.0, bands=0, dataset_size=10, batch_size=1)
    with pytest.raises(ValueError, match="bands"):
        CyclicPoisson(1.0, bands=11, dataset_size=10, batch_size=1)
