"""`evalkit release run`: train -> evaluate -> gate -> card -> publish in one run folder.

```
RUN_DIR/train/       the training pipeline's own files (it resumes its own steps)
RUN_DIR/model/       the checkpoint to ship: weights, config, tokenizer; later also README.md
                     (the card), results.json and training_recipe.yaml -- the uploaded folder
RUN_DIR/evaluate/    the `evalkit run` folder of RUN_DIR/model (samples, grades, results.json)
RUN_DIR/gate/        the gate's markdown summary
RUN_DIR/done/        one marker per complete stage: the fingerprint of its settings chained with
                     the fingerprint of the stage before it
```

A stage whose marker matches its settings is skipped, so a failed upload is retried without
retraining or re-evaluating; changing a setting reruns that stage and every later one.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from rich.console import Console

from evalkit.errors import EvalkitError
from evalkit.runfolder.folder import RunFolder
from evalkit.workflow.release_recipe import ReleaseRecipe, json_safe

STAGES = ("train", "evaluate", "gate", "card", "publish")
# Files of a saved checkpoint that ship (training_data.json: the datasets the training read);
# trainer logs, optimizer states and checkpoints do not.
MODEL_FILES = ("config.json", "generation_config.json", "*.safetensors",
               "model.safetensors.index.json", "tokenizer*", "special_tokens_map.json",
               "added_tokens.json", "vocab.json", "merges.txt", "chat_template.jinja",
               "training_data.json")


@dataclass(frozen=True)
class StageResult:
    stage: str
    skipped: bool
    summary: dict[str, Any]


@dataclass
class Outcome:
    """What one `release run` did, stage by stage, and why it stopped early if it did."""

    stages: list[StageResult] = field(default_factory=list)
    stopped: str | None = None


class ReleaseRun:
    """Runs the stages of one release recipe over its run folder."""

    def __init__(self, recipe: ReleaseRecipe, console: Console | None = None) -> None:
        self.recipe = recipe
        self.root = recipe.run_dir
        self.model_dir = self.root / "model"
        self.eval_dir = self.root / "evaluate"
        self.console = console or Console(width=120)
        self._training: dict[str, Any] | None = None

    def echo(self, line: str) -> None:
        self.console.print(line, markup=False, highlight=False)

    def run(self, start: str | None = None, until: str = "publish",
            dry_run: bool = False) -> Outcome:
        """Run the stages from `start` (default: the first) to `until`.

        Without `start`, complete stages are skipped; with it, the stages from `start` on run
        again, on the outputs of the earlier ones (which must be complete with this recipe).
        """
        for name in (start or STAGES[0], until):
            if name not in STAGES:
                raise EvalkitError(f"unknown stage {name!r}: one of {', '.join(STAGES)}")
        first, last = STAGES.index(start or STAGES[0]), STAGES.index(until)
        if first > last:
            raise EvalkitError(f"--from {start} comes after --until {until}")
        for earlier in STAGES[:first]:
            if not self.is_complete(earlier):
                raise EvalkitError(
                    f"stage {earlier} is not complete with this recipe in {self.root}: "
                    f"run without --from {start} (or with --from {earlier})"
                )
        with RunFolder.writing(self.root, "evalkit release run"):
            return self._run_stages(STAGES[first:last + 1], start, dry_run)

    def _run_stages(self, stages: tuple[str, ...], start: str | None,
                    dry_run: bool) -> Outcome:
        outcome = Outcome()
        for stage in stages:
            if start is None and self.is_complete(stage):
                result = StageResult(stage, True, self._marker(stage)["summary"])
            else:
                self.echo(f"{stage}: running")
                summary = self._publish(dry_run) if stage == "publish" else getattr(
                    self, f"_{stage}")()
                if summary.get("passed", True) and not summary.get("dry_run"):
                    self._mark(stage, summary)
                result = StageResult(stage, False, summary)
            outcome.stages.append(result)
            state = "skipped (complete)" if result.skipped else "done"
            self.echo(f"{stage}: {'dry run' if result.summary.get('dry_run') else state}")
            if not result.summary.get("passed", True):
                outcome.stopped = "gate failed: " + "; ".join(result.summary["failed"])
                break
        return outcome

    # -- markers ---------------------------------------------------------------------------

    def fingerprint(self, stage: str) -> str:
        """sha256 of the stage's settings and the fingerprint of the stage before it."""
        index = STAGES.index(stage)
        upstream = self._marker(STAGES[index - 1])["fingerprint"] if index else None
        payload = json.dumps([stage, self._settings(stage), upstream], sort_keys=True)
        return hashlib.sha256(payload.encode()).hexdigest()

    def is_complete(self, stage: str) -> bool:
        index = STAGES.index(stage)
        if index and not self.is_complete(STAGES[index - 1]):
            return False
        path = self._marker_path(stage)
        return path.is_file() and json.loads(path.read_text())["fingerprint"] == self.fingerprint(
            stage)

    def _marker_path(self, stage: str) -> Path:
        return self.root / "done" / f"{stage}.json"

    def _marker(self, stage: str) -> dict[str, Any]:
        path = self._marker_path(stage)
        if not path.is_file():
            raise EvalkitError(f"stage {stage} has not run in {self.root}")
        return json.loads(path.read_text())

    def _mark(self, stage: str, summary: dict[str, Any]) -> None:
        path = self._marker_path(stage)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp")
        tmp.write_text(json.dumps({"stage": stage, "fingerprint": self.fingerprint(stage),
                                   "summary": summary}, indent=1))
        os.replace(tmp, path)

    def _settings(self, stage: str) -> Any:
        recipe = self.recipe
        if stage == "train":
            return {"pipeline": recipe.train.pipeline, "recipe": self.training_settings()}
        if stage == "evaluate":
            return recipe.section("evaluate")
        if stage == "gate":
            return {"rules": self._policy_rules(), "baseline": _file_sha256(recipe.gate.baseline)}
        if stage == "card":
            return {"card": recipe.section("card"), "repo_id": recipe.publish.repo_id}
        return recipe.section("publish")

    # -- train -------------------------------------------------------------------------------

    def _training_args(self) -> tuple[str, str, list[str]]:
        train = self.recipe.train
        return train.pipeline, train.recipe, [f"{k}={json.dumps(v)}" for k, v in train.set.items()]

    def training_settings(self) -> dict[str, Any]:
        """The resolved training recipe as data, without where its files go."""
        if self._training is None:
            from evalkit.training import training_settings

            self._training = json_safe(training_settings(*self._training_args()))
        return self._training

    def _train(self) -> dict[str, Any]:
        from evalkit.release.card import TRAINING_DATA_FILE
        from evalkit.training import train_checkpoint

        checkpoint = train_checkpoint(*self._training_args(), self.root / "train", echo=self.echo)
        copied = export_model(checkpoint, self.model_dir)
        record = json.loads((self.model_dir / TRAINING_DATA_FILE).read_text())
        return {"checkpoint": str(checkpoint.relative_to(self.root)), "files": copied,
                "counts": record["counts"], "datasets": record["datasets"]}

    # -- evaluate ----------------------------------------------------------------------------

    def _evaluate(self) -> dict[str, Any]:
        from evalkit.run.runner import Runner

        plan = self.recipe.evaluate.plan(self.model_dir, self.eval_dir)
        results = Runner(plan).run()
        return {task: {m.metric: m.value for m in block.metrics}
                for task, block in results.tasks.items()}

    # -- gate --------------------------------------------------------------------------------

    def _policy_rules(self) -> list[dict[str, Any]]:
        gate = self.recipe.gate
        if gate.rules is not None:
            return gate.rules
        try:
            return yaml.safe_load(gate.policy.read_text(encoding="utf-8")).get("rules")
        except (OSError, AttributeError, yaml.YAMLError) as err:
            raise EvalkitError(f"cannot read policy {gate.policy}: fix the file "
                               "(see docs/ci-gate.md)") from err

    def _gate(self) -> dict[str, Any]:
        from evalkit.release.gate import run_gate
        from evalkit.release.policy import load_policy
        from evalkit.release.summary import render_table, write_summaries

        folder = self.root / "gate"
        folder.mkdir(parents=True, exist_ok=True)
        policy_path = folder / "policy.yaml"
        policy_path.write_text(yaml.safe_dump({"rules": self._policy_rules()}, sort_keys=False))
        report = run_gate(load_policy(policy_path), self.eval_dir / "results.json",
                          self.recipe.gate.baseline)
        render_table(report, self.console)
        write_summaries(report, folder / "summary.md")
        return {"passed": report.passed,
                "failed": [f"{v.rule} = {v.value}, needs {v.threshold}"
                           for v in report.verdicts if not v.passed]}

    # -- card --------------------------------------------------------------------------------

    def _card(self) -> dict[str, Any]:
        from evalkit.release.card import CardOptions, write_card

        card = self.recipe.card
        shutil.copyfile(self.eval_dir / "results.json", self.model_dir / "results.json")
        recipe_file = self.model_dir / "training_recipe.yaml"
        recipe_file.write_text(yaml.safe_dump(
            {"pipeline": self.recipe.train.pipeline, **self.training_settings()},
            sort_keys=False, allow_unicode=True))
        options = CardOptions(
            model_name=card.model_name or self.recipe.publish.repo_id, license=card.license,
            base_model=tuple(card.base_model), datasets=tuple(card.datasets),
            tags=tuple(card.tags), recipe=recipe_file, source_url=card.source_url,
        )
        path = write_card(self.model_dir, [self.eval_dir / "results.json"], options)
        return {"card": str(path.relative_to(self.root))}

    # -- publish -----------------------------------------------------------------------------

    def _publish(self, dry_run: bool = False) -> dict[str, Any]:
        from evalkit.release import publish as hub

        settings = self.recipe.publish
        plan = hub.upload_plan(self.model_dir)
        hub.check_model_folder(self.model_dir, plan)
        total = sum(f.size for f in plan)
        verb = "would upload" if dry_run else "uploading"
        self.echo(f"{verb} {len(plan)} files ({total:,} bytes) to {settings.repo_id}"
                  f"{' (private)' if settings.private else ''}:")
        for f in plan:
            self.echo(f"  {f.size:>14,}  {f.path}")
        files = [f.path for f in plan]
        if dry_run:
            self.echo("dry run: nothing uploaded")
            return {"dry_run": True, "files": files}
        # An earlier attempt may have created the repo before its upload failed.
        attempt = self.root / "done" / "publish.attempt"
        retry = attempt.is_file() and attempt.read_text() == settings.repo_id
        attempt.parent.mkdir(parents=True, exist_ok=True)
        attempt.write_text(settings.repo_id)
        url = hub.publish(self.model_dir, settings.repo_id, private=settings.private,
                          exist_ok=settings.exist_ok or retry,
                          commit_message=settings.commit_message)
        attempt.unlink()
        self.echo(f"published: {url}")
        return {"url": url, "files": files}


def export_model(checkpoint: Path, model_dir: Path) -> list[str]:
    """Copy the checkpoint's shippable files (MODEL_FILES) into a fresh `model_dir`."""
    names = sorted({p.name for pattern in MODEL_FILES for p in checkpoint.glob(pattern)
                    if p.is_file()})
    if not any(name.endswith(".safetensors") for name in names):
        raise EvalkitError(f"training wrote no safetensors weights to {checkpoint}")
    if model_dir.exists():
        shutil.rmtree(model_dir)
    model_dir.mkdir(parents=True)
    for name in names:
        shutil.copy2(checkpoint / name, model_dir / name)
    return names


def _file_sha256(path: Path | None) -> str | None:
    if path is None:
        return None
    if path.is_dir():
        path = path / "results.json"
    if not path.is_file():
        raise EvalkitError(f"baseline results {path} does not exist: fix gate.baseline")
    return hashlib.sha256(path.read_bytes()).hexdigest()
