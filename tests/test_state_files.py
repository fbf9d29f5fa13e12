"""State files and input files (issue 13): what a user names is read safely, what we write is
written atomically, and a state is read strictly — exactly what save() writes, or a one-line
ValueError, never another exception and never a silently different history."""
import json
import math
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from accountant.core import _files
from accountant.core.mechanisms import ELS, ULS, Gaussian, Laplace, MixtureOfGaussians
from accountant.session.trainer import MAX_EXAMPLES_PER_USER, MAX_STEPS, PrivacyAccountant, _checksum
from accountant.planning.user_level import read_counts

POSIX = os.name == "posix"
posix_only = pytest.mark.skipif(not POSIX, reason="FIFOs, sockets, /dev/zero, SIGKILL")
ROOT = Path(__file__).resolve().parents[1]


def _sample():
    """One accountant with every kind of mechanism of the add/remove relation, settings and
    options: every field type of the state format appears."""
    a = PrivacyAccountant("pld", rtol=1e-3, max_merged=7)
    a.step(1.1, 0.01, steps=10)
    a.compose(ELS(2.0, 0.01, 4), 3)
    a.compose(ULS(1.0, 0.05, 3), 2)
    a.compose(ULS(1.0, 0.07), 2)
    a.compose(MixtureOfGaussians(1.5, (0.0, 1.0, 2.0), (0.5, 0.25, 0.25)), 1)
    a.compose(Laplace(3.0), 4)
    a.compose(Gaussian(0.1 + 0.2), 5)
    return a


def _canonical(obj) -> str:
    # Type-strict: true is not 1, 1.0 is not 1.
    return json.dumps(obj, sort_keys=True, separators=(",", ":"))


def _one_line_value_error(exc_info, *needles):
    msg = str(exc_info.value)
    assert exc_info.type is ValueError and "\n" not in msg, msg
    for n in needles:
        assert n in msg, (n, msg)


# ------------------------------------------------------------------ 1. reading user-named files
# Run in a child process: on code that reads /dev/zero until MemoryError or blocks on a FIFO
# for ever, the child (with its address space capped and an alarm set) reports that, and
# this test fails instead of hanging or exhausting the machine's memory.
_CHILD = textwrap.dedent(r"""
    import contextlib, io, json, os, resource, signal, socket, sys, time
    cap = 2 * 2 ** 30
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    def alarm(*_):
        raise TimeoutError("blocked")
    signal.signal(signal.SIGALRM, alarm)
    from accountant.session.trainer import PrivacyAccountant
    from accountant.interop.opacus import OpacusAccountant
    from accountant.cli import main
    os.mkfifo("fifo")
    os.symlink("/dev/zero", "zero.json")
    os.symlink("fifo", "fifo-link.json")
    os.mkdir("adir")
    sock = socket.socket(socket.AF_UNIX)
    sock.bind("sock")
    out = {}
    def run(name, fn):
        t0 = time.monotonic()
        signal.alarm(10)
        try:
            res = fn()
            got = ("ok", repr(res))
        except BaseException as exc:
            got = (type(exc).__name__, str(exc)[:300])
        finally:
            signal.alarm(0)
        out[name] = got + (time.monotonic() - t0,)
    def cli(argv):
        err = io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            code = main(argv)
        return code, err.getvalue()
    for f in ("zero.json", "fifo", "fifo-link.json", "adir", "sock"):
        run("load " + f, lambda: PrivacyAccountant.load(f))
        run("from_opacus " + f, lambda: OpacusAccountant.from_opacus(f))
        run("cli state " + f, lambda: cli(["epsilon", "--state", f, "--delta", "1e-5"]))
        run("cli counts " + f, lambda: cli(["user-level", "--counts", f, "--batch-size", "10",
                                            "--steps", "10", "--epsilon", "1", "--delta",
                                            "1e-5", "--method", "rdp"]))
    print(json.dumps(out))
""")


