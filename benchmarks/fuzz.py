"""Long-run fuzzing of the whole API domain (issue 13, item 5).

    python benchmarks/fuzz.py --minutes 20 --seed 0 --workers 1 --out fuzz-report.json

Generates random cases with the generators and checks of tests/test_fuzz.py (same domain,
same invariants, same reproducers), drawn from a numpy RNG instead of hypothesis: valid calls
of every mechanism, schedule and method (checked against the mpmath / μ-GDP truth where one
is known), single steps, Gaussian-only schedules, metamorphic relations between two calls,
bad inputs, CLI invocations, mutated state files and risk queries (tpr at any fpr in (0, 1):
valid, pld against rdp, bad arguments).

Each case runs in a persistent worker subprocess with a wall-clock limit (--call-seconds,
60 s) and an address-space limit (--memory-gib, 4 GiB: RLIMIT_AS in the worker). A case
that does not finish in time is killed with its worker (SIGKILL) and counted as a timeout;
a worker that dies (MemoryError, abort, signal) is counted and restarted. Case i of seed s
is drawn from ``numpy.random.default_rng([s, i])``: ``--seed s --only i`` re-runs it.

Outcomes: ok, refused (a deliberate ValueError on a valid input), rejected (bad input
refused with ValueError/TypeError, as it must be), violation (a certified bracket against
the truth, or another invariant), exception (a non-ValueError exception on a valid input,
or a ValueError raised inside the computation), accepted (bad input accepted), timeout,
memory, crash. The JSON report holds the counts, per-kind counts, failure groups (same
status, place and message shape) with one reproducer each, every failure (up to a cap)
and the slowest cases.
"""
from __future__ import annotations

import argparse
import collections
import importlib.util
import json
import os
import re
import resource
import select
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TEST_FILE = ROOT / "tests" / "test_fuzz.py"

# Share of each kind of case (valid calls dominate: they carry the truth checks).
KINDS = {"valid": 30, "single": 15, "gdp": 10, "relation": 15, "bad": 18, "cli": 6,
         "state": 6, "tpr": 8}
FAILED = ("violation", "exception", "accepted", "timeout", "memory", "crash")


def load_cases():
    """tests/test_fuzz.py as a module (its generators and checks)."""
    spec = importlib.util.spec_from_file_location("dp_fuzz_cases", TEST_FILE)
    mod = importlib.util.module_from_spec(spec)
    sys.modules["dp_fuzz_cases"] = mod
    spec.loader.exec_module(mod)
    return mod


def kind_of(seed: int, index: int) -> str:
    import numpy as np
    rng = np.random.default_rng([seed, index, 7])
    names = list(KINDS)
    w = np.array([KINDS[k] for k in names], dtype=float)
    return names[int(rng.choice(len(names), p=w / w.sum()))]


# ----------------------------------------------------------------------------------------
# Worker
# ----------------------------------------------------------------------------------------
def worker_main(call_seconds: float, memory_gib: float) -> None:
    """Read cases (JSON lines) on stdin, answer on the original stdout: a "start" message
    with the reproducer, then "done" with the outcomes."""
    cap = int(memory_gib * 2 ** 30)
    resource.setrlimit(resource.RLIMIT_AS, (cap, cap))
    proto = os.fdopen(os.dup(1), "w", buffering=1)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)                      # stray prints must not corrupt the protocol
    import numpy as np
    F = load_cases()
    soft = max(1.0, call_seconds - 5.0)      # the alarm (with a stack) before the kill

    def send(**msg):
        proto.write(json.dumps(msg) + "\n")
        proto.flush()

    send(type="ready")
    tmp = Path(tempfile.mkdtemp(prefix="dp-fuzz-"))
    for line in sys.stdin:
        job = json.loads(line)
        seed, index, kind = job["seed"], job["index"], job["kind"]
        d = F.RngDraw(np.random.default_rng([seed, index]))
        t0 = time.perf_counter()
        try:
            outs = run_case(F, kind, d, soft, tmp, lambda repro: send(type="start",
                                                                       repro=repro))
            payload = [o.as_dict() for o in outs]
        except MemoryError as exc:
            payload = [{"status": "memory", "detail": f"MemoryError: {exc}", "where": "",
                        "reproducer": ""}]
        except BaseException as exc:  # noqa: BLE001 - a bug of the harness: report it
            payload = [{"status": "harness_error", "detail": f"{type(exc).__name__}: {exc}",
                        "where": "", "reproducer": ""}]
        send(type="done", outcomes=payload, seconds=time.perf_counter() - t0)


