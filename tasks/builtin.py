"""Row parsers of the built-in benchmarks: upstream JSON row -> Problem (id, text, gold, meta).

Ids are the row's own id field where the set has one, else the 0-based row index as a string.
The data files are pinned by sha256, so these parsers may assume the upstream fields exist.
"""

from __future__ import annotations

from typing import Any

from evalkit.records import Problem

from . import answers
from .repair import repair_latex_escapes

Row = dict[str, Any]


def parse_aime24(row: Row, index: int) -> Problem:
    """AIME 2024: id `id`, text `problem`, gold `answer` ("025" -> "25")."""
    return Problem(
        id=str(row["id"]),
        question=row["problem"].strip(),
        gold=answers.aime_gold(row["answer"]),
        meta={"url": row["url"]},
    )


def parse_aime25(row: Row, index: int) -> Problem:
    """AIME 2025: id `id`, text `problem` with lost ``\\f``/``\\t`` restored, gold `answer`."""
    contest = "I" if index < 15 else "II"
    return Problem(
        id=str(row["id"]),
        question=repair_latex_escapes(row["problem"]).strip(),
        gold=answers.aime_gold(row["answer"]),
        meta={"contest": f"2025 AIME {contest}", "number": index % 15 + 1},
    )


def parse_amc23(row: Row, index: int) -> Problem:
    """AMC 2023 (Qwen2.5-Math's 40): id `id`, text `problem`, gold `answer` (27.0 -> "27")."""
    return Problem(
        id=str(row["id"]),
        question=row["problem"].strip(),
        gold=answers.number_gold(row["answer"]),
        meta={"url": row["url"]},
    )


def parse_gsm8k(row: Row, index: int) -> Problem:
    """GSM8K: id = row index, text `question`, gold after "#### " without commas."""
    return Problem(
        id=str(index),
        question=row["question"].strip(),
        gold=answers.gsm8k_gold(row["answer"]),
    )


def parse_math500(row: Row, index: int) -> Problem:
    """MATH-500: id `unique_id`, text `problem`, gold `answer` as is."""
    return Problem(
        id=row["unique_id"],
        question=row["problem"].strip(),
        gold=row["answer"],
        meta={"subject": row["subject"], "level": row["level"]},
    )


def parse_math(row: Row, index: int) -> Problem:
    """MATH test: id = row index, text `problem`, gold = last ``\\boxed{}`` of `solution`."""
    return Problem(
        id=str(index),
        question=row["problem"].strip(),
        gold=answers.boxed_gold(row["solution"]),
        meta={"subject": row["type"], "level": int(row["level"].removeprefix("Level "))},
    )


def parse_minerva_math(row: Row, index: int) -> Problem:
    """Minerva-Math: id = row index, text `problem`, gold = last ``\\boxed{}`` of `solution`."""
    return Problem(
        id=str(index),
        question=row["problem"].strip(),
        gold=answers.boxed_gold(row["solution"]),
        meta={"course": row["type"]},
    )


def parse_olympiadbench(row: Row, index: int) -> Problem:
    """OlympiadBench: id `id`, text `question` (after `context` if any), gold `final_answer`."""
    question = row["question"].strip()
    context = row.get("context")
    if context and str(context).strip() not in ("", "None"):
        question = f"{str(context).strip()}\n{question}"
    meta: dict[str, Any] = {
        "subfield": row["subfield"],
        "answer_type": row["answer_type"],
        "is_multiple_answer": row["is_multiple_answer"],
    }
    if row.get("unit"):
        meta["unit"] = row["unit"]
    if row.get("error"):
        meta["error"] = row["error"]  # the allowed numerical error, e.g. "1e-1"
    return Problem(
        id=str(row["id"]),
        question=question,
        gold=answers.olympiadbench_gold(row["final_answer"]),
        meta=meta,
    )


def parse_svamp(row: Row, index: int) -> Problem:
    """SVAMP: id `ID`, text `Body` + " " + `Question` (a "." added to a Body without one)."""
    body = row["Body"].strip()
    if not body.endswith((".", "?", "!")):
        body += "."
    return Problem(
        id=row["ID"],
        question=f"{body} {row['Question'].strip()}",
        gold=answers.number_gold(row["Answer"]),
        meta={"type": row["Type"], "equation": row["Equation"].strip()},
    )


def parse_asdiv(row: Row, index: int) -> Problem:
    """ASDiv: id = row index, text `body` + " " + `question`, gold `answer` without units."""
    return Problem(
        id=str(index),
        question=f"{row['body'].strip()} {row['question'].strip()}",
        gold=answers.asdiv_gold(row["answer"]),
        meta={"solution_type": row["solution_type"], "formula": row["formula"]},
    )


def parse_mmlu_stem(row: Row, index: int) -> Problem:
    """MMLU-STEM: id = row index, text = question + "A. ..." lines, gold = letter of `answer`."""
    choices = tuple(str(choice).strip() for choice in row["choices"])
    lines = [row["question"].strip()]
    lines += [f"{answers.CHOICE_LETTERS[i]}. {choice}" for i, choice in enumerate(choices)]
    return Problem(
        id=str(index),
        question="\n".join(lines),
        gold=answers.choice_gold(row["answer"], len(choices)),
        answer_kind="choice",
        choices=choices,
        meta={"subject": row["type"]},
    )
