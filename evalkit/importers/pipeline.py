"""`evalkit import`: someone else's completions -> a run folder every evalkit command accepts.

The source is read as a stream: rows are matched to the task's problems, their completions
appended to the sample store and graded in chunks by the same killable worker pool as
`evalkit run`, so memory holds the current chunk plus a small record per sample (grade and
counts), never the file. The samples are written to a new store that appears only when the
import succeeds. Grading, scoring and the results are those of `evalkit run`
(:mod:`evalkit.stages.grade`, :mod:`evalkit.stages.score`, :mod:`evalkit.results.build`).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

from evalkit.errors import EvalkitError
from evalkit.generation.models import file_sha256
from evalkit.grading import Grader
from evalkit.importers.base import Adapter, ReadOptions
from evalkit.importers.formats import get_adapter, sniff_format
from evalkit.importers.matching import ProblemIndex, choose_task
from evalkit.importers.rows import ExternalRow, ExternalSample
from evalkit.records import Problem, SampleRecord
from evalkit.reports.table import to_markdown
from evalkit.results.agreement import Agreement, tally
from evalkit.results.build import TaskFacts, results_document, task_block
from evalkit.results.schema import ModelInfo, PromptInfo, Results, RunSampling, TaskBlock
from evalkit.run.plan import resolve_ks
from evalkit.runfolder.folder import RunFolder
from evalkit.runfolder.grades import ExternalLabel, GradeRow
from evalkit.stages.grade import GradedTask, add_classes, grade_samples, grader_identity
from evalkit.stages.score import score_task
from evalkit.tasks import get_task

PROBE_ROWS = 200  # rows read ahead to find the task when --task is not given
EXAMPLES = 5  # unmatched / failed rows named in the report
SAMPLING_KEYS = ("temperature", "top_p", "max_tokens")  # None where the file does not state them
UNSTATED_SEED = -1  # SampleRecord.seed of an imported sample: the producer's seed is unknown


@dataclass
class ImportSpec:
    """Everything `evalkit import` was asked to do."""

    path: Path
    format: str
    output_dir: Path
    task: str | None = None
    options: ReadOptions = field(default_factory=ReadOptions)
    n: int | None = None  # samples per problem to score (default: the fewest any problem has)
    ks: list[int] = field(default_factory=list)
    name: str | None = None  # the model's name in reports (default: what the file states)
    grader_workers: int = 1
    grader_timeout: float = 10.0
    chunk_size: int = 256  # samples graded at a time


@dataclass(slots=True)
class _Graded:
    """What is kept of one imported sample once graded: no text."""

    record: SampleRecord
    row: GradeRow
    theirs: bool | None
    theirs_extracted: str | None


@dataclass
class _Tally:
    """Rows that did not become samples, with the first few named."""

    count: int = 0
    examples: list[str] = field(default_factory=list)

    def add(self, example: str) -> None:
        self.count += 1
        if len(self.examples) < EXAMPLES:
            self.examples.append(example)

    def to_json(self) -> dict[str, Any]:
        return {"count": self.count, "examples": self.examples}


def import_file(spec: ImportSpec) -> Results:
    """Import, grade and score ``spec.path``; write the run folder; return its results."""
    started = time.time()
    if not spec.path.is_file():
        raise EvalkitError(f"{spec.path} is not a file; give the path of the tool's output file")
    adapter = get_adapter(spec.format, spec.options)
    with RunFolder.writing(spec.output_dir, "evalkit import") as folder:
        _check_output_dir(folder)
        source_sha = file_sha256(spec.path)
        rows = _rows(adapter, spec.path)
        probe = [] if spec.task else list(itertools.islice(rows, PROBE_ROWS))
        task = get_task(spec.task) if spec.task else choose_task(probe, str(spec.path))
        state = _ImportState(ProblemIndex(task))
        stem = f"{task.name}-{_digest(spec, source_sha)}"
        samples_file, grades_file = folder.samples_file(stem), folder.grades_file(stem)
        cache = folder.grade_cache()
        grade_started = time.time()
        writer = folder.store_writer(samples_file)
        try:
            with Grader(spec.grader_workers, spec.grader_timeout, cache.entries) as grader:
                grader_id = grader_identity(grader)
                for chunk in _chunks(itertools.chain(probe, rows), state, spec.chunk_size):
                    writer.append(record for record, _, _ in chunk)
                    items = [(replace(p, gold=state.golds.get(p.id, p.gold)), record)
                             for record, p, _ in chunk]
                    graded = grade_samples(items, grader, task=task.name, grader_id=grader_id)
                    for (record, _, sample), row in zip(chunk, graded, strict=True):
                        state.keep(record, row, sample)
                if not state.graded:
                    raise EvalkitError(_nothing_matched(spec, task.name, state))
                graded_task, ks = _graded_task(spec, state, grader)
                grader_info = grader.info()
        except BaseException:
            writer.discard()
            raise
        writer.commit()
        cache.save()
        scores = score_task(graded_task, ks, tokens_known=state.tokens_stated)
        folder.write_grades(grades_file, [r for row in graded_task.rows for r in row])
        external_file, agreement = _write_external(folder, grades_file, graded_task, state)
        block = task_block(
            TaskFacts(task.name, task.variant, task.source, task.sha256(), task.answer_kind),
            [p.id for p in graded_task.problems], len(graded_task.rows[0]),
            {k: adapter.settings.get(k) for k in SAMPLING_KEYS}, scores, samples_file,
            grades_file, {"generate": 0.0, "grade": time.time() - grade_started},
            external_file, agreement,
        )
        results = _results(spec, adapter, source_sha, block, ks, grader_info, state,
                           time.time() - started)
        folder.write_results(results, to_markdown(results))
    return results


class _ImportState:
    """Matching and bookkeeping while the file streams by."""

    def __init__(self, index: ProblemIndex) -> None:
        self.index = index
        self.counts: Counter[str] = Counter()  # samples seen per problem id
        self.graded: dict[str, list[_Graded]] = {}
        self.golds: dict[str, str] = {}  # the file's own gold, where it has one
        self.rows = 0
        self.unmatched = _Tally()
        self.failed = _Tally()
        self.gold_differs = _Tally()
        self.finish_stated = self.tokens_stated = False

    def samples(self, row: ExternalRow) -> Iterator[tuple[SampleRecord, Problem, ExternalSample]]:
        """The samples of one row, numbered per problem in the order they come."""
        self.rows += 1
        if row.error is not None:
            self.failed.add(f"{row.where}: {row.error}")
            return
        problem = self.index.match(row)
        if problem is None:
            shown = repr(row.question[:60]) if row.question is not None else f"id {row.source_id}"
            self.unmatched.add(f"{row.where}: {shown}")
            return
        if row.gold is not None and problem.id not in self.golds:
            self.golds[problem.id] = row.gold
            if row.gold != problem.gold:
                self.gold_differs.add(f"{problem.id}: file {row.gold!r}, task {problem.gold!r}")
        for sample in row.samples:
            self.finish_stated |= sample.finish_reason is not None
            self.tokens_stated |= sample.num_tokens is not None
            record = SampleRecord(
                problem_id=problem.id,
                sample_index=self.counts[problem.id],
                seed=UNSTATED_SEED,
                text=sample.text,
                num_tokens=sample.num_tokens or 0,
                finish_reason=sample.finish_reason or "stop",
            )
            self.counts[problem.id] += 1
            yield record, problem, sample

    def keep(self, record: SampleRecord, row: GradeRow, sample: ExternalSample) -> None:
        """Keep a graded sample without its text."""
        self.graded.setdefault(record.problem_id, []).append(
            _Graded(replace(record, text=""), row, sample.label, sample.extracted)
        )


Chunk = list[tuple[SampleRecord, Problem, ExternalSample]]


def _chunks(rows: Iterator[ExternalRow], state: _ImportState, size: int) -> Iterator[Chunk]:
    """The matched samples of the rows, ``size`` or a little more at a time."""
    chunk: Chunk = []
    for row in rows:
        chunk.extend(state.samples(row))
        if len(chunk) >= size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _rows(adapter: Adapter, path: Path) -> Iterator[ExternalRow]:
    """The adapter's rows; a first row it cannot read is checked against the other formats."""
    rows = adapter.rows(path)
    try:
        first = next(rows)
    except StopIteration:
        raise EvalkitError(f"{path} has no rows: give the file the tool wrote") from None
    except EvalkitError as err:
        other = sniff_format(path)
        if other is not None and other != adapter.name:
            raise EvalkitError(
                f"{path} looks like {other} output, not {adapter.name}: pass --format {other}"
            ) from None
        raise err
    other = sniff_format(path)
    if adapter.name == "jsonl" and adapter.options.response is None and other is not None:
        raise EvalkitError(  # e.g. a Qwen2.5-Math file: its "response" is a stringified list
            f"{path} looks like {other} output: pass --format {other}, or --response-field to "
            "read it as generic jsonl"
        )
    yield first
    yield from rows


