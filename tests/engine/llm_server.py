"""A small OpenAI-compatible HTTP server for tests: `/v1/models` and `/v1/chat/completions` (whole answers, or
server-sent events ending in `[DONE]`), answering deterministically from the request, with scripted failures.

It answers `audit: <the user message>`; under a JSON schema, an object with one value per property (a
string names the user message, a number is its length). `fail_first[message] = [429, 503]` answers that
message with those statuses first (with `Retry-After: retry_after`); a user message containing `REFUSE`
is answered 400, and so is a request longer than `context` tokens (a word is a token here), as a real server
refuses what exceeds its context window. It counts requests per message and the most it had in flight at
once.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections import Counter
from collections.abc import Iterator, Mapping
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MODEL = "tiny-test-model"


class State:
    def __init__(self) -> None:
        self.requests: list[dict[str, Any]] = []
        self.per_message: Counter[str] = Counter()
        self.fail_first: dict[str, list[int]] = {}
        self.retry_after = "0"
        self.delay = 0.0
        self.context: int | None = None  # the most prompt tokens a request may have
        self.in_flight = 0
        self.most_in_flight = 0
        self.lock = threading.Lock()


def answer_text(request: Mapping[str, Any]) -> str:
    user = _user(request)
    response_format = request.get("response_format") or {}
    if response_format.get("type") == "json_schema":
        schema = response_format["json_schema"]["schema"]
        return json.dumps({name: _value(prop, user) for name, prop in schema["properties"].items()})
    return f"audit: {user}"


def _user(request: Mapping[str, Any]) -> str:
    return next((m["content"] for m in reversed(request["messages"]) if m["role"] == "user"), "")


def _value(schema: Mapping[str, Any], user: str) -> object:
    kind = schema.get("type")
    kind = next(k for k in kind if k != "null") if isinstance(kind, list) else kind
    return {"string": f"about {user}", "integer": len(user), "number": len(user) / 2, "boolean": len(user) % 2 == 0,
            "array": [f"about {user}"]}.get(kind)


def _tokens(text: str) -> int:
    return len(text.split())


def _prompt_tokens(request: Mapping[str, Any]) -> int:
    return sum(_tokens(m["content"]) for m in request["messages"])


class Handler(BaseHTTPRequestHandler):
    server: _Server

    def log_message(self, format: str, *args: object) -> None:  # quiet
        pass

    def do_GET(self) -> None:
        if self.path.rstrip("/").endswith("/models"):
            self._json(200, {"object": "list", "data": [{"id": MODEL, "object": "model", "owned_by": "tests"}]})
        else:
            self._json(404, {"error": {"message": f"no route {self.path}"}})

    def do_POST(self) -> None:
        state = self.server.state
        length = int(self.headers.get("Content-Length") or 0)
        request = json.loads(self.rfile.read(length) or b"{}")
        user = _user(request)
        with state.lock:
            state.requests.append(request)
            state.per_message[user] += 1
            pending = state.fail_first.get(user)
            status = pending.pop(0) if pending else 200
            state.in_flight += 1
            state.most_in_flight = max(state.most_in_flight, state.in_flight)
        if state.delay:
            time.sleep(state.delay)
        with state.lock:  # before answering: a client that has its answer may send its next request at once
            state.in_flight -= 1
        if status != 200:
            self._json(status, {"error": {"message": f"scripted {status}", "type": "test"}},
                       {"Retry-After": state.retry_after})
        elif state.context is not None and _prompt_tokens(request) > state.context:
            self._json(400, {"error": {"message": f"the request ({_prompt_tokens(request)} tokens) exceeds the "
                                                  f"available context size ({state.context} tokens)",
                                       "type": "exceed_context_size_error"}})
        elif "REFUSE" in user:
            self._json(400, {"error": {"message": "this request is refused by the test server",
                                       "type": "invalid_request_error"}})
        elif request.get("stream"):
            self._stream(request)
        else:
            self._json(200, self._completion(request))

    def _completion(self, request: Mapping[str, Any]) -> dict[str, Any]:
        content = answer_text(request)
        prompt = _prompt_tokens(request)
        finish = "stop"
        limit = request.get("max_tokens")
        if isinstance(limit, int) and _tokens(content) > limit:  # a word is a token here
            content, finish = " ".join(content.split()[:limit]), "length"
        return {"id": "chatcmpl-test", "object": "chat.completion", "created": 0, "model": request["model"],
                "choices": [{"index": 0, "finish_reason": finish,
                             "message": {"role": "assistant", "content": content}}],
                "usage": {"prompt_tokens": prompt, "completion_tokens": _tokens(content),
                          "total_tokens": prompt + _tokens(content)}}

    def _stream(self, request: Mapping[str, Any]) -> None:
        whole = self._completion(request)
        content = whole["choices"][0]["message"]["content"]
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        third = max(1, len(content) // 3)
        pieces = [content[i:i + third] for i in range(0, len(content), third)]
        base = {"id": "chatcmpl-test", "object": "chat.completion.chunk", "created": 0, "model": request["model"]}
        for index, piece in enumerate(pieces):
            delta = {"content": piece, **({"role": "assistant"} if index == 0 else {})}
            self._event({**base, "choices": [{"index": 0, "delta": delta, "finish_reason": None}]})
        self._event({**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
        if (request.get("stream_options") or {}).get("include_usage"):
            self._event({**base, "choices": [], "usage": whole["usage"]})
        self.wfile.write(b"data: [DONE]\n\n")
        self.wfile.flush()

    def _event(self, data: Mapping[str, Any]) -> None:
        self.wfile.write(f"data: {json.dumps(data)}\n\n".encode())
        self.wfile.flush()

    def _json(self, status: int, body: Mapping[str, Any], headers: Mapping[str, str] | None = None) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        self.wfile.write(data)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128  # many clients connecting at once are not dropped by a short listen backlog
    state: State


@contextlib.contextmanager
def llm_server() -> Iterator[tuple[str, State]]:
    """`(base_url, state)` of a server on a free port of 127.0.0.1, stopped on exit."""
    server = _Server(("127.0.0.1", 0), Handler)
    server.state = State()
    thread = threading.Thread(target=server.serve_forever, name="test-llm-server", daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1", server.state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
