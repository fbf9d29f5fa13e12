"""The samplers of issue 15 on every surface a trainer uses: the factory
(``from_parameters``), the CLI, the trainer accountant and its state files, calibration and
tables.

Tests that need the numbers of the new privacy losses are skipped while a loss is not
registered (the losses live in their own modules, accountant/loss/); the others check the
plumbing: what is built, what is refused (ValueError naming the argument), what is saved.
"""
import json

import pytest

import accountant as acc
from accountant.cli import main
from accountant.core.mechanisms import (SAMPLINGS, CyclicPoisson, DiscreteGaussian,
                                        DiscreteLaplace, EpsilonDelta, RandomAllocation,
                                        RandomizedResponse, Shuffle, TruncatedSubsampledGaussian,
                                        ZCDP, from_parameters as fp, steps_per_unit,
                                        units_from_steps)
from accountant.loss.registry import _factory_for

N, B = 60_000, 250            # an MNIST-sized set-up; t = 240 steps an epoch


def _has_loss(*mechs):
    import accountant.loss  # noqa: F401  (the built-in families register on import)
    return all(_factory_for(m) is not None for m in mechs)


def needs_loss(*mechs):
    return pytest.mark.skipif(not _has_loss(*mechs),
                              reason="privacy loss not registered in this tree yet")


