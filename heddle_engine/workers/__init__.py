"""Modules served by workers over Arrow Flight (`heddle.flight`): where they are, how to reach them, and the
remote placement of a step call. See `docs/protocol.md`."""
