"""`fhub/llm`'s client: an OpenAI-compatible chat endpoint through the official `openai` library.

Requests run on up to `max_concurrency` threads per client. A 429, 408, 409 or 5xx answer, a lost connection or
a timeout is retried up to `max_retries` times, waiting what the endpoint asks (`Retry-After`, `retry-after-ms`)
or else an exponential backoff with jitter; any other failure is final. The library's own retries are off, so
each attempt is counted here once. Answers are cached (see `llm_cache`) unless the config says not to.
"""

from __future__ import annotations

import email.utils
import os
import random
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from heddle_engine.modules.fhub.llm_cache import ResponseCache, cache_folder, cache_key
from heddle_lang.records import record

DEFAULT_BASE_URL = "https://api.openai.com/v1"
RETRIED_STATUSES = frozenset({408, 409, 429})
MAX_WAIT = 60.0  # seconds: the longest wait a `Retry-After` may ask for


class LLMError(Exception):
    """The endpoint refused a request or could not be reached (its own message, after the retries)."""


@record
class Answer:
    content: str
    prompt_tokens: int | None
    completion_tokens: int | None
    cached: bool = False
    finish_reason: str | None = None  # "length": cut off at `max_tokens`


@record
class Endpoint:
    """Where requests go: what a `client` resource says, else the `openai` library's environment."""

    base_url: str
    api_key: str | None
    model: str | None
    timeout: float = 60.0
    max_concurrency: int = 4
    max_retries: int = 5
    cache: bool = True

    @classmethod
    def from_environment(cls, environ: Mapping[str, str] | None = None) -> Endpoint:
        """`OPENAI_BASE_URL`, `OPENAI_API_KEY` and `OPENAI_MODEL`, as the `openai` library reads them."""
        env = os.environ if environ is None else environ
        return cls(env.get("OPENAI_BASE_URL") or DEFAULT_BASE_URL, env.get("OPENAI_API_KEY") or None,
                   env.get("OPENAI_MODEL") or None)


