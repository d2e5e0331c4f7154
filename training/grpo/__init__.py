"""GRPO (reinforcement learning with verifiable rewards) through TRL's GRPOTrainer, rewarded by
evalkit's own grader: recipe (settings), reward (grader verdict and format terms), train (the
trainer run and the saved checkpoint), cli (`evalkit train grpo`).
"""
