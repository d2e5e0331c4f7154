"""Durable file writes: a unique temporary file in the same folder, fsync, rename, fsync the
folder. A crash leaves either the old file or the new one, never a mix; a full disk or a
read-only folder becomes one line that says what to do, and nothing that was there is lost."""

from __future__ import annotations

import errno
import os
import tempfile
from contextlib import suppress
from pathlib import Path

from evalkit.errors import EvalkitError

_FULL = (errno.ENOSPC, errno.EFBIG, errno.EDQUOT)
_UMASK = os.umask(0o022)
os.umask(_UMASK)
FILE_MODE = 0o666 & ~_UMASK  # what open() would give a new file
_DENIED = (errno.EACCES, errno.EPERM, errno.EROFS)


def write_error(err: OSError, path: Path) -> EvalkitError:
    """The one-line error for an OSError met while writing ``path``."""
    if err.errno in _FULL:
        return EvalkitError(
            f"cannot write {path}: the disk is full or a file-size limit was reached "
            f"({err.strerror}); free space and rerun the same command: what is stored is kept"
        )
    if err.errno in _DENIED:
        return EvalkitError(
            f"cannot write {path} ({err.strerror}): make the folder writable or choose "
            "another --output-dir"
        )
    return EvalkitError(f"cannot write {path} ({err.strerror or err})")


def fsync_folder(folder: Path) -> None:
    """Make a rename or a new file in ``folder`` durable (no-op where folders cannot be opened)."""
    try:
        handle = os.open(folder, os.O_RDONLY)
    except OSError:
        return
    try:
        os.fsync(handle)
    except OSError:
        pass
    finally:
        os.close(handle)


def atomic_write(path: Path, data: str | bytes) -> None:
    """Replace ``path`` with ``data`` (text is written as UTF-8) atomically and durably."""
    payload = data.encode("utf-8") if isinstance(data, str) else data
    folder = path.parent
    try:
        handle, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=folder)
    except OSError as err:
        raise write_error(err, path) from None
    try:
        with os.fdopen(handle, "wb") as out:
            os.fchmod(out.fileno(), FILE_MODE)  # mkstemp makes 0600 files
            out.write(payload)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    except OSError as err:
        with suppress(OSError):
            os.unlink(tmp)
        raise write_error(err, path) from None
    except BaseException:
        with suppress(OSError):
            os.unlink(tmp)
        raise
    fsync_folder(folder)