@posix_only
def test_non_regular_files_are_refused_at_once(tmp_path):
    # Found: load, `epsilon --state` and `user-level --counts` read a symlink to /dev/zero
    # until MemoryError (3.3 GB in 5.5 s) and block for ever on a FIFO without a writer.
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.run([sys.executable, "-c", _CHILD], cwd=tmp_path, env=env,
                          capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout)
    kinds = {"zero.json": "character device", "fifo": "FIFO", "fifo-link.json": "FIFO",
             "adir": "directory", "sock": "socket"}
    for f, kind in kinds.items():
        for how in ("load", "from_opacus"):
            typ, msg, seconds = out[f"{how} {f}"]
            assert typ == "ValueError", (how, f, typ, msg)
            assert "must be a regular file" in msg and kind in msg and f in msg, msg
            assert seconds < 5
        for how in ("cli state", "cli counts"):
            typ, res, seconds = out[f"{how} {f}"]
            assert typ == "ok", (how, f, typ, res)
            code, err = eval(res)          # (exit status, stderr) as repr'd by the child
            lines = err.strip().splitlines()
            assert code == 2 and len(lines) == 1, (how, f, err)
            assert lines[0].startswith("dp-accountant: error:") and kind in lines[0], err
            assert seconds < 5


def test_symlinks_to_regular_files_are_read(tmp_path):
    a = _sample()
    a.save(tmp_path / "real.json")
    (tmp_path / "counts.txt").write_text("3\n1\n4\n")
    try:
        os.symlink(tmp_path / "real.json", tmp_path / "link.json")
        os.symlink(tmp_path / "counts.txt", tmp_path / "counts-link.txt")
    except (OSError, NotImplementedError):
        pytest.skip("no symlinks here")
    assert PrivacyAccountant.load(tmp_path / "link.json").state_dict() == a.state_dict()
    assert read_counts(tmp_path / "counts-link.txt") == [3, 1, 4]


def _sparse(path, size, head=b""):
    with open(path, "wb") as fh:
        fh.write(head)
        fh.truncate(size)


def test_size_limits_are_named(tmp_path):
    assert _files.STATE_MAX_BYTES == 64 * 2 ** 20 and _files.COUNTS_MAX_BYTES == 256 * 2 ** 20
    big = tmp_path / "big.json"
    _sparse(big, _files.STATE_MAX_BYTES + 1, b'{"format": ')
    with pytest.raises(ValueError) as e:
        PrivacyAccountant.load(big)
    _one_line_value_error(e, "state file must be at most 64 MiB", str(_files.STATE_MAX_BYTES + 1))
    counts = tmp_path / "counts.txt"
    _sparse(counts, _files.COUNTS_MAX_BYTES + 1, b"1\n")
    with pytest.raises(ValueError) as e:
        read_counts(counts)
    _one_line_value_error(e, "counts file must be at most 256 MiB")
    # Exactly at the limit is fine as far as size goes (it then fails as JSON).
    _sparse(big, _files.STATE_MAX_BYTES, b"[")
    with pytest.raises(ValueError, match="not valid JSON|not strict JSON"):
        PrivacyAccountant.load(big)


def test_reader_stops_at_the_limit_whatever_the_size_says(tmp_path, monkeypatch):
    # A file can grow after stat, or report size 0 (/proc): at most limit + 1 bytes are read.
    p = tmp_path / "f"
    p.write_bytes(b"x" * 1000)
    real_stat = os.stat

    class Zero:
        def __init__(self, st):
            self.st_mode, self.st_size = st.st_mode, 0
    monkeypatch.setattr(os, "stat", lambda q, *a, **k: Zero(real_stat(q, *a, **k)))
    reads = []
    real_read = os.read
    monkeypatch.setattr(os, "read", lambda fd, n: reads.append(n) or real_read(fd, n))
    with pytest.raises(ValueError, match="must be at most 100 bytes"):
        _files.read_user_file(p, what="f", limit=100)
    assert sum(reads) <= 101
    assert _files.read_user_file(p, what="f", limit=1000) == b"x" * 1000


def test_torch_files_get_their_own_limit(tmp_path, monkeypatch):
    # An Opacus checkpoint holds the model too: it may exceed 64 MiB (up to 2 GiB).
    monkeypatch.setitem(sys.modules, "torch", None)
    ckpt = tmp_path / "ckpt.pt"
    _sparse(ckpt, _files.STATE_MAX_BYTES + 10, b"PK\x03\x04")
    with pytest.raises(ValueError, match="torch is not installed"):
        PrivacyAccountant.load(ckpt)
    _sparse(ckpt, _files.TORCH_MAX_BYTES + 1, b"PK\x03\x04")
    with pytest.raises(ValueError, match="must be at most 2 GiB"):
        PrivacyAccountant.load(ckpt)


