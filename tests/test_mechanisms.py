import math

import pytest

import accountant as acc
from accountant.core.mechanisms import as_schedule

BAD_SIGMA = [0, -1, math.nan, math.inf, "x", None]


@pytest.mark.parametrize("sigma", BAD_SIGMA)
def test_bad_noise_multiplier_named(sigma):
    for make in (lambda s: acc.Gaussian(s), lambda s: acc.Laplace(s),
                 lambda s: acc.SubsampledGaussian(s, 0.1), lambda s: acc.ELS(s, 0.1, 2),
                 lambda s: acc.ULS(s, 0.1)):
        with pytest.raises(ValueError, match="noise_multiplier"):
            make(sigma)


@pytest.mark.parametrize("q", [-0.1, -1e-300, 1.0000001, math.nan, math.inf])
def test_bad_sample_rate_named(q):
    with pytest.raises(ValueError, match=r"sample_rate must be in \[0, 1\]"):
        acc.SubsampledGaussian(1.0, q)
    with pytest.raises(ValueError, match="sample_rate"):
        acc.ELS(1.0, q, 3)


def test_sample_rate_zero_is_a_mechanism():
    # q = 0 samples no one; every accountant answers ε = 0 (tests/test_degenerate.py).
    for m in (acc.SubsampledGaussian(1.0, 0), acc.SubsampledGaussian(1.0, 0.0, "fixed"),
              acc.ELS(1.0, 0.0, 3), acc.ULS(1.0, 0)):
        assert m.sample_rate == 0.0 and isinstance(m.sample_rate, float)


def test_zero_noise_says_why():
    with pytest.raises(ValueError, match="not private"):
        acc.Gaussian(0.0)


@pytest.mark.parametrize("k", [0, -2, 1.5, math.nan])
def test_bad_examples_per_user(k):
    with pytest.raises(ValueError, match="max_examples_per_user"):
        acc.ELS(1.0, 0.1, k)


def test_mixture_validation():
    with pytest.raises(ValueError, match="sum to 1"):
        acc.MixtureOfGaussians(1.0, [0, 1], [0.5, 0.5 + 1e-9])
    acc.MixtureOfGaussians(1.0, [0, 1], [0.5, 0.5 + 1e-13])  # inside the 1e-12 tolerance
    with pytest.raises(ValueError, match="sensitivities"):
        acc.MixtureOfGaussians(1.0, [0, -1], [0.5, 0.5])
    with pytest.raises(ValueError, match="equal length"):
        acc.MixtureOfGaussians(1.0, [0, 1], [1.0])
    with pytest.raises(ValueError, match="probabilities"):
        acc.MixtureOfGaussians(1.0, [0, 1], [1.5, -0.5])


def test_fixed_sampling_is_replace_one():
    m = acc.SubsampledGaussian(1.0, 0.1, sampling="fixed")
    assert m.neighboring == "replace_one"
    with pytest.raises(ValueError, match="neighboring"):
        acc.SubsampledGaussian(1.0, 0.1, sampling="fixed", neighboring="add_remove")
    with pytest.raises(ValueError, match="sampling"):
        acc.SubsampledGaussian(1.0, 0.1, sampling="shuffle")


def test_frozen_and_hashable():
    m = acc.SubsampledGaussian(1.0, 0.1)
    assert hash(m) == hash(acc.SubsampledGaussian(1, 0.1))
    with pytest.raises(Exception):
        m.noise_multiplier = 2.0


def test_schedule_merges_and_counts():
    a, b = acc.SubsampledGaussian(1.0, 0.1), acc.SubsampledGaussian(2.0, 0.1)
    s = acc.Schedule([(a, 2), (a, 3), (b, 1), (a, 4)])
    assert s.segments == ((a, 5), (b, 1), (a, 4))
    assert dict(s.counts()) == {a: 9, b: 1}
    assert s.steps == 10
    assert as_schedule(s, 2).steps == 20
    nested = acc.Schedule([(s, 2)])
    assert nested.steps == 20
    with pytest.raises(ValueError, match="steps"):
        acc.Schedule([(a, 0)])
    with pytest.raises(ValueError, match="at least one"):
        acc.Schedule([])
    with pytest.raises(ValueError, match="same neighboring"):
        acc.Schedule([(a, 1), (acc.SubsampledGaussian(1.0, 0.1, sampling="fixed"), 1)])


@pytest.mark.parametrize("steps", [0, -1, 2.5, math.nan, True])
def test_bad_steps(steps):
    with pytest.raises(ValueError, match="steps"):
        acc.epsilon(acc.Gaussian(1.0), delta=1e-5, steps=steps, method="rdp")


@pytest.mark.parametrize("delta", [0, 1, -1e-5, math.nan, 1.5])
def test_bad_delta(delta):
    with pytest.raises(ValueError, match=r"delta must be in \(0, 1\)"):
        acc.epsilon(acc.Gaussian(1.0), delta=delta, method="rdp")


@pytest.mark.parametrize("eps", [-0.1, math.nan, math.inf])
def test_bad_epsilon(eps):
    with pytest.raises(ValueError, match="epsilon"):
        acc.delta(acc.Gaussian(1.0), epsilon=eps, method="rdp")


def test_unknown_method():
    with pytest.raises(ValueError, match="method must be one of"):
        acc.epsilon(acc.Gaussian(1.0), delta=1e-5, method="magic")


def test_not_a_mechanism():
    with pytest.raises(ValueError, match="mechanism must be"):
        acc.epsilon(object(), delta=1e-5, method="rdp")


def test_lazy_exports_are_the_functions_whatever_the_import_order():
    import importlib
    import accountant
    importlib.import_module("accountant.calibration.search")
    importlib.import_module("accountant.interop.comparison")
    importlib.import_module("accountant.session.trainer")
    assert callable(accountant.calibrate) and accountant.calibrate.__module__ == "accountant.calibration.search"
    assert accountant.compare.__module__ == "accountant.interop.comparison"
    assert accountant.PrivacyAccountant.__module__ == "accountant.session.trainer"
    for name in accountant.__all__:
        assert getattr(accountant, name) is not None


def test_one_factory_from_trainer_parameters():
    # The trainer accountant, calibration and the CLI build their mechanisms here.
    from accountant.core.mechanisms import from_parameters as fp
    assert fp(1.0, 1.0) == acc.Gaussian(1.0)
    assert fp(1.0, 0.01) == acc.SubsampledGaussian(1.0, 0.01)
    assert fp(1.0, 0.01, sampling="fixed") == acc.SubsampledGaussian(1.0, 0.01, "fixed")
    assert fp(1.0, 1.0, sampling="fixed") == acc.SubsampledGaussian(1.0, 1.0, "fixed")
    assert fp(1.0, 0.01, examples_per_user=4) == acc.ELS(1.0, 0.01, 4)      # inferred
    assert fp(1.0, 0.01, sampling="uls", examples_per_user=4) == acc.ULS(1.0, 0.01, 4)
    assert fp(2.0, mechanism="laplace", neighboring="replace_one") == acc.Laplace(2.0, "replace_one")
    for kw, needle in ((dict(sampling="els"), "examples_per_user"),
                       (dict(sampling="poisson", examples_per_user=3), "examples_per_user"),
                       (dict(sampling="shuffle"), "sampling"),
                       (dict(mechanism="laplace"), "sample_rate"),
                       (dict(mechanism="laplace", sampling="uls"), "mechanism")):
        with pytest.raises(ValueError, match=needle):
            fp(1.0, 0.5, **kw)
