"""The answer classes of issue 16, each a documented rule (docs/grading.md), with cases of our
own; and the audit of every gold of every bundled task."""

from __future__ import annotations

from decimal import Decimal

import pytest
import sympy

from evalkit.grading import Grader, GradeRequest, extract_answer, grader_info
from evalkit.grading.config import numeric_policy
from evalkit.grading.judge import judge_math
from evalkit.grading.parsing import normalise_answer, parse_answer
from evalkit.tasks import list_tasks

SIG = "significant-figures"


# --- 1. golds the judge cannot read ---------------------------------------------------------

# Golds of the bundled tasks that are words, not math: judged by their text.
TEXT_GOLDS = {
    ("asdiv", "29"): "a name (Mrs. Hilt)",
    ("asdiv", "1045"): "a team's name",
    ("asdiv", "1050"): "a class's name",
}


def _math_golds() -> list[tuple[str, str, str]]:
    return [
        (task.name, problem.id, problem.gold)
        for task in list_tasks()
        for problem in task.load()
        if problem.answer_kind == "math"
    ]


def test_every_gold_of_every_bundled_task_parses_to_math() -> None:
    unreadable = {
        (task, pid): gold
        for task, pid, gold in _math_golds()
        if not (parsed := parse_answer(gold)) or isinstance(parsed[0], str)
    }
    assert unreadable.keys() == TEXT_GOLDS.keys(), unreadable


def test_scientific_and_fortran_golds_mean_their_numbers() -> None:
    """Every gold written like 3.83e35 or -3./2 (Minerva Math) parses to that number."""
    checked = 0
    for _, _, gold in _math_golds():
        text = gold.strip()
        if not any(c in text for c in "eE./") or not all(c in "0123456789.eE+-/" for c in text):
            continue
        if "e" in text.lower() and "/" not in text:
            expected = sympy.Rational(str(Decimal(text)))
        elif "/" in text:
            top, bottom = text.split("/")
            expected = sympy.Rational(top.rstrip(".")) / sympy.Rational(bottom.rstrip("."))
        else:
            continue
        value = parse_answer(gold)[0]
        assert abs(float(value) - float(expected)) <= 1e-12 * abs(float(expected)), (gold, value)
        checked += 1
    assert checked >= 50  # Minerva Math has 58 golds in e-notation and two Fortran fractions


@pytest.mark.parametrize(
    ("gold", "answer"),
    [
        ("6.1e-4", r"6.1 \times 10^{-4}"),
        ("-5./4", r"-\frac{5}{4}"),
        ("np.arctan(3/4)", r"\arctan\left(\frac{3}{4}\right)"),
        (r"a \sin (t)+$ $b \cos (t)", r"b\cos t + a \sin t"),  # a stray "$ $" inside
        (r"\frac{7}{2,\!500}", r"\frac{7}{2500}"),
        (r"\frac{3}{4} + \frac{1}{4} i.", r"\frac{3}{4} + \frac{i}{4}"),  # a full stop
        ("s(1,3]", r"s \in (1, 3]"),  # a variable before a half-open interval
    ],
)
def test_damaged_gold_forms_are_read_as_meant(gold: str, answer: str) -> None:
    assert judge_math(gold, answer)


# --- 2. subscripts ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("gold", "answer"),
    [
        ("E_{2}", "E_2"),  # latex2sympy cannot read a subscripted E at all
        (r"\frac{2}{5} E_{1}+\frac{3}{5} E_{3}", r"\frac{2}{5}E_1 + \frac{3}{5}E_3"),
        ("E_{0},E_{1}", "E_0, E_1"),
        (r"L_{\odot}^{2}", r"L_\odot^2"),
        (r"e_{1} + e_{2}", "e_1 + e_2"),
    ],
)
def test_subscripts_with_and_without_braces(gold: str, answer: str) -> None:
    assert judge_math(gold, answer)


