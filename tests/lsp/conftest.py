"""What the test client does besides pytest-lsp's defaults: accept the server's dynamic registrations."""

from __future__ import annotations

from lsprotocol import types as lsp
from pytest_lsp import LanguageClient


def accept_registrations(client: LanguageClient) -> None:
    """Editors answer `client/registerCapability`; pytest-lsp's client does not unless told to."""

    @client.feature(lsp.CLIENT_REGISTER_CAPABILITY)
    def register(params: lsp.RegistrationParams) -> None:
        client.registrations.extend(params.registrations)  # type: ignore[attr-defined]

    client.registrations = []  # type: ignore[attr-defined]
