"""The dp-accountant command: output contract and one-line errors."""
import json
import subprocess
import sys

import pytest

from accountant.cli import main

BASE = ["--noise-multiplier", "1.0", "--sample-rate", "0.01", "--steps", "1000"]


def test_epsilon_json_contract(capsys):
    assert main(["epsilon", *BASE, "--delta", "1e-5", "--method", "rdp", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    for key in ("method", "epsilon", "estimate", "lower", "upper", "certified", "seconds"):
        assert key in out
    assert out["method"] == "rdp" and out["certified"] is True
    # dp_accounting 0.6 RDP on its fixed grid gives 2.101367; ours may only be lower
    assert 2.08 < out["epsilon"] <= 2.101367
    assert out["lower"] <= out["upper"] == out["epsilon"]


def test_delta_json(capsys):
    assert main(["delta", *BASE, "--epsilon", "2.2", "--method", "rdp", "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert 0 < out["delta"] < 1e-5


def test_method_all_table_and_json(capsys):
    assert main(["epsilon", *BASE, "--delta", "1e-5", "--method", "all"]) == 0
    text = capsys.readouterr().out
    assert "rdp" in text and "certified" in text
    assert main(["epsilon", *BASE, "--delta", "1e-5", "--method", "all", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert isinstance(rows, list) and {"rdp"} <= {r["method"] for r in rows}
    for r in rows:
        if "error" not in r:
            assert r["lower"] <= float(r["upper"])
            assert r["kind"] == ("certified" if r["certified"] else "estimate")
            assert r["certified"] in (True, False)


def test_user_level_flags(capsys):
    assert main(["epsilon", *BASE, "--delta", "1e-5", "--method", "rdp", "--sampling", "els",
                 "--examples-per-user", "1", "--json"]) == 0
    els1 = json.loads(capsys.readouterr().out)["epsilon"]
    assert main(["epsilon", *BASE, "--delta", "1e-5", "--method", "rdp", "--json"]) == 0
    psg = json.loads(capsys.readouterr().out)["epsilon"]
    assert els1 == pytest.approx(psg, rel=1e-9)


Q = ["--sample-rate", "0.01", "--steps", "100"]


@pytest.mark.parametrize("argv,needle", [
    (["epsilon", "--noise-multiplier", "0", *Q, "--delta", "1e-5"], "noise_multiplier"),
    (["epsilon", "--noise-multiplier", "nan", *Q, "--delta", "1e-5"], "noise_multiplier"),
    (["epsilon", "--noise-multiplier", "1", "--sample-rate", "1.5", "--steps", "10",
      "--delta", "1e-5"], "sample_rate"),
    (["epsilon", "--noise-multiplier", "1", *Q, "--delta", "1"], "delta"),
    (["epsilon", "--noise-multiplier", "1", "--sample-rate", "0.1", "--steps", "0",
      "--delta", "1e-5"], "steps"),
    (["epsilon", "--noise-multiplier", "1", "--sample-rate", "0.1", "--steps", "2.5",
      "--delta", "1e-5"], "steps"),
    (["delta", "--noise-multiplier", "1", *Q, "--epsilon", "-1"], "epsilon"),
    (["epsilon", "--noise-multiplier", "1", *Q, "--delta", "1e-5", "--method", "nope"], "method"),
    (["epsilon", "--noise-multiplier", "1", *Q, "--delta", "1e-5", "--sampling", "els"],
     "examples-per-user"),
    (["epsilon", *Q, "--delta", "1e-5"], "noise-multiplier"),
    (["epsilon", "--noise-multiplier", "1", *Q, "--epochs", "3", "--delta", "1e-5"], "not both"),
    (["frobnicate"], "invalid choice"),
])
def test_errors_are_one_line_exit_2(capsys, argv, needle):
    assert main(argv) == 2
    cap = capsys.readouterr()
    lines = cap.err.strip().splitlines()
    assert len(lines) == 1 and needle in lines[0]
    assert "Traceback" not in cap.err and cap.out == ""


def test_module_entry_point_exit_code():
    proc = subprocess.run([sys.executable, "-m", "accountant", "epsilon", "--noise-multiplier",
                           "-2", *Q, "--delta", "1e-5"], capture_output=True, text=True,
                          timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.count("\n") == 1 and "noise_multiplier" in proc.stderr


def test_state_file(tmp_path, capsys):
    import accountant as acc
    a = acc.PrivacyAccountant(method="rdp")
    a.step(noise_multiplier=1.0, sample_rate=0.01, steps=600)
    a.step(noise_multiplier=1.0, sample_rate=0.01, steps=400)
    path = tmp_path / "state.json"
    a.save(path)
    assert main(["epsilon", "--state", str(path), "--delta", "1e-5", "--method", "rdp", "--json"]) == 0
    via_state = json.loads(capsys.readouterr().out)["epsilon"]
    assert main(["epsilon", *BASE, "--delta", "1e-5", "--method", "rdp", "--json"]) == 0
    direct = json.loads(capsys.readouterr().out)["epsilon"]
    assert via_state == pytest.approx(direct, rel=1e-6)
    path.write_text(path.read_text()[:-20])
    assert main(["epsilon", "--state", str(path), "--delta", "1e-5"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "state" in err[0].lower()


@pytest.mark.parametrize("argv,missing", [
    # the case: σ and δ given, q and T silently became 1 (ε = 3.92 "certified")
    (["epsilon", "--noise-multiplier", "1.1", "--delta", "1e-5"],
     ["--sample-rate", "--steps (or --epochs)"]),
    (["epsilon"], ["--noise-multiplier", "--sample-rate", "--steps", "--delta"]),
    (["delta", "--noise-multiplier", "1", "--sample-rate", "0.01", "--steps", "5"],
     ["--epsilon"]),
    (["calibrate", "--epsilon", "2", "--delta", "1e-5"], ["--sample-rate", "--steps"]),
    (["calibrate", "--sample-rate", "0.1", "--steps", "10"], ["--epsilon", "--delta"]),
    (["epsilon", "--state", "s.json"], ["--delta"]),
])
def test_quantities_that_change_the_answer_are_required(capsys, argv, missing):
    assert main(argv) == 2
    cap = capsys.readouterr()
    lines = cap.err.strip().splitlines()
    assert cap.out == "" and len(lines) == 1
    for flag in missing:
        assert flag in lines[0]


def test_full_batch_single_step_must_be_stated(capsys):
    assert main(["epsilon", "--noise-multiplier", "1.1", "--sample-rate", "1", "--steps", "1",
                 "--delta", "1e-5", "--json"]) == 0
    r = json.loads(capsys.readouterr().out)
    assert r["certified"] and r["lower"] <= r["upper"] and abs(r["upper"] - 3.92125) < 1e-5
    # epochs are steps = ceil(epochs / q)
    assert main(["epsilon", "--noise-multiplier", "1.1", "--sample-rate", "0.01", "--epochs",
                 "2", "--delta", "1e-5", "--method", "rdp", "--json"]) == 0
    by_epochs = json.loads(capsys.readouterr().out)["epsilon"]
    assert main(["epsilon", "--noise-multiplier", "1.1", "--sample-rate", "0.01", "--steps",
                 "200", "--delta", "1e-5", "--method", "rdp", "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["epsilon"] == by_epochs


def test_estimates_are_labelled_and_warnings_printed(capsys):
    argv = ["epsilon", "--noise-multiplier", "1.1", *BASE[2:], "--delta", "1e-5"]
    assert main(argv + ["--method", "edgeworth"]) == 0
    out = capsys.readouterr().out
    first = out.splitlines()[0]
    assert "ESTIMATE, not a proven bound" in first and "certified" not in first
    assert "warning: vacuous_interval" in out
    assert main(argv + ["--method", "edgeworth", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["certified"] is False and d["kind"] == "estimate"
    assert "vacuous_interval" in d["warnings"]
    assert d["upper"] == "inf"          # the schema: infinities as strings, strict JSON
    # a certified PLD bracket that is wider than asked says so in the text report
    assert main(["epsilon", "--noise-multiplier", "1", "--sample-rate", "1e-5", "--steps",
                 "1000", "--delta", "1e-15"]) == 0
    out = capsys.readouterr().out
    assert "certified bracket" in out and "warning: bracket_wider_than_requested" in out


def test_calibrate_with_an_estimate_method_is_not_called_certified(capsys):
    assert main(["calibrate", "--epsilon", "2", "--delta", "1e-5", "--sample-rate", "0.01",
                 "--epochs", "1", "--method", "edgeworth", "--no-lookup"]) == 0
    out = capsys.readouterr().out
    assert "certified" not in out and "ESTIMATE" in out
    assert main(["calibrate", "--epsilon", "2", "--delta", "1e-5", "--sample-rate", "0.01",
                 "--epochs", "1", "--method", "edgeworth", "--no-lookup", "--json"]) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["kind"] == "estimate" and d["certified"] is False
    assert "certified_epsilon" not in d


@pytest.mark.parametrize("argv,needle", [
    ([], "a command is required"),          # printed the help on stdout, no error line
    (["--bogus"], "unrecognized arguments: --bogus"),
    (["--json"], "unrecognized arguments"),
    (["epsilon"], "missing required arguments"),
    (["delta", "--bogus"], "unrecognized arguments"),
])
def test_usage_errors_follow_the_contract(capsys, argv, needle):
    assert main(argv) == 2
    cap = capsys.readouterr()
    lines = cap.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("dp-accountant: error: ")
    assert needle in lines[0]
    assert cap.out == "" and "Traceback" not in cap.err
    if not argv:
        for cmd in ("epsilon", "delta", "calibrate", "compare"):
            assert cmd in lines[0]


@pytest.mark.parametrize("argv", [["--help"], ["-h"], ["epsilon", "--help"],
                                  ["delta", "--help"], ["calibrate", "--help"]])
def test_help_still_prints_and_exits_0(capsys, argv):
    with pytest.raises(SystemExit) as info:
        main(argv)
    assert info.value.code == 0
    cap = capsys.readouterr()
    assert "usage: dp-accountant" in cap.out and cap.err == ""


def test_no_command_exits_2_from_the_shell():
    proc = subprocess.run([sys.executable, "-m", "accountant"], capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 2 and proc.stdout == ""
    assert proc.stderr.startswith("dp-accountant: error: a command is required")
    assert proc.stderr.count("\n") == 1


TINY = ["--noise-multiplier", "0.001", "--sample-rate", "4.9406564584124654e-324",
        "--steps", "30"]


def test_edgeworth_at_a_subnormal_rate_is_a_row_not_a_traceback(capsys):
    # was ZeroDivisionError out of main(): the Edgeworth kernels divided by s³ = 0
    assert main(["epsilon", *TINY, "--delta", "9.47305612507815e-05", "--sampling", "uls",
                 "--examples-per-user", "1", "--method", "all"]) == 0
    cap = capsys.readouterr()
    assert "Traceback" not in cap.err and cap.err == ""
    rows = {line.split()[0]: line for line in cap.out.splitlines() if line.strip()}
    assert "pld" in rows and "certified" in rows["pld"]
    assert "n/a: method 'edgeworth'" in rows["edgeworth"]
    # asked alone, the refusal is the one-line error
    assert main(["epsilon", *TINY, "--delta", "1e-4", "--method", "edgeworth"]) == 2
    cap = capsys.readouterr()
    lines = cap.err.splitlines()
    assert len(lines) == 1 and lines[0].startswith("dp-accountant: error: method 'edgeworth'")
    assert cap.out == ""


def test_epochs_at_a_subnormal_rate_is_a_usage_error(capsys):
    # found by the fuzz suite: epochs / 5e-324 = inf, and ceil(inf) raised OverflowError
    rc = main(["epsilon", "--noise-multiplier", "3.2e8", "--sample-rate", "4.94066e-324",
               "--epochs", "0.025", "--delta", "1e-5"])
    err = capsys.readouterr().err.strip().splitlines()
    assert rc == 2 and len(err) == 1 and "--epochs" in err[0] and "steps" in err[0]
