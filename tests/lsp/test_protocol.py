"""The protocol under abuse, end to end over stdio: what a raw JSON-RPC client gets back.

Every request gets an answer (InvalidParams, ServerNotInitialized, InvalidRequest, ParseError where it is
the client's mistake); `exit` ends the process with 0 after `shutdown`, else 1; nothing a client gets
wrong shows the user an "internal error" message.
"""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
import pytest_lsp
from lsprotocol import types as lsp
from pytest_lsp import ClientServerConfig, LanguageClient

from tests.lsp.raw import RawClient

SERVER_NOT_INITIALIZED, INVALID_REQUEST, INVALID_PARAMS, PARSE_ERROR = -32002, -32600, -32602, -32700
NEVER_OPENED = "file:///nowhere/never_opened.he"
AT_START = {"line": 0, "character": 0}


def hover(uri: str = NEVER_OPENED, position: object = AT_START) -> dict[str, object]:
    return {"textDocument": {"uri": uri}, "position": position}


@pytest.fixture
def raw() -> Iterator[RawClient]:
    client = RawClient()
    yield client
    client.close()


def no_popups(client: RawClient) -> None:
    shown = [m for m in client.drain(0.5) if m.get("method") == "window/showMessage"]
    assert shown == [], shown


def test_requests_before_initialize_are_answered_server_not_initialized(raw: RawClient) -> None:
    raw.notify("textDocument/didOpen", {"textDocument": {"uri": NEVER_OPENED, "languageId": "heddle", "version": 1,
                                                         "text": "workflow W {\n}\n"}})
    raw.request(1, "textDocument/hover", hover())
    answer = raw.response(1)
    assert answer["error"]["code"] == SERVER_NOT_INITIALIZED and "initialize" in answer["error"]["message"]
    assert "capabilities" in raw.initialize()["result"]
    raw.request(2, "textDocument/documentSymbol", {"textDocument": {"uri": NEVER_OPENED}})
    assert raw.response(2)["result"] == []  # the didOpen before `initialize` was dropped, as LSP asks
    no_popups(raw)
    assert "not initialized" in raw.stderr()


@pytest.mark.parametrize(("params", "where"), [
    (hover(position={"line": -1, "character": 0}), "`params.position`: Position.line should be in range"),
    ("x", "`params` is a string, not an object"),
    (7, "`params` is a number, not an object"),
    ({"textDocument": {"uri": NEVER_OPENED}}, "`params.position`: missing"),
    (hover(position={"line": "one", "character": 0}), "`params.position.line`: invalid literal"),
])
def test_ill_typed_params_are_answered_invalid_params(raw: RawClient, params: object, where: str) -> None:
    raw.initialize()
    raw.request(5, "textDocument/hover", params)
    error = raw.response(5)["error"]
    assert error["code"] == INVALID_PARAMS
    assert error["message"].startswith("the params of `textDocument/hover` do not fit its type: ")
    assert where in error["message"]
    raw.request(6, "textDocument/hover", hover())
    assert raw.response(6)["result"] is None  # and the server serves on
    no_popups(raw)


def test_an_ill_typed_notification_is_logged_and_dropped(raw: RawClient) -> None:
    raw.initialize()
    raw.notify("textDocument/didOpen", {"textDocument": {"uri": 3}})
    raw.request(1, "shutdown")
    assert raw.response(1)["result"] is None
    no_popups(raw)
    assert "ignored a `textDocument/didOpen` that does not fit its type" in raw.stderr()


def test_what_is_not_json_rpc_is_answered_parse_error_or_invalid_request(raw: RawClient) -> None:
    raw.initialize()
    raw.send_bytes(b"{not json")
    assert raw.response(None)["error"]["code"] == PARSE_ERROR
    raw.send_bytes(b"\xff\xfe")  # not even UTF-8
    assert raw.response(None)["error"]["code"] == PARSE_ERROR
    raw.send_bytes(b"[1, 2]")
    assert raw.response(None)["error"]["code"] == INVALID_REQUEST
    raw.send_bytes(b'{"id": 4, "method": "textDocument/hover"}')  # no "jsonrpc"
    assert raw.response(4)["error"]["code"] == INVALID_REQUEST
    raw.send_bytes(b'{"jsonrpc": "2.0", "id": [1], "method": "shutdown"}')
    assert raw.response(None)["error"]["code"] == INVALID_REQUEST
    raw.request(5, "textDocument/hover", hover())
    assert raw.response(5)["result"] is None
    no_popups(raw)


