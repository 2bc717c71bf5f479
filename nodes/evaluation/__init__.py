"""Self-reenactment evaluation (paper §4): protocol, baselines, scoring and reports."""
