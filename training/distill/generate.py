"""Generate step: n teacher solutions per problem in each reasoning mode, stored as they finish.

The problems are cut into shards of ``teacher.shard_size``; the solutions of a shard in a mode
go to ``solutions/<mode>/<shard>.jsonl``, an evalkit SampleStore (one fsync'd line per sample:
problem id, sample index, seed, text, token counts, finish reason), and ``meta.json`` next to
the shards names the settings they were made with. A rerun generates only what is missing, so
an interrupted run resumes, and raising ``n`` or the problem limit adds samples. Sample ``i`` of
every problem is seeded ``teacher.seed + i`` (ReasonLite seeds each request with its sample
index), whatever the batching. One engine call takes one shard of one mode.
"""

from __future__ import annotations

import hashlib
import itertools
import json
from collections import Counter
from collections.abc import Callable, Iterator, Sequence
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from evalkit.errors import EvalkitError
from evalkit.generation.engines import Engine, GenerationRequest, SamplingConfig
from evalkit.records import Problem, SampleRecord
from evalkit.runfolder.store import SampleStore
from evalkit.tasks import get_task
from evalkit.training.decontaminate import normalise
from evalkit.training.published import DatasetSource, omr_problem, polaris_problem

from .recipe import ProblemSettings, TeacherSettings
from .teacher import teacher_prompt
from .workdir import WorkDir, read_jsonl, shards, write_jsonl

EngineFactory = Callable[[TeacherSettings], Engine]


def load_problems(
    settings: ProblemSettings, datasets: dict[str, DatasetSource] | None = None
) -> tuple[list[Problem], str]:
    """The recipe's problems, and a sha256 of their data: the task file's, or for published
    pools the sha256 of the problems read (id, question, gold), since the pool is streamed."""
    if not settings.pools:
        task = get_task(settings.task, settings.split)
        return task.load(limit=settings.limit), task.sha256()
    problems = list(itertools.islice(pool_problems(settings, datasets or {}), settings.limit))
    digest = hashlib.sha256(json.dumps(
        [[p.id, p.question, p.gold] for p in problems], ensure_ascii=False).encode())
    return problems, digest.hexdigest()


def pool_problems(settings: ProblemSettings, datasets: dict[str, DatasetSource]
                  ) -> Iterator[Problem]:
    """The problems of the published pools in order, each problem text once (OpenMathReasoning
    holds one row per solution)."""
    seen: set[str] = set()
    types = tuple(settings.omr_problem_types)
    for pool in settings.pools:
        for index, row in enumerate(datasets[pool].rows()):
            problem = (polaris_problem(row, index) if pool == "polaris"
                       else omr_problem(row, index, types))
            key = normalise(problem.question) if problem is not None else ""
            if problem is None or key in seen:
                continue
            seen.add(key)
            yield problem


def write_problems(work: WorkDir, problems: list[Problem]) -> None:
    write_jsonl(work.problems, (
        {"id": p.id, "question": p.question, "gold": p.gold, "answer_kind": p.answer_kind}
        for p in problems
    ))


def read_problems(work: WorkDir) -> list[Problem]:
    if not work.problems.is_file():
        raise EvalkitError(f"{work.problems} is missing: run `evalkit train distill generate`")
    return [Problem(**row) for row in read_jsonl(work.problems)]


def sampling_config(teacher: TeacherSettings) -> SamplingConfig:
    greedy = teacher.temperature == 0.0
    return SamplingConfig(teacher.temperature, 1.0 if greedy else teacher.top_p, teacher.max_tokens)


def store_key(teacher: TeacherSettings, mode: str) -> dict[str, Any]:
    """What stored solutions must have been made with to be reused (n is not part of it)."""
    return {
        "model": teacher.model,
        "engine": teacher.engine,
        "dtype": teacher.dtype,
        "mode": mode,
        "instruction": teacher.instruction,
        "sampling": sampling_config(teacher).to_json(),
        "seed": teacher.seed,
        "shard_size": teacher.shard_size,
    }