@pytest.mark.parametrize(
    ("gold", "answer"),
    [
        (r"\frac{s+\sigma}{(s+\sigma)^{2}+\omega_{d}^{2}}", "(s + σ) / ((s+σ)^2 + ωd^2)"),
        (r"V_{0} \cos \theta", r"V0 \cos \theta"),
        (r"2 \omega_{0}", r"2\omega 0"),
    ],
)
def test_a_name_the_gold_subscripts_may_be_run_together(gold: str, answer: str) -> None:
    assert judge_math(gold, answer)


def test_run_together_names_stay_products_when_the_gold_has_no_subscript() -> None:
    assert not judge_math(r"\omega_{d}", r"\omega t")
    assert judge_math(r"\omega d", "ωd")  # no subscript in the gold: ωd is ω times d
    assert not judge_math("V_{0}", "V1")


def test_different_subscripts_stay_different() -> None:
    assert not judge_math("E_{1}", "E_2")
    assert not judge_math(r"\frac{1}{3}E_{1}", r"\frac{1}{3}E_2")


# --- 3. units ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("gold", "answer"),
    [
        ("2.35", "2.35 eV"),
        ("4860", r"4860 \text{ Å}"),
        ("7", r"7 \mathrm{~cm}"),
        ("12000", r"12,000 \, \text{kcal m}^{-2}\text{yr}^{-1}"),
        ("0.004", "4 × 10⁻³ m/s²"),
        ("350", "350 nm"),
        ("2.2e7", r"2.2 \times 10^{7} atoms/m^{3}"),
    ],
)
def test_units_after_a_number_are_dropped(gold: str, answer: str) -> None:
    assert judge_math(gold, answer)


@pytest.mark.parametrize(
    ("gold", "answer", "equal"),
    [
        (r"\frac{29m}{4}", r"\frac{29}{4} m", True),  # m is the problem's variable, kept
        ("k", "b = k", True),  # "m" or "k" after "=" is no unit
        (r"\frac{1}{k} t", "t/k", True),  # nor a "t" after a fraction
        ("6", r"2\pi r", False),  # r is no unit: 2\pi r is not a number
        ("6", "6 apples", True),  # words after a number, as math-verify reads them
    ],
)
def test_letters_that_are_part_of_the_answer_are_kept(gold: str, answer: str, equal: bool):
    assert judge_math(gold, answer) is equal


# --- 4. equations, named answers, Unicode -----------------------------------------------------


@pytest.mark.parametrize(
    ("gold", "answer"),
    [
        ("k", "c = k"),
        (r"5 e^{-2 t}", r"y(t) = 5e^{-2t}"),
        (r"\frac{1}{R C s+1}", r"\frac{V_{out}(s)}{V_{in}(s)} = \frac{1}{RCs + 1}"),
        ("-3,4", "p = -3, q = 4"),
        ("5,8,13", "Ann: 5, Ben: 8, Cal: 13"),
        ("f(y)=2 y", "f(t) = 2t"),
        (r"2\sqrt{7}", "2√7"),
        (r"x^{2}-4 x", "x² − 4x"),
        (r"3 \times 10^{5}", "3 × 10⁵"),
        (r"\frac{d y}{d t}=-k y", r"y'(t) = -k y(t)"),
        (r"m \ddot{x}+k x=0", r"\frac{d^2 x}{dt^2} = -\frac{k}{m} x"),
        (r"L \frac{d I}{d t}+R I=V", r"\dot{I} = \frac{V - RI}{L}"),
        (r"q(0) e^{-t / \tau}", r"q(t) = q_0 e^{-t/\tau}"),
    ],
)
def test_equations_and_named_answers(gold: str, answer: str) -> None:
    assert judge_math(gold, answer)


@pytest.mark.parametrize(
    ("gold", "answer"),
    [
        (r"\frac{d y}{d t}=-k y", r"y'(t) = k y(t)"),  # another equation
        ("-3,4", "p = -3, q = 5"),
        (r"3x - 2y + 6z - 1 = 0", r"6x - 4y + 12z - 2 = 0"),  # not in lowest terms
        ("f(y)=2 y", "f(t) = 3t"),
    ],
)
def test_equations_that_differ_stay_different(gold: str, answer: str) -> None:
    assert not judge_math(gold, answer)


