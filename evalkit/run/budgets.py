"""`evalkit report RUN --budgets B1,B2,...`: the budget curve of a finished run, from its stored
samples (no generation): the same grade and score stages as `evalkit run --budgets`."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

from evalkit.errors import EvalkitError
from evalkit.grading import Grader, GraderConfig
from evalkit.grading.version import recorded_extraction
from evalkit.reports.table import to_markdown
from evalkit.results.schema import Results
from evalkit.run.stored import read_stored_task
from evalkit.runfolder.folder import RunFolder
from evalkit.stages.grade import grade_task, tokenizer_decoder
from evalkit.stages.score import score_task
from evalkit.statistics.budget import check_budgets


def add_budget_curves(run_dir: Path, budgets: Sequence[int], grader_workers: int = 1,
                      grader_timeout: float = 10.0) -> Results:
    """Compute every task's budget curve, in the run's extraction mode, and rewrite the run's
    results (and plot)."""
    with RunFolder.writing(run_dir, "evalkit report --budgets") as folder:
        results = folder.read_results()
        if results.model.kind == "import":
            raise EvalkitError(
                f"{run_dir} was imported from another tool's outputs, which carry no token ids "
                "to cut at a budget: budget curves need a run made by `evalkit run`")
        model_path = results.model.path
        if not model_path or not Path(model_path).is_dir():
            raise EvalkitError(
                f"budget curves decode token ids with the model's tokenizer, and {model_path} "
                "is gone; rerun `evalkit run --budgets ...` with the same --model to restore it")
        decode = tokenizer_decoder(model_path)
        cache = folder.grade_cache()
        blocks = {}
        config = GraderConfig(extraction=recorded_extraction(results.grader))
        with Grader(workers=grader_workers, timeout_s=grader_timeout,
                    cache=cache.entries, config=config) as grader:
            for name, block in results.tasks.items():
                chosen = check_budgets(budgets, int(block.sampling["max_tokens"] or 0))
                stored = read_stored_task(folder, block)
                graded = grade_task(stored.problems, stored.samples, grader, task=block.task,
                                    decode=decode, budgets=chosen, previous=stored.grades)
                scores = score_task(graded, results.sampling.k)
                blocks[name] = replace(block, budget_curve=scores.budget_curve)
        cache.save()
        updated = replace(results, tasks=blocks)
        folder.write_results(updated, to_markdown(updated))
        from evalkit.reports.plot import plot_budget_curves

        plot_budget_curves(updated, folder.plot_path)
    return updated
