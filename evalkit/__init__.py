"""evalkit: evaluation harness and model-release toolkit for small math-reasoning models."""

__version__ = "0.1.0"
