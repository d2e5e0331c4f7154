"""`evalkit card`: a checkpoint's README.md with its results as Hub metadata (model-index).

The YAML header is huggingface_hub's ModelCardData with one EvalResult per task x metric, so the
Hub shows the scores and `ModelCard.load(...).data.eval_results` gives them back unchanged. The
body repeats the results with their confidence intervals and says how they were made.
"""

from __future__ import annotations

import json
import shutil
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import yaml
from huggingface_hub import EvalResult, ModelCard, ModelCardData

from evalkit import __version__
from evalkit.errors import EvalkitError
from evalkit.generation.models import resolve_model
from evalkit.results.schema import Results
from evalkit.runfolder.folder import read_results

PLOT_PATTERNS = ("budget*.png", "budget*.svg")
# Written next to the weights by evalkit's training: the datasets the training run read.
TRAINING_DATA_FILE = "training_data.json"


@dataclass(frozen=True)
class CardOptions:
    """What the card says beyond the results: names, licence, lineage, recipe."""

    model_name: str
    license: str | None = None
    base_model: tuple[str, ...] = ()
    datasets: tuple[str, ...] = ()
    tags: tuple[str, ...] = ()
    recipe: Path | None = None
    source_url: str | None = None


@dataclass(frozen=True)
class Run:
    """One results.json given to the card, and the name of its budget-curve plot in the card."""

    path: Path
    results: Results
    plot: str | None = None

    @property
    def folder(self) -> Path:
        return (self.path if self.path.is_dir() else self.path.parent).resolve()


def eval_results(results: Results, source_url: str | None = None) -> list[EvalResult]:
    """One EvalResult per task x metric, with the settings needed to read it in its args."""
    found = []
    for task, block in results.tasks.items():
        dataset_args = {"data_sha256": block.data_sha256, "problems": block.problems,
                        "variant": block.variant}
        for m in block.metrics:
            # The Hub's YAML drops None values, so leave them out to load back equal.
            metric_args = {key: list(v) if isinstance(v, tuple) else v
                           for key, v in {**m.to_json(), **block.sampling}.items()
                           if key not in ("metric", "value") and v is not None}
            found.append(EvalResult(
                task_type="text-generation", dataset_type=task, dataset_name=task,
                dataset_args=dataset_args, metric_type=m.metric, metric_value=m.value,
                metric_name=f"{task} {m.metric}", metric_args=metric_args,
                source_name=f"evalkit {results.evalkit_version}" if source_url else None,
                source_url=source_url,
            ))
    return found


def _load_runs(model_dir: Path, results_paths: list[Path]) -> list[Run]:
    """Read the results files; refuse duplicate tasks and runs of a different checkpoint."""
    if not results_paths:
        raise EvalkitError("pass at least one --results file (a run folder or its results.json)")
    runs = [Run(path, read_results(path)) for path in results_paths]
    seen: dict[str, Path] = {}
    for run in runs:
        for task in run.results.tasks:
            if task in seen:
                raise EvalkitError(
                    f"task {task} is in both {seen[task]} and {run.path}: pass one result per task"
                )
            seen[task] = run.path
    if (model_dir / "config.json").is_file():
        fingerprint = resolve_model(str(model_dir)).revision
        for run in runs:
            revision = run.results.model.revision or ""
            if revision.startswith("folder-sha256:") and revision != fingerprint:
                raise EvalkitError(
                    f"{run.path} was made from a different checkpoint than {model_dir} "
                    "(weights or config differ): evaluate this folder and pass its results"
                )
    return runs


def write_card(model_dir: Path, results_paths: list[Path], options: CardOptions) -> Path:
    """Write MODEL_DIR/README.md (copying any budget-curve plot beside it); return its path."""
    if not model_dir.is_dir():
        raise EvalkitError(f"model folder {model_dir} does not exist")
    runs, copies = [], {}
    for index, run in enumerate(_load_runs(model_dir, results_paths)):
        plots = sorted(p for pattern in PLOT_PATTERNS for p in run.folder.glob(pattern))
        if plots:
            name = f"run{index + 1}-{plots[0].name}" if index else plots[0].name
            copies[name] = plots[0]
            run = replace(run, plot=name)
        runs.append(run)
    used = training_datasets(model_dir)
    hub_ids = [d["hub_id"] for d in used if d.get("hub_id")]
    options = replace(options, datasets=tuple(dict.fromkeys([*options.datasets, *hub_ids])))
    card = build_card(runs, options, used)
    for name, source in copies.items():
        shutil.copyfile(source, model_dir / name)
    path = model_dir / "README.md"
    card.save(path)
    return path


