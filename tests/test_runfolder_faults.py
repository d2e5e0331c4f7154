"""Faults a run folder must survive (issue 14): a second writer, kill -9, damaged grade caches
and results, paths leading out of the folder, unusable output folders and a full disk. After
every fault: no sample lost or duplicated, nothing outside the folder touched, one line."""

from __future__ import annotations

import json
import os
import random
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from evalkit.cli import main
from evalkit.errors import EvalkitError
from evalkit.runfolder.cache import GradeCache
from evalkit.runfolder.folder import RunFolder
from evalkit.runfolder.lock import RunLock

REPO = Path(__file__).resolve().parent.parent
BATCH_FILE = REPO / "tests" / "fixtures" / "imports" / "openai_batch_gsm8k_output.jsonl"


def _cli(*args: str):
    return CliRunner().invoke(main, [str(a) for a in args])


def _one_line_error(result, *expected: str) -> str:
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    for text in expected:
        assert text in lines[0], lines[0]
    return lines[0]


def _store_lines(folder: Path) -> list[dict]:
    """Every sample line of every store of a run folder (failing on a torn or bad line)."""
    lines = []
    for path in sorted((folder / "samples").glob("*.jsonl")):
        raw = path.read_bytes()
        assert not raw or raw.endswith(b"\n"), f"{path} ends in a torn line"
        lines += [json.loads(line) for line in raw.splitlines()]
    return lines


@pytest.fixture(scope="module")
def finished_run(tiny_model: Path, tmp_path_factory) -> Path:
    """A clean 3-problem x 2-sample run of the tiny model (copied by tests that change it)."""
    out = tmp_path_factory.mktemp("finished") / "run"
    result = _cli("run", "--model", tiny_model, "--tasks", "gsm8k", "--limit", "3", "--n", "2",
                  "--max-tokens", "8", "--output-dir", out)
    assert result.exit_code == 0, result.output
    return out


def _copy(folder: Path, to: Path) -> Path:
    import shutil

    shutil.copytree(folder, to, ignore=shutil.ignore_patterns(".lock"))
    return to


# -- one writer at a time ------------------------------------------------------------------------

def test_a_second_writer_is_refused_with_the_holder_named(tmp_path):
    folder = tmp_path / "run"
    with RunFolder.writing(folder, "evalkit run"):
        with pytest.raises(EvalkitError) as err:
            RunLock(folder, "evalkit regrade").acquire()
    message = str(err.value)
    assert f"pid {os.getpid()}" in message and "`evalkit run`" in message and "since" in message
    with RunFolder.writing(folder, "evalkit regrade"):  # released: the next writer gets it
        pass


def test_the_lock_dies_with_a_killed_writer(tmp_path):
    folder = tmp_path / "run"
    folder.mkdir()
    holder = subprocess.Popen(
        [sys.executable, "-c", "import sys, time; from pathlib import Path; "
         "from evalkit.runfolder.lock import RunLock; lock = RunLock(Path(sys.argv[1]), "
         "'evalkit run'); lock.acquire(); print('locked', flush=True); time.sleep(60)",
         str(folder)],
        stdout=subprocess.PIPE, text=True)
    assert holder.stdout.readline().strip() == "locked"
    with pytest.raises(EvalkitError, match=f"pid {holder.pid}"):
        RunLock(folder, "evalkit run").acquire()
    holder.kill()
    holder.wait()
    with RunFolder.writing(folder, "evalkit run"):  # no stale lock after kill -9
        pass


