"""Request handlers: one per LSP feature, each a query of `heddle_lang.ide` on the current snapshot.

A handler awaits the snapshot (so a cancelled request is never computed), converts the position into a
byte offset, asks the pure query, and converts the answer with `heddle_lsp.convert`.
"""

from __future__ import annotations

from typing import Any

from lsprotocol import types as lsp
from pygls.exceptions import JsonRpcInvalidParams

from heddle_lang.ide import across, actions, completion, hover, inlay, lens, navigation, ranges, symbols, tokens
from heddle_lang.semantic.libraries import reached
from heddle_lsp import convert
from heddle_lsp.host import Snapshot
from heddle_lsp.protocol import JsonText
from heddle_lsp.run import WorkflowRuns
from heddle_lsp.server import HeddleServer, server

_runs = WorkflowRuns()


async def _at(ls: HeddleServer, uri: str, position: lsp.Position | None = None) -> tuple[Snapshot, int] | None:
    snapshot = await ls.snapshot(uri)
    if snapshot is None:
        return None
    offset = convert.offset(snapshot.tree.lines, position, ls.host.encoding) if position is not None else 0
    return snapshot, offset


@server.feature(lsp.TEXT_DOCUMENT_HOVER)
async def on_hover(ls: HeddleServer, params: lsp.HoverParams) -> lsp.Hover | None:
    found = await _at(ls, params.text_document.uri, params.position)
    if found is None:
        return None
    snapshot, offset = found
    result = hover.hover(snapshot.analysis, offset)
    return convert.lsp_hover(snapshot.tree.lines, result, ls.host.encoding) if result else None


@server.feature(lsp.TEXT_DOCUMENT_COMPLETION, lsp.CompletionOptions(
    trigger_characters=["<", "=", ".", "?", "|", "{", " ", '"', ",", "(", "/"], resolve_provider=True))
async def on_completion(ls: HeddleServer, params: lsp.CompletionParams) -> JsonText | None:
    """The items at the position. A client that resolves documentation lazily gets none in the list (after `| ` in
    a large file, the schema tables of a thousand steps): `completionItem/resolve` adds the one it shows."""
    uri = params.text_document.uri
    found = await _at(ls, uri, params.position)
    if found is None:
        return None
    snapshot, offset = found

    def paths() -> list[str]:  # asked for inside `import "` only: the catalog lists installed packages
        return ls.catalog_paths(uri)

    lazy = _resolves_documentation(ls)
    items = completion.complete(snapshot.analysis, offset, paths, lazy=lazy)
    return JsonText(convert.completion_json(
        snapshot.tree.lines, items, ls.host.encoding, text_of=ls.protocol.json_text,
        kept=ls.completion_lists, defaults=_defaults_taken(ls),
        later={"uri": uri, "version": snapshot.version, "offset": offset} if lazy else None))


@server.feature(lsp.COMPLETION_ITEM_RESOLVE)
async def on_completion_resolve(ls: HeddleServer, item: lsp.CompletionItem) -> lsp.CompletionItem:
    """The documentation of an item `on_completion` left out, computed again from the same snapshot."""
    data = item.data
    if item.documentation is not None or not isinstance(data, dict) or not isinstance(data.get("uri"), str):
        return item
    snapshot = await ls.snapshot(data["uri"])
    offset, index = data.get("offset"), data.get("index")
    if snapshot is None or snapshot.version != data.get("version") or not isinstance(offset, int):
        return item  # the document changed since: the client asks for completions again
    items = completion.complete(snapshot.analysis, offset, lambda: ls.catalog_paths(data["uri"]), lazy=True)
    if not isinstance(index, int):  # the list's default data: the item is found by its label and kind
        index = next((i for i, each in enumerate(items) if each.label == item.label
                      and (item.kind is None or convert.completion_kind(each) == item.kind)), -1)
    if 0 <= index < len(items) and items[index].label == item.label:
        text = completion.documentation(snapshot.analysis, items[index])
        if text:
            item.documentation = lsp.MarkupContent(kind=lsp.MarkupKind.Markdown, value=text)
    return item


def _completion_capability(ls: HeddleServer) -> lsp.CompletionClientCapabilities | None:
    text_document = ls.client_capabilities.text_document
    return text_document.completion if text_document is not None else None


