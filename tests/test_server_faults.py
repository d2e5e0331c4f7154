"""`evalkit run` against OpenAI-compatible servers that refuse, hang, drop, garble or say no.

Each case starts from a run folder holding samples stored by a good run against the same server
(same URL), then asks for more while the server misbehaves, and checks what a user relies on:
exit 2 with one `error:` line naming the server and the fix (or success when the fault passes),
no traceback, an end in bounded time (generous safety bounds, not speed targets), and every
stored byte still there. Where the process itself matters (a hung server holding requests,
Ctrl-C, the default start-up budget) the CLI runs in a subprocess; the rest run in-process.
The servers bind 127.0.0.1 only (tests/fake_openai_server.py).
"""

from __future__ import annotations

import io
import re
import shutil
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from fake_openai_server import FakeOpenAIServer, closed_port
from rich.console import Console

from evalkit.cli import main
from evalkit.errors import EvalkitError
from evalkit.generation.engines import (
    MAX_WAIT_S,
    EngineOptions,
    GenerationRequest,
    SamplingConfig,
    create_engine,
)
from evalkit.generation.engines import openai as openai_engine
from evalkit.generation.engines.server_faults import (
    MIN_READ_TIMEOUT_S,
    MIN_TOKENS_PER_S,
    parse_retry_after,
    read_timeout_s,
)
from evalkit.generation.prompts import PRESETS, Prompter
from evalkit.run.plan import plan_from
from evalkit.run.runner import Runner

STORED, LIMIT = 2, 4  # samples stored before the fault, samples asked for with it
FAST = ["--request-timeout", "1", "--retry-budget", "3", "--max-retries", "3"]


@pytest.fixture(scope="module")
def server():
    fake = FakeOpenAIServer()
    yield fake
    fake.stop()


@pytest.fixture(scope="module")
def stored_folder(server, tmp_path_factory) -> Path:
    """A run folder with STORED samples from a good run against `server`."""
    out = tmp_path_factory.mktemp("stored") / "run"
    result = CliRunner().invoke(main, _args(server.url, out, limit=STORED))
    assert result.exit_code == 0, result.output
    return out


@pytest.fixture
def run_dir(server, stored_folder, tmp_path) -> tuple[Path, dict[Path, bytes]]:
    """A fresh copy of the stored run folder and its bytes; the server well again."""
    server.reset()
    out = tmp_path / "run"
    shutil.copytree(stored_folder, out)
    return out, {p: p.read_bytes() for p in out.rglob("*") if p.is_file() and p.name != ".lock"}


def _args(url: str, out: Path, *extra: str, limit: int = LIMIT,
          engine: str = "openai-chat", model: str = "tiny") -> list[str]:
    return ["run", "--model", model, "--engine", engine, "--base-url", url, "--tasks", "gsm8k",
            "--limit", str(limit), "--max-tokens", "16", "--batch-size", "2",
            "--output-dir", str(out), *extra]


def _evalkit(args: list[str], timeout_s: float = 120) -> tuple[int, str, float]:
    """`python -m evalkit ARGS` in a subprocess: exit code, stderr, seconds taken."""
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "evalkit", *args], capture_output=True,
                          text=True, timeout=timeout_s)
    return done.returncode, done.stderr, time.monotonic() - started


def _in_process(args: list[str]) -> tuple[int, str, float]:
    """The CLI in this process: exit code, stderr, seconds; any exception but exit fails."""
    started = time.monotonic()
    result = CliRunner().invoke(main, args)
    if not isinstance(result.exception, SystemExit | None):
        raise result.exception
    return result.exit_code, result.stderr, time.monotonic() - started


