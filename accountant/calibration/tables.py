"""Noise-multiplier tables over a grid of (ε, δ, q, epochs | steps).

``noise_table(...)`` calibrates every cell with :func:`accountant.calibration.search.calibrate` and
returns one row per cell with the columns :data:`COLUMNS`:

``target_epsilon, delta, sample_rate, epochs, steps`` — the cell (steps = ceil(epochs / q));
``noise_multiplier`` — σ; ``epsilon`` — the ε spent at σ; ``certified`` / ``kind`` — whether
``epsilon`` is a proven upper bound (``kind="certified"``; PLD and RDP rows, saddle-point rows
whose error bound is finite) or the method's estimate (``kind="estimate"``; Edgeworth, the
other saddle-point rows: the ε really spent at such a σ can be far above the target);
``method``. Rows also carry ``warnings`` (the accountant's diagnostics at σ, a list),
``seconds``, and ``error`` for a cell out of range.

Work is reused across cells: cells sharing (δ, q, ε) form one chunk solved in increasing T,
and each cell starts from its neighbour's σ rescaled by the ratio of their CLT estimates
(σ is monotone in T, q and ε, so the neighbour is an excellent bracket/start); a warm
start saves the coarse search and leaves the few certified PLD evaluations. Chunks run on
all local cores (``concurrent.futures.ProcessPoolExecutor``; numba caches are per process,
so whole chunks go to a worker), or on a Dask cluster with ``dask_scheduler``.

CLI (:mod:`accountant.cli.table`): ``dp-accountant table --epsilon 1,2,4,8 --delta 1e-5
--sample-rate 0.001,0.01 --epochs 1,10,100 --output table.csv`` (.csv, .json or .md by
extension; written atomically, the path checked before any work).

The shipped lookup table (:mod:`accountant.calibration.lookup`) is built by :mod:`accountant.calibration.lookup_build`;
:func:`build_lookup` computes the calibrated grid (format 1) whose entries it keeps for
exact hits.

Size: one job, a table of certified σ over a grid: its parallel workers, Ctrl-C handling
and the three output formats share the row model.
"""
from __future__ import annotations

import csv
import io
import math
import os
import signal
import sys
import threading
import time
import warnings
from concurrent.futures import ProcessPoolExecutor, as_completed
from typing import List, Optional, Sequence

from ..core import _validate as v
from ..core._files import new_temp as _new_temp, write_atomically
from ..core._json import dumps, kind_of

__all__ = ["noise_table", "write_table", "check_output", "COLUMNS", "TABLE_FORMATS",
           "DASK_CONNECT_TIMEOUT", "build_lookup", "LOOKUP_GRID"]

COLUMNS = ("target_epsilon", "delta", "sample_rate", "epochs", "steps", "noise_multiplier",
           "epsilon", "certified", "kind", "method")
TABLE_FORMATS = (".csv", ".json", ".md")
#: seconds allowed to reach a Dask scheduler: a wrong address fails fast instead of after
#: distributed's default 30 s of retries.
DASK_CONNECT_TIMEOUT = 5.0


def _floats(name, values, check) -> List[float]:
    if values is None:
        return []
    if isinstance(values, str):
        parts = [p for p in values.replace(" ", "").split(",") if p]
        out = []
        for p in parts:
            try:
                out.append(float(p))
            except ValueError:
                raise ValueError(f"{name} must be a comma-separated list of numbers, got "
                                 f"{values!r}") from None
        values = out
    try:
        vals = list(values)
    except TypeError:
        vals = [values]
    if not vals:
        raise ValueError(f"{name} must hold at least one value")
    return [check(name, x) for x in vals]


def _cells(epsilons, deltas, sample_rates, epochs, steps):
    cells = []
    for d in deltas:
        for q in sample_rates:
            for e in epsilons:
                if epochs:
                    for ep in epochs:
                        T = max(1, math.ceil(ep / q - 1e-9))
                        cells.append((e, d, q, ep, T))
                for T in steps:
                    cells.append((e, d, q, T * q, T))
    return cells


