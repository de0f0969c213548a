"""Heddle's worker protocol on Arrow Flight: serving plugins to an engine in another process or language.

`protocol.py` holds what both ends agree on (descriptors, actions, structured errors, addresses), written
down for every language in `docs/protocol.md`; `server.py` is the Python worker (`plugin.serve()`,
`heddle worker`). Nothing here imports the engine: a plugin author's environment needs the SDK alone.
"""