def _graded_task(spec: ImportSpec, state: _ImportState, grader: Grader
                 ) -> tuple[GradedTask, list[int]]:
    """The first n samples of each matched problem, classed as `evalkit run` classes them."""
    problems = [
        replace(p, gold=state.golds.get(p.id, p.gold))
        for p in state.index.problems
        if p.id in state.graded
    ]
    fewest = min(len(state.graded[p.id]) for p in problems)
    n = spec.n or fewest
    if n > fewest:
        short = next(p.id for p in problems if len(state.graded[p.id]) < n)
        raise EvalkitError(
            f"problem {short} has {len(state.graded[short])} samples, fewer than --n {n}: "
            f"lower --n to at most {fewest}"
        )
    kept = [state.graded[p.id][:n] for p in problems]
    rows = add_classes(problems, [[g.row for g in row] for row in kept], grader)
    samples = [[g.record for g in row] for row in kept]
    return GradedTask(problems, samples, rows, {}), list(resolve_ks(spec.ks, n))


def _write_external(folder: RunFolder, grades_file: str, graded: GradedTask,
                    state: _ImportState) -> tuple[str | None, Agreement | None]:
    """The producer's verdicts and extractions, one line per scored sample in grades order
    (see :mod:`evalkit.runfolder.grades`), and our agreement with them; (None, None) when the
    file has neither."""
    kept = [state.graded[p.id][: len(row)] for p, row in zip(graded.problems, graded.rows,
                                                             strict=True)]
    if all(g.theirs is None and g.theirs_extracted is None for row in kept for g in row):
        return None, None
    labels = [ExternalLabel(g.record.problem_id, g.record.sample_index, g.theirs,
                            g.theirs_extracted) for row in kept for g in row]
    agreement = tally((g.row.status, g.theirs) for row in kept for g in row)
    return folder.write_external(grades_file, labels), agreement


