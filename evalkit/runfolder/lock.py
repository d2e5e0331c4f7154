"""One writer per run folder: an advisory lock (``flock``) held by every command that writes.

The lock file ``.lock`` names its holder (pid, command, since when), so a second writer stops
with one line naming it. The kernel drops the lock when its process dies, even by kill -9, so
a crashed run never leaves a stale lock behind.
"""

from __future__ import annotations

import fcntl
import json
import os
import socket
from datetime import datetime, timezone
from pathlib import Path
from typing import IO

from evalkit.errors import EvalkitError
from evalkit.runfolder.atomic import write_error

LOCK_NAME = ".lock"


class RunLock:
    """The writer lock of one run folder; a context manager."""

    def __init__(self, folder: Path, command: str) -> None:
        self.path = folder / LOCK_NAME
        self.command = command
        self._handle: IO[str] | None = None

    def acquire(self) -> None:
        """Take the lock, or raise EvalkitError naming the process that holds it."""
        try:
            handle = open(self.path, "a+", encoding="utf-8")
        except OSError as err:
            raise write_error(err, self.path) from None
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = _describe(handle.read())
            handle.close()
            raise EvalkitError(
                f"{self.path.parent} is in use by {holder}: wait for it to finish, or write to "
                "another --output-dir"
            ) from None
        holder = {
            "pid": os.getpid(),
            "host": socket.gethostname(),
            "command": self.command,
            "since": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        }
        try:
            handle.seek(0)
            handle.truncate()
            handle.write(json.dumps(holder) + "\n")
            handle.flush()
        except OSError as err:
            handle.close()
            raise write_error(err, self.path) from None
        self._handle = handle

    def release(self) -> None:
        if self._handle is not None:
            self._handle.close()  # closing the descriptor drops the flock
            self._handle = None

    def __enter__(self) -> RunLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _describe(text: str) -> str:
    """'pid 123 (`evalkit run`, since 2026-...)' from the lock file's contents."""
    try:
        holder = json.loads(text)
        return (f"pid {holder['pid']} on {holder['host']} (`{holder['command']}`, "
                f"since {holder['since']})")
    except (ValueError, KeyError, TypeError):
        return "another evalkit process"
