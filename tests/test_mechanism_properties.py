"""The same property tests for every mechanism family (issue 15: "every new mechanism passes
the same property tests as the old ones").

For one example of each family in :data:`accountant.core.mechanisms.MECHANISM_TYPES` (a
family without an example fails :func:`test_every_family_has_an_example`), and for each
certified method that answers it (a refusal must be a ValueError that names a method to use
instead):

* the bracket is a bracket: 0 ≤ lower ≤ upper, finite ε, δ ≤ 1;
* ε(δ) does not increase with δ, and does not decrease with the number of steps;
* every certified method's bracket overlaps every other's (each holds the truth);
* ε and δ are inverse: with U the upper bound of ε(δ), the lower bound of δ(U) is ≤ δ; with
  L the lower bound of ε(δ), the upper bound of δ(L) is ≥ δ;
* composition does not depend on the order of a schedule's segments.

The closed forms and mpmath references of each family are in its own test file
(tests/test_privacy_loss.py, test_subsampled_laplace.py, test_discrete.py,
test_truncated_poisson.py, test_random_allocation.py, test_shuffle.py, …).
"""
from __future__ import annotations

import math
import warnings

import pytest

import accountant as acc
from accountant.core.mechanisms import MECHANISM_TYPES, Schedule

#: One example per family: small enough for every method to answer quickly.
EXAMPLES = {
    "Gaussian": acc.Gaussian(2.0),
    "Laplace": acc.Laplace(1.5),
    "SubsampledGaussian": acc.SubsampledGaussian(1.0, 0.05),
    "SubsampledGaussian-fixed": acc.SubsampledGaussian(1.0, 0.05, "fixed"),
    "SubsampledLaplace": acc.SubsampledLaplace(1.0, 0.1),
    "MixtureOfGaussians": acc.MixtureOfGaussians(1.5, (0.0, 1.0, 2.0), (0.5, 0.3, 0.2)),
    "ELS": acc.ELS(2.0, 0.05, 3),
    "ULS": acc.ULS(1.0, 0.05),
    "DiscreteGaussian": acc.DiscreteGaussian(2.0),
    "DiscreteLaplace": acc.DiscreteLaplace(0.7),
    "RandomizedResponse": acc.RandomizedResponse(0.5, 4),
    "ZCDP": acc.ZCDP(0.05),
    "EpsilonDelta": acc.EpsilonDelta(0.3, 1e-7),
    "TruncatedSubsampledGaussian": acc.TruncatedSubsampledGaussian(1.0, 0.05, 8, 100),
    "RandomAllocation": acc.RandomAllocation(2.0, 10, 1),
    "Shuffle": acc.Shuffle(1.0, 10, 100),
    "CyclicPoisson": acc.CyclicPoisson(1.0, 4, 1000, 10),
}
CERTIFIED = ("pld", "rdp")
DELTAS = (1e-6, 1e-3)


def _ask(fn, *args, **kw):
    """The result, or None when the method refuses this family (a ValueError that says
    which method to use instead); any other exception fails the test."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return fn(*args, **kw)
    except ValueError as exc:
        text = str(exc)
        assert "method" in text or "delta" in text, f"refusal without a way out: {text}"
        return None


def _partner(m):
    """A Gaussian step under the same neighbouring relation, to compose with."""
    return acc.Gaussian(3.0, m.neighboring)


def test_every_family_has_an_example():
    have = {type(m) for m in EXAMPLES.values()}
    missing = [t.__name__ for t in MECHANISM_TYPES if t not in have]
    assert not missing, f"mechanism families without property tests: {missing}"


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_brackets_monotone_and_consistent(name):
    m = EXAMPLES[name]
    answered = 0
    for steps in (2, 4):
        per_method = {}
        for method in CERTIFIED:
            rs = [_ask(acc.epsilon, m, delta=d, steps=steps, method=method) for d in DELTAS]
            if rs[0] is None:
                continue
            for r in rs:
                assert r is not None and r.certified, (name, method, r)
                assert 0.0 <= r.lower <= r.upper < math.inf, (name, method, r)
            # ε does not increase with δ
            assert rs[0].upper >= rs[1].lower * (1 - 1e-12), (name, method, rs)
            per_method[method] = rs
            answered += 1
        # every certified bracket holds the truth, so they overlap
        for i, d in enumerate(DELTAS if per_method else ()):
            lo = max(rs[i].lower for rs in per_method.values())
            hi = min(rs[i].upper for rs in per_method.values())
            assert lo <= hi * (1 + 1e-9) + 1e-12, (name, steps, d,
                                                   {k: rs[i] for k, rs in per_method.items()})
        if steps == 2:
            two = per_method
        else:
            # more steps never spend less
            for method, rs in per_method.items():
                if method in two:
                    assert rs[0].upper >= two[method][0].lower * (1 - 1e-12), (name, method)
    assert answered, f"no certified method answers {name}"


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_epsilon_and_delta_are_inverse(name):
    m = EXAMPLES[name]
    delta = 1e-5
    for method in CERTIFIED:
        r = _ask(acc.epsilon, m, delta=delta, steps=3, method=method)
        if r is None:
            continue
        up = _ask(acc.delta, m, epsilon=r.upper, steps=3, method=method)
        assert up is not None, (name, method)
        assert up.lower <= delta * (1 + 1e-9), (name, method, r, up)
        if r.lower > 0:
            lo = _ask(acc.delta, m, epsilon=r.lower, steps=3, method=method)
            assert lo.upper >= delta * (1 - 1e-9), (name, method, r, lo)


@pytest.mark.parametrize("name", sorted(EXAMPLES))
def test_composition_ignores_segment_order(name):
    m = EXAMPLES[name]
    g = _partner(m)
    a = Schedule(((m, 2), (g, 3)))
    b = Schedule(((g, 3), (m, 2)))
    for method in CERTIFIED:
        ra = _ask(acc.epsilon, a, delta=1e-5, method=method)
        rb = _ask(acc.epsilon, b, delta=1e-5, method=method)
        assert (ra is None) == (rb is None), (name, method)
        if ra is None:
            continue
        assert ra.lower <= rb.upper and rb.lower <= ra.upper, (name, method, ra, rb)
        assert math.isclose(ra.upper, rb.upper, rel_tol=1e-9), (name, method, ra, rb)
        assert math.isclose(ra.lower, rb.lower, rel_tol=1e-9), (name, method, ra, rb)
