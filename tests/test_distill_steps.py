"""The ReasonLite steps on constructed solutions: vote, filter, split, recipe and SFT settings."""

from __future__ import annotations

import pytest

from evalkit.errors import EvalkitError
from evalkit.grading import Grader
from evalkit.grading.grader import cache_key
from evalkit.records import Problem, SampleRecord
from evalkit.training.distill.filter import filter_solutions, filter_tally
from evalkit.training.distill.recipe import (
    FilterSettings,
    SplitSettings,
    StageSettings,
    VoteSettings,
    load_recipe,
)
from evalkit.training.distill.sft import accumulation_steps, sft_config, to_prompt_completion
from evalkit.training.distill.split import assistant_content, split_examples
from evalkit.training.distill.tally import Tally
from evalkit.training.distill.vote import DECISIONS, Ballot, make_ballots, run_votes

DEFAULTS = VoteSettings(workers=0)


def _problem(gold: str, pid: str = "p") -> Problem:
    return Problem(id=pid, question=f"question {pid}?", gold=gold)


def _record(pid: str, index: int, text: str, finish: str = "stop") -> SampleRecord:
    return SampleRecord(pid, index, index, text, num_tokens=10 + index, finish_reason=finish)


def _vote(gold: str, answers: list[str | None], settings: VoteSettings = DEFAULTS):
    with Grader(workers=0, timeout_s=10.0) as judge:
        [vote] = run_votes([Ballot(_problem(gold), "medium", answers)], settings, judge)
    return vote


def test_equivalent_forms_vote_together_and_replace_the_label():
    vote = _vote("3", ["1/2", "0.5", "\\frac{1}{2}", "1/2", "0.5", "1/2", "1/2", "0.5"])
    assert vote.decision == "replaced" and vote.label == "1/2" and vote.label_source == "vote"
    assert vote.winner_votes == 8 and vote.share == 1.0
    [group] = vote.groups
    assert group.answer == "1/2" and sorted(group.forms) == ["0.5", "1/2", "\\frac{1}{2}"]


def test_share_at_threshold_passes():
    vote = _vote("3", ["5"] * 9 + ["6"])
    assert vote.decision == "replaced" and vote.share == pytest.approx(0.9)
    assert vote.label == "5" and vote.gold == "3"


def test_winner_equal_to_dataset_label_confirms_it():
    vote = _vote("0.5", ["1/2"] * 5)
    assert vote.decision == "confirmed" and vote.label == "0.5" and vote.label_source == "dataset"


def test_below_share_keeps_the_dataset_label_unless_the_blog_threshold_is_used():
    answers = ["5", "5", "5", "5", "5", "5", "6", "6"]
    vote = _vote("7", answers)
    assert vote.decision == "below_share" and vote.label == "7" and vote.share == 0.75
    blog = VoteSettings(min_share=0.7, workers=0)
    assert _vote("7", answers, blog).decision == "replaced"


def test_too_few_votes_keeps_the_dataset_label():
    vote = _vote("7", ["5", "5", "5"])
    assert vote.decision == "too_few_votes" and vote.label == "7" and vote.share == 1.0


def test_tie_never_replaces_even_at_a_low_threshold():
    vote = _vote("7", ["5", "5", "6", "6"], VoteSettings(min_share=0.5, min_votes=1, workers=0))
    assert vote.decision == "tie" and vote.label == "7" and vote.label_source == "dataset"


def test_missing_answers_abstain_but_count_in_the_share():
    vote = _vote("7", ["5", "5", "5", "5", None])
    assert vote.winner_votes == 4 and vote.total == 5 and vote.share == 0.8
    assert vote.decision == "below_share"
    assert _vote("7", [None, None]).decision == "no_answers"


def test_groups_are_ordered_by_votes_then_first_appearance():
    low = VoteSettings(min_share=0.1, min_votes=1, workers=0)
    vote = _vote("7", ["9", "8", "8", "9", "1"], low)
    assert [(g.answer, g.votes) for g in vote.groups] == [("9", 2), ("8", 2), ("1", 1)]


def test_ballots_extract_answers_per_mode_or_pooled():
    problem = _problem("4")
    solutions = {
        "medium": [_record("p", 0, "so \\boxed{4}"), _record("p", 1, "The answer is 4.")],
        "high": [_record("p", 0, "<think>2+2</think> \\boxed{5}"), _record("p", 1, "hmm")],
    }
    per_mode = make_ballots([problem], solutions, pool_modes=False)
    assert [(b.mode, b.answers) for b in per_mode] == [
        ("medium", ["4", "4"]), ("high", ["5", None])
    ]
    [pooled] = make_ballots([problem], solutions, pool_modes=True)
    assert pooled.mode == "all" and pooled.answers == ["4", "4", "5", None]