def _unique(items):
    return list(dict.fromkeys(items))


def _solve_chunk(chunk, method, sampling, k, rtol, max_seconds=None, sampler=None):
    """Solve cells sharing (δ, q, ε) in increasing T, warm-starting each from the last.

    Runs in a worker process (or a Dask worker): returns one plain dict per cell with
    ``index, noise_multiplier, epsilon, certified, method, seconds, warnings, error``.
    """
    from ..core.bounds import AccountantWarning
    from .search import _SigmaProblem, calibrate
    out = []
    prev = None  # (clt guess, sigma, grid step, slope) of the last solved cell
    for idx, (e, d, q, ep, T) in sorted(chunk, key=lambda c: c[1][4]):
        t0 = time.perf_counter()
        cell = {"index": idx, "noise_multiplier": None, "epsilon": None, "certified": False,
                "method": method, "warnings": [], "error": None}
        # calibrate raises its diagnostics as warnings; in a worker they would be printed by
        # every process, far from the cell they concern: record them in the row instead.
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                prob = _SigmaProblem(e, d, q, T, sampling, k, None, (0.1, 1e4), sampler)
                clt = prob.guess()
                guess = clt if prev is None else prev[1] * clt / prev[0]
                warm = None
                if prev is not None and prev[2] is not None:
                    warm = (prev[2], prev[3])
                r = calibrate(e, d, q, T, method=method, sampling=sampling,
                              examples_per_user=k, rtol=rtol, guess=guess,
                              max_seconds=max_seconds, _warm=warm, **(sampler or {}))
            except ValueError as exc:
                cell["error"] = str(exc)
                r = None
        if r is not None:
            gs = (r.details or {}).get("grid_step")
            prev = (clt, r.noise_multiplier, gs if isinstance(gs, float) else None,
                    (r.details or {}).get("slope", 1.5))
            cell.update(noise_multiplier=r.noise_multiplier, epsilon=r.epsilon,
                        certified=bool(r.certified), method=r.method)
            found = list(r.warnings)
        else:
            found = []
        # The calibration's own diagnostics by name (as in Calibration.warnings); anything
        # else (numpy, numba) with its category so that it stays recognisable.
        found += [f"{w.category.__name__}: {w.message}" for w in caught
                  if not issubclass(w.category, AccountantWarning) or r is None]
        cell["warnings"] = _unique(found)
        cell["seconds"] = time.perf_counter() - t0
        out.append(cell)
    return out


# ----------------------------------------------------------------------------------------
# Progress
# ----------------------------------------------------------------------------------------
_PROGRESS_MODES = ("auto", "bar", "lines")


def _progress_mode(progress, stream):
    """None (silent), "bar" (tqdm, for a terminal) or "lines" (one line now and then, for logs
    and CI, where a redrawn bar would be a wall of carriage returns)."""
    if progress is None or progress is False:
        return None
    if progress is True or progress == "auto":
        try:
            # A terminal without a size (some CI pseudo-terminals) would get an empty bar.
            tty = bool(stream.isatty()) and os.get_terminal_size(stream.fileno()).columns > 0
        except (AttributeError, ValueError, OSError):
            tty = False
        return "bar" if tty else "lines"
    if progress in ("bar", "lines"):
        return progress
    raise ValueError("progress must be True, False, 'auto', 'bar' or 'lines', got "
                     f"{progress!r}")


