"""What the test client does besides pytest-lsp's defaults: accept the server's dynamic registrations; and
the client most tests use, the real server under the neovim and VS Code presets."""

from __future__ import annotations

import sys
from collections.abc import AsyncIterator

import pytest
import pytest_lsp
from lsprotocol import types as lsp
from pytest_lsp import ClientServerConfig, LanguageClient

SERVER = ClientServerConfig(server_command=[sys.executable, "-m", "heddle_lsp"])


@pytest_lsp.fixture(config=SERVER, params=["neovim", "visual_studio_code"])
async def client(request: pytest.FixtureRequest, lsp_client: LanguageClient) -> AsyncIterator[None]:
    """A session with an editor's capabilities; a test module may define its own `client` instead."""
    accept_registrations(lsp_client)
    capabilities = pytest_lsp.client_capabilities(request.param)
    remember_diagnostic_mode(lsp_client, capabilities)
    await lsp_client.initialize_session(lsp.InitializeParams(capabilities=capabilities))
    yield
    await lsp_client.shutdown_session()


def accept_registrations(client: LanguageClient) -> None:
    """Editors answer `client/registerCapability`; pytest-lsp's client does not unless told to."""

    @client.feature(lsp.CLIENT_REGISTER_CAPABILITY)
    def register(params: lsp.RegistrationParams) -> None:
        client.registrations.extend(params.registrations)  # type: ignore[attr-defined]

    client.registrations = []  # type: ignore[attr-defined]


def pulls(client: LanguageClient) -> bool:
    """Does this client pull diagnostics (then the server pushes none)? Set by `remember_diagnostic_mode`."""
    return bool(getattr(client, "pulls_diagnostics", False))


def remember_diagnostic_mode(client: LanguageClient, capabilities: lsp.ClientCapabilities) -> None:
    text_document = capabilities.text_document
    client.pulls_diagnostics = text_document is not None and text_document.diagnostic is not None  # type: ignore[attr-defined]


async def current_diagnostics(client: LanguageClient, uri: str) -> list[lsp.Diagnostic]:
    """What the editor shows for `uri` after the last change: pulled if the client pulls, else the next push."""
    if pulls(client):
        report = await client.text_document_diagnostic_async(lsp.DocumentDiagnosticParams(
            text_document=lsp.TextDocumentIdentifier(uri=uri)))
        assert isinstance(report, lsp.RelatedFullDocumentDiagnosticReport)
        return list(report.items)
    await client.wait_for_notification(lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
    return list(client.diagnostics[uri])
