"""A harness error is one line, naming the path and the cause, and exit 3; never a traceback
(unless ``--debug``), and never exit 1, which says a scenario or a verdict failed."""

from __future__ import annotations

import errno
import os

from .outputs import OutputError

_HINTS = {
    errno.ENOSPC: "the disk is full",
    errno.EDQUOT: "the disk quota is used up",
    errno.EROFS: "the file system is read-only",
    errno.EACCES: "permission denied",
    errno.EPERM: "not permitted",
    errno.EFBIG: "the file grew past the file-size limit (ulimit -f)",
    errno.ENOTDIR: "a part of the path is a file, not a folder",
    errno.EISDIR: "it is a folder, not a file",
    errno.EEXIST: "something is already there",
    errno.ENAMETOOLONG: "a name in the path is longer than the file system allows",
}


def describe(exc: BaseException) -> str:
    """The one line for a harness error."""
    if isinstance(exc, OutputError):
        return str(exc)
    if isinstance(exc, MemoryError):
        return "out of memory (MemoryError); give the process more memory or make the run smaller"
    if isinstance(exc, OSError):
        where = " -> ".join(os.fsdecode(p) for p in (exc.filename, exc.filename2) if p is not None)
        if exc.errno == errno.EEXIST and exc.filename is not None and os.path.isfile(exc.filename):
            return f"{where}: is a file where a folder is needed ({exc.strerror})"  # mkdir -p through a file
        return f"{where}: {cause(exc)}" if where else f"{type(exc).__name__}: {cause(exc)}"
    return f"{type(exc).__name__}: {str(exc)[:300]} (a bug in the harness; --debug shows the traceback)"


def cause(exc: OSError) -> str:
    """What went wrong, in words (``the disk is full (No space left on device)``), without the path."""
    text = _HINTS.get(exc.errno) or exc.strerror or str(exc)
    return f"{text} ({exc.strerror})" if exc.strerror and text != exc.strerror else text
