"""Model profiles (issue 17): `evalkit run --model X` uses X's published evaluation, says so,
records it, and puts the published figures next to the reproduced ones with a verdict."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from evalkit.cli import main
from evalkit.errors import EvalkitError
from evalkit.reports.published import PublishedFigure
from evalkit.run.plan import make_plan
from evalkit.run.profiles import load_profiles, parse_profiles
from evalkit.run.settings import Layer


def _plan(**values):
    return make_plan([Layer("command line", values)])


def test_the_final_model_and_turbo_get_their_own_published_settings():
    final = _plan(model="amd/ReasonLite-0.6B").settings
    turbo = _plan(model="amd/ReasonLite-0.6B-Turbo").settings
    assert (final.temperature, final.top_p, final.max_tokens) == (1.0, 0.98, 65536)
    assert (turbo.temperature, turbo.top_p, turbo.max_tokens) == (0.6, 0.95, 32768)
    for s in (final, turbo):
        assert (s.tasks, s.n, s.k, s.prompt) == (("aime24", "aime25", "amc23"), 16, (1, 8),
                                                 "bare")
    lightr = _plan(model="Qwen/Qwen2.5-Math-1.5B").settings
    assert (lightr.chat_template, lightr.extraction, lightr.max_tokens) == (
        "chatml", "qwen25-math", 2048)
    assert set(lightr.stop) == {"</s>", "<|im_end|>", "<|endoftext|>"}


def test_flags_win_over_the_profile_and_none_turns_it_off():
    plan = _plan(model="amd/ReasonLite-0.6B", n=4, k="1,2", max_tokens=1024)
    assert (plan.settings.n, plan.settings.max_tokens, plan.settings.temperature) == (4, 1024, 1.0)
    assert plan.sources["n"] == "command line"
    assert "overridden here: n, k, max_tokens" in plan.profile_line()
    off = _plan(model="amd/ReasonLite-0.6B", profile="none")
    assert off.profile is None and off.settings.n == 1 and off.temperature == 0.0
    assert _plan(model="./some/local/folder").profile is None  # no profile: evalkit's defaults
    borrowed = _plan(model="./my-finetune", profile="amd/ReasonLite-0.6B")
    assert borrowed.settings.max_tokens == 65536
    with pytest.raises(EvalkitError, match="no profile"):
        _plan(profile="org/unknown")


def test_dry_run_prints_the_published_settings_with_sources_and_generates_nothing(tmp_path):
    result = CliRunner().invoke(main, ["run", "--model", "amd/ReasonLite-0.6B", "--dry-run",
                                       "--output-dir", str(tmp_path / "out")])
    assert result.exit_code == 0, result.output
    out = " ".join(result.output.split())
    assert "using the published evaluation of amd/ReasonLite-0.6B" in out
    assert "temperature 1 (AMD-AGI/ReasonLite@c44cb21:eval/config/eval.yaml#L22)" in out
    assert "max tokens 65536" in out and "--profile none for evalkit's defaults" in out
    # as upstream's vLLM, samples end at the model's context rather than refuse the prompts
    assert "context-limit: cap (AMD-AGI/ReasonLite@c44cb21:eval/eval.py#L523-L533" in out
    assert not (tmp_path / "out").exists()
    turbo = CliRunner().invoke(main, ["run", "--model", "amd/ReasonLite-0.6B-Turbo",
                                      "--dry-run"])
    assert "temperature 0.6" in " ".join(turbo.output.split())


def test_every_bundled_profile_value_has_a_checked_source():
    for profile in load_profiles().values():
        assert profile.settings, profile.model
        assert all(item.source for item in profile.settings.values())
    bad = [{"model": "x/y", "settings": {"n": {"value": 4, "source": "the evalkit tracker"}}}]
    with pytest.raises(EvalkitError, match="not a file at a commit"):
        parse_profiles(bad)
    unknown = [{"model": "x/y", "settings": {"nn": {"value": 4, "source":
                                                    "arXiv:2510.07962 §4"}}}]
    with pytest.raises(EvalkitError, match="unknown setting"):
        parse_profiles(unknown)


@pytest.mark.parametrize("ci, published, expected", [
    ((0.50, 0.64), 57.1, "consistent with the published 57.1 (inside the 95% interval)"),
    ((0.40, 0.56), 57.1, "9.1 pts below the published 57.1, outside the interval"),
    ((0.60, 0.70), 57.1, "7.9 pts above the published 57.1, outside the interval"),
])
def test_verdict_words(ci, published, expected):
    figure = PublishedFigure("aime24", "avg@16", published, sum(ci) / 2, ci)
    assert figure.verdict() == expected


def test_a_profiled_run_shows_published_next_to_reproduced(tiny_model: Path, tmp_path: Path):
    out = tmp_path / "run"
    args = ["run", "--model", str(tiny_model), "--profile", "amd/ReasonLite-0.6B", "--tasks",
            "aime24", "--limit", "2", "--max-tokens", "4", "--output-dir", str(out)]
    result = CliRunner().invoke(main, args, catch_exceptions=False)
    assert result.exit_code == 0, result.output
    assert "using the published evaluation of amd/ReasonLite-0.6B" in result.stderr
    results = json.loads((out / "results.json").read_text())
    assert results["plan"]["profile"]["model"] == "amd/ReasonLite-0.6B"
    assert results["plan"]["sources"]["n"] == "profile amd/ReasonLite-0.6B"
    assert results["sampling"]["n"] == 16 and results["sampling"]["temperature"] == 1.0
    published = results["published"]
    assert (published["board"], published["row"]) == ("reasonlite", "ReasonLite-0.6B")
    figures = {(f["task"], f["metric"]): f for f in published["figures"]}
    assert figures["aime24", "avg@16"]["published"] == 75.2
    assert "below the published 75.2" in figures["aime24", "avg@16"]["verdict"]
    assert "below the published 75.2" in result.output  # the table
    assert "below the published 75.2" in (out / "results.md").read_text()
    board = CliRunner().invoke(main, ["leaderboard", "--run", str(out), "--format", "markdown"])
    assert board.exit_code == 0, board.output
    lines = board.output.splitlines()
    at = next(i for i, row in enumerate(lines) if "reproduced (run)" in row)
    assert lines[at - 1].startswith("| ReasonLite-0.6B |")  # right under the row it reproduces
    assert "✗" in lines[at]  # a random tiny model is far from the published figures


PROMPTS = json.loads((Path(__file__).parent / "fixtures" / "parity" /
                      "qwen25_math_prompts.json").read_text())


@pytest.mark.parametrize("case", [c for c in PROMPTS["cases"] if c["num_shots"] == 0],
                         ids=lambda c: c["data_name"])
def test_qwen25_math_prompts_match_the_toolkit_text(case, tiny_model):
    """The Qwen2.5-Math toolkit's own prompt text (read from its code, see the fixture's
    README), rebuilt from evalkit's bundled problem with the LightReasoner profile's settings."""
    from transformers import AutoTokenizer

    from evalkit.generation.prompts import Prompter, get_preset
    from evalkit.tasks import get_task

    plan = _plan(model="Qwen/Qwen2.5-Math-1.5B")
    prompter = Prompter(get_preset(plan.settings.prompt),
                        AutoTokenizer.from_pretrained(tiny_model), plan.settings.chat_template)
    problem = get_task(case["data_name"]).load(limit=1)[0]
    rendered = prompter.render_problem(problem)
    assert rendered.text == case["prompt"] and not rendered.add_special_tokens
    assert list(plan.settings.stop) == PROMPTS["stop"]
