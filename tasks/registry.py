"""The built-in benchmarks and name lookup (a built-in name, or a path to a user task)."""

from __future__ import annotations

from pathlib import Path

from evalkit.errors import EvalkitError

from . import builtin
from .custom import CUSTOM_SUFFIXES, load_custom_task
from .task import RowParser, Task

DATA_DIR = Path(__file__).resolve().parent / "data"

_QWEN = "QwenLM/Qwen2.5-Math/evaluation/data"
_QWEN_COMMIT = "a45202bd16f1"
_GSM8K = "openai/grade-school-math/grade_school_math/data"
_GSM8K_COMMIT = "3101c7d50724"
_HARNESS = "ZubinGou/math-evaluation-harness/data"
_HARNESS_COMMIT = "db77bc6bb2a1"
_MAA = "none stated (problems (c) MAA)"


def _builtin(
    name: str,
    *,
    source: str,
    licence: str,
    gold_format: str,
    variant: str,
    max_tokens: int,
    sha256: str,
    parse_row: RowParser,
    answer_kind: str = "math",
    split: str = "test",
) -> Task:
    return Task(
        name=name,
        source=source,
        licence=licence,
        gold_format=gold_format,
        variant=variant,
        answer_kind=answer_kind,
        default_max_tokens=max_tokens,
        path=DATA_DIR / name / f"{split}.jsonl",
        expected_sha256=sha256,
        parse_row=parse_row,
        split=split,
    )


_BUILTIN_TASKS: tuple[Task, ...] = (
    _builtin(
        "aime24",
        source=f"{_QWEN}/aime24/test.jsonl@{_QWEN_COMMIT}",
        licence=_MAA,
        gold_format='`answer`, a zero-padded string ("025" -> "25")',
        variant="aime24: 30 problems (AIME 2024 I and II, Qwen2.5-Math copy)",
        max_tokens=4096,
        sha256="af2b8bd2aa911b6333ad0df32f3ca05c7ae8ed10f1731f4372c8ae26990bf7ac",
        parse_row=builtin.parse_aime24,
    ),
    _builtin(
        "aime25",
        source="zhshgmail/AReaL/evaluation/data/aime25/test.jsonl@04ab6018c4ef",
        licence=_MAA,
        gold_format='`answer`, an integer (70 -> "70"); cross-checked with MathArena',
        variant="aime25: 30 problems (AIME 2025 I rows 0-14, II rows 15-29)",
        max_tokens=4096,
        sha256="b4e273c02d3e7fe1b74b59eae768fc8230bfb0f79539890cb56f4361caac0331",
        parse_row=builtin.parse_aime25,
    ),
    _builtin(
        "amc23",
        source=f"{_QWEN}/amc23/test.jsonl@{_QWEN_COMMIT}",
        licence=_MAA,
        gold_format='`answer`, a float ("27.0" -> "27")',
        variant="amc23: 40 problems (Qwen2.5-Math; other harnesses use 83)",
        max_tokens=4096,
        sha256="43707e1ca784602d8479de24ee8ce36609dbebc46dd152b0b12a46611aa898a4",
        parse_row=builtin.parse_amc23,
    ),
    _builtin(
        "gsm8k",
        source=f"{_GSM8K}/test.jsonl@{_GSM8K_COMMIT}",
        licence="MIT",
        gold_format='text after "#### " in `answer`, commas removed ("1,450,000" -> "1450000")',
        variant="gsm8k: 1319 test problems (openai/grade-school-math)",
        max_tokens=1024,
        sha256="3730d312f6e3440559ace48831e51066acaca737f6eabec99bccb9e4b3c39d14",
        parse_row=builtin.parse_gsm8k,
    ),
    _builtin(
        "math500",
        source=f"{_HARNESS}/math_oai/test.jsonl@{_HARNESS_COMMIT}",
        licence="MIT",
        gold_format="`answer`, LaTeX, as is",
        variant="math500: 500 problems (PRM800K test split of MATH)",
        max_tokens=2048,
        sha256="35dc41080a3680858b27fa7e0533d2d547825316fc5dafe5d316f4ccc5a06132",
        parse_row=builtin.parse_math500,
    ),
    _builtin(
        "math",
        source=f"{_HARNESS}/math/test.jsonl@{_HARNESS_COMMIT}",
        licence="MIT",
        gold_format="last \\boxed{} of `solution`",
        variant="math: 5000 problems (full MATH test set)",
        max_tokens=2048,
        sha256="3371949f33dd702d04b43fddd7d53a028de0aaca0e76abb1b875a050297b3aa4",
        parse_row=builtin.parse_math,
    ),
    _builtin(
        "olympiadbench",
        source=f"{_QWEN}/olympiadbench/test.jsonl@{_QWEN_COMMIT}",
        licence="none stated",
        gold_format='`final_answer` list, $...$ stripped, several answers joined with ", "',
        variant="olympiadbench: 675 problems (OE_TO_maths_en_COMP, Qwen2.5-Math)",
        max_tokens=4096,
        sha256="bb8c1e38a16ea9eacb77530315a674d883f267fbff79183effc53681b4fcc416",
        parse_row=builtin.parse_olympiadbench,
    ),
    _builtin(
        "minerva_math",
        source=f"{_QWEN}/minerva_math/test.jsonl@{_QWEN_COMMIT}",
        licence="none stated",
        gold_format="last \\boxed{} of `solution`",
        variant="minerva_math: 272 problems (Qwen2.5-Math)",
        max_tokens=2048,
        sha256="0e656b430d3a0a1dab6aa853f453ba3805e28e2cabe4fc72486a897cc09d8ba2",
        parse_row=builtin.parse_minerva_math,
    ),
    _builtin(
        "svamp",
        source=f"{_QWEN}/svamp/test.jsonl@{_QWEN_COMMIT}",
        licence="none stated",
        gold_format='`Answer`, a float (145.0 -> "145")',
        variant="svamp: 1000 problems (Qwen2.5-Math)",
        max_tokens=1024,
        sha256="d0826ff1264f3860e46fc4e71db9e31d2d188960db87090e22677f9493e67a0d",
        parse_row=builtin.parse_svamp,
    ),
    _builtin(
        "asdiv",
        source=f"{_QWEN}/asdiv/test.jsonl@{_QWEN_COMMIT}",
        licence="none stated",
        gold_format='`answer` without its unit notes ("9 (apples)" -> "9")',
        variant="asdiv: 2215 problems (Qwen2.5-Math)",
        max_tokens=1024,
        sha256="5759580385e706f961a30d4c07d6925b35c3f7c86d6c50bc413957169693dad2",
        parse_row=builtin.parse_asdiv,
    ),
    _builtin(
        "mmlu_stem",
        source=f"{_QWEN}/mmlu_stem/test.jsonl@{_QWEN_COMMIT}",
        licence="none stated",
        gold_format='`answer`, a choice index 0-3 (2 -> "C")',
        variant="mmlu_stem: 3018 questions with 4 choices (Qwen2.5-Math)",
        max_tokens=1024,
        sha256="fd7c16f96067d285638abb5aaef9cd8a063b11454e14cb64df93141a58691478",
        parse_row=builtin.parse_mmlu_stem,
        answer_kind="choice",
    ),
)

