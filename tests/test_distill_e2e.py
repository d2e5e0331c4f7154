"""`evalkit train distill run` end to end on CPU with real (tiny, random) models.

Teacher: the tiny random Qwen3 fixture; student: the same architecture and tokenizer with other
random weights; 20 GSM8K train problems. A random teacher never stops and rarely agrees with a
gold answer, so the run keeps truncated solutions (filter.drop_truncated=false) and samples one
solution per problem and mode with min_votes=1: every extracted answer then wins its vote and
replaces (or confirms) the label, and the expected count of every step follows from the stored
solutions.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from evalkit.cli import main
from evalkit.grading import extract_answer
from evalkit.grading.judge import judge_math
from evalkit.training.distill.recipe import StageSettings
from evalkit.training.distill.sft import build_trainer
from evalkit.training.distill.workdir import read_jsonl, write_jsonl

MAX_TOKENS = 24
STAGE_ARGS = ["per_device_train_batch_size=4", "num_train_epochs=1", "learning_rate=0.002"]


@pytest.fixture(scope="module")
def student(tiny_model: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The tiny Qwen3's config and tokenizer with freshly initialised weights (seed 1)."""
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, GenerationConfig

    folder = tmp_path_factory.mktemp("student")
    shutil.copytree(tiny_model, folder, dirs_exist_ok=True)
    torch.manual_seed(1)
    model = AutoModelForCausalLM.from_config(AutoConfig.from_pretrained(tiny_model))
    model.generation_config = GenerationConfig.from_pretrained(tiny_model)
    model.save_pretrained(folder)
    return folder


def _invoke(args: list[str]):
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    return result


def _counts(work: Path, step: str) -> dict:
    return json.loads((work / "done" / f"{step}.json").read_text())["counts"]


def test_run_chains_every_step_and_the_checkpoint_evaluates(tiny_model, student, tmp_path):
    work = tmp_path / "work"
    overrides = [
        f"teacher.model={tiny_model}", f"sft.model={student}", "teacher.n=1",
        f"teacher.max_tokens={MAX_TOKENS}", "vote.min_votes=1", "vote.workers=0",
        "filter.drop_truncated=false",
        *(f"sft.{stage}.args.{arg}" for stage in ("stage1", "stage2") for arg in STAGE_ARGS),
        "sft.stage1.global_batch_size=4", "sft.stage2.global_batch_size=4",
    ]
    args = ["train", "distill", "run", "reasonlite-tiny", "--work-dir", str(work)]
    args += [item for override in overrides for item in ("--set", override)]
    _invoke(args)

    problems = {row["id"]: row for row in read_jsonl(work / "problems.jsonl")}
    assert len(problems) == 20
    solutions = {
        mode: list(read_jsonl(work / "solutions" / mode / "00000.jsonl"))
        for mode in ("medium", "high")
    }
    generated = _counts(work, "generate")["per_mode"]
    for mode, rows in solutions.items():
        assert len(rows) == 20 == generated[mode]["solutions"]
        assert all(r["num_tokens"] <= MAX_TOKENS and r["seed"] == 0 for r in rows)
        assert generated[mode]["truncated"] == sum(r["finish_reason"] == "length" for r in rows)

    answers = {
        (r["problem_id"], mode): extract_answer(r["text"])[0]
        for mode, rows in solutions.items()
        for r in rows
    }
    with_answer = [key for key, answer in answers.items() if answer is not None]
    confirmed = [k for k in with_answer if judge_math(problems[k[0]]["gold"], answers[k])]
    vote = _counts(work, "vote")
    assert vote["votes"] == 40 and vote["no_answers"] == 40 - len(with_answer)
    assert vote["confirmed"] == len(confirmed)
    assert vote["replaced"] == len(with_answer) - len(confirmed)

    filtered = _counts(work, "filter")
    assert filtered["kept"] == len(with_answer) > 0
    assert filtered["no_answer"] == 40 - len(with_answer)
    assert filtered["truncated"] == filtered["disagrees_with_label"] == 0

    split = _counts(work, "split")
    for part, mode in (("short", "medium"), ("long", "high")):
        assert split[part] == sum(key[1] == mode for key in with_answer)

    for stage in ("stage1", "stage2"):
        trained = _counts(work, stage)
        assert trained["steps"] >= 2 and trained["last_loss"] < trained["first_loss"]
        assert (work / stage / "train_log.json").is_file()

    again = _invoke(args)
    assert again.output.count("skipped (complete)") == 6

    run_dir = tmp_path / "eval"
    _invoke(["run", "--model", str(work / "stage2"), "--tasks", "gsm8k", "--limit", "2",
             "--max-tokens", "8", "--output-dir", str(run_dir)])
    results = json.loads((run_dir / "results.json").read_text())
    assert results["tasks"]["gsm8k"]["problems"] == 2


@pytest.mark.parametrize("loss_on", ["full_sequence", "completion_only"])
def test_loss_covers_the_sequence_or_the_assistant_turn(student, tmp_path, loss_on):
    data = tmp_path / "short.jsonl"
    write_jsonl(data, [{"problem": "What is 2+2?", "messages": [
        {"role": "user", "content": "What is 2+2?"},
        {"role": "assistant", "content": "<think>\n2+2=4\n</think>\n\n\\boxed{4}"},
    ]}])
    stage = StageSettings(1, {"per_device_train_batch_size": 1, "bf16": False,
                              "activation_checkpointing": False, "report_to": "none"})
    trainer = build_trainer("stage1", str(student), data, stage, tmp_path / "out", loss_on)
    row = trainer.train_dataset[0]
    trained = [label for label in row["labels"] if label != -100]
    decoded = trainer.processing_class.decode(trained)
    assert "<think>\n2+2=4\n</think>\n\n\\boxed{4}<|im_end|>" in decoded
    if loss_on == "completion_only":  # the assistant turn only
        assert decoded.startswith("<think>")
        assert "What is 2+2?" not in decoded and len(trained) < len(row["input_ids"])
    else:  # every token, as open-r1's sft.py trains ReasonLite's `messages` data
        assert "What is 2+2?" in decoded and len(trained) == len(row["input_ids"])
