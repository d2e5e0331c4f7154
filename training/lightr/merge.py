"""`lightr merge`: fold the LoRA adapter into the expert and save a standalone checkpoint.

The folder holds the merged weights, the expert's generation config and the expert's tokenizer
(chat template included), so `evalkit run --model <folder>` loads it like any local model.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from evalkit.errors import EvalkitError
from evalkit.generation.models import resolve_model

DTYPES = ("bfloat16", "float16", "float32")


def merge_adapter(expert: str, adapter: Path, output_dir: Path, dtype: str) -> dict[str, Any]:
    """Load the expert in `dtype`, apply `adapter`, merge_and_unload, save to `output_dir`."""
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    if dtype not in DTYPES:
        raise EvalkitError(f"merge dtype {dtype!r} is not one of {', '.join(DTYPES)}")
    if not (adapter / "adapter_config.json").is_file():
        raise EvalkitError(
            f"{adapter} has no adapter_config.json: point --adapter at the folder written by "
            "`evalkit train lightr finetune`"
        )
    ref = resolve_model(expert)
    base = AutoModelForCausalLM.from_pretrained(ref.path, dtype=getattr(torch, dtype))
    merged = PeftModel.from_pretrained(base, str(adapter)).merge_and_unload()
    merged.save_pretrained(output_dir)
    AutoTokenizer.from_pretrained(ref.path).save_pretrained(output_dir)
    info = {"expert": ref.to_json(), "adapter": str(adapter), "dtype": dtype}
    (output_dir / "lightr_merge.json").write_text(json.dumps(info, indent=1))
    return info
