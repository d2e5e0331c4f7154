"""How long `evalkit run` takes to end against a server that cannot serve, with default budgets.

Usage: python benchmarks/server_faults.py

Prints the seconds from start to exit (and the error line) for a closed port and for a server
that accepts connections but never answers, and the seconds from Ctrl-C to exit while both
requests in flight hang. The targets (docs/engines.md): under 60 s for the first two, under
a couple of seconds for Ctrl-C. The servers are tests/fake_openai_server.py on 127.0.0.1; the
engine is openai-chat, so no tokenizer is loaded and the time is the engine's patience plus
evalkit's start-up.
"""

from __future__ import annotations

import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))
from fake_openai_server import FakeOpenAIServer, closed_port  # noqa: E402


def command(url: str) -> list[str]:
    return [sys.executable, "-m", "evalkit", "run", "--model", "tiny", "--engine", "openai-chat",
            "--base-url", url, "--tasks", "gsm8k", "--limit", "2",
            "--output-dir", tempfile.mkdtemp()]


def time_to_exit(url: str, label: str) -> None:
    started = time.monotonic()
    done = subprocess.run(command(url), capture_output=True, text=True, timeout=300)
    last = (done.stderr.strip().splitlines() or [""])[-1]
    print(f"{label}: exit {done.returncode} after {time.monotonic() - started:.1f} s\n  {last}")


def time_to_interrupt(server: FakeOpenAIServer) -> None:
    process = subprocess.Popen(
        command(server.url), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.monotonic() + 120
    while server.in_flight < 2 and time.monotonic() < deadline:
        time.sleep(0.05)
    interrupted = time.monotonic()
    process.send_signal(signal.SIGINT)
    process.communicate(timeout=60)
    print(f"Ctrl-C while requests hang: exit {process.returncode} after "
          f"{time.monotonic() - interrupted:.2f} s")


def main() -> None:
    time_to_exit(f"http://127.0.0.1:{closed_port()}/v1", "closed port")
    server = FakeOpenAIServer()
    server.models_failure = "hang"
    time_to_exit(server.url, "server that never answers")
    server.reset()
    server.fail_always = "hang"
    time_to_interrupt(server)
    server.stop()


if __name__ == "__main__":
    main()
