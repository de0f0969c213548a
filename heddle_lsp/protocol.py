"""The server's protocol: pygls's, held to the letter of JSON-RPC and LSP where a client misbehaves.

- A request whose params do not fit its method's type (`params: "x"`, a negative position) is answered
  InvalidParams, with what did not fit; a notification like it is logged and dropped. (pygls raises while
  decoding the message, and nobody answers.)
- Before `initialize`, requests are answered ServerNotInitialized and notifications dropped (`exit` aside).
- After `shutdown`, requests are answered InvalidRequest and notifications dropped (`exit` aside).
- `exit` ends the process with status 0 after `shutdown`, else 1 (`exit_status`).
- `didChange` for a document that was never opened is logged and ignored.
- A body that is not JSON is answered ParseError, JSON that is not a JSON-RPC 2.0 object InvalidRequest (with
  a null id when none can be read, as JSON-RPC asks).

None of these is the server's fault: they are logged, never shown to the user as an internal error.

It also keeps the client's `workDoneToken` of the command being executed: pygls hands a command handler only
the command's arguments, and a long command (`heddle.runWorkflow`) reports its progress under that token.

A start's first answers may have been given before the server imported itself (`first_answer.Front`): the
protocol then reads the same messages again, and its own answer to a request the front answered is not sent, only
compared with the front's (a difference is logged). It keeps the `initialize` params as the client sent them and
its answer to them for the next start (`first_answer.keep_initialize`).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Generator
from contextvars import ContextVar
from typing import Any
from urllib.parse import unquote

from lsprotocol import types as lsp
from pygls.exceptions import JsonRpcException
from pygls.protocol import LanguageServerProtocol
from pygls.protocol.language_server import lsp_method

from heddle.cli.inputs import module_files, module_stamp
from heddle_lsp.first_answer import keep_initialize

log = logging.getLogger(__name__)

# Set while the request is dispatched; the command's task copies the context it was created in.
_WORK_DONE_TOKEN: ContextVar[lsp.ProgressToken | None] = ContextVar("heddle_work_done_token", default=None)

# Errors a client causes: answered, logged, never shown to the user as the server's failure.
CLIENT_ERRORS = frozenset({lsp.ErrorCodes.ParseError, lsp.ErrorCodes.InvalidRequest, lsp.ErrorCodes.InvalidParams,
                           lsp.ErrorCodes.ServerNotInitialized})
_JSON_KINDS = {str: "a string", int: "a number", float: "a number", bool: "a boolean"}
_DETAIL = 300  # characters of a decoding problem quoted back to the client


def command_work_done_token() -> lsp.ProgressToken | None:
    """The `workDoneToken` of the `workspace/executeCommand` request the calling command handles."""
    return _WORK_DONE_TOKEN.get()


class Unreadable:
    """A message whose params (or envelope) do not fit its method: kept so it can be answered."""

    jsonrpc = "2.0"

    def __init__(self, data: dict[str, Any], problem: str) -> None:
        self.data = data
        self.problem = problem


class JsonText(str):
    """A handler's result that is JSON text already, written as it is (`HeddleProtocol._send_response`)."""