def training_datasets(model_dir: Path) -> list[dict[str, Any]]:
    """The datasets the checkpoint was trained on, as its training_data.json lists them."""
    path = model_dir / TRAINING_DATA_FILE
    if not path.is_file():
        return []
    try:
        return list(json.loads(path.read_text())["datasets"])
    except (ValueError, KeyError, TypeError) as err:
        raise EvalkitError(f"{path} is not a training record ({err!r}): retrain, or delete it"
                           ) from err


def build_card(runs: list[Run], options: CardOptions,
               training_data: list[dict[str, Any]] | None = None) -> ModelCard:
    """The card: metadata with eval results, then results, settings, training data, recipe,
    usage, citation."""
    data = ModelCardData(
        license=options.license, base_model=list(options.base_model) or None,
        datasets=list(options.datasets) or None, tags=["evalkit", *options.tags],
        pipeline_tag="text-generation", library_name="transformers",
        model_name=options.model_name,
        eval_results=[r for run in runs for r in eval_results(run.results, options.source_url)],
    )
    sections = [
        _intro(options), _results_table(runs), *(_settings(run) for run in runs),
        *(_plot(run) for run in runs if run.plot), _training_data(training_data or []),
        _recipe(options.recipe),
        _usage(options.model_name, runs[0].results), _citation(options.model_name, runs),
    ]
    body = "\n\n".join(s for s in sections if s)
    return ModelCard(f"---\n{data.to_yaml()}\n---\n\n{body}\n")


def _intro(options: CardOptions) -> str:
    lines = [f"# {options.model_name}", ""]
    if options.base_model:
        bases = ", ".join(f"[{b}](https://huggingface.co/{b})" for b in options.base_model)
        lines.append(f"Fine-tuned from {bases}.")
    lines.append(
        f"Scores below were measured with evalkit {__version__}; every figure "
        "comes with its 95% confidence interval over problems and the settings that produced it."
    )
    return "\n".join(lines)


def _results_table(runs: list[Run]) -> str:
    lines = ["## Evaluation results", "",
             "| task | metric | score (%) | 95% CI | ± SE | problems | n | truncated |",
             "|---|---|---|---|---|---|---|---|"]
    for run in runs:
        for task, block in run.results.tasks.items():
            for m in block.metrics:
                ci = f"[{100 * m.ci95[0]:.1f}, {100 * m.ci95[1]:.1f}]" if m.ci95 else "–"
                se = f"{100 * m.stderr:.1f}" if m.stderr is not None else "–"
                lines.append(
                    f"| {task} | {m.metric} | {100 * m.value:.1f} | {ci} | {se} | "
                    f"{m.problems} | {m.n} | {100 * block.truncation_rate:.1f}% |"
                )
    return "\n".join(lines)


def _settings(run: Run) -> str:
    r = run.results
    model, sampling, prompt, grader = r.model, r.sampling, r.prompt, r.grader
    engine = ", ".join(f"{k}={v}" for k, v in r.engine.items() if k != "name")
    lines = [
        f"## Evaluation settings ({run.folder.name})", "",
        f"- model: `{model.source}` at revision `{model.revision}`",
        f"- engine: {r.engine.get('name')}" + (f" ({engine})" if engine else ""),
        f"- prompt: preset `{prompt.preset}`" + _template_words(prompt.chat_template)
        + f"; system prompt: {json.dumps(prompt.system) if prompt.system else 'none'}"
        + f"; user template: {json.dumps(prompt.user_template)}",
        f"- sampling: n={sampling.n}, k={sampling.k}, temperature={sampling.temperature}, "
        f"top_p={sampling.top_p}, seed={sampling.seed}",
        f"- grader: {grader.get('name')} {grader.get('grader_version')} "
        f"(math-verify {grader.get('math_verify')})",
        f"- evalkit {r.evalkit_version}, run {r.created}",
        "",
        "| task | variant | problems | max tokens | budget curve at | data sha256 |",
        "|---|---|---|---|---|---|",
    ]
    lines += [
        f"| {task} | {b.variant} | {b.problems} | {b.sampling.get('max_tokens')} | "
        f"{', '.join(str(p.budget) for p in b.budget_curve) or '–'} | "
        f"`{b.data_sha256}` |"
        for task, b in r.tasks.items()
    ]
    return "\n".join(lines)


