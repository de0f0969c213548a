"""`fhub/llm`'s response cache: an answer kept under the project's `.heddle/cache/llm/`, keyed by the endpoint,
the model and the whole request, so a rerun or a `heddle replay` does not ask (nor pay) twice.

One JSON file per answer, written whole (a temporary file, then `os.replace`); a file that cannot be read is
a miss. Only answers the endpoint gave are kept, never failures. The API key is no part of the key.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Mapping
from pathlib import Path

from heddle_engine.project_root import find_project
from heddle_engine.run_folder import run_folder

CACHE_FOLDER = Path(".heddle") / "cache" / "llm"


def cache_folder() -> Path:
    """The cache of the project the run belongs to (the run's folder when it is in no project)."""
    start = run_folder()
    root = find_project(start) or start
    return root / CACHE_FOLDER


def cache_key(endpoint: str, model: str, request: Mapping[str, object]) -> str:
    text = json.dumps({"endpoint": endpoint.rstrip("/"), "model": model, "request": request}, sort_keys=True,
                      ensure_ascii=False, default=str)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


class ResponseCache:
    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def _path(self, key: str) -> Path:
        return self.folder / key[:2] / f"{key}.json"

    def get(self, key: str) -> dict[str, object] | None:
        try:
            found = json.loads(self._path(key).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        return found if isinstance(found, dict) else None

    def put(self, key: str, answer: Mapping[str, object]) -> None:
        path = self._path(key)
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
            with os.fdopen(handle, "w", encoding="utf-8") as out:
                json.dump(answer, out, ensure_ascii=False)
            os.replace(temporary, path)
        except OSError:
            return  # a cache that cannot be written costs a later request, nothing else
