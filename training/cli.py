"""`evalkit train`: the published training recipes (needs the `train` extra)."""

from __future__ import annotations

import click

from evalkit.training.distill.cli import distill
from evalkit.training.lightr.cli import lightr


@click.group()
def train() -> None:
    """Train checkpoints with the published recipes (needs the `train` extra)."""


train.add_command(distill)
train.add_command(lightr)
