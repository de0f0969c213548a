"""A raw JSON-RPC client over the server's stdio: for what a well-behaved client library never sends.

Messages are written byte for byte (any JSON, or bytes that are not JSON at all); every message the server
writes is read on a thread of its own and can be awaited by id or by method.
"""

from __future__ import annotations

import json
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

SERVER = [sys.executable, "-m", "heddle_lsp"]


class RawClient:
    def __init__(self, *args: str, cwd: Path | None = None, env: Mapping[str, str] | None = None) -> None:
        self.process = subprocess.Popen([*SERVER, *args], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                        stderr=subprocess.PIPE, cwd=cwd, env=env)
        self.messages: queue.Queue[dict[str, Any]] = queue.Queue()
        self.seen: list[dict[str, Any]] = []
        self.log: list[bytes] = []
        threading.Thread(target=self._read, daemon=True).start()
        threading.Thread(target=self._read_log, daemon=True).start()

    # --- writing -------------------------------------------------------------------------------------

    def send_bytes(self, body: bytes) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(f"Content-Length: {len(body)}\r\n\r\n".encode() + body)
        self.process.stdin.flush()

    def send(self, message: dict[str, Any]) -> None:
        self.send_bytes(json.dumps({"jsonrpc": "2.0", **message}).encode())

    def request(self, id: object, method: str, params: object = None) -> None:
        self.send({"id": id, "method": method, **({} if params is None else {"params": params})})

    def notify(self, method: str, params: object = None) -> None:
        self.send({"method": method, **({} if params is None else {"params": params})})

    def initialize(self, root: str | None = None) -> dict[str, Any]:
        self.request(0, "initialize", {"processId": None, "rootUri": root, "capabilities": {}})
        answer = self.response(0)
        self.notify("initialized", {})
        return answer

    # --- reading -------------------------------------------------------------------------------------

    def response(self, id: object, timeout: float = 30) -> dict[str, Any]:
        """The answer to request `id`."""
        return self.wait(lambda m: "method" not in m and m.get("id") == id, timeout, f"an answer to {id!r}")

    def notification(self, method: str, timeout: float = 30) -> dict[str, Any]:
        return self.wait(lambda m: m.get("method") == method, timeout, f"a `{method}`")

    def wait(self, wanted: Any, timeout: float, what: str) -> dict[str, Any]:
        for message in self.seen:
            if wanted(message):
                self.seen.remove(message)
                return message
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no {what} in {timeout} s; messages: {self.seen}; log: {self.stderr()}")
            try:
                message = self.messages.get(timeout=left)
            except queue.Empty:
                continue
            if wanted(message):
                return message
            self.seen.append(message)

    def drain(self, seconds: float) -> list[dict[str, Any]]:
        """Every message that arrives within `seconds` (and those read before)."""
        deadline = time.monotonic() + seconds
        while (left := deadline - time.monotonic()) > 0:
            try:
                self.seen.append(self.messages.get(timeout=left))
            except queue.Empty:
                break
        found, self.seen = self.seen, []
        return found

    def stderr(self) -> str:
        return b"".join(self.log).decode("utf-8", "replace")

    def exit_status(self, timeout: float = 30) -> int:
        return self.process.wait(timeout=timeout)

    def close(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()

    def _read(self) -> None:
        stream = self.process.stdout
        assert stream is not None
        while True:
            length = None
            while True:
                line = stream.readline()
                if not line:
                    return
                if line in (b"\r\n", b"\n"):
                    break
                name, _, value = line.decode("ascii").partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value)
            if length is None:
                continue
            self.messages.put(json.loads(stream.read(length)))

    def _read_log(self) -> None:
        stream = self.process.stderr
        assert stream is not None
        for line in stream:
            self.log.append(line)
