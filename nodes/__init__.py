"""Composable, stateless nodes and the math they run."""