def _defaults_taken(ls: HeddleServer) -> frozenset[str]:
    """The completion list's item defaults the client takes, of those the server gives."""
    capability = _completion_capability(ls)
    listed = capability.completion_list if capability is not None else None
    taken = listed.item_defaults if listed is not None else None
    return convert.ITEM_DEFAULTS.intersection(taken or ())


def _resolves_documentation(ls: HeddleServer) -> bool:
    """Whether the client asks `completionItem/resolve` for an item's documentation when it shows it."""
    capability = _completion_capability(ls)
    item = capability.completion_item if capability is not None else None
    support = item.resolve_support if item is not None else None
    return support is not None and "documentation" in support.properties


@server.feature(lsp.TEXT_DOCUMENT_DEFINITION)
async def on_definition(ls: HeddleServer, params: lsp.DefinitionParams) -> list[lsp.Location] | None:
    found = await _at(ls, params.text_document.uri, params.position)
    if found is None:
        return None
    snapshot, offset = found
    target = across.target_at(snapshot.analysis, offset)
    if target is not None and across.elsewhere(snapshot.analysis, target):
        place = across.definition_place(snapshot.analysis, target)
        return [convert.lsp_place(ls.uri_of(target.file, snapshot.uri), place, ls.host.encoding)] if place else []
    return [convert.lsp_location(snapshot, loc, ls.host.encoding)
            for loc in navigation.definition(snapshot.analysis, offset)]


@server.feature(lsp.TEXT_DOCUMENT_REFERENCES)
async def on_references(ls: HeddleServer, params: lsp.ReferenceParams) -> list[lsp.Location] | None:
    found = await _at(ls, params.text_document.uri, params.position)
    if found is None:
        return None
    snapshot, offset = found
    target = across.target_at(snapshot.analysis, offset)
    if target is not None and (across.elsewhere(snapshot.analysis, target) or across.shared(target)):
        places = across.references(await ls.related(snapshot, target), target, params.context.include_declaration)
        return [convert.lsp_place(ls.uri_of(p.analysis.file, snapshot.uri), p, ls.host.encoding) for p in places]
    found_locations = navigation.references(snapshot.analysis, offset, params.context.include_declaration)
    return [convert.lsp_location(snapshot, loc, ls.host.encoding) for loc in found_locations]


@server.feature(lsp.TEXT_DOCUMENT_DOCUMENT_HIGHLIGHT)
async def on_highlight(ls: HeddleServer, params: lsp.DocumentHighlightParams) -> list[lsp.DocumentHighlight] | None:
    found = await _at(ls, params.text_document.uri, params.position)
    if found is None:
        return None
    snapshot, offset = found
    lines = snapshot.tree.lines
    return [lsp.DocumentHighlight(
        range=convert.lsp_range(lines, h.span, ls.host.encoding),
        kind=lsp.DocumentHighlightKind.Write if h.write else lsp.DocumentHighlightKind.Read,
    ) for h in navigation.highlights(snapshot.analysis, offset)]


@server.feature(lsp.TEXT_DOCUMENT_PREPARE_RENAME)
async def on_prepare_rename(ls: HeddleServer, params: lsp.PrepareRenameParams) -> lsp.Range | None:
    found = await _at(ls, params.text_document.uri, params.position)
    if found is None:
        return None
    snapshot, offset = found
    span = navigation.prepare_rename(snapshot.analysis, offset)
    return convert.lsp_range(snapshot.tree.lines, span, ls.host.encoding) if span is not None else None


@server.feature(lsp.TEXT_DOCUMENT_RENAME, lsp.RenameOptions(prepare_provider=True))
async def on_rename(ls: HeddleServer, params: lsp.RenameParams) -> lsp.WorkspaceEdit | None:
    found = await _at(ls, params.text_document.uri, params.position)
    if found is None:
        return None
    snapshot, offset = found
    target = across.target_at(snapshot.analysis, offset)
    if target is not None and (across.elsewhere(snapshot.analysis, target) or across.shared(target)):
        groups = across.rename(await ls.related(snapshot, target), target, params.new_name)
        if isinstance(groups, str):
            raise JsonRpcInvalidParams(groups)
        return convert.files_edit([(ls.uri_of(analysis.file, snapshot.uri), analysis.tree.lines, edits)
                                   for analysis, edits in groups], ls.host.encoding)
    edits = navigation.rename(snapshot.analysis, offset, params.new_name)
    if isinstance(edits, str):
        raise JsonRpcInvalidParams(edits)
    return convert.workspace_edit(snapshot, edits, ls.host.encoding)


