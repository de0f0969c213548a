"""Example plugins, declared with the Heddle SDK (mapped in ../heddle.toml)."""
