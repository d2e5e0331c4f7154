"""LightReasoner fine-tune and merge: the last-real-token loss, training, and `evalkit run`.

One `evalkit train lightr run` (sample -> finetune -> merge) on two tiny models and 10 GSM8K
train questions feeds every test; the recipe is overridden to tiny values through --set.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from evalkit.cli import main

pytestmark = pytest.mark.usefixtures("one_torch_thread")

TINY = ["--set", "sampling.max_new_tokens=16", "--set", "sampling.batch_size=4",
        "--set", "sampling.dtype=float32", "--set", "sampling.beta=2.5",
        "--set", "train.max_steps=10", "--set", "train.learning_rate=0.01",
        "--set", "train.per_device_batch_size=4", "--set", "train.bf16=false",
        "--set", "train.logging_steps=5", "--set", "merge.dtype=float32"]


def _cli(args: list[str]):
    return CliRunner().invoke(main, args, catch_exceptions=False)


@pytest.fixture(scope="module")
def chain(pair, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("lightr-chain")
    result = _cli(["train", "lightr", "run", "--expert", str(pair[0]), "--amateur", str(pair[1]),
                   "--limit", "10", "--output-dir", str(out), *TINY])
    assert result.exit_code == 0, result.output
    assert "merged checkpoint" in result.output
    return out


def _expert(pair):
    from transformers import AutoModelForCausalLM

    return AutoModelForCausalLM.from_pretrained(pair[0], dtype="float32").eval()


def _mean_loss(model, rows: list[dict], vocab_size: int) -> float:
    import torch

    from evalkit.training.lightr.soft_labels import LeftPadCollator, soft_label_loss

    collate = LeftPadCollator(pad_id=0)
    with torch.no_grad():
        total = sum(float(soft_label_loss(model, collate(rows[i : i + 8]), vocab_size))
                    * len(rows[i : i + 8]) for i in range(0, len(rows), 8))
    return total / len(rows)


def test_loss_is_taken_at_the_last_real_token_of_each_prefix(chain, pair):
    import torch

    from evalkit.training.lightr.soft_labels import (
        LeftPadCollator,
        SoftLabelSteps,
        last_token_logits,
        soft_label_kl,
        soft_label_loss,
    )

    model = _expert(pair)
    steps = SoftLabelSteps(chain / "sampling" / "samples.jsonl", max_length=512)
    by_length = {len(r["input_ids"]): r for r in steps.rows}
    rows = [by_length[n] for n in sorted(by_length)[:4]]
    assert len({len(r["input_ids"]) for r in rows}) == 4  # a batch that needs padding
    vocab = 384
    alone = [_mean_loss(model, [r], vocab) for r in rows]
    batch = LeftPadCollator(pad_id=0)(rows)
    with torch.no_grad():
        batched = float(soft_label_loss(model, batch, vocab))
    assert batched == pytest.approx(sum(alone) / len(alone), abs=1e-5)

    # The published bug: right padding and logits[:, -1] read pad positions for short rows.
    right = torch.zeros_like(batch["input_ids"])
    right_mask = torch.zeros_like(batch["attention_mask"])
    for i, r in enumerate(rows):
        right[i, : len(r["input_ids"])] = torch.tensor(r["input_ids"])
        right_mask[i, : len(r["input_ids"])] = 1
    with torch.no_grad():
        logits = model(input_ids=right, attention_mask=right_mask).logits[:, -1]
        buggy = soft_label_kl(logits, batch["target_ids"], batch["target_weights"], vocab).mean()
        with pytest.raises(ValueError, match="not left-padded"):
            last_token_logits(model, right, right_mask)
    assert abs(float(buggy) - batched) > 1e-3


def test_training_lowers_the_loss(chain, pair):
    from peft import PeftModel

    from evalkit.training.lightr.soft_labels import SoftLabelSteps

    rows = SoftLabelSteps(chain / "sampling" / "samples.jsonl", max_length=512).rows
    before = _mean_loss(_expert(pair), rows, 384)
    tuned = PeftModel.from_pretrained(_expert(pair), str(chain / "adapter")).eval()
    after = _mean_loss(tuned, rows, 384)
    assert after < 0.95 * before
    summary = json.loads((chain / "adapter" / "lightr_finetune.json").read_text())
    assert summary["examples"] == len(rows) and summary["train"]["max_steps"] == 10
    assert summary["lora"] == {"r": 8, "alpha": 16, "dropout": 0.05,
                               "target_modules": ["q_proj", "v_proj"]}
    logged = [e["loss"] for e in summary["log_history"] if "loss" in e]
    assert len(logged) == 2 and logged[-1] < logged[0]


def test_merged_checkpoint_equals_base_plus_adapter_and_evaluates(chain, pair, tmp_path):
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    merged = AutoModelForCausalLM.from_pretrained(chain / "merged", dtype="float32").eval()
    tuned = PeftModel.from_pretrained(_expert(pair), str(chain / "adapter")).eval()
    assert not any("lora" in name for name in merged.state_dict())
    ids = torch.tensor([list(range(40, 80))])
    with torch.no_grad():
        torch.testing.assert_close(merged(ids).logits, tuned(ids).logits, atol=1e-4, rtol=1e-4)
        assert not torch.allclose(merged(ids).logits, _expert(pair)(ids).logits, atol=1e-3)
    assert AutoTokenizer.from_pretrained(chain / "merged").chat_template

    out = tmp_path / "eval"
    result = _cli(["run", "--model", str(chain / "merged"), "--tasks", "gsm8k", "--limit", "2",
                   "--max-tokens", "8", "--output-dir", str(out)])
    assert result.exit_code == 0, result.output
    task = json.loads((out / "results.json").read_text())["tasks"]["gsm8k"]
    assert task["problems"] == 2 and sum(task["status_counts"].values()) == 2


def test_steps_rerun_alone_with_their_recorded_inputs(chain, pair, tmp_path):
    again = _cli(["train", "lightr", "sample", "--output-dir", str(chain / "sampling"),
                  "--expert", str(pair[0]), "--amateur", str(pair[1]), "--limit", "10", *TINY])
    assert again.exit_code == 0, again.output
    assert "0 to sample" in again.output
    merged = _cli(["train", "lightr", "merge", "--adapter", str(chain / "adapter"),
                   "--output-dir", str(tmp_path / "merged"), "--dtype", "float32"])
    assert merged.exit_code == 0, merged.output
    assert (tmp_path / "merged" / "model.safetensors").read_bytes() == (
        chain / "merged" / "model.safetensors"
    ).read_bytes()
    missing = CliRunner().invoke(main, ["train", "lightr", "finetune", "--samples",
                                        str(tmp_path / "nowhere"), "--output-dir",
                                        str(tmp_path / "a")])
    assert missing.exit_code == 2 and "pass --expert" in missing.output


def test_checkpoints_of_other_settings_are_not_resumed(tmp_path):
    from evalkit.errors import EvalkitError
    from evalkit.training.lightr.finetune import (
        CHECKPOINT_SETTINGS,
        checkpoint_settings,
        resumable_checkpoint,
    )
    from evalkit.training.lightr.recipe import load_recipe

    samples = tmp_path / "samples.jsonl"
    samples.write_text('{"step": 1}\n')
    recipe = load_recipe(overrides=["train.max_steps=10"])
    settings = checkpoint_settings({"name": "expert"}, samples, recipe)
    checkpoints = tmp_path / "checkpoints"
    assert resumable_checkpoint(checkpoints, settings) is None  # nothing to resume
    (checkpoints / "checkpoint-5").mkdir(parents=True)
    (checkpoints / CHECKPOINT_SETTINGS).write_text(json.dumps(settings))
    assert resumable_checkpoint(checkpoints, settings) == str(checkpoints / "checkpoint-5")
    changed = checkpoint_settings(
        {"name": "expert"}, samples, load_recipe(overrides=["train.max_steps=20"]))
    with pytest.raises(EvalkitError, match=r"other settings \(train differ\); delete"):
        resumable_checkpoint(checkpoints, changed)
    samples.write_text('{"step": 2}\n')
    with pytest.raises(EvalkitError, match=r"samples_sha256 differ"):
        resumable_checkpoint(checkpoints, checkpoint_settings({"name": "expert"}, samples, recipe))