def test_counts_files_must_be_utf8_and_paths_work(tmp_path, capsys):
    from accountant.cli import main
    p = tmp_path / "c.txt"
    p.write_bytes(b"3\n\xff\n")
    code = main(["user-level", "--counts", str(p), "--batch-size", "10", "--steps", "10",
                 "--epsilon", "1", "--delta", "1e-5"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "UTF-8" in err[0]
    p.write_text("5\n6\n")
    assert read_counts(p) == [5, 6]


# ------------------------------------------------------------------------- 2. strict schema
def _edited(mutate):
    """The sample's state with ``mutate`` applied and the checksum recomputed (a hand edit
    that knows about the checksum): only the schema checks can refuse it."""
    state = json.loads(json.dumps(_sample().state_dict()))
    mutate(state)
    state["sha256"] = _checksum(state["payload"])
    return state


def _hist(i, key, value):
    def f(s):
        s["payload"]["history"][i][0][key] = value
    return f


def _steps(i, value):
    def f(s):
        s["payload"]["history"][i][1] = value
    return f


def _set(*path_and_value):
    *path, value = path_and_value

    def f(s):
        obj = s
        for k in path[:-1]:
            obj = obj[k]
        obj[path[-1]] = value
    return f


STRICT_CASES = [
    # Found: "1.1" loaded as σ = 1.0625 (float.fromhex reads the digits as hex).
    ("decimal string", _hist(0, "noise_multiplier", "1.1"), "float.hex"),
    ("spaces around hex", _hist(0, "noise_multiplier", " 0x1.199999999999ap+0 "), "float.hex"),
    ("upper-case hex", _hist(0, "noise_multiplier", "0X1.199999999999AP+0"), "float.hex"),
    ("non-canonical hex", _hist(0, "noise_multiplier", "0x2p-1"), "float.hex"),
    ("JSON number for a hex field", _hist(0, "noise_multiplier", 1.1), "float.hex"),
    ("inf", _hist(0, "noise_multiplier", "inf"), "float.hex"),
    ("nan", _hist(0, "sample_rate", "nan"), "float.hex"),
    ("hex in a list", _hist(4, "sensitivities", ["0x0.0p+0", "1.0", "0x1.0p+1"]), "float.hex"),
    # Found: subnormal σ loaded, and failed later (ZeroDivisionError in every accountant).
    # The range is the mechanisms' own (accountant.core._validate.noise_multiplier).
    ("subnormal sigma", _hist(0, "noise_multiplier", (5e-324).hex()), "noise_multiplier"),
    ("tiny sigma", _hist(0, "noise_multiplier", (1e-300).hex()), "noise_multiplier"),
    ("huge sigma", _hist(5, "noise_multiplier", (1e300).hex()), "noise_multiplier"),
    ("huge mixture sigma", _hist(4, "noise_multiplier", (1e300).hex()), "noise_multiplier"),
    # Found: steps = 10**400 loaded, then an OverflowError.
    ("steps 10**400", _steps(0, 10 ** 400), "9007199254740992"),
    ("steps 2**53 + 1", _steps(0, 2 ** 53 + 1), "9007199254740992"),
    ("total over 2**53", lambda s: (_steps(0, 2 ** 52)(s), _steps(1, 2 ** 52)(s)),
     "9007199254740992"),
    ("steps true", _steps(0, True), "JSON integer"),
    ("steps 10.0", _steps(0, 10.0), "JSON integer"),
    ("steps string", _steps(0, "10"), "JSON integer"),
    # Found: k = 10**400 loaded.
    ("k 10**400", _hist(1, "max_examples_per_user", 10 ** 400), "max_examples_per_user"),
    ("k over the limit", _hist(1, "max_examples_per_user", MAX_EXAMPLES_PER_USER + 1),
     "max_examples_per_user"),
    ("k string", _hist(1, "max_examples_per_user", "4"), "JSON integer"),
    ("k float", _hist(1, "max_examples_per_user", 4.0), "JSON integer"),
    ("k true", _hist(2, "max_examples_per_user", True), "JSON integer"),
    ("k null for ELS", _hist(1, "max_examples_per_user", None), "JSON integer"),
    ("sampling not a string", _hist(0, "sampling", 1), "string"),
    ("missing field", lambda s: s["payload"]["history"][0][0].pop("neighboring"), "missing"),
    ("unknown field", _hist(0, "extra", 1), "unknown field"),
    # Found: schema_version true was accepted (true == 1 in Python).
    ("schema_version true", _set("schema_version", True), "schema_version"),
    ("schema_version 1.0", _set("schema_version", 1.0), "schema_version"),
    ("settings kind swapped", _set("payload", "settings", "max_merged", {"float": "0x1.cp+2"}),
     "max_merged"),
    ("settings int true", _set("payload", "settings", "max_merged", {"int": True}),
     "JSON integer"),
    ("setting missing", lambda s: s["payload"]["settings"].pop("merge_ratio"), "missing"),
    ("option of another method", _set("payload", "options", "order", {"int": 2}),
     "unknown key"),
    ("option clashing with a setting", _set("payload", "options", "max_merged", {"int": 2}),
     "unknown key"),
    ("payload extra key", _set("payload", "extra", 1), "unknown key"),
    ("method not a string", _set("payload", "method", ["pld"]), "payload.method"),
    ("adjacent equal segments",
     lambda s: s["payload"]["history"].insert(1, s["payload"]["history"][0]), "repeats"),
]


@pytest.mark.parametrize("name,mutate,needle", STRICT_CASES, ids=[c[0] for c in STRICT_CASES])
def test_state_is_read_strictly(tmp_path, name, mutate, needle):
    state = _edited(mutate)
    victim = _sample()
    before = victim.state_dict()
    with pytest.raises(ValueError) as e:
        victim.load_state_dict(state)
    _one_line_value_error(e, needle)
    assert victim.state_dict() == before            # refused: nothing changed
    path = tmp_path / "s.json"
    path.write_text(json.dumps(state))
    with pytest.raises(ValueError) as e:
        PrivacyAccountant.load(path)
    _one_line_value_error(e, needle)


def test_sha256_must_be_a_string():
    state = _sample().state_dict()
    state["sha256"] = [state["sha256"]]
    with pytest.raises(ValueError, match="sha256 must be a string"):
        PrivacyAccountant().load_state_dict(state)


@pytest.mark.parametrize("text,needle", [
    # Found: a file nested 200 000 levels deep raised RecursionError.
    ("[" * 200_000 + "]" * 200_000, "nested too deeply"),
    ('{"a": ' * 100_000 + "1" + "}" * 100_000, "nested too deeply"),
    ('{"format": 1, "format": 2}', "duplicate key"),
    ("[NaN]", "NaN"),
    ("[-Infinity]", "Infinity"),
    ("[" + "9" * 5000 + "]", "not strict JSON"),
])
def test_json_level_errors_are_value_errors(tmp_path, text, needle):
    p = tmp_path / "s.json"
    p.write_text(text)
    with pytest.raises(ValueError) as e:
        PrivacyAccountant.load(p)
    _one_line_value_error(e, needle)


def test_deep_nesting_in_a_state_dict_is_a_value_error():
    deep = []
    for _ in range(100_000):
        deep = [deep]
    state = _sample().state_dict()
    state["payload"]["history"] = deep
    with pytest.raises(ValueError, match="nested too deeply"):
        PrivacyAccountant().load_state_dict(state)


def test_step_and_compose_apply_the_same_limits():
    # Found: step(1.0, 0.01, steps=10**400) was accepted and get_epsilon then overflowed.
    a = PrivacyAccountant()
    a.step(1.0, 0.01, steps=3)
    before = a.state_dict()
    bad = [(lambda: a.step(1.0, 0.01, steps=10 ** 400), "steps", "9007199254740992"),
           (lambda: a.step(1.0, 0.01, steps=MAX_STEPS), "steps", "9007199254740992"),  # total
           (lambda: a.compose(Gaussian(1.0), MAX_STEPS + 1), "steps", "9007199254740992"),
           (lambda: a.step(5e-324, 0.01), "noise_multiplier"),
           (lambda: a.step(1e300, 0.01), "noise_multiplier"),
           (lambda: a.step(1.0, 0.01, examples_per_user=10 ** 400, sampling="els"),
            "examples_per_user"),
           (lambda: a.step(1.0, 0.01, examples_per_user=MAX_EXAMPLES_PER_USER + 1,
                           sampling="els"), "examples_per_user", str(MAX_EXAMPLES_PER_USER)),
           (lambda: a.compose(ULS(1.0, 0.1, MAX_EXAMPLES_PER_USER + 1)),
            "max_examples_per_user", str(MAX_EXAMPLES_PER_USER))]
    for call, *needles in bad:
        with pytest.raises(ValueError) as e:
            call()
        _one_line_value_error(e, *needles)
        assert a.state_dict() == before                 # nothing recorded


def test_histories_at_the_limits_round_trip(tmp_path):
    a = PrivacyAccountant("rdp")
    a.step(1.0, 0.01, steps=MAX_STEPS - 10)
    a.compose(ELS(1.0, 0.5, MAX_EXAMPLES_PER_USER), 3)
    a.compose(ULS(1.0, 0.5, MAX_EXAMPLES_PER_USER), 5)
    a.step(1.0, 0.0, steps=2)                          # q = 0: spends nothing, still recorded
    assert len(a) == MAX_STEPS
    a.save(tmp_path / "s.json")
    b = PrivacyAccountant.load(tmp_path / "s.json")
    assert b.state_dict() == a.state_dict() and b.history == a.history


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.floats(1e-300, 1e300), st.one_of(st.just(0.0), st.just(5e-324),
                                                             st.floats(0.0, 1.0)),
                          st.one_of(st.integers(1, 10), st.integers(1, 2 ** 60)),
                          st.one_of(st.none(), st.integers(1, 2 * MAX_EXAMPLES_PER_USER)),
                          st.sampled_from([None, "poisson", "els", "uls"])),
                min_size=1, max_size=6))
