"""GRPO through TRL's GRPOTrainer, rewarded by evalkit's grader, on the tiny random Qwen3."""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from evalkit.cli import main
from evalkit.errors import EvalkitError
from evalkit.grading import Grader, GradeRequest
from evalkit.grading.judge import judge_math
from evalkit.training.grpo.recipe import load_grpo_recipe
from evalkit.training.grpo.reward import GraderRewards

pytestmark = pytest.mark.usefixtures("one_torch_thread")


def hanging_judge(gold: str, answer: str) -> bool:
    """The real judge, except that gold "hang" never returns. Module-level: workers unpickle it."""
    if gold == "hang":
        time.sleep(60)
    return judge_math(gold, answer)


def test_rewards_are_the_grader_verdict_and_the_boxed_format():
    completions = ["So 6*7 = \\boxed{42}.", "The answer is 42.", "\\boxed{41}", "no idea",
                   [{"role": "assistant", "content": "It is \\boxed{\\frac{1}{2}}"}]]
    gold = ["42", "42", "42", "42", "0.5"]
    with Grader(workers=1, timeout_s=5) as grader:
        rewards = GraderRewards(grader)
        assert rewards.correct(completions, gold, ["math"] * 5) == [1.0, 1.0, 0.0, 0.0, 1.0]
        assert rewards.boxed_format(completions) == [1.0, 0.0, 1.0, 0.0, 1.0]


def test_a_hanging_judgement_is_killed_and_rewarded_zero():
    with Grader(workers=1, timeout_s=0.5, judge=hanging_judge) as grader:
        started = time.time()
        scores = GraderRewards(grader).correct(["\\boxed{1}", "\\boxed{2}"], ["hang", "2"],
                                               ["math", "math"])
    assert scores == [0.0, 1.0] and time.time() - started < 30


def test_bundled_recipes_load_and_reach_grpo_config(tmp_path):
    from evalkit.training.grpo.train import grpo_config

    recipe = load_grpo_recipe("grpo", ["args.use_cpu=true"])  # bf16 needs a GPU otherwise
    assert (recipe.model, recipe.task, recipe.split) == ("Qwen/Qwen2.5-0.5B-Instruct", "gsm8k",
                                                          "train")
    config = grpo_config(recipe, tmp_path)
    assert (config.learning_rate, config.num_generations, config.max_completion_length) == (
        2e-5, 16, 1024)
    assert config.reward_weights == [1.0, 1.0] and config.lr_scheduler_type == "cosine"
    assert recipe.decontamination.on_overlap == "drop"
    with pytest.raises(EvalkitError, match="args.output_dir is set by the pipeline"):
        load_grpo_recipe("grpo", ["args.output_dir=x"])
    with pytest.raises(EvalkitError, match="grpo args"):
        grpo_config(load_grpo_recipe("grpo-tiny", ["args.no_such_option=1"]), tmp_path)


def test_tiny_grpo_run_rewards_with_the_grader_and_saves_a_checkpoint(tiny_model, tmp_path,
                                                                      monkeypatch):
    seen: list[tuple[list, list]] = []
    original = GraderRewards.correct

    def spy(self, completions, gold, answer_kind, **kwargs):
        scores = original(self, completions, gold, answer_kind, **kwargs)
        seen.append((list(zip(completions, gold, strict=True)), scores))
        return scores

    spy.__name__ = "correct"  # TRL logs each reward under its function's name
    monkeypatch.setattr(GraderRewards, "correct", spy)
    work = tmp_path / "grpo"
    result = CliRunner().invoke(main, ["train", "grpo", "grpo-tiny", "--work-dir", str(work),
                                       "--set", f"model={tiny_model}"], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "grpo: 4 prompts x 2 completions" in result.output
    summary = json.loads((work / "grpo.json").read_text())
    assert summary["steps"] == 2 and summary["prompts"] == 4
    logged = [e for e in summary["log_history"] if "rewards/correct/mean" in e]
    assert len(logged) == 2 and all("rewards/boxed_format/mean" in e for e in logged)
    # every completion was rewarded with evalkit's grade against its own problem's gold
    from evalkit.tasks import get_task

    golds = {p.gold for p in get_task("gsm8k", "train").load(limit=4)}
    # 2 steps x a batch of 2 completions (one prompt, num_generations 2)
    assert [len(batch) for batch, _ in seen] == [2, 2]
    assert all(len({g for _, g in batch}) == 1 for batch, _ in seen)  # a group shares its gold
    with Grader(workers=0) as grader:
        for batch, scores in seen:
            assert {g for _, g in batch} <= golds
            grades = grader.grade([GradeRequest(c[0]["content"], g) for c, g in batch])
            assert scores == [1.0 if g.status == "correct" else 0.0 for g in grades]
    assert json.loads((work / "decontamination.json").read_text())["items"] == 4
    run = tmp_path / "eval"
    evaluated = CliRunner().invoke(main, ["run", "--model", str(work / "model"), "--tasks",
                                          "gsm8k", "--limit", "1", "--max-tokens", "4",
                                          "--output-dir", str(run)])
    assert evaluated.exit_code == 0, evaluated.output
    assert (work / "model" / "model.safetensors").is_file()


def test_a_recipe_resumes_only_its_own_checkpoints(tiny_model, tmp_path):
    from evalkit.training.grpo.train import run_grpo

    work = tmp_path / "grpo"
    (work / "checkpoints" / "checkpoint-1").mkdir(parents=True)
    (work / "checkpoints" / "settings.json").write_text(json.dumps({"model": "other"}))
    recipe = load_grpo_recipe("grpo-tiny", [f"model={tiny_model}"])
    with pytest.raises(EvalkitError, match="made with other settings"):
        run_grpo(recipe, work, echo=lambda line: None)
    assert not Path(work / "model").exists()
