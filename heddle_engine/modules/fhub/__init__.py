"""Fhub, the functions hub: connectors shipped with Heddle (`fhub/...` import paths)."""
