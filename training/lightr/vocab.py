"""Which token ids the expert and amateur distributions are compared over.

The amateur reads the expert's token ids, so both tokenizers must map every token to the same
id: pairs that do not are refused (no silent re-tokenisation). Embedding matrices are often
padded past the tokenizer (Qwen2.5: 151936 rows for 151665 tokens), and two models of one
tokenizer may be padded differently. Distributions are therefore compared over the shared real
vocabulary, ids 0 .. largest tokenizer id: logits beyond it are dropped and the softmax runs over
the real ids only (the published code truncates to the smaller matrix after a full softmax, so
its distributions do not sum to 1 when padded rows carry any mass).
"""

from __future__ import annotations

from typing import Any

from evalkit.errors import EvalkitError


def real_vocab_size(tokenizer: Any) -> int:
    """Ids a tokenizer can produce: 0 .. its largest id (added tokens included)."""
    return max(tokenizer.get_vocab().values()) + 1


def label_vocab_size(tokenizer: Any, rule: str) -> int:
    """Ids the fine-tuning loss covers: below ``tokenizer.vocab_size`` (the published trainer:
    added tokens such as <|im_end|> left out) or every real id (``all_real_tokens``)."""
    return tokenizer.vocab_size if rule == "tokenizer_vocab_size" else real_vocab_size(tokenizer)


def shared_vocab_size(
    expert_tokenizer: Any, amateur_tokenizer: Any, expert_logits: int, amateur_logits: int
) -> int:
    """Number of real token ids both models are compared over; raises if the tokenizers differ.

    `expert_logits` / `amateur_logits` are the models' output sizes (config.vocab_size).
    """
    expert_vocab, amateur_vocab = expert_tokenizer.get_vocab(), amateur_tokenizer.get_vocab()
    if expert_vocab != amateur_vocab:
        differing = sorted(
            set(expert_vocab.items()).symmetric_difference(amateur_vocab.items()),
            key=lambda item: item[1],
        )
        example = ", ".join(f"{token!r}->{index}" for token, index in differing[:3])
        raise EvalkitError(
            f"the expert and amateur tokenizers differ ({len(expert_vocab)} vs "
            f"{len(amateur_vocab)} tokens; e.g. {example}): the amateur must read the expert's "
            "token ids, so pick an amateur of the same tokenizer family (Qwen2.5-Math with "
            "Qwen2.5, SmolLM2 with SmolLM2)"
        )
    size = real_vocab_size(expert_tokenizer)
    for role, rows in (("expert", expert_logits), ("amateur", amateur_logits)):
        if rows < size:
            raise EvalkitError(
                f"the {role} model has {rows} output logits but its tokenizer has {size} tokens: "
                "the checkpoint does not match its tokenizer"
            )
    return size
