"""Training pipelines and their recipes (ReasonLite, LightReasoner, its SFT baseline, GRPO):
evalkit.training. Outside callers use the one entry point, :func:`train_checkpoint`."""

from .entry import PIPELINES, TRAINING_DATA_FILE, train_checkpoint, training_settings

__all__ = ["PIPELINES", "TRAINING_DATA_FILE", "train_checkpoint", "training_settings"]