def test_whatever_step_accepts_loads_back_exactly(tmp_path_factory, items):
    # Nothing is lost: step() refuses (ValueError, nothing recorded) or records what save()
    # writes and load() reads back bit for bit — whatever range the mechanisms accept.
    a = PrivacyAccountant("rdp")
    for sigma, q, n, k, sampling in items:
        before = a.state_dict()
        try:
            a.step(sigma, q, steps=n, examples_per_user=k, sampling=sampling)
        except ValueError:
            assert a.state_dict() == before
    path = tmp_path_factory.mktemp("limits") / "s.json"
    a.save(path)
    assert PrivacyAccountant.load(path).state_dict() == a.state_dict()


# ------------------------------------------------------------------------ 3. atomic writes
def _temps(d):
    return sorted(n for n in os.listdir(d) if ".tmp-" in n)


def test_one_atomic_writer_for_states_tables_and_plots():
    import accountant.session.trainer as session
    import accountant.calibration.tables as tables
    assert tables.write_atomically is _files.write_atomically
    assert session.write_atomically is _files.write_atomically
    assert not hasattr(session, "_atomic_write")


def test_failed_save_removes_its_temp_file_and_keeps_the_old_state(tmp_path, monkeypatch):
    path = tmp_path / "acc.json"
    a = _sample()
    a.save(path)
    old = path.read_bytes()
    a.step(5.0, 0.5)

    def broken(*args, **kw):
        raise OSError(28, "No space left on device")
    monkeypatch.setattr(os, "replace", broken)
    with pytest.raises(ValueError) as e:
        a.save(path)
    _one_line_value_error(e, "path", "No space left on device")
    assert path.read_bytes() == old and _temps(tmp_path) == []

    def interrupted(fd):
        raise KeyboardInterrupt
    monkeypatch.setattr(os, "fsync", interrupted)
    with pytest.raises(KeyboardInterrupt):
        a.save(path)
    assert path.read_bytes() == old and _temps(tmp_path) == []