# --- 5. scientific notation ---------------------------------------------------------------------


@pytest.mark.parametrize(
    "answer", ["1e-5", r"1 \times 10^{-5}", "10^{-5}", "0.00001", "1.0 x 10^-5", "1 * 10^-5"]
)
def test_scientific_notation(answer: str) -> None:
    assert judge_math("1e-5", answer)
    assert judge_math("0.00001", answer)
    assert not judge_math("1e-6", answer)


def test_extraction_keeps_the_power_of_ten() -> None:
    assert extract_answer("The lifetime is **7 x 10^12 years**") == ("7 x 10^12", "bold")


# --- 6. rounded physical quantities (the significant-figures policy of Minerva Math) -----------


@pytest.mark.parametrize(
    ("gold", "answer", "equal"),
    [
        ("5.1e9", r"5.06 \times 10^{9}", True),  # agrees at the gold's two figures
        ("2980", "2984.4", True),  # "2980" states three figures
        ("1.6667e-3", r"1.67 \times 10^{-3}", True),  # agrees at the answer's three
        ("0.41", "0.412 s", True),
        ("720", "716", True),  # 720 has two figures: 716 rounds to it, within 1%
        ("45.3", "45.1", False),  # differs at the figures both state
        ("2.31e5", r"2.35 \times 10^5", False),
        ("3", "3.3", False),  # rounds to 3 but is 10% off: the tolerance refuses it
        ("8.9", "8.9 \\times 10^{-3}", False),  # another power of ten
        (r"1.41 \lambda", r"\sqrt{2} \lambda", True),  # a rounded coefficient
        (r"1.4 \lambda", r"\sqrt{3} \lambda", False),
    ],
)
def test_measured_quantities(gold: str, answer: str, equal: bool) -> None:
    assert judge_math(gold, answer, numeric=SIG) is equal


def test_exact_tasks_keep_exact_numbers() -> None:
    assert not judge_math("2980", "2984.4")
    assert not judge_math("5.1e9", r"5.06 \times 10^{9}")
    assert numeric_policy("minerva_math") == SIG and numeric_policy("math500") == "exact"
    assert "minerva_math: significant-figures" in grader_info()["numeric_policies"]


def test_the_task_of_a_request_chooses_its_policy() -> None:
    text = r"The period is $\boxed{2984.4 \text{ s}}$."
    with Grader(workers=0) as grader:
        minerva, other = grader.grade([
            GradeRequest(text, "2980", task="minerva_math"),
            GradeRequest(text, "2980", task="olympiadbench"),
        ])
    assert (minerva.status, other.status) == ("correct", "wrong")


# --- 7. equivalent functions ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("gold", "answer", "equal"),
    [
        (r"\frac{\cosh(bt) - 1}{b^2}", r"\frac{e^{bt} + e^{-bt} - 2}{2b^2}", True),
        (r"\frac{3 - 2 i \omega}{9 + 4\omega^{2}}", r"\frac{1}{3 + 2 i \omega}", True),
        (r"A_{1} e^{t}+A_{2} e^{-t}+\frac{\sin t}{2}",
         r"\frac{1}{2}\sin t + A_1 e^{t} + A_2 e^{-t}", True),
        (r"C_{1} \cos 3t + C_{2} \sin 3t", r"C_2 \cos(3t) + C_1 \sin(3t)", True),  # renamed
        (r"\frac{1}{a-b}(e^{-b t}-e^{-a t})", r"\frac{1}{b-a}(e^{-bt} - e^{-at})", False),
        (r"\tanh x", r"\frac{\sinh x}{\cosh x} + x", False),
        (r"\sqrt{x^2}", "x", False),  # |x| is not x where x < 0
    ],
)
def test_equivalent_functions(gold: str, answer: str, equal: bool) -> None:
    assert judge_math(gold, answer) is equal


@pytest.mark.parametrize(
    ("gold", "answer"),
    [
        (r"\frac{1}{2}", r"\sin 30^\circ"),
        (r"\frac{1}{8}", r"\sin^2 18^\circ (\sin 18^\circ + 1)"),
        ("2", r"\log_2 4"),
    ],
)
def test_an_answer_that_only_restates_the_expression_is_wrong(gold: str, answer: str) -> None:
    assert not judge_math(gold, answer)