class HeddleProtocol(LanguageServerProtocol):
    initialized = False  # an `initialize` request arrived
    exit_status: int | None = None  # set by `exit`: 0 after `shutdown`, else 1
    initialize_params: dict[str, Any] | None = None  # as the client sent them (JSON)
    _initialize_id: object = None
    # What a start's front answered before the server was there (`first_answer.Front`): by request id, the result
    # it gave; by URI, the first diagnostics it published or reported.
    front_answered: dict[int | str, Any]
    front_diagnostics: dict[str, Any]

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.front_answered = {}
        self.front_diagnostics = {}

    # --- reading messages ----------------------------------------------------------------------------

    def structure_message(self, data: dict[str, Any]) -> Any:
        if "jsonrpc" not in data:
            return data  # an inner object: its message is structured as a whole
        params = data.get("params")
        if data.get("method") == lsp.INITIALIZE and isinstance(params, dict) and self.initialize_params is None:
            self.initialize_params, self._initialize_id = params, data.get("id")
        if params is not None and not isinstance(params, dict | list):
            return Unreadable(data, f"`params` is {_JSON_KINDS.get(type(params), 'a value')}, not an object")
        try:
            return super().structure_message(data)
        except JsonRpcException as error:
            cause = error.__cause__
            return Unreadable(data, _describe(cause) if cause is not None else str(error))

    def handle_message(self, message: Any) -> None:
        if isinstance(message, Unreadable):
            self._unreadable(message)
            return
        if getattr(message, "jsonrpc", None) != self.VERSION:  # not a JSON-RPC 2.0 message at all
            msg_id = message.get("id") if isinstance(message, dict) else getattr(message, "id", None)
            log.warning("answered a message that is not JSON-RPC 2.0 InvalidRequest: %.200r", message)
            self._error(msg_id if isinstance(msg_id, int | str) else None, lsp.ErrorCodes.InvalidRequest,
                        'the message is not a JSON-RPC 2.0 object (`"jsonrpc": "2.0"`, `method`, ...)')
            return
        method = getattr(message, "method", None)
        is_request = method is not None and hasattr(message, "id")
        if is_request and (not isinstance(message.id, int | str) or isinstance(message.id, bool)):
            log.warning("answered `%s` with an invalid id %r InvalidRequest", method, message.id)
            self._error(None, lsp.ErrorCodes.InvalidRequest, f"the request's id {message.id!r} is not a number or a "
                                                             "string")
            return
        if method == lsp.INITIALIZE and is_request:
            self.initialized = True
        elif method is not None and method != lsp.EXIT:
            if not self.initialized:
                self._refuse(message, is_request, lsp.ErrorCodes.ServerNotInitialized,
                             "the server is not initialized: send `initialize` first")
                return
            if self._shutdown:
                self._refuse(message, is_request, lsp.ErrorCodes.InvalidRequest,
                             "the server is shutting down (`shutdown` was received): only `exit` is accepted")
                return
        super().handle_message(message)

    def _unreadable(self, message: Unreadable) -> None:
        data = message.data
        method, msg_id = data.get("method"), data.get("id")
        if method is None or "id" not in data:
            log.warning("ignored a %s that does not fit its type: %s", f"`{method}`" if method else "message",
                        message.problem)
            return
        if not isinstance(msg_id, int | str) or isinstance(msg_id, bool):
            log.warning("answered a request with an invalid id %r: %s", msg_id, message.problem)
            self._error(None, lsp.ErrorCodes.InvalidRequest, f"the request's id {msg_id!r} is not a number or a string")
            return
        log.warning("answered `%s` (id %r) InvalidParams: %s", method, msg_id, message.problem)
        self._error(msg_id, lsp.ErrorCodes.InvalidParams, f"the params of `{method}` do not fit its type: "
                                                          f"{message.problem[:_DETAIL]}")

    def _refuse(self, message: Any, is_request: bool, code: lsp.ErrorCodes, why: str) -> None:
        if is_request:
            log.warning("answered `%s` (id %r): %s", message.method, message.id, why)
            self._error(message.id, code, why)
        else:
            log.warning("ignored the notification `%s`: %s", message.method, why)

    def _error(self, msg_id: int | str | None, code: lsp.ErrorCodes, text: str) -> None:
        self._send_data({"jsonrpc": self.VERSION, "id": msg_id, "error": {"code": int(code), "message": text}})

    def notify_json(self, method: str, params: str) -> None:
        """A notification whose params are JSON text already (`DiagnosticCache.json_text`), written as pygls writes
        a message (the server's transports, stdio and TCP, write at once)."""
        self._write_json(f'{{"jsonrpc": "{self.VERSION}", "method": {json.dumps(method)}, "params": {params}}}', method)

    def _write_json(self, text: str, what: str) -> None:
        """A message's JSON text written as pygls writes a message (the server's transports write at once)."""
        if self.writer is None:
            log.error("no transport to send %s", what)
            return
        body = text.encode()
        header = (f"Content-Length: {len(body)}\r\nContent-Type: {self.CONTENT_TYPE}; "
                  f"charset={self.CHARSET}\r\n\r\n").encode() if self._include_headers else b""
        self.writer.write(header + body)

    def as_json(self, value: Any) -> Any:
        """`value` as it is written to the client (lsprotocol's types unstructured), read back."""
        return json.loads(value if isinstance(value, JsonText) else self.json_text(value))

    def json_text(self, value: Any) -> str:
        """`value` as JSON text, as it is written to the client."""
        return json.dumps(value, default=self._serialize_message)

    def _send_response(self, msg_id: Any, result: Any | None = None, error: Any = None) -> None:
        if msg_id in self.front_answered and not isinstance(msg_id, bool):
            given = self.front_answered.pop(msg_id)
            if error is not None or self.as_json(result) != given:
                log.warning("the answer given to request %r before the server started differs from the server's: "
                            "%s", msg_id, error or "another result")
                if msg_id == self._initialize_id and error is None:
                    self._keep_initialize(result)
            return  # answered already: a request gets one answer
        if isinstance(result, JsonText) and error is None:
            self._write_json(f'{{"jsonrpc": "{self.VERSION}", "id": {json.dumps(msg_id)}, "result": {result}}}',
                             f"the answer to request {msg_id!r}")
        else:
            super()._send_response(msg_id, result, error)
        if msg_id == self._initialize_id and msg_id is not None and error is None:
            self._keep_initialize(result)

    def _keep_initialize(self, result: Any) -> None:
        if self.initialize_params is not None:
            modules = [(path, module_stamp(path)) for path in sorted(set(module_files()))]
            keep_initialize(self.initialize_params, self.as_json(result), modules)

    def parse_error(self, error: Exception) -> None:
        """A body that is not JSON: answered with a null id, as JSON-RPC asks."""
        log.warning("a message is not JSON (%s): answered ParseError", error)
        self._error(None, lsp.ErrorCodes.ParseError, f"the message is not JSON: {error}")

    # --- methods -------------------------------------------------------------------------------------

    @lsp_method(lsp.EXIT)
    def lsp_exit(self, *args: Any) -> Generator[Any, Any, None]:
        self.exit_status = 0 if self._shutdown else 1
        if self.exit_status:
            log.warning("`exit` came without `shutdown`: exiting with status 1")
        return (yield from super().lsp_exit(*args))

    @lsp_method(lsp.TEXT_DOCUMENT_DID_CHANGE)
    def lsp_text_document__did_change(self, params: lsp.DidChangeTextDocumentParams) -> Generator[Any, Any, None]:
        if unquote(params.text_document.uri) not in self.workspace.text_documents:
            log.warning("ignored a change of %s, which was never opened", params.text_document.uri)
            return
        # The host keeps each open document's text (its tree, edited incrementally). pygls would apply the change to
        # a copy of its own, rebuilding it line by line (O(lines) in Python at every keystroke), which nothing reads.
        handler = self.fm.features.get(lsp.TEXT_DOCUMENT_DID_CHANGE)
        if handler is not None:
            yield handler, (params,), None

    @lsp_method(lsp.WORKSPACE_EXECUTE_COMMAND)
    def lsp_workspace__execute_command(self, params: lsp.ExecuteCommandParams) -> Generator[Any, Any, Any]:
        _WORK_DONE_TOKEN.set(params.work_done_token)
        return (yield from super().lsp_workspace__execute_command(params))


def _describe(error: BaseException) -> str:
    """What did not fit, in one line per place: `params.position.line: ... was -1`. cattrs nests its reasons
    in exception groups, each noted with the attribute it was structuring."""
    leaves: dict[str, None] = {}

    def walk(found: BaseException, path: tuple[str, ...]) -> None:
        notes = [n for n in getattr(found, "__notes__", []) if isinstance(n, str) and "@ attribute " in n]
        here = (*path, _camel(notes[-1].rpartition("@ attribute ")[2].strip())) if notes else path
        inner = getattr(found, "exceptions", None)
        if inner:
            for item in inner:
                walk(item, here)
            return
        reason = "missing" if isinstance(found, KeyError) else str(found) or type(found).__name__
        leaves[f"`{'.'.join(here)}`: {reason}" if here else reason] = None

    walk(error, ())
    return "; ".join(leaves) or str(error)


def _camel(name: str) -> str:
    """lsprotocol's attribute names as the protocol spells them: `text_document` → `textDocument`."""
    head, *rest = name.split("_")
    return head + "".join(part.title() for part in rest)
