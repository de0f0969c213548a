"""The language server: document sync, diagnostics and formatting over the language layer."""

from __future__ import annotations

import logging

from lsprotocol import types as lsp
from pygls.lsp.server import LanguageServer

from heddle_lang import __version__
from heddle_lang.check import check_tree
from heddle_lang.formatter import format_tree
from heddle_lang.syntax import parse
from heddle_lsp.convert import encoding_of, lsp_diagnostic, whole_document

log = logging.getLogger(__name__)

server = LanguageServer("heddle-lsp", __version__, text_document_sync_kind=lsp.TextDocumentSyncKind.Incremental)


def _publish(ls: LanguageServer, uri: str) -> None:
    document = ls.workspace.get_text_document(uri)
    tree = parse(document.source)
    encoding = encoding_of(ls.workspace.position_encoding)
    diagnostics = [lsp_diagnostic(uri, tree.lines, d, encoding) for d in check_tree(tree)]
    ls.text_document_publish_diagnostics(
        lsp.PublishDiagnosticsParams(uri=uri, version=document.version, diagnostics=diagnostics)
    )


@server.feature(lsp.TEXT_DOCUMENT_DID_OPEN)
def did_open(ls: LanguageServer, params: lsp.DidOpenTextDocumentParams) -> None:
    _publish(ls, params.text_document.uri)


@server.feature(lsp.TEXT_DOCUMENT_DID_CHANGE)
def did_change(ls: LanguageServer, params: lsp.DidChangeTextDocumentParams) -> None:
    _publish(ls, params.text_document.uri)


@server.feature(lsp.TEXT_DOCUMENT_DID_CLOSE)
def did_close(ls: LanguageServer, params: lsp.DidCloseTextDocumentParams) -> None:
    ls.text_document_publish_diagnostics(lsp.PublishDiagnosticsParams(uri=params.text_document.uri, diagnostics=[]))


@server.feature(lsp.TEXT_DOCUMENT_FORMATTING)
def formatting(ls: LanguageServer, params: lsp.DocumentFormattingParams) -> list[lsp.TextEdit] | None:
    document = ls.workspace.get_text_document(params.text_document.uri)
    tree = parse(document.source)
    result = format_tree(tree)
    if result.text is None or result.text == document.source:
        return None
    encoding = encoding_of(ls.workspace.position_encoding)
    return [lsp.TextEdit(range=whole_document(tree.lines, encoding), new_text=result.text)]
