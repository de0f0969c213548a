"""Every language feature end to end: the real `heddle-lsp` process, neovim and VS Code client presets."""

from __future__ import annotations

from pathlib import Path

import pytest
from lsprotocol import types as lsp
from pytest_lsp import LanguageClient

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
FRAUD = (EXAMPLES / "seeds" / "fraud_detection.he").read_text(encoding="utf-8")
URI = (EXAMPLES / "under_test.he").as_uri()  # never written: the text comes with didOpen


def open_text(client: LanguageClient, text: str, uri: str = URI) -> None:
    client.text_document_did_open(lsp.DidOpenTextDocumentParams(
        text_document=lsp.TextDocumentItem(uri=uri, language_id="heddle", version=1, text=text)))


def at(text: str, needle: str, delta: int = 0) -> lsp.Position:
    """The position of `needle` (ASCII text: every encoding counts the same)."""
    offset = text.index(needle) + delta
    line = text.count("\n", 0, offset)
    return lsp.Position(line=line, character=offset - (text.rfind("\n", 0, offset) + 1))


def doc() -> lsp.TextDocumentIdentifier:
    return lsp.TextDocumentIdentifier(uri=URI)


@pytest.mark.asyncio
async def test_hover_shows_the_schema_of_a_step(client: LanguageClient) -> None:
    open_text(client, FRAUD)
    result = await client.text_document_hover_async(lsp.HoverParams(
        text_document=doc(), position=at(FRAUD, "join fetch_user_data", 6)))
    assert result is not None and isinstance(result.contents, lsp.MarkupContent)
    assert "fetch_user_data" in result.contents.value and "country" in result.contents.value


@pytest.mark.asyncio
async def test_completion_offers_the_resource_keys_of_the_function(client: LanguageClient) -> None:
    text = FRAUD.replace('| <broker=kf_broker> kafka.produce { topic: "fraud_audits" }',
                         '| <> kafka.produce { topic: "fraud_audits" }')
    open_text(client, text)
    result = await client.text_document_completion_async(lsp.CompletionParams(
        text_document=doc(), position=at(text, '<> kafka.produce { topic: "fraud_audits" }', 1)))
    labels = [item.label for item in (result.items if isinstance(result, lsp.CompletionList) else result or [])]
    assert labels == ["broker"]


@pytest.mark.asyncio
async def test_definition_references_and_highlights(client: LanguageClient) -> None:
    open_text(client, FRAUD)
    use = at(FRAUD, "join fetch_risk_profile", 6)
    definitions = await client.text_document_definition_async(lsp.DefinitionParams(text_document=doc(), position=use))
    assert isinstance(definitions, list) and definitions[0].range.start == at(FRAUD, "fetch_risk_profile = ")
    references = await client.text_document_references_async(lsp.ReferenceParams(
        text_document=doc(), position=use, context=lsp.ReferenceContext(include_declaration=True)))
    assert references is not None and len(references) == 2
    highlights = await client.text_document_document_highlight_async(lsp.DocumentHighlightParams(
        text_document=doc(), position=use))
    assert highlights is not None and {h.kind for h in highlights} == {lsp.DocumentHighlightKind.Write,
                                                                       lsp.DocumentHighlightKind.Read}


@pytest.mark.asyncio
async def test_rename_also_renames_inside_prql(client: LanguageClient) -> None:
    open_text(client, FRAUD)
    position = at(FRAUD, "fetch_user_data = ")
    prepared = await client.text_document_prepare_rename_async(lsp.PrepareRenameParams(
        text_document=doc(), position=position))
    assert prepared is not None
    edit = await client.text_document_rename_async(lsp.RenameParams(
        text_document=doc(), position=position, new_name="user_lookup"))
    assert edit is not None and edit.changes is not None
    assert len(edit.changes[URI]) == 2
    with pytest.raises(Exception, match="keyword"):
        await client.text_document_rename_async(lsp.RenameParams(
            text_document=doc(), position=position, new_name="workflow"))


@pytest.mark.asyncio
async def test_symbols_folding_selection(client: LanguageClient) -> None:
    open_text(client, FRAUD)
    symbols = await client.text_document_document_symbol_async(lsp.DocumentSymbolParams(text_document=doc()))
    names = [s.name for s in symbols or [] if isinstance(s, lsp.DocumentSymbol)]
    assert "FraudDetection" in names and "fetch_user_data" in names
    found = await client.workspace_symbol_async(lsp.WorkspaceSymbolParams(query="fraud"))
    assert found and any(s.name == "FraudDetection" for s in found)
    folds = await client.text_document_folding_range_async(lsp.FoldingRangeParams(text_document=doc()))
    assert folds and any(f.start_line == at(FRAUD, "workflow FraudDetection").line for f in folds)
    selection = await client.text_document_selection_range_async(lsp.SelectionRangeParams(
        text_document=doc(), positions=[at(FRAUD, "filter amount", 8)]))
    assert selection and selection[0].parent is not None