def _plot(run: Run) -> str:
    return (f"## Budget curve ({run.folder.name})\n\nAccuracy had generation stopped at each token "
            f"budget, from the same samples.\n\n![budget curve]({run.plot})")


def _training_data(datasets: list[dict[str, Any]]) -> str:
    if not datasets:
        return ""
    lines = ["## Training data", "", "The datasets the training run read:", "",
             "| dataset | revision or source | split |", "|---|---|---|"]
    for d in datasets:
        name = d.get("hub_id") or "local data"
        where = d.get("revision") or d.get("source") or "main (no revision pinned)"
        lines.append(f"| {name} | `{where}` | {d.get('split', '')} |")
    return "\n".join(lines)


def _recipe(path: Path | None) -> str:
    if path is None:
        return ""
    try:
        recipe = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError) as err:
        raise EvalkitError(f"cannot read recipe {path}: {err}".splitlines()[0]) from err
    text = yaml.safe_dump(recipe, sort_keys=False, allow_unicode=True).rstrip()
    return f"## Training recipe\n\nFrom `{path.name}`:\n\n```yaml\n{text}\n```"


def _template_words(chat_template: bool | str | None) -> str:
    if chat_template == "chatml":
        return " in ChatML written out"
    return " through the model's chat template" if chat_template else " (raw text)"


def _usage(model_name: str, results: Results) -> str:
    prompt, sampling = results.prompt, results.sampling
    if results.model.kind == "import" or prompt.user_template is None:
        return ""  # made by another tool: its prompt is unknown
    budget = next(iter(results.tasks.values())).sampling.get("max_tokens")
    user = json.dumps(prompt.user_template.replace("{question}", "What is 7 * 8?"))
    if prompt.chat_template:
        system = (f'{{"role": "system", "content": {json.dumps(prompt.system)}}}, '
                  if prompt.system else "")
        encode = f"""messages = [{system}{{"role": "user", "content": {user}}}]
inputs = tokenizer.apply_chat_template(
    messages, add_generation_prompt=True, return_tensors="pt"
).to(model.device)"""
    else:
        encode = f'inputs = tokenizer({user}, return_tensors="pt").input_ids.to(model.device)'
    generate = (f"do_sample=True, temperature={sampling.temperature}, "
                f"top_p={sampling.top_p}" if sampling.temperature else "do_sample=False")
    return f"""## Usage

Prompted as it was evaluated:

```python
from transformers import AutoModelForCausalLM, AutoTokenizer

model_id = "{model_name}"
tokenizer = AutoTokenizer.from_pretrained(model_id)
model = AutoModelForCausalLM.from_pretrained(model_id, torch_dtype="auto", device_map="auto")
{encode}
output = model.generate(inputs, max_new_tokens={budget}, {generate})
print(tokenizer.decode(output[0][inputs.shape[-1]:], skip_special_tokens=True))
```"""


def _citation(model_name: str, runs: list[Run]) -> str:
    key = "".join(c if c.isalnum() else "_" for c in model_name.split("/")[-1]).lower()
    year = runs[0].results.created[:4]
    return f"""## Citation

```bibtex
@misc{{{key}_{year},
  title        = {{{model_name}}},
  year         = {{{year}}},
  howpublished = {{\\url{{https://huggingface.co/{model_name}}}}},
  note         = {{Evaluated with evalkit {__version__}}}
}}
```"""

