"""export adapter."""
