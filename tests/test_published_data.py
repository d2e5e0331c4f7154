"""`evalkit train` from the published data: loaders over fixtures in the published schemas.

ReasonLite's problem pool (Polaris, OpenMathReasoning), its released SFT data
(amd/ReasonLite-Dataset) and LightReasoner's released samples (LR_samples.zip) are read through
`datasets` from local files written in the same schemas (tests/fixtures/published/README.md),
exactly as the pinned Hub copies are read.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from click.testing import CliRunner

from evalkit.cli import main
from evalkit.errors import EvalkitError
from evalkit.training.distill.generate import load_problems
from evalkit.training.distill.recipe import load_recipe
from evalkit.training.published import BOXED_INSTRUCTION, DatasetSource

pytestmark = pytest.mark.usefixtures("one_torch_thread")

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "published"
STAGE = ["per_device_train_batch_size=2", "num_train_epochs=1", "learning_rate=0.002"]
TINY_SFT = [*(f"sft.{stage}.args.{arg}" for stage in ("stage1", "stage2") for arg in STAGE),
            "sft.stage1.global_batch_size=2", "sft.stage2.global_batch_size=2"]


def _invoke(args: list[str], overrides: list[str]):
    args = args + [item for override in overrides for item in ("--set", override)]
    return CliRunner().invoke(main, args)


def _pools(tmp_path: Path) -> list[str]:
    """Polaris as JSONL and OpenMathReasoning as parquet (the Hub copy's format)."""
    from datasets import load_dataset

    omr = tmp_path / "omr.parquet"
    load_dataset("json", data_files=str(FIXTURES / "openmathreasoning.jsonl"),
                 split="train").to_parquet(str(omr))
    return ["problems.task=null", "problems.pools=[polaris, openmathreasoning]",
            f"datasets.polaris.data_files={FIXTURES / 'polaris.jsonl'}",
            f"datasets.openmathreasoning.data_files={omr}",
            "datasets.openmathreasoning.format=parquet"]


def test_problem_pools_are_read_deduplicated_and_filtered(tmp_path):
    recipe = load_recipe("reasonlite-tiny", _pools(tmp_path))
    problems, sha = load_problems(recipe.problems, recipe.datasets)
    assert [p.id for p in problems] == ["pol:0", "pol:1", "pol:2", "omr:0", "omr:3"]
    # OpenMathReasoning: one row per solution (omr:1 repeats omr:0), proofs and rows without an
    # extracted answer are left out, and a problem already in Polaris (omr:5) is not repeated
    assert problems[3].question == "Compute $3^4 - 2^5$." and problems[3].gold == "49"
    assert problems[0].gold == "12" and problems[0].meta["difficulty"] == "8/8"
    again, sha_again = load_problems(recipe.problems, recipe.datasets)
    assert sha_again == sha and len(sha) == 64
    limited = load_recipe("reasonlite-tiny", [*_pools(tmp_path), "problems.limit=2"])
    assert len(load_problems(limited.problems, limited.datasets)[0]) == 2


def test_bundled_recipe_pins_every_published_source():
    recipe = load_recipe("reasonlite")
    assert recipe.problems.pools == ["polaris", "openmathreasoning"]
    polaris, omr, released = (recipe.datasets[n] for n in
                              ("polaris", "openmathreasoning", "reasonlite"))
    assert (polaris.repo_id, polaris.revision) == (
        "POLARIS-Project/Polaris-Dataset-53K", "296f8e34132e63f4a1d70e0dcc8bddebb43f03e4")
    assert (omr.repo_id, omr.revision, omr.split) == (
        "nvidia/OpenMathReasoning", "192c909be784e2c5c3568bfb678d12d5dfd93e21", "cot")
    assert released.repo_id == "amd/ReasonLite-Dataset" and released.config == "default"
    assert "no revision pinned" in released.describe()
    with pytest.raises(EvalkitError, match="no source for polaris"):
        load_recipe("reasonlite-tiny", ["problems.task=null", "problems.pools=[polaris]"])
    with pytest.raises(EvalkitError, match="unknown dataset recipe.datasets.mystery"):
        load_recipe("reasonlite-tiny", ["datasets.mystery.data_files=x.jsonl"])


def test_generate_starts_from_the_pools(tiny_model, tmp_path):
    work = tmp_path / "work"
    result = _invoke(["train", "distill", "generate", "reasonlite-tiny", "--work-dir", str(work)],
                     [*_pools(tmp_path), f"teacher.model={tiny_model}", "teacher.n=1",
                      "teacher.max_tokens=4"])
    assert result.exit_code == 0, result.output
    rows = [json.loads(line) for line in (work / "problems.jsonl").read_text().splitlines()]
    assert [r["id"] for r in rows] == ["pol:0", "pol:1", "pol:2", "omr:0", "omr:3"]
    counts = json.loads((work / "done" / "generate.json").read_text())["counts"]
    assert counts["problems"] == 5 and counts["per_mode"]["medium"]["solutions"] == 5


def _released_sft(files: dict[str, str], student: Path) -> list[str]:
    return ["sft_data.dataset=reasonlite", f"datasets.reasonlite.data_files={json.dumps(files)}",
            f"sft.model={student}", *TINY_SFT]


def test_released_reasonlite_data_trains_both_stages(tiny_model, tmp_path):
    work = tmp_path / "work"
    files = {"medium": str(FIXTURES / "reasonlite_medium.jsonl"),
             "high": str(FIXTURES / "reasonlite_high.jsonl")}
    overrides = _released_sft(files, tiny_model)
    result = _invoke(["train", "distill", "run", "reasonlite-tiny", "--work-dir", str(work)],
                     overrides)
    assert result.exit_code == 0, result.output
    assert "generate:" not in result.output and "stage2: done" in result.output
    split = json.loads((work / "done" / "split.json").read_text())["counts"]
    assert (split["short"], split["long"]) == (4, 2)
    assert split["decontamination"] == {"report": "decontamination.json", "dropped": 0,
                                        "on_overlap": "refuse"}
    short = [json.loads(line) for line in (work / "sft_data" / "short.jsonl").read_text()
             .splitlines()]
    assert short[0]["messages"][0]["content"].endswith(BOXED_INSTRUCTION)
    assert short[0]["problem"] == "What is 6 times 7?"
    assert short[0]["messages"][1]["content"].startswith("<think>\n6*7=42\n</think>")
    assert (work / "stage2" / "model.safetensors").is_file()
    refused = _invoke(["train", "distill", "generate", "reasonlite-tiny", "--work-dir",
                       str(work)], overrides)
    assert refused.exit_code == 2 and "trains on released sft_data" in refused.stderr


def test_released_data_that_overlaps_an_evaluation_task_is_refused(tiny_model, tmp_path):
    from evalkit.tasks import get_task

    leaked = tmp_path / "high.jsonl"
    question = get_task("aime24").load(limit=1)[0].question
    leaked.write_text(json.dumps({"prompt": f"{question}\n{BOXED_INSTRUCTION}",
                                  "answer": "<think>\nx\n</think>\n\n\\boxed{1}",
                                  "expected_answer": "1", "vote": "{}", "problem_source": "x"})
                      + "\n")
    files = {"medium": str(FIXTURES / "reasonlite_medium.jsonl"), "high": str(leaked)}
    overrides = _released_sft(files, tiny_model)
    work = tmp_path / "work"
    refused = _invoke(["train", "distill", "split", "reasonlite-tiny", "--work-dir", str(work)],
                      overrides)
    assert refused.exit_code == 2
    assert "1 of 5 items of sft_data overlap (aime24 1)" in refused.stderr
    report = json.loads((work / "decontamination.json").read_text())
    assert report["contaminated"] == ["long:0"]
    dropped = _invoke(["train", "distill", "split", "reasonlite-tiny", "--work-dir", str(work)],
                      [*overrides, "decontamination.on_overlap=drop"])
    assert dropped.exit_code == 0, dropped.output
    assert (work / "sft_data" / "long.jsonl").read_text() == ""


@pytest.fixture(scope="module")
def archive(tmp_path_factory) -> Path:
    """LR_samples.zip in the layout of the released archive (a folder of JSONL members)."""
    folder = tmp_path_factory.mktemp("lrsamples")
    shutil.copytree(FIXTURES / "LR_samples", folder / "LR_samples")
    return Path(shutil.make_archive(str(folder / "LR_samples"), "zip", folder, "LR_samples"))


def _released(archive: Path, expert: Path) -> list[str]:
    sets = {"LR_Qwen1.5_gsm8k": {"member": "**/LR_Qwen1.5_gsm8k*", "expert": str(expert)},
            "LR_any": {"member": "**/LR_*", "expert": str(expert)}}
    return [f"released_samples.archive={archive}", f"released_samples.sets={json.dumps(sets)}",
            "train.max_steps=2", "train.per_device_batch_size=2", "train.bf16=false",
            "merge.dtype=float32"]


def test_lightreasoner_released_samples_fine_tune_their_expert(pair, archive, tmp_path):
    from transformers import AutoTokenizer

    out = tmp_path / "run"
    result = _invoke(["train", "lightr", "run", "--released", "LR_Qwen1.5_gsm8k", "--output-dir",
                      str(out)], _released(archive, pair[0]))
    assert result.exit_code == 0, result.output
    assert "imported LR_Qwen1.5_gsm8k: 4 steps of 2 questions" in result.output
    assert "same model" in result.output and (out / "merged" / "model.safetensors").is_file()
    records = [json.loads(line) for line in (out / "sampling" / "samples.jsonl").read_text()
               .splitlines()]
    tokenizer = AutoTokenizer.from_pretrained(pair[0])
    released = [json.loads(line) for line in
                (FIXTURES / "LR_samples" / "LR_Qwen1.5_gsm8k.jsonl").read_text().splitlines()]
    for record, row in zip(records, released, strict=True):
        prompt = tokenizer.apply_chat_template(
            [{"role": "system", "content": "Please reason step by step."},
             {"role": "user", "content": row["prompt_id"]}], tokenize=False,
            add_generation_prompt=True)
        assert record["prefix_ids"] == tokenizer(prompt + row["prefix"]).input_ids
        assert (record["token_ids"], record["weights"]) == (row["token_ids"], row["weights"])
        assert (record["step"], record["kl"]) == (row["step"], row["kl_divergence"])
    meta = json.loads((out / "sampling" / "sampling.json").read_text())
    assert meta["models"]["expert"]["source"] == str(pair[0])
    assert meta["released"]["member"].endswith("LR_Qwen1.5_gsm8k.jsonl")

    other = _invoke(["train", "lightr", "finetune", "--samples", str(out / "sampling"),
                     "--expert", str(pair[1]), "--output-dir", str(tmp_path / "a")],
                    _released(archive, pair[0]))
    assert other.exit_code == 2
    [line] = other.stderr.strip().splitlines()
    assert f"fine-tuning {pair[1]}@" in line and f"steps sampled by {pair[0]}@" in line
    assert "DIFFERENT models" in line and "require_sampling_expert=false" in line


def test_a_member_glob_must_name_one_file(pair, archive, tmp_path):
    result = _invoke(["train", "lightr", "import", "LR_any", "--output-dir", str(tmp_path)],
                     _released(archive, pair[0]))
    assert result.exit_code == 2
    assert "matches 2 members" in result.stderr and "LR_Qwen7_gsm8k.jsonl" in result.stderr


def test_an_unreadable_source_names_the_fix(tmp_path):
    source = DatasetSource(data_files=str(tmp_path / "missing.jsonl"))
    with pytest.raises(EvalkitError, match="point data_files at a local copy"):
        list(source.rows())
