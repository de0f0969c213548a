"""Plugins of the runnable examples (mapped in ../heddle.toml)."""
