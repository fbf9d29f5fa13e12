"""Tables (grid → CSV/JSON/Markdown); the shipped lookup table is in test_lookup.py."""
import csv
import dataclasses
import importlib.util
import io
import json
import math
import os
import re
import signal
import subprocess
import sys
import time
import warnings

import pytest

import accountant as acc
import accountant.calibration.tables as tables
from accountant.calibration.search import calibrate
from accountant.cli import main
from accountant.calibration.tables import COLUMNS, noise_table, write_table

GRID = dict(epsilons="2,4", deltas="1e-5", sample_rates="0.02,0.05", epochs="1,3")
KINDS = {"certified", "estimate"}


def test_noise_table_rows_and_monotone():
    rows = noise_table(GRID["epsilons"], GRID["deltas"], GRID["sample_rates"],
                       epochs=GRID["epochs"], workers=1)
    assert len(rows) == 8
    for r in rows:
        assert set(COLUMNS) <= set(r)
        assert r["steps"] == math.ceil(r["epochs"] / r["sample_rate"])
        # PLD: the ε spent at σ is a proven bound, at most the target
        assert r["certified"] is True and r["kind"] == "certified"
        assert r["epsilon"] <= r["target_epsilon"]
        assert r["method"] == "pld" and r["warnings"] == []
    by = {(r["target_epsilon"], r["sample_rate"], r["epochs"]): r["noise_multiplier"]
          for r in rows}
    for e in (2.0, 4.0):
        for q in (0.02, 0.05):
            assert by[(e, q, 1.0)] < by[(e, q, 3.0)]          # more steps, more noise
        assert by[(e, 0.02, 3.0)] < by[(e, 0.05, 3.0)]        # larger q, more noise
    assert by[(4.0, 0.05, 3.0)] < by[(2.0, 0.05, 3.0)]        # larger ε, less noise
    # Same answer as a direct calibration (warm starts change the path, not the guarantee).
    direct = calibrate(2.0, 1e-5, 0.05, 60)
    assert by[(2.0, 0.05, 3.0)] == pytest.approx(direct.noise_multiplier, rel=2e-3)


def test_columns_no_longer_claim_certified_epsilon():
    assert "certified_epsilon" not in COLUMNS
    assert COLUMNS[:1] == ("target_epsilon",)
    assert {"epsilon", "certified", "kind"} <= set(COLUMNS)


def test_steps_axis_and_parallel_workers():
    rows = noise_table("3", "1e-5", "0.05", steps="20,40", workers=2)
    assert [r["steps"] for r in rows] == [20, 40]
    assert rows[0]["epochs"] == pytest.approx(1.0)
    assert all(r["epsilon"] <= 3.0 and r["kind"] == "certified" for r in rows)


# ---------------------------------------------------------------------- estimates
def test_edgeworth_rows_are_estimates_and_really_overspend():
    with warnings.catch_warnings():
        # the diagnostics belong in the rows: none may escape as a warning
        warnings.simplefilter("error", acc.AccountantWarning)
        rows = noise_table("2", "1e-5", "0.01", epochs="1,2", method="edgeworth", workers=1)
    for r in rows:
        assert r["kind"] == "estimate" and r["certified"] is False
        assert r["warnings"] and all(isinstance(w, str) for w in r["warnings"])
    # Why it must say so: at the 1-epoch σ (≈ 0.618) the certified PLD bracket is ≈ 3.49,
    # far above the target 2 that Edgeworth "meets".
    r = rows[0]
    assert r["steps"] == 100 and r["noise_multiplier"] == pytest.approx(0.618, abs=2e-3)
    spent = acc.epsilon(acc.SubsampledGaussian(r["noise_multiplier"], 0.01), delta=1e-5,
                        steps=100)
    assert spent.certified and spent.lower > 3.4 > r["target_epsilon"]


def test_kind_follows_each_cell(monkeypatch):
    """A method certified in some cells only (the saddle point) marks each row itself."""
    import accountant.calibration.search as cal
    real = cal.calibrate

    def half_certified(*args, **kw):
        c = real(*args, **kw)
        return dataclasses.replace(c, certified=c.steps % 40 == 0)  # 40 steps: certified
    monkeypatch.setattr(cal, "calibrate", half_certified)
    rows = noise_table("3", "1e-5", "0.05", steps="20,40", workers=1)
    assert [(r["certified"], r["kind"]) for r in rows] == [(False, "estimate"),
                                                           (True, "certified")]


