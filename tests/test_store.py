import json

import pytest

from evalkit.errors import EvalkitError
from evalkit.records import SampleRecord
from evalkit.runfolder.store import SampleStore


def _record(pid: str, index: int) -> SampleRecord:
    return SampleRecord(
        pid,
        index,
        seed=7,
        text=f"answer {pid}",
        num_tokens=3,
        finish_reason="stop",
        token_ids=[1, 2],
    )


def test_appended_samples_are_read_back_by_a_new_store(tmp_path):
    path = tmp_path / "s.jsonl"
    SampleStore(path).append([_record("a", 0), _record("a", 1)])
    store = SampleStore(path)
    assert len(store) == 2 and ("a", 1) in store
    assert store.get("a", 1).token_ids == [1, 2]


def test_partial_last_line_from_a_crash_is_dropped_and_the_rest_kept(tmp_path):
    path = tmp_path / "s.jsonl"
    SampleStore(path).append([_record("a", 0)])
    with open(path, "a") as handle:
        handle.write('{"problem_id": "b", "sample_ind')
    store = SampleStore(path)
    assert list(store.records) == [("a", 0)]
    store.append([_record("b", 0)])
    lines = path.read_text().splitlines()
    assert [json.loads(line)["problem_id"] for line in lines] == ["a", "b"]


def test_corrupt_middle_line_is_a_clear_error(tmp_path):
    path = tmp_path / "s.jsonl"
    path.write_text('{"problem_id": "a"\n' + json.dumps(_record("b", 0).to_json()) + "\n")
    with pytest.raises(EvalkitError, match="corrupt at line 1"):
        SampleStore(path)
