"""The data the authors published, pinned by repository and revision, streamed through `datasets`.

A :class:`DatasetSource` is a Hub dataset at a revision, or ``data_files`` (a local copy, a URL, or
an fsspec chain such as ``zip://member::archive.zip``) read by the ``json`` or ``parquet`` builder;
a source with ``data_files`` reads them instead of the Hub repository, so a local copy or a test
fixture in the same schema goes through the same code. Rows are streamed (``streaming=True``):
nothing is downloaded beyond what is read.

One adapter per published schema turns rows into what the pipelines use:

- ReasonLite's pool (README "Dataset": 343K problems from Polaris and OpenMathReasoning):
  :func:`polaris_problem` (``problem``, ``answer``, ``difficulty``), :func:`omr_problem`
  (``problem``, ``expected_answer``, ``problem_type``, ...: one row per solution, so problems
  repeat); ids ``pol:<row>`` / ``omr:<row>`` as ReasonLite's info.jsonl writes them
  (``"index": "pol:0"``).
- ReasonLite's released SFT data, amd/ReasonLite-Dataset (``prompt``, ``answer``,
  ``expected_answer``, ``vote``, ``problem_source``; splits ``medium`` = short CoT, ``high`` = long
  CoT): :func:`reasonlite_example`.
- LightReasoner's released samples (rows as LightR_sampling.py writes them: ``prompt_id`` = the
  question, ``step``, ``prefix``, ``tokens``, ``token_ids``, ``weights``, ``kl_divergence``) are
  read in training/lightr/released.py.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from evalkit.errors import EvalkitError
from evalkit.records import Problem

BOXED_INSTRUCTION = "Please reason step by step, and put your final answer within \\boxed{}."
FORMATS = ("json", "parquet")


@dataclass(frozen=True)
class DatasetSource:
    """Where a published dataset is read from, and which split."""

    repo_id: str | None = None
    revision: str | None = None  # a commit of the Hub repository
    config: str | None = None
    split: str = "train"
    # read instead of the Hub repository (a local copy, a fixture): one file or glob for the
    # split, or a mapping of split -> file(s)
    data_files: str | dict[str, str] | None = None
    format: str = "json"  # the builder for data_files: json or parquet

    def __post_init__(self) -> None:
        if self.repo_id is None and self.data_files is None:
            raise EvalkitError("a dataset source needs repo_id (a Hub dataset) or data_files")
        if self.format not in FORMATS:
            raise EvalkitError(f"dataset format must be one of {', '.join(FORMATS)}")

    def rows(self) -> Iterator[dict[str, Any]]:
        """The split's rows, streamed."""
        from datasets import load_dataset

        try:
            if self.data_files is not None:
                files = (self.data_files if isinstance(self.data_files, dict)
                         else {self.split: self.data_files})
                stream = load_dataset(self.format, data_files=files, split=self.split,
                                      streaming=True)
            else:
                stream = load_dataset(self.repo_id, name=self.config, split=self.split,
                                      revision=self.revision, streaming=True)
            yield from stream
        except (OSError, ValueError) as err:
            raise EvalkitError(
                f"cannot read {self.describe()} ({type(err).__name__}: {str(err)[:200]}): check "
                "the network (HF_DATASETS_OFFLINE) or point data_files at a local copy"
            ) from err

    def describe(self) -> str:
        if self.data_files is not None:
            return f"{self.data_files} [{self.split}]"
        where = f"{self.repo_id}@{self.revision or 'main (no revision pinned)'}"
        return f"{where} {self.config or 'default'}/{self.split}"

    def provenance(self) -> dict[str, Any]:
        """What the card and the run records say about this source."""
        return {key: value for key, value in dataclasses.asdict(self).items()
                if value is not None}


def strip_instruction(prompt: str) -> str:
    """A ReasonLite prompt without the boxed-answer instruction ReasonLite appends."""
    return prompt.removesuffix(BOXED_INSTRUCTION).rstrip()


def polaris_problem(row: dict[str, Any], index: int) -> Problem:
    """A Polaris-Dataset-53K row (problem, answer, difficulty) as a problem."""
    return Problem(id=f"pol:{index}", question=str(row["problem"]).strip(),
                   gold=str(row["answer"]).strip(),
                   meta={"difficulty": row.get("difficulty"), "source": "polaris"})


def omr_problem(row: dict[str, Any], index: int, problem_types: tuple[str, ...]
                ) -> Problem | None:
    """An OpenMathReasoning row as a problem, if its problem_type is wanted and it has an answer."""
    answer = row.get("expected_answer")
    if row.get("problem_type") not in problem_types or not answer:
        return None
    return Problem(id=f"omr:{index}", question=str(row["problem"]).strip(),
                   gold=str(answer).strip(),
                   meta={"problem_source": row.get("problem_source"),
                         "source": "openmathreasoning"})


def reasonlite_example(row: dict[str, Any]) -> dict[str, Any]:
    """An amd/ReasonLite-Dataset row as an SFT example (user prompt, assistant answer)."""
    return {
        "messages": [{"role": "user", "content": row["prompt"]},
                     {"role": "assistant", "content": row["answer"]}],
        "problem": strip_instruction(str(row["prompt"])),
        "expected_answer": row.get("expected_answer"),
        "problem_source": row.get("problem_source"),
    }