@server.feature(lsp.TEXT_DOCUMENT_DOCUMENT_SYMBOL)
async def on_document_symbols(ls: HeddleServer, params: lsp.DocumentSymbolParams) -> list[lsp.DocumentSymbol]:
    found = await _at(ls, params.text_document.uri)
    if found is None:
        return []
    snapshot, _ = found
    return [convert.lsp_symbol(snapshot.tree.lines, s, ls.host.encoding)
            for s in symbols.document_symbols(snapshot.analysis)]


@server.feature(lsp.WORKSPACE_SYMBOL)
async def on_workspace_symbols(ls: HeddleServer, params: lsp.WorkspaceSymbolParams) -> list[lsp.WorkspaceSymbol]:
    snapshots = [s for uri in list(ls.host.documents) if (s := await ls.snapshot(uri)) is not None]
    analyses = {s.uri: s.analysis for s in snapshots}
    for snapshot in snapshots:  # the libraries the open documents read, open or not
        for library in reached(snapshot.analysis):
            analyses.setdefault(ls.uri_of(library.file, snapshot.uri), library.analysis)
    found = symbols.workspace_symbols(analyses.items(), params.query)
    return [convert.lsp_workspace_symbol(uri, analyses[uri].tree.lines, symbol, ls.host.encoding)
            for uri, symbol in found]


@server.feature(lsp.TEXT_DOCUMENT_FOLDING_RANGE)
async def on_folding(ls: HeddleServer, params: lsp.FoldingRangeParams) -> list[lsp.FoldingRange]:
    found = await _at(ls, params.text_document.uri)
    if found is None:
        return []
    snapshot, _ = found
    return [convert.lsp_folding(f) for f in ranges.folding_ranges(snapshot.analysis)]


@server.feature(lsp.TEXT_DOCUMENT_SELECTION_RANGE)
async def on_selection(ls: HeddleServer, params: lsp.SelectionRangeParams) -> list[lsp.SelectionRange]:
    snapshot = await ls.snapshot(params.text_document.uri)
    if snapshot is None:
        return []
    lines = snapshot.tree.lines
    offsets = [convert.offset(lines, p, ls.host.encoding) for p in params.positions]
    return [convert.lsp_selection(lines, chain, ls.host.encoding)
            for chain in ranges.selection_ranges(snapshot.analysis, offsets)]


_LEGEND = lsp.SemanticTokensLegend(token_types=list(tokens.TOKEN_TYPES), token_modifiers=list(tokens.TOKEN_MODIFIERS))


@server.feature(lsp.TEXT_DOCUMENT_SEMANTIC_TOKENS_FULL, lsp.SemanticTokensRegistrationOptions(
    legend=_LEGEND, full=True, range=True))
async def on_tokens(ls: HeddleServer, params: lsp.SemanticTokensParams) -> lsp.SemanticTokens:
    snapshot = await ls.snapshot(params.text_document.uri)
    if snapshot is None:
        return lsp.SemanticTokens(data=[])
    return convert.lsp_tokens(snapshot.tree.lines, tokens.semantic_tokens(snapshot.analysis), ls.host.encoding)


@server.feature(lsp.TEXT_DOCUMENT_SEMANTIC_TOKENS_RANGE)
async def on_tokens_range(ls: HeddleServer, params: lsp.SemanticTokensRangeParams) -> lsp.SemanticTokens:
    snapshot = await ls.snapshot(params.text_document.uri)
    if snapshot is None:
        return lsp.SemanticTokens(data=[])
    lines = snapshot.tree.lines
    start, end = convert.offsets(lines, params.range, ls.host.encoding)
    found = tokens.semantic_tokens(snapshot.analysis, start, end)
    return convert.lsp_tokens(lines, found, ls.host.encoding)


