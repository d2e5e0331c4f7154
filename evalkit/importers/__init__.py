"""Bring your own outputs: completions made by other tools, graded and scored by evalkit.

:func:`import_file` turns a source file into a run folder; each format is a small adapter module
(:mod:`.jsonl`, :mod:`.lm_eval`, :mod:`.lighteval`, :mod:`.qwen25_math`, :mod:`.openai_batch`)
that yields :class:`ExternalRow` records; :mod:`.matching` finds their problems.
"""

from evalkit.importers.base import ReadOptions
from evalkit.importers.formats import FORMATS
from evalkit.importers.pipeline import ImportSpec, import_file
from evalkit.importers.rows import ExternalRow, ExternalSample

__all__ = ["FORMATS", "ExternalRow", "ExternalSample", "ImportSpec", "ReadOptions", "import_file"]
