"""Answer extraction, the math-verify judge, and the statuses of the Grader on real text."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from evalkit.errors import EvalkitError
from evalkit.grading import GRADER_VERSION, Grader, GradeRequest, extract_answer, grader_info
from evalkit.grading.judge import judge_choice, judge_math

GSM8K_GRADED = Path("/work/shared/data/graded/openai_gsm8k_example_model_solutions.jsonl")

# Real solutions from OpenAI's grade-school-math example model solutions: (text, gold, label).
GSM8K_SAMPLES = [
    (
        "Janet eats 3 ducks eggs for breakfast every morning and she sells the rest so she has "
        "16 - 3 = <<16-3=13>>13 ducks eggs left\nShe has 13 ducks eggs and she sells 2 each day "
        "so she makes 13 * 2 = $<<13*2=26>>26\nA: 26",
        "18",
        False,
    ),
    (
        "Janet eats 3 duck eggs for breakfast and bakes 4 into muffins so 3 + 4 = <<3+4=7>>7 duck "
        "eggs are used\nEach day Janet's ducks lay 16 eggs and she uses 7, 16 - 7 = <<16-7=9>>9 "
        "duck eggs are for sale\nShe sells her eggs for $2 per egg and has 9 available for sale "
        "so 2 * 9 = $<<2*9=18>>18 per day\nA: 18",
        "18",
        True,
    ),
    (
        "The house was originally worth 80,000*.5=$<<80000*.5=40000.0>>40,000\nSo it increased "
        "in value by 80,000+50,000=$<<80000+50000=130000>>130,000\nThis means he made a profit "
        "of 130,000-40,000=$<<130000-40000=90000>>90,000\nA: 90,000",
        "70000",
        False,
    ),
    (
        "The elevation of Stanley's comb is 10,000 - 4,000 = <<10000-4000=6000>>6,000 feet.\n"
        "Oliver must climb 6,000 - 3,000 = <<6000-3000=3000>>3,000 feet to reach the comb.\n"
        "A: 3,000",
        "3000",
        True,
    ),
    (
        "The organizations donated $50,000 so 175,000 - 50,000 = $<<175000-50000=125000>>125,000 "
        "comes from the students.\nEach student raised $125,000 / 20 = "
        "$<<125000/20=6250.0>>6,250.\nA: 6250",
        "6,250",
        True,
    ),
]


@pytest.fixture(scope="module")
def grader():
    with Grader(workers=2, timeout_s=10.0) as grader:
        yield grader


# --- extraction ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "answer", "rule"),
    [
        (r"So $x = \boxed{\frac{\sqrt{3}}{2}}$.", r"\frac{\sqrt{3}}{2}", "boxed"),
        (r"First \boxed{3}, then \boxed{4}.", "4", "boxed"),
        (r"Got \boxed{7}. Check: \boxed{x^{2", "7", "boxed"),  # the last box never closes
        (r"The answer is \boxed 5", "5", "boxed"),
        (r"Total: \fbox{12}", "12", "boxed"),
        (r"\boxed{\$1,450.00}", "1450.00", "boxed"),
        ("So the final answer is 18 dollars.", "18", "answer_is"),
        (r"The answer is: $\frac{3}{4}$. I hope it is correct.", r"\frac{3}{4}", "answer_is"),
        ("Final Answer: The final answer is 7. I hope it is correct.", "7", "answer_is"),
        ("The final answer is:\n$$\n\\frac{1}{2}\n$$", r"\frac{1}{2}", "answer_is"),
        ("**Answer:** 1,450,000", "1450000", "answer_is"),
        ("Answer: x = 5.", "x = 5", "answer_is"),
        ("9 * 2 = 18\nSo Janet makes **$18** every day.", "18", "bold"),
        ("He sold 48/2 = <<48/2=24>>24 clips in May.\n#### 72", "72", "gsm8k_hash"),
        ("The profit is 1,200 dollars.\n#### 1,200", "1200", "gsm8k_hash"),
        ("She makes 9 * 2 = $<<9*2=18>>18 every day.\nA: 18", "18", "A:"),
        ("**Step 2**\nShe has 16 - 3 = 13 eggs, and then 13 - 4 = 9.", "9", "last_number"),
        ("The house is now worth $1,450,000 in total.", "1450000", "last_number"),
        ("The temperature dropped to -5 degrees.", "-5", "last_number"),
        ("Subtract: 5-3 gives the gap.", "3", "last_number"),
    ],
)
def test_math_extraction_rules(text: str, answer: str, rule: str) -> None:
    assert extract_answer(text) == (answer, rule)


def test_no_number_means_no_answer() -> None:
    assert extract_answer("I am not sure how to solve this.") == (None, None)


def test_only_the_text_after_the_last_think_block_is_searched() -> None:
    assert extract_answer("<think>maybe 5? no, 6</think>The answer is 7.") == ("7", "answer_is")
    assert extract_answer("<think>a</think><think>It is 5</think>\n\\boxed{6}") == ("6", "boxed")
    # Nothing after </think>: fall back to the whole text.
    assert extract_answer("<think>the result is 12</think>\n") == ("12", "last_number")


def test_an_unclosed_think_block_yields_nothing() -> None:
    assert extract_answer("<think>16 - 3 - 4 = 9, so 9 * 2 = 18") == (None, None)


@pytest.mark.parametrize(
    ("text", "answer", "rule"),
    [
        (r"Thus the answer is $\boxed{\text{(D)}}$.", "D", "boxed"),
        ("Comparing the options, the answer is (C).", "C", "answer_is"),
        ("The answer is B because the others are too large.", "B", "answer_is"),
        ("Answer: E", "E", "answer_is"),
        ("After checking each option:\n\n**A**\n", "A", "letter_line"),
        ("Option (A) overcounts, so (B) must be right.", "B", "choice_letter"),
        ("None of the options fit.", None, None),
    ],
)
def test_choice_extraction_rules(text: str, answer: str | None, rule: str | None) -> None:
    assert extract_answer(text, "choice") == (answer, rule)


# --- the judge -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("gold", "answer"),
    [
        ("1450000", "1,450,000"),
        ("1450000", "$1450000.00"),
        ("6,250", "6250"),
        (r"\frac{1}{2}", "0.5"),
        (r"\frac{\sqrt{3}}{2}", r"\frac{\sqrt3}{2}"),
        ("9", "9%"),
        ("12.5", r"12.5\%"),
        ("5", "x = 5"),
        ("18", r"18 \text{ dollars}"),
        ("(1, 2)", "(1,2)"),
        (r"\text{Evelyn}", "Evelyn"),
    ],
)
def test_equal_answers(gold: str, answer: str) -> None:
    assert judge_math(gold, answer)


@pytest.mark.parametrize(
    ("gold", "answer"),
    [
        ("18", "26"),
        ("0.09", "9%"),  # percent policy: "9%" means 9
        (r"2\sqrt{2}", "2"),  # a bare LaTeX gold is not read as its first number
        ("70000", "90000"),
        (r"\frac{1}{3}", "0.3333"),  # decimals are rounded to 6 places, not 4
    ],
)
def test_unequal_answers(gold: str, answer: str) -> None:
    assert not judge_math(gold, answer)


def test_unusable_gold_answers_raise() -> None:
    with pytest.raises(EvalkitError):
        judge_math("", "5")
    with pytest.raises(EvalkitError):
        judge_choice("42", "A")


def test_choice_letters_compare_directly() -> None:
    assert judge_choice("(C)", "C")
    assert not judge_choice("C", "D")


# --- the grader ----------------------------------------------------------------------------


def test_statuses(grader: Grader) -> None:
    grades = grader.grade(
        [
            GradeRequest("So she makes 9 * 2 = 18 dollars.\nThe answer is 18.", "18"),
            GradeRequest("She makes 13 * 2 = 26 dollars a day. #### 26", "18"),
            GradeRequest("I do not know.", "18"),
            GradeRequest(
                "Let me add up the eggs she eats for breakfast and", "18", "math", "length"
            ),
            GradeRequest("16 - 3 - 4 = 9 eggs, 9 * 2 = 18 dollars", "18", "math", "length"),
            GradeRequest("<think>16 - 3 - 4 = 9 eggs, so", "18"),
            GradeRequest(r"Therefore the answer is $\boxed{B}$.", "B", "choice"),
        ]
    )
    assert [g.status for g in grades] == [
        "correct",
        "wrong",
        "no_answer",
        "truncated",
        "correct",  # cut at the length limit, but an answer was extracted: judged on it
        "truncated",
        "correct",
    ]
    assert (grades[0].extracted, grades[0].rule) == ("18", "answer_is")
    assert (grades[1].extracted, grades[1].rule) == ("26", "gsm8k_hash")
    assert grades[2].detail and grades[3].detail and grades[5].detail
    assert grades[4].rule == "last_number"


def test_order_is_preserved_with_two_workers(grader: Grader) -> None:
    golds = [str(n) for n in range(40)]
    requests = [
        GradeRequest(f"The answer is {n if n % 3 else n + 1}.", g) for n, g in enumerate(golds)
    ]
    done: list[int] = []
    grades = grader.grade(requests, progress=done.append)
    assert [g.status for g in grades] == ["wrong" if n % 3 == 0 else "correct" for n in range(40)]
    assert [g.extracted for g in grades] == [str(n if n % 3 else n + 1) for n in range(40)]
    assert sum(done) == len(requests)


def test_same_answers_for_majority_votes(grader: Grader) -> None:
    pairs = [(r"\frac{1}{2}", "0.5"), ("18", "1,8"), ("x + 1", "1 + x"), ("x", "y")]
    assert grader.same_answers(pairs) == [True, False, True, False]
    assert grader.same_answers([("B", "b"), ("B", "C")], "choice") == [True, False]


@pytest.mark.parametrize(("text", "gold", "label"), GSM8K_SAMPLES)
def test_gsm8k_solutions_graded_as_labelled(grader: Grader, text: str, gold: str, label: bool):
    (grade,) = grader.grade([GradeRequest(text, gold)])
    assert grade.rule == "A:"
    assert grade.correct is label


@pytest.mark.skipif(not GSM8K_GRADED.exists(), reason="graded GSM8K file not present")
def test_gsm8k_file_agrees_with_its_labels(grader: Grader) -> None:
    requests, labels = [], []
    for line in GSM8K_GRADED.read_text().splitlines()[:50]:
        row = json.loads(line)
        gold = row["ground_truth"].rsplit("A:", 1)[1].strip()
        for model in ("6b_finetuning", "6b_verification", "175b_finetuning", "175b_verification"):
            requests.append(GradeRequest(row[model]["solution"], gold))
            labels.append(row[model]["is_correct"])
    assert [g.correct for g in grader.grade(requests)] == labels


def test_unknown_answer_kind_is_refused() -> None:
    with pytest.raises(EvalkitError):
        GradeRequest("The answer is 5.", "5", answer_kind="free-text")


def test_grader_info_names_the_versions() -> None:
    info = grader_info(2.5)
    assert info["grader_version"] == GRADER_VERSION
    assert info["timeout_s"] == "2.5"
    assert all(isinstance(value, str) and value for value in info.values())
    assert {"math_verify", "latex2sympy2_extended", "sympy"} <= info.keys()
