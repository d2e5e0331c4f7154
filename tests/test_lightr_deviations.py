"""LightReasoner settings that follow the published code: rollouts under the expert's own
generation config and scored on its processed scores, and the soft-label vocabulary of the
published trainer (tokenizer.vocab_size). docs/training-deviations.md lists each."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest

from evalkit.errors import EvalkitError
from evalkit.training.lightr.recipe import load_recipe
from evalkit.training.lightr.rollout import RolloutSampling, expert_sampling
from evalkit.training.lightr.sampler import run_sampling

pytestmark = pytest.mark.usefixtures("one_torch_thread")

SETTINGS = ["limit=6", "sampling.max_new_tokens=12", "sampling.batch_size=3",
            "sampling.dtype=float32", "sampling.beta=2.5"]


def _with_generation_config(model: Path, folder: Path, **settings) -> Path:
    from transformers import GenerationConfig

    shutil.copytree(model, folder)
    config = GenerationConfig.from_pretrained(model)
    for key, value in settings.items():
        setattr(config, key, value)
    config.save_pretrained(folder)
    return folder


def test_warp_is_what_generate_scores_under_temperature_top_k_top_p():
    import torch
    from transformers import TemperatureLogitsWarper, TopKLogitsWarper, TopPLogitsWarper

    torch.manual_seed(0)
    logits = torch.randn(5, 384) * 3
    ours = RolloutSampling(0.6, 50, 0.95, "test").warp(logits)
    theirs = logits
    for warper in (TemperatureLogitsWarper(0.6), TopKLogitsWarper(50), TopPLogitsWarper(0.95)):
        theirs = warper(None, theirs)
    assert torch.equal(torch.isinf(ours), torch.isinf(theirs))
    torch.testing.assert_close(torch.softmax(ours, -1), torch.softmax(theirs, -1))
    assert (~torch.isinf(ours)).sum(-1).max() <= 50
    assert torch.equal(RolloutSampling(0.0, None, 1.0, "greedy").warp(logits), logits)


def test_rollout_settings_come_from_the_expert_generation_config(pair, tmp_path):
    assert expert_sampling(str(pair[0])) == RolloutSampling(
        0.0, None, 1.0, "expert generation_config.json: greedy")
    sampling = expert_sampling(str(_with_generation_config(
        pair[0], tmp_path / "ds", do_sample=True, temperature=0.6, top_p=0.95)))
    # DeepSeek-R1-Distill-Qwen-1.5B's config; top_k is the transformers 4.x default of 50
    assert (sampling.temperature, sampling.top_k, sampling.top_p) == (0.6, 50, 0.95)
    penalised = _with_generation_config(pair[0], tmp_path / "rp", repetition_penalty=1.1)
    with pytest.raises(EvalkitError, match="repetition_penalty=1.1"):
        expert_sampling(str(penalised))


def test_a_sampling_expert_rolls_out_seeded_and_scores_its_processed_distribution(pair, tmp_path):
    expert = _with_generation_config(pair[0], tmp_path / "expert", do_sample=True,
                                     temperature=0.7, top_k=5, top_p=0.9)
    sampled = tmp_path / "sampled"
    meta = run_sampling(load_recipe(overrides=SETTINGS), str(expert), str(pair[1]), sampled)
    assert meta["rollout"] == {"temperature": 0.7, "top_k": 5, "top_p": 0.9,
                               "source": meta["rollout"]["source"]}
    rollouts = [json.loads(line) for line in (sampled / "rollouts.jsonl").read_text().splitlines()]
    greedy = tmp_path / "greedy"
    run_sampling(load_recipe(overrides=[*SETTINGS, "sampling.rollout=recipe"]), str(expert),
                 str(pair[1]), greedy)
    greedy_rollouts = [json.loads(line) for line in
                       (greedy / "rollouts.jsonl").read_text().splitlines()]
    assert [r["token_ids"] for r in rollouts] != [r["token_ids"] for r in greedy_rollouts]
    records = [json.loads(line) for line in (sampled / "samples.jsonl").read_text().splitlines()]
    assert records and all(len(r["token_ids"]) <= 5 for r in records)  # top-k 5 support
    assert all(r["kl"] == r["kl"] and r["kl"] >= 2.5 for r in records)  # finite, over beta
    # seeded per question: another batch size draws the same rollouts
    rebatched = tmp_path / "rebatched"
    run_sampling(load_recipe(overrides=[*SETTINGS[:2], "sampling.batch_size=2", *SETTINGS[3:]]),
                 str(expert), str(pair[1]), rebatched)
    again = [json.loads(line) for line in (rebatched / "rollouts.jsonl").read_text().splitlines()]
    assert sorted((r["problem_id"], r["token_ids"]) for r in again) == sorted(
        (r["problem_id"], r["token_ids"]) for r in rollouts)


def test_soft_labels_leave_out_ids_past_tokenizer_vocab_size(pair, tmp_path):
    from transformers import AutoTokenizer

    from evalkit.training.lightr.soft_labels import SoftLabelSteps
    from evalkit.training.lightr.vocab import label_vocab_size

    tokenizer = AutoTokenizer.from_pretrained(pair[0])
    tokenizer.add_special_tokens({"additional_special_tokens": ["<|extra|>"]})
    assert label_vocab_size(tokenizer, "tokenizer_vocab_size") == 384  # LightR_finetuning.py
    assert label_vocab_size(tokenizer, "all_real_tokens") == 385
    samples = tmp_path / "samples.jsonl"
    samples.write_text(
        json.dumps({"prefix_ids": [5, 6], "token_ids": [7, 384], "weights": [0.75, 0.25]}) + "\n"
        + json.dumps({"prefix_ids": [5], "token_ids": [384], "weights": [1.0]}) + "\n")
    upstream = SoftLabelSteps(samples, 512, vocab_size=384)
    assert upstream.rows == [{"input_ids": [5, 6], "target_ids": [7],
                              "target_weights": [0.75]}]  # not renormalised, as published
    assert len(SoftLabelSteps(samples, 512, vocab_size=385).rows) == 2


def test_expert_check_compares_revisions_or_released_sources(tmp_path):
    from evalkit.generation.models import ModelRef
    from evalkit.training.lightr.finetune import check_sampling_expert

    samples = tmp_path / "samples.jsonl"

    def sampled_by(revision: str | None) -> None:
        expert = {"name": "Qwen/Qwen2.5-Math-7B", "kind": "hub", "path": "/cache/snap",
                  "revision": revision, "source": "Qwen/Qwen2.5-Math-7B"}
        (tmp_path / "sampling.json").write_text(json.dumps({"models": {"expert": expert}}))

    mine = ModelRef("Qwen/Qwen2.5-Math-7B", "hub", "/cache/snap", "abc123", "Qwen/Qwen2.5-Math-7B")
    sampled_by("abc123")
    assert check_sampling_expert(mine, samples, True).endswith(": same model")
    sampled_by("def456")  # another snapshot of the same repository
    with pytest.raises(EvalkitError, match="DIFFERENT models"):
        check_sampling_expert(mine, samples, True)
    line = check_sampling_expert(mine, samples, False)
    assert "Qwen/Qwen2.5-Math-7B@abc123" in line and "Qwen/Qwen2.5-Math-7B@def456" in line
    sampled_by(None)  # released samples: the authors name the model, not its revision
    assert check_sampling_expert(mine, samples, True).endswith(": same model")
    (tmp_path / "sampling.json").unlink()
    with pytest.raises(EvalkitError, match="the expert that sampled .* is unknown"):
        check_sampling_expert(mine, samples, True)
