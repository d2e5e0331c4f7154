"""--data-parallel: sharding, GPU assignment, identical samples, and a killed worker."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from evalkit.cli import main
from evalkit.errors import EvalkitError
from evalkit.generation.parallel import WorkItem, device_groups, shard
from evalkit.records import Problem


def test_shards_keep_problems_whole_and_deal_them_round_robin():
    items = [WorkItem(p, i, 0, Problem(p, "q", "1")) for p in "abcde" for i in range(3)]
    shards = shard(items, 2)
    assert {i.problem_id for i in shards[0]} == {"a", "c", "e"}
    assert {i.problem_id for i in shards[1]} == {"b", "d"}
    assert sorted(shards[0] + shards[1], key=items.index) == items


def test_each_worker_gets_its_own_tensor_parallel_gpus():
    assert device_groups(2, 2, ["0", "1", "2", "3"]) == ["0,1", "2,3"]
    assert device_groups(3, 1, ["4", "6", "7"]) == ["4", "6", "7"]
    assert device_groups(2, 1, []) == [None, None]
    with pytest.raises(EvalkitError, match="needs 4 GPUs, 2 visible"):
        device_groups(2, 2, ["0", "1"])


def _samples(folder: Path) -> dict:
    store = next((folder / "samples").glob("*.jsonl"))
    rows = [json.loads(line) for line in store.read_text().splitlines()]
    return {(r["problem_id"], r["sample_index"]): (r["seed"], r["token_ids"]) for r in rows}


def test_server_engines_refuse_data_parallel(tiny_model, tmp_path):
    result = CliRunner().invoke(main, [
        "run", "--model", str(tiny_model), "--tasks", "gsm8k", "--engine", "openai",
        "--base-url", "http://127.0.0.1:9/v1", "--data-parallel", "2",
        "--output-dir", str(tmp_path / "r"),
    ])
    assert result.exit_code == 2 and "--data-parallel is for in-process engines" in result.output


def _spawned_children(parent: int) -> list[int]:
    """Worker processes of `parent` (multiprocessing spawn children, not its resource tracker)."""
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        if ppid == parent and "spawn_main" in cmdline and "resource_tracker" not in cmdline:
            found.append(int(entry.name))
    return found


@pytest.mark.skipif(not Path("/proc").is_dir(), reason="finds worker processes through /proc")
def test_killed_worker_loses_only_its_in_flight_samples_and_reruns_match_one_process(
    tiny_model, tmp_path
):
    args = ["run", "--model", str(tiny_model), "--tasks", "gsm8k", "--limit", "10", "--n", "2",
            "--temperature", "1.0", "--max-tokens", "64"]
    out = tmp_path / "dp"
    cmd = [sys.executable, "-m", "evalkit", *args, "--batch-size", "1", "--data-parallel", "2",
           "--output-dir", str(out)]
    proc = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 240
    while time.time() < deadline and proc.poll() is None:
        files = list((out / "samples").glob("*.jsonl")) if (out / "samples").exists() else []
        workers = _spawned_children(proc.pid)
        if files and len(workers) == 2 and len(files[0].read_text().splitlines()) >= 2:
            os.kill(workers[0], signal.SIGKILL)
            break
        time.sleep(0.05)
    _, stderr = proc.communicate(timeout=300)
    stored = next((out / "samples").glob("*.jsonl")).read_text().splitlines()
    assert proc.returncode == 2, stderr
    assert "died" in stderr and "rerun the same command to resume" in stderr
    assert 2 <= len(stored) < 20
    resumed = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert resumed.returncode == 0, resumed.stderr
    final = next((out / "samples").glob("*.jsonl")).read_text().splitlines()
    assert len(final) == 20 and final[: len(stored)] == stored
    manifest = json.loads((out / "results.json").read_text())["manifest"]
    assert manifest["data_parallel_size"] == 2 and manifest["engine"]["name"] == "hf"

    single = CliRunner().invoke(main, [*args, "--output-dir", str(tmp_path / "one")],
                                catch_exceptions=False)
    assert single.exit_code == 0, single.output
    assert _samples(tmp_path / "one") == _samples(out)
