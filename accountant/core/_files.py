"""Reading the files a user names, and writing ours atomically (one place for both).

Reading (:func:`read_user_file`). A state file (``--state``, :meth:`PrivacyAccountant.load
<accountant.session.trainer.PrivacyAccountant.load>`, ``from_opacus(path)``) or a counts file
(``user-level --counts``) is read only when it is a **regular file** — a symlink to one is
fine, a symlink to ``/dev/zero``, a FIFO, a socket, a directory or a device is refused —
and only up to a size limit:

* :data:`STATE_MAX_BYTES` = 64 MiB for state files (a saved history takes a few hundred
  bytes per distinct mechanism);
* :data:`TORCH_MAX_BYTES` = 2 GiB for PyTorch files (an Opacus checkpoint holds the model
  and optimizer too, and ``torch.load`` needs it all in memory; for a larger model, save the
  accountant's ``state_dict()`` on its own with ``torch.save``);
* :data:`COUNTS_MAX_BYTES` = 256 MiB for counts files (tens of millions of users).

The type is checked with ``os.stat`` before opening, and the file is opened non-blocking and
checked again on the open descriptor, so a FIFO never blocks and a file swapped in between
is still refused; at most ``limit + 1`` bytes are ever read, so a file that grows (or lies
about its size, as under ``/proc``) cannot exhaust memory. Every refusal is a one-line
``ValueError`` naming the file and what is allowed.

Writing (:func:`write_atomically`). Data goes to a temporary file beside the target, named
``.<name>.tmp-<8 hex digits>``, which is flushed, fsynced and renamed over the target with
``os.replace`` (then the directory is fsynced, where the platform allows): readers see the
old file or the whole new one, never a partial one. On any exception the temporary file is
removed. A process killed mid-write (SIGKILL, power loss) cannot remove it: such a leftover
is removed by the next successful write of the same target once it is older than
:data:`STALE_TEMP_SECONDS` = 300 s (a younger one may belong to a concurrent writer). Only
regular files whose name matches exactly that target's pattern are ever removed.
"""
from __future__ import annotations

import os
import re
import secrets
import stat
import time

__all__ = ["read_user_file", "write_atomically", "new_temp", "STATE_MAX_BYTES",
           "TORCH_MAX_BYTES", "COUNTS_MAX_BYTES", "STALE_TEMP_SECONDS"]

STATE_MAX_BYTES = 64 * 2 ** 20
TORCH_MAX_BYTES = 2 * 2 ** 30
COUNTS_MAX_BYTES = 256 * 2 ** 20
STALE_TEMP_SECONDS = 300.0

_CHUNK = 2 ** 20
_TEMP_HEX = 8


def _size_text(n: int) -> str:
    for unit, size in (("GiB", 2 ** 30), ("MiB", 2 ** 20)):
        if n % size == 0:
            return f"{n // size} {unit}"
    return f"{n} bytes"


def _kind(mode: int) -> str:
    for test, name in ((stat.S_ISDIR, "a directory"), (stat.S_ISFIFO, "a FIFO (named pipe)"),
                       (stat.S_ISSOCK, "a socket"), (stat.S_ISCHR, "a character device"),
                       (stat.S_ISBLK, "a block device")):
        if test(mode):
            return name
    return "not a regular file"


def _refuse_type(what: str, path: str, mode: int):
    raise ValueError(f"{what} must be a regular file (or a symlink to one), got {path!r}, "
                     f"which is {_kind(mode)}")


def _refuse_size(what: str, path: str, limit: int, size=None):
    got = f"{size} bytes" if size is not None else "more"
    raise ValueError(f"{what} must be at most {_size_text(limit)} ({limit} bytes), "
                     f"got {path!r} with {got}")


