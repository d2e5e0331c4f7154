"""Hostile input (issue 22 item 6): random option values, task files, results files and import
files. Whatever comes in, a command exits 0 (or 1 for a failing gate) or 2 with one line, never
a traceback, in bounded time, and nothing stored in a run folder is lost.

The fake-server faults (refused, hanging, dropped, invalid JSON, 401/404/429/500) are in
tests/test_server_faults.py."""

from __future__ import annotations

import json
import math
import os
import shutil
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from conftest import SHARED_DATA
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from evalkit.cli import main

REPO = Path(__file__).resolve().parent.parent
IMPORTS = REPO / "tests" / "fixtures" / "imports"
CASE_SECONDS = 60.0  # a safety bound per case, not a speed target
SLOWEST: list[float] = []

HOSTILE_TEXT = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["nan", "inf", "-inf", "1e309", "-1", "0", "1e-300", "  ", "\u2028",
                     "\u0085", "\x00", "1,2,,3", "x" * 5000, "../..", "💥"]),
)
NUMBERS = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(min_value=-(10**30), max_value=10**30).map(str),
    HOSTILE_TEXT,
)
RUN_OPTIONS = [
    "--limit", "--n", "--k", "--temperature", "--top-p", "--top-k", "--min-p",
    "--repetition-penalty", "--max-tokens", "--seed", "--batch-size", "--tensor-parallel-size",
    "--max-model-len", "--gpu-memory-utilization", "--data-parallel", "--grader-workers",
    "--grader-timeout", "--budgets", "--request-timeout", "--retry-budget", "--max-retries",
    "--kv-cache-gb", "--max-num-seqs", "--prompt", "--engine", "--dtype", "--preset",
    "--profile", "--chat-template", "--extraction", "--context-limit", "--tasks", "--stop",
]
# Cases per property: 40 in the suite; EVALKIT_FUZZ_EXAMPLES=400 for a longer hunt.
FUZZ = settings(max_examples=int(os.environ.get("EVALKIT_FUZZ_EXAMPLES", "40")), deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture,
                                       HealthCheck.too_slow])


def _invoke(args: list[str], allowed: tuple[int, ...] = (0, 2)):
    """Run the CLI in-process; fail on a traceback, an unexpected exit code or a long case."""
    started = time.monotonic()
    result = CliRunner().invoke(main, [str(a) for a in args])
    SLOWEST.append(time.monotonic() - started)
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        raise AssertionError(f"{args!r} raised {result.exception!r}") from result.exception
    assert result.exit_code in allowed, (args, result.output)
    assert "Traceback" not in result.output
    if result.exit_code == 2:
        errors = [line for line in result.output.splitlines() if line.startswith("error: ")]
        assert len(errors) == 1, (args, result.output)
    assert SLOWEST[-1] < CASE_SECONDS, args
    return result


@FUZZ
@given(st.lists(st.tuples(st.sampled_from(RUN_OPTIONS), NUMBERS), min_size=1, max_size=4))
def test_run_options_are_checked_in_one_line(tmp_path_factory, options):
    out = tmp_path_factory.mktemp("run") / "out"
    args = ["run", "--dry-run", "--tasks", "gsm8k", "--limit", "2", "--output-dir", out]
    for flag, value in options:
        args += [flag, value]
    _invoke(args)
    assert not out.exists()  # a dry run writes nothing


@FUZZ
@given(st.sampled_from(["compare", "plan", "regrade", "report"]),
       st.lists(st.tuples(st.sampled_from(["--seed", "--k", "--target-ci", "--accuracy",
                                           "--problems", "--grader-workers", "--grader-timeout",
                                           "--budgets", "--metric", "--task", "--scope"]),
                          NUMBERS), min_size=1, max_size=3))