def test_tally_counts_decisions_per_mode():
    with Grader(workers=0, timeout_s=10.0) as judge:
        votes = run_votes([
            Ballot(_problem("1", "a"), "medium", ["2"] * 4),
            Ballot(_problem("1", "b"), "medium", ["1"] * 4),
            Ballot(_problem("1", "a"), "high", [None]),
        ], DEFAULTS, judge)
    tally = Tally(DECISIONS, total="votes")
    for vote in votes:
        tally.add(vote.mode, vote.decision)
    counts = tally.to_json()
    assert counts["votes"] == 3 and counts["replaced"] == 1 and counts["confirmed"] == 1
    assert counts["per_mode"]["high"] == {"votes": 1, **dict.fromkeys(DECISIONS, 0),
                                          "no_answers": 1}


def test_votes_use_and_fill_the_grader_cache():
    cache: dict[str, str] = {}
    with Grader(workers=0, timeout_s=10.0, cache=cache) as judge:
        assert judge.same_answers([("1/2", "0.5"), ("2", "3"), ("x", "x")]) == [True, False, True]
        assert len(cache) == 2  # identical strings are the same without judging
        cache[cache_key("1/2", "0.5", "math")] = "wrong"  # a cached verdict is used, not rejudged
        assert judge.same_answers([("1/2", "0.5")]) == [False] and len(cache) == 2


def _fails_on_13(gold: str, answer: str) -> bool:
    if answer == "13":
        raise RuntimeError("judge broke")
    return gold == answer


def _filtered(drop_truncated: bool = True):
    problem = _problem("12")
    records = [
        _record("p", 0, "\\boxed{12}"),                     # kept
        _record("p", 1, "\\boxed{12} and more", "length"),  # truncated (answer agrees)
        _record("p", 2, "no idea at all"),                  # no answer
        _record("p", 3, "\\boxed{11}"),                     # disagrees
        _record("p", 4, "\\boxed{13}"),                     # judge fails
        _record("p", 5, "<think>so it is \\boxed{12}"),     # never closed: truncated
    ]
    votes = {("p", "medium"): _vote("12", ["12"])}
    settings = FilterSettings(drop_truncated=drop_truncated, workers=0)
    tally = filter_tally()
    with Grader(workers=0, judge=_fails_on_13) as grader:
        kept = filter_solutions([problem], {"medium": records}, votes, settings, grader, tally)
    return kept, tally.to_json()


def test_filter_counts_every_rule():
    kept, counts = _filtered()
    assert [row["sample_index"] for row in kept] == [0]
    assert kept[0]["label"] == "12" and kept[0]["answer"] == "12"
    assert {k: counts[k] for k in ("solutions", "truncated", "no_answer", "disagrees_with_label",
                                   "grading_failed", "kept")} == {
        "solutions": 6, "truncated": 2, "no_answer": 1, "disagrees_with_label": 1,
        "grading_failed": 1, "kept": 1,
    }
    assert counts["per_mode"]["medium"]["kept"] == 1


def test_filter_can_let_truncated_solutions_through():
    kept, counts = _filtered(drop_truncated=False)
    assert [row["sample_index"] for row in kept] == [0, 1]
    assert counts["truncated"] == 0 and counts["no_answer"] == 2  # the unclosed think has none


def test_filter_compares_with_the_replaced_label():
    problem = _problem("3")
    pooled = {("p", "all"): _vote("3", ["5"] * 4)}
    records = [_record("p", 0, "\\boxed{5}"), _record("p", 1, "\\boxed{3}")]
    tally = filter_tally()
    with Grader(workers=0) as grader:
        kept = filter_solutions([problem], {"high": records}, pooled,
                                FilterSettings(workers=0), grader, tally)
    assert [row["answer"] for row in kept] == ["5"] and kept[0]["label_source"] == "vote"
    assert tally.to_json()["per_mode"]["high"]["disagrees_with_label"] == 1


def test_assistant_content_keeps_reasoning_in_a_think_block():
    assert assistant_content("<think>\nwork\n</think>\n\\boxed{1}") == (
        "<think>\nwork\n</think>\n\n\\boxed{1}"
    )
    assert assistant_content("work</think>\n\nfinal") == "<think>\nwork\n</think>\n\nfinal"
    assert assistant_content(" plain \\boxed{2} ") == "plain \\boxed{2}"


def test_assistant_content_converts_gpt_oss_channels():
    raw = ("<|channel|>analysis<|message|>2+2 is 4.<|end|><|start|>assistant<|channel|>final"
           "<|message|>\\boxed{4}<|return|>")
    decoded = "analysis2+2 is 4.assistantfinal\\boxed{4}"
    for text in (raw, decoded):
        assert assistant_content(text) == "<think>\n2+2 is 4.\n</think>\n\n\\boxed{4}"
    assert assistant_content("analysis only, cut short") == "analysis only, cut short"