TSG = TruncatedSubsampledGaussian(1.0, 0.01, 700, N)
SHUF = Shuffle(1.0, B, N)
RA = RandomAllocation(1.0, N // B)


# ---------------------------------------------------------------------------------------
# The factory
# ---------------------------------------------------------------------------------------
def test_samplings_listed():
    assert SAMPLINGS == ("poisson", "fixed", "els", "uls", "truncated", "random-allocation",
                         "shuffle")


def test_factory_builds_each_sampler():
    assert fp(1.0, 0.01, sampling="truncated", dataset_size=N, max_batch_size=700) == TSG
    assert fp(1.0, sampling="shuffle", dataset_size=N, batch_size=B) == SHUF
    assert fp(1.0, B / N, sampling="shuffle", dataset_size=N, batch_size=B) == SHUF
    assert (fp(1.0, sampling="shuffle", dataset_size=N, batch_size=B, neighboring="replace_one")
            == Shuffle(1.0, B, N, "replace_one"))
    assert fp(1.0, sampling="random-allocation", dataset_size=N, batch_size=B) == RA
    assert fp(1.0, sampling="random-allocation", steps_per_epoch=240) == RA
    assert (fp(2.0, sampling="random-allocation", steps_per_epoch=100, num_selections=10)
            == RandomAllocation(2.0, 100, 10))
    # k·n/B steps an epoch: 2 selections of 60 000 records in batches of 250 → 480 steps
    assert (fp(1.0, sampling="random-allocation", dataset_size=N, batch_size=B,
               num_selections=2) == RandomAllocation(1.0, 480, 2))
    # the old samplings are unchanged (sample_rate None means full batches there)
    assert fp(1.0) == acc.Gaussian(1.0)
    assert fp(1.0, None, sampling="fixed") == acc.SubsampledGaussian(1.0, 1.0, "fixed")


@pytest.mark.parametrize("kw,needle", [
    (dict(sampling="truncated", dataset_size=N, max_batch_size=700), "sample_rate"),
    (dict(sampling="truncated", sample_rate=0.01, max_batch_size=700), "dataset_size"),
    (dict(sampling="truncated", sample_rate=0.01, dataset_size=N), "max_batch_size"),
    (dict(sampling="truncated", sample_rate=0.01, dataset_size=N, max_batch_size=0),
     "max_batch_size"),
    (dict(sampling="truncated", sample_rate=0.01, dataset_size=N, max_batch_size=7,
          batch_size=5), "batch_size"),
    (dict(sampling="truncated", sample_rate=0.01, dataset_size=N, max_batch_size=7,
          neighboring="replace_one"), "neighboring"),
    (dict(sampling="shuffle", dataset_size=N), "batch_size"),
    (dict(sampling="shuffle", batch_size=B), "dataset_size"),
    (dict(sampling="shuffle", dataset_size=10, batch_size=11), "batch_size"),
    (dict(sampling="shuffle", dataset_size=N, batch_size=B, sample_rate=0.01), "sample_rate"),
    (dict(sampling="shuffle", dataset_size=N, batch_size=B, max_batch_size=3),
     "max_batch_size"),
    (dict(sampling="shuffle", dataset_size=N, batch_size=B, mechanism="laplace"), "mechanism"),
    (dict(sampling="shuffle", dataset_size=N, batch_size=B, examples_per_user=3),
     "examples_per_user"),
    (dict(sampling="random-allocation"), "dataset_size"),
    (dict(sampling="random-allocation", dataset_size=N, batch_size=256), "batch_size"),
    (dict(sampling="random-allocation", dataset_size=N, batch_size=B, steps_per_epoch=240),
     "steps_per_epoch"),
    (dict(sampling="random-allocation", steps_per_epoch=10, num_selections=11),
     "num_selections"),
    (dict(sampling="random-allocation", steps_per_epoch=10.5), "steps_per_epoch"),
    (dict(sampling="random-allocation", steps_per_epoch=100, sample_rate=0.5), "sample_rate"),
    (dict(sampling="random-allocation", steps_per_epoch=100, neighboring="replace_one"),
     "neighboring"),
    (dict(sampling="poisson", sample_rate=0.01, dataset_size=N), "dataset_size"),
    (dict(sampling="els", sample_rate=0.01, examples_per_user=2, num_selections=2),
     "num_selections"),
    (dict(sampling="cyclic"), "sampling"),
])
def test_factory_refuses_by_name(kw, needle):
    with pytest.raises(ValueError, match=needle):
        fp(1.0, **kw)


def test_steps_map_to_units():
    assert steps_per_unit(TSG) == 1 and units_from_steps(TSG, 7) == 7
    assert steps_per_unit(RA) == 240 and units_from_steps(RA, 480) == 2
    assert steps_per_unit(Shuffle(1.0, 256, N)) == 235            # ⌈60000/256⌉
    assert steps_per_unit(CyclicPoisson(1.0, 4, 1000, 10)) == 4
    with pytest.raises(ValueError, match=r"whole number of epochs of 240 .* 2 epochs \+ 10"):
        units_from_steps(RA, 490)
    with pytest.raises(ValueError, match="cycles"):
        units_from_steps(CyclicPoisson(1.0, 4, 1000, 10), 6)
    with pytest.raises(ValueError, match="steps"):
        units_from_steps(SHUF, 0)


# ---------------------------------------------------------------------------------------
# The CLI: parsing and one-line errors
# ---------------------------------------------------------------------------------------
SIG = ["--noise-multiplier", "1.0", "--delta", "1e-5"]


@pytest.mark.parametrize("argv,needle", [
    (["epsilon", *SIG, "--steps", "1000", "--sampling", "shuffle", "--dataset-size", str(N),
      "--batch-size", str(B)], "--steps must be a whole number of epochs of 240"),
    (["epsilon", *SIG, "--epochs", "2.5", "--sampling", "shuffle", "--dataset-size", str(N),
      "--batch-size", str(B)], "--epochs"),
    (["epsilon", *SIG, "--steps", "240", "--epochs", "1", "--sampling", "shuffle",
      "--dataset-size", str(N), "--batch-size", str(B)], "--steps or --epochs"),
    (["epsilon", *SIG, "--steps", "240", "--sampling", "shuffle", "--dataset-size", str(N)],
     "--batch-size"),
    (["epsilon", *SIG, "--steps", "240", "--sampling", "shuffle", "--dataset-size", str(N),
      "--batch-size", str(B), "--max-batch-size", "300"], "--max-batch-size does not apply"),
    (["epsilon", *SIG, "--steps", "240", "--sampling", "shuffle", "--dataset-size", str(N),
      "--batch-size", str(B), "--sample-rate", "0.01"], "sample_rate"),
    (["epsilon", *SIG, "--steps", "10", "--sampling", "truncated", "--dataset-size", str(N),
      "--max-batch-size", "700"], "--sample-rate"),
    (["epsilon", *SIG, "--steps", "10", "--sample-rate", "0.01", "--sampling", "truncated",
      "--dataset-size", str(N)], "--max-batch-size"),
    (["epsilon", *SIG, "--steps", "10", "--sampling", "random-allocation",
      "--dataset-size", str(N), "--batch-size", "256"], "--batch-size must divide"),
    (["delta", "--noise-multiplier", "1", "--epsilon", "1", "--steps", "10", "--sampling",
      "random-allocation", "--steps-per-epoch", "10", "--selections", "11"], "--selections must"),
    (["epsilon", *SIG, "--steps", "10", "--sample-rate", "0.01", "--dataset-size", str(N)],
     "--dataset-size does not apply to sampling='poisson'"),
    (["calibrate", "--epsilon", "3", "--delta", "1e-5", "--steps", "1000", "--sampling",
      "shuffle", "--dataset-size", str(N), "--batch-size", str(B)],
     "--steps must be a whole number of epochs"),
    (["calibrate", "--epsilon", "3", "--delta", "1e-5", "--steps", "100", "--sampling",
      "truncated", "--dataset-size", str(N), "--max-batch-size", "700"], "--sample-rate"),
    (["calibrate", "--epsilon", "3", "--delta", "1e-5", "--steps", "100", "--sample-rate",
      "0.01", "--sampling", "truncated", "--dataset-size", str(N)], "--max-batch-size"),
    (["table", "--epsilon", "3", "--delta", "1e-5", "--sample-rate", "0.01", "--steps", "10",
      "--sampling", "shuffle", "--output", "x.csv"], "--sampling"),
    (["table", "--epsilon", "3", "--delta", "1e-5", "--sample-rate", "0.01", "--steps", "10",
      "--sampling", "truncated", "--dataset-size", str(N), "--output", "x.csv"],
     "--max-batch-size required"),
    (["compare", "--sampling", "shuffle"], "--sampling"),
])
def test_cli_errors_are_one_line_exit_2(capsys, argv, needle):
    assert main(argv) == 2
    cap = capsys.readouterr()
    lines = cap.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("dp-accountant: error: ")
    assert needle in lines[0]
    assert cap.out == ""


@pytest.mark.parametrize("command", ["epsilon", "delta", "calibrate"])
def test_cli_help_lists_the_sampler_flags(capsys, command):
    with pytest.raises(SystemExit) as exc:
        main([command, "--help"])
    assert exc.value.code == 0
    text = capsys.readouterr().out
    for flag in ("--dataset-size", "--max-batch-size", "--batch-size", "--selections",
                 "random-allocation", "shuffle", "truncated"):
        assert flag in text


# ---------------------------------------------------------------------------------------
# Trainer accountant: recording, partial epochs, state files
# ---------------------------------------------------------------------------------------
NEW_TYPES = [TSG, SHUF, Shuffle(0.7, 100, 1000, "replace_one"), RA,
             RandomAllocation(2.0, 100, 10), CyclicPoisson(1.0, 4, 1000, 10),
             DiscreteGaussian(2.0, 3), DiscreteLaplace(0.5, 2), RandomizedResponse(0.25, 4),
             ZCDP(0.1, 0.01), EpsilonDelta(1.0, 1e-6)]


@pytest.mark.parametrize("mech", NEW_TYPES, ids=lambda m: type(m).__name__)
def test_state_round_trip_of_each_new_type(tmp_path, mech):
    a = acc.PrivacyAccountant()
    a.compose(mech, 3)
    a.save(tmp_path / "s.json")
    b = acc.PrivacyAccountant.load(tmp_path / "s.json")
    assert b.history == [(mech, 3)] and b.state_dict() == a.state_dict()
    saved = json.loads((tmp_path / "s.json").read_text())["payload"]["history"][0][0]
    assert saved["type"] == type(mech).__name__
    # floats as float.hex strings, integers as JSON integers
    import dataclasses
    for f in dataclasses.fields(mech):
        val = getattr(mech, f.name)
        if isinstance(val, float):
            assert saved[f.name] == val.hex()
        elif isinstance(val, int):
            assert saved[f.name] == val and type(saved[f.name]) is int


def _resealed(state):
    from accountant.session.trainer import _checksum
    state = json.loads(json.dumps(state))
    state["sha256"] = _checksum(state["payload"])
    return state


@pytest.mark.parametrize("edit,needle", [
    (lambda h: h.__setitem__("max_batch_size", (700.0).hex()), "max_batch_size"),
    (lambda h: h.__setitem__("max_batch_size", 700.0), "max_batch_size"),
    (lambda h: h.__setitem__("sample_rate", 0.01), "sample_rate"),
    (lambda h: h.pop("dataset_size"), "dataset_size"),
    (lambda h: h.__setitem__("batch_size", 5), "batch_size"),
    (lambda h: h.__setitem__("max_batch_size", 0), "max_batch_size"),
])
def test_strict_reading_of_new_types(edit, needle):
    a = acc.PrivacyAccountant().compose(TSG, 2)
    state = a.state_dict()
    edit(state["payload"]["history"][0][0])
    with pytest.raises(ValueError, match=needle):
        acc.PrivacyAccountant().load_state_dict(_resealed(state))


def test_trainer_steps_of_each_sampler():
    a = acc.PrivacyAccountant()
    a.step(1.0, 0.01, 10, sampling="truncated", dataset_size=N, max_batch_size=700)
    assert a.history == [(TSG, 10)] and a.partial_epoch is None
    for _ in range(500):          # 2 epochs of 240 steps and 20 steps
        a.step(1.0, sampling="shuffle", dataset_size=N, batch_size=B)
    assert a.history == [(TSG, 10), (SHUF, 2)] and len(a) == 12
    assert a.partial_epoch == (SHUF, 20, 240)
    a.step(1.0, steps=220, sampling="shuffle", dataset_size=N, batch_size=B)
    assert a.history == [(TSG, 10), (SHUF, 3)] and a.partial_epoch is None
    a.step(1.0, steps=250, sampling="random-allocation", steps_per_epoch=240)
    assert a.history[-1] == (RA, 1) and a.partial_epoch == (RA, 10, 240)
    # a per-step mechanism may be recorded meanwhile; another per-epoch one may not
    a.step(1.0, 0.01, 5, sampling="truncated", dataset_size=N, max_batch_size=700)
    assert a.partial_epoch == (RA, 10, 240)
    before = a.state_dict()
    with pytest.raises(ValueError, match="incomplete"):
        a.step(1.0, sampling="shuffle", dataset_size=N, batch_size=B)
    with pytest.raises(ValueError, match="dataset_size"):
        a.step(1.0, sampling="shuffle", batch_size=B)
    with pytest.raises(ValueError, match="neighboring"):
        a.step(1.0, 0.01, sampling="fixed")
    assert a.state_dict() == before            # nothing recorded by a refused step
    a.reset()
    assert a.partial_epoch is None and len(a) == 0


def test_partial_epoch_is_saved_and_read_strictly(tmp_path):
    a = acc.PrivacyAccountant().step(1.0, steps=250, sampling="shuffle", dataset_size=N,
                                     batch_size=B)
    a.save(tmp_path / "s.json")
    b = acc.PrivacyAccountant.load(tmp_path / "s.json")
    assert b.history == [(SHUF, 1)] and b.partial_epoch == (SHUF, 10, 240)
    b.step(1.0, steps=230, sampling="shuffle", dataset_size=N, batch_size=B)
    assert b.history == [(SHUF, 2)] and b.partial_epoch is None
    with pytest.raises(ValueError, match="partial epoch"):
        acc.load_schedule(tmp_path / "s.json") if hasattr(acc, "load_schedule") else \
            __import__("accountant.session.trainer", fromlist=["x"]).load_schedule(
                tmp_path / "s.json")
    # a state without a partial epoch has no such key (older states stay byte-identical)
    assert "partial_epoch" not in b.state_dict()["payload"]
    good = a.state_dict()
    for edit, needle in [
        (lambda p: p["partial_epoch"].__setitem__(1, 240), "partial_epoch steps"),
        (lambda p: p["partial_epoch"].__setitem__(1, 0), "partial_epoch steps"),
        (lambda p: p["partial_epoch"].__setitem__(1, 10.0), "partial_epoch steps"),
        (lambda p: p.__setitem__("partial_epoch", [p["history"][0][0]]), "pair"),
        (lambda p: p["partial_epoch"].__setitem__(0, {"type": "Gaussian",
                                                      "noise_multiplier": (1.0).hex(),
                                                      "neighboring": "add_remove"}),
         "per-epoch"),
        (lambda p: p.__setitem__("partial_epochs", p.pop("partial_epoch")), "unknown key"),
    ]:
        state = json.loads(json.dumps(good))
        edit(state["payload"])
        with pytest.raises(ValueError, match=needle):
            acc.PrivacyAccountant().load_state_dict(_resealed(state))


# ---------------------------------------------------------------------------------------
# Calibration and tables: arguments
# ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("kw,needle", [
    (dict(sampling="shuffle", dataset_size=N, batch_size=B, steps=1000), "whole number"),
    (dict(sampling="shuffle", dataset_size=N, steps=240), "batch_size"),
    (dict(sampling="truncated", dataset_size=N, max_batch_size=700, steps=10), "sample_rate"),
    (dict(sampling="poisson", sample_rate=0.01, steps=10, dataset_size=N), "dataset_size"),
    (dict(sampling="shuffle", dataset_size=N, batch_size=B, steps=240,
          schedule=acc.Schedule([(acc.Gaussian(1.0), 1)])), "schedule"),
])
def test_calibrate_checks_sampler_arguments(kw, needle):
    from accountant.calibration.search import calibrate
    with pytest.raises(ValueError, match=needle):
        calibrate(3.0, 1e-5, **kw)