class _Progress:
    """Cells done on stderr: a tqdm bar with ETA ("bar"), or ("lines") a line at every 10 %
    and at least every ``interval`` seconds, e.g.
    ``table: 40/120 cells, 12.3 s elapsed, ETA 25 s``."""

    def __init__(self, total, mode, stream=None, interval=10.0, label="table"):
        self.total, self.mode, self.interval, self.label = total, mode, interval, label
        self.stream = sys.stderr if stream is None else stream
        self.done = 0
        self.t0 = time.perf_counter()
        self._bar = None
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread = None
        self._last_line = self.t0
        self._last_decile = 0

    def start(self, note=""):
        """Begin drawing; called once the worker processes exist, so that no thread of
        ours (tqdm's monitor, the heartbeat) is running when the pool forks."""
        if self.mode == "bar":
            try:
                from tqdm import tqdm
            except ImportError:   # a runtime dependency; an old environment still gets lines
                self.mode = "lines"
            else:
                self._bar = tqdm(total=self.total, desc=self.label, unit="cell",
                                 file=self.stream, dynamic_ncols=True, mininterval=0.2,
                                 smoothing=0.1)
                return
        if self.mode != "lines":
            return
        self._write(f"{self.label}: {self.total} cells{note}")
        # A chunk of slow cells can take minutes: keep saying where we are, so that a log
        # (or a CI job watching for output) sees the run is alive.
        self._thread = threading.Thread(target=self._heartbeat, daemon=True,
                                        name="dp-accountant-progress")
        self._thread.start()

    def _heartbeat(self):
        while not self._stop.wait(min(1.0, self.interval)):
            with self._lock:
                due = time.perf_counter() - self._last_line >= self.interval
            if due:
                self._line()

    def _write(self, text):
        with self._lock:
            self.stream.write(text + "\n")
            self.stream.flush()
            self._last_line = time.perf_counter()

    def _line(self):
        el = time.perf_counter() - self.t0
        done, total = self.done, self.total
        if 0 < done < total:
            eta = f", ETA {_duration(el / done * (total - done))}"
        elif done >= total:
            eta = ", done"
        else:
            eta = ""
        self._write(f"{self.label}: {done}/{total} cells, {el:.1f} s elapsed{eta}")

    def update(self, n):
        self.done += n
        if self._bar is not None:
            self._bar.update(n)
        elif self.mode == "lines":
            decile = int(10 * self.done / self.total) if self.total else 10
            if decile > self._last_decile or \
                    time.perf_counter() - self._last_line >= self.interval:
                self._last_decile = decile
                self._line()

    def close(self):
        # Nothing more is written: after an interruption the CLI says so in one line.
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2.0)
        if self._bar is not None:
            self._bar.close()


def _duration(seconds):
    if seconds < 90:
        return f"{seconds:.0f} s"
    if seconds < 5400:
        return f"{seconds / 60:.0f} min"
    return f"{seconds / 3600:.1f} h"


def _chunks(cells, workers):
    """Cells sharing (δ, q, ε) in increasing T; groups split when there are fewer than
    two chunks per worker. Longest chunks first for better packing."""
    groups = {}
    for i, c in enumerate(cells):
        groups.setdefault((c[1], c[2], c[0]), []).append((i, c))
    pieces = max(1, math.ceil(2 * workers / len(groups)))
    out = []
    for ch in groups.values():
        ch = sorted(ch, key=lambda c: c[1][4])
        size = max(1, math.ceil(len(ch) / pieces))
        out.extend(ch[s:s + size] for s in range(0, len(ch), size))
    out.sort(key=lambda ch: -sum(math.log(c[1][4] + 1) for c in ch))
    return out


