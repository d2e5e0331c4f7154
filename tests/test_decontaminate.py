"""Decontamination of training pools against the evaluation tasks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from evalkit.cli import main
from evalkit.errors import EvalkitError
from evalkit.tasks import load_custom_task
from evalkit.training.decontaminate import (
    DecontaminationSettings,
    EvalIndex,
    PoolItem,
    check_pool,
    guard_pool,
    normalise,
    word_ngrams,
)

EVAL = [
    "Tom has 3 apples and buys 5 more at the market on Sunday. How many apples does he have now?",
    "What is $2+2$?",
]
LONG = EVAL[0]


@pytest.fixture
def index(tmp_path: Path) -> EvalIndex:
    data = tmp_path / "evalset.jsonl"
    data.write_text("".join(json.dumps({"question": q, "answer": "1"}) + "\n" for q in EVAL))
    return EvalIndex([load_custom_task(data)])


def test_normalise_folds_case_punctuation_and_unicode():
    assert normalise("What  is $2+2$?\n") == "what is 2 2"
    assert normalise("Ｔｏｍ’s CAFÉ—open") == "tom s café open"
    assert word_ngrams("a b c d", 3) == {"a b c", "b c d"}
    assert word_ngrams("a b", 3) == set()


def test_exact_and_ngram_overlaps_of_problems_and_solutions(index: EvalIndex):
    items = [
        PoolItem("same", "what is 2 + 2 ?"),  # exact after normalisation, too short for 13-grams
        PoolItem("reworded", "Anna has 3 apples and buys 5 more at the market on Sunday. "
                             "How many apples does she have now?"),
        PoolItem("leaky", "A sum.", solution="Recall: " + LONG),
        PoolItem("clean", "Tom has 3 pears and sells 5 of them at the market. How many are left?",
                 solution="There are none left."),
    ]
    report = check_pool(items, index, "mine")
    assert report.contaminated == ["same", "reworded", "leaky"]
    kinds = {(o.item, o.kind, o.field) for o in report.overlaps}
    assert kinds == {("same", "exact", "problem"), ("reworded", "ngram", "problem"),
                     ("leaky", "ngram", "solution")}
    counts = report.tasks["evalset"]
    assert counts == {"problems": 2, "items": 3, "exact": 1, "ngram_problem": 1,
                      "ngram_solution": 1, "task_problems_hit": 2}
    evidence = next(o.evidence for o in report.overlaps if o.item == "reworded")
    assert len(evidence.split()) == 13 and evidence in normalise(LONG)
    assert report.summary() == "3 of 4 items of mine overlap (evalset 3)"


def test_guard_refuses_drops_or_allows(index: EvalIndex, tmp_path: Path, monkeypatch):
    monkeypatch.setattr("evalkit.training.decontaminate.evaluation_index", lambda n: index)
    items = [PoolItem("a", EVAL[1]), PoolItem("b", "Something else entirely.")]
    report = tmp_path / "report.json"
    with pytest.raises(EvalkitError, match=r"1 of 2 items of pool overlap \(evalset 1\).*"
                                           r"on_overlap=drop"):
        guard_pool(items, DecontaminationSettings(), report, "pool")
    assert json.loads(report.read_text())["contaminated"] == ["a"]
    assert guard_pool(items, DecontaminationSettings("drop"), report, "pool") == {"a"}
    assert guard_pool(items, DecontaminationSettings("allow"), report, "pool") == set()
    assert guard_pool(items[1:], DecontaminationSettings(), report, "pool") == set()
    with pytest.raises(EvalkitError, match="on_overlap must be one of"):
        DecontaminationSettings("ignore")


def test_bundled_gsm8k_train_against_every_task(tmp_path: Path):
    report = tmp_path / "gsm8k.json"
    result = CliRunner().invoke(main, ["train", "decontaminate", "gsm8k", "--split", "train",
                                       "--report", str(report)])
    assert result.exit_code == 1, result.output
    assert "9 of 7473 items of gsm8k-train overlap (gsm8k 4, asdiv 6)" in result.output
    data = json.loads(report.read_text())
    assert len(data["tasks"]) == 11 and data["ngram"] == 13
    assert data["tasks"]["gsm8k"]["items"] == 4 and data["tasks"]["math"]["items"] == 0
    assert {o["item"] for o in data["overlaps"]} == set(data["contaminated"])


def test_a_file_pool_is_read_with_the_fields_named(tmp_path: Path):
    pool = tmp_path / "pool.jsonl"
    pool.write_text(json.dumps({"uid": "x1", "problem": "Unrelated words only."}) + "\n")
    report = tmp_path / "r.json"
    ok = CliRunner().invoke(main, ["train", "decontaminate", str(pool), "--problem-field",
                                   "problem", "--id-field", "uid", "--report", str(report)])
    assert ok.exit_code == 0, ok.output
    assert "0 of 1 items of pool overlap" in ok.output
    bad = CliRunner().invoke(main, ["train", "decontaminate", str(pool)])
    assert bad.exit_code == 2 and "has no field 'question'" in bad.stderr
