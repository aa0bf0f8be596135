"""Writing a file so that a run killed at any moment leaves it whole, and no temporary behind.

A file is replaced by renaming a complete temporary file over it (`os.replace`, atomic on
POSIX and Windows), so the file is always either the old or the new text. The temporary file
is written in the same folder (a rename cannot cross file systems) and:

- on Linux it is created unnamed (`O_TMPFILE`): it has no name while it is written, and gets
  one (`linkat`) only immediately before the rename, so a run killed with SIGKILL leaves
  nothing unless the kill lands between those two system calls (POSIX has no call that puts
  an unnamed file over an existing name: this moment cannot be avoided);
- elsewhere, or where the file system refuses `O_TMPFILE`, it is created with its name
  (`O_EXCL`); SIGINT and SIGTERM unwind through the `finally` that removes it.

Either way its name is `.<file>.varlint-<pid>.tmp`, and what a killed run (or a power cut)
leaves is removed by the next run (`remove_if_stale`, called as directories are walked and
before each write): only a name of exactly that shape, only when the process it names is gone
(POSIX; elsewhere, when it is over an hour old) and it is older than the current run, so a
temporary file of a run going on at the same time is never touched.
"""

from __future__ import annotations

import functools
import os
import re
import sys
import time

STALE_NAME = re.compile(r"^\.(?P<name>.+)\.varlint-(?P<pid>\d+)\.tmp$")
RUN_STARTED = time.time()
_swept: set[str] = set()


def temporary_name(path: str, pid: int | None = None) -> str:
    directory, name = os.path.split(os.path.abspath(path))
    return os.path.join(directory, f".{name}.varlint-{pid or os.getpid()}.tmp")


def replace(path: str, data: bytes, mode: int | None = None) -> None:
    """Replace (or create) `path` with `data` atomically; `mode` as given, else as it was."""
    directory = os.path.dirname(os.path.abspath(path))
    sweep(directory)
    if mode is None:
        try:
            mode = os.stat(path).st_mode & 0o7777
        except FileNotFoundError:
            mode = 0o666 & ~_umask()
    temporary = temporary_name(path)
    _remove(temporary)  # left by a killed process that had this pid before
    descriptor = _open_unnamed(directory)
    named = False
    try:
        if descriptor is not None:
            _write_all(descriptor, data)
            os.fchmod(descriptor, mode)
            named = _link_unnamed(descriptor, temporary)
            if named:  # the rename at once: this is the only moment the temporary has a name
                os.replace(temporary, path)
                named = False
                return
            os.close(descriptor)
            descriptor = None
        # no O_TMPFILE here, or no way to give the file a name: a named temporary file
        named = True
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o600)
        _write_all(descriptor, data)
        os.close(descriptor)
        descriptor = None
        os.chmod(temporary, mode)
        os.replace(temporary, path)
        named = False
    finally:
        if descriptor is not None:
            os.close(descriptor)
        if named:
            _remove(temporary)


_unnamed_works: bool | None = None  # None: not tried yet in this process


def _open_unnamed(directory: str) -> int | None:
    """An unnamed file in `directory` (Linux O_TMPFILE), or None where that is not possible."""
    flag = getattr(os, "O_TMPFILE", None)
    if flag is None or _unnamed_works is False:
        return None
    try:
        return os.open(directory, flag | os.O_WRONLY, 0o600)
    except OSError:  # EOPNOTSUPP, EISDIR or EINVAL: a file system without it
        return None


def _link_unnamed(descriptor: int, name: str) -> bool:
    """Give the unnamed file a name: linkat(fd, "", AT_EMPTY_PATH) where the kernel allows it
    (root, or a kernel that lets the file's opener do it), else linkat through /proc/self/fd
    (refused with EXDEV where /proc belongs to another mount). When neither works, this
    process writes named temporary files from then on."""
    global _unnamed_works
    linkat = _libc_linkat()
    if linkat is not None and linkat(descriptor, b"", -100, os.fsencode(name), 0x1000) == 0:  # AT_FDCWD, AT_EMPTY_PATH
        return True
    try:
        os.link(f"/proc/self/fd/{descriptor}", name, follow_symlinks=True)
    except OSError:
        _unnamed_works = False
        return False
    return True


@functools.cache
def _libc_linkat():
    import ctypes

    try:
        return ctypes.CDLL(None, use_errno=True).linkat
    except (OSError, AttributeError):
        return None


def _write_all(descriptor: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(descriptor, view):]


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def _remove(path: str) -> None:
    try:
        os.unlink(path)
    except OSError:
        pass


def sweep(directory: str) -> None:
    """Remove the stale temporary files of killed runs in `directory` (once per run)."""
    key = os.path.abspath(directory)
    if key in _swept:
        return
    _swept.add(key)
    try:
        names = [entry.name for entry in os.scandir(key) if entry.name.endswith(".tmp")]
    except OSError:
        return
    for name in names:
        remove_if_stale(os.path.join(key, name))


def remove_if_stale(path: str) -> bool:
    """Remove `path` if it is a temporary file of a varlint run that is over; say if it was."""
    match = STALE_NAME.match(os.path.basename(path))
    if match is None:
        return False
    try:
        modified = os.lstat(path).st_mtime
    except OSError:
        return False
    if modified >= RUN_STARTED or not _process_gone(int(match.group("pid")), modified):
        return False
    try:
        os.unlink(path)
    except OSError:
        return False
    return True


def _process_gone(pid: int, modified: float) -> bool:
    if sys.platform == "win32":  # os.kill(pid, 0) would terminate the process there
        return time.time() - modified > 3600
    if pid == os.getpid():
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except OSError:  # PermissionError: alive, someone else's
        return False
    return False