def run_case(F, kind, d, seconds, tmp, on_start):
    """Generate one case of ``kind`` from ``d`` and check it (a list of Outcomes)."""
    if kind == "valid":
        call = F.gen_valid_call(d)
        on_start(F.reproducer(call))
        return [F.check_valid(call, seconds)]
    if kind == "single":
        relation = d.choice(["add_remove"] * 3 + ["replace_one"], "relation")
        call = F.gen_valid_call(d, target=F.gen_mechanism(d, relation), steps=1)
        on_start(F.reproducer(call))
        return [F.check_valid(call, seconds)]
    if kind == "gdp":
        relation = d.choice(["add_remove", "replace_one"], "relation")
        if d.boolean(0.5, "schedule"):
            target, total = F.gen_schedule(d, relation, kinds=["Gaussian"])
        else:
            target, total = F.gen_mechanism(d, relation, kinds=["Gaussian"]), 1
        steps = F.gen_steps(d, top=max(1, F.STEPS_MAX // total))
        call = F.gen_valid_call(d, target=target, steps=steps)
        on_start(F.reproducer(call))
        return [F.check_valid(call, seconds)]
    if kind == "relation":
        rel, first, second = F.gen_relation(d)
        on_start(f"# relation {rel}\n" + F.reproducer(first)
                 + ("\n" + second.code() if second is not None else "\n# then delta(...) at "
                    "the bracket's ends"))
        return F.check_relation(rel, first, second, seconds)
    if kind == "bad":
        call, slot = F.gen_bad_call(d)
        on_start(f"# bad {slot}\n" + F.reproducer(call))
        return [F.check_bad(call, seconds)]
    if kind == "tpr":
        case, first, second = F.gen_tpr_case(d)
        on_start(F.tpr_reproducer(case, first, second))
        return F.check_tpr_case(case, first, second, seconds)
    if kind == "cli":
        argv = F.gen_cli_argv(d)
        on_start("from accountant.cli import main\nmain(" + repr(argv) + ")")
        return [F.check_cli(argv, seconds)]
    if kind == "state":
        sub = Path(tempfile.mkdtemp(dir=tmp))
        return F.check_state(d, sub, seconds, on_start=on_start)
    raise ValueError(kind)


# ----------------------------------------------------------------------------------------
# Parent
# ----------------------------------------------------------------------------------------
class Worker:
    def __init__(self, args, slot):
        self.args, self.slot = args, slot
        self.proc = None
        self.err_path = Path(tempfile.gettempdir()) / f"dp-fuzz-worker-{os.getpid()}-{slot}.err"
        self.restarts = -1
        self.buf = b""

    def start(self):
        self.stop()
        self.restarts += 1
        self.err = open(self.err_path, "wb")
        self.proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).resolve()), "--worker",
             "--call-seconds", str(self.args.call_seconds),
             "--memory-gib", str(self.args.memory_gib)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.err, cwd=str(ROOT),
            env=dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep +
                     os.environ.get("PYTHONPATH", "")),
            start_new_session=True)
        self.buf = b""
        msg = self.read(deadline=time.monotonic() + 300)
        if not msg or msg.get("type") != "ready":
            raise RuntimeError(f"worker did not start: {self.stderr_tail()}")

    def stop(self):
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGKILL)   # the worker and its children
            except ProcessLookupError:
                pass
            self.proc.wait()
        self.proc = None

    def stderr_tail(self, n=2000):
        try:
            return self.err_path.read_bytes()[-n:].decode(errors="replace")
        except OSError:
            return ""

    def read(self, deadline):
        """The next message, or None on timeout/EOF ("eof" set on EOF)."""
        fd = self.proc.stdout.fileno()
        while b"\n" not in self.buf:
            left = deadline - time.monotonic()
            if left <= 0:
                return None
            ready, _, _ = select.select([fd], [], [], left)
            if not ready:
                return None
            chunk = os.read(fd, 1 << 16)
            if not chunk:
                return {"type": "eof"}
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        return json.loads(line)

    def run(self, job):
        """(outcomes, seconds, repro): run one job with the wall-clock limit."""
        if self.proc is None or self.proc.poll() is not None:
            self.start()
        t0 = time.monotonic()
        deadline = t0 + self.args.call_seconds
        self.proc.stdin.write((json.dumps(job) + "\n").encode())
        self.proc.stdin.flush()
        repro = ""
        while True:
            msg = self.read(deadline)
            if msg is None:                               # wall clock exceeded: kill
                self.stop()
                return ([{"status": "timeout", "detail": f"killed after "
                          f"{self.args.call_seconds:g} s wall clock (no answer)",
                          "where": "", "reproducer": repro}], time.monotonic() - t0, repro)
            if msg["type"] == "eof":
                code = self.proc.wait()
                tail = self.stderr_tail()
                self.proc = None
                mem = re.search(r"MemoryError|bad_alloc|Cannot allocate memory|"
                                r"out of memory", tail)
                status = "memory" if mem else "crash"
                return ([{"status": status, "detail": f"worker died (exit {code}): "
                          f"{tail.strip().splitlines()[-1] if tail.strip() else ''}",
                          "where": "", "reproducer": repro}], time.monotonic() - t0, repro)
            if msg["type"] == "start":
                repro = msg["repro"]
            elif msg["type"] == "done":
                outs = msg["outcomes"]
                if any(o["status"] == "memory" for o in outs):
                    self.stop()                           # a fresh heap for the next case
                return outs, msg["seconds"], repro


