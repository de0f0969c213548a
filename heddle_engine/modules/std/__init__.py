"""The standard library (`std/...` import paths)."""