# ----------------------------------------------------------------------------------------
# The table
# ----------------------------------------------------------------------------------------
def noise_table(epsilons: Sequence[float], deltas: Sequence[float], sample_rates: Sequence[float],
                epochs: Optional[Sequence[float]] = None, steps: Optional[Sequence[int]] = None, *,
                method: str = "pld", examples_per_user: Optional[int] = None,
                sampling: Optional[str] = None, dataset_size: Optional[int] = None,
                max_batch_size: Optional[int] = None, rtol: float = 1e-3,
                workers: Optional[int] = None,
                dask_scheduler: object = None, progress: bool | str | None = False,
                max_seconds: Optional[float] = None) -> List[dict]:
    """Calibrate every cell of the grid.

    Parameters
    ----------
    epsilons, deltas, sample_rates : sequences (or comma-separated strings) of target ε > 0,
        δ in (0, 1) and sample rates q in (0, 1].
    epochs, steps : give one (or both): steps = ceil(epochs / q); a ``steps`` value gives
        epochs = steps·q.
    method, examples_per_user, sampling, rtol : as in :func:`accountant.calibration.search.calibrate`.
        ``sampling="truncated"`` takes ``dataset_size`` and ``max_batch_size`` (the same for
        every cell); "shuffle" and "random-allocation" are refused (their rate is fixed by
        the batch size, so a grid of sample rates does not apply: use ``calibrate``).
        With ``method="edgeworth"`` (and for saddle-point cells without a finite error
        bound) the rows are estimates (``kind="estimate"``), not guarantees.
    workers : processes (default: all cores; 1 = in this process). With ``dask_scheduler``
        it only sets how finely the grid is split (default: the cluster's threads).
    dask_scheduler : run the chunks on a Dask cluster instead: a ``distributed.Client``
        (used as is, left open), a scheduler address such as ``"tcp://host:8786"``, or a
        cluster object with ``.scheduler_address`` (``LocalCluster``, …). An unreachable
        scheduler raises ValueError after :data:`DASK_CONNECT_TIMEOUT` seconds.
    progress : False (default), True or "auto" (a tqdm bar with ETA when stderr is a
        terminal, otherwise a line at every 10 % and at least every 10 s), "bar" or "lines".
    max_seconds : optional wall-clock budget per cell (see ``calibrate``).

    Returns
    -------
    list of dict, one per cell in grid order (δ, q, ε, then epochs/steps): the
    :data:`COLUMNS` plus ``warnings`` (list of str), ``seconds``, and ``error`` (str) for a
    cell out of range (then ``noise_multiplier``, ``epsilon`` and ``kind`` are None).

    Raises
    ------
    ValueError : bad arguments (named, with their range), or an unusable Dask scheduler.
    KeyboardInterrupt : passed on after the worker processes are stopped.
    """
    eps = _floats("epsilon", epsilons, v.positive)
    dls = _floats("delta", deltas, v.delta)
    qs = _floats("sample_rate", sample_rates, v.sample_rate)
    eps_ep = _floats("epochs", epochs, v.positive) if epochs is not None else []
    sts = _floats("steps", steps, v.count) if steps is not None else []
    if not eps_ep and not sts:
        raise ValueError("epochs or steps must be given (at least one value)")
    from .search import _check_sampling, _per_step_sampler
    k = _check_sampling(sampling, examples_per_user)
    sampler = _per_step_sampler("noise_table", sampling, dataset_size, max_batch_size)
    rtol = v.positive("rtol", rtol)
    v.choice("method", method, ("pld", "rdp", "edgeworth", "saddlepoint"))
    if max_seconds is not None:
        max_seconds = v.positive("max_seconds", max_seconds)
    mode = _progress_mode(progress, sys.stderr)
    cells = _cells(eps, dls, qs, eps_ep, sts)
    nw = (os.cpu_count() or 1) if workers is None else v.count("workers", workers)
    # Connect before any work: a wrong address is an error now, not after a local warm-up.
    client, own_client = (_dask_client(dask_scheduler) if dask_scheduler is not None
                          else (None, False))
    if client is not None and workers is None:
        # Split the grid for the cluster's threads, not this machine's cores.
        try:
            nw = max(1, sum(client.nthreads().values()))
        except (OSError, RuntimeError, ValueError):  # a comm failure: keep the local count
            pass
    chunks = _chunks(cells, nw)
    results = [None] * len(cells)
    args = (method, sampling, k, rtol, max_seconds, sampler)
    bar = _Progress(len(cells), mode)

    def collect(part):
        for item in part:
            results[item["index"]] = item
        bar.update(len(part))

    try:
        if client is not None:
            _run_dask(client, own_client, chunks, args, collect, bar)
        elif nw == 1 or len(chunks) == 1:
            bar.start()
            for ch in chunks:
                collect(_solve_chunk(ch, *args))
        else:
            _run_pool(chunks, args, min(nw, len(chunks)), collect, bar)
    finally:
        bar.close()
    rows = []
    for (e, d, q, ep, T), r in zip(cells, results):
        ok = r["error"] is None
        row = {"target_epsilon": e, "delta": d, "sample_rate": q, "epochs": ep, "steps": T,
               "noise_multiplier": r["noise_multiplier"], "epsilon": r["epsilon"],
               "certified": bool(r["certified"]) if ok else False,
               "kind": kind_of(bool(r["certified"])) if ok else None,
               "method": r["method"], "warnings": list(r["warnings"]),
               "seconds": r["seconds"]}
        if not ok:
            row["error"] = r["error"]
        rows.append(row)
    return rows