def _shape(text: str) -> str:
    """A message with its numbers blanked (to group failures of one kind)."""
    text = re.sub(r"0x[0-9a-fA-F.p+-]+", "#", text)
    text = re.sub(r"[-+]?\d+(\.\d+)?([eE][-+]?\d+)?", "#", text)
    return text[:160]


class Report:
    def __init__(self, args):
        self.args = args
        self.lock = threading.Lock()
        self.counts = collections.Counter()
        self.by_kind = collections.defaultdict(collections.Counter)
        self.groups = {}
        self.failures = []
        self.slowest = []
        self.calls = 0
        self.restarts = 0

    def add(self, index, kind, outs, seconds, repro):
        with self.lock:
            self.calls += 1
            worst = outs[0]["status"]
            for o in outs:
                if o["status"] in FAILED or o["status"] == "harness_error":
                    worst = o["status"]
                    break
            for o in outs:
                st = o["status"]
                self.counts[st] += 1
                self.by_kind[kind][st] += 1
                if st in FAILED or st == "harness_error":
                    rec = {"index": index, "kind": kind, "status": st, "detail": o["detail"],
                           "where": o.get("where", ""), "seconds": round(seconds, 3),
                           "reproducer": o.get("reproducer") or repro}
                    if len(self.failures) < self.args.max_failures:
                        self.failures.append(rec)
                    key = (st, o.get("where", ""), _shape(o["detail"]))
                    g = self.groups.setdefault(key, {"status": st, "where": key[1],
                                                     "detail": o["detail"], "count": 0,
                                                     "kinds": collections.Counter(),
                                                     "first": rec})
                    g["count"] += 1
                    g["kinds"][kind] += 1
            self.slowest.append((seconds, index, kind, worst, repro.splitlines()[-1][:300]
                                 if repro else ""))
            self.slowest = sorted(self.slowest, reverse=True)[:25]

    def as_dict(self, elapsed):
        groups = sorted(self.groups.values(), key=lambda g: -g["count"])
        return {
            "settings": {"seed": self.args.seed, "minutes": self.args.minutes,
                         "workers": self.args.workers, "call_seconds": self.args.call_seconds,
                         "memory_gib": self.args.memory_gib, "kinds": KINDS},
            "elapsed_seconds": round(elapsed, 1),
            "calls": self.calls,
            "outcomes": dict(self.counts),
            "by_kind": {k: dict(v) for k, v in self.by_kind.items()},
            "failure_groups": [{**{k: v for k, v in g.items() if k != "kinds"},
                                "kinds": dict(g["kinds"])} for g in groups],
            "failures": self.failures,
            "slowest": [{"seconds": round(s, 2), "index": i, "kind": k, "status": st,
                         "call": c} for s, i, k, st, c in self.slowest],
        }