# Splits kept for other uses than evaluation (training code); reached with get_task(name, split).
_EXTRA_SPLITS: tuple[Task, ...] = (
    _builtin(
        "gsm8k",
        source=f"{_GSM8K}/train.jsonl@{_GSM8K_COMMIT}",
        licence="MIT",
        gold_format='text after "#### " in `answer`, commas removed ("1,450,000" -> "1450000")',
        variant="gsm8k: 7473 train problems (openai/grade-school-math)",
        max_tokens=1024,
        sha256="17f347dc51477c50d4efb83959dbb7c56297aba886e5544ee2aaed3024813465",
        parse_row=builtin.parse_gsm8k,
        split="train",
    ),
)

_BY_KEY = {(task.name, task.split): task for task in _BUILTIN_TASKS + _EXTRA_SPLITS}

TASK_NAMES: tuple[str, ...] = tuple(task.name for task in _BUILTIN_TASKS)
DEFAULT_TASKS: tuple[str, ...] = ("aime24", "aime25", "amc23")


def list_tasks() -> list[Task]:
    """The built-in evaluation tasks (test splits), in a fixed order."""
    return list(_BUILTIN_TASKS)


def get_task(name: str, split: str = "test") -> Task:
    """A built-in task by name, or a user task given as path/to/file.jsonl or a .yaml spec.

    `split` picks another split of a built-in set ("train" exists for gsm8k only). A user task
    may not take a built-in name, so that stored results of the two never mix.
    """
    if name.lower().endswith(CUSTOM_SUFFIXES):
        task = load_custom_task(name)
        if task.name in TASK_NAMES:
            raise EvalkitError(
                f"custom task {name} is named {task.name!r} like a built-in task, so their "
                "results would mix; rename the file or set another name in a .yaml spec"
            )
        return task
    if name not in TASK_NAMES:
        raise EvalkitError(
            f"unknown task {name!r}; known tasks: {', '.join(TASK_NAMES)}; "
            "give a custom task as path/to/file.jsonl (or a .yaml spec)"
        )
    task = _BY_KEY.get((name, split))
    if task is None:
        splits = sorted(s for n, s in _BY_KEY if n == name)
        raise EvalkitError(f"task {name} has no split {split!r}; use one of: {', '.join(splits)}")
    return task
