"""pyblish adapter."""