_KILLED_SAVE = textwrap.dedent(r"""
    import os, sys, time
    from accountant.session.trainer import PrivacyAccountant
    real = os.fsync
    def stall(fd):                      # the temp file is written: stop here until killed
        real(fd)
        print("written", flush=True)
        time.sleep(120)
    os.fsync = stall
    a = PrivacyAccountant()
    a.step(2.0, 0.02, steps=99)
    a.save(sys.argv[1])
""")


@posix_only
def test_sigkill_mid_save_keeps_the_state_and_the_next_save_cleans_up(tmp_path):
    path = tmp_path / "acc.json"
    a = _sample()
    a.save(path)
    old = path.read_bytes()
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    child = subprocess.Popen([sys.executable, "-c", _KILLED_SAVE, str(path)], env=env,
                             stdout=subprocess.PIPE, text=True)
    try:
        assert child.stdout.readline().strip() == "written"
    finally:
        child.kill()                                     # SIGKILL: no cleanup can run
        child.wait(timeout=30)
    assert path.read_bytes() == old                      # the state is intact
    left = _temps(tmp_path)
    assert len(left) == 1 and left[0].startswith(".acc.json.tmp-")
    # A young leftover may belong to a concurrent writer: kept.
    a.save(path)
    assert _temps(tmp_path) == left
    # Once older than STALE_TEMP_SECONDS, the next successful save removes it.
    old_time = time.time() - _files.STALE_TEMP_SECONDS - 5
    os.utime(tmp_path / left[0], (old_time, old_time))
    a.step(3.0, 0.1)
    a.save(path)
    assert _temps(tmp_path) == []
    assert PrivacyAccountant.load(path).state_dict() == a.state_dict()


