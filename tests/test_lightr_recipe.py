"""The LightReasoner recipe: published values with their sources, and --set overrides."""

from __future__ import annotations

import dataclasses

import pytest

from evalkit.errors import EvalkitError
from evalkit.training.lightr.recipe import DEFAULT_RECIPE, load_recipe


def test_bundled_recipe_has_the_published_values():
    recipe = load_recipe()
    assert (recipe.expert, recipe.amateur) == ("Qwen/Qwen2.5-Math-1.5B", "Qwen/Qwen2.5-0.5B")
    assert (recipe.task, recipe.split, recipe.limit) == ("gsm8k", "train", 1000)
    s = recipe.sampling
    assert (s.alpha, s.beta, s.max_new_tokens) == (0.2, 0.4, 128)
    assert s.system_prompt == "Please reason step by step."
    lora = recipe.lora
    assert (lora.r, lora.alpha, lora.dropout, lora.target_modules) == (
        8, 16, 0.05, ["q_proj", "v_proj"]
    )
    t = recipe.train
    assert (t.learning_rate, t.per_device_batch_size, t.gradient_accumulation_steps) == (
        5e-5, 8, 2
    )
    assert (t.max_steps, t.bf16, t.max_length) == (1000, True, 512)
    assert recipe.merge.dtype == "bfloat16"
    # upstream behaviour by default (docs/training-deviations.md)
    assert (s.rollout, s.expert_scores, s.first_step) == ("expert", "processed", 1)
    assert (t.label_vocab, t.require_sampling_expert) == ("tokenizer_vocab_size", True)
    assert set(recipe.released_samples.sets) == {"LR_Qwen1.5_gsm8k", "LR_Qwen7_gsm8k",
                                                 "LR_ds1.5_gsm8k"}
    assert "5eed31c440a13b325022a654a2070afe7586caad" in recipe.released_samples.archive


def test_every_value_names_its_source():
    recipe = load_recipe()
    keys = {"expert", "amateur", "task", "split", "limit"}
    for section in ("sampling", "lora", "train", "merge", "decontamination",
                    "released_samples"):
        keys |= {f"{section}.{f.name}" for f in dataclasses.fields(getattr(recipe, section))}
    assert set(recipe.sources) == keys
    upstream = "HKUDS/LightReasoner@"
    not_published = {"sampling.top_p", "sampling.seed", "sampling.dtype", "train.seed"}
    assert all(recipe.sources[k].startswith("ours: ") for k in not_published)
    assert all(recipe.sources[k].startswith(upstream) for k in (
        "expert", "amateur", "limit", "sampling.alpha", "sampling.beta", "train.max_steps"))


def test_overrides_change_values_and_reject_unknown_keys(tmp_path):
    recipe = load_recipe(overrides=["sampling.beta=0.5", "train.bf16=false", "limit=10"])
    assert (recipe.sampling.beta, recipe.train.bf16, recipe.limit) == (0.5, False, 10)
    with pytest.raises(EvalkitError, match="no setting 'sampling.betta'"):
        load_recipe(overrides=["sampling.betta=0.5"])
    with pytest.raises(EvalkitError, match="no recipe section 'sampler'"):
        load_recipe(overrides=["sampler.beta=0.5"])
    with pytest.raises(EvalkitError, match="section.key=value"):
        load_recipe(overrides=["beta"])
    broken = tmp_path / "r.yaml"
    broken.write_text(DEFAULT_RECIPE.read_text().replace("  beta: 0.4\n", ""))
    with pytest.raises(EvalkitError, match=r"missing keys \['beta'\]"):
        load_recipe(broken)
    with pytest.raises(EvalkitError, match="train.label_vocab must be one of"):
        load_recipe(overrides=["train.label_vocab=everything"])
    with pytest.raises(EvalkitError, match="sampling.rollout must be one of"):
        load_recipe(overrides=["sampling.rollout=greedy"])
