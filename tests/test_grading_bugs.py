"""The grader bugs of issue 20, one class per section, each with cases of our own."""

from __future__ import annotations

import pytest

from evalkit.grading import extract_answer
from evalkit.grading.judge import judge_math
from evalkit.grading.normalise import canonical_number, strip_text_units

# --- 1. \mathrm{e} and other upright text inside an expression -------------------------------


@pytest.mark.parametrize(
    ("gold", "answer"),
    [
        (r"\frac{\mathrm{e}}{4}", r"\frac{\mathrm{e}}{5}"),  # was: both cut to "\frac{"
        (r"3-\frac{1}{\mathrm{e}^{3}}", "3"),  # was: cut to "3-\frac{1}{" and read as 3
        (r"2\mathrm{e}", "2"),  # upright e is Euler's number, not a unit
        (r"\frac{\mathrm{m}}{4}", r"\frac{\mathrm{m}}{7}"),
        (r"x\text{ m}+\frac{1}{2}", "x"),
    ],
)
def test_upright_text_inside_an_expression_is_not_a_unit(gold: str, answer: str) -> None:
    assert not judge_math(gold, answer)


@pytest.mark.parametrize(
    ("gold", "answer"),
    [
        (r"\frac{e}{4}", r"\frac{\mathrm{e}}{4}"),
        (r"1-\frac{2}{e^{2}}", r"1-\frac{2}{\mathrm{e}^2}"),
        (r"3e", r"3\,\mathrm{e}"),
        (r"2i", r"2\mathrm{i}"),
        ("7", r"7\text{ kg}^2"),  # trailing units still go
        ("12", r"12 \mathrm{~m} / \mathrm{s}"),
        ("4", r"4\,\text{N}\cdot\text{m}"),
    ],
)
def test_upright_constants_and_trailing_units(gold: str, answer: str) -> None:
    assert judge_math(gold, answer)


def test_only_whole_trailing_text_groups_are_units() -> None:
    assert strip_text_units(r"9\text{ cm}^{2}") == "9"
    assert strip_text_units(r"\frac{\text{cm}}{2}") == r"\frac{\text{cm}}{2}"
    assert strip_text_units(r"\text{Tuesday}") == r"\text{Tuesday}"
    assert strip_text_units(r"\text{red} \text{ or } \text{blue}") == (
        r"\text{red} \text{ or } \text{blue}"
    )


# --- 2. spaces and thin spaces as thousands separators ---------------------------------------


@pytest.mark.parametrize(
    ("text", "number"),
    [
        ("2 500", "2500"),
        (r"2\,500", "2500"),
        (r"12\,345\,678", "12345678"),
        ("3\u202f200", "3200"),  # narrow no-break space
        (r"\$4\,000.50", "4000.50"),
        ("12 34", None),  # not groups of three: two numbers, not one
        ("1 0000", None),
    ],
)
def test_spaced_thousands_are_one_number(text: str, number: str | None) -> None:
    assert canonical_number(text) == number


def test_spaced_thousands_are_judged_as_one_number() -> None:
    assert judge_math("2500", "2 500")
    assert judge_math("2500", r"2\,500")
    assert not judge_math("0", "2 500")  # was: read as 2 * 500 ... = 0 against gold 0
    assert not judge_math("500", r"2\,500")


def test_spaced_thousands_are_extracted_whole() -> None:
    assert extract_answer("So the final answer is 3 600.") == ("3600", "answer_is")
    assert extract_answer("In total they raised $12 750 for the school.") == (
        "12750",
        "last_number",
    )
    assert extract_answer(r"The area is $\boxed{1\,024}$") == ("1024", "boxed")


# --- 3. boxes listed together inside \( \) and \[ \] ----------------------------------------


@pytest.mark.parametrize(
    ("text", "answer"),
    [
        (r"The roots are \(t=\boxed{3}\) and \(t=\boxed{-5}\).", "3, -5"),
        (r"So \(\boxed{4}\), \(\boxed{9}\) or \(\boxed{16}\)", "4, 9, 16"),
        ("Both work:\n\\[\ny = \\boxed{0}\n\\]\nand\n\\[\ny = \\boxed{2}\n\\]", "0, 2"),
        # A box far from the last one, with words between, is an earlier step: not joined.
        (r"First \(\boxed{7}\) is too big, so we try again and get \(\boxed{5}\)", "5"),
    ],
)
def test_boxes_listed_inside_parenthesis_delimiters_are_joined(text: str, answer: str) -> None:
    assert extract_answer(text) == (answer, "boxed")


# --- 4. digits right after CJK characters -----------------------------------------------------


@pytest.mark.parametrize(
    ("text", "answer"),
    [
        ("小明一共走了12公里。", "12"),
        ("所以她每天赚18美元", "18"),
        ("答え：合計は250個です。", "250"),
        ("따라서 정답은45개입니다.", "45"),
        ("因此结果是-7。", "-7"),
    ],
)
def test_numbers_right_after_cjk_characters_are_found(text: str, answer: str) -> None:
    assert extract_answer(text) == (answer, "last_number")


def test_numbers_glued_to_latin_letters_are_still_not_numbers() -> None:
    assert extract_answer("The code is x2 and y3b") == (None, None)


