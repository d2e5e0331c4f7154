"""Every answer form of issue 4, graded end to end on realistic completions, and the policies
of the grader config (think, numeric precision, percent), and math-verify's false positives."""

from __future__ import annotations

import pytest

from evalkit.grading import Grader, GraderConfig, GradeRequest, extract_answer, grader_info
from evalkit.grading.grader import cache_key
from evalkit.grading.judge import judge_math
from evalkit.grading.version import cache_namespace


def _grade(text: str, gold: str, kind: str = "math", **policies) -> tuple[str, str | None, str]:
    with Grader(workers=0, config=GraderConfig(**policies)) as grader:
        (grade,) = grader.grade([GradeRequest(text, gold, kind)])
    return grade.status, grade.extracted, grade.rule


# (completion, gold, expected status, expected extracted answer, expected rule)
MATH_FORMS = [
    pytest.param(
        "Rationalising, $\\frac{2}{\\sqrt{3}-1} = \\frac{2(\\sqrt{3}+1)}{2}$, so the value is "
        "$\\boxed{\\frac{\\sqrt{3}+1}{1}}$.",
        "1+\\sqrt{3}", "correct", "\\frac{\\sqrt{3}+1}{1}", "boxed", id="boxed-nested-braces",
    ),
    pytest.param(
        "We check $f(2)=\\boxed{4}$ first... then the maximum is \\fbox{$\\dfrac{9}{4}$}",
        "\\frac94", "correct", "\\dfrac{9}{4}", "boxed", id="fbox-last-wins",
    ),
    pytest.param(
        "Adding the two shares gives 45 + 30 = 75.\nTherefore, the final answer is $75$. "
        "I hope it is correct.",
        "75", "correct", "75", "answer_is", id="final-answer-is",
    ),
    pytest.param(
        "Each box holds 12 pencils and there are 8 boxes.\n\n**96**",
        "96", "correct", "96", "bold", id="bold",
    ),
    pytest.param(
        "She earns 12 * 5 = <<12*5=60>>60 dollars.\n#### 60", "60", "correct", "60",
        "gsm8k_hash", id="gsm8k-hash",
    ),
    pytest.param(
        "He walks 3 * 4 = <<3*4=12>>12 miles.\nA: 12", "12", "correct", "12", "A:", id="A-colon",
    ),
    pytest.param(
        "The company earns 1,250,000 - 325,000 = 925,000 dollars a year.\n#### 925,000",
        "925000", "correct", "925000", "gsm8k_hash", id="thousands-separators",
    ),
    pytest.param(
        "The sum $49{,}994 + 20{,}006$ is $70{,}000$, so the quotient is $\\boxed{10{,}000}$.",
        "10000", "correct", "10000", "boxed", id="latex-thousands-separator",
    ),
    pytest.param(
        "The discount is 18 / 200 = 0.09 of the price, so the answer is 9%.",
        "9", "correct", "9%", "answer_is", id="percent-vs-plain-gold",
    ),
    pytest.param(
        "The probability of a head on each toss is $\\boxed{12.5\\%}$", "12.5", "correct",
        "12.5\\%", "boxed", id="latex-percent",
    ),
    pytest.param(
        "The interior angles of a regular hexagon are each $\\boxed{120^\\circ}$.",
        "120", "correct", "120^\\circ", "boxed", id="degrees",
    ),
    pytest.param(
        "Its area is $6 \\times 4 = 24$, so the answer is $\\boxed{24\\text{ cm}^2}$.",
        "24", "correct", "24\\text{ cm}^2", "boxed", id="text-units",
    ),
    pytest.param(
        "The car covers 150 km in 2.5 h, so its speed is "
        "$\\boxed{60 \\mathrm{~km} / \\mathrm{h}}$",
        "60", "correct", "60 \\mathrm{~km} / \\mathrm{h}", "boxed", id="mathrm-units",
    ),
    pytest.param(
        "Factoring, $(x-2)(x+3)=0$, so the final answer is $\\boxed{2}, \\boxed{-3}$",
        "-3, 2", "correct", "2, -3", "boxed", id="olympiad-multi-answer-boxes",
    ),
    pytest.param(
        "Hence $x=\\boxed{2}$ or $x=\\boxed{-3}$.",
        "2,-3", "correct", "2, -3", "boxed", id="olympiad-multi-answer-or",
    ),
    pytest.param(
        "So the final answer is $\\boxed{1, 2}$ hmm, both roots.", "1, 2, 3", "wrong", "1, 2",
        "boxed", id="olympiad-missing-answer",
    ),
    pytest.param(
        "<think>\nMaybe 5? No: 2 + 3 * 4 = 14.\n</think>\n\nThe value is $\\boxed{14}$.",
        "14", "correct", "14", "boxed", id="after-think",
    ),
    pytest.param(
        "<think>\nIs it \\boxed{5}? Recount: 14.\n</think>\nThe answer is 14.",
        "5", "wrong", "14", "answer_is", id="think-box-ignored",
    ),
]