def _kept_row(pid: str, mode: str, tokens: int) -> dict:
    return {"problem_id": pid, "mode": mode, "num_tokens": tokens, "text": f"{mode} {pid}"}


def _split(rows: list[dict], settings: SplitSettings) -> tuple[dict[str, list], dict]:
    problems = [_problem("1", "a"), _problem("2", "b")]
    parts: dict[str, list] = {"short": [], "long": []}
    writers = {part: rows_.append for part, rows_ in parts.items()}
    return parts, split_examples(rows, problems, settings, "Box it.", writers)


def test_split_by_mode_and_by_length():
    rows = [_kept_row("a", "medium", 50), _kept_row("b", "high", 500), _kept_row("a", "low", 5)]
    parts, counts = _split(rows, SplitSettings())
    assert counts == {"short": 1, "long": 1, "short_tokens": 50, "long_tokens": 500, "unused": 1}
    user, assistant = parts["short"][0]["messages"]
    assert user == {"role": "user", "content": "question a?\nBox it."}
    assert assistant == {"role": "assistant", "content": "medium a"}
    parts, counts = _split(rows, SplitSettings(by="length", max_short_tokens=50))
    assert [r["num_tokens"] for r in parts["short"]] == [50, 5] and counts["long"] == 1


def test_messages_become_a_prompt_completion_pair():
    messages = [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}]
    assert to_prompt_completion({"messages": messages}) == {
        "prompt": messages[:1], "completion": messages[1:]
    }


def test_global_batch_sets_gradient_accumulation():
    stage = StageSettings(global_batch_size=256, args={"per_device_train_batch_size": 8})
    assert accumulation_steps("stage1", stage, processes=32) == 1
    assert accumulation_steps("stage1", stage, processes=4) == 8
    with pytest.raises(EvalkitError, match="not a multiple"):
        accumulation_steps("stage1", stage, processes=3)
    clash = StageSettings(256, {"gradient_accumulation_steps": 2})
    with pytest.raises(EvalkitError, match="derived from global_batch_size"):
        accumulation_steps("stage1", clash, processes=1)


def test_published_recipe_values_reach_trl(tmp_path):
    recipe = load_recipe("reasonlite", ["sft.stage1.args.use_cpu=true",
                                        "sft.stage2.args.use_cpu=true"])
    assert (recipe.teacher.n, recipe.teacher.max_tokens, recipe.teacher.temperature) == (
        32, 30000, 0.8
    )
    assert recipe.teacher.modes == ["medium", "high"]
    assert (recipe.vote.min_share, recipe.vote.min_votes) == (0.9, 4)
    assert recipe.sft.model == "Qwen/Qwen3-0.6B"
    for stage, batch in (("stage1", 256), ("stage2", 512)):
        settings = getattr(recipe.sft, stage)
        assert settings.global_batch_size == batch
        config = sft_config(stage, settings, tmp_path, recipe.sft.loss_on)
        assert config.learning_rate == 3e-4 and config.num_train_epochs == 8
        assert config.lr_scheduler_kwargs == {"min_lr_rate": 0.1} and config.warmup_steps == 0.03
        assert (config.max_length, config.packing, config.max_grad_norm) == (32768, False, 0.3)
        assert config.bf16 and config.activation_checkpointing and config.seed == 42
        # ReasonLite's open-r1 sft.py: `messages` data, loss on the full sequence
        assert recipe.sft.loss_on == "full_sequence"
        assert not config.completion_only_loss and not config.assistant_only_loss
        assert sft_config(stage, settings, tmp_path, "completion_only").completion_only_loss
        assert config.gradient_accumulation_steps == batch // (
            settings.args["per_device_train_batch_size"]
        )


def test_recipe_errors_name_the_key():
    with pytest.raises(EvalkitError, match="unknown key recipe.vote.min_shares"):
        load_recipe("reasonlite-tiny", ["vote.min_shares=0.7"])
    with pytest.raises(EvalkitError, match="unknown key teacher.engine_options.base"):
        load_recipe("reasonlite", ["teacher.engine_options.base=http://x/v1"])
    with pytest.raises(EvalkitError, match="not a teacher mode"):
        load_recipe("reasonlite-tiny", ["split.long_modes=[low]"])
    with pytest.raises(EvalkitError, match="output_dir is set by the pipeline"):
        load_recipe("reasonlite-tiny", ["sft.stage2.args.output_dir=x"])
    with pytest.raises(EvalkitError, match="recipe nope not found"):
        load_recipe("nope")
    with pytest.raises(EvalkitError, match="sft.stage1.args"):
        recipe = load_recipe("reasonlite-tiny", ["sft.stage1.args.no_such_arg=1"])
        sft_config("stage1", recipe.sft.stage1, recipe.work_dir)