def test_stale_temp_cleanup_removes_only_that_targets_leftovers(tmp_path):
    old_time = time.time() - _files.STALE_TEMP_SECONDS - 5
    names = {".acc.json.tmp-0123abcd": False,       # ours, stale: removed
             ".acc.json.tmp-0123abc": True,         # wrong length
             ".acc.json.tmp-0123ABCD": True,        # not our hex
             ".acc.json.tmp-0123abcd.bak": True,    # more after the pattern
             ".acc.json2.tmp-0123abcd": True,       # another target
             ".other.json.tmp-0123abcd": True,
             "acc.json.tmp-0123abcd": True}         # not hidden: not ours
    for n in names:
        (tmp_path / n).write_text("x")
        os.utime(tmp_path / n, (old_time, old_time))
    (tmp_path / ".acc.json.tmp-deadbeef").mkdir()   # matching directory: never removed
    os.utime(tmp_path / ".acc.json.tmp-deadbeef", (old_time, old_time))
    _sample().save(tmp_path / "acc.json")
    for n, kept in names.items():
        assert (tmp_path / n).exists() == kept, n
    assert (tmp_path / ".acc.json.tmp-deadbeef").is_dir()


# ---------------------------------------------------------------- 4. any mutation of a state
_HEXES = ["0x1p-1074", "0x0.0000000000001p-1022", "0x1.fffffffffffffp+1023", "inf", "-inf",
          "nan", "1.1", " 0x1.0p+0", "0X1.0P+0", "0x1p+0", "0x2p-1", "-0x0.0p+0", "0x0.0p+0",
          (1e-6).hex(), (1e12).hex(), (0.5).hex(), (1.0).hex(), (1.1).hex(), (2.0).hex(),
          (1e7).hex(), (1e-3).hex(), (1e-300).hex(), (1e300).hex()]
_NUMBERS = [0, -1, 1, 2, 3, 4, 10, MAX_STEPS, MAX_STEPS + 1, 10 ** 400, -10 ** 400,
            MAX_EXAMPLES_PER_USER, MAX_EXAMPLES_PER_USER + 1, 0.5, 1.0, 10.0, 1e308, -0.0,
            float("nan"), float("inf"), True, False]
_OTHERS = [None, "", "pld", "rdp", "edgeworth", "poisson", "fixed", "add_remove",
           "replace_one", "ELS", "ULS", "Gaussian", "Laplace", "SubsampledGaussian",
           "MixtureOfGaussians", "dp-accountant/PrivacyAccountant", [], {}, [1], ["0x1.0p+0"],
           {"int": 1}, {"float": "0x1.0p+0"}, {"int": 10 ** 400}, {"float": "1.1"}]
_values = st.one_of(st.sampled_from(_HEXES + _NUMBERS + _OTHERS), st.integers(),
                    st.floats(), st.text(max_size=6),
                    st.tuples(st.just("DEEP"), st.sampled_from([2, 50, 400, 5_000, 200_000])))


