"""Tests of evalkit.tasks on the real vendored data: counts, ids, golds, checks, user tasks."""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import re
from pathlib import Path

import pytest

from evalkit.errors import EvalkitError
from evalkit.records import Problem
from evalkit.tasks import (
    DEFAULT_TASKS,
    TASK_NAMES,
    Task,
    get_task,
    list_tasks,
    load_custom_task,
)
from evalkit.tasks.answers import (
    aime_gold,
    asdiv_gold,
    boxed_gold,
    choice_gold,
    gsm8k_gold,
    last_boxed,
    number_gold,
    olympiadbench_gold,
)
from evalkit.tasks.registry import DATA_DIR
from evalkit.tasks.repair import repair_latex_escapes

SHARED_DATA = Path(__file__).resolve().parent.parent.parent / "shared" / "data"

ROW_COUNTS = {
    "aime24": 30,
    "aime25": 30,
    "amc23": 40,
    "gsm8k": 1319,
    "math500": 500,
    "math": 5000,
    "olympiadbench": 675,
    "minerva_math": 272,
    "svamp": 1000,
    "asdiv": 2215,
    "mmlu_stem": 3018,
}


@functools.cache
def problems(name: str) -> tuple[Problem, ...]:
    return tuple(get_task(name).load())


def by_id(name: str) -> dict[str, Problem]:
    return {problem.id: problem for problem in problems(name)}


# --- registry -------------------------------------------------------------------------------


def test_names_and_defaults() -> None:
    assert TASK_NAMES == tuple(ROW_COUNTS)
    assert DEFAULT_TASKS == ("aime24", "aime25", "amc23")
    assert [task.name for task in list_tasks()] == list(TASK_NAMES)


def test_task_metadata() -> None:
    budgets = {name: 1024 for name in ("gsm8k", "svamp", "asdiv", "mmlu_stem")}
    budgets |= {name: 2048 for name in ("math", "math500", "minerva_math")}
    budgets |= {name: 4096 for name in ("aime24", "aime25", "amc23", "olympiadbench")}
    for task in list_tasks():
        assert task.default_max_tokens == budgets[task.name]
        assert task.answer_kind == ("choice" if task.name == "mmlu_stem" else "math")
        assert task.variant.startswith(f"{task.name}: ")
        assert task.source and task.licence and task.gold_format
        assert task.path == DATA_DIR / task.name / "test.jsonl"
    assert get_task("amc23").variant == "amc23: 40 problems (Qwen2.5-Math; other harnesses use 83)"


def test_unknown_task_names_the_known_ones_and_custom_form() -> None:
    with pytest.raises(EvalkitError) as err:
        get_task("gsm9k")
    message = str(err.value)
    assert "'gsm9k'" in message and "path/to/file.jsonl" in message
    assert all(name in message for name in TASK_NAMES)


def test_gsm8k_train_split() -> None:
    train = get_task("gsm8k", split="train")
    loaded = train.load()
    assert len(loaded) == 7473
    assert (loaded[0].id, loaded[0].gold) == ("0", "72")
    with pytest.raises(EvalkitError, match="no split 'train'; use one of: test"):
        get_task("math", split="train")


# --- vendored files -------------------------------------------------------------------------


def test_sha256sums_file_matches_tasks_and_bytes() -> None:
    listed = dict(
        reversed(line.split("  ", 1)) for line in (DATA_DIR / "SHA256SUMS").read_text().splitlines()
    )
    tasks = list_tasks() + [get_task("gsm8k", split="train")]
    assert sorted(listed) == sorted(f"{t.name}/{t.split}.jsonl" for t in tasks)
    for task in tasks:
        assert listed[f"{task.name}/{task.split}.jsonl"] == task.expected_sha256 == task.sha256()


@pytest.mark.skipif(not SHARED_DATA.is_dir(), reason="shared data folder not present")
def test_vendored_files_are_byte_identical_to_shared_data() -> None:
    for path in DATA_DIR.glob("*/*.jsonl"):
        shared = SHARED_DATA / path.parent.name / path.name
        assert path.read_bytes() == shared.read_bytes(), path


def test_provenance_names_every_set() -> None:
    text = (DATA_DIR / "PROVENANCE.md").read_text()
    assert all(f"| {name} |" in text for name in TASK_NAMES)
    assert "83" in text and "provenance_raw.tsv" in text