def _worker_init():
    # Only the parent handles Ctrl-C. A terminal sends SIGINT to the whole foreground group;
    # a worker's KeyboardInterrupt would come back as one chunk's result while the parent
    # kept waiting for the others. The parent stops the workers itself.
    signal.signal(signal.SIGINT, signal.SIG_IGN)


def _run_pool(chunks, args, workers, collect, bar):
    import multiprocessing as mp
    # Workers forked from a process that already loaded the numba kernels start warm.
    from . import search as _c  # noqa: F401
    from ..accountants.pld import bracket as _p  # noqa: F401
    ctx = mp.get_context("fork") if "fork" in mp.get_all_start_methods() else None
    ex = ProcessPoolExecutor(max_workers=workers, mp_context=ctx, initializer=_worker_init)
    futs = []
    try:
        futs = [ex.submit(_solve_chunk, ch, *args) for ch in chunks]
        bar.start(f" in {len(chunks)} chunks on {workers} worker processes")
        for f in as_completed(futs):
            collect(f.result())
    except BaseException:
        _stop_pool(ex, futs)
        raise
    ex.shutdown(wait=True)


def _stop_pool(ex, futs):
    """Stop at once: cancel what has not started and terminate the workers.

    ``shutdown(cancel_futures=True)`` alone still waits for the running chunks (minutes for
    a large table), so the workers are terminated first; nothing of theirs is kept.
    """
    for f in futs:
        f.cancel()
    # The executor has no public handle on its processes; _processes has held them (pid →
    # Process) in every CPython since 3.2.
    procs = list((getattr(ex, "_processes", None) or {}).values())
    for p in procs:
        try:
            p.terminate()
        except (OSError, ValueError):  # already gone (or closed)
            pass
    ex.shutdown(wait=False, cancel_futures=True)
    deadline = time.monotonic() + 2.0
    for p in procs:
        try:
            p.join(max(0.0, deadline - time.monotonic()))
            if p.is_alive():
                p.kill()
                p.join(1.0)
        except (OSError, ValueError, AssertionError):  # reaped concurrently by the executor
            pass


def _dask_client(scheduler):
    """(client, ours): the user's Client as is, or a new one for an address or a cluster."""
    try:
        from distributed import Client
    except ImportError:
        raise ValueError("dask_scheduler needs the optional dependency dask.distributed "
                         "(pip install 'dask[distributed]')") from None
    if isinstance(scheduler, Client):
        return scheduler, False
    address = scheduler if isinstance(scheduler, str) else getattr(
        scheduler, "scheduler_address", None)
    if not isinstance(address, str) or not address.strip():
        raise ValueError("dask_scheduler must be a distributed.Client, a scheduler address "
                         "such as 'tcp://host:8786', or a cluster with .scheduler_address, "
                         f"got {scheduler!r}")
    try:
        # Parse (and resolve the host) first: a Client that fails on a malformed address
        # lingers half-open and its finaliser blocks the interpreter's exit for 10 s.
        from distributed.comm import resolve_address
        resolve_address(address)
    except (ValueError, TypeError, OSError) as exc:  # OSError: socket.gaierror, ...
        reason = str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__
        raise ValueError(f"dask_scheduler: bad Dask scheduler address {address!r} "
                         f"({reason}); expected e.g. 'tcp://host:8786'") from None
    try:
        # set_as_default=False: our short-lived client must not become the user's dask default.
        client = Client(address, timeout=DASK_CONNECT_TIMEOUT, set_as_default=False)
    except (OSError, ValueError, RuntimeError) as exc:  # OSError: TimeoutError, refused
        reason = str(exc).splitlines()[0] if str(exc) else exc.__class__.__name__
        raise ValueError(f"dask_scheduler: cannot reach the Dask scheduler at {address!r} "
                         f"within {DASK_CONNECT_TIMEOUT:g} s ({reason})") from None
    return client, True


