"""A grading worker process: ``python -m evalkit.grading.worker READ_FD WRITE_FD``.

Started by :class:`~evalkit.grading.pool.WorkerPool`. It reads from its pipe the parent's
``sys.path``, then the work and its deadline, warms up, says ready, and then answers one job at
a time. When the parent goes away (its end of a pipe closes, even after ``kill -9``) the worker
exits at once, with status 0 and nothing printed.
"""

from __future__ import annotations

import signal
import sys
from multiprocessing.connection import Connection

from evalkit.grading.pool import READY, run_job


def main(argv: list[str]) -> int:
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    inbox = Connection(int(argv[0]), writable=False)
    outbox = Connection(int(argv[1]), readable=False)
    try:
        sys.path[:] = inbox.recv()
        work, timeout_s = inbox.recv()
        work.warm_up()
        outbox.send(READY)
        while True:
            outbox.send(run_job(work, inbox.recv(), timeout_s))
    except (EOFError, OSError):  # the parent went away: BrokenPipe, ConnectionReset, EOF
        return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