def _one_error_line(code: int, stderr: str, *needles: str) -> str:
    assert code == 2, stderr
    assert "Traceback" not in stderr, stderr
    errors = [line for line in stderr.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1, stderr
    for needle in needles:
        assert needle in errors[0], errors[0]
    return errors[0]


def _nothing_lost(snapshot: dict[Path, bytes]) -> None:
    """Every file stored before is still there and starts with what it held (stores append)."""
    for path, before in snapshot.items():
        assert path.read_bytes().startswith(before), path


def _samples(out: Path) -> list[str]:
    return next((out / "samples").glob("*.jsonl")).read_text().splitlines()


def test_unreachable_server_ends_the_run_within_a_minute_with_default_budgets(server, run_dir):
    out, snapshot = run_dir
    server.stop()  # the port is closed: connections are refused
    code, stderr, took = _evalkit(_args(server.url, out))
    line = _one_error_line(code, stderr, f"server at 127.0.0.1:{server.port} refused the "
                           "connection", f"--base-url {server.url}")
    assert "tries in" in line
    assert took < 60
    _nothing_lost(snapshot)


def test_server_that_never_answers_at_start_ends_the_run(server, run_dir):
    out, snapshot = run_dir
    server.models_failure = "hang"
    code, stderr, took = _evalkit(_args(server.url, out, *FAST))
    _one_error_line(code, stderr, "did not answer within 1 s", "--base-url")
    assert took < 60
    _nothing_lost(snapshot)


def test_server_that_hangs_mid_run_ends_it_and_keeps_what_it_stored(server, run_dir):
    out, snapshot = run_dir
    server.failures = [None]  # one more sample arrives, then every request hangs
    server.fail_always = "hang"
    code, stderr, took = _evalkit(_args(server.url, out, *FAST))
    _one_error_line(code, stderr, "did not answer within 1 s",
                    "rerun the same command to resume")
    assert took < 60  # the requests still hanging do not hold the process
    _nothing_lost(snapshot)
    assert len(_samples(out)) == STORED + 1


def test_ctrl_c_while_the_server_hangs_is_immediate_and_keeps_samples(server, run_dir):
    out, snapshot = run_dir
    server.fail_always = "hang"
    process = subprocess.Popen(
        [sys.executable, "-m", "evalkit", *_args(server.url, out)],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
        # a shell may start tests with SIGINT ignored, which the child would inherit
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    deadline = time.monotonic() + 60
    while server.in_flight < 2 and time.monotonic() < deadline and process.poll() is None:
        time.sleep(0.05)
    assert server.in_flight == 2, "both requests should be waiting on the server"
    time.sleep(0.3)
    interrupted = time.monotonic()
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=30)
    took = time.monotonic() - interrupted
    assert process.returncode == 130, stderr
    assert "interrupted: finished batches are stored" in stderr
    assert "Traceback" not in stderr, stderr
    assert took < 5
    _nothing_lost(snapshot)


def test_completions_engine_unknown_model_is_one_line(server, run_dir, tiny_model, tmp_path):
    server.models_failure = 404
    code, stderr, took = _evalkit(_args(server.url, tmp_path / "other", engine="openai",
                                        model=str(tiny_model)))
    _one_error_line(code, stderr, "HTTP 404", "--base-url", "--model")
    assert took < 60


FATAL = [  # (server fault, where, extra flags, words in the error line)
    (401, "completions", [], ["HTTP 401 Unauthorized", "--api-key-env"]),
    (403, "models", [], ["HTTP 403 Forbidden", "--api-key-env"]),
    (404, "completions", [], ["HTTP 404 Not Found: try later", "--base-url", "--model"]),
    (400, "completions", [], ["rejected the request (HTTP 400", "--max-tokens"]),
    ((429, "3600"), "completions", [], ["asks to retry after 3600 s", "rerun the same command"]),
    (429, "completions", FAST, ["is overloaded (HTTP 429 Too Many Requests", "rerun"]),
    (500, "completions", FAST, ["is failing (HTTP 500 Internal Server Error", "rerun"]),
    ((503, "1"), "completions", FAST, ["HTTP 503", "retry after 1 s", "rerun"]),
    ("drop", "completions", FAST, ["dropped the connection", "rerun"]),
    ("drop-mid", "completions", FAST, ["dropped the connection", "rerun"]),
    ("not-json", "completions", FAST, ["sent an answer that is not JSON", "rerun"]),
    ("not-json", "models", [], ["not JSON", "--base-url"]),
    ("drop", "models", FAST, ["dropped the connection", "--base-url"]),
    (500, "models", FAST, ["is failing (HTTP 500", "--base-url"]),
]


@pytest.mark.parametrize("fault,where,flags,words", FATAL,
                         ids=[f"{f}-{w}" for f, w, *_ in FATAL])
def test_lasting_fault_ends_the_run_in_one_line(server, run_dir, fault, where, flags, words):
    out, snapshot = run_dir
    if where == "models":
        server.models_failure = fault
    else:
        server.fail_always = fault
    code, stderr, took = _in_process(_args(server.url, out, *flags))
    _one_error_line(code, stderr, f"server at 127.0.0.1:{server.port}", *words)
    assert took < 60
    _nothing_lost(snapshot)


TRANSIENT = [[429, 429], [(429, "1")], [(503, "nan")], [500, 503], ["drop", "drop-mid"],
             ["not-json"], [408]]


@pytest.mark.parametrize("faults", TRANSIENT, ids=[str(f) for f in TRANSIENT])
def test_passing_fault_is_retried_to_success(server, run_dir, faults):
    out, snapshot = run_dir
    server.failures = list(faults)
    code, stderr, took = _in_process(_args(server.url, out))
    assert code == 0, stderr
    assert took < 60
    stored = [line.encode() + b"\n" for line in _samples(out)]
    assert len(stored) == LIMIT and b"".join(stored).startswith(snapshot[_store(snapshot)])


def _store(snapshot: dict[Path, bytes]) -> Path:
    return next(p for p in snapshot if p.parent.name == "samples" and p.suffix == ".jsonl")


def test_api_key_echoed_by_the_server_stays_out_of_the_message(server, run_dir, monkeypatch):
    out, _ = run_dir
    key = "sk-evalkit-echo-0123456789"
    monkeypatch.setenv("EVALKIT_ECHO_KEY", key)
    server.fail_always = 401
    server.error_message = f"Incorrect API key provided: {key}"
    code, stderr, _ = _in_process(_args(server.url, out, "--api-key-env", "EVALKIT_ECHO_KEY"))
    line = _one_error_line(code, stderr, "Incorrect API key provided: [api key]",
                           "the environment variable named by --api-key-env")
    assert key not in stderr and key not in line


@pytest.mark.parametrize("flag,value", [
    ("--request-timeout", "nan"), ("--request-timeout", "inf"), ("--request-timeout", "0"),
    ("--request-timeout", "-5"), ("--request-timeout", "1e300"), ("--retry-budget", "nan"),
    ("--retry-budget", "-inf"), ("--retry-budget", "-1"), ("--max-retries", "-1"),
    ("--max-retries", "100000"),
])
def test_server_options_must_be_finite_and_in_range(tmp_path, flag, value):
    result = CliRunner().invoke(main, _args("http://127.0.0.1:9/v1", tmp_path / "r",
                                            flag, value))
    assert result.exit_code == 2
    assert len(result.output.strip().splitlines()) == 1, result.output
    assert result.output.startswith(f"error: {flag} must be")
    assert not (tmp_path / "r").exists()


def _run_against(url: str, out: Path) -> str:
    """Runner output (progress bar included) of a run that must fail against `url`."""
    buffer = io.StringIO()
    spec = plan_from(model="tiny", tasks=["gsm8k"], output_dir=out, limit=1, max_tokens=16,
                     engine="openai-chat", base_url=url, retry_budget=2)
    with pytest.raises(EvalkitError):
        Runner(spec, Console(file=buffer, width=200)).run()
    return buffer.getvalue()


def test_progress_bar_shows_each_retry_and_its_cause(server, run_dir, tmp_path):
    port = closed_port()
    shown = _run_against(f"http://127.0.0.1:{port}/v1", tmp_path / "refused")
    assert re.search(rf"server at 127.0.0.1:{port} refused the connection, retry \d+/12 in "
                     r"\d+ s", shown), shown
    server.models_failure = 503
    server.error_message = "[/bold] \x1b[2Joverloaded"  # markup and a terminal escape
    shown = _run_against(server.url, tmp_path / "garbled")
    assert re.search(r"is failing \(HTTP 503 Service Unavailable: \[/bold\] \[2Joverloaded\), "
                     r"retry \d+/12", shown), shown
    assert "\x1b[2J" not in shown


def test_read_timeout_follows_the_token_budget_unless_given():
    assert read_timeout_s(16, None) == MIN_READ_TIMEOUT_S
    assert read_timeout_s(32768, None) == 32768 / MIN_TOKENS_PER_S
    assert read_timeout_s(10**9, None) == MAX_WAIT_S
    assert read_timeout_s(32768, 2.5) == 2.5


@pytest.mark.parametrize("header,seconds", [
    ("2", 2.0), ("0.5", 0.5), ("nan", None), ("inf", None), ("-1", None), ("", None),
    (None, None), ("Wed, 21 Oct 2015 07:28:00 GMT", None),
])
def test_retry_after_is_used_only_when_a_finite_wait(header, seconds):
    assert parse_retry_after(header) == seconds


def _requests(engine, count: int) -> list[GenerationRequest]:
    prompter = Prompter(PRESETS["boxed"], engine.tokenizer)
    return [GenerationRequest(f"p{i}", 0, 1000 + i, prompter.render(f"What is {i} + {i}?"))
            for i in range(count)]


def test_a_server_gone_mid_run_gets_the_long_budget_one_never_seen_the_short(monkeypatch):
    monkeypatch.setattr(openai_engine, "START_BUDGET_S", 1.0)
    fake = FakeOpenAIServer()
    fake.delay_s = 0.2  # a request is in flight when the server goes away
    notes: list[str] = []
    options = EngineOptions(base_url=fake.url, retry_budget_s=60)
    restart = threading.Timer(3.0, fake.start)
    try:
        fake.stop()
        started = time.monotonic()
        with pytest.raises(EvalkitError, match="check that the server is running"):
            create_engine("openai-chat", "", options=options)
        assert time.monotonic() - started < 10
        fake.start()
        engine = create_engine("openai-chat", "", batch_size=1, options=options,
                               on_status=notes.append)
        done: list = []

        def on_batch(batch: list) -> None:
            done.extend(batch)
            if restart.ident is None and len(done) < 3:  # away longer than the start budget
                fake.stop()
                restart.start()

        engine.generate(_requests(engine, 3), SamplingConfig(0.0, 1.0, 16), on_batch)
    finally:
        restart.cancel()
        restart.join()
        fake.stop()
    assert len(done) == 3
    assert any("refused the connection, retry" in note for note in notes)
    assert notes[-1] == ""  # the note is cleared once the server answers again