def test_cli_says_estimates_are_not_guarantees(tmp_path, capsys):
    out = tmp_path / "t.csv"
    code = main(["table", "--epsilon", "2", "--delta", "1e-5", "--sample-rate", "0.01",
                 "--epochs", "1,2", "--method", "edgeworth", "--workers", "1",
                 "--no-progress", "--output", str(out)])
    assert code == 0
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "estimate" in err[0] and "not guarantees" in err[0]
    rows = list(csv.DictReader(out.read_text().splitlines()))
    assert {r["kind"] for r in rows} == {"estimate"}
    assert {r["certified"] for r in rows} == {"false"}
    assert all(r["warnings"] for r in rows)            # semicolon-joined diagnostics
    # a certified table says nothing of the kind
    main(["table", "--epsilon", "2", "--delta", "1e-5", "--sample-rate", "0.05",
          "--epochs", "1", "--workers", "1", "--no-progress", "--output", str(out)])
    assert capsys.readouterr().err == ""


def test_worker_warnings_are_recorded_not_printed(capfd):
    rows = noise_table("2,4", "1e-5", "0.01", epochs="1,2", method="edgeworth", workers=2)
    err = capfd.readouterr().err
    assert "AccountantWarning" not in err and "negative_density" not in err
    assert all("vacuous_interval" in r["warnings"] for r in rows)


# ---------------------------------------------------------------------- output
@pytest.mark.parametrize("ext", ["csv", "json", "md"])
def test_cli_table_writes_formats(tmp_path, capsys, ext):
    out = tmp_path / f"t.{ext}"
    code = main(["table", "--epsilon", "2,4", "--delta", "1e-5", "--sample-rate", "0.05",
                 "--epochs", "1,2", "--workers", "1", "--output", str(out)])
    assert code == 0
    assert "wrote 4 cells" in capsys.readouterr().out
    text = out.read_text()
    if ext == "csv":
        rows = list(csv.DictReader(text.splitlines()))
        assert list(rows[0].keys()) == list(COLUMNS)       # no warnings column: none has one
        assert len(rows) == 4
        assert float(rows[0]["epsilon"]) <= float(rows[0]["target_epsilon"])
        assert rows[0]["certified"] == "true" and rows[0]["kind"] == "certified"
        assert int(rows[1]["steps"]) == 40
    elif ext == "json":
        rows = json.loads(text)
        # the project's JSON schema: kind in {certified, estimate}, warnings always a list
        assert len(rows) == 4 and list(rows[0].keys()) == list(COLUMNS) + ["warnings"]
        for r in rows:
            assert r["kind"] in KINDS and r["certified"] is (r["kind"] == "certified")
            assert r["warnings"] == []
    else:
        lines = text.strip().splitlines()
        assert lines[0] == "| " + " | ".join(COLUMNS) + " |"
        assert len(lines) == 6 and "| certified |" in lines[2]
    assert sorted(os.listdir(tmp_path)) == [f"t.{ext}"]    # no temporary file left


def _row(**kw):
    r = {"target_epsilon": 1.0, "delta": 1e-5, "sample_rate": 0.01, "epochs": 1.0,
         "steps": 100, "noise_multiplier": 1.23456701, "epsilon": 0.99999912,
         "certified": True, "kind": "certified", "method": "pld", "warnings": []}
    r.update(kw)
    return r


def test_markdown_rounds_up(tmp_path):
    p = tmp_path / "x.md"
    write_table([_row()], p)
    assert "| 1.23457 | 1 | true | certified |" in p.read_text()


def test_warnings_and_error_columns(tmp_path):
    rows = [_row(), _row(warnings=["a", "b"], certified=False, kind="estimate"),
            _row(noise_multiplier=None, epsilon=None, certified=False, kind=None,
                 error="target_epsilon=1 is exceeded")]
    write_table(rows, tmp_path / "t.csv")
    got = list(csv.DictReader((tmp_path / "t.csv").read_text().splitlines()))
    assert list(got[0]) == list(COLUMNS) + ["warnings", "error"]
    assert [g["warnings"] for g in got] == ["", "a; b", ""]
    assert got[2]["error"].startswith("target_epsilon") and got[2]["noise_multiplier"] == ""
    write_table(rows, tmp_path / "t.json")
    js = json.loads((tmp_path / "t.json").read_text())
    assert [j["warnings"] for j in js] == [[], ["a", "b"], []]
    assert js[2]["kind"] is None and js[2]["epsilon"] is None
    write_table([_row(epsilon=math.inf)], tmp_path / "inf.json")    # strict JSON
    text = (tmp_path / "inf.json").read_text()
    assert "Infinity" not in text and json.loads(text)[0]["epsilon"] == "inf"