# --- loading the real data ------------------------------------------------------------------


@pytest.mark.parametrize("name", list(ROW_COUNTS))
def test_row_counts_and_unique_ids(name: str) -> None:
    loaded = problems(name)
    assert len(loaded) == ROW_COUNTS[name]
    assert len({problem.id for problem in loaded}) == len(loaded)
    assert all(problem.question and problem.gold for problem in loaded)


@pytest.mark.parametrize(
    ("name", "problem_id", "gold"),
    [
        ("aime24", "60", "204"),
        ("aime24", "67", "25"),  # "025"
        ("aime24", "75", "73"),  # "073"
        ("aime25", "0", "70"),
        ("aime25", "18", "106"),
        ("amc23", "0", "27"),  # 27.0
        ("amc23", "17", "-1"),  # -1.0
        ("gsm8k", "0", "18"),
        ("gsm8k", "146", "2125"),  # "2,125"
        ("gsm8k", "611", "1450000"),  # "1,450,000"
        ("gsm8k", "489", "-10"),
        ("math500", "test/precalculus/807.json", "\\left( 3, \\frac{\\pi}{2} \\right)"),
        ("math", "0", "2"),
        ("math", "2", "\\dfrac{9}{7}"),
        ("math", "15", "\\frac{11}{2}"),  # boxed twice; nested braces
        ("olympiadbench", "1606", "2"),
        ("olympiadbench", "1610", "\\frac{1}{2 n+2}"),  # "$...$" stripped
        ("olympiadbench", "1664", "69, 84"),  # "$69$,$84$"
        ("olympiadbench", "1970", "(-\\infty, 0) \\cup\\{1\\}"),  # "$...$." period dropped
        ("olympiadbench", "2891", "(2+\\sqrt{2}, 1+\\sqrt{2})"),  # leading \quad
        ("minerva_math", "0", "1.6"),
        ("minerva_math", "1", "4.5e33"),
        ("svamp", "chal-777", "145"),  # 145.0
        ("asdiv", "0", "9"),  # "9 (apples)"
        ("asdiv", "175", "0.46"),  # "0.46 (dollars)"
        ("asdiv", "1007", "14"),  # "14  (seats)"
        ("asdiv", "849", "5:6"),
        ("asdiv", "1313", "-(1/3)"),
        ("asdiv", "29", "Mrs. Hilt"),
        ("mmlu_stem", "0", "C"),  # 2
    ],
)
def test_known_golds(name: str, problem_id: str, gold: str) -> None:
    assert by_id(name)[problem_id].gold == gold


def test_math_gold_agrees_with_math500_answers() -> None:
    math_by_question = {problem.question: problem.gold for problem in problems("math")}
    for problem in problems("math500"):
        assert math_by_question[problem.question] == problem.gold, problem.id


def test_question_texts() -> None:
    assert problems("gsm8k")[0].question.startswith("Janet\u2019s ducks lay 16 eggs per day.")
    svamp = by_id("svamp")["chal-777"].question
    assert svamp.endswith("organized into 93 groups. How big is each group of bananas?")
    asdiv = problems("asdiv")
    assert asdiv[0].question == (
        "Seven red apples and two green apples are in the basket. "
        "How many apples are in the basket?"
    )
    assert "If ninety-two of them are a asleep, how many cats" in " ".join(
        problem.question for problem in asdiv
    )
    mmlu = problems("mmlu_stem")[0]
    assert mmlu.answer_kind == "choice" and len(mmlu.choices) == 4
    lines = mmlu.question.split("\n")
    assert lines[1] == "A. " + mmlu.choices[0] and lines[4] == "D. increase the mortality rate"
    olympiad = problems("olympiadbench")[0]
    assert olympiad.question.startswith("Xenia and Sergey play the following game.")


def test_ids_are_row_ids_or_row_indexes() -> None:
    assert [p.id for p in problems("aime24")[:3]] == ["60", "61", "62"]
    assert problems("math500")[0].id == "test/precalculus/807.json"
    assert problems("svamp")[0].id == "chal-777"
    assert problems("olympiadbench")[0].id == "1606"
    for name in ("gsm8k", "math", "minerva_math", "asdiv", "mmlu_stem"):
        assert [p.id for p in problems(name)[:3]] == ["0", "1", "2"]