def test_other_commands_check_their_options(finished, tmp_path_factory, command, options):
    run = shutil.copytree(finished, tmp_path_factory.mktemp("copy") / "run")
    base = {"compare": [run, run], "plan": ["--task", "gsm8k", "--accuracy", "30"],
            "regrade": [run], "report": [run]}[command]
    args = [command, *base]
    for flag, value in options:
        args += [flag, value]
    before = _samples(run)
    result = CliRunner().invoke(main, [str(a) for a in args])
    if result.exit_code == 2 and "no such option" in result.output.lower():
        return  # an option this command does not have: click's own one-line error
    _invoke(args)
    assert _samples(run) == before


def _samples(run: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in (run / "samples").glob("*.jsonl")}


JSON_VALUES = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
              st.text(max_size=20)),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner,
                                                                max_size=3),
    max_leaves=8,
)


def _leaves(document, path=()):
    if isinstance(document, dict):
        for key, value in document.items():
            yield from _leaves(value, (*path, key))
    elif isinstance(document, list):
        for index, value in enumerate(document):
            yield from _leaves(value, (*path, index))
    else:
        yield path


def _set(document, path, value):
    if not path:
        return value
    target = document
    for step in path[:-1]:
        target = target[step]
    target[path[-1]] = value
    return document


@FUZZ
@given(st.data())
def test_damaged_results_files_are_one_line(finished, tmp_path_factory, data):
    run = shutil.copytree(finished, tmp_path_factory.mktemp("copy") / "run")
    text = (run / "results.json").read_text()
    how = data.draw(st.sampled_from(["leaf", "truncate", "bytes", "separator"]))
    if how == "leaf":
        document = json.loads(text)
        leaves = list(_leaves(document))
        path = data.draw(st.sampled_from(leaves))
        text = json.dumps(_set(document, path, data.draw(JSON_VALUES)))
    elif how == "truncate":
        text = text[: data.draw(st.integers(0, len(text)))]
    elif how == "separator":
        at = data.draw(st.integers(0, len(text)))
        text = text[:at] + data.draw(st.sampled_from(["\u2028", "\u0085", "\x00"])) + text[at:]
    (run / "results.json").write_text(text) if how != "bytes" else (
        run / "results.json").write_bytes(text.encode()[:100] + data.draw(st.binary(max_size=50)))
    policy = tmp_path_factory.mktemp("policy") / "policy.yaml"
    policy.write_text("rules:\n  - {rule: threshold, task: gsm8k, metric: avg@1, min: 0}\n")
    model = tmp_path_factory.mktemp("model")
    before = _samples(run)
    for args, allowed in ((["report", run], (0, 2)), (["inspect", run], (0, 2)),
                          (["compare", run, run], (0, 2)),
                          (["gate", run, "--policy", policy], (0, 1, 2)),
                          (["card", model, "--results", run], (0, 2)),
                          (["leaderboard", "--run", run], (0, 2))):
        _invoke(args, allowed)
    assert _samples(run) == before


@FUZZ
@given(st.lists(st.one_of(JSON_VALUES, st.text(max_size=30).map(lambda t: {"question": t,
                                                                           "answer": t})),
                max_size=6),
       st.sampled_from(["json", "bytes", "separators"]))
def test_hostile_task_files_are_one_line(tmp_path_factory, rows, encoding):
    folder = tmp_path_factory.mktemp("task")
    path = folder / "mine.jsonl"
    if encoding == "json":
        path.write_text("\n".join(json.dumps(row) for row in rows))
    elif encoding == "bytes":
        path.write_bytes(b"\xff\xfe" + json.dumps(rows).encode()[:200])
    else:
        path.write_text("\u2028".join(json.dumps(row, ensure_ascii=False) for row in rows)
                        + "\x85\n")
    _invoke(["run", "--dry-run", "--tasks", path, "--output-dir", folder / "out"])


@FUZZ
@given(st.sampled_from(["lm_eval_gsm8k_samples.jsonl:lm-eval",
                        "openai_batch_gsm8k_output.jsonl:openai-batch"]),
       st.sampled_from(["truncate", "bytes", "separator", "wrong-type"]), st.data())
