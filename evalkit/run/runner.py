"""`evalkit run`: a plan's tasks -> prompts -> engine -> sample stores -> grade -> score ->
results, in one locked run folder.

The engine is built only when a sample is missing (a server engine is asked which model it
serves first, since that is part of the store key). Every finished batch is appended to its
store before the next one starts, so a crash loses only the batch in flight and a rerun of the
same command generates only what is missing.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import replace
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from evalkit import __version__
from evalkit.errors import EvalkitError
from evalkit.generation.engines import (
    SERVER_ENGINES,
    Engine,
    GenerationRequest,
    SamplingConfig,
    StatusCallback,
    create_engine,
    sample_seed,
)
from evalkit.generation.engines.base import cut_at_stop
from evalkit.generation.models import ModelRef
from evalkit.grading import Grader
from evalkit.records import Problem, SampleRecord
from evalkit.reports.table import to_markdown
from evalkit.results.build import SEED_RULE, TaskFacts, results_document, task_block
from evalkit.results.schema import ModelInfo, PromptInfo, Results, RunSampling, TaskBlock
from evalkit.run.plan import RunPlan, TaskPlan
from evalkit.runfolder.folder import RunFolder
from evalkit.runfolder.store import SampleStore
from evalkit.stages.grade import GradedTask, grade_task


def store_key(plan: RunPlan, ref: ModelRef, task_plan: TaskPlan,
              server: dict[str, Any] | None) -> dict[str, Any]:
    """What must match for stored samples to be reused (n and limit are not part of it): the
    model, the server that ran it (address without credentials, the model it reports), the
    task data, prompt, sampling, seed and engine; with ``--context-limit cap``, the context
    that ends samples too."""
    key = {
        "model": {"source": ref.source, "revision": ref.revision},
        "task": {"name": task_plan.task.name, "sha256": task_plan.task.sha256()},
        "prompt": plan.prompt_record(),
        "sampling": task_plan.sampling.to_json(),
        "seed": plan.settings.seed,
        "engine": plan.engine,
    }
    if server is not None:
        key["server"] = server
    if plan.settings.context_limit == "cap":  # samples end at the context: it shapes them
        key["context"] = {"limit": "cap", "max_model_len": plan.settings.max_model_len}
    return key


def _missing(problems: list[Problem], n: int, store: SampleStore) -> list[tuple[Problem, int]]:
    """The samples (``n`` per problem) that ``store`` does not hold."""
    return [(p, i) for p in problems for i in range(n) if (p.id, i) not in store]


def key_digest(key: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()[:12]


def _progress(console: Console) -> Progress:
    return Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(),
                    TimeElapsedColumn(), console=console, transient=False)


class Runner:
    """Runs one RunPlan."""

    def __init__(self, plan: RunPlan, console: Console | None = None) -> None:
        self.plan = plan
        self.console = console or Console(stderr=True)
        self.engine: Engine | None = None
        self.engine_info: dict[str, Any] | None = None
        self.engine_load_s = 0.0
        self.generate_s = 0.0
        self.generated = 0
        self.previous: Results | None = None  # the folder's results before this run
        self.grader: Grader | None = None
        self.context_checked = False  # every task's prompts checked against the context
        self._note: StatusCallback = self._print_note  # the generating bar's, while it runs

    def run(self) -> Results:
        plan = self.plan
        started = time.time()
        ref = self.ref = self._model_ref()
        with RunFolder.writing(plan.output_dir, "evalkit run") as folder:
            previous = self.previous = folder.read_results() if folder.has_results() else None
            cache = folder.grade_cache()
            self._say(cache.warnings)
            server = self._server()
            blocks: dict[str, TaskBlock] = {}
            with Grader(workers=plan.settings.grader_workers,
                        timeout_s=plan.settings.grader_timeout, cache=cache.entries,
                        config=plan.grader_config) as grader:
                self.grader = grader
                for task_plan in plan.tasks:
                    earlier = previous.tasks.get(task_plan.task.name) if previous else None
                    blocks[task_plan.task.name] = self._run_task(folder, task_plan, ref, server,
                                                                 grader, earlier)
                    cache.save()
                grader_info = grader.info()
            kept = previous is not None and self.generated == 0
            results = results_document(
                model=ModelInfo(**ref.to_json()),
                engine=self.engine_info or (previous.engine if kept else {"name": plan.engine}),
                prompt=PromptInfo(**plan.prompt_record()),
                sampling=RunSampling(
                    n=plan.settings.n, k=list(plan.ks), seed=plan.settings.seed,
                    seed_rule=SEED_RULE, temperature=plan.temperature, top_p=plan.top_p,
                    max_tokens=plan.settings.max_tokens, limit=plan.settings.limit),
                grader=grader_info, tasks=blocks,
                timings={"total_s": time.time() - started, "engine_load_s": self.engine_load_s,
                         "generate_s": self.generate_s},
                plan=plan.to_json(), manifest=self._manifest(previous if kept else None),
                preset=plan.preset,
            )
            results = replace(results, published=self._published(results))
            if kept:  # nothing was generated: the hardware and timings that made them stand
                results = replace(results, hardware=previous.hardware,
                                  timings=previous.timings)
            folder.write_results(results, to_markdown(results))
            if any(tp.budgets for tp in plan.tasks):
                from evalkit.reports.plot import plot_budget_curves

                plot_budget_curves(results, folder.plot_path)
        return results

    def _published(self, results: Results) -> dict[str, Any] | None:
        """The published row the run reproduces: the profile's, or one naming the model."""
        from evalkit.reports.published import published_block

        where = self.plan.profile.leaderboard if self.plan.profile else None
        if where:
            return published_block(results, where.get("board"), where.get("row"),
                                   where.get("variant"))
        return published_block(results)

    def _print_note(self, text: str | None) -> None:
        """An engine's status (a retry and its cause) while no progress bar shows it."""
        if text:
            self.console.print(f"[dim]{escape(text)}[/]", highlight=False)

    def _say(self, lines: list[str]) -> None:
        for line in lines:
            self.console.print(f"[yellow]warning[/]: {line}", highlight=False)

    def _model_ref(self) -> ModelRef:
        settings = self.plan.settings
        if self.plan.engine == "openai-chat":
            from evalkit.generation.engines.openai import served_model_ref

            return served_model_ref(settings.model, settings.revision)
        from evalkit.generation.models import resolve_model

        return resolve_model(settings.model, settings.revision)

    def _server(self) -> dict[str, Any] | None:
        """For server engines: which server, and which model it says it serves."""
        if self.plan.engine not in SERVER_ENGINES:
            return None
        info = self._engine().info()
        return {"endpoint": info["endpoint"], "served_model": info["served_model"]}

    def _manifest(self, previous: Results | None) -> dict[str, Any] | None:
        """This run's engine manifest; a rerun that generated nothing keeps the previous one."""
        if self.engine_info is not None:
            from evalkit.generation.manifest import build_manifest

            settings = self.plan.settings
            return build_manifest(self.engine_info, settings.data_parallel, settings.batch_size)
        return previous.manifest if previous is not None else None

    def _check_later_tasks(self, folder: RunFolder, ref: ModelRef,
                           server: dict[str, Any] | None, first: TaskPlan) -> None:
        """Before the run's first generation (of task ``first``, which its engine checks as it
        prepares), refuse the run when a prompt of a later task leaves too little of the
        model's context (local engines; data-parallel workers check their own share)."""
        self.context_checked = True
        settings, tasks = self.plan.settings, self.plan.tasks
        if self.plan.engine in SERVER_ENGINES or settings.data_parallel > 1:
            return
        for task_plan in tasks[tasks.index(first) + 1:]:
            path = folder.inside(folder.samples_file(self._stem(task_plan, ref, server)[1]))
            try:
                stored = SampleStore(path)  # read only: a damaged store is repaired at its task
            except EvalkitError:
                continue  # its engine checks its prompts there, before generating
            missing = _missing(task_plan.task.load(limit=settings.limit), settings.n, stored)
            if not missing:
                continue
            engine = self._engine()
            try:
                engine.check(self._requests(engine, missing), task_plan.sampling)
            except EvalkitError as err:
                raise EvalkitError(f"{task_plan.task.name}: {err}") from None

    def _stem(self, task_plan: TaskPlan, ref: ModelRef, server: dict[str, Any] | None
              ) -> tuple[dict[str, Any], str]:
        """The task's store key and the stem of its store and grades files."""
        key = store_key(self.plan, ref, task_plan, server)
        return key, f"{task_plan.task.name}-{key_digest(key)}"

    def _requests(self, engine: Engine, missing: list[tuple[Problem, int]]
                  ) -> list[GenerationRequest]:
        """The generation requests of ``missing`` samples, prompts rendered for ``engine``."""
        from evalkit.generation.prompts import Prompter

        prompter = Prompter(self.plan.prompt, engine.tokenizer, self.plan.settings.chat_template)
        seed = self.plan.settings.seed
        return [GenerationRequest(p.id, i, sample_seed(seed, p.id, i), prompter.render_problem(p))
                for p, i in missing]

    def _run_task(self, folder: RunFolder, task_plan: TaskPlan, ref: ModelRef,
                  server: dict[str, Any] | None, grader: Grader,
                  earlier: TaskBlock | None) -> TaskBlock:
        """Generate what is missing, grade, score; ``earlier`` is the task's previous block
        (its generation time stands when nothing is generated now)."""
        plan, task = self.plan, task_plan.task
        n = plan.settings.n
        problems = task.load(limit=plan.settings.limit)
        key, stem = self._stem(task_plan, ref, server)
        samples_file, grades_file = folder.samples_file(stem), folder.grades_file(stem)
        store = folder.sample_store(samples_file)
        self._say(store.repairs)
        folder.write_store_key(samples_file, key)
        missing = _missing(problems, n, store)
        if missing and not self.context_checked:
            self._check_later_tasks(folder, ref, server, task_plan)
        self.console.print(
            f"[bold]{task.name}[/]: {len(problems)} problems x {n} samples, "
            f"{len(problems) * n - len(missing)} stored, {len(missing)} to generate")
        gen_started = time.time()
        if missing:
            self._generate(task_plan, missing, store)
        gen_s = time.time() - gen_started
        if not missing and earlier is not None:
            gen_s = earlier.wall_time_s.get("generate", 0.0)
        samples = [[store.get(p.id, i) for i in range(n)] for p in problems]
        grade_started = time.time()
        with _progress(self.console) as bar:
            job = bar.add_task(f"grading {task.name}", total=len(problems) * n)
            graded = grade_task(problems, samples, grader, task=task.name,
                                previous=folder.previous_grades(grades_file),
                                progress=lambda k: bar.advance(job, k))
        facts = TaskFacts(task.name, task.variant, task.source, task.sha256(),
                          problems[0].answer_kind if problems else task.answer_kind)
        ids = [p.id for p in problems]
        if graded.unchanged and self._scored(earlier, facts, ids, task_plan, samples_file):
            block = earlier  # the same samples, grades and settings: the same figures
        else:
            block = task_block(facts, ids, n, task_plan.sampling.to_json(),
                               self._score(graded, task_plan, ref), samples_file, grades_file,
                               {})
            folder.write_grades(grades_file, [row for problem in graded.rows for row in problem])
        return replace(block, wall_time_s={"generate": gen_s,
                                           "grade": time.time() - grade_started})

    def _scored(self, earlier: TaskBlock | None, facts: TaskFacts, ids: list[str],
                task_plan: TaskPlan, samples_file: str) -> bool:
        """Whether ``earlier`` holds this task's figures already: the same data, problems,
        samples, settings, k values and budgets, scored by this evalkit."""
        previous = self.previous
        return (earlier is not None and previous is not None
                and previous.evalkit_version == __version__
                and list(previous.sampling.k) == list(self.plan.ks)
                and (earlier.task, earlier.data_sha256, earlier.problem_ids, earlier.n,
                     earlier.sampling, earlier.samples_file)
                == (facts.name, facts.data_sha256, ids, self.plan.settings.n,
                    task_plan.sampling.to_json(), samples_file)
                and [p.budget for p in earlier.budget_curve] == list(task_plan.budgets))

    def _score(self, graded: GradedTask, task_plan: TaskPlan, ref: ModelRef) -> Any:
        """The score stage (budgets graded first, where asked): the task's figures."""
        from evalkit.stages.grade import grade_budgets, tokenizer_decoder
        from evalkit.stages.score import score_task

        if task_plan.budgets:
            decode = tokenizer_decoder(self.engine.tokenizer if self.engine else ref.path) \
                if ref.path else None
            graded = grade_budgets(graded, task_plan.budgets, decode, self.grader,
                                   task_plan.task.name)
        return score_task(graded, self.plan.ks)

    def _generate(self, task_plan: TaskPlan, missing: list, store: SampleStore) -> None:
        started, load_before = time.time(), self.engine_load_s
        sampling = task_plan.sampling
        with _progress(self.console) as bar:
            label = f"generating {task_plan.task.name}"
            job = bar.add_task(label, total=len(missing))
            self._note = lambda text: bar.update(
                job, description=f"{label}: {escape(text)}" if text else label)

            def on_batch(done: list) -> None:
                cut = [(r, cut_at_stop(c, sampling.stop)) for r, c in done]
                store.append(
                    SampleRecord(
                        problem_id=r.problem_id, sample_index=r.sample_index, seed=r.seed,
                        text=c.text, num_tokens=c.num_tokens, finish_reason=c.finish_reason,
                        prompt_tokens=c.prompt_tokens, token_ids=c.token_ids,
                    )
                    for r, c in cut
                )
                self.generated += len(done)
                bar.advance(job, len(done))

            if self.plan.settings.data_parallel > 1:
                self._generate_data_parallel(missing, sampling, on_batch)
            else:
                engine = self._engine()
                requests = self._requests(engine, missing)
                self._prepare(engine, requests, sampling)
                engine.generate(requests, sampling, on_batch)
        self._note = self._print_note
        # Engine start-up inside this call is model load, not generation.
        self.generate_s += time.time() - started - (self.engine_load_s - load_before)

    def _generate_data_parallel(self, missing: list, sampling: SamplingConfig, on_batch) -> None:
        from evalkit.generation.parallel import WorkerJob, WorkItem, generate_data_parallel

        plan, settings = self.plan, self.plan.settings
        job = WorkerJob(plan.engine, self.ref.path, settings.batch_size, settings.dtype,
                        plan.engine_options, plan.prompt.name, sampling, settings.chat_template)
        items = [WorkItem(p.id, i, sample_seed(settings.seed, p.id, i), p)
                 for p, i in missing]
        report = generate_data_parallel(settings.data_parallel, job, items, on_batch)
        if report.engine_info:
            self.engine_info = report.engine_info[min(report.engine_info)]
        self.engine_load_s += report.load_s

    def _prepare(self, engine: Engine, requests: list, sampling: SamplingConfig) -> None:
        """Let the engine size itself for this work (vllm loads here): counted as load time."""
        started = time.time()
        engine.prepare(requests, sampling)
        self.engine_load_s += time.time() - started
        self.engine_info = engine.info()

    def _engine(self) -> Engine:
        if self.engine is None:
            plan = self.plan
            started = time.time()
            with self.console.status(f"loading {plan.settings.model} ({plan.engine})"):
                self.engine = create_engine(plan.engine, self.ref.path,
                                            plan.settings.batch_size, plan.settings.dtype,
                                            plan.engine_options,
                                            on_status=lambda text: self._note(text))
            self.engine_load_s = time.time() - started
            self.engine_info = self.engine.info()
        return self.engine
