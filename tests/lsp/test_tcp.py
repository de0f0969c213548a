"""`heddle-lsp --tcp HOST:PORT`: the same server over a socket, for clients that connect rather than spawn."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time


def _message(payload: dict[str, object]) -> bytes:
    body = json.dumps(payload).encode()
    return f"Content-Length: {len(body)}\r\n\r\n".encode() + body


def _read(sock: socket.socket) -> dict[str, object]:
    header = b""
    while not header.endswith(b"\r\n\r\n"):
        header += sock.recv(1)
    length = int(header.split(b"Content-Length:")[1].split(b"\r\n")[0])
    body = b""
    while len(body) < length:
        body += sock.recv(length - len(body))
    return json.loads(body)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_initialize_over_tcp() -> None:
    port = _free_port()
    server = subprocess.Popen([sys.executable, "-m", "heddle_lsp", "--tcp", f"127.0.0.1:{port}"],
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                sock = socket.create_connection(("127.0.0.1", port), timeout=5)
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        with sock:
            sock.sendall(_message({"jsonrpc": "2.0", "id": 1, "method": "initialize",
                                   "params": {"processId": None, "rootUri": None, "capabilities": {}}}))
            reply = _read(sock)
            while "id" not in reply:  # notifications (log messages) may come first
                reply = _read(sock)
            result = reply["result"]
            assert isinstance(result, dict)
            assert result["serverInfo"]["name"] == "heddle-lsp"  # type: ignore[index]
            assert "hoverProvider" in result["capabilities"]  # type: ignore[operator]
    finally:
        server.terminate()
        server.wait(timeout=10)
