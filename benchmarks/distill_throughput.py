"""Throughput of the ReasonLite distillation steps generate, vote and filter on 1000 synthetic
solutions.

Usage: python benchmarks/distill_throughput.py [--problems 50] [--n 10] [--workers 1]

The teacher is a scripted engine (evalkit's Engine protocol, answers from a fixed random
script), so the generate figure is the harness side only: prompt rendering through a chat
template, request building, and fsync'd appends to the sample store; a real teacher's decoding
time comes on top. Vote and filter run for real: answer extraction, math-verify equivalence
and grading in the grader's worker processes, on a cold cache (a fresh work dir); their times
include starting the workers. The script mixes equal answers written differently ("1/2",
"0.5", "\\frac{1}{2}"), wrong answers, solutions without an answer, truncated ones, and
problems whose dataset label is wrong (so the vote replaces it).
"""

from __future__ import annotations

import argparse
import json
import random
import tempfile
import time
from pathlib import Path

from evalkit.records import Completion
from evalkit.training.distill.pipeline import Pipeline
from evalkit.training.distill.recipe import load_recipe

MODES = ("medium", "high")
GOLD_FORMS = {"1/2": ["1/2", "0.5", "\\frac{1}{2}"], "12": ["12", "12.0", "\\frac{24}{2}"]}


class ChatTemplateTokenizer:
    """A stand-in tokenizer: renders messages like a ChatML template."""

    chat_template = "chatml"

    def apply_chat_template(self, messages, add_generation_prompt, tokenize, **kwargs):
        turns = "".join(f"<|im_start|>{m['role']}\n{m['content']}<|im_end|>\n" for m in messages)
        return turns + "<|im_start|>assistant\n"


class ScriptedEngine:
    """Returns a pre-drawn solution per (problem, sample); batches of 64 like a real engine."""

    name = "scripted"

    def __init__(self, script: dict[tuple[str, int], tuple[str, str]]) -> None:
        self.tokenizer = ChatTemplateTokenizer()
        self.script = script

    def info(self) -> dict:
        return {"name": self.name}

    def generate(self, requests, sampling, on_batch) -> None:
        for start in range(0, len(requests), 64):
            batch = requests[start : start + 64]
            on_batch([
                (r, Completion(*self._completion(r.problem_id, r.sample_index))) for r in batch
            ])

    def _completion(self, problem_id: str, index: int) -> tuple[str, int, str]:
        text, finish = self.script[(problem_id, index)]
        return text, len(text.split()), finish


def synthetic_script(problems: int, n: int, seed: int) -> tuple[list[str], dict]:
    """Gold answers and, per (problem, sample), a solution text and finish reason."""
    rng = random.Random(seed)
    truths = [rng.choice(list(GOLD_FORMS)) for _ in range(problems)]
    golds = [truth if rng.random() < 0.9 else "7" for truth in truths]  # 10% mislabelled
    script = {}
    for pid, truth in enumerate(truths):
        for index in range(n):
            roll = rng.random()
            if roll < 0.9:
                answer = rng.choice(GOLD_FORMS[truth])
            elif roll < 0.95:
                answer = str(rng.randint(2, 99))
            else:
                answer = None
            reasoning = " ".join(f"step {k}: {rng.randint(1, 9)} + {rng.randint(1, 9)}"
                                 for k in range(20))
            final = f"The answer is \\boxed{{{answer}}}." if answer else "I am not sure."
            truncated = rng.random() < 0.05
            text = f"<think>\n{reasoning}\n</think>\n\n{final}"
            script[(str(pid), index)] = (text[: len(text) // 2], "length") if truncated else (
                text, "stop"
            )
    return golds, script


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--problems", type=int, default=50)
    parser.add_argument("--n", type=int, default=10, help="samples per problem and mode")
    parser.add_argument("--workers", type=int, default=1, help="grader worker processes")
    args = parser.parse_args()
    golds, script = synthetic_script(args.problems, args.n, seed=0)
    total = args.problems * args.n * len(MODES)
    with tempfile.TemporaryDirectory() as tmp:
        problems = Path(tmp) / "problems.jsonl"
        problems.write_text("".join(
            json.dumps({"question": f"Synthetic problem {i}?", "answer": gold}) + "\n"
            for i, gold in enumerate(golds)
        ))
        recipe = load_recipe("reasonlite-tiny", [
            f"work_dir={Path(tmp) / 'work'}", f"problems.task={problems}", "problems.limit=null",
            f"teacher.n={args.n}", f"vote.workers={args.workers}",
            f"filter.workers={args.workers}",
        ])
        engine = ScriptedEngine(script)
        pipeline = Pipeline(recipe, make_engine=lambda teacher: engine)
        print(f"{total} synthetic solutions: {args.problems} problems x {len(MODES)} modes x "
              f"{args.n} samples; grader workers: {args.workers}")
        for step in ("generate", "vote", "filter"):
            started = time.perf_counter()
            counts = pipeline.step(step).counts
            elapsed = time.perf_counter() - started
            print(f"  {step:8s} {elapsed:7.2f} s  {total / elapsed:9.1f} solutions/s  "
                  f"{_summary(step, counts)}")


def _summary(step: str, counts: dict) -> str:
    if step == "generate":
        return "(scripted teacher: harness side only)"
    if step == "vote":
        return f"(replaced {counts['replaced']}, confirmed {counts['confirmed']} of " \
               f"{counts['votes']} votes)"
    return (f"(kept {counts['kept']}; truncated {counts['truncated']}, no answer "
            f"{counts['no_answer']}, disagree {counts['disagrees_with_label']})")


if __name__ == "__main__":
    main()
