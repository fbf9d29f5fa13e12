"""One validation layer: real numbers of a numeric type, integers the kernels compute
exactly, exact-string choices — and nothing but ValueError for bad input (issue 13, item 2)."""
from fractions import Fraction

import numpy as np
import pytest

import accountant as acc
from accountant import _validate as v


@pytest.mark.parametrize("bad", [True, False, "2.0", b"0.5", None, [1.0], complex(1, 0),
                                 np.array([1.0])])
def test_numbers_must_be_numbers(bad):
    with pytest.raises(ValueError, match="noise_multiplier must be a real number"):
        acc.Gaussian(bad)
    with pytest.raises(ValueError, match="delta must be a real number"):
        acc.epsilon(acc.Gaussian(1.0), delta=bad)


@pytest.mark.parametrize("good", [np.float32(2.0), np.float64(2.0), np.int64(2), 2, 2.0,
                                  Fraction(2, 1)])
def test_numeric_types_are_accepted(good):
    assert acc.Gaussian(good).noise_multiplier == 2.0
    assert acc.SubsampledGaussian(1.0, np.float32(0.5)).sample_rate == 0.5


def test_huge_integers_name_the_limit_instead_of_overflowing():
    with pytest.raises(ValueError, match="noise_multiplier must be a finite real number"):
        acc.Gaussian(10 ** 400)
    for steps in (10 ** 400, 10 ** 30, 2 ** 53 + 1):
        with pytest.raises(ValueError, match=r"steps must be an integer >= 1 and <= 9007199254740992"):
            acc.epsilon(acc.SubsampledGaussian(1.0, 0.01), delta=1e-5, steps=steps)
    with pytest.raises(ValueError, match="steps must be an integer"):
        acc.PrivacyAccountant().step(1.0, 0.01, steps=10 ** 400)
    # the message does not print a 400-digit number
    with pytest.raises(ValueError) as info:
        acc.epsilon(acc.Gaussian(1.0), delta=1e-5, steps=10 ** 400)
    assert len(str(info.value)) < 200
    # numpy integer steps are accepted like Python ints
    r = acc.epsilon(acc.SubsampledGaussian(1.0, 0.01), delta=1e-5, steps=np.int64(100),
                    method="rdp")
    assert r.certified


@pytest.mark.parametrize("sigma", [5e-324, 1e-300, 1e-7, 1e13, float("inf")])
def test_noise_outside_the_computable_range_is_refused(sigma):
    with pytest.raises(ValueError, match="noise_multiplier must be in"):
        acc.SubsampledGaussian(sigma, 0.01)


@pytest.mark.parametrize("method", ["", 0, None.__class__, np.array(["pld"]), "PLD", " pld"])
def test_method_is_an_exact_string(method):
    with pytest.raises(ValueError, match="method must be one of"):
        acc.epsilon(acc.Gaussian(1.0), delta=1e-5, method=method)


def test_choice_refuses_non_strings():
    with pytest.raises(ValueError, match="neighboring must be one of"):
        acc.Gaussian(1.0, neighboring=np.array(["add_remove"]))
    assert v.choice("x", "a", ("a", "b")) == "a"
