"""LightReasoner sampling on two tiny models of one tokenizer and 10 GSM8K train questions."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from test_lightr_models import REPO

from evalkit.errors import EvalkitError
from evalkit.training.lightr.recipe import load_recipe
from evalkit.training.lightr.sampler import lightr_preset, run_sampling, scoring_input

pytestmark = pytest.mark.usefixtures("one_torch_thread")

QUESTIONS = 10
# With the pair's weights the per-step KL spreads over ~1-4; 2.5 keeps about a third of the
# steps, so both sides of the filter are exercised (the published 0.4 would keep them all).
BETA = 2.5
# first_step 0: every step is compared with the reference (the published sampler starts at 1,
# the recipe's default, tested below).
SETTINGS = [f"limit={QUESTIONS}", "sampling.max_new_tokens=16", "sampling.batch_size=4",
            "sampling.dtype=float32", f"sampling.beta={BETA}", "sampling.first_step=0"]


def _lines(path: Path) -> list[dict]:
    return [json.loads(line) for line in path.read_text().splitlines()]


@pytest.fixture(scope="module")
def sampled(pair, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("lightr-sample")
    run_sampling(load_recipe(overrides=SETTINGS), str(pair[0]), str(pair[1]), out)
    return out


@pytest.fixture(scope="module")
def models(pair):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    expert = AutoModelForCausalLM.from_pretrained(pair[0], dtype="float32").eval()
    amateur = AutoModelForCausalLM.from_pretrained(pair[1], dtype="float32").eval()
    return expert, amateur, AutoTokenizer.from_pretrained(pair[0])


def _rollouts(sampled: Path, tokenizer) -> dict:
    """question id -> ScoringInput, rebuilt from the stored rollouts."""
    from evalkit.generation.prompts import Prompter
    from evalkit.runfolder.store import SampleStore
    from evalkit.tasks import get_task

    recipe = load_recipe(overrides=SETTINGS)
    prompter = Prompter(lightr_preset(recipe.sampling.system_prompt), tokenizer)
    store = SampleStore(sampled / "rollouts.jsonl")
    problems = get_task("gsm8k", split="train").load(limit=QUESTIONS)
    return {p.id: scoring_input(tokenizer, prompter.render(p.question), store.get(p.id, 0))
            for p in problems}


@pytest.fixture(scope="module")
def reference(sampled, models) -> dict:
    """The naive per-step contrast of every stored rollout."""
    from evalkit.training.lightr.reference import reference_contrast

    expert, amateur, tokenizer = models
    vocab = len(tokenizer)
    return {qid: reference_contrast(expert, amateur, seq, vocab, 0.2, BETA)
            for qid, seq in _rollouts(sampled, tokenizer).items()}


def test_one_pass_kl_equals_per_step_reference_on_every_step(sampled, models):
    from evalkit.training.lightr.reference import reference_contrast
    from evalkit.training.lightr.scoring import ContrastScorer, ScoringInput

    expert, amateur, tokenizer = models
    seqs = list(_rollouts(sampled, tokenizer).values())
    # Also rollouts that end in a stop token (one more step) and of uneven lengths (padding).
    seqs += [ScoringInput(s.prompt_ids, s.completion_ids[: 3 + i], stopped=True)
             for i, s in enumerate(seqs)]
    vocab = len(tokenizer)
    scored = ContrastScorer(expert, amateur, vocab, 0.2, BETA).score(seqs)
    compared = 0
    for seq, fast in zip(seqs, scored, strict=True):
        slow = reference_contrast(expert, amateur, seq, vocab, 0.2, BETA)
        assert len(fast.kl) == len(slow.kl) == seq.num_steps
        assert fast.kl == pytest.approx(slow.kl, abs=1e-5)
        assert [s.step for s in fast.kept] == [s.step for s in slow.kept]
        for f, s in zip(fast.kept, slow.kept, strict=True):
            assert f.token_ids == s.token_ids
            assert f.weights == pytest.approx(s.weights, abs=1e-5)
        compared += seq.num_steps
    assert compared == sum(len(s.completion_ids) for s in seqs) + QUESTIONS


def test_sampler_keeps_exactly_the_steps_over_beta_with_their_prefixes(sampled, reference, models):
    rollouts = _rollouts(sampled, models[2])
    records = _lines(sampled / "samples.jsonl")
    expected = {(qid, s.step) for qid, c in reference.items() for s in c.kept}
    all_steps = sum(len(c.kl) for c in reference.values())
    assert 0 < len(expected) < all_steps  # the filter both keeps and drops steps
    assert {(r["question_id"], r["step"]) for r in records} == expected
    slow = {(qid, s.step): s for qid, c in reference.items() for s in c.kept}
    for r in records:
        ref = slow[(r["question_id"], r["step"])]
        seq = rollouts[r["question_id"]]
        assert r["prefix_ids"] == seq.prompt_ids + seq.completion_ids[: r["step"]]
        assert r["kl"] == pytest.approx(ref.kl, abs=1e-5) and r["kl"] >= BETA
        assert r["token_ids"] == ref.token_ids
        assert r["weights"] == pytest.approx(ref.weights, abs=1e-5)
    meta = json.loads((sampled / "sampling.json").read_text())
    assert meta["totals"] == {"questions": QUESTIONS, "steps": all_steps, "kept": len(records)}
    assert meta["vocab"]["compared_ids"] == len(models[2]) < meta["vocab"]["amateur_logits"]


def test_by_default_completion_token_0_is_never_a_step(sampled, reference, pair, tmp_path):
    """LightR_sampling.py scores `range(1, len(expert_targets))` (sampling.first_step: 1)."""
    run = tmp_path / "run"
    run.mkdir()
    (run / "rollouts.jsonl").write_text((sampled / "rollouts.jsonl").read_text())  # no generation
    settings = [s for s in SETTINGS if not s.startswith("sampling.first_step")]
    meta = run_sampling(load_recipe(overrides=settings), str(pair[0]), str(pair[1]), run)
    kept = {(qid, s.step) for qid, c in reference.items() for s in c.kept}
    assert any(step == 0 for _, step in kept)  # the reference keeps some step 0
    records = _lines(run / "samples.jsonl")
    assert {(r["question_id"], r["step"]) for r in records} == {k for k in kept if k[1] >= 1}
    assert meta["totals"]["steps"] == sum(len(c.kl) for c in reference.values()) - QUESTIONS
    assert meta["rollout"]["source"] == "expert generation_config.json: greedy"


def test_soft_labels_sum_to_one_on_their_support(sampled):
    records = _lines(sampled / "samples.jsonl")
    assert records
    for r in records:
        assert len(r["token_ids"]) == len(set(r["token_ids"])) == len(r["weights"]) >= 1
        assert all(w > 0 for w in r["weights"])
        assert sum(r["weights"]) == pytest.approx(1.0, abs=1e-5)
    assert any(len(r["token_ids"]) > 1 for r in records)


def test_resumes_after_a_kill_without_regenerating(sampled, pair, tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    for name in ("sampling.json", "rollouts.jsonl"):
        (run / name).write_text((sampled / name).read_text())
    progress = (sampled / "progress.jsonl").read_text().splitlines(keepends=True)
    (run / "progress.jsonl").write_text("".join(progress[:2]) + '{"question_id": "2", "st')
    samples = (sampled / "samples.jsonl").read_text().splitlines(keepends=True)
    done = {json.loads(line)["question_id"] for line in progress[:2]}
    unfinished = [line for line in samples if json.loads(line)["question_id"] not in done]
    finished = [line for line in samples if json.loads(line)["question_id"] in done]
    (run / "samples.jsonl").write_text("".join(finished + unfinished[:1]) + unfinished[1][:40])
    rollouts_before = (run / "rollouts.jsonl").read_text()

    meta = run_sampling(load_recipe(overrides=SETTINGS), str(pair[0]), str(pair[1]), run)

    assert meta["totals"]["questions"] == QUESTIONS
    assert (run / "rollouts.jsonl").read_text() == rollouts_before
    resumed, original = _lines(run / "samples.jsonl"), _lines(sampled / "samples.jsonl")
    assert [(r["question_id"], r["step"]) for r in resumed] == [
        (r["question_id"], r["step"]) for r in original
    ]
    for a, b in zip(resumed, original, strict=True):
        assert a["weights"] == pytest.approx(b["weights"], abs=1e-5)
    assert len(_lines(run / "progress.jsonl")) == QUESTIONS


def test_a_finished_folder_reruns_without_loading_models(sampled, pair, capsys):
    from rich.console import Console

    before = (sampled / "samples.jsonl").read_text()
    meta = run_sampling(load_recipe(overrides=SETTINGS), str(pair[0]), str(pair[1]), sampled,
                        console=Console(file=None, stderr=False))
    assert meta["totals"]["questions"] == QUESTIONS
    assert "0 to sample" in capsys.readouterr().out
    assert (sampled / "samples.jsonl").read_text() == before


def test_other_settings_in_the_same_folder_are_refused(sampled, pair):
    recipe = load_recipe(overrides=[*SETTINGS, "sampling.alpha=0.3"])
    with pytest.raises(EvalkitError, match="other models or settings"):
        run_sampling(recipe, str(pair[0]), str(pair[1]), sampled)


def test_tokenizer_mismatch_is_refused_and_logit_rows_checked(pair, tmp_path):
    from tiny_model import build_tiny_qwen3
    from transformers import AutoTokenizer

    from evalkit.training.lightr.vocab import shared_vocab_size

    expert_tok = AutoTokenizer.from_pretrained(pair[0])
    other = build_tiny_qwen3(tmp_path / "other", REPO / "tasks" / "data", vocab_size=320)
    with pytest.raises(EvalkitError, match="tokenizers differ"):
        shared_vocab_size(expert_tok, AutoTokenizer.from_pretrained(other), 384, 320)
    amateur_tok = AutoTokenizer.from_pretrained(pair[1])
    size = len(expert_tok)
    assert shared_vocab_size(expert_tok, amateur_tok, size, size + 16) == size
    with pytest.raises(EvalkitError, match="amateur model has"):
        shared_vocab_size(expert_tok, amateur_tok, size, size - 1)
