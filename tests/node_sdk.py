"""The Node SDK's example worker, for the tests that run it: built by `scripts/ci/node-sdk.sh` (CI sets
HEDDLE_REQUIRE_NODE_SDK, so there a missing build fails instead of skipping)."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest

NODE_SDK = Path(__file__).resolve().parent.parent / "sdk" / "node"
EXAMPLE = NODE_SDK / "dist" / "examples" / "score.js"


def node_example() -> Path:
    """The built example plugin (`examples/score.ts`), or skip (fail in CI) when it is not there."""
    if shutil.which("node") is not None and EXAMPLE.is_file():
        return EXAMPLE
    message = "the Node SDK is not built: run `bash scripts/ci/node-sdk.sh` (npm ci, build, test)"
    if os.environ.get("HEDDLE_REQUIRE_NODE_SDK"):
        pytest.fail(message)
    pytest.skip(message)