def test_write_is_atomic(tmp_path, monkeypatch):
    p = tmp_path / "t.csv"
    p.write_text("old\n")

    def broken(src, dst):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(os, "replace", broken)
    with pytest.raises(ValueError, match="path"):
        write_table([_row()], p)
    assert p.read_text() == "old\n"                       # the old file is intact
    assert sorted(os.listdir(tmp_path)) == ["t.csv"]       # and no temporary file is left


BIG = ["--epsilon", "0.5,1,2,3,4,6,8", "--delta", "1e-10,1e-9", "--sample-rate",
       "0.001,0.002,0.003,0.01,0.03,0.1", "--epochs", "1,5,20,100,300", "--rtol", "1e-5",
       "--workers", "2"]


@pytest.mark.parametrize("bad, needle", [
    ("missing/dir/t.csv", "does not exist"),
    ("t.xlsx", ".csv, .json or .md"),
    ("adir.csv", "is a directory"),
])
def test_bad_output_fails_before_any_work(tmp_path, capsys, monkeypatch, bad, needle):
    (tmp_path / "adir.csv").mkdir()
    calls = []
    monkeypatch.setattr(tables, "noise_table", lambda *a, **k: calls.append(1) or [])
    t0 = time.perf_counter()
    code = main(["table", *BIG, "--output", str(tmp_path / bad)])
    assert code == 2 and time.perf_counter() - t0 < 2.0 and not calls
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "--output" in err and needle in err
    assert sorted(os.listdir(tmp_path)) == ["adir.csv"]


def test_bad_output_for_real_cli_returns_at_once(tmp_path):
    """Unpatched, in a fresh process: the big grid is never started."""
    t0 = time.monotonic()
    p = subprocess.run([*_cli(), "table", *BIG, "--output", str(tmp_path / "no" / "t.csv")],
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 2 and time.monotonic() - t0 < 15
    assert p.stderr.strip().count("\n") == 0 and "does not exist" in p.stderr
    assert os.listdir(tmp_path) == []


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0,
                    reason="root writes into read-only directories")
def test_unwritable_directory(tmp_path):
    d = tmp_path / "ro"
    d.mkdir()
    d.chmod(0o500)
    try:
        with pytest.raises(ValueError, match="cannot write"):
            write_table([_row()], d / "t.csv")
    finally:
        d.chmod(0o700)


