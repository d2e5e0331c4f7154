"""`evalkit run` (hf engine) against a plain transformers `generate` loop on the same work.

Usage: python benchmarks/peers.py [--pairs 3] [--limit 20] [--max-tokens 256] [--batch-size N]

The work: SmolLM2-135M-Instruct in float32 (the `smollm2-135m` safetensors folder in the evalkit
cache), the first --limit GSM8K test problems rendered with the model's chat template and the
boxed instruction (evalkit's default `--prompt boxed`), greedy, --max-tokens new tokens.

- plain loop: a fresh Python process that imports transformers, loads the model folder and runs
  `model.generate` over static left-padded batches of 8 prompts in task order (the script runs
  itself with --plain-loop for this).
- `evalkit run` first run: the CLI as a subprocess into a fresh output folder (start-up, model
  load, generation, grading, reports), with the engine's own batch size unless --batch-size.
- `evalkit run` rerun: the same command again on the same folder (nothing left to generate).

Each pair runs the plain loop and the first run back to back, alternating which goes first;
printed per pair are both wall times and their ratio, then the median ratio and the median
rerun time, how many completions are token-for-token identical, and `evalkit --help` time.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

PLAIN_BATCH = 8


def plain_loop(prompts_file: Path, out_file: Path) -> None:
    """The yardstick: what one writes with transformers alone (runs in its own process)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    job = json.loads(prompts_file.read_text())
    tokenizer = AutoTokenizer.from_pretrained(job["model"], padding_side="left")
    model = AutoModelForCausalLM.from_pretrained(job["model"], dtype=torch.float32).eval()
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token
    completions = []
    for start in range(0, len(job["prompts"]), PLAIN_BATCH):
        texts = job["prompts"][start : start + PLAIN_BATCH]
        batch = tokenizer(texts, return_tensors="pt", padding=True, add_special_tokens=False)
        with torch.inference_mode():
            output = model.generate(
                **batch, max_new_tokens=job["max_tokens"], do_sample=False,
                pad_token_id=tokenizer.pad_token_id,
            )
        completions += output[:, batch.input_ids.shape[1] :].tolist()
    out_file.write_text(json.dumps(completions))


def timed(command: list[str]) -> float:
    started = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - started


def evalkit_command() -> list[str]:
    script = Path(sys.executable).with_name("evalkit")
    return [str(script)] if script.exists() else [sys.executable, "-m", "evalkit"]


def prepare(limit: int, max_tokens: int, folder: Path) -> tuple[Path, list[str]]:
    """Render the prompts once, here, exactly as `evalkit run --prompt boxed` does."""
    from transformers import AutoTokenizer

    from evalkit.generation.models import resolve_model
    from evalkit.generation.prompts import Prompter, get_preset
    from evalkit.tasks import get_task

    model = resolve_model("smollm2-135m").path
    prompter = Prompter(get_preset("boxed"), AutoTokenizer.from_pretrained(model))
    problems = get_task("gsm8k").load(limit=limit)
    prompts = [prompter.render_problem(p) for p in problems]
    assert not any(p.add_special_tokens for p in prompts)
    job = folder / "plain.json"
    job.write_text(json.dumps({
        "model": model, "max_tokens": max_tokens, "prompts": [p.text for p in prompts],
    }))
    return job, [p.id for p in problems]


def stop_ids(model: str) -> set[int]:
    from transformers import AutoTokenizer, GenerationConfig

    ids = GenerationConfig.from_pretrained(model).eos_token_id
    ids = {ids} if isinstance(ids, int) else set(ids or [])
    return ids | {AutoTokenizer.from_pretrained(model).eos_token_id} - {None}


def identical(plain_file: Path, run_dir: Path, ids: list[str], model: str) -> int:
    """How many problems got the same generated ids (up to the stop token) from both."""
    stops = stop_ids(model)
    plain = {}
    for problem, tokens in zip(ids, json.loads(plain_file.read_text()), strict=True):
        stop = next((i for i, t in enumerate(tokens) if t in stops), len(tokens))
        plain[problem] = tokens[:stop]
    results = json.loads((run_dir / "results.json").read_text())
    samples = run_dir / results["tasks"]["gsm8k"]["samples_file"]
    stored = {}
    for line in samples.read_text().splitlines():
        row = json.loads(line)
        stored[row["problem_id"]] = row["token_ids"]
    return sum(plain[p] == stored.get(p) for p in ids)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pairs", type=int, default=3)
    parser.add_argument("--limit", type=int, default=20)
    parser.add_argument("--max-tokens", type=int, default=256)
    parser.add_argument("--batch-size", type=int, default=None,
                        help="evalkit's --batch-size (default: the engine chooses)")
    parser.add_argument("--plain-loop", nargs=2, type=Path, metavar=("JOB", "OUT"),
                        help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.plain_loop:
        plain_loop(*args.plain_loop)
        return
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
    evalkit = evalkit_command()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        job, ids = prepare(args.limit, args.max_tokens, folder)
        model = json.loads(job.read_text())["model"]
        plain = [sys.executable, __file__, "--plain-loop", str(job), str(folder / "plain.out")]
        run = [*evalkit, "run", "--model", "smollm2-135m", "--tasks", "gsm8k",
               "--limit", str(args.limit), "--max-tokens", str(args.max_tokens),
               "--engine", "hf", "--dtype", "float32", "--output-dir", str(folder / "run")]
        if args.batch_size:
            run += ["--batch-size", str(args.batch_size)]
        print(f"work: {args.limit} GSM8K problems, SmolLM2-135M-Instruct float32, greedy, "
              f"{args.max_tokens} new tokens; plain loop: static batches of {PLAIN_BATCH}; "
              f"evalkit: batch size {args.batch_size or 'auto'}; {os.cpu_count()} CPUs")
        print(f"{'pair':>4} {'order':>14} {'plain s':>8} {'evalkit s':>10} {'ratio':>6} "
              f"{'rerun s':>8} {'same ids':>9}")
        ratios, reruns = [], []
        for pair in range(args.pairs):
            shutil.rmtree(folder / "run", ignore_errors=True)
            if pair % 2 == 0:
                plain_s, first_s, order = timed(plain), timed(run), "plain,evalkit"
            else:
                first_s, plain_s, order = timed(run), timed(plain), "evalkit,plain"
            rerun_s = timed(run)
            same = identical(folder / "plain.out", folder / "run", ids, model)
            ratios.append(first_s / plain_s)
            reruns.append(rerun_s)
            print(f"{pair + 1:>4} {order:>14} {plain_s:>8.1f} {first_s:>10.1f} "
                  f"{ratios[-1]:>6.3f} {rerun_s:>8.2f} {same:>5}/{len(ids)}")
        print(f"median ratio evalkit/plain: {statistics.median(ratios):.3f} "
              f"(min {min(ratios):.3f}, max {max(ratios):.3f}, {args.pairs} pairs)")
        print(f"median rerun (nothing to generate): {statistics.median(reruns):.2f} s")
    helps = [timed([*evalkit, "--help"]) for _ in range(3)]
    print(f"evalkit --help: median {statistics.median(helps):.2f} s of 3")


if __name__ == "__main__":
    main()
