"""Warnings reach people and every surface speaks one JSON schema (issue 12, items 3 and 6)."""
import json
import math
import warnings

import pytest

import accountant as acc
from accountant.core import _json
from accountant.core.bounds import Result

# σ = 1, q = 1e-5, T = 1000, δ = 1e-15: the certified PLD bracket is ~30 % wide (round-off
# limits it), which the result must say wherever it is shown.
WIDE = dict(mechanism=acc.SubsampledGaussian(1.0, 1e-5), delta=1e-15, steps=1000)


def _wide(**kw):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        r = acc.epsilon(WIDE["mechanism"], delta=WIDE["delta"], steps=WIDE["steps"], **kw)
    return r, [w for w in caught if issubclass(w.category, acc.AccountantWarning)]


def test_wide_bracket_warns_in_str_and_as_python_warning():
    r, caught = _wide()
    assert r.certified and (r.upper - r.lower) / r.upper > 0.05
    assert any(w.startswith("bracket_wider_than_requested") for w in r.warnings)
    text = str(r)
    assert "warning: bracket_wider_than_requested" in text
    assert len(caught) == len(r.warnings) >= 1
    assert all(str(w.message).startswith("pld: ") for w in caught)


def test_warnings_can_be_silenced_the_usual_way():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        warnings.filterwarnings("ignore", category=acc.AccountantWarning)
        r = acc.epsilon(WIDE["mechanism"], delta=WIDE["delta"], steps=WIDE["steps"])
    assert r.warnings and not [w for w in caught if issubclass(w.category, acc.AccountantWarning)]


def test_estimate_str_never_says_certified():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = acc.epsilon(acc.SubsampledGaussian(1.1, 0.01), delta=1e-5, steps=1000,
                        method="edgeworth")
    assert not r.certified and r.kind == "estimate"
    assert "certified" not in str(r).splitlines()[0] and "ESTIMATE" in str(r)


def test_trainer_accountant_warns_once_per_query():
    a = acc.PrivacyAccountant(method="pld")
    a.step(noise_multiplier=1.0, sample_rate=1e-5, steps=1000)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        r = a.get_epsilon(1e-15)
    ours = [w for w in caught if issubclass(w.category, acc.AccountantWarning)]
    assert r.warnings and len(ours) == len(r.warnings)


def test_calibrate_reports_the_final_diagnostics_not_every_evaluation():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        c = acc.calibrate(3.0, 1e-5, 0.01, 1000, method="edgeworth")
    ours = [w for w in caught if issubclass(w.category, acc.AccountantWarning)]
    assert c.kind == "estimate" and not c.certified
    assert len(ours) == len(c.warnings)
    with pytest.raises(ValueError, match="estimate"):
        c.certified_epsilon  # noqa: B018 - an estimate is not a certified epsilon


def test_json_schema_strict_infinities_and_kinds():
    r = Result("epsilon", 1e-5, 1.0, 0.0, math.inf, False, "edgeworth", ("vacuous_interval",))
    d = json.loads(_json.dumps(r.as_dict()))
    assert d["upper"] == "inf" and d["kind"] == "estimate" and d["certified"] is False
    assert d["warnings"] == ["vacuous_interval"] and d["quantity"] == "epsilon"
    assert d["delta"] == 1e-5 and d["epsilon"] == 1.0
    c = Result("epsilon", 1e-5, 2.0, 1.9, 2.0, True, "pld")
    d = json.loads(_json.dumps(c.as_dict()))
    assert d["kind"] == "certified" and d["warnings"] == []
    with pytest.raises(ValueError, match="NaN"):
        _json.dumps({"x": float("nan")})
    # numpy scalars become plain JSON numbers
    import numpy as np
    assert json.loads(_json.dumps({"a": np.float64(-np.inf), "b": np.int64(3)})) == \
        {"a": "-inf", "b": 3}