class ChatClient:
    """One endpoint's `openai` client, made on first use; its concurrency limit is shared by every step."""

    def __init__(self, endpoint: Endpoint, named: str = "") -> None:
        self.endpoint = endpoint
        self.named = named or f"the endpoint {endpoint.base_url}"
        self._client: Any = None
        self._model: str | None = endpoint.model
        self._lock = threading.Lock()
        self._slots = threading.BoundedSemaphore(max(1, endpoint.max_concurrency))
        self.sleep: Callable[[float], None] = time.sleep  # tests replace it to count the waits
        self.attempts = 0  # requests sent, retries included

    def client(self) -> Any:
        with self._lock:
            if self._client is None:
                try:
                    import openai
                except ImportError:
                    raise ImportError("fhub/llm needs the openai library: pip install 'heddle-lang[llm]'") from None
                key = self.endpoint.api_key
                if key is None and self.endpoint.base_url.rstrip("/") == DEFAULT_BASE_URL:
                    raise LLMError(f"{self.named}: no API key: set OPENAI_API_KEY, or `api_key` on the client "
                                   "(`api_key: \"env:NAME\"`)")
                self._client = openai.OpenAI(base_url=self.endpoint.base_url, api_key=key or "unused",
                                             timeout=self.endpoint.timeout, max_retries=0)
            return self._client

    def model(self, wanted: str | None) -> str:
        """The step's model, else the client's, else `OPENAI_MODEL`, else the endpoint's only model."""
        if wanted:
            return wanted
        with self._lock:
            if self._model is not None:
                return self._model
        listed = [m.id for m in self._call(lambda: self.client().models.list().data)]
        if len(listed) != 1:
            offered = ", ".join(listed[:10]) or "none"
            raise LLMError(f"{self.named}: which model? set `model` (or OPENAI_MODEL); the endpoint offers {offered}")
        with self._lock:
            self._model = listed[0]
        return listed[0]

    def complete_all(self, requests: Sequence[dict[str, object]], *, cache: bool, stream: bool,
                     concurrency: int | None = None) -> list[Answer | LLMError]:
        """Each request's answer, or why it failed, in order; at most `concurrency` (else the client's limit)
        in flight from this call, and never more than the client's limit in all."""
        store = ResponseCache(cache_folder()) if cache else None
        workers = max(1, min(concurrency or self.endpoint.max_concurrency, self.endpoint.max_concurrency))

        def one(request: dict[str, object]) -> Answer | LLMError:
            try:
                return self.complete(request, store=store, stream=stream)
            except LLMError as error:
                return error

        if workers == 1 or len(requests) <= 1:
            return [one(r) for r in requests]
        with ThreadPoolExecutor(max_workers=min(workers, len(requests)), thread_name_prefix="heddle-llm") as pool:
            return list(pool.map(one, requests))

    def complete(self, request: dict[str, object], *, store: ResponseCache | None, stream: bool) -> Answer:
        key = cache_key(self.endpoint.base_url, str(request.get("model")), request) if store is not None else ""
        if store is not None:
            found = store.get(key)
            if found is not None and isinstance(found.get("content"), str):
                finish = found.get("finish_reason")
                return Answer(str(found["content"]), _int(found.get("prompt_tokens")),
                              _int(found.get("completion_tokens")), cached=True,
                              finish_reason=finish if isinstance(finish, str) else None)
        with self._slots:
            answer = self._call(lambda: self._send(request, stream))
        if store is not None:
            store.put(key, {"content": answer.content, "prompt_tokens": answer.prompt_tokens,
                            "completion_tokens": answer.completion_tokens, "finish_reason": answer.finish_reason})
        return answer

    def _send(self, request: dict[str, object], stream: bool) -> Answer:
        completions = self.client().chat.completions
        if not stream:
            response = completions.create(**request)
            choice = response.choices[0] if response.choices else None
            usage = response.usage
            return Answer((choice.message.content if choice is not None else None) or "",
                          getattr(usage, "prompt_tokens", None), getattr(usage, "completion_tokens", None),
                          finish_reason=getattr(choice, "finish_reason", None))
        parts: list[str] = []
        usage = None
        finish = None
        for chunk in completions.create(**request, stream=True, stream_options={"include_usage": True}):
            if chunk.choices and chunk.choices[0].delta is not None and chunk.choices[0].delta.content:
                parts.append(chunk.choices[0].delta.content)
            if chunk.choices and chunk.choices[0].finish_reason:
                finish = chunk.choices[0].finish_reason
            if getattr(chunk, "usage", None) is not None:
                usage = chunk.usage
        return Answer("".join(parts), getattr(usage, "prompt_tokens", None), getattr(usage, "completion_tokens", None),
                      finish_reason=finish)

    def _call(self, send: Callable[[], Any]) -> Any:
        import openai

        retries = self.endpoint.max_retries
        for attempt in range(retries + 1):
            with self._lock:
                self.attempts += 1
            try:
                return send()
            except openai.APIStatusError as error:
                status = error.status_code
                retried = status in RETRIED_STATUSES or status >= 500
                if not retried or attempt == retries:
                    raise LLMError(f"{self.named} answered {status}: {_message(error)}") from None
                asked = _retry_after(error.response.headers)
                self.sleep(asked if asked is not None else _backoff(attempt))
            except (openai.APIConnectionError, openai.APITimeoutError) as error:
                if attempt == retries:
                    raise LLMError(f"{self.named}: {type(error).__name__}: {error}") from None
                self.sleep(_backoff(attempt))
        raise AssertionError("unreachable")


def _retry_after(headers: Mapping[str, str]) -> float | None:
    """What the endpoint asks to wait: `retry-after-ms`, else `Retry-After` in seconds or as an HTTP date."""
    text = headers.get("retry-after-ms")
    try:
        if text is not None:
            return min(max(float(text) / 1000, 0.0), MAX_WAIT)
    except ValueError:
        pass
    text = headers.get("retry-after")
    if text is None:
        return None
    try:
        return min(max(float(text), 0.0), MAX_WAIT)
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(text)
    except (TypeError, ValueError):
        return None
    return min(max(when.timestamp() - time.time(), 0.0), MAX_WAIT)


def _backoff(attempt: int) -> float:
    return min(0.5 * 2**attempt, 30.0) * random.uniform(0.8, 1.2)


def _message(error: Any) -> str:
    body = getattr(error, "body", None)
    if isinstance(body, Mapping):
        detail = body.get("error", body)
        if isinstance(detail, Mapping) and detail.get("message"):
            return str(detail["message"])
        if isinstance(detail, str):
            return detail
    return str(getattr(error, "message", error))


def _int(value: object) -> int | None:
    return value if isinstance(value, int) else None
