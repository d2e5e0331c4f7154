"""What `evalkit import` and `evalkit grade` print after the results table."""

from __future__ import annotations

from pathlib import Path

from rich.console import Console

from evalkit.results.agreement import Agreement, combine
from evalkit.results.schema import Results


def import_lines(results: Results, run_dir: Path) -> list[str]:
    """The import's account: what was read, matched, left out, and the agreement."""
    info = results.import_ or {}
    lines = [
        f"read {info['rows']} rows of {info['source']} as {info['format']} "
        f"(sha256 {info['file_sha256'][:16]}); gold from the {info['gold']}",
    ]
    for name, task in results.tasks.items():
        lines.append(
            f"{name}: {task.problems} problems matched, {task.n} samples each"
            + (f" ({info['samples_beyond_n']} later samples stored, not scored)"
               if info["samples_beyond_n"] else "")
        )
    for key, what in (
        ("unmatched_rows", "rows matched no problem of the task (not graded)"),
        ("failed_rows", "rows hold no completion (failed at the producer)"),
        ("gold_differs", "problems where the file's gold differs from the task's"),
    ):
        if info[key]["count"]:
            lines.append(f"{info[key]['count']} {what}; first: {'; '.join(info[key]['examples'])}")
    unstated = [f"{k} {info[k]}" for k in ("finish_reason", "num_tokens")
                if info[k].startswith("not stated")]
    if unstated:
        lines.append("the file does not state: " + ", ".join(unstated))
    agreements = {name: task.agreement for name, task in results.tasks.items()
                  if task.agreement is not None}
    for name, agreement in agreements.items():
        lines.append(f"{name}: {agreement_line(agreement)}")
    if len(agreements) > 1:
        lines.append(f"overall: {agreement_line(combine(agreements.values()))}")
    if any(a.samples > a.agree for a in agreements.values()):
        lines.append(f"see them side by side: evalkit inspect {run_dir} --disagree")
    return lines


def agreement_line(agreement: Agreement) -> str:
    """"agreement with the producer's verdicts: 799/800 (99.9%); ..." in one line."""
    if not agreement.samples:
        return "no sample carries the producer's verdict"
    return (
        f"agreement with the producer's verdicts {agreement.agree}/{agreement.samples} "
        f"({100 * agreement.rate:.1f}%); ours correct & theirs wrong "
        f"{agreement.ours_correct_theirs_wrong}, ours wrong & theirs correct "
        f"{agreement.ours_wrong_theirs_correct}; samples correct: ours {agreement.ours_correct}, "
        f"theirs {agreement.theirs_correct}"
    )


def print_import(results: Results, run_dir: Path, console: Console) -> None:
    for line in import_lines(results, run_dir):
        console.print(f"  {line}", highlight=False, markup=False)