def _paths(obj, prefix=()):
    out = [prefix]
    if isinstance(obj, dict):
        for k, val in obj.items():
            out += _paths(val, prefix + (k,))
    elif isinstance(obj, list):
        for i, val in enumerate(obj):
            out += _paths(val, prefix + (i,))
    return out


def _nested(n):
    x = 1
    for _ in range(n):
        x = [x]
    return x


@settings(max_examples=400, deadline=None)
@given(st.data())
def test_any_mutation_loads_exactly_or_is_a_value_error(tmp_path_factory, data):
    base = _sample()
    original = base.state_dict()
    state = json.loads(json.dumps(original))
    kind = data.draw(st.sampled_from(["replace", "replace", "replace", "delete", "add",
                                      "duplicate", "bytes"]), label="kind")
    deep_text = None
    if kind == "bytes":
        raw = bytearray(json.dumps(state, indent=1, sort_keys=True).encode())
        how = data.draw(st.sampled_from(["truncate", "flip", "insert"]), label="how")
        pos = data.draw(st.integers(0, len(raw) - 1), label="pos")
        if how == "truncate":
            raw = raw[:pos]
        elif how == "flip":
            raw[pos] = data.draw(st.integers(0, 255).filter(lambda b: b != raw[pos]))
        else:
            raw[pos:pos] = data.draw(st.binary(min_size=1, max_size=4), label="insert")
        text, noop = bytes(raw), False
    else:
        paths = _paths(state)
        path = data.draw(st.sampled_from(paths), label="path")
        parent = None
        if path:
            parent = state
            for k in path[:-1]:
                parent = parent[k]
        value = data.draw(_values, label="value")
        if isinstance(value, tuple):                  # ("DEEP", depth)
            depth = value[1]
            if depth <= 400:
                value = _nested(depth)
            else:
                value, deep_text = "__DEEP__", "[" * depth + "1" + "]" * depth
        if kind == "replace":
            if parent is None:
                state = value
            else:
                parent[path[-1]] = value
        elif kind == "delete" and isinstance(parent, dict):
            del parent[path[-1]]
        elif kind == "delete" and isinstance(parent, list):
            parent.pop(path[-1])
        elif kind == "add":
            target = state if parent is None else parent[path[-1]]
            if isinstance(target, dict):
                target[data.draw(st.sampled_from(["extra", "type", "steps", "int", "float",
                                                  "history", "sha256"]))] = value
            elif isinstance(target, list):
                target.insert(data.draw(st.integers(0, len(target))), value)
        elif kind == "duplicate" and isinstance(parent, list):
            parent.insert(path[-1], json.loads(json.dumps(parent[path[-1]])))
        if isinstance(state, dict) and isinstance(state.get("payload"), dict) \
                and data.draw(st.booleans(), label="fix checksum"):
            try:
                state["sha256"] = _checksum(state["payload"])
            except (TypeError, ValueError):
                pass                                   # NaN and friends: no checksum
        text = json.dumps(state)                       # NaN/Infinity are written non-strictly
        if deep_text is not None:
            text = text.replace('"__DEEP__"', deep_text)
        noop = deep_text is None and _canonical(state) == _canonical(original)
        text = text.encode()
    p = tmp_path_factory.mktemp("mutation") / "acc.json"
    p.write_bytes(text)
    try:
        loaded = PrivacyAccountant.load(p)
    except ValueError as exc:
        assert "\n" not in str(exc)
        return
    # Loaded: it holds exactly what the file says (no reinterpretation, no coercion) ...
    on_disk = json.loads(text)
    assert _canonical(loaded.state_dict()) == _canonical(on_disk)
    # ... which for a byte-level edit (checksum not recomputed) or a no-op is the original.
    if kind == "bytes" or noop:
        assert loaded.state_dict() == original
    # And what loads is within the documented limits (σ: whatever the mechanisms accept,
    # which the exact round trip above already shows).
    for m, s in loaded.history:
        assert 1 <= s <= MAX_STEPS
        k = getattr(m, "max_examples_per_user", None)
        assert k is None or 1 <= k <= MAX_EXAMPLES_PER_USER
    assert len(loaded) <= MAX_STEPS and not math.isnan(loaded._settings["merge_ratio"])
