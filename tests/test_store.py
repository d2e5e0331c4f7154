"""Sample stores survive real text and real crashes: nothing good is lost, nothing bad is used."""

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from evalkit.errors import EvalkitError
from evalkit.records import SampleRecord
from evalkit.runfolder.store import SampleStore, rejected_path


def _record(pid: str, index: int, text: str | None = None) -> SampleRecord:
    return SampleRecord(pid, index, seed=7, text=text if text is not None else f"answer {pid}",
                        num_tokens=3, finish_reason="stop", token_ids=[1, 2])


def _writer(path) -> SampleStore:
    return SampleStore(path, writable=True)


def test_appended_samples_are_read_back_by_a_new_store(tmp_path):
    path = tmp_path / "s.jsonl"
    _writer(path).append([_record("a", 0), _record("a", 1)])
    store = SampleStore(path)
    assert len(store) == 2 and ("a", 1) in store
    assert store.get("a", 1).token_ids == [1, 2]


HOSTILE_TEXTS = [
    "line\u2028separator", "next\u0085line", "para\u2029graph", "nul\x00byte", "cr\rreturn",
    "form\x0cfeed", "lone \ud800 surrogate", "emoji 🧮 and 中文", "vertical\x0btab",
]


@pytest.mark.parametrize("text", HOSTILE_TEXTS)
def test_any_completion_text_round_trips(tmp_path, text):
    path = tmp_path / "s.jsonl"
    _writer(path).append([_record("a", 0, text), _record("b", 0)])
    store = SampleStore(path)
    assert store.get("a", 0).text == text and len(store) == 2
    assert path.read_bytes().isascii() and path.read_bytes().count(b"\n") == 2


@settings(max_examples=60, deadline=None)
@given(st.lists(st.text(), min_size=1, max_size=5))
def test_every_text_hypothesis_invents_round_trips(tmp_path_factory, texts):
    path = tmp_path_factory.mktemp("store") / "s.jsonl"
    _writer(path).append(_record(str(i), 0, text) for i, text in enumerate(texts))
    store = SampleStore(path)
    assert [store.get(str(i), 0).text for i in range(len(texts))] == texts


def test_a_torn_last_line_is_ignored_by_readers_and_trimmed_only_by_the_writer(tmp_path):
    path = tmp_path / "s.jsonl"
    _writer(path).append([_record("a", 0)])
    with open(path, "ab") as handle:
        handle.write(b'{"problem_id": "b", "sample_ind')
    before = path.read_bytes()
    assert list(SampleStore(path).records) == [("a", 0)]
    assert path.read_bytes() == before  # a reader changes nothing (an append may be under way)
    store = _writer(path)
    assert list(store.records) == [("a", 0)]
    store.append([_record("b", 0)])
    lines = path.read_text().splitlines()
    assert [json.loads(line)["problem_id"] for line in lines] == ["a", "b"]


def _damaged_store(path, bad_line: bytes) -> None:
    """Line 1 sample a#0, line 2 ``bad_line``, line 3 sample c#0 (as a hand edit leaves it)."""
    good = [json.dumps(_record(pid, 0).to_json()).encode() for pid in ("a", "c")]
    path.write_bytes(b"\n".join([good[0], bad_line, good[1]]) + b"\n")


@pytest.mark.parametrize("bad_line, reason", [
    (b'{"problem_id": "b", "sample_index": 0, "text": "\xff\xfe"}', "not valid UTF-8"),
    (b'{"problem_id": "b"', "not JSON"),
    (b'{"problem_id": "b", "sample_index": 0}', "no field"),
    (b'["a", "list"]', "not a sample record"),
    (b'{"problem_id": "b", "sample_index": "0", "seed": 1, "text": "x", "num_tokens": 1, '
     b'"finish_reason": "stop"}', "wrong type"),
])
def test_a_bad_middle_line_stops_readers_with_file_line_and_fix(tmp_path, bad_line, reason):
    path = tmp_path / "s.jsonl"
    _damaged_store(path, bad_line)
    before = path.read_bytes()
    with pytest.raises(EvalkitError) as err:
        SampleStore(path)
    message = str(err.value)
    assert str(path) in message and "line 2" in message and reason in message
    assert "\n" not in message and "rerun the command" in message
    assert path.read_bytes() == before


def test_the_writer_sets_bad_lines_aside_and_keeps_every_good_sample(tmp_path):
    path = tmp_path / "s.jsonl"
    _damaged_store(path, b'{"problem_id": "b", "sample_index": 0, "text": "\xff"}')
    store = _writer(path)
    assert sorted(store.records) == [("a", 0), ("c", 0)]
    assert ("b", 0) not in store  # so it is generated again
    assert store.repairs and "sample b#0" in store.repairs[0] and "line 2" in store.repairs[0]
    aside = [json.loads(line) for line in rejected_path(path).read_text().splitlines()]
    assert aside[0]["line"] == 2 and "UTF-8" in aside[0]["reason"]
    assert len(SampleStore(path)) == 2  # the store reads clean now


def test_a_key_stored_twice_with_different_text_is_never_trusted(tmp_path):
    path = tmp_path / "s.jsonl"
    _writer(path).append([_record("a", 0, "first"), _record("b", 0)])
    with open(path, "ab") as handle:
        handle.write(json.dumps(_record("a", 0, "second").to_json()).encode() + b"\n")
    with pytest.raises(EvalkitError, match=r"sample a#0.*stored twice"):
        SampleStore(path)
    store = _writer(path)
    assert list(store.records) == [("b", 0)]  # neither copy wins
    assert len(rejected_path(path).read_text().splitlines()) == 2


def test_the_same_sample_twice_is_harmless(tmp_path):
    path = tmp_path / "s.jsonl"
    _writer(path).append([_record("a", 0)])
    _writer(path).append([_record("a", 0)])
    assert len(SampleStore(path)) == 1


def test_a_reader_cannot_append(tmp_path):
    path = tmp_path / "s.jsonl"
    with pytest.raises(EvalkitError, match="read-only"):
        SampleStore(path).append([_record("a", 0)])
