"""The hf engine's token choice: right distribution, exact nucleus, own streams, and the
sampling settings (repetition penalty, min-p, top-k) doing what they say."""

import pytest
import torch

from evalkit.generation.engines.base import SamplingConfig
from evalkit.generation.engines.hf_sampling import TokenChooser, nucleus

PROBS = torch.tensor([[0.1, 0.2, 0.7]])


def sampled(**settings) -> TokenChooser:
    return TokenChooser(SamplingConfig(**{"temperature": 1.0, "top_p": 1.0, "max_tokens": 8,
                                          **settings}))


def no_history() -> torch.Tensor:
    raise AssertionError("the history is read only for the repetition penalty")


def draws(chooser: TokenChooser, logits: torch.Tensor, seed: int, count: int) -> list[int]:
    generators = [torch.Generator().manual_seed(seed + row) for row in range(logits.shape[0])]
    return [t for _ in range(count) for t in chooser(logits, no_history, generators).tolist()]


def test_sampler_draws_from_the_softmax_distribution():
    tokens = draws(sampled(), torch.log(PROBS), 123, 4000)
    frequencies = torch.bincount(torch.tensor(tokens), minlength=3) / 4000
    assert torch.allclose(frequencies, PROBS[0], atol=0.03)


def test_temperature_sharpens_the_distribution():
    tokens = draws(sampled(temperature=0.25), torch.log(PROBS), 5, 2000)
    # p^4 normalised: 0.7^4 / (0.1^4 + 0.2^4 + 0.7^4) = 0.9930
    assert abs(tokens.count(2) / 2000 - 0.993) < 0.01


def test_nucleus_equals_the_full_sort_definition():
    torch.manual_seed(0)
    for scale in (0.5, 3.0, 12.0):  # flat rows need the full-sort fallback, peaked ones do not
        probs = torch.softmax(torch.randn(4, 5000) * scale, dim=-1)
        top, index = probs.sort(dim=-1, descending=True)
        keep = (top.cumsum(-1) - top) < 0.9
        expected = torch.zeros_like(probs).scatter_(1, index, top * keep)
        assert torch.equal(nucleus(probs, 0.9, candidates=64), expected)


def test_top_p_removes_unlikely_tokens():
    logits = torch.log(torch.tensor([[0.6, 0.3, 0.1]] * 3))
    assert set(draws(sampled(top_p=0.5), logits, 0, 200)) == {0}


@pytest.mark.parametrize(("settings", "kept"), [
    ({"top_k": 2}, {1, 2}),  # the two most likely of [0.1, 0.2, 0.7]
    ({"top_k": 1}, {2}),
    ({"min_p": 0.2}, {1, 2}),  # 0.1 < 0.2 x 0.7 is dropped, 0.2 is kept
    ({"min_p": 0.5}, {2}),
])
def test_top_k_and_min_p_keep_only_the_tokens_they_name(settings, kept):
    assert set(draws(sampled(**settings), torch.log(PROBS), 1, 1000)) == kept


def test_each_row_follows_its_own_seed():
    chooser, logits = sampled(), torch.zeros(1, 50)
    alone = [torch.Generator().manual_seed(7)]
    together = [torch.Generator().manual_seed(99), torch.Generator().manual_seed(7)]
    draws_alone = [chooser(logits, no_history, alone).item() for _ in range(8)]
    draws_together = [chooser(logits.repeat(2, 1), no_history, together)[1].item()
                      for _ in range(8)]
    assert draws_alone == draws_together and len(set(draws_alone)) > 1


def test_repetition_penalty_demotes_seen_tokens_only():
    logits = torch.tensor([[2.0, 1.9, -1.0, 0.5], [2.0, 1.9, -1.0, 0.5]])
    # row 0 has seen token 0 (and padding past the vocabulary); row 1 has seen nothing of note
    history = torch.tensor([[0, 0, 2**40], [3, 3, 3]])
    chooser = TokenChooser(SamplingConfig(0.0, 1.0, 8, repetition_penalty=1.5))
    assert chooser(logits.clone(), lambda: history, [None, None]).tolist() == [1, 0]
    plain = TokenChooser(SamplingConfig(0.0, 1.0, 8))
    assert plain(logits, no_history, [None, None]).tolist() == [0, 0]
