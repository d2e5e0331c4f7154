"""Leaderboards: the committed published tables, their rendering, and reproduced runs."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner
from release_fixtures import verdicts, write_run

from evalkit.cli import main
from evalkit.release.leaderboard import load_boards, load_runs
from evalkit.release.leaderboard_render import board_lines, to_html, to_markdown

LEADERBOARDS = Path(__file__).resolve().parent.parent / "leaderboards"


def _boards() -> dict:
    return {b.name: b for b in load_boards(LEADERBOARDS)}


def test_committed_tables_have_sources_and_shapes():
    boards = _boards()
    assert sorted(boards) == ["lightreasoner-1-main", "lightreasoner-2-efficiency",
                              "lightreasoner-3-contrast", "reasonlite"]
    shapes = {name: (len(b.rows), len(b.columns)) for name, b in boards.items()}
    assert shapes == {"reasonlite": (12, 6), "lightreasoner-1-main": (15, 8),
                      "lightreasoner-2-efficiency": (8, 4), "lightreasoner-3-contrast": (10, 7)}
    for board in boards.values():
        assert board.source["citation"] and board.source["url"].startswith("https://")
        if board.name != "lightreasoner-3-contrast":  # its "/" cells are null
            assert all(v is not None for row in board.rows for v in row.values)
    reasonlite = {row.model: row for row in boards["reasonlite"].rows}
    assert reasonlite["ReasonLite-0.6B"].values == (95.2, 100, 62.9, 84.1, 75.2, 90.2)
    assert reasonlite["Qwen3-0.6B"].values[4] == 11.0
    assert [(c.task, c.metric) for c in boards["reasonlite"].columns[:2]] == [
        ("amc23", "avg@16"), ("amc23", "pass@8")]


def test_lightreasoner_tables_are_internally_consistent():
    """Transcription check: AVG. is the mean of the 7 benchmarks; gains are AVG. differences."""
    boards = _boards()
    main_rows = boards["lightreasoner-1-main"].rows
    avg = {}
    for row in main_rows:
        assert sum(row.values[:7]) / 7 == pytest.approx(row.values[7], abs=0.051), row
        avg[row.model, row.variant] = row.values[7]
    assert len({row.model for row in main_rows}) == 5
    assert {row.variant for row in main_rows} == {"baseline", "+ SFT", "+ LightR"}
    rename = {"+ SFT": "+ SFT", "+ LightReasoner": "+ LightR"}
    for row in boards["lightreasoner-2-efficiency"].rows:
        gain = avg[row.model, rename[row.variant]] - avg[row.model, "baseline"]
        assert row.values[3] == pytest.approx(gain, abs=1e-9), row
    # the amateur study: AVG. of its five benchmarks; its Qwen2.5-0.5B (the recipe's amateur)
    # and expert-only rows are the main table's "+ LightR" and baseline rows
    main = {(row.model, row.variant): row.values for row in main_rows}
    picked = [0, 1, 2, 3, 6]  # GSM8K, MATH, SVAMP, ASDiv, MMLU STEM of the main table
    contrast = boards["lightreasoner-3-contrast"].rows
    for row in contrast:
        if row.values[1] is not None:
            assert sum(row.values[1:6]) / 5 == pytest.approx(row.values[6], abs=0.051), row
    for row in contrast:
        same = {"amateur Qwen2.5-0.5B": "+ LightR", "expert only (baseline)": "baseline"}
        if row.variant in same:
            assert list(row.values[1:6]) == [main[row.model, same[row.variant]][i]
                                             for i in picked], row


def test_committed_pages_match_the_data():
    boards, runs = load_boards(LEADERBOARDS), load_runs(LEADERBOARDS)
    assert (LEADERBOARDS / "README.md").read_text() == to_markdown(boards, runs)
    assert (LEADERBOARDS / "index.html").read_text() == to_html(boards, runs)
    markdown = to_markdown(boards, runs)
    assert "| ReasonLite-0.6B | 0.6B | reported | 95.2 | 100.0 | 62.9 | 84.1 | 75.2 | 90.2 |" in (
        markdown)
    assert "| Qwen2.5-Math-7B | + SFT | reported | 9.5h | 6029 | 2.20M | +4.5% |" in markdown


@pytest.fixture
def folder(tmp_path: Path) -> Path:
    copy = tmp_path / "leaderboards"
    copy.mkdir()
    for table in LEADERBOARDS.glob("*.yaml"):
        shutil.copy(table, copy)
    write_run(copy / "runs" / "reasonlite", {"aime24": verdicts(30, 16, 350)},
              model="amd/ReasonLite-0.6B", ks=(8,))
    write_run(tmp_path / "mine", {"aime25": verdicts(30, 16, 100)}, model="org/mine<b>", ks=(8,))
    shutil.copy(tmp_path / "mine" / "results.json", copy / "runs" / "mine.json")
    return copy


def test_reproduced_runs_sit_under_their_model_with_cis(folder: Path):
    boards, runs = {b.name: b for b in load_boards(folder)}, load_runs(folder)
    assert [r.name for r in runs] == ["mine", "reasonlite"]
    lines = board_lines(boards["reasonlite"], runs)
    models = [(line.model, line.origin) for line in lines]
    at = models.index(("ReasonLite-0.6B", "reported"))
    assert models[at + 1] == ("amd/ReasonLite-0.6B", "reproduced (reasonlite)")
    assert models[-1] == ("org/mine<b>", "reproduced (mine)") and len(lines) == 14
    reproduced = lines[at + 1].cells
    avg = runs[1].metrics["aime24", "avg@16"]
    lo, hi = avg.ci95
    assert reproduced[:4] == ("–", "–", "–", "–")
    mark = "✓" if lo <= 0.752 <= hi else "✗"  # the published 75.2 inside the interval or not
    assert reproduced[4] == f"{100 * avg.value:.1f} [{100 * lo:.1f}, {100 * hi:.1f}] {mark}"
    assert reproduced[5].startswith(f"{100 * runs[1].metrics['aime24', 'pass@8'].value:.1f} [")
    assert len(board_lines(boards["lightreasoner-1-main"], runs)) == 15

    markdown = to_markdown(list(boards.values()), runs)
    assert f"| amd/ReasonLite-0.6B |  | reproduced (reasonlite) | – | – | – | – | {reproduced[4]}" \
        in markdown
    page = to_html(list(boards.values()), runs)
    assert '<tr class="reproduced"><td>org/mine&lt;b&gt;</td>' in page and "<b>" not in page


def test_leaderboard_command(folder: Path, tmp_path: Path):
    runner = CliRunner()
    table = runner.invoke(main, ["leaderboard", "--dir", str(folder)])
    assert table.exit_code == 0, table.output
    assert "ReasonLite: AMC23, AIME25, AIME24" in table.stdout
    assert "reproduced (reasonlite)" in table.stdout
    out = tmp_path / "board.html"
    html = runner.invoke(main, ["leaderboard", "--dir", str(folder), "--format", "html",
                                "--output", str(out)])
    assert html.exit_code == 0 and out.read_text().startswith("<!DOCTYPE html>")
    markdown = runner.invoke(main, ["leaderboard", "--dir", str(folder), "--format", "markdown"])
    assert markdown.stdout.startswith("# Leaderboards")
    wrong = runner.invoke(main, ["leaderboard", "--dir", str(folder), "--output", str(out)])
    assert wrong.exit_code == 2 and "--output needs --format markdown or html" in wrong.stderr
    missing = runner.invoke(main, ["leaderboard", "--dir", str(tmp_path / "none")])
    assert missing.exit_code == 2 and "no leaderboard folder" in missing.stderr
    table_file = folder / "reasonlite.yaml"
    table_file.write_text(table_file.read_text().replace("values: [58.3, 82.3, ", "values: ["))
    broken = runner.invoke(main, ["leaderboard", "--dir", str(folder)])
    assert broken.exit_code == 2
    assert "row Qwen2.5-14B has 4 values for 6 columns" in broken.stderr
