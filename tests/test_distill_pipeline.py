"""The distillation chain generate -> vote -> filter -> split with a scripted teacher engine.

The engine implements evalkit's Engine protocol and answers from a script, so every count the
steps report is known in advance; the real tiny models run the chain in test_distill_e2e.py.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from evalkit.errors import EvalkitError
from evalkit.records import Completion
from evalkit.training.distill.pipeline import Pipeline
from evalkit.training.distill.recipe import load_recipe
from evalkit.training.distill.teacher import teacher_prompt
from evalkit.training.distill.workdir import read_jsonl

STOP, LENGTH = "stop", "length"


def _boxed(answer: str) -> tuple[str, str]:
    return f"Work it out. \\boxed{{{answer}}}", STOP


# (gold, {mode: eight scripted solutions}); the comments give the expected vote and filter.
SCRIPT = {
    "72": {
        "medium": [_boxed("72")] * 8,  # confirmed; 8 kept
        "high": [("<think>\n9*8=72</think>\nThe answer is \\boxed{72}", STOP)] * 8,  # confirmed
    },
    "6": {
        "medium": [_boxed("5")] * 8,  # replaced by 5; 8 kept
        "high": [_boxed("5")] * 7 + [_boxed("6")],  # below share (7/8); 1 kept, 7 disagree
    },
    "3": {
        "medium": [_boxed("1/2")] * 4 + [_boxed("0.5")] * 4,  # one group: replaced; 8 kept
        "high": [_boxed("2")] * 4 + [_boxed("4")] * 4,  # tie; 8 disagree
    },
    "10": {
        "medium": [_boxed("10")] * 7 + [("Count: 1, 2, 3", LENGTH)],  # below share; 1 truncated
        "high": [("I do not know.", STOP)] * 6 + [_boxed("10")] * 2,  # below share; 6 no answer
    },
    "1": {
        "medium": [("No idea.", STOP)] * 8,  # no answers; 8 no answer
        "high": [_boxed("1")] * 8,  # confirmed; 8 kept
    },
}
GOLDS = list(SCRIPT)


class ChatTokenizer:
    """Just enough of a tokenizer for teacher prompts: a chat template without modes."""

    chat_template = "{% for m in messages %}<{{ m.role }}>{{ m.content }}{% endfor %}"

    def apply_chat_template(self, messages, add_generation_prompt, tokenize, **kwargs):
        assert not tokenize and add_generation_prompt and not kwargs
        return "".join(f"<{m['role']}>{m['content']}" for m in messages) + "<assistant>"


class ScriptedEngine:
    """An evalkit Engine whose solutions come from SCRIPT, by problem, mode and sample index."""

    name = "scripted"

    def __init__(self) -> None:
        self.tokenizer = ChatTokenizer()
        self.requests: list = []

    def info(self) -> dict:
        return {"name": self.name}

    def generate(self, requests, sampling, on_batch) -> None:
        self.requests += requests
        for start in range(0, len(requests), 16):
            batch = requests[start : start + 16]
            done = []
            for request in batch:
                mode = re.search(r"Reasoning: (\w+)", request.prompt.text)[1]
                text, finish = SCRIPT[GOLDS[int(request.problem_id)]][mode][request.sample_index]
                done.append((request, Completion(text, len(text.split()), finish)))
            on_batch(done)


@pytest.fixture
def problems_file(tmp_path: Path) -> Path:
    path = tmp_path / "problems.jsonl"
    path.write_text("".join(
        json.dumps({"question": f"Problem {i}: what is it?", "answer": gold}) + "\n"
        for i, gold in enumerate(GOLDS)
    ))
    return path


def _pipeline(tmp_path: Path, problems_file: Path, engine: ScriptedEngine, *overrides: str):
    recipe = load_recipe("reasonlite-tiny", [
        f"work_dir={tmp_path / 'work'}", f"problems.task={problems_file}", "problems.limit=null",
        "teacher.n=8", "vote.workers=0", "filter.workers=0", *overrides,
    ])
    return Pipeline(recipe, make_engine=lambda teacher: engine)


@pytest.mark.parametrize("shard_size", [1024, 2])
def test_chain_counts_match_the_script(tmp_path, problems_file, shard_size):
    engine = ScriptedEngine()
    pipeline = _pipeline(tmp_path, problems_file, engine, f"teacher.shard_size={shard_size}")
    results = {step: pipeline.step(step) for step in ("generate", "vote", "filter", "split")}

    generate = results["generate"].counts
    assert generate["problems"] == 5
    assert generate["per_mode"]["medium"] == {
        "solutions": 40, "finished": 39, "truncated": 1,
        "tokens": sum(len(t.split()) for gold in GOLDS for t, _ in SCRIPT[gold]["medium"]),
    }
    first = engine.requests[0]
    assert first.seed == first.sample_index  # ReasonLite: seed = sample index
    assert "<system>Reasoning: medium<user>Problem 0: what is it?\nPlease reason" in (
        first.prompt.text
    )

    vote = results["vote"].counts
    assert {d: vote[d] for d in ("confirmed", "replaced", "tie", "below_share", "no_answers")} == {
        "confirmed": 3, "replaced": 2, "tie": 1, "below_share": 3, "no_answers": 1
    }
    votes = {(v["problem_id"], v["mode"]): v for v in read_jsonl(pipeline.work.votes)}
    assert votes[("2", "medium")]["label"] == "1/2"
    assert votes[("2", "medium")]["groups"][0]["forms"] == ["1/2", "0.5"]
    assert votes[("1", "medium")]["label"] == "5" and votes[("1", "high")]["label"] == "6"

    filtered = results["filter"].counts
    assert {r: filtered[r] for r in ("solutions", "truncated", "no_answer",
                                     "disagrees_with_label", "grading_failed", "kept")} == {
        "solutions": 80, "truncated": 1, "no_answer": 14, "disagrees_with_label": 15,
        "grading_failed": 0, "kept": 50,
    }
    assert filtered["per_mode"]["medium"]["kept"] == 31
    shard_files = sorted(p.name for p in pipeline.work.solutions_dir("high").glob("*.jsonl"))
    assert len(shard_files) == -(-5 // shard_size)

    split = results["split"].counts
    assert (split["short"], split["long"], split["unused"]) == (31, 19, 0)
    short = list(read_jsonl(pipeline.work.split_file("short")))
    assert {row["mode"] for row in short} == {"medium"}
    long_rows = list(read_jsonl(pipeline.work.split_file("long")))
    assert long_rows[0]["messages"][1]["content"] == (
        "<think>\n9*8=72\n</think>\n\nThe answer is \\boxed{72}"
    )


def test_complete_steps_are_skipped_and_changed_settings_rerun_downstream(tmp_path, problems_file):
    engine = ScriptedEngine()
    pipeline = _pipeline(tmp_path, problems_file, engine)
    for step in ("generate", "vote", "filter"):
        assert not pipeline.step(step).skipped
    asked = len(engine.requests)
    again = _pipeline(tmp_path, problems_file, engine)
    assert all(again.step(step).skipped for step in ("generate", "vote", "filter"))
    assert len(engine.requests) == asked

    blog = _pipeline(tmp_path, problems_file, engine, "vote.min_share=0.7")
    assert blog.step("generate").skipped
    vote = blog.step("vote")
    assert not vote.skipped and vote.counts["replaced"] == 3 and vote.counts["confirmed"] == 4
    filtered = blog.step("filter")
    assert not filtered.skipped and filtered.counts["kept"] == 56
    assert len(engine.requests) == asked


def test_generate_resumes_and_extends(tmp_path, problems_file):
    engine = ScriptedEngine()
    _pipeline(tmp_path, problems_file, engine, "teacher.n=4").step("generate")
    assert len(engine.requests) == 5 * 2 * 4
    result = _pipeline(tmp_path, problems_file, engine).step("generate")
    assert len(engine.requests) == 5 * 2 * 8
    assert {r.sample_index for r in engine.requests[40:]} == {4, 5, 6, 7}
    assert result.counts["per_mode"]["high"]["solutions"] == 40


def test_other_teacher_settings_do_not_mix_with_stored_solutions(tmp_path, problems_file):
    engine = ScriptedEngine()
    _pipeline(tmp_path, problems_file, engine).step("generate")
    with pytest.raises(EvalkitError, match="other teacher settings"):
        _pipeline(tmp_path, problems_file, engine, "teacher.temperature=0.6").step("generate")


def test_a_step_needs_its_upstream_step(tmp_path, problems_file):
    with pytest.raises(EvalkitError, match="step generate has not run"):
        _pipeline(tmp_path, problems_file, ScriptedEngine()).step("vote")


def test_a_stage_never_trains_over_a_model_of_other_settings(tmp_path, problems_file):
    pipeline = _pipeline(tmp_path, problems_file, ScriptedEngine())
    for step in ("generate", "vote", "filter", "split"):
        pipeline.step(step)
    stage1 = pipeline.work.stage_dir("stage1")
    stage1.mkdir()
    (stage1 / "model.safetensors").write_text("weights of another run")
    with pytest.raises(EvalkitError, match="trained with other settings: move it aside"):
        pipeline.step("stage1")


def test_teacher_prompt_passes_the_mode_to_templates_that_take_it():
    class EffortTokenizer(ChatTokenizer):
        chat_template = "Reasoning: {{ reasoning_effort }} {{ messages }}"

        def apply_chat_template(self, messages, add_generation_prompt, tokenize, **kwargs):
            return f"effort={kwargs['reasoning_effort']} roles={[m['role'] for m in messages]}"

    prompt = teacher_prompt(EffortTokenizer(), "1+1?", "high", "Box it.")
    assert prompt.text == "effort=high roles=['user']" and not prompt.add_special_tokens
    plain = teacher_prompt(ChatTokenizer(), "1+1?", "high", "Box it.")
    assert plain.text == "<system>Reasoning: high<user>1+1?\nBox it.<assistant>"
