"""The paper's networks: embedder E, generator G, discriminator D, losses, presets."""