def read_user_file(path, *, what: str, limit: int, head_limit=None) -> bytes:
    """The bytes of the regular file ``path`` (symlinks followed), at most ``limit`` bytes.

    ``what`` names the file in messages ("state file", "counts file"). ``head_limit``, if
    given, maps the file's first bytes (up to 16) to a larger limit for files of that kind
    (PyTorch checkpoints: :data:`TORCH_MAX_BYTES`). ValueError, one line, when the path is
    not a path, cannot be read, is not a regular file or exceeds its limit.
    """
    try:
        p = os.fspath(path)
    except TypeError:
        raise ValueError(f"{what} must be a file path, got {path!r}") from None
    try:
        st = os.stat(p)                      # follows symlinks; never opens the file
    except (OSError, ValueError) as exc:     # ValueError: an embedded NUL byte
        raise ValueError(f"cannot read {what} {p!r}: "
                         f"{getattr(exc, 'strerror', None) or exc}") from None
    if not stat.S_ISREG(st.st_mode):
        _refuse_type(what, p, st.st_mode)
    if st.st_size > limit and head_limit is None:
        _refuse_size(what, p, limit, st.st_size)
    flags = (os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_NOCTTY", 0)
             | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_BINARY", 0))
    try:
        fd = os.open(p, flags)
    except OSError as exc:
        raise ValueError(f"cannot read {what} {p!r}: {exc.strerror or exc}") from None
    chunks, n, size = [], 0, None
    try:
        st = os.fstat(fd)                    # the file actually opened (it may have changed)
        if not stat.S_ISREG(st.st_mode):
            _refuse_type(what, p, st.st_mode)
        while n <= limit:
            b = os.read(fd, min(_CHUNK, limit + 1 - n))
            if not b:
                break
            if not chunks and head_limit is not None:
                limit = max(limit, head_limit(b[:16]))
                if st.st_size > limit:
                    size = st.st_size
                    break
            chunks.append(b)
            n += len(b)
    except OSError as exc:
        raise ValueError(f"cannot read {what} {p!r}: {exc.strerror or exc}") from None
    finally:
        os.close(fd)
    if size is not None or n > limit:
        _refuse_size(what, p, limit, size)
    return b"".join(chunks)


# ----------------------------------------------------------------------------------------
# Atomic writes
# ----------------------------------------------------------------------------------------
def _temp_prefix(path: str) -> str:
    return "." + os.path.basename(path) + ".tmp-"


def new_temp(path):
    """(fd, name) of a new, empty file beside ``path`` named ``.<name>.tmp-<8 hex>``; mode
    0o666 so the umask applies as for any new file (mkstemp's 0o600 would make a shared
    table private)."""
    p = os.fspath(path)
    directory = os.path.dirname(os.path.abspath(p))
    prefix = _temp_prefix(p)
    for _ in range(100):
        tmp = os.path.join(directory, prefix + secrets.token_hex(_TEMP_HEX // 2))
        try:
            return os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
                           | getattr(os, "O_BINARY", 0), 0o666), tmp
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary name beside {p!r}")


def _remove_stale_temps(path: str, keep_younger_than: float = STALE_TEMP_SECONDS) -> None:
    """Remove leftovers of interrupted writes of ``path``: regular files named exactly
    ``.<name>.tmp-<8 hex>`` in its directory, older than ``keep_younger_than`` seconds.
    Best effort: errors are ignored."""
    directory = os.path.dirname(os.path.abspath(path))
    pattern = re.compile(re.escape(_temp_prefix(path)) + f"[0-9a-f]{{{_TEMP_HEX}}}")
    cutoff = time.time() - keep_younger_than
    try:
        names = os.listdir(directory)
    except OSError:
        return
    for name in names:
        if not pattern.fullmatch(name):
            continue
        full = os.path.join(directory, name)
        try:
            st = os.lstat(full)
            if stat.S_ISREG(st.st_mode) and st.st_mtime < cutoff:
                os.unlink(full)
        except OSError:
            pass


def write_atomically(path, data: bytes, name: str = "output") -> None:
    """Write ``data`` to ``path`` atomically (see the module docstring): readers see the old
    file or the whole new one, never a partial one. OSError → ValueError naming ``name``.
    Afterwards, stale temporary files of earlier interrupted writes of ``path`` are removed.
    """
    try:
        p = os.fspath(path)
    except TypeError:
        raise ValueError(f"{name} must be a file path, got {path!r}") from None
    try:
        fd, tmp = new_temp(p)
    except OSError as exc:
        raise ValueError(f"{name}: cannot write {p!r} ({exc.strerror or exc})") from None
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, p)
    except BaseException as exc:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        if isinstance(exc, OSError):
            raise ValueError(f"{name}: cannot write {p!r} ({exc.strerror or exc})") from None
        raise
    _fsync_directory(os.path.dirname(os.path.abspath(p)))
    _remove_stale_temps(p)


def _fsync_directory(directory: str) -> None:
    """Make a rename durable (best effort: not every platform can open a directory)."""
    try:
        dfd = os.open(directory, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(dfd)
    except OSError:
        pass
    finally:
        os.close(dfd)