# --- 8. answers without a box -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "answer", "rule"),
    [
        ("Both pairs work:\n\n* **(2, 5)**\n* **(-1, 3)**\n", "(2, 5), (-1, 3)", "bold"),
        ("...so\n\n* t ≈ **4 x 10^9 years**\n\nLet me know if you have questions!",
         "4 x 10^9", "bold"),
        ("We computed it above.\n\n**Therefore, the slope is $-1.5$.**", "-1.5", "conclusion"),
        ("* **Thus:** *k = 2(n+1)*\n\nHope this helps.", "k = 2(n+1)", "conclusion"),
        ("The area is $\\boxed{3\\sqrt{2}}$.\n\nTherefore, a + b = 3 + 2 = 5.", "a + b = 3 + 2 = 5",
         "boxed"),  # a conclusion after the box, stating a value by an equation, wins
        ("Hence, about 75% of the sample decays within the hour.", "75%", "conclusion"),
    ],
)
def test_final_answers_without_a_box(text: str, answer: str, rule: str) -> None:
    assert extract_answer(text) == (answer, rule)


def test_headings_asides_and_unfinished_texts_give_no_number() -> None:
    assert extract_answer("**4. Counting the Cases**\n\nWe still have to count them.") == (
        None, None,
    )
    unfinished = ("We get the cases (1, 2), (3, 4).\n\nYou would need to list every case "
                  "and count them.\n\nLet me know if you want me to finish.")
    assert extract_answer(unfinished) == (None, None)
    announced = "We get f(3) = 11.\n\n**Therefore, the value of f(3) is:**"
    assert extract_answer(announced) == ("11", "last_number")


def test_a_final_answer_in_words_is_not_replaced_by_an_earlier_number() -> None:
    text = "The discriminant 25/4 is positive. Thus there are **no integer solutions**."
    answer, rule = extract_answer(text)
    assert rule == "conclusion" and answer is not None and "no integer solutions" in answer


# --- 9. runaway answers ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "answer"),
    [
        ("So $\\boxed{12}$ \\boxed{12} \\boxed{12} \\boxed{12} \\boxed{12}", "12"),
        ("Answer: \\boxed{7}.\n\n**Problem 2:** Now find y. ... \\boxed{40}", "7"),
        ("\\boxed{3}\n\nQuestion: What is 5 + 5?\n\nSolution: \\boxed{10}", "3"),
        ("\\boxed{2}, \\boxed{9}, \\boxed{9}", "2, 9"),
    ],
)
def test_runaway_answers(text: str, answer: str) -> None:
    assert extract_answer(text) == (answer, "boxed")


def test_subproblems_asked_for_are_no_runaway() -> None:
    text = "**Subproblem 1:** \\boxed{5}\n\n**Subproblem 2:** so \\boxed{8}"
    assert extract_answer(text) == ("8", "boxed")


# --- 10. what was right stays right ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("gold", "answer", "equal"),
    [
        (r"20,\!160", "20160", True),
        (r"5 \pm \sqrt{3}", "5 + √3, 5 − √3", True),
        (r"2 \pm 3 \sqrt{5}", r"2 - 3\sqrt{5}, 2 + 3\sqrt{5}", True),
        ("15", r"15\%", True),
        ("0.15", r"15\%", False),
        (r"\frac{1}{3000!}", r"\frac{1}{3001!}", False),
        ("10^{-40}", "10^{-41}", False),
    ],
)
def test_what_was_right_stays_right(gold: str, answer: str, equal: bool) -> None:
    assert judge_math(gold, answer) is equal


def test_normalisation_is_idempotent_on_latex() -> None:
    for text in (r"\frac{\sqrt{3}}{2}", r"x^{2}+1", r"\begin{pmatrix} 1 \\ 2 \end{pmatrix}"):
        assert normalise_answer(normalise_answer(text)) == normalise_answer(text)