def check_stores(work: WorkDir, teacher: TeacherSettings) -> None:
    """Refuse to mix stored solutions made with other settings; record the settings."""
    for mode in teacher.modes:
        meta = work.solutions_dir(mode) / "meta.json"
        key = store_key(teacher, mode)
        if meta.is_file() and json.loads(meta.read_text()) != key:
            raise EvalkitError(
                f"{meta.parent} holds solutions made with other teacher settings (see "
                "meta.json): use another work_dir, or move the folder aside to regenerate"
            )
        meta.parent.mkdir(parents=True, exist_ok=True)
        meta.write_text(json.dumps(key, indent=1))


def generate_solutions(
    problems: list[Problem],
    teacher: TeacherSettings,
    work: WorkDir,
    make_engine: EngineFactory,
    console: Console | None = None,
) -> dict[str, Any]:
    """Generate every missing (problem, mode, sample), shard by shard; return counts per mode."""
    console = console or Console(stderr=True)
    check_stores(work, teacher)
    counts = {mode: Counter() for mode in teacher.modes}
    engine: Engine | None = None
    total = len(problems) * len(teacher.modes) * teacher.n
    with _progress(console) as bar:
        job = bar.add_task("teacher solutions", total=total)
        for index, shard in enumerate(shards(problems, teacher.shard_size)):
            for mode in teacher.modes:
                store = SampleStore(work.solutions(mode, index), writable=True)
                samples = [(p, i) for p in shard for i in range(teacher.n)]
                missing = [(p, i) for p, i in samples if (p.id, i) not in store]
                bar.advance(job, len(samples) - len(missing))
                if missing:
                    engine = engine or make_engine(teacher)
                    _generate(engine, teacher, mode, missing, store, lambda k: bar.advance(job, k))
                counts[mode].update(_counts(store, shard, teacher.n))
    return {mode: dict(c) for mode, c in counts.items()}


def _generate(
    engine: Engine,
    teacher: TeacherSettings,
    mode: str,
    rows: list[tuple[Problem, int]],
    store: SampleStore,
    advance: Callable[[int], None],
) -> None:
    def on_batch(done: list) -> None:
        store.append(
            SampleRecord(
                problem_id=request.problem_id, sample_index=request.sample_index,
                seed=request.seed, text=completion.text, num_tokens=completion.num_tokens,
                finish_reason=completion.finish_reason, prompt_tokens=completion.prompt_tokens,
            )
            for request, completion in done
        )
        advance(len(done))

    prompts = {
        problem.id: teacher_prompt(engine.tokenizer, problem.question, mode, teacher.instruction)
        for problem, _ in rows
    }
    requests = [
        GenerationRequest(problem.id, index, teacher.seed + index, prompts[problem.id])
        for problem, index in rows
    ]
    engine.generate(requests, sampling_config(teacher), on_batch)


def _counts(store: SampleStore, problems: Sequence[Problem], n: int) -> dict[str, int]:
    records = [store.get(p.id, i) for p in problems for i in range(n)]
    return {
        "solutions": len(records),
        "finished": sum(r.finish_reason == "stop" for r in records),
        "truncated": sum(r.finish_reason == "length" for r in records),
        "tokens": sum(r.num_tokens for r in records),
    }


def solutions_of(
    work: WorkDir, mode: str, shard: int, problems: Sequence[Problem], n: int
) -> list[SampleRecord]:
    """The stored solutions of one shard in a mode, in (problem, sample index) order."""
    store = SampleStore(work.solutions(mode, shard))
    try:
        return [store.get(p.id, i) for p in problems for i in range(n)]
    except KeyError as err:
        raise EvalkitError(
            f"{store.path} lacks sample {err.args[0]}: rerun the generate step"
        ) from err


def _progress(console: Console) -> Progress:
    return Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
        console=console,
    )
