"""Training pipelines and their recipes (ReasonLite, LightReasoner): evalkit.training."""