# --- 5. "Final Answer: <a sentence>" ----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "answer"),
    [
        ("Final Answer: The smallest possible $k$ is 12.", "12"),
        ("Answer: The number of ways is $\\binom{7}{3}$.", "\\binom{7}{3}"),
        ("Final Answer: There are 41 lattice points.", "41"),
        ("Answer: so we obtain $y = 2x - 1$", "y = 2x - 1"),
        ("Answer: $a=4$ is the only value.", "a=4"),
        ("Final Answer: Wednesday", "Wednesday"),  # a one-word answer is kept
    ],
)
def test_a_sentence_after_an_answer_phrase_is_cut_to_its_answer(text: str, answer: str) -> None:
    assert extract_answer(text) == (answer, "answer_is")


def test_a_final_answer_sentence_is_judged_on_its_number() -> None:
    answer, _ = extract_answer("Final Answer: The largest $m$ is 27.")
    assert answer is not None and judge_math("27", answer) and not judge_math("2", answer)


# --- 6. the last math expression before the last number ---------------------------------------


@pytest.mark.parametrize(
    ("text", "answer"),
    [
        ("We get $y \\leq 7$ for every admissible input.", "y \\leq 7"),
        ("The vertex is at \\((2, -3)\\), which we can check by substitution.", "(2, -3)"),
        ("Collecting terms we find\n\\[\n\\frac{n(n+1)}{2}\n\\]\nas claimed.", "\\frac{n(n+1)}{2}"),
        ("We find $r = 2\\sqrt{5}$; this is the radius of the circle.", "r = 2\\sqrt{5}"),
    ],
)
def test_the_last_math_span_is_the_answer_without_a_box(text: str, answer: str) -> None:
    assert extract_answer(text) == (answer, "last_math")


def test_a_number_after_the_last_math_span_is_the_later_statement() -> None:
    text = "We know $a + b = 10$, and so after removing 3 we are left with 7."
    assert extract_answer(text) == ("7", "last_number")


def test_spans_without_math_are_passed_over() -> None:
    # "$n$" has neither a digit nor a command; the earlier span is the answer.
    assert extract_answer("The sum is $\\frac{7}{2}$ for every $n$.") == (
        "\\frac{7}{2}",
        "last_math",
    )
    # Dollar amounts with words between them are not math.
    assert extract_answer("She paid $12 for lunch and $30 for dinner.") == ("30", "last_number")


def test_math_spans_listed_together_are_joined_like_boxes() -> None:
    text = "Solving the quadratic gives $t = -1$ or $t = 6$, as the graph shows."
    assert extract_answer(text) == ("t = -1, t = 6", "last_math")
    assert judge_math("-1, 6", "t = -1, t = 6")
    assert extract_answer("We get \\(a=1\\). Next, \\(b=2\\) is forced.") == ("b=2", "last_math")


def test_a_prose_inequality_is_not_judged_as_its_last_number() -> None:
    answer, _ = extract_answer("Therefore $t \\geq 4$ is the solution set.")
    assert answer is not None and not judge_math("4", answer)


# --- 7. decimal comma ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "answer"),
    [
        ("The probability is about 0,375 after rounding.", "0.375"),
        ("So p = 0,25 in the end", "0.25"),
        ("The drop was -0,8 degrees", "-0.8"),
        ("The answer is 0,125.", "0.125"),
        # Inside brackets or lists a comma separates numbers.
        ("It meets the axis at (0,4)", "4"),
        ("The roots are 0,2,7", "7"),
    ],
)
def test_a_comma_after_a_zero_is_a_decimal_comma(text: str, answer: str) -> None:
    assert extract_answer(text)[0] == answer


def test_a_decimal_comma_is_never_a_thousands_separator() -> None:
    assert canonical_number("0,375") == "0.375"
    assert judge_math("0.375", "0,375") and not judge_math("375", "0,375")
    # A boxed "0,1" is the list of the roots 0 and 1, not a decimal.
    assert extract_answer("Both work: $\\boxed{0,1}$") == ("0,1", "boxed")
    assert judge_math("0, 1", "0,1") and not judge_math("0.1", "0,1")


# --- 8. an ellipsis in a list ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("gold", "answer", "equal"),
    [
        (r"5, 10, 15, \ldots", "5, 10, 15", False),  # an endless list is not its first items
        ("5, 10, 15", r"5, 10, 15, \dots", False),
        ("15", r"5, 10, 15, \ldots", False),  # was: read as its last item
        (r"5, 10, 15, \ldots", r"5,10,15,\cdots", True),
        (r"\ldots, -2, 0, 2, \ldots", r"\dots, -2, 0, 2, \dots", True),
        (r"1, 4, 9, \ldots", "1, 4, 9, ...", True),
    ],
)
def test_an_ellipsis_item_must_be_on_both_sides(gold: str, answer: str, equal: bool) -> None:
    assert judge_math(gold, answer) is equal


def test_a_boxed_endless_list_keeps_its_ellipsis() -> None:
    answer, rule = extract_answer(r"The terms are $\boxed{2, 4, 8, \ldots}$")
    assert (answer, rule) == (r"2, 4, 8, \ldots", "boxed")
    assert not judge_math("2, 4, 8", answer)