def _results(
    spec: ImportSpec, adapter: Adapter, source_sha: str, block: TaskBlock, ks: list[int],
    grader_info: dict[str, Any], state: _ImportState, total_s: float,
) -> Results:
    """The results of an import: `evalkit run`'s document, with the producing tool and the
    source file in place of a loadable model, and the import's own account."""
    settings = adapter.settings
    source = str(spec.path.resolve())
    return results_document(
        model=ModelInfo(
            name=spec.name or settings.get("model") or spec.path.stem, kind="import",
            source=source, producer=adapter.producer, file_sha256=source_sha,
        ),
        engine={"name": "import", "format": adapter.name},
        prompt=PromptInfo(
            preset="external",
            chat_template=_text_or_flag(settings.get("chat_template")),
            system=_text_or_none(settings.get("system_prompt")),
            user_template=_text_or_none(settings.get("prompt_template", "{question}")),
        ),
        sampling=RunSampling(
            n=block.n, k=ks, seed=None, seed_rule=None,
            temperature=settings.get("temperature"), top_p=settings.get("top_p"),
            max_tokens=settings.get("max_tokens"), limit=None,
        ),
        grader=grader_info,
        tasks={block.task: block},
        timings={"total_s": total_s, "engine_load_s": 0.0, "generate_s": 0.0},
        manifest={  # what generated the samples: the producing tool, as the file states it
            "engine": {"name": f"import:{adapter.name}", "version": adapter.producer},
            "engine_settings": {
                k: v for k, v in settings.items() if k not in ("first_prompt", "system_prompt")
            },
            "accelerators": {"device": "not stated"},
        },
        import_={
            "source": source,
            "file_sha256": source_sha,
            "format": adapter.name,
            "producer": adapter.producer,
            "settings": settings,
            "options": {k: v for k, v in asdict(spec.options).items() if v is not None},
            "gold": f"file field {spec.options.gold!r}" if spec.options.gold else "task",
            "rows": state.rows,
            "matched_problems": len(state.graded),
            "unmatched_rows": state.unmatched.to_json(),
            "failed_rows": state.failed.to_json(),
            "gold_differs": state.gold_differs.to_json(),
            "samples_beyond_n": sum(len(v) for v in state.graded.values())
            - block.n * len(state.graded),
            "finish_reason": "stated" if state.finish_stated else "not stated (taken as stop)",
            "num_tokens": "stated" if state.tokens_stated else "not stated (0)",
        },
    )


def _digest(spec: ImportSpec, source_sha: str) -> str:
    """What the sample store's name depends on: the file and how it was read."""
    key = {"file": source_sha, "format": spec.format, "options": asdict(spec.options)}
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:12]


def _text_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None


def _text_or_flag(value: Any) -> bool | str | None:
    return value if isinstance(value, bool | str) else None


def _check_output_dir(folder: RunFolder) -> None:
    """Refuse to write an import into the folder of another run (re-imports are fine), or into
    a folder that holds samples but no results (a run that was stopped)."""
    if folder.has_results():
        try:
            engine = folder.read_results().engine.get("name")
        except EvalkitError:
            engine = None
        if engine == "import":
            return
    elif not any((folder.root / "samples").glob("*.jsonl")):
        return
    raise EvalkitError(
        f"{folder.root} holds another run's samples: pass an empty or new --output-dir")


def _nothing_matched(spec: ImportSpec, task: str, state: _ImportState) -> str:
    """The message when no row of the file became a sample."""
    if state.rows == state.failed.count:
        examples = "; ".join(state.failed.examples[:2])
        return f"every row of {spec.path} failed at the producer ({examples}): nothing to grade"
    examples = "; ".join(state.unmatched.examples[:2])
    return (
        f"none of the {state.rows} rows of {spec.path} matched a problem of task {task} "
        f"(e.g. {examples}): pass --task with the task they come from, or your task file"
    )