@pytest.mark.asyncio
async def test_semantic_tokens_full_and_range(client: LanguageClient) -> None:
    open_text(client, FRAUD)
    full = await client.text_document_semantic_tokens_full_async(lsp.SemanticTokensParams(text_document=doc()))
    assert full is not None and len(full.data) % 5 == 0 and len(full.data) > 100
    part = await client.text_document_semantic_tokens_range_async(lsp.SemanticTokensRangeParams(
        text_document=doc(), range=lsp.Range(start=lsp.Position(line=0, character=0),
                                             end=lsp.Position(line=1, character=0))))
    assert part is not None and 0 < len(part.data) < len(full.data)


@pytest.mark.asyncio
async def test_code_actions_fix_layout_and_organize_imports(client: LanguageClient) -> None:
    text = ('import "std/io" io\nimport "fhub/kafka" kafka\n\n'
            "workflow W {\n  [{ id: 1 }] > rows\n  rows\n    | io.print\n}\n")
    open_text(client, text)
    line = at(text, "[{ id: 1 }] > rows").line
    actions = await client.text_document_code_action_async(lsp.CodeActionParams(
        text_document=doc(), range=lsp.Range(start=lsp.Position(line=line, character=0),
                                             end=lsp.Position(line=line, character=20)),
        context=lsp.CodeActionContext(diagnostics=[])))
    kinds = {a.kind for a in actions or [] if isinstance(a, lsp.CodeAction)}
    wanted = {lsp.CodeActionKind.QuickFix, lsp.CodeActionKind.SourceFixAll, lsp.CodeActionKind.SourceOrganizeImports}
    assert wanted <= kinds


@pytest.mark.asyncio
async def test_inlay_hints_code_lens_and_plan_command(client: LanguageClient) -> None:
    open_text(client, FRAUD)
    end = at(FRAUD, "}\n", len(FRAUD) - FRAUD.index("}\n") - 2)
    hints = await client.text_document_inlay_hint_async(lsp.InlayHintParams(
        text_document=doc(), range=lsp.Range(start=lsp.Position(line=0, character=0), end=end)))
    assert hints and any("user_id" in str(h.label) for h in hints)
    lenses = await client.text_document_code_lens_async(lsp.CodeLensParams(text_document=doc()))
    commands = [lens.command.command for lens in lenses or [] if lens.command]
    assert commands == ["heddle.runWorkflow", "heddle.planWorkflow"]
    plan = await client.workspace_execute_command_async(lsp.ExecuteCommandParams(
        command="heddle.planWorkflow", arguments=[URI, "FraudDetection"]))
    assert isinstance(plan, str) and "workflow FraudDetection ? alert_on_fail" in plan
    # heddle.runWorkflow runs the workflow: tests/lsp/test_run_workflow.py, in a temporary folder.


@pytest.mark.asyncio
async def test_completion_documentation_comes_with_the_items_or_when_resolved(client: LanguageClient) -> None:
    # VS Code resolves documentation lazily: the list leaves it out (a thousand steps' schema tables in a large
    # file), `completionItem/resolve` adds the shown item's. Neovim's preset resolves other properties only.
    open_text(client, FRAUD)
    result = await client.text_document_completion_async(lsp.CompletionParams(
        text_document=doc(), position=at(FRAUD, "| generate_audit", 2)))
    assert isinstance(result, lsp.CompletionList)
    item = next(i for i in result.items if i.label == "fetch_user_data")
    capabilities = client.capabilities
    assert capabilities is not None and capabilities.text_document is not None
    completion = capabilities.text_document.completion
    support = completion.completion_item.resolve_support if completion and completion.completion_item else None
    if support is not None and "documentation" in support.properties:
        if item.data is None and result.item_defaults is not None:  # as a client that takes the list's default data
            item.data = result.item_defaults.data
        assert item.documentation is None and item.data is not None
        item = await client.completion_item_resolve_async(item)
    assert isinstance(item.documentation, lsp.MarkupContent) and "country" in item.documentation.value


@pytest.mark.asyncio
async def test_completion_items_share_the_lists_defaults_where_the_client_takes_them(client: LanguageClient) -> None:
    # Neovim 0.10+ and VS Code's client take a range, format and data every item shares once for the list
    # (LSP 3.17's itemDefaults; pytest-lsp's VS Code preset is 1.65's, which does not).
    text = FRAUD.replace("| generate_audit", "| gen_audit")
    open_text(client, text)
    word = lsp.Range(start=at(text, "| gen_audit", 2), end=at(text, "| gen_audit", 11))
    result = await client.text_document_completion_async(lsp.CompletionParams(
        text_document=doc(), position=word.end))
    assert isinstance(result, lsp.CompletionList)
    item = next(i for i in result.items if i.label == "generate_audit")
    capabilities = client.capabilities
    assert capabilities is not None and capabilities.text_document is not None
    listed = capabilities.text_document.completion.completion_list if capabilities.text_document.completion else None
    if listed is not None and listed.item_defaults:
        assert result.item_defaults is not None and result.item_defaults.edit_range == word
        assert result.item_defaults.insert_text_format == lsp.InsertTextFormat.PlainText
        assert all(i.text_edit is None and i.insert_text is None and i.insert_text_format is None
                   for i in result.items if i.label.isidentifier())
    else:
        assert result.item_defaults is None
        assert item.text_edit == lsp.TextEdit(range=word, new_text="generate_audit")
