"""The expert/amateur pair of the LightReasoner tests: two tiny Qwen3 models of one tokenizer.

The expert is tests/tiny_model.build_tiny_qwen3 re-initialised with a wider weight scale (std
0.2 instead of 0.02: at 0.02 both random models are near-uniform and KL stays ~0.02, nothing
like a trained pair); the amateur has the same config and tokenizer, other random weights, and
an embedding matrix padded by 16 rows, so the pair also has vocabularies of different sizes.
"""

from __future__ import annotations

import copy
from pathlib import Path

from tiny_model import build_tiny_qwen3

REPO = Path(__file__).resolve().parent.parent
INIT_STD = 0.2
AMATEUR_PADDING = 16


def _reinit(config, seed: int, folder: Path, tokenizer) -> None:
    import torch
    from transformers import Qwen3ForCausalLM

    torch.manual_seed(seed)
    model = Qwen3ForCausalLM(config)
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    model.generation_config.pad_token_id = tokenizer.pad_token_id
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)


def build_model_pair(folder: Path) -> tuple[Path, Path]:
    """Write (expert, amateur) model folders under `folder`; return their paths."""
    from transformers import AutoConfig, AutoTokenizer

    expert = build_tiny_qwen3(folder / "expert", REPO / "tasks" / "data", seed=0)
    tokenizer = AutoTokenizer.from_pretrained(expert)
    config = AutoConfig.from_pretrained(expert)
    config.initializer_range = INIT_STD
    _reinit(config, 0, expert, tokenizer)
    amateur_config = copy.deepcopy(config)
    amateur_config.vocab_size = config.vocab_size + AMATEUR_PADDING
    _reinit(amateur_config, 1, folder / "amateur", tokenizer)
    return expert, folder / "amateur"


def test_pair_shares_tokenizer_and_differs_in_weights_and_vocab_rows(tmp_path):
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    expert, amateur = build_model_pair(tmp_path)
    assert AutoTokenizer.from_pretrained(expert).get_vocab() == (
        AutoTokenizer.from_pretrained(amateur).get_vocab()
    )
    e = AutoModelForCausalLM.from_pretrained(expert)
    a = AutoModelForCausalLM.from_pretrained(amateur)
    assert a.config.vocab_size == e.config.vocab_size + AMATEUR_PADDING
    e_q = e.model.layers[0].self_attn.q_proj.weight
    assert not torch.equal(e_q, a.model.layers[0].self_attn.q_proj.weight)
