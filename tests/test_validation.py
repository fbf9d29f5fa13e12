"""One validation layer: real numbers of a numeric type, integers the kernels compute
exactly, exact-string choices — and nothing but ValueError for bad input (issue 13, item 2)."""
from fractions import Fraction

import numpy as np
import pytest

import accountant as acc
from accountant.core import _validate as v


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


# ----------------------------------------------------------------------------------------
# Sequences of numbers: every element is a number like any other (issue 13 fuzz cases)
# ----------------------------------------------------------------------------------------
@pytest.mark.parametrize("sens,probs,needle", [
    ((b"0", b"1"), (0.5, 0.5), r"sensitivities\[0\] must be a real number"),
    ((0.0, 1.0), ("0.5", "0.5"), r"probabilities\[0\] must be a real number"),
    ((False, True), (0.5, 0.5), r"sensitivities\[0\] must be a real number"),
    ((0.0, 1.0), (np.True_, 0.0), r"probabilities\[0\] must be a real number"),
    ((0.0, None), (0.5, 0.5), r"sensitivities\[1\] must be a real number"),
    ((0.0, complex(1, 0)), (0.5, 0.5), r"sensitivities\[1\] must be a real number"),
    ((0, 10 ** 400), (0.5, 0.5), r"sensitivities\[1\] must be a finite real number"),
    ((0, 1), (10 ** 400, 0.5), r"probabilities\[0\] must be a finite real number"),
    ((0, Fraction(10 ** 400)), (0.5, 0.5), r"sensitivities\[1\] must be a finite real number"),
    ((0.0, float("nan")), (0.5, 0.5), r"sensitivities\[1\] must be in \[0, inf\)"),
    ((0.0, float("inf")), (0.5, 0.5), r"sensitivities\[1\] must be in \[0, inf\)"),
    ((0.0, -1.0), (0.5, 0.5), r"sensitivities\[1\] must be in \[0, inf\)"),
    ((0.0, 1.0), (1.5, -0.5), r"probabilities\[0\] must be in \[0, 1\]"),
    ((0.0, 1.0), (0.5, float("nan")), r"probabilities\[1\] must be in \[0, 1\]"),
    # a nonzero shift below the double range is still a shift other than 0
    ((0, Fraction(1, 10 ** 400)), (0.5, 0.5), r"sensitivities\[1\] must be 0 or at least"),
    ("01", (0.5, 0.5), "sensitivities must be a sequence of real numbers"),
    (b"01", (0.5, 0.5), "sensitivities must be a sequence of real numbers"),
    ((0.0, 1.0), "11", "probabilities must be a sequence of real numbers"),
    ({0.0, 1.0}, (0.5, 0.5), "sensitivities must be a sequence of real numbers"),
    (1.0, (1.0,), "sensitivities must be a sequence of real numbers"),
    (np.array(1.0), (1.0,), "sensitivities must be a sequence of real numbers"),
    ((0.0, 1.0), {0: 0.5, 1: 0.5}, "probabilities must be a sequence of real numbers"),
])
def test_mixture_elements_are_numbers(sens, probs, needle):
    with pytest.raises(ValueError, match=needle) as info:
        acc.MixtureOfGaussians(1.0, sens, probs)
    assert len(str(info.value)) < 300      # no 400-digit number in the message


@pytest.mark.parametrize("sens,probs", [
    (np.array([0.0, 1.0]), np.array([0.5, 0.5])),
    (np.array([0.0, 1.0], dtype=np.float32), [np.float32(0.5), np.float64(0.5)]),
    ([0, Fraction(1)], (Fraction(1, 2), Fraction(1, 2))),
    ((np.int64(0), np.int32(1)), [0.5, 0.5]),
    (range(2), (0.5, 0.5)),
    ([0.0, 1.0], (p for p in (0.5, 0.5))),
])
def test_mixture_accepts_numeric_sequences(sens, probs):
    m = acc.MixtureOfGaussians(1.0, sens, probs)
    assert m.sensitivities == (0.0, 1.0) and m.probabilities == (0.5, 0.5)
    assert all(type(x) is float for x in m.sensitivities + m.probabilities)
    assert hash(m) == hash(acc.MixtureOfGaussians(1.0, (0.0, 1.0), (0.5, 0.5)))


def test_mixture_neighboring_is_checked_as_a_choice():
    with pytest.raises(ValueError, match="neighboring"):
        acc.MixtureOfGaussians(1.0, [0, 1], [0.5, 0.5], neighboring=np.array(["add_remove"]))
    with pytest.raises(ValueError, match="neighboring"):
        acc.MixtureOfGaussians(1.0, [0, 1], [0.5, 0.5], neighboring="replace_one")


def test_schedule_totals_stay_within_the_step_limit():
    g = acc.Gaussian(1.0)
    limit = r"steps must be an integer >= 1 and <= 9007199254740992"
    for segs in ([(g, 2 ** 53), (g, 1)],                            # merged neighbours
                 [(g, 2 ** 53), (acc.Gaussian(2.0), 1), (g, 1)],   # same mechanism apart
                 [(acc.Schedule([(g, 2 ** 52)]), 4)]):             # nested, multiplied
        with pytest.raises(ValueError, match=limit):
            acc.Schedule(segs)
    assert acc.Schedule([(g, 2 ** 52), (g, 2 ** 52)]).steps == 2 ** 53


def test_items_and_probability_helpers():
    assert v.items("x", np.array([1.0, 2.0])) == (1.0, 2.0)
    for bad in ("ab", b"ab", bytearray(b"ab"), {1.0}, {"a": 1.0}, 3.0, None):
        with pytest.raises(ValueError, match="x must be a sequence of real numbers"):
            v.items("x", bad)
    assert v.probability("p", Fraction(1, 4)) == 0.25 and v.probability("p", 0) == 0.0
    for bad in (-1e-300, 1.0000000000000002, float("nan"), True, "0.5"):
        with pytest.raises(ValueError, match="p must be"):
            v.probability("p", bad)