def test_after_shutdown_requests_are_invalid_and_exit_ends_with_status_0(raw: RawClient) -> None:
    raw.initialize()
    raw.request(1, "shutdown")
    assert raw.response(1) == {"jsonrpc": "2.0", "id": 1, "result": None}
    raw.request(2, "textDocument/hover", hover())
    error = raw.response(2)["error"]
    assert error["code"] == INVALID_REQUEST and "shutting down" in error["message"]
    raw.notify("exit")
    assert raw.exit_status() == 0


def test_exit_without_shutdown_ends_with_status_1(raw: RawClient) -> None:
    raw.initialize()
    raw.notify("exit")
    assert raw.exit_status() == 1
    assert "`exit` came without `shutdown`" in raw.stderr()


def test_a_client_that_goes_away_without_shutdown_leaves_status_1(raw: RawClient) -> None:
    raw.initialize()
    assert raw.process.stdin is not None
    raw.process.stdin.close()
    assert raw.exit_status() == 1


def test_documents_never_opened_are_logged_not_shown(raw: RawClient) -> None:
    raw.initialize()
    position = {"textDocument": {"uri": NEVER_OPENED}, "position": AT_START}
    whole = {"textDocument": {"uri": NEVER_OPENED}}
    asked = [
        ("textDocument/hover", position, None), ("textDocument/definition", position, None),
        ("textDocument/documentSymbol", whole, []), ("textDocument/foldingRange", whole, []),
        ("textDocument/semanticTokens/full", whole, {"data": []}),
        ("textDocument/formatting", {**whole, "options": {"tabSize": 2, "insertSpaces": True}}, None),
        ("textDocument/diagnostic", whole, {"kind": "full", "items": []}),
    ]
    for number, (method, params, _) in enumerate(asked):
        raw.request(number, method, params)
    for number, (method, _, expected) in enumerate(asked):
        assert raw.response(number).get("result") == expected, method
    raw.notify("textDocument/didChange", {"textDocument": {"uri": NEVER_OPENED, "version": 2},
                                          "contentChanges": [{"text": "workflow W {\n}\n"}]})
    raw.request(99, "textDocument/hover", hover())
    assert raw.response(99)["result"] is None
    no_popups(raw)
    log = raw.stderr()
    assert f"ignored a change of {NEVER_OPENED}, which was never opened" in log
    assert f"a request about {NEVER_OPENED}, which is not open" in log


# --- the same through a client library (pytest-lsp): no popup for what the client got wrong -------------


@pytest_lsp.fixture(config=ClientServerConfig(server_command=[sys.executable, "-m", "heddle_lsp"]))
async def client(lsp_client: LanguageClient) -> AsyncIterator[None]:
    await lsp_client.initialize_session(lsp.InitializeParams(capabilities=lsp.ClientCapabilities()))
    yield
    await lsp_client.shutdown_session()


@pytest.mark.asyncio
async def test_a_library_client_gets_answers_and_no_popup_for_unopened_documents(client: LanguageClient) -> None:
    uri = (Path(__file__).parent / "never_opened.he").as_uri()
    document = lsp.TextDocumentIdentifier(uri=uri)
    assert await client.text_document_hover_async(lsp.HoverParams(document, lsp.Position(0, 0))) is None
    client.text_document_did_change(lsp.DidChangeTextDocumentParams(
        lsp.VersionedTextDocumentIdentifier(uri=uri, version=2), [lsp.TextDocumentContentChangeWholeDocument("x")]))
    client.text_document_did_close(lsp.DidCloseTextDocumentParams(document))
    assert await client.text_document_document_symbol_async(lsp.DocumentSymbolParams(document)) == []
    assert client.messages == []  # no window/showMessage


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="pipe sizes are Linux's")
def test_the_pipe_to_the_client_holds_a_large_publish(raw: RawClient) -> None:
    """A publish of a large document's diagnostics is written at once, not in turns with the client's reads."""
    import fcntl

    from heddle_lsp.__main__ import PIPE_BYTES

    if int(Path("/proc/sys/fs/pipe-max-size").read_text()) < PIPE_BYTES:
        pytest.skip("this system lets a process widen a pipe less")
    raw.initialize()
    assert raw.process.stdout is not None
    assert fcntl.fcntl(raw.process.stdout.fileno(), fcntl.F_GETPIPE_SZ) == PIPE_BYTES
