"""LightReasoner (arXiv 2510.07962): expert/amateur contrast sampling, LoRA KL fine-tune, merge.

Modules, one job each: recipe (settings), vocab (which ids the models are compared over),
contrast (KL filter and soft labels of a run of steps), scoring (one forward pass per model over
whole sequences), reference (the naive per-step oracle), step_store (resumable output),
sampler (`lightr sample`), soft_labels (the last-real-token KL loss), finetune (peft + Trainer),
merge (standalone checkpoint), cli (the `evalkit train lightr` commands).
"""
