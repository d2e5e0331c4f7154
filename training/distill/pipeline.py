"""The chain generate -> vote -> filter -> split -> SFT stage 1 -> SFT stage 2 over a WorkDir.

Each step reads the files of the step before it, writes its own, and records a marker with its
counts; a step whose marker matches its settings is skipped (see :mod:`.workdir`).
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console

from evalkit.errors import EvalkitError
from evalkit.records import Problem, SampleRecord

from .generate import EngineFactory
from .recipe import Recipe
from .tally import Tally
from .teacher import create_teacher_engine
from .workdir import RELEASED_DATA_STEPS, STEPS, WorkDir, jsonl_writer, read_jsonl, shards


@dataclass(frozen=True)
class StepResult:
    step: str
    skipped: bool
    counts: dict[str, Any]


class Pipeline:
    """Runs the steps of one recipe; the teacher engine is built only if a sample is missing."""

    def __init__(
        self,
        recipe: Recipe,
        make_engine: EngineFactory | None = None,
        console: Console | None = None,
    ) -> None:
        self.recipe = recipe
        released = recipe.sft_data is not None
        self.work = WorkDir(recipe.work_dir, released_data=released)
        self.steps = RELEASED_DATA_STEPS if released else STEPS
        self.make_engine = make_engine or create_teacher_engine
        self.console = console or Console(stderr=True)

    def step(self, step: str) -> StepResult:
        """Run one step unless its marker says it is complete with these settings."""
        if step not in self.steps:
            why = " (this recipe trains on released sft_data)" if step in STEPS else ""
            raise EvalkitError(f"unknown step {step!r}{why}: one of {', '.join(self.steps)}")
        fingerprint = self.work.fingerprint(step, self._settings(step))
        if self.work.is_complete(step, fingerprint):
            return StepResult(step, True, self.work.read_marker(step)["counts"])
        counts = getattr(self, f"_{step}")()
        if counts.pop("main_process", True):
            self.work.mark_complete(step, fingerprint, counts)
        return StepResult(step, False, counts)

    def _settings(self, step: str) -> dict[str, Any]:
        from evalkit.grading import GRADER_VERSION

        recipe = self.recipe
        if step == "generate":
            teacher = recipe.section("teacher")
            for how in ("batch_size", "engine_options"):  # how the engine runs, not what it
                teacher.pop(how)  # samples: per-sample seeds make batching irrelevant
            pools = {name: recipe.section("datasets")[name] for name in recipe.problems.pools}
            return {"problems": recipe.section("problems"), "pools": pools, "teacher": teacher}
        if step == "vote":
            vote = recipe.section("vote")
            return {k: vote[k] for k in ("min_share", "min_votes", "pool_modes")} | {
                "grader": GRADER_VERSION
            }
        if step == "filter":
            return {"drop_truncated": recipe.filter.drop_truncated, "grader": GRADER_VERSION}
        if step == "split":
            data = recipe.section("sft_data")
            source = recipe.section("datasets")[data["dataset"]] if data else None
            return {**recipe.section("split"), "sft_data": data, "source": source,
                    "decontamination": recipe.section("decontamination")}
        stage = recipe.section("sft")[step]
        loss = {"loss_on": recipe.sft.loss_on}
        return {"model": recipe.sft.model, **stage, **loss} if step == "stage1" else {
            **stage, **loss}

    def _generate(self) -> dict[str, Any]:
        from .generate import generate_solutions, load_problems, write_problems

        problems, sha256 = load_problems(self.recipe.problems, self.recipe.datasets)
        write_problems(self.work, problems)
        per_mode = generate_solutions(
            problems, self.recipe.teacher, self.work, self.make_engine, self.console
        )
        return {"problems": len(problems), "data_sha256": sha256, "per_mode": per_mode}

    def _shards(self) -> Iterator[tuple[list[Problem], dict[str, list[SampleRecord]]]]:
        """Each shard's problems and their stored solutions per mode."""
        from .generate import read_problems, solutions_of

        teacher = self.recipe.teacher
        for index, problems in enumerate(shards(read_problems(self.work), teacher.shard_size)):
            yield problems, {
                mode: solutions_of(self.work, mode, index, problems, teacher.n)
                for mode in teacher.modes
            }

    def _vote(self) -> dict[str, Any]:
        from evalkit.grading import Grader
        from evalkit.runfolder.cache import GradeCache

        from .vote import DECISIONS, make_ballots, run_votes

        settings = self.recipe.vote
        tally = Tally(DECISIONS, total="votes")
        cache = GradeCache(self.work.grade_cache, writable=True)
        try:
            with Grader(settings.workers, settings.timeout_s, cache.entries) as judge, \
                    jsonl_writer(self.work.votes) as write:
                for problems, solutions in self._shards():
                    ballots = make_ballots(problems, solutions, settings.pool_modes)
                    for vote in run_votes(ballots, settings, judge):
                        tally.add(vote.mode, vote.decision)
                        write(vote.to_json())
        finally:  # verdicts so far make a rerun fast, even after an interruption
            cache.save()
        return tally.to_json()

    def _filter(self) -> dict[str, Any]:
        from evalkit.grading import Grader
        from evalkit.runfolder.cache import GradeCache

        from .filter import filter_solutions, filter_tally
        from .vote import Vote

        settings = self.recipe.filter
        votes = {}
        for row in read_jsonl(self.work.votes):
            vote = Vote.from_json(row)
            votes[(vote.problem_id, vote.mode)] = vote
        tally = filter_tally()
        cache = GradeCache(self.work.grade_cache, writable=True)
        try:
            with Grader(settings.workers, settings.timeout_s, cache.entries) as grader, \
                    jsonl_writer(self.work.kept) as write:
                for problems, solutions in self._shards():
                    for row in filter_solutions(problems, solutions, votes, settings, grader,
                                                tally):
                        write(row)
        finally:
            cache.save()
        return tally.to_json()

    def _split(self) -> dict[str, Any]:
        from .generate import read_problems
        from .sft_data import decontaminate_split, import_released
        from .split import split_examples

        recipe = self.recipe
        if recipe.sft_data is not None:
            counts = import_released(self.work, recipe.sft_data,
                                     recipe.datasets[recipe.sft_data.dataset])
        else:
            with jsonl_writer(self.work.split_file("short")) as short, \
                    jsonl_writer(self.work.split_file("long")) as long:
                counts = split_examples(
                    read_jsonl(self.work.kept), read_problems(self.work), recipe.split,
                    recipe.teacher.instruction, {"short": short, "long": long},
                )
        counts["decontamination"] = decontaminate_split(self.work, recipe.decontamination)
        return counts

    def _stage_dir(self, step: str) -> Path:
        """The stage's output folder, claimed for these settings (``done/<stage>.started``):
        checkpoints in it are resumed only if made with the same settings, else never touched."""
        folder = self.work.stage_dir(step)
        claim = self.work.marker(step).with_suffix(".started")
        fingerprint = self.work.fingerprint(step, self._settings(step))
        claimed = claim.read_text() if claim.is_file() else None
        if claimed != fingerprint and (folder.is_dir() and any(folder.iterdir())):
            raise EvalkitError(
                f"{folder} holds a model trained with other settings: move it aside to train "
                f"{step} again"
            )
        claim.parent.mkdir(parents=True, exist_ok=True)
        tmp = claim.with_suffix(f".tmp{os.getpid()}")
        tmp.write_text(fingerprint)
        os.replace(tmp, claim)
        return folder

    def _stage1(self) -> dict[str, Any]:
        from evalkit.generation.models import resolve_model

        from .sft import train_stage

        folder = self._stage_dir("stage1")
        student = resolve_model(self.recipe.sft.model).path
        return train_stage(
            "stage1", student, self.work.split_file("short"), self.recipe.sft.stage1, folder,
            self.recipe.sft.loss_on,
        )

    def _stage2(self) -> dict[str, Any]:
        from .sft import train_stage

        return train_stage(
            "stage2", str(self.work.stage_dir("stage1")), self.work.split_file("long"),
            self.recipe.sft.stage2, self._stage_dir("stage2"), self.recipe.sft.loss_on,
        )