def test_duplicated_rows_are_kept_with_their_own_ids() -> None:
    asdiv = by_id("asdiv")
    assert asdiv["675"].question == asdiv["676"].question
    mmlu = by_id("mmlu_stem")
    assert mmlu["2123"].question == mmlu["2219"].question
    assert mmlu["2123"].gold == mmlu["2219"].gold


def test_meta_is_small_and_useful() -> None:
    assert by_id("math500")["test/precalculus/807.json"].meta == {
        "subject": "Precalculus",
        "level": 2,
    }
    assert problems("math")[0].meta == {"subject": "Algebra", "level": 3}
    assert by_id("olympiadbench")["2592"].meta["error"] == "1e-1"
    assert problems("aime25")[15].meta == {"contest": "2025 AIME II", "number": 1}
    for name in TASK_NAMES:
        assert all(len(repr(problem.meta)) < 300 for problem in problems(name)), name


def test_aime25_control_characters_repaired() -> None:
    aime25 = problems("aime25")
    assert "\\frac{\\log_k (5^{k^2 - 1})}" in aime25[18].question
    assert aime25[18].question.count("\\frac") == 5
    assert "$\\triangle DEF$" in aime25[19].question
    assert "$\\frac{m}{n}$" in aime25[27].question
    for problem in aime25:
        assert not re.search(r"[\x00-\x09\x0b-\x1f]", problem.question), problem.id


def test_no_stray_form_feeds_or_backspaces_anywhere() -> None:
    for name in TASK_NAMES:
        for problem in problems(name):
            assert not re.search(r"[\x00-\x08\x0b-\x1f]", problem.question + problem.gold)


def test_limit_keeps_first_rows_in_file_order() -> None:
    task = get_task("aime24")
    assert [p.id for p in task.load(limit=3)] == ["60", "61", "62"]
    assert task.load(limit=0) == []
    assert len(task.load(limit=1000)) == 30
    with pytest.raises(EvalkitError, match="limit must be 0 or more"):
        task.load(limit=-1)


def test_changed_data_file_is_an_error(tmp_path: Path) -> None:
    task = get_task("aime24")
    changed = tmp_path / "test.jsonl"
    data = bytearray(task.path.read_bytes())
    data[100] ^= 0x01
    changed.write_bytes(bytes(data))
    moved = dataclasses.replace(task, path=changed)
    with pytest.raises(EvalkitError) as err:
        moved.load()
    actual = hashlib.sha256(bytes(data)).hexdigest()
    assert str(err.value) == (
        f"task data for aime24 changed: sha256 {actual} != {task.expected_sha256}; "
        "restore the vendored file or define a custom task"
    )


def test_missing_data_file_is_an_error(tmp_path: Path) -> None:
    task = dataclasses.replace(get_task("svamp"), path=tmp_path / "gone.jsonl")
    with pytest.raises(EvalkitError, match="cannot read the data of task svamp"):
        task.load()


# --- gold normalisation ---------------------------------------------------------------------


def test_number_gold() -> None:
    assert number_gold(27.0) == "27"
    assert number_gold("27.0") == "27"
    assert number_gold(0.5) == "0.5"
    assert number_gold(-1.0) == "-1"
    assert number_gold(145) == "145"
    assert number_gold(2.50) == "2.5"
    assert number_gold(1e-05) == "0.00001"
    for bad in ("x", True, float("nan")):
        with pytest.raises(ValueError):
            number_gold(bad)


def test_aime_gold() -> None:
    assert aime_gold("025") == "25"
    assert aime_gold(70) == "70"
    assert aime_gold("000") == "0"
    with pytest.raises(ValueError):
        aime_gold("1/2")


def test_gsm8k_gold() -> None:
    assert gsm8k_gold("He pays 5 * 2 = <<5*2=10>>10.\n#### 1,450,000") == "1450000"
    assert gsm8k_gold("#### -3") == "-3"
    with pytest.raises(ValueError):
        gsm8k_gold("no marker 5")


