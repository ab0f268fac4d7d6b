"""Storage faults in words: a full disk, a read-only directory, a quota, a vanished file system.

:func:`storage_problem` turns an ``OSError`` (``ENOSPC``, ``EROFS``, ``EACCES``, ``EDQUOT``,
``EIO`` ...) or an ``sqlite3`` error about the disk into a :class:`StorageError` — a
:class:`~alearn.errors.UserError`, so ``alearn`` prints it without a traceback and exits 2 —
that says *what* failed, *where* (the path), and *how much space* is left on that file
system.  Nothing is retried here: after the fault is fixed the same command resumes.
"""

from __future__ import annotations

import errno
import shutil
from pathlib import Path

from alearn.errors import UserError

#: errno values that mean "the storage refused the write", not "the program is wrong"
STORAGE_ERRNOS = frozenset({errno.ENOSPC, errno.EROFS, errno.EACCES, errno.EPERM, errno.EDQUOT,
                            errno.EIO, errno.EFBIG, errno.ENOLCK})
#: SQLite result codes (``sqlite3.Error.sqlite_errorname``) of the same kind of fault
_SQLITE_NAMES = ("SQLITE_FULL", "SQLITE_READONLY", "SQLITE_CANTOPEN", "SQLITE_IOERR",
                 "SQLITE_PERM", "SQLITE_AUTH")
_SQLITE_WORDS = ("disk is full", "readonly database", "unable to open database",
                 "disk i/o error", "attempt to write a readonly")


class StorageError(UserError):
    """A write (or open) the file system refused, described with the path and free space."""


def free_space(path: Path) -> str:
    """The free space of the file system holding ``path`` (or its nearest existing parent)."""
    probe = Path(path)
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    try:
        usage = shutil.disk_usage(probe)
    except OSError:
        return "free space unknown"
    return f"{human_bytes(usage.free)} free of {human_bytes(usage.total)} on that file system"


def human_bytes(count: int) -> str:
    """``1536`` → ``'1.5 KiB'``."""
    value = float(count)
    for unit in ("B", "KiB", "MiB", "GiB", "TiB"):
        if value < 1024 or unit == "TiB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    raise AssertionError("unreachable")


def is_storage_fault(exc: BaseException) -> bool:
    """Whether ``exc`` is the file system (or SQLite on it) refusing an operation."""
    if isinstance(exc, OSError) and exc.errno in STORAGE_ERRNOS:
        return True
    name = getattr(exc, "sqlite_errorname", "") or ""
    if any(name.startswith(code) for code in _SQLITE_NAMES):
        return True
    text = str(exc).lower()
    return type(exc).__module__ == "sqlite3" and any(word in text for word in _SQLITE_WORDS)


def _cause(exc: BaseException) -> str:
    if isinstance(exc, OSError):
        if exc.errno == errno.ENOSPC:
            return "no space left on the device"
        if exc.errno == errno.EDQUOT:
            return "the disk quota is exhausted"
        if exc.errno == errno.EROFS:
            return "the file system is read-only"
        if exc.errno in (errno.EACCES, errno.EPERM):
            return "permission denied"
        return exc.strerror or str(exc)
    return str(exc)


def storage_problem(exc: BaseException, path: Path | str | None = None,
                    action: str = "write") -> StorageError:
    """A :class:`StorageError` for ``exc`` naming ``path`` (default: the error's own file)."""
    where = path if path is not None else getattr(exc, "filename", None)
    place = Path(where) if where else None
    text = f"cannot {action} {place if place is not None else 'a file'}: {_cause(exc)}"
    if place is not None:
        text += f" ({free_space(place)})"
    return StorageError(text + "; fix that (free space, make the directory writable) and run "
                        "the same command again: it resumes from the last committed state")