def test_hostile_import_files_are_one_line_and_leave_nothing(tmp_path_factory, source, how,
                                                             data):
    name, fmt = source.split(":")
    raw = (IMPORTS / name).read_bytes()[:20_000]
    lines = raw.splitlines()
    if how == "truncate":
        raw = raw[: data.draw(st.integers(0, len(raw)))]
    elif how == "bytes":
        at = data.draw(st.integers(0, len(raw)))
        raw = raw[:at] + data.draw(st.binary(min_size=1, max_size=30)) + raw[at:]
    elif how == "separator":  # U+0085 where a newline was
        raw = b"\xc2\x85".join(lines[:3]) + b"\n" + b"\n".join(lines[3:])
    else:
        first = json.loads(lines[0])
        key = data.draw(st.sampled_from(sorted(first)))
        first[key] = data.draw(JSON_VALUES)
        raw = json.dumps(first).encode() + b"\n" + b"\n".join(lines[1:])
    folder = tmp_path_factory.mktemp("import")
    path = folder / name
    path.write_bytes(raw)
    out = folder / "run"
    result = _invoke(["import", path, "--format", fmt, "--task", "gsm8k", "--output-dir", out])
    if result.exit_code == 2:  # a failed import leaves no samples behind
        assert not list(out.glob("samples/*"))


WRONG_TYPES = [[True], True, 1.5, "text", None, {}, [], {"0": [1]}, [[None]]]


@pytest.mark.parametrize("source", [
    "lm_eval_gsm8k_samples.jsonl:lm-eval", "openai_batch_gsm8k_output.jsonl:openai-batch",
    "skythought_dev/gemma-2-27b-it__aime24.jsonl:qwen25-math", "plain.jsonl:jsonl",
])
def test_every_field_of_the_wrong_type_is_read_or_refused_in_one_line(tmp_path, source):
    """Each top-level field of an import file's first row, and each field one level down,
    set to each value in WRONG_TYPES: the adapter reads the file or refuses it with an
    EvalkitError, never another exception (``arguments: [true]`` once raised TypeError)."""
    from evalkit.errors import EvalkitError
    from evalkit.importers import ReadOptions
    from evalkit.importers.formats import get_adapter

    name, fmt = source.split(":")
    if fmt == "jsonl":
        lines = [json.dumps({"question": f"What is {i} + 1?", "response": f"It is {i + 1}."})
                 for i in range(3)]
    elif fmt == "qwen25-math":
        graded = SHARED_DATA / "graded" / name
        if not graded.is_file():
            pytest.skip(f"{graded} is absent (../shared/data)")
        lines = graded.read_text(encoding="utf-8").splitlines()[:3]
    else:
        lines = (IMPORTS / name).read_text(encoding="utf-8").splitlines()[:3]
    first = json.loads(lines[0])
    paths = [(key,) for key in first] + [(key, sub) for key, value in first.items()
                                          if isinstance(value, dict) for sub in value]
    for path in paths:
        for value in WRONG_TYPES:
            row = json.loads(lines[0])
            target = row
            for key in path[:-1]:
                target = target[key]
            target[path[-1]] = value
            file = tmp_path / f"{len(list(tmp_path.iterdir()))}.jsonl"
            file.write_text("\n".join([json.dumps(row), *lines[1:]]) + "\n", encoding="utf-8")
            try:
                list(get_adapter(fmt, ReadOptions()).rows(file))
            except EvalkitError:
                pass


@pytest.fixture(scope="module")
def finished(tiny_model: Path, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("finished") / "run"
    result = CliRunner().invoke(main, ["run", "--model", str(tiny_model), "--tasks", "gsm8k",
                                       "--limit", "2", "--max-tokens", "4", "--output-dir",
                                       str(out)])
    assert result.exit_code == 0, result.output
    return out


def test_the_slowest_case_stays_bounded():
    """Runs last in this module: every case above stayed under CASE_SECONDS."""
    assert not SLOWEST or max(SLOWEST) < CASE_SECONDS
    assert all(math.isfinite(s) for s in SLOWEST)
