"""`evalkit import`: someone else's completions -> a run folder every evalkit command accepts.

The source is read as a stream: rows are matched to the task's problems, their completions
appended to the sample store and graded in chunks by the same killable worker pool as
`evalkit run`, so memory holds the current chunk plus a small record per sample (grade and
counts), never the file. Scoring and the results files are those of `evalkit run`
(:func:`evalkit.scoring.score_samples`, :func:`evalkit.results.write_grades`,
:func:`evalkit.results.write_results`).
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import time
from collections import Counter
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field, replace
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from evalkit import __version__
from evalkit.agreement import Agreement, tally
from evalkit.engines import SamplingConfig
from evalkit.errors import EvalkitError
from evalkit.grading import Grader, GradeRequest, grader_info
from evalkit.importers.base import Adapter, ReadOptions
from evalkit.importers.formats import get_adapter, sniff_format
from evalkit.importers.matching import ProblemIndex, choose_task
from evalkit.importers.rows import ExternalRow, ExternalSample
from evalkit.models import file_sha256
from evalkit.provenance import hardware, package_versions
from evalkit.records import Grade, Problem, SampleRecord
from evalkit.results import SCHEMA_VERSION, TaskResult, write_grades, write_results
from evalkit.runner import RunSpec
from evalkit.scoring import score_samples
from evalkit.tasks import Task, get_task

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
    grade: Grade
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


def import_file(spec: ImportSpec) -> dict[str, Any]:
    """Import, grade and score ``spec.path``; write the run folder; return its results."""
    started = time.time()
    if not spec.path.is_file():
        raise EvalkitError(f"{spec.path} is not a file; give the path of the tool's output file")
    adapter = get_adapter(spec.format, spec.options)
    _check_output_dir(spec.output_dir)
    source_sha = file_sha256(spec.path)
    rows = _rows(adapter, spec.path)
    probe = [] if spec.task else list(itertools.islice(rows, PROBE_ROWS))
    task = get_task(spec.task) if spec.task else choose_task(probe, str(spec.path))
    index = ProblemIndex(task)
    stem = f"{task.name}-{_digest(spec, source_sha)}"
    samples_file = spec.output_dir / "samples" / f"{stem}.jsonl"
    cache_path = spec.output_dir / "grade_cache.json"
    cache = json.loads(cache_path.read_text()) if cache_path.exists() else {}
    state = _ImportState(index)
    grade_started = time.time()
    with Grader(spec.grader_workers, spec.grader_timeout, cache) as grader, _SampleWriter(
        samples_file
    ) as writer:
        for chunk in _chunks(itertools.chain(probe, rows), state, spec.chunk_size):
            writer.append(record for record, _, _ in chunk)
            requests = [
                GradeRequest(s.text, state.golds.get(p.id, p.gold), p.answer_kind,
                             record.finish_reason, task.name)
                for record, p, s in chunk
            ]
            for (record, _, sample), grade in zip(chunk, grader.grade(requests), strict=True):
                state.keep(record, grade, sample)
        if not state.graded:
            raise EvalkitError(_nothing_matched(spec, task.name, state))
        sampling = SamplingConfig(*(adapter.settings.get(k) for k in SAMPLING_KEYS))
        result, agreement = _score(spec, task, state, samples_file, grader, sampling)
        result.grade_s = time.time() - grade_started
    cache_path.write_text(json.dumps(cache))
    write_grades(result)
    external_file = _write_external(result, state)
    results = _results(spec, adapter, source_sha, result, agreement, external_file, state,
                       time.time() - started)
    write_results(results, spec.output_dir)
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

    def keep(self, record: SampleRecord, grade: Grade, sample: ExternalSample) -> None:
        """Keep a graded sample without its text."""
        self.graded.setdefault(record.problem_id, []).append(
            _Graded(replace(record, text=""), grade, sample.label, sample.extracted)
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


class _SampleWriter:
    """Writes imported samples as a sample store file (see :mod:`evalkit.store`), a chunk at a
    time, flushed and fsync'd, without keeping them."""

    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        self.path = path
        self.handle = open(path, "w", encoding="utf-8")

    def append(self, records: Iterator[SampleRecord]) -> None:
        for record in records:
            self.handle.write(json.dumps(record.to_json(), ensure_ascii=False) + "\n")
        self.handle.flush()
        os.fsync(self.handle.fileno())

    def __enter__(self) -> _SampleWriter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.handle.close()


def _score(
    spec: ImportSpec, task: Task, state: _ImportState, samples_file: Path, grader: Grader,
    sampling: SamplingConfig,
) -> tuple[TaskResult, Agreement]:
    """Scores of the first n samples of each matched problem, as `evalkit run` computes them."""
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
    rows = [state.graded[p.id][:n] for p in problems]
    samples = [[g.record for g in row] for row in rows]
    grades = [g.grade for row in rows for g in row]
    stats = score_samples(problems, samples, grades, grader, _no_token_ids, _ks(spec, n))
    result = TaskResult(
        task=task,
        problems=problems,
        samples=samples,
        grades=grades,
        metrics=stats.metrics,
        sampling=sampling,
        samples_file=samples_file,
        generate_s=0.0,
        grade_s=0.0,
        classes=stats.classes,
        answer_tokens=stats.answer_tokens,
    )
    agreement = tally((g.grade.status, g.theirs) for row in rows for g in row)
    return result, agreement