def test_cli_table_errors_one_line(tmp_path, capsys):
    assert main(["table", "--epsilon", "2", "--delta", "1e-5", "--sample-rate", "0.05",
                 "--epochs", "1", "--output", str(tmp_path / "t.xlsx")]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "output" in err
    assert main(["table", "--epsilon", "2,x", "--delta", "1e-5", "--sample-rate", "0.05",
                 "--epochs", "1", "--output", str(tmp_path / "t.csv")]) == 2
    assert "epsilon" in capsys.readouterr().err
    assert main(["table", "--epsilon", "2", "--delta", "1e-5", "--sample-rate", "1.5",
                 "--epochs", "1", "--output", str(tmp_path / "t.csv")]) == 2
    assert "sample_rate" in capsys.readouterr().err
    assert main(["table", "--epsilon", "2", "--delta", "1e-5", "--sample-rate", "0.5",
                 "--output", str(tmp_path / "t.csv")]) == 2
    assert "epochs or steps" in capsys.readouterr().err
    with pytest.raises(ValueError, match="progress"):
        noise_table("2", "1e-5", "0.05", epochs="1", progress="sometimes")


# ---------------------------------------------------------------------- progress
LINE = re.compile(r"^table: (\d+)/(\d+) cells, \d+\.\d s elapsed(, ETA \d+ (s|min|h)|, done)$")


def test_progress_lines_when_stderr_is_not_a_tty(tmp_path, capsys):
    code = main(["table", "--epsilon", "2,4", "--delta", "1e-5", "--sample-rate", "0.02,0.05",
                 "--epochs", "1,3", "--workers", "1", "--output", str(tmp_path / "t.csv")])
    assert code == 0
    err = capsys.readouterr().err.splitlines()
    assert "\r" not in "".join(err)                    # lines, not a redrawn bar
    progress = [m for m in map(LINE.match, err) if m]
    assert len(progress) >= 2 and all(m.group(2) == "8" for m in progress)
    assert err[-1] == progress[-1].group(0) and err[-1].endswith("done")
    assert err[0].startswith("table: 8 cells")


def test_no_progress_is_silent(tmp_path, capsys):
    assert main(["table", "--epsilon", "2", "--delta", "1e-5", "--sample-rate", "0.05",
                 "--epochs", "1,2", "--workers", "1", "--no-progress",
                 "--output", str(tmp_path / "t.csv")]) == 0
    assert capsys.readouterr().err == ""


def test_progress_api_modes(capsys):
    noise_table("2", "1e-5", "0.05", epochs="1,2", workers=1, progress=False)
    assert capsys.readouterr().err == ""
    noise_table("2", "1e-5", "0.05", epochs="1,2", workers=1, progress=True)   # not a tty
    assert any(LINE.match(x) for x in capsys.readouterr().err.splitlines())
    pytest.importorskip("tqdm")
    noise_table("2", "1e-5", "0.05", epochs="1,2", workers=1, progress="bar")
    err = capsys.readouterr().err
    assert "2/2" in err and "\r" in err                  # tqdm's bar


def test_progress_heartbeat_between_cells():
    buf = io.StringIO()
    p = tables._Progress(10, "lines", stream=buf, interval=0.05)
    p.start()
    time.sleep(0.4)                     # no cell finishes: the heartbeat still reports
    p.update(10)
    p.close()
    lines = buf.getvalue().splitlines()
    assert lines[0] == "table: 10 cells"
    assert sum(1 for x in lines if x.startswith("table: 0/10 cells")) >= 2
    assert lines[-1].startswith("table: 10/10 cells") and lines[-1].endswith("done")


# ---------------------------------------------------------------------- Ctrl-C
def _cli():
    exe = os.path.join(os.path.dirname(sys.executable), "dp-accountant")
    return [exe] if os.path.exists(exe) else [sys.executable, "-m", "accountant"]


def _children(pid):
    out = []
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as fh:
                    fields = fh.read().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                out.append(int(d))
    return out


def _running(pid):
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except OSError:
        return False


@pytest.mark.skipif(not os.path.isdir("/proc") or os.name != "posix", reason="needs /proc")
@pytest.mark.parametrize("target", ["parent", "group"])
def test_ctrl_c_stops_promptly_without_orphans(tmp_path, target):
    """SIGINT to the parent alone (kill -INT) or to the whole group (a terminal's Ctrl-C)
    during a multi-worker table that takes > 20 s: exit 130 within 5 s, one line, and no
    worker left running."""
    out = tmp_path / "t.csv"
    p = subprocess.Popen([*_cli(), "table", *BIG, "--output", str(out)],
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                         start_new_session=True)
    try:
        deadline = time.monotonic() + 60
        kids = []
        while len(kids) < 2 and time.monotonic() < deadline and p.poll() is None:
            time.sleep(0.1)
            kids = _children(p.pid)
        assert len(kids) >= 2, "the worker processes never started"
        time.sleep(2.0)                                 # chunks are running now
        assert p.poll() is None
        t0 = time.monotonic()
        if target == "parent":
            p.send_signal(signal.SIGINT)
        else:
            os.killpg(p.pid, signal.SIGINT)
        try:
            _, err = p.communicate(timeout=20)
        except subprocess.TimeoutExpired:
            pytest.fail("still running 20 s after SIGINT")
        elapsed = time.monotonic() - t0
    finally:
        if p.poll() is None:
            os.killpg(p.pid, signal.SIGKILL)
            p.wait()
    print(f"exit after SIGINT ({target}): {elapsed:.2f} s")
    assert elapsed < 5.0
    assert p.returncode == 130
    assert err.strip().splitlines()[-1] == "dp-accountant: interrupted"
    assert "Traceback" not in err
    time.sleep(0.2)
    assert [k for k in kids if _running(k)] == []
    assert not out.exists()


def test_build_lookup_keeps_certified_cells(tmp_path):
    np = pytest.importorskip("numpy")
    grid = {"epsilon": (2.0, 4.0), "delta": (1e-5,), "sample_rate": (0.01, 0.05),
            "steps": (10, 100)}
    path = tables.build_lookup(str(tmp_path / "t.npz"), grid=grid, workers=1, progress=False)
    d = np.load(path)
    assert d["noise_multiplier"].shape == (2, 1, 2, 2)
    assert np.isfinite(d["noise_multiplier"]).all()
    assert (d["certified_epsilon"] <= d["epsilon"][:, None, None, None]).all()


# ---------------------------------------------------------------------- Dask (no dask)
@pytest.mark.skipif(importlib.util.find_spec("distributed") is not None,
                    reason="dask installed (tests/test_dask.py)")
def test_dask_missing_is_a_clear_error():
    with pytest.raises(ValueError, match="dask"):
        noise_table("2", "1e-5", "0.05", epochs="1", dask_scheduler="tcp://127.0.0.1:1")
