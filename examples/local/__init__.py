"""A plain Python module used as a Heddle module (mapped in ../heddle.toml)."""
