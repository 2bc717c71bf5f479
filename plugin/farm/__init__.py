"""farm adapter."""