def _ks(spec: ImportSpec, n: int) -> list[int]:
    """The pass@k values, checked against n as `evalkit run` checks them."""
    return RunSpec(model="", tasks=[], output_dir=spec.output_dir, n=n, ks=spec.ks).resolved_ks()


def _no_token_ids(ids: list[int]) -> str:
    """The decoder of imported samples: they carry no token ids, so it is never called."""
    raise EvalkitError("imported samples carry no token ids to decode")


def _write_external(result: TaskResult, state: _ImportState) -> Path | None:
    """The producer's verdicts and extractions, one line per scored sample in grades order
    (see :mod:`evalkit.agreement`); None when the file has neither."""
    rows = [state.graded[p.id][: len(r)] for p, r in zip(result.problems, result.samples,
                                                          strict=True)]
    if all(g.theirs is None and g.theirs_extracted is None for row in rows for g in row):
        return None
    path = result.grades_file().with_suffix(".external.jsonl")
    with open(path, "w", encoding="utf-8") as handle:
        for row in rows:
            for g in row:
                line = {"problem_id": g.record.problem_id, "sample_index": g.record.sample_index,
                        "correct": g.theirs, "extracted": g.theirs_extracted}
                handle.write(json.dumps(line, ensure_ascii=False) + "\n")
    return path


def _results(
    spec: ImportSpec, adapter: Adapter, source_sha: str, result: TaskResult,
    agreement: Agreement, external_file: Path | None, state: _ImportState, total_s: float,
) -> dict[str, Any]:
    """The results.json of an import: `evalkit run`'s document, with the producing tool and the
    source file in place of a loadable model, and the import's own account."""
    settings = adapter.settings
    source = str(spec.path.resolve())
    task_block = result.to_json(spec.output_dir)
    if not state.tokens_stated:  # zeros stand in for the unknown counts: no length statistics
        task_block["mean_tokens"] = task_block["lengths"] = None
    if external_file is not None:
        task_block["external_file"] = str(external_file.relative_to(spec.output_dir))
        task_block["agreement"] = agreement.to_json()
    n = task_block["n"]
    return {
        "schema_version": SCHEMA_VERSION,
        "evalkit_version": __version__,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "model": {
            "name": spec.name or settings.get("model") or spec.path.stem,
            "kind": "import",
            "path": None,
            "revision": None,
            "source": source,
            "producer": adapter.producer,
            "file_sha256": source_sha,
        },
        "engine": {"name": "import", "format": adapter.name},
        "prompt": {
            "preset": "external",
            "chat_template": settings.get("chat_template"),
            "system": settings.get("system_prompt"),
            "user_template": settings.get("prompt_template", "{question}"),
        },
        "sampling": {
            "n": n,
            "k": _ks(spec, n),
            "seed": None,
            "seed_rule": None,
            "temperature": settings.get("temperature"),
            "top_p": settings.get("top_p"),
            "max_tokens": settings.get("max_tokens"),
            "limit": None,
        },
        "manifest": {  # what generated the samples: the producing tool, as the file states it
            "engine": {"name": f"import:{adapter.name}", "version": adapter.producer},
            "engine_settings": {
                k: v for k, v in settings.items() if k not in ("first_prompt", "system_prompt")
            },
            "accelerators": {"device": "not stated"},
        },
        "grader": grader_info(spec.grader_timeout),
        "versions": package_versions(),
        "hardware": hardware(),
        "timings": {"total_s": total_s, "engine_load_s": 0.0, "generate_s": 0.0},
        "tasks": {result.task.name: task_block},
        "import": {
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
            - n * len(state.graded),
            "finish_reason": "stated" if state.finish_stated else "not stated (taken as stop)",
            "num_tokens": "stated" if state.tokens_stated else "not stated (0)",
        },
    }


def _digest(spec: ImportSpec, source_sha: str) -> str:
    """What the sample store's name depends on: the file and how it was read."""
    key = {"file": source_sha, "format": spec.format, "options": asdict(spec.options)}
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:12]


def _check_output_dir(output_dir: Path) -> None:
    """Refuse to write an import into the folder of another run (re-imports are fine)."""
    results = output_dir / "results.json"
    if results.exists():
        try:
            engine = json.loads(results.read_text()).get("engine", {}).get("name")
        except (OSError, json.JSONDecodeError, AttributeError):
            engine = None
        if engine != "import":
            raise EvalkitError(
                f"{output_dir} holds another run's results: pass an empty or new --output-dir"
            )


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
