"""comfyui adapter."""