def _run_dask(client, own_client, chunks, args, collect, bar):
    from distributed import as_completed as dask_completed
    futs = []
    try:
        futs = [client.submit(_solve_chunk, ch, *args, pure=False) for ch in chunks]
        bar.start(f" in {len(chunks)} chunks on the Dask cluster")
        # Our client need not be dask's default one: give its event loop explicitly.
        for f in dask_completed(futs, loop=client.loop):
            collect(f.result())
    except BaseException:
        # Pending chunks are dropped; a chunk already running on a worker finishes there
        # (Dask cannot stop a running task) and its result is discarded.
        try:
            client.cancel(futs)
        except (OSError, RuntimeError):  # the connection may be what failed
            pass
        raise
    finally:
        if own_client:
            client.close()


# ----------------------------------------------------------------------------------------
# Output
# ----------------------------------------------------------------------------------------
def check_output(path: str, extensions: Sequence[str] = TABLE_FORMATS, name: str = "output") -> str:
    """Check, before any long work, that ``path`` can be written; returns its extension.

    The extension must be one of ``extensions`` (case-insensitive), the directory must exist
    and accept a new file (tried for real: ``os.access`` is wrong for root and read-only
    mounts), and ``path`` must not be a directory. Raises ValueError naming ``name``.
    """
    try:
        p = os.fspath(path)
    except TypeError:
        raise ValueError(f"{name} must be a file path, got {path!r}") from None
    ext = os.path.splitext(p)[1].lower()
    if ext not in extensions:
        raise ValueError(f"{name} must end in {_or(extensions)}, got {p!r}")
    directory = os.path.dirname(os.path.abspath(p))
    if not os.path.isdir(directory):
        raise ValueError(f"{name}: directory {directory!r} does not exist (got {p!r})")
    if os.path.isdir(p):
        raise ValueError(f"{name} {p!r} is a directory")
    try:
        fd, probe = _new_temp(p)
        os.close(fd)
        os.unlink(probe)
    except OSError as exc:
        raise ValueError(f"{name}: cannot write in directory {directory!r} "
                         f"({exc.strerror or exc})") from None
    return ext


def _or(items):
    items = list(items)
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " or " + items[-1]


def _ceil_sig(x, digits=6):
    """x rounded *up* to ``digits`` significant digits (σ and ε stay conservative)."""
    if x is None or not math.isfinite(x) or x == 0:
        return x
    e = math.floor(math.log10(abs(x))) - digits + 1
    m = math.ceil(x / 10 ** e - 1e-9)
    return float(f"{m}e{e}")


def _columns(rows, fmt):
    cols = list(COLUMNS)
    # JSON follows the project schema (warnings always a list); in CSV and Markdown the
    # column appears only when some cell has a warning, joined with "; ".
    if fmt == ".json" or any(r.get("warnings") for r in rows):
        cols.append("warnings")
    if any(r.get("error") for r in rows):
        cols.append("error")
    return cols


def _text_cell(col, val, markdown):
    if val is None:
        return "—" if markdown else ""
    if isinstance(val, bool):
        return "true" if val else "false"
    if col == "warnings":
        return "; ".join(val)
    if isinstance(val, float):
        if markdown:
            # σ and ε rounded up: a displayed σ is never below the calibrated one, a
            # displayed ε never below the computed one.
            if col in ("noise_multiplier", "epsilon"):
                return f"{_ceil_sig(val, 6):.6g}"
            return f"{val:g}"
        return repr(val)
    return str(val)


