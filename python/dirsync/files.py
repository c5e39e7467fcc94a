"""Atomic writes of private files (the configuration, the secrets), and the one error for a write the
file system refuses."""

from __future__ import annotations

import errno
import os
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from .errors import FolderNotWritableError

REFUSED = {errno.EACCES, errno.EPERM, errno.EROFS}


def not_writable(path: Path, err: OSError) -> FolderNotWritableError:
    """The error for a write refused by permissions or a read-only mount, naming the folder and the fix."""
    folder = Path(err.filename or path).parent  # the folder in which the file system refused to write
    if err.errno == errno.EROFS:
        fix = (f"{folder} is on a read-only file system: mount it read-write, or set DIRSYNC_HOME to a "
               "folder on a writable disk (and copy the DirSync home there).")
    else:
        fix = (f"Give the account that runs DirSync write access to {folder} (for example: chown that account "
               f"{folder}; chmod u+rwx {folder}), then try again.")
    return FolderNotWritableError(f"DirSync cannot write {path}: {err.strerror}. Nothing was changed.",
                                  fix=fix, target=str(path))


@contextmanager
def writing(path: Path) -> Iterator[None]:
    """Inside: a write to `path` (or its folder) that the file system refuses is a FolderNotWritableError."""
    try:
        yield
    except OSError as err:
        if err.errno in REFUSED:
            raise not_writable(path, err) from None
        raise


def write_private(path: Path, data: bytes) -> None:
    """Replace `path` with `data`, readable by this account only (0600 before any byte is written).
    The data goes to a temporary file in the same folder, is flushed to disk, then renamed over the
    old file: a write killed half-way never replaces the good file. A refused write (permissions, a
    read-only mount) is a FolderNotWritableError and leaves the old file as it was."""
    with writing(path):
        _replace(path, data)


def _replace(path: Path, data: bytes) -> None:
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}-")  # mkstemp creates it 0600
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