def summary_text(rep: dict) -> str:
    c = rep["outcomes"]
    lines = [f"dp-accountant fuzz: {rep['calls']} cases in {rep['elapsed_seconds']:.0f} s "
             f"(seed {rep['settings']['seed']}, {rep['settings']['workers']} worker(s), "
             f"{rep['settings']['call_seconds']:g} s / {rep['settings']['memory_gib']:g} GiB "
             f"per case)",
             "outcomes: " + ", ".join(f"{k} {c.get(k, 0)}" for k in
                                      ("ok", "refused", "rejected", "violation", "exception",
                                       "accepted", "timeout", "memory", "crash",
                                       "harness_error")),
             "by kind: " + "; ".join(f"{k}: " + ", ".join(f"{s} {n}" for s, n in sorted(v.items()))
                                     for k, v in sorted(rep["by_kind"].items()))]
    groups = rep["failure_groups"]
    lines.append(f"failure groups: {len(groups)}")
    for g in groups[:40]:
        first = g["first"]
        repro = first["reproducer"].splitlines()
        lines.append(f"  [{g['status']} x{g['count']}] {g['detail'][:220]}"
                     + (f"  @ {g['where']}" if g["where"] else ""))
        if repro:
            lines.append(f"      e.g. case {first['index']}: {repro[-1][:300]}")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--minutes", type=float, default=20.0)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--out", default="fuzz-report.json")
    p.add_argument("--call-seconds", type=float, default=60.0)
    p.add_argument("--memory-gib", type=float, default=4.0)
    p.add_argument("--max-failures", type=int, default=2000)
    p.add_argument("--only", type=int, default=None, help="run case INDEX of --seed only")
    p.add_argument("--start", type=int, default=0, help="first case index")
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.worker:
        worker_main(args.call_seconds, args.memory_gib)
        return 0
    report = Report(args)
    out = Path(args.out)
    t0 = time.monotonic()

    def save():
        # written at every progress line too, atomically: an hour's run is never lost to
        # a crash or an interrupted session
        rep = report.as_dict(time.monotonic() - t0)
        rep["worker_restarts"] = report.restarts
        tmp = out.with_name(out.name + ".tmp")
        tmp.write_text(json.dumps(rep, indent=1, default=str) + "\n")
        os.replace(tmp, out)
        return rep

    # the output path is checked before the long work, not after it
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        save()
    except OSError as exc:
        print(f"fuzz: error: cannot write the report to {out}: {exc}", file=sys.stderr)
        return 2
    end = t0 + 60.0 * args.minutes
    counter = [args.start]
    lock = threading.Lock()
    progress = [t0]

    def loop(slot):
        w = Worker(args, slot)
        try:
            while time.monotonic() < end:
                with lock:
                    index = counter[0]
                    counter[0] += 1
                if args.only is not None:
                    if index > args.start:
                        return
                    index = args.only
                kind = kind_of(args.seed, index)
                outs, secs, repro = w.run({"seed": args.seed, "index": index, "kind": kind})
                now = time.monotonic()
                with lock:
                    report.add(index, kind, outs, secs, repro)
                    if now - progress[0] > 60:
                        progress[0] = now
                        c = report.counts
                        bad = sum(c[s] for s in FAILED)
                        print(f"fuzz: {report.calls} cases, {now - t0:.0f} s, failures {bad} "
                              f"({', '.join(f'{s} {c[s]}' for s in FAILED if c[s])})",
                              file=sys.stderr, flush=True)
                        save()
        finally:
            w.stop()
            with lock:
                report.restarts += max(0, w.restarts)

    threads = [threading.Thread(target=loop, args=(i,), daemon=True)
               for i in range(max(1, args.workers))]
    for t in threads:
        t.start()
    try:
        for t in threads:
            t.join()
    except KeyboardInterrupt:
        print("fuzz: interrupted, writing the report", file=sys.stderr)
    rep = save()
    print(summary_text(rep))
    print(f"report: {args.out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