def test_concurrent_regrades_never_crash_and_never_interleave(finished_run, tmp_path):
    run = _copy(finished_run, tmp_path / "run")
    before = _store_lines(run)
    env = {**os.environ, "HF_HUB_OFFLINE": "1"}
    procs = [subprocess.Popen([sys.executable, "-m", "evalkit", "regrade", str(run)],
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
             for _ in range(4)]
    outcomes = [(p.wait(timeout=600), p.stderr.read()) for p in procs]
    assert any(code == 0 for code, _ in outcomes)
    for code, stderr in outcomes:
        assert "Traceback" not in stderr
        if code != 0:
            assert code == 2 and "is in use by pid" in stderr and stderr.count("\n") == 1
    assert _store_lines(run) == before
    assert RunFolder.reading(run).read_results().tasks["gsm8k"].n == 2


# -- kill -9 at random moments ------------------------------------------------------------------

def _kill_at_random(args: list[str], seconds: float, rng: random.Random) -> int:
    """Start `evalkit ARGS`, kill -9 it after a random time up to ``seconds``; its exit code
    (negative when killed)."""
    proc = subprocess.Popen([sys.executable, "-m", "evalkit", *args], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    try:
        proc.wait(timeout=rng.uniform(0.3, seconds))
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGKILL)
    return proc.wait()


def _timed(args: list[str]) -> float:
    started = time.monotonic()
    done = subprocess.run([sys.executable, "-m", "evalkit", *args], capture_output=True,
                          text=True, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    assert done.returncode == 0, done.stderr
    return time.monotonic() - started


def test_regrade_and_import_survive_kill_9_at_random_moments(finished_run, tmp_path):
    rng = random.Random(14)
    run = _copy(finished_run, tmp_path / "run")
    clean = json.loads((run / "results.json").read_text())
    samples = _store_lines(run)
    regrade = ["regrade", str(run)]
    seconds = _timed(regrade)
    kills = 0
    for _ in range(6):
        kills += _kill_at_random(regrade, seconds, rng) < 0
        assert _store_lines(run) == samples  # regrade never touches samples
        RunFolder.reading(run).read_results()  # results are always whole
    _timed(regrade)
    final = json.loads((run / "results.json").read_text())
    assert final["tasks"]["gsm8k"]["metrics"] == clean["tasks"]["gsm8k"]["metrics"]

    imported = tmp_path / "imported"
    importing = ["import", str(BATCH_FILE), "--format", "openai-batch", "--output-dir",
                 str(imported)]
    seconds = _timed(importing)
    reference = json.loads((imported / "results.json").read_text())
    for _ in range(6):
        kills += _kill_at_random(importing, seconds, rng) < 0
        partial = [p.name for p in (imported / "samples").glob("*.partial")]
        assert len(partial) <= 1  # at most the one a killed import was writing
    _timed(importing)
    again = json.loads((imported / "results.json").read_text())
    assert again["tasks"]["gsm8k"]["metrics"] == reference["tasks"]["gsm8k"]["metrics"]
    assert len(_store_lines(imported)) == sum(
        again["tasks"]["gsm8k"]["status_counts"].values()) + reference["import"][
        "samples_beyond_n"]
    assert kills >= 4  # most attempts were really killed mid-way
    print(f"regrade and import: {kills} of 12 attempts killed by SIGKILL, 0 samples lost")


def test_a_damaged_store_of_a_later_task_is_repaired_when_an_earlier_task_generates(
    tiny_model, tmp_path
):
    from evalkit.runfolder.store import rejected_path

    out = tmp_path / "run"
    base = ["run", "--model", tiny_model, "--tasks", "gsm8k,aime24", "--limit", "2",
            "--max-tokens", "4", "--output-dir", out]
    assert _cli(*base).exit_code == 0
    first, later = (next((out / "samples").glob(f"{name}-*.jsonl")) for name in ("gsm8k",
                                                                                "aime24"))
    first.unlink()  # the earlier task generates again
    lines = later.read_bytes().splitlines(keepends=True)
    later.write_bytes(lines[0] + b"{not json\n" + b"".join(lines[1:]))
    again = _cli(*base)
    assert again.exit_code == 0, again.output
    assert rejected_path(later).is_file() and len(later.read_bytes().splitlines()) == 2


# -- damaged grade caches and results -------------------------------------------------------------

@pytest.mark.parametrize("damage", ["truncate", "edit", "foreign"])
def test_a_damaged_grade_cache_is_set_aside_and_rebuilt(finished_run, tmp_path, damage):
    run = _copy(finished_run, tmp_path / "run")
    cache_file = run / "grade_cache.json"
    text = cache_file.read_text()
    if damage == "truncate":
        cache_file.write_text(text[: len(text) // 2])
    elif damage == "edit":  # a verdict flipped by hand, checksum left as it was
        document = json.loads(text)
        document["entries"] = {key: "correct" for key in document["entries"]}
        document["entries"]['["x", "math", "1", "2"]'] = "correct"
        cache_file.write_text(json.dumps(document))
    else:
        cache_file.write_text(json.dumps({'["x", "math", "1", "2"]': "correct"}))
    cache = GradeCache(cache_file, writable=True)
    assert cache.entries == {} and len(cache.warnings) == 1
    assert list(run.glob("grade_cache.json.bad-*")) and not cache_file.exists()
    result = _cli("regrade", run)
    assert result.exit_code == 0, result.output
    assert GradeCache(cache_file).warnings == []  # rebuilt, trusted again


def _results_with(run: Path, change) -> None:
    document = json.loads((run / "results.json").read_text())
    (run / "results.json").write_text(json.dumps(change(document)))


@pytest.mark.parametrize("change, expected", [
    (lambda d: [], "must be an object"),
    (lambda d: {k: v for k, v in d.items() if k != "tasks"}, ".tasks is missing"),
    (lambda d: {**d, "schema_version": 1}, "schema version 1"),
    (lambda d: {**d, "tasks": {"gsm8k": {**d["tasks"]["gsm8k"], "metrics": [
        {**d["tasks"]["gsm8k"]["metrics"][0], "value": "high"}]}}},
     ".tasks.gsm8k.metrics[0].value must be a number"),
    (lambda d: {**d, "tasks": {"gsm8k": {**d["tasks"]["gsm8k"], "n": None}}},
     ".tasks.gsm8k.n must be an integer"),
    (lambda d: {**d, "model": "org/name"}, ".model must be an object"),
])
@pytest.mark.parametrize("command", ["report", "inspect", "regrade", "compare", "gate", "card"])
def test_results_of_the_wrong_shape_or_version_are_one_line(finished_run, tmp_path, change,
                                                           expected, command):
    run = _copy(finished_run, tmp_path / "run")
    _results_with(run, change)
    policy = tmp_path / "policy.yaml"
    policy.write_text("rules:\n  - {rule: threshold, task: gsm8k, metric: pass@1, min: 0}\n")
    model = tmp_path / "model"
    model.mkdir()
    args = {"report": [run], "inspect": [run], "regrade": [run], "compare": [run, run],
            "gate": [run, "--policy", policy], "card": [model, "--results", run]}[command]
    before = (run / "results.json").read_bytes()
    _one_line_error(_cli(command, *args), expected)
    assert (run / "results.json").read_bytes() == before


def test_nan_in_results_is_refused(finished_run, tmp_path):
    run = _copy(finished_run, tmp_path / "run")
    text = (run / "results.json").read_text().replace('"truncation_rate": 1.0',
                                                      '"truncation_rate": NaN', 1)
    (run / "results.json").write_text(text)
    _one_line_error(_cli("report", run), "NaN")


def test_regrade_keeps_every_earlier_results_file(finished_run, tmp_path):
    run = _copy(finished_run, tmp_path / "run")
    original = (run / "results.json").read_text()
    config = tmp_path / "grader.yaml"
    config.write_text("think_policy: whole_text\n")
    for args in ([], ["--grader-config", config], []):
        assert _cli("regrade", run, *args).exit_code == 0
    kept = sorted((run / "history").glob("*.json"))
    assert len(kept) == 3 and original in [p.read_text() for p in kept]


# -- paths that lead out of the folder ------------------------------------------------------------

@pytest.mark.parametrize("field", ["samples_file", "grades_file"])
@pytest.mark.parametrize("target", ["../victim.txt", "/tmp/victim.txt", "samples/../../v.txt"])
def test_paths_from_results_must_stay_inside_the_folder(finished_run, tmp_path, field, target):
    run = _copy(finished_run, tmp_path / "run")
    victim = tmp_path / "victim.txt"
    victim.write_text("precious, no newline at the end")

    def point_out(document):
        document["tasks"]["gsm8k"][field] = target
        return document

    _results_with(run, point_out)
    for args in (["regrade", run], ["report", run, "--budgets", "4"], ["inspect", run]):
        _one_line_error(_cli(*args), "inside the run folder")
    assert victim.read_text() == "precious, no newline at the end"


def test_a_link_leading_out_of_the_folder_is_refused(finished_run, tmp_path):
    run = _copy(finished_run, tmp_path / "run")
    block = json.loads((run / "results.json").read_text())["tasks"]["gsm8k"]
    outside = tmp_path / "outside.jsonl"
    grades = run / block["grades_file"]
    outside.write_bytes(grades.read_bytes())
    grades.unlink()
    grades.symlink_to(outside)
    before = outside.read_bytes()
    _one_line_error(_cli("regrade", run), "leads outside the run folder")
    assert outside.read_bytes() == before


# -- unusable output folders and a full disk ------------------------------------------------------

def test_output_folder_faults_are_one_line(tiny_model, tmp_path):
    a_file = tmp_path / "a-file"
    a_file.write_text("not a folder")
    base = ["run", "--model", tiny_model, "--tasks", "gsm8k", "--limit", "1", "--max-tokens", "4"]
    _one_line_error(_cli(*base, "--output-dir", a_file), "is a file")
    _one_line_error(_cli(*base, "--output-dir", a_file / "run"), "is a file")
    assert a_file.read_text() == "not a folder"


@pytest.fixture
def read_only_mount(tmp_path):
    """A folder on a tmpfs that can be remounted read-only (EROFS, as a read-only disk)."""
    mount = tmp_path / "ro"
    mount.mkdir()
    made = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=64m", "tmpfs", str(mount)],
                          capture_output=True, text=True)
    if made.returncode != 0:
        pytest.skip(f"mounting a tmpfs needs root: {made.stderr.strip()}")
    yield mount
    subprocess.run(["umount", "-l", str(mount)], check=False)


def test_a_read_only_run_folder_is_one_line_and_loses_nothing(finished_run, read_only_mount):
    run = _copy(finished_run, read_only_mount / "run")
    subprocess.run(["mount", "-o", "remount,ro", str(read_only_mount)], check=True)
    before = {p: p.read_bytes() for p in run.rglob("*") if p.is_file()}
    for args in (["regrade", str(run)], ["report", str(run), "--budgets", "4"]):
        done = subprocess.run([sys.executable, "-m", "evalkit", *args], capture_output=True,
                              text=True, env={**os.environ, "HF_HUB_OFFLINE": "1"})
        assert done.returncode == 2, done.stderr
        assert "Traceback" not in done.stderr and done.stderr.count("\n") == 1
        assert "cannot write" in done.stderr and "Read-only file system" in done.stderr
    assert {p: p.read_bytes() for p in run.rglob("*") if p.is_file()} == before
    report = subprocess.run([sys.executable, "-m", "evalkit", "report", str(run)],
                            capture_output=True, text=True)
    assert report.returncode == 0, report.stderr  # reading needs no write access


def _limit_file_size(limit: int):
    def apply() -> None:
        resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit))

    return apply


def test_a_full_disk_is_one_line_and_nothing_stored_is_lost(tiny_model, tmp_path):
    out = tmp_path / "run"
    base = [sys.executable, "-m", "evalkit", "run", "--model", str(tiny_model), "--tasks",
            "gsm8k", "--max-tokens", "8", "--output-dir", str(out)]
    first = subprocess.run([*base, "--limit", "2"], capture_output=True, text=True)
    assert first.returncode == 0, first.stderr
    stored = _store_lines(out)
    store_file = next((out / "samples").glob("*.jsonl"))
    limit = store_file.stat().st_size + 300  # room for about one more sample, not twenty
    full = subprocess.run([*base, "--limit", "20"], capture_output=True, text=True,
                          preexec_fn=_limit_file_size(limit))
    assert full.returncode == 2, full.stderr
    assert "Traceback" not in full.stderr and "disk is full" in full.stderr
    assert full.stderr.strip().count("\n") == 0 or full.stderr.count("error:") == 1
    kept = _store_lines(SampleStoreTrim.trimmed(out))
    assert kept[: len(stored)] == stored  # nothing that was stored is lost
    resumed = subprocess.run([*base, "--limit", "20"], capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    lines = _store_lines(out)
    keys = [(line["problem_id"], line["sample_index"]) for line in lines]
    assert len(keys) == len(set(keys)) == 20 and lines[: len(stored)] == stored


class SampleStoreTrim:
    """A run folder's stores as the next writer sees them (a torn last line trimmed)."""

    @staticmethod
    def trimmed(folder: Path) -> Path:
        from evalkit.runfolder.store import SampleStore

        for path in (folder / "samples").glob("*.jsonl"):
            SampleStore(path, writable=True)
        return folder


# -- runs against servers: kill -9 mid-generation, two servers into one folder --------------------

def _store_samples(folder: Path) -> dict[tuple[str, int], str]:
    """Every stored sample's text by key, read as a reader does (a torn last line ignored);
    fails on a duplicate key."""
    from evalkit.runfolder.store import SampleStore

    found: dict[tuple[str, int], str] = {}
    for path in sorted((folder / "samples").glob("*.jsonl")):
        raw = path.read_bytes()
        complete = raw[: raw.rfind(b"\n") + 1]
        keys = [(line["problem_id"], line["sample_index"])
                for line in map(json.loads, complete.splitlines())]
        assert len(keys) == len(set(keys)), f"{path} holds a sample twice"
        found.update({key: record.text for key, record in SampleStore(path).records.items()})
    return found


def _served_run(url: str, out: Path, *extra: str) -> list[str]:
    return ["run", "--model", "served", "--engine", "openai-chat", "--base-url", url, "--tasks",
            "gsm8k", "--limit", "12", "--n", "2", "--max-tokens", "16", "--batch-size", "2",
            "--output-dir", str(out), *extra]


def _stored_count(folder: Path) -> int:
    return sum(path.read_bytes().count(b"\n") for path in (folder / "samples").glob("*.jsonl"))


def _kill_when_stored(args: list[str], folder: Path, target: int) -> int:
    """Start `evalkit ARGS` and kill -9 it as soon as the run folder's stores hold ``target``
    sample lines (mid-generation by construction); its exit code (negative when killed)."""
    proc = subprocess.Popen([sys.executable, "-m", "evalkit", *args], stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, env={**os.environ, "HF_HUB_OFFLINE": "1"})
    deadline = time.monotonic() + 120
    while proc.poll() is None and time.monotonic() < deadline:
        if (folder / "samples").is_dir() and _stored_count(folder) >= target:
            proc.send_signal(signal.SIGKILL)
            break
        time.sleep(0.005)
    return proc.wait()


def test_run_survives_kill_9_at_random_moments(tmp_path):
    from fake_openai_server import FakeOpenAIServer

    server = FakeOpenAIServer(served="served")
    server.delay_s = 0.05
    try:
        clean_dir = tmp_path / "clean"
        _timed(_served_run(server.url, clean_dir))
        clean = json.loads((clean_dir / "results.json").read_text())
        expected = _store_samples(clean_dir)
        assert len(expected) == 24
        rng = random.Random(1414)
        run = tmp_path / "killed"
        killed = 0
        while (done := len(_store_samples(run)) if run.exists() else 0) < 20:
            killed += _kill_when_stored(_served_run(server.url, run), run,
                                        rng.randint(done + 1, 22)) < 0
            stored = _store_samples(run)  # never a duplicate, never a wrong sample
            assert all(expected[key] == text for key, text in stored.items())
        _timed(_served_run(server.url, run))
        assert _store_samples(run) == expected  # nothing lost, nothing twice, nothing mixed
        final = json.loads((run / "results.json").read_text())
        assert final["tasks"]["gsm8k"]["metrics"] == clean["tasks"]["gsm8k"]["metrics"]
        assert killed >= 3  # the loop really killed runs mid-generation
        print(f"run: {killed} runs killed by SIGKILL mid-generation, 0 samples lost or doubled")
    finally:
        server.stop()


def test_two_servers_serving_different_models_never_share_samples(tmp_path):
    from fake_openai_server import FakeOpenAIServer

    first, second = FakeOpenAIServer(served="model-a"), FakeOpenAIServer(served="model-b")
    plain_answer = second.answer
    second.answer = lambda path, body: {  # another model: other texts for the same prompts
        **plain_answer(path, body),
        "choices": [{**plain_answer(path, body)["choices"][0],
                     "message": {"role": "assistant", "content": "I think \\boxed{18}"}}],
    }
    out = tmp_path / "run"
    try:
        _timed(_served_run(first.url, out))
        a = json.loads((out / "results.json").read_text())
        done = subprocess.run([sys.executable, "-m", "evalkit", *_served_run(second.url, out)],
                              capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        assert "0 stored, 24 to generate" in done.stderr
        b = json.loads((out / "results.json").read_text())
        assert len(second.bodies) == 24 and len(list((out / "samples").glob("*.jsonl"))) == 2
        assert a["tasks"]["gsm8k"]["samples_file"] != b["tasks"]["gsm8k"]["samples_file"]
        key = json.loads((out / b["tasks"]["gsm8k"]["samples_file"].replace(
            ".jsonl", ".meta.json")).read_text())
        assert key["server"]["served_model"] == "model-b"
        assert "127.0.0.1" in key["server"]["endpoint"]
        from evalkit.runfolder.store import SampleStore

        texts = {path.name: {r.text for r in SampleStore(path).records.values()}
                 for path in (out / "samples").glob("*.jsonl")}
        ours = Path(b["tasks"]["gsm8k"]["samples_file"]).name
        assert texts[ours] == {"I think \\boxed{18}"}  # model B's samples only
        assert "I think \\boxed{18}" not in set().union(*(v for k, v in texts.items()
                                                            if k != ours))
    finally:
        first.stop()
        second.stop()