def test_last_boxed() -> None:
    assert last_boxed("so $\\boxed{1}$ or \\boxed{\\frac{a}{\\sqrt{b}}}.") == "\\frac{a}{\\sqrt{b}}"
    assert last_boxed("\\fbox{7} then \\boxed {8}") == "8"
    assert last_boxed("$\\fbox{x^{2}}$") == "x^{2}"
    assert last_boxed("\\boxed{\\{1, 2\\}}") == "\\{1, 2\\}"
    assert last_boxed("\\boxed{\\left\\{ x \\right.}") == "\\left\\{ x \\right."
    assert last_boxed("no box") is None
    assert last_boxed("\\boxed{unclosed") is None
    with pytest.raises(ValueError):
        boxed_gold("answer 5")


def test_olympiadbench_gold() -> None:
    assert olympiadbench_gold(["$\\frac{1}{2}$"]) == "\\frac{1}{2}"
    assert olympiadbench_gold("['$x$']") == "x"
    assert olympiadbench_gold("['$2$', '$3$']") == "2, 3"
    assert olympiadbench_gold(["$69$,$84$"]) == "69, 84"
    assert olympiadbench_gold(["1,3,5"]) == "1,3,5"
    assert olympiadbench_gold(["$f(n)=n$, $g(n)=1$"]) == "f(n)=n, g(n)=1"
    assert olympiadbench_gold(["$90^{\\circ}$"]) == "90^{\\circ}"
    assert olympiadbench_gold(["\\$5"]) == "\\$5"
    with pytest.raises(ValueError):
        olympiadbench_gold("['$x$'")
    with pytest.raises(ValueError):
        olympiadbench_gold(["$ $"])


def test_choice_gold() -> None:
    assert [choice_gold(index, 4) for index in range(4)] == ["A", "B", "C", "D"]
    for bad in (4, -1, True):
        with pytest.raises(ValueError):
            choice_gold(bad, 4)


def test_asdiv_gold() -> None:
    assert asdiv_gold("9 (apples)") == "9"
    assert asdiv_gold("2 (ones), 3 (tens)") == "2, 3"
    assert asdiv_gold("12.5 (kilograms of granola)") == "12.5"
    assert asdiv_gold("5:3") == "5:3"
    assert asdiv_gold("3:30 p.m.") == "3:30 p.m."
    assert asdiv_gold("-(1/3)") == "-(1/3)"
    with pytest.raises(ValueError):
        asdiv_gold("(apples)")


def test_repair_only_touches_lost_latex_commands() -> None:
    assert repair_latex_escapes("$\x0crac{m}{n}$") == "$\\frac{m}{n}$"
    assert repair_latex_escapes("$\triangle ABC$, $3\times 4$") == "$\\triangle ABC$, $3\\times 4$"
    kept = "{\n\treturn 2*sin(x);\n\tdraw(p);\n}\thave\tequal\tperimeters.\tThe"
    assert repair_latex_escapes(kept) == kept


# --- user tasks -----------------------------------------------------------------------------


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_custom_task_from_jsonl(tmp_path: Path) -> None:
    path = write(
        tmp_path / "my_set.jsonl",
        '{"question": "1+1?", "answer": 2}\n\n{"question": " 2+3? ", "answer": " 5 "}\n'
        '{"question": "half?", "answer": 0.5}\n',
    )
    task = load_custom_task(path)
    assert (task.name, task.expected_sha256, task.answer_kind) == ("my_set", None, "math")
    assert task.path == path.resolve()
    loaded = task.load()
    assert [(p.id, p.question, p.gold) for p in loaded] == [
        ("0", "1+1?", "2"),
        ("1", "2+3?", "5"),
        ("2", "half?", "0.5"),
    ]
    assert task.sha256() == hashlib.sha256(path.read_bytes()).hexdigest()
    assert [p.id for p in get_task(str(path)).load(limit=2)] == ["0", "1"]


def test_custom_task_fields_ids_and_choices(tmp_path: Path) -> None:
    path = write(
        tmp_path / "quiz.jsonl",
        '{"uid": "q-1", "prompt": "Pick one: A. x B. y", "label": "b"}\n'
        '{"uid": 7, "prompt": "Pick again", "label": 2}\n',
    )
    task = load_custom_task(
        path, question_field="prompt", answer_field="label", answer_kind="choice", id_field="uid"
    )
    loaded = task.load()
    assert [(p.id, p.gold, p.answer_kind) for p in loaded] == [
        ("q-1", "B", "choice"),
        ("7", "C", "choice"),
    ]