@server.feature(lsp.TEXT_DOCUMENT_CODE_ACTION, lsp.CodeActionOptions(code_action_kinds=[
    lsp.CodeActionKind.QuickFix, lsp.CodeActionKind.SourceFixAll, lsp.CodeActionKind.SourceOrganizeImports]))
async def on_code_action(ls: HeddleServer, params: lsp.CodeActionParams) -> list[lsp.CodeAction]:
    snapshot = await ls.snapshot(params.text_document.uri)
    if snapshot is None:
        return []
    lines = snapshot.tree.lines
    start, end = convert.offsets(lines, params.range, ls.host.encoding)
    only = [str(k) for k in params.context.only] if params.context.only else None
    diagnostics = ls.lsp_diagnostics(snapshot)
    return [convert.lsp_code_action(snapshot, action, diagnostics, ls.host.encoding)
            for action in actions.code_actions(snapshot.analysis, start, end, only)]


@server.feature(lsp.TEXT_DOCUMENT_RANGE_FORMATTING)
async def on_range_formatting(ls: HeddleServer, params: lsp.DocumentRangeFormattingParams) -> list[lsp.TextEdit]:
    snapshot = await ls.snapshot(params.text_document.uri)
    if snapshot is None:
        return []
    lines = snapshot.tree.lines
    start, end = convert.offsets(lines, params.range, ls.host.encoding)
    return [convert.lsp_text_edit(lines, e, ls.host.encoding)
            for e in actions.format_range_edits(snapshot.analysis, start, end)]


@server.feature(lsp.TEXT_DOCUMENT_INLAY_HINT)
async def on_inlay_hints(ls: HeddleServer, params: lsp.InlayHintParams) -> list[lsp.InlayHint]:
    if not ls.inlay_hints_enabled:
        return []
    snapshot = await ls.snapshot(params.text_document.uri)
    if snapshot is None:
        return []
    lines = snapshot.tree.lines
    start, end = convert.offsets(lines, params.range, ls.host.encoding)
    hints = inlay.inlay_hints(snapshot.analysis, start, end)
    return [convert.lsp_inlay(lines, hint, ls.host.encoding) for hint in hints]


@server.feature(lsp.TEXT_DOCUMENT_CODE_LENS)
async def on_code_lens(ls: HeddleServer, params: lsp.CodeLensParams) -> list[lsp.CodeLens]:
    snapshot = await ls.snapshot(params.text_document.uri)
    if snapshot is None:
        return []
    return [convert.lsp_code_lens(snapshot, item, ls.host.encoding) for item in lens.code_lenses(snapshot.analysis)]


async def _checked(ls: HeddleServer, uri: str, refusal: str) -> Snapshot | None:
    """The document's snapshot when it has no errors; else None, after warning the user with `refusal`."""
    snapshot = await ls.snapshot(uri)
    if snapshot is not None and snapshot.analysis.has_errors:
        ls.window_show_message(lsp.ShowMessageParams(type=lsp.MessageType.Warning, message=refusal))
        return None
    return snapshot


@server.command("heddle.planWorkflow")
async def plan_workflow(ls: HeddleServer, uri: str, workflow: str) -> str | None:
    """Arguments `[uri, workflow]`: the workflow's typed plan as text (also written to the log)."""
    snapshot = await _checked(ls, uri, f"Heddle: `{workflow}` has errors to fix before it can be planned.")
    if snapshot is None:
        return None
    text = snapshot.analysis.plan.only(workflow).explain()
    ls.window_log_message(lsp.LogMessageParams(type=lsp.MessageType.Info, message=text))
    return text


@server.command("heddle.runWorkflow")
async def run_workflow(ls: HeddleServer, uri: str, workflow: str) -> dict[str, Any] | None:
    """Arguments `[uri, workflow]`: run the workflow of the editor's text in a child process, with work-done
    progress; the run's report (JSON), or None when it did not run."""
    snapshot = await _checked(ls, uri, f"Heddle: `{workflow}` was not run: fix the errors first.")
    if snapshot is None:
        return None
    if workflow not in (g.name for g in snapshot.analysis.plan.workflows):
        raise JsonRpcInvalidParams(f"the document has no workflow `{workflow}`")
    return await _runs.run(ls, snapshot, workflow)