def _render(rows, fmt):
    cols = _columns(rows, fmt)
    if fmt == ".json":
        return dumps([{c: (list(r.get(c) or ()) if c == "warnings" else r.get(c))
                       for c in cols} for r in rows], indent=1) + "\n"
    if fmt == ".csv":
        buf = io.StringIO()
        w = csv.writer(buf, lineterminator="\n")
        w.writerow(cols)
        for r in rows:
            w.writerow([_text_cell(c, r.get(c), False) for c in cols])
        return buf.getvalue()
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for r in rows:
        cells = [_text_cell(c, r.get(c), True).replace("|", "\\|") for c in cols]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def write_table(rows: Sequence[dict], path: str) -> str:
    """Write rows to ``path`` as CSV, JSON or Markdown (by extension), atomically; returns
    the format ("csv", "json" or "md").

    Columns: :data:`COLUMNS`, then ``warnings`` (in JSON always, as a list; in CSV/Markdown
    when some row has one, joined with "; "), then ``error`` when some cell failed.
    Infinities are written as "inf" (strict JSON).
    """
    fmt = check_output(path, TABLE_FORMATS, "path")
    write_atomically(path, _render(rows, fmt).encode("utf-8"), "path")
    return fmt[1:]


# ----------------------------------------------------------------------------------------
# The shipped lookup table
# ----------------------------------------------------------------------------------------
LOOKUP_GRID = {
    "epsilon": (1.0, 2.0, 3.0, 4.0, 8.0),
    "delta": (1e-8, 1e-6, 1e-5),
    "sample_rate": (1e-3, 2e-3, 5e-3, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1.0),
    "steps": (10, 100, 1000, 2000, 5000, 10_000, 20_000, 50_000, 100_000),
}


def build_lookup(path: str, grid: Optional[dict] = None, workers: Optional[int] = None,
                 progress: bool | str | None = True, rtol: float = 1e-3,
                 max_seconds: Optional[float] = 20.0) -> str:
    """Calibrate the grid :data:`LOOKUP_GRID` (PLD, Poisson add/remove) and save it as a
    compressed .npz with the axes, σ (NaN where out of range) and the certified ε per cell
    (format 1). :mod:`accountant.calibration.lookup_build` keeps these entries in the shipped lattice
    table for exact hits; ``path`` is required so that the shipped table (format 2) is
    never overwritten by this one.
    """
    import numpy as np
    grid = dict(LOOKUP_GRID if grid is None else grid)
    rows = noise_table(grid["epsilon"], grid["delta"], grid["sample_rate"],
                       steps=grid["steps"], method="pld", rtol=rtol, workers=workers,
                       progress=progress, max_seconds=max_seconds)
    ax = [tuple(sorted(grid[n])) for n in ("epsilon", "delta", "sample_rate", "steps")]
    shape = tuple(len(a) for a in ax)
    sig = np.full(shape, np.nan)
    ce = np.full(shape, np.nan)
    pos = [{x: i for i, x in enumerate(a)} for a in ax]
    for r in rows:
        i = (pos[0][r["target_epsilon"]], pos[1][r["delta"]], pos[2][r["sample_rate"]],
             pos[3][int(r["steps"])])
        # Only a certified σ may be shipped as one (PLD always is; checked, not assumed).
        if r["noise_multiplier"] is not None and r["certified"]:
            sig[i] = r["noise_multiplier"]
            ce[i] = r["epsilon"]
    os.makedirs(os.path.dirname(path) or ".", exist_ok=True)
    np.savez_compressed(path, epsilon=np.array(ax[0]), delta=np.array(ax[1]),
                        sample_rate=np.array(ax[2]), steps=np.array(ax[3], dtype=np.int64),
                        noise_multiplier=sig, certified_epsilon=ce,
                        rtol=np.array(rtol), method=np.array("pld"))
    return path
