"""Meta-learning: datasets of preprocessed shards, the training loop, checkpoints."""