@pytest.mark.parametrize(("text", "gold", "status", "answer", "rule"), MATH_FORMS)
def test_math_answer_forms(text: str, gold: str, status: str, answer: str, rule: str) -> None:
    assert _grade(text, gold) == (status, answer, rule)


CHOICE_FORMS = [
    pytest.param(
        "Option (A) ignores friction and (B) double counts it. The correct answer is (C).",
        "C", "C", "answer_is", id="paren-letter-in-sentence",
    ),
    pytest.param(
        "Momentum is conserved in the collision, so only one option fits.\nAnswer: C",
        "C", "C", "answer_is", id="answer-colon",
    ),
    pytest.param(
        "Comparing the half-lives, the answer is $\\boxed{\\text{(G)}}$.", "G", "G", "boxed",
        id="boxed-letter",
    ),
    pytest.param(
        "Among (A) through (J), only the last satisfies both constraints.\n\n(J)", "J", "J",
        "letter_line", id="letter-J-line",
    ),
    pytest.param(
        "Between (D) and (E), (E) gives the right units.", "E", "E", "choice_letter",
        id="last-paren-letter",
    ),
]


@pytest.mark.parametrize(("text", "gold", "answer", "rule"), CHOICE_FORMS)
def test_mmlu_stem_letters(text: str, gold: str, answer: str, rule: str) -> None:
    assert _grade(text, gold, "choice") == ("correct", answer, rule)


def test_a_wrong_letter_is_wrong() -> None:
    assert _grade("The answer is (B).", "H", "choice") == ("wrong", "B", "answer_is")


def test_unclosed_think_is_truncated_by_default_and_graded_with_whole_text() -> None:
    text = "<think>\nJanet has 16 - 3 - 4 = 9 eggs and makes 9 * 2 = 18 dollars, so"
    status, answer, _ = _grade(text, "18")
    assert (status, answer) == ("truncated", None)
    assert _grade(text, "18", think_policy="whole_text") == ("correct", "18", "last_number")


def test_whole_text_policy_searches_inside_the_think_block() -> None:
    text = "<think>So the answer is \\boxed{4}.</think>"
    assert extract_answer(text) == ("4", "boxed")  # nothing after </think>: the whole text
    assert extract_answer("<think>\\boxed{4}</think>I think 5.") == ("5", "last_number")
    assert extract_answer("<think>\\boxed{4}</think>I think 5.", think_policy="whole_text") == (
        "4", "boxed",
    )


# --- math-verify false positives, guarded ---------------------------------------------------


@pytest.mark.parametrize(
    ("gold", "answer"),
    [
        ("\\frac{1}{2004!}", "\\frac{1}{2006!}"),  # both round to 0 at 6 decimal places
        ("1/2004!", "1/2006!"),
        ("10^{-30}", "10^{-31}"),
        ("0.0000001", "0.0000002"),
        ("3\\times 10^{-8}", "4\\times 10^{-8}"),
    ],
)
def test_tiny_unequal_numbers_are_not_equal(gold: str, answer: str) -> None:
    assert not judge_math(gold, answer)


@pytest.mark.parametrize(
    ("gold", "answer"),
    [
        ("\\frac{1}{2004!}", "\\frac{1}{2004!}"),
        ("10^{-30}", "1 \\times 10^{-30}"),
        ("\\frac{1}{3}", "0.3333333"),
        ("2.5", "2.5000004"),
        ("\\pi", "3.14159265"),
    ],
)
def test_the_guard_keeps_true_equalities(gold: str, answer: str) -> None:
    assert judge_math(gold, answer)


def test_numeric_precision_is_configurable() -> None:
    text = "So the ratio is about $\\boxed{0.667}$."
    assert _grade(text, "\\frac{2}{3}")[0] == "wrong"
    assert _grade(text, "\\frac{2}{3}", numeric_precision=3) == ("correct", "0.667", "boxed")


def test_percent_policies() -> None:
    text = "The tax rate is therefore $\\boxed{9\\%}$."
    assert _grade(text, "9")[0] == "correct"
    assert _grade(text, "0.09")[0] == "wrong"
    assert _grade(text, "9", percent="strict")[0] == "wrong"
    assert _grade(text, "0.09", percent="strict")[0] == "correct"
    assert _grade(text, "9\\%", percent="strict")[0] == "correct"


def test_policies_are_recorded_and_keep_cached_verdicts_apart() -> None:
    strict = GraderConfig(percent="strict", numeric_precision=4)
    info = grader_info(5.0, strict)
    assert (info["percent"], info["numeric_precision"], info["think_policy"]) == (
        "strict", "4", "after_close",
    )
    assert cache_namespace(strict) != cache_namespace()
    assert cache_namespace(GraderConfig(think_policy="whole_text")) == cache_namespace()
    cache: dict[str, str] = {}
    request = GradeRequest("The answer is 9%.", "9")
    with Grader(workers=0, cache=cache) as grader:
        assert grader.grade([request])[0].status == "correct"
    with Grader(workers=0, cache=cache, config=GraderConfig(percent="strict")) as grader:
        assert grader.grade([request])[0].status == "wrong"
    assert cache_key("9", "9%", "math") in cache and len(cache) == 2
