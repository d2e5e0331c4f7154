"""The statistics stage of a run: answer classes, answer positions, metrics, budget curves."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from evalkit.answer_classes import answer_classes
from evalkit.budget import (
    Decode,
    GradedSample,
    answer_token,
    budget_curve,
    check_budgets,
    correct_at_budgets,
)
from evalkit.errors import EvalkitError
from evalkit.grading import Grader
from evalkit.metrics import AnswerClass, MetricValue, score_task
from evalkit.records import Grade, Problem, SampleRecord


@dataclass
class TaskStatistics:
    """What the statistics stage adds to a task's grades."""

    classes: list[list[AnswerClass]]
    answer_tokens: list[list[int | None]]
    metrics: list[MetricValue]
    budget_curve: list[dict[str, Any]]


def tokenizer_decoder(tokenizer_or_path: Any) -> Decode:
    """decode(ids) as the engines do (special tokens skipped); a path loads its tokenizer once,
    on first use."""
    loaded: list[Any] = [] if isinstance(tokenizer_or_path, str) else [tokenizer_or_path]

    def decode(ids: list[int]) -> str:
        if not loaded:
            from transformers import AutoTokenizer

            loaded.append(AutoTokenizer.from_pretrained(tokenizer_or_path))
        return loaded[0].decode(ids, skip_special_tokens=True)

    return decode


def score_samples(
    problems: Sequence[Problem], samples: Sequence[Sequence[SampleRecord]],
    grades: Sequence[Grade], grader: Grader, decode: Decode, ks: Sequence[int],
    budgets: Sequence[int] = (), seed: int = 0,
) -> TaskStatistics:
    """Classes of answers (for maj@k), answer-complete positions, metrics and budget curve.

    ``grades`` is flat in the order of ``samples`` (problem by problem).
    """
    n = len(samples[0]) if samples else 0
    rows = [list(grades[i * n : (i + 1) * n]) for i in range(len(samples))]
    correct = [[g.correct for g in row] for row in rows]
    kind = problems[0].answer_kind if problems else "math"
    classes = answer_classes(
        [[g.extracted for g in row] for row in rows], correct,
        lambda pairs: grader.same_answers(pairs, kind),
    )
    positions = [
        [
            None if s.token_ids is None
            else answer_token(s.token_ids, g.extracted, p.answer_kind, decode)
            for s, g in zip(sample_row, grade_row, strict=True)
        ]
        for p, sample_row, grade_row in zip(problems, samples, rows, strict=True)
    ]
    curve: list[dict[str, Any]] = []
    if budgets:
        graded = [
            [GradedSample(s.num_tokens, ok, s.token_ids)
             for s, ok in zip(sample_row, ok_row, strict=True)]
            for sample_row, ok_row in zip(samples, correct, strict=True)
        ]
        by_budget = correct_at_budgets(problems, graded, budgets, decode, grader)
        curve = budget_curve(
            by_budget, [[s.num_tokens for s in row] for row in samples],
            [[s.finish_reason for s in row] for row in samples], ks,
        )
    return TaskStatistics(classes, positions, score_task(correct, ks, classes), curve)


def add_budget_curves(
    run_dir: Path, budgets: Sequence[int], grader_workers: int = 1, grader_timeout: float = 10.0,
) -> dict[str, Any]:
    """Compute the budget curve of every task of a finished run from its stored samples, and
    rewrite its results.json, results.md and budget_curve.png. Returns the updated results."""
    from evalkit.plot import plot_budget_curves
    from evalkit.results import load_results, write_results
    from evalkit.store import SampleStore

    results = load_results(run_dir)
    if results["model"].get("kind") == "import":
        raise EvalkitError(
            f"{run_dir} was imported from another tool's outputs, which carry no token ids to "
            "cut at a budget: budget curves need a run made by `evalkit run --budgets ...`"
        )
    model_path = results["model"]["path"]
    if not Path(model_path).is_dir():
        raise EvalkitError(
            f"budget curves decode token ids with the model's tokenizer, and {model_path} is "
            "gone; rerun `evalkit run --budgets ...` with the same --model to restore it"
        )
    decode = tokenizer_decoder(model_path)
    cache_path = run_dir / "grade_cache.json"
    cache = json.loads(cache_path.read_text()) if cache_path.exists() else {}
    with Grader(workers=grader_workers, timeout_s=grader_timeout, cache=cache) as grader:
        for task in results["tasks"].values():
            chosen = check_budgets(budgets, task["sampling"]["max_tokens"])
            store = SampleStore(run_dir / task["samples_file"])
            lines = (run_dir / task["grades_file"]).read_text(encoding="utf-8").splitlines()
            by_problem: dict[str, list[dict[str, Any]]] = defaultdict(list)
            for grade in map(json.loads, filter(str.strip, lines)):
                by_problem[grade["problem_id"]].append(grade)
            kind = task.get("answer_kind", "math")
            problems, rows, finish = [], [], []
            for pid in task["problem_ids"]:
                row = sorted(by_problem[pid], key=lambda g: g["sample_index"])
                problems.append(Problem(pid, "", row[0]["gold"], kind))
                rows.append([
                    GradedSample(
                        g["num_tokens"], g["status"] == "correct",
                        store.get(pid, g["sample_index"]).token_ids,
                    )
                    for g in row
                ])
                finish.append([g["finish_reason"] for g in row])
            task["budget_curve"] = budget_curve(
                correct_at_budgets(problems, rows, chosen, decode, grader),
                [[s.num_tokens for s in row] for row in rows], finish,
                results["sampling"]["k"],
            )
    cache_path.write_text(json.dumps(cache))
    write_results(results, run_dir)
    plot_budget_curves(results, run_dir / "budget_curve.png")
    return results