def test_custom_task_from_yaml_spec(tmp_path: Path) -> None:
    (tmp_path / "data").mkdir()
    write(tmp_path / "data" / "rows.jsonl", '{"id": "a", "q": "What is 6*7?", "a": "42"}\n')
    spec = write(
        tmp_path / "spec.yaml",
        "data: data/rows.jsonl\nquestion_field: q\nanswer_field: a\nid_field: id\n"
        "name: sixbyseven\ndefault_max_tokens: 512\nanswer_kind: ~\n",
    )
    for task in (load_custom_task(spec), get_task(str(spec))):
        assert (task.name, task.default_max_tokens) == ("sixbyseven", 512)
        assert task.path == (tmp_path / "data" / "rows.jsonl").resolve()
        assert task.load() == [Problem(id="a", question="What is 6*7?", gold="42")]


@pytest.mark.parametrize(
    ("spec", "message"),
    [
        ("question_field: q\n", "needs 'data: path/to/file.jsonl'"),
        ("data: rows.jsonl\nanswer_feild: a\n", "unknown key(s) answer_feild; allowed: data"),
        ("data: missing.jsonl\n", "missing.jsonl does not exist"),
        ("data: rows.jsonl\nanswer_kind: letter\n", "answer_kind 'letter'"),
        ("data: rows.jsonl\nname: my set\n", "task name 'my set'"),
        ("data: rows.jsonl\ndefault_max_tokens: 0\n", "must be a positive integer"),
        ("- data\n", "must be a mapping"),
        ("data: [unclosed\n", "is not valid YAML"),
    ],
)
def test_bad_specs(tmp_path: Path, spec: str, message: str) -> None:
    write(tmp_path / "rows.jsonl", '{"question": "q", "answer": "1"}\n')
    path = write(tmp_path / "spec.yml", spec)
    with pytest.raises(EvalkitError) as err:
        load_custom_task(path)
    assert message in str(err.value)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "is empty; give a JSONL file"),
        ("\n  \n", "is empty; give a JSONL file"),
        ('{"question": "q", "answer": "1"}\n{"question": "q2", "answer":\n', "line 2 is not valid"),
        ('{"question": "q", "answer": "1"}\n\n{"question": "q3"}\n', "line 3: no field 'answer'"),
        ('{"answer": "1"}\n', "line 1: no field 'question' (fields: answer); add it"),
        ('["q", "1"]\n', "line 1 is a JSON list, not an object"),
        ('{"question": "", "answer": "1"}\n', "line 1: field 'question' must be a non-empty"),
        ('{"question": "q", "answer": null}\n', "line 1: field 'answer': None is not"),
    ],
)
def test_malformed_jsonl(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path / "bad.jsonl", text)
    with pytest.raises(EvalkitError) as err:
        get_task(str(path)).load()
    assert message in str(err.value)
    assert str(path) in str(err.value)


def test_encodings_and_duplicate_ids(tmp_path: Path) -> None:
    latin = tmp_path / "latin.jsonl"
    latin.write_bytes(b'{"question": "caf\xe9", "answer": "1"}\n')
    with pytest.raises(EvalkitError, match="line 1 is not UTF-8"):
        load_custom_task(latin).load()
    bom = tmp_path / "bom.jsonl"
    bom.write_bytes(b'\xef\xbb\xbf{"question": "q", "answer": "1"}\n')
    assert load_custom_task(bom).load()[0].gold == "1"
    dup = write(tmp_path / "dup.jsonl", '{"k": 1, "question": "a", "answer": "1"}\n' * 2)
    with pytest.raises(EvalkitError, match="line 2: id '1' repeats line 1"):
        load_custom_task(dup, id_field="k").load()


def test_custom_task_path_errors(tmp_path: Path) -> None:
    with pytest.raises(EvalkitError, match="does not exist"):
        get_task(str(tmp_path / "nope.jsonl"))
    clash = write(tmp_path / "gsm8k.jsonl", '{"question": "q", "answer": "1"}\n')
    with pytest.raises(EvalkitError, match="like a built-in task"):
        get_task(str(clash))


def test_task_is_a_plain_record() -> None:
    task = get_task("math500")
    assert isinstance(task, Task)
    assert "parse_row" not in repr(task)
    with pytest.raises(dataclasses.FrozenInstanceError):
        task.name = "other"  # type: ignore[misc]