def test_steps_and_rate_searches_refuse_per_epoch_samplers():
    from accountant.calibration.search import calibrate_sample_rate, calibrate_steps
    with pytest.raises(ValueError, match="calibrate_steps"):
        calibrate_steps(1.0, 3.0, 1e-5, sampling="shuffle")
    with pytest.raises(ValueError, match="calibrate_sample_rate"):
        calibrate_sample_rate(1.0, 3.0, 1e-5, 100, sampling="random-allocation")
    with pytest.raises(ValueError, match="max_batch_size"):
        calibrate_steps(1.0, 3.0, 1e-5, 0.01, sampling="truncated", dataset_size=N)
    from accountant.calibration.tables import noise_table
    with pytest.raises(ValueError, match="shuffle"):
        noise_table([3], [1e-5], [0.01], steps=[10], sampling="shuffle")


# ---------------------------------------------------------------------------------------
# With the losses: numbers through every surface
# ---------------------------------------------------------------------------------------
@needs_loss(TSG)
def test_truncated_numbers_agree_across_surfaces(capsys):
    direct = acc.epsilon(TSG, delta=1e-5, steps=100)
    assert main(["epsilon", *SIG, "--steps", "100", "--sample-rate", "0.01", "--sampling",
                 "truncated", "--dataset-size", str(N), "--max-batch-size", "700",
                 "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["upper"] == direct.upper and out["lower"] == direct.lower
    a = acc.PrivacyAccountant()
    for _ in range(100):
        a.step(1.0, 0.01, sampling="truncated", dataset_size=N, max_batch_size=700)
    r = a.get_epsilon(1e-5)
    assert r.lower <= direct.upper and direct.lower <= r.upper
    # (truncation is not a post-processing of the Poisson batch — the record can push
    # another one out — so no ordering against the Poisson value is asserted here)


@needs_loss(TSG)
def test_calibrate_truncated_is_within_budget():
    from accountant.calibration.search import calibrate
    c = calibrate(3.0, 1e-5, 0.01, 1000, sampling="truncated", dataset_size=N,
                  max_batch_size=700)
    assert c.certified and c.epsilon <= 3.0 and c.steps == 1000 and c.sample_rate == 0.01
    r = acc.epsilon(TruncatedSubsampledGaussian(c.noise_multiplier, 0.01, 700, N),
                    delta=1e-5, steps=1000)
    assert r.upper <= 3.0 * (1 + 1e-9)


@needs_loss(SHUF)
def test_shuffle_result_says_bracket_and_no_poisson(capsys):
    argv = ["epsilon", *SIG, "--steps", "480", "--sampling", "shuffle", "--dataset-size",
            str(N), "--batch-size", str(B)]
    assert main(argv) == 0
    text = capsys.readouterr().out
    assert "proven lower bound from the shuffle attack" in text
    assert "proven upper bound without amplification" in text
    assert "Poisson accounting (rate B/n) does not apply" in text
    assert text.count("note:") == 1      # the loss's note, once
    assert main(argv + ["--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["bracket"] == "[attack lower bound, unamplified upper bound]"
    assert any("does not apply" in n and "Poisson" in n for n in out["notes"])
    direct = acc.epsilon(SHUF, delta=1e-5, steps=2)
    assert out["upper"] == direct.upper and out["lower"] == direct.lower


@needs_loss(SHUF)
def test_partial_epoch_bracket_is_whole_epochs_around_it():
    a = acc.PrivacyAccountant()
    a.step(1.0, steps=2 * 240 + 100, sampling="shuffle", dataset_size=N, batch_size=B)
    r = a.get_epsilon(1e-5)
    two = acc.epsilon(SHUF, delta=1e-5, steps=2)
    three = acc.epsilon(SHUF, delta=1e-5, steps=3)
    assert r.lower == pytest.approx(two.lower, rel=1e-9)
    assert r.upper == pytest.approx(three.upper, rel=1e-9)
    assert r.details["partial_epoch"] == {"mechanism": "Shuffle", "steps_done": 100,
                                          "steps_per_epoch": 240}
    assert any(w.startswith("partial_epoch") for w in r.warnings)
    # every answer of a history with Shuffle steps carries the loss's note, whichever path
    # computed it (PLD, the incremental RDP engine, a partial epoch)
    for method in ("pld", "rdp"):
        for b in (a, acc.PrivacyAccountant().compose(SHUF, 2)):
            notes = b.get_epsilon(1e-5, method=method).details.get("notes", [])
            assert any("Poisson accounting" in n for n in notes), (method, notes)


@needs_loss(RA)
def test_random_allocation_through_cli_and_trainer(capsys):
    direct = acc.epsilon(RA, delta=1e-5, steps=2)
    assert main(["epsilon", *SIG, "--epochs", "2", "--sampling", "random-allocation",
                 "--dataset-size", str(N), "--batch-size", str(B), "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["upper"] == direct.upper and out["lower"] == direct.lower
    a = acc.PrivacyAccountant().step(1.0, steps=480, sampling="random-allocation",
                                     dataset_size=N, batch_size=B)
    r = a.get_epsilon(1e-5)
    assert r.lower <= direct.upper and direct.lower <= r.upper
