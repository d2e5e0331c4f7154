"""LightReasoner's "+ SFT" baseline on the tiny expert: rejection sampling -> LoRA SFT -> merge.

A random expert never solves GSM8K, so the problems' gold answers are set from the expert's own
greedy answers on even rows and to a wrong answer on odd rows: rejection sampling must keep
exactly the even rows whose solution has an answer.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from evalkit.cli import main

pytestmark = pytest.mark.usefixtures("one_torch_thread")

PROBLEMS = 8
MAX_TOKENS = 24


def tiny_sft_settings(task: Path) -> list[str]:
    return [f"task={task}", f"limit={PROBLEMS}", f"rejection.max_new_tokens={MAX_TOKENS}",
            f"rejection.batch_size={PROBLEMS}", "rejection.dtype=float32",
            "rejection.grader_workers=1", "train.max_steps=3", "train.per_device_batch_size=2",
            "train.gradient_accumulation_steps=1", "train.bf16=false",
            "train.learning_rate=0.01", "train.logging_steps=1", "merge.dtype=float32"]


def expert_answer_task(expert: Path, folder: Path) -> tuple[Path, set[str]]:
    """GSM8K train questions with the expert's greedy answer as gold on even rows; the ids of
    the rows rejection sampling must keep."""
    from evalkit.generation.engines import GenerationRequest
    from evalkit.generation.engines.hf import HFEngine
    from evalkit.generation.prompts import Prompter
    from evalkit.grading import extract_answer
    from evalkit.tasks import get_task
    from evalkit.training.lightr.rollout import expert_sampling, generate_rollouts
    from evalkit.training.lightr.sampler import lightr_preset

    problems = get_task("gsm8k", "train").load(limit=PROBLEMS)
    engine = HFEngine(str(expert), batch_size=PROBLEMS, dtype="float32")
    prompter = Prompter(lightr_preset("Please reason step by step."), engine.tokenizer)
    requests = [GenerationRequest(p.id, 0, 0, prompter.render(p.question)) for p in problems]
    done = generate_rollouts(engine, requests, expert_sampling(str(expert)), MAX_TOKENS)
    rows, keep = [], set()
    for index, (problem, completion) in enumerate(zip(problems, done, strict=True)):
        answer = extract_answer(completion.text)[0]
        if index % 2 == 0 and answer is not None:
            keep.add(str(index))
            gold = answer
        else:
            gold = "987654321"
        rows.append({"question": problem.question, "answer": gold})
    task = folder / "expert_answers.jsonl"
    task.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return task, keep


@pytest.fixture(scope="module")
def baseline(pair, tmp_path_factory) -> tuple[Path, set[str]]:
    folder = tmp_path_factory.mktemp("lightr-sft")
    task, keep = expert_answer_task(pair[0], folder)
    assert keep, "the tiny expert gave no extractable answer on an even row"
    args = ["train", "lightr", "sft", "--expert", str(pair[0]), "--output-dir",
            str(folder / "out")]
    args += [item for setting in tiny_sft_settings(task) for item in ("--set", setting)]
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "merged checkpoint" in result.output
    return folder / "out", keep


def test_rejection_keeps_exactly_the_correct_solutions(baseline):
    out, keep = baseline
    rows = [json.loads(line) for line in (out / "rejection" / "sft.jsonl").read_text()
            .splitlines()]
    assert {row["problem_id"] for row in rows} == keep
    rollouts = {json.loads(line)["problem_id"]: json.loads(line) for line in
                (out / "rejection" / "rollouts.jsonl").read_text().splitlines()}
    for row in rows:
        assert row["completion"] == [{"role": "assistant",
                                      "content": rollouts[row["problem_id"]]["text"]}]
        assert row["prompt"][0] == {"role": "system", "content": "Please reason step by step."}
    selection = json.loads((out / "rejection" / "selection.json").read_text())
    assert selection["problems"] == selection["solutions"] == PROBLEMS
    assert selection["examples"] == selection["problems_with_a_correct_solution"] == len(keep)
    assert selection["statuses"]["correct"] == len(keep)


def test_lora_sft_with_the_lightreasoner_budget_and_merge(baseline, pair):
    import torch
    from transformers import AutoModelForCausalLM

    out, keep = baseline
    summary = json.loads((out / "adapter" / "lightr_sft.json").read_text())
    assert summary["examples"] == len(keep) and summary["train"]["max_steps"] == 3
    assert summary["lora"] == {"r": 8, "alpha": 16, "dropout": 0.05,
                               "target_modules": ["q_proj", "v_proj"]}
    config = json.loads((out / "adapter" / "adapter_config.json").read_text())
    assert config["r"] == 8 and sorted(config["target_modules"]) == ["q_proj", "v_proj"]
    losses = [e["loss"] for e in summary["log_history"] if "loss" in e]
    assert len(losses) == 3
    merged = AutoModelForCausalLM.from_pretrained(out / "merged", dtype="float32").eval()
    base = AutoModelForCausalLM.from_pretrained(pair[0], dtype="float32").eval()
    assert not any("lora" in name for name in merged.state_dict())
    ids = torch.tensor([list(range(40, 60))])
    with torch.no_grad():
        assert not torch.allclose(merged(ids).logits, base(ids).logits, atol=1e-4)


def test_bundled_sft_recipe_shares_the_lightreasoner_configuration():
    from evalkit.training.lightr.recipe import load_recipe
    from evalkit.training.lightr.sft_recipe import load_sft_recipe

    sft, lightr = load_sft_recipe(), load_recipe()
    assert (sft.expert, sft.task, sft.split, sft.limit) == (
        "Qwen/Qwen2.5-Math-1.5B", "gsm8k", "train", None)
    assert sft.lora == lightr.lora
    assert (sft.train.learning_rate, sft.train.per_device_batch_size,
            sft.train.gradient_accumulation_steps, sft.train.max_steps) == (
        lightr.train.learning_rate, lightr.train.per_device_batch_size,
        lightr.train.gradient_accumulation_steps, lightr.train.max_steps)
    assert sft.rejection.system_prompt == lightr.sampling.system_prompt
    assert sft.rejection.rollout == "expert"
    for key in ("expert", "task", "limit", "lora.r", "train.max_steps", "rejection.samples"):
        assert sft.sources[key]
