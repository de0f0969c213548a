"""VS Code's language client 9 takes a completion list's item defaults (LSP 3.17) and resolves documentation lazily:
the items come without their range and data, which the client takes from the list — and with the list's data,
`completionItem/resolve` finds the item it is asked about by its label and kind."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
import pytest_lsp
from lsprotocol import types as lsp
from pytest_lsp import LanguageClient

from tests.lsp.conftest import SERVER, accept_registrations
from tests.lsp.test_features import FRAUD, URI, at, doc, open_text

TAKEN = ["commitCharacters", "editRange", "insertTextFormat", "insertTextMode", "data"]  # its client's, 9.0


@pytest_lsp.fixture(config=SERVER)
async def client(lsp_client: LanguageClient) -> AsyncIterator[None]:
    accept_registrations(lsp_client)
    capabilities = pytest_lsp.client_capabilities("visual_studio_code")
    assert capabilities.text_document is not None and capabilities.text_document.completion is not None
    capabilities.text_document.completion.completion_list = lsp.CompletionListCapabilities(item_defaults=TAKEN)
    await lsp_client.initialize_session(lsp.InitializeParams(capabilities=capabilities))
    yield
    await lsp_client.shutdown_session()


@pytest.mark.asyncio
async def test_items_take_the_lists_range_and_data_and_resolve_by_label(client: LanguageClient) -> None:
    text = FRAUD.replace("| generate_audit", "| gen_audit")
    open_text(client, text)
    word = lsp.Range(start=at(text, "| gen_audit", 2), end=at(text, "| gen_audit", 11))
    result = await client.text_document_completion_async(lsp.CompletionParams(text_document=doc(), position=word.end))
    assert isinstance(result, lsp.CompletionList) and result.item_defaults is not None
    assert result.item_defaults.edit_range == word
    assert result.item_defaults.data == {"uri": URI, "version": 1, "offset": len(text[:text.index("| gen_audit") + 11]
                                                                                  .encode())}
    step = next(i for i in result.items if i.label == "fetch_user_data")
    assert step.text_edit is None and step.data is None and step.documentation is None
    step.data = result.item_defaults.data  # as the client does before it resolves the item
    resolved = await client.completion_item_resolve_async(step)
    assert isinstance(resolved.documentation, lsp.MarkupContent) and "country" in resolved.documentation.value
    # an item of another kind with the same label is not this one
    other = lsp.CompletionItem(label="fetch_user_data", kind=lsp.CompletionItemKind.Keyword,
                               data=result.item_defaults.data)
    assert (await client.completion_item_resolve_async(other)).documentation is None
