"""The hf engine's per-row seeded sampler: right distribution, exact nucleus, own streams."""

import torch

from evalkit.generation.engines.hf import SeededSampler, nucleus


def test_sampler_draws_from_the_softmax_distribution():
    sampler = SeededSampler([123], temperature=1.0, top_p=1.0)
    logits = torch.log(torch.tensor([[0.1, 0.2, 0.7]]))
    counts = torch.zeros(3)
    for _ in range(4000):
        mask = sampler(torch.zeros(1, 1, dtype=torch.long), logits)
        assert torch.isinf(mask).sum() == 2  # exactly one token left for greedy to pick
        counts[mask.argmax()] += 1
    assert torch.allclose(counts / 4000, torch.tensor([0.1, 0.2, 0.7]), atol=0.03)


def test_nucleus_equals_the_full_sort_definition():
    torch.manual_seed(0)
    for scale in (0.5, 3.0, 12.0):  # flat rows need the full-sort fallback, peaked ones do not
        probs = torch.softmax(torch.randn(4, 5000) * scale, dim=-1)
        top, index = probs.sort(dim=-1, descending=True)
        keep = (top.cumsum(-1) - top) < 0.9
        expected = torch.zeros_like(probs).scatter_(1, index, top * keep)
        assert torch.equal(nucleus(probs, 0.9, candidates=64), expected)


def test_top_p_removes_unlikely_tokens():
    sampler = SeededSampler([0, 1, 2], temperature=1.0, top_p=0.5)
    logits = torch.log(torch.tensor([[0.6, 0.3, 0.1]] * 3))
    for _ in range(200):
        assert (sampler(torch.zeros(3, 1, dtype=torch.long), logits).argmax(-1) == 0).all()


def test_each_row_follows_its_own_seed():
    logits = torch.zeros(1, 50)
    alone, together = SeededSampler([7], 1.0, 1.0), SeededSampler([99, 7], 1.0, 1.0)
    draws_alone = [alone(None, logits).argmax().item() for _ in range(8)]
    draws_together = [together(None, logits.repeat(2, 1)).argmax(-1)[1].item() for _ in range(8)]
    assert draws_alone == draws_together and len(set(draws_alone)) > 1
