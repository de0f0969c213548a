"""The language server: thin handlers from LSP requests to queries on analysis snapshots.

Every handler reads as: get the snapshot → ask `heddle_lang` → convert with `heddle_lsp.convert`.
An exception in a handler is logged, answered with an error by pygls, shown once to the user, and the
server keeps serving.
"""

from __future__ import annotations

import asyncio
import json
import logging
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lsprotocol import types as lsp
from pygls.exceptions import (
    JsonRpcContentModified,
    JsonRpcException,
    JsonRpcMethodNotFound,
    JsonRpcRequestCancelled,
)
from pygls.lsp.server import LanguageServer
from pygls.protocol import default_converter

from heddle.cli.inputs import module_stamp, stamp
from heddle_engine.library_files import file_key, he_files, read_text
from heddle_engine.plugin_boot import stop_unadopted
from heddle_lang.catalog import Catalog
from heddle_lang.formatter import format_tree
from heddle_lang.ide import across
from heddle_lang.paths import PathPolicy
from heddle_lang.semantic import Analysis, AnalysisCancelled
from heddle_lang.semantic.libraries import reached
from heddle_lang.semantic.model import Definition
from heddle_lang.text import Position
from heddle_lang.version import __version__
from heddle_lsp import first_answer
from heddle_lsp.convert import DiagnosticCache, completion_item_json, encoding_of, whole_document
from heddle_lsp.host import Change, Host, Snapshot, path_of
from heddle_lsp.protocol import CLIENT_ERRORS, HeddleProtocol

if TYPE_CHECKING:
    from cattrs import Converter

    from heddle_engine.catalog import EngineCatalog

log = logging.getLogger(__name__)

# Every change is analysed at once, after the changes already read from the client have arrived: during a burst
# (a held key, a fast typist, an editor's multi-step edit) the next change cancels the analysis of the version it
# replaces at that analysis's next checkpoint, so the burst's last change starts as soon as it arrives. Waiting
# for the burst to pause instead would add the wait to every burst's last diagnostics.
YIELD_SECONDS = 0.002


class HeddleServer(LanguageServer):
    def __init__(self) -> None:
        self.converted = DiagnosticCache()  # the open documents' diagnostics as LSP has them, and their JSON
        # Completion lists as JSON text, by what their items are (`convert.completion_json`): the same steps after
        # every `| ` of an editing session, whatever the version.
        self.completion_lists: dict[tuple[object, ...], str] = {}
        super().__init__("heddle-lsp", __version__, text_document_sync_kind=lsp.TextDocumentSyncKind.Incremental,
                         protocol_cls=HeddleProtocol, converter_factory=self._converter)
        self.host = Host(self.catalog_for, self.paths_for, record_first=first_answer.enabled())
        self.catalogs: dict[Path | None, EngineCatalog] = {}
        self.catalog_generation = 0  # counts catalog reloads: a pulled report's id says which it saw
        # A client that pulls diagnostics (`textDocument/diagnostic`) gets no pushes: it would show both.
        self.pull_diagnostics = False
        self._shown_errors: set[str] = set()
        self.inlay_hints_enabled = True  # `initializationOptions: {"inlayHints": false}` turns them off
        self.profile: str | None = None  # `initializationOptions: {"profile": "local"}`, else $HEDDLE_PROFILE
        self._projects_published: set[tuple[Path, int]] = set()  # (root, catalog generation) whose heddle.toml
        self._describing = False  # listening to the describer's answers
        self._answers_prepared = False  # `prepare_answers` is done or scheduled
        # What `keep_first_answer` last kept of each open document: its text, diagnostics, catalog generation and the
        # stamps of the libraries it read. A library edit analyses its importers' opened version again, most often
        # to the same answer, which is kept already.
        self.first_kept: dict[str, tuple[object, ...]] = {}

    def _converter(self) -> Converter:
        converter = self.messages = default_converter()
        converter.register_unstructure_hook(
            lsp.Diagnostic, self.converted.json_hook(converter.get_unstructure_hook(lsp.Diagnostic)))
        # Its fallback from a converter of its own (this one's function for the type is the hook), made when needed.
        converter.register_unstructure_hook(lsp.CompletionItem, completion_item_json(
            lambda: default_converter().get_unstructure_hook(lsp.CompletionItem)))
        return converter

    def report_server_error(self, error: Exception, source: Any) -> None:
        """Log every failure; tell the user once per kind of failure of the server, and keep serving. What a
        client got wrong (a message that is not JSON, params of the wrong type) is answered and logged only."""
        if isinstance(error, JsonRpcMethodNotFound | JsonRpcRequestCancelled | JsonRpcContentModified):
            return  # answered as such: nothing broke
        if isinstance(error, JsonRpcException) and error.code in CLIENT_ERRORS:
            log.warning("%s: %s", getattr(source, "__name__", source), error)
            return  # answered with the error: the client's mistake, not the server's
        if source is JsonRpcException:  # the message loop: a message that could not be read
            if isinstance(error, ValueError):  # not JSON, or not UTF-8
                self.protocol.parse_error(error)
            else:
                log.warning("a message could not be handled: %s", error, exc_info=error)
            return
        log.error("%s: %s", getattr(source, "__name__", source), error, exc_info=error)
        key = f"{getattr(source, '__name__', source)}:{type(error).__name__}"
        if key in self._shown_errors:
            return
        self._shown_errors.add(key)
        self.window_show_message(lsp.ShowMessageParams(
            type=lsp.MessageType.Error,
            message=f"Heddle: an internal error occurred ({type(error).__name__}: {error}); see the server log. "
                    "The server keeps running.",
        ))

    def catalog_for(self, path: Path | None) -> Catalog:
        """The catalog of the project a document belongs to; its plugins load in a process of their own."""
        from heddle_engine.catalog import find_project, load_catalog

        start = (path.parent if path is not None else Path.cwd()).resolve()
        root = find_project(start)
        if root not in self.catalogs:
            catalog = self.catalogs[root] = load_catalog(start, isolated=True, profile=self.profile)
            if catalog.profile_error is not None:
                self.window_show_message(lsp.ShowMessageParams(
                    type=lsp.MessageType.Warning, message=f"Heddle: {catalog.profile_error}; checking without one"))
            if catalog.project is not None and catalog.project.modules and catalog.plugins is not None:
                catalog.plugins.start()  # the project maps plugins: import them while the rest gets ready
        return self.catalogs[root]

    def paths_for(self, path: Path | None, catalog: Catalog) -> PathPolicy | None:
        """The path policy of a saved document's project (`[paths] allow` of its heddle.toml)."""
        from heddle_engine.catalog import EngineCatalog
        from heddle_engine.project import path_policy

        if path is None or not isinstance(catalog, EngineCatalog):
            return None
        return path_policy(path, catalog.project)

    def forget_catalogs(self) -> None:
        """Projects or plugins changed: stop their plugin processes and the workers they started; the next
        analysis loads them again."""
        catalogs, self.catalogs = self.catalogs, {}
        self.catalog_generation += 1
        for catalog in catalogs.values():
            catalog.close()

    def describe_in_background(self, loop: asyncio.AbstractEventLoop) -> None:
        """Databases are asked what queries return on threads of their own (never while an analysis waits); an
        answer makes the open documents checked again, now with the server's types."""
        from heddle_engine.describe import DESCRIBER

        DESCRIBER.configure(background=True)
        if not self._describing:
            self._describing = True
            DESCRIBER.listen(lambda: loop.call_soon_threadsafe(self.recheck_documents))

    def recheck_documents(self) -> None:
        """Analyse every open document again (what the catalog or a database says has changed)."""
        self.host.workspaces.clear()  # the libraries' analyses too
        for uri, document in self.host.documents.items():
            document.pending = None
            self.schedule_diagnostics(uri)
        workspace = self.client_capabilities.workspace
        if self.pull_diagnostics and workspace and workspace.diagnostics and workspace.diagnostics.refresh_support:
            self.workspace_diagnostic_refresh(None)

    def recheck_importers(self, file: str | None) -> None:
        """Analyse again the open documents that read the library `file` (it was edited, saved, closed)."""
        if file is None:
            return
        for uri in self.host.importers(file):
            document = self.host.documents[uri]
            document.pending = None
            self.schedule_diagnostics(uri)

    def uri_of(self, file: str | None, fallback: str) -> str:
        """The URI the client knows `file` by (an open document's, else the file's)."""
        if file is None:
            return fallback
        for uri, document in self.host.documents.items():
            if document.path is not None and file_key(document.path) == file:
                return uri
        return Path(file).as_uri()

    async def related(self, snapshot: Snapshot, target: Definition) -> list[Analysis]:
        """The analyses that may name `target`: the document's, the file declaring it, and — a resource, step or
        handler others may import — the project's files importing that file, open or not (read from the disk)."""
        from heddle_engine.catalog import EngineCatalog

        analysis = snapshot.analysis
        found = [analysis]
        home = across.definition_place(analysis, target)
        if home is not None and home.analysis is not analysis:
            found.append(home.analysis)
        document = self.host.documents.get(snapshot.uri)
        if not across.shared(target) or document is None or document.path is None:
            return found
        file = target.file or file_key(document.path)
        catalog = self.catalog_for(document.path)
        root = catalog.project.root if isinstance(catalog, EngineCatalog) and catalog.project else document.path.parent
        workspace = self.host.workspace(catalog)

        def importers() -> list[Analysis]:
            out = []
            for path in he_files(root):
                key = file_key(path)
                if key not in (file, analysis.file) and file in workspace.imports(key):
                    out.append(workspace.analyze(key))
            return out

        found.extend(await asyncio.get_running_loop().run_in_executor(self.host.executor, importers))
        return found

    def catalog_paths(self, uri: str) -> list[str]:
        """Every import path the document's project can resolve (for completion inside `import "`)."""
        document = self.host.documents.get(uri)
        return list(self.host.catalog_for(document.path if document else None).paths())

    async def snapshot(self, uri: str) -> Snapshot | None:
        """The current version's analysis. Shielded: a cancelled request must not cancel what others await.
        A change that makes the analysis obsolete while a request waits answers it with ContentModified,
        as LSP asks: the client asks again about the new text if it still wants to know."""
        pending = self.host.snapshot(uri)
        if pending is None:
            log.warning("a request about %s, which is not open: answered with nothing", uri)
            return None
        try:
            return await asyncio.shield(pending)
        except AnalysisCancelled:
            raise JsonRpcContentModified("the document changed while this request waited for its analysis") from None

    def schedule_diagnostics(self, uri: str) -> None:
        document = self.host.documents.get(uri)
        if document is None or self.pull_diagnostics:
            return
        if document.publish is not None:
            document.publish.cancel()
        document.publish = asyncio.get_running_loop().create_task(self._publish(uri, document.version))

    async def _publish(self, uri: str, version: int) -> None:
        document = self.host.documents.get(uri)
        await asyncio.sleep(YIELD_SECONDS)
        try:
            snapshot = await self.snapshot(uri)
        except JsonRpcContentModified:
            return  # a newer version is on its way
        if snapshot is None or snapshot.version != version or not self.host.current(uri, version):
            return  # a newer version is on its way
        diagnostics = self.lsp_diagnostics(snapshot)
        listed = self.converted.json_text(uri, diagnostics, self.messages.unstructure)
        self.protocol.notify_json(lsp.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS,
                                  f'{{"uri": {json.dumps(uri)}, "version": {version}, "diagnostics": {listed}}}')
        self.keep_first_answer(snapshot, diagnostics)
        if not self._answers_prepared:
            self._answers_prepared = True
            asyncio.get_running_loop().call_soon(self.prepare_answers)
        if document is not None:
            await self.publish_project(document.path)

    async def publish_project(self, path: Path | None) -> None:
        """HE4013 on the project's heddle.toml (profiles naming resources no .he file declares), once per
        catalog load."""
        from heddle_engine.catalog import find_project
        from heddle_engine.profiles import declared_resources, project_problems

        root = find_project((path.parent if path is not None else Path.cwd()).resolve())
        key = (root, self.catalog_generation) if root is not None else None
        if key is None or key in self._projects_published or root is None:
            return
        self._projects_published.add(key)
        profiles = self.catalog_for(path).profiles  # type: ignore[attr-defined]
        if not profiles.profiles:
            return
        problems = await asyncio.get_running_loop().run_in_executor(
            None, lambda: project_problems(root, profiles, declared_resources(root)))
        self.text_document_publish_diagnostics(lsp.PublishDiagnosticsParams(
            uri=(root / "heddle.toml").as_uri(), diagnostics=[lsp.Diagnostic(
                range=lsp.Range(lsp.Position(p.line - 1, 0), lsp.Position(p.line - 1, 0)), message=p.message,
                severity=lsp.DiagnosticSeverity.Warning, code=p.code, source="heddle") for p in problems]))

    def keep_first_answer(self, snapshot: Snapshot, diagnostics: list[lsp.Diagnostic]) -> None:
        """Keep the diagnostics of a document's version as opened for the next start, with the stamps of what its
        analysis read (`first_answer.py`), unless the start's front gave these already."""
        inputs, params = snapshot.inputs, self.protocol.initialize_params
        if inputs is None or params is None:
            return
        answer = self.protocol.as_json(diagnostics)
        given = self.protocol.front_diagnostics.pop(snapshot.uri, None)
        if given == answer:
            return
        if given is not None:
            log.warning("the diagnostics of %s given before the server started differ from its analysis's",
                        snapshot.uri)
        document = self.host.documents.get(snapshot.uri)
        catalog = self.catalog_for(document.path if document is not None else None)
        plugins = getattr(catalog, "plugins", None)
        opened = {file_key(d.path): d.tree.text for d in self.host.documents.values() if d.path is not None}
        libraries = [library.file for library in reached(snapshot.analysis)]
        uri, text, generation = snapshot.uri, snapshot.tree.text, self.catalog_generation

        def keep() -> None:
            # The cheap refusals and the same record first: the stamps of every module imported cost tens of ms.
            if any(file in opened and opened[file] != read_text(file) for file in libraries):
                return  # a library read from the editor's text, not the disk's
            library_stamps = [(file, stamp(file)) for file in libraries]
            kept = (text, answer, generation, library_stamps)
            if self.first_kept.get(uri) == kept:
                return
            files, modules = inputs.stamps()
            plugin_modules = plugins.modules() if plugins is not None else []
            if inputs.refusal is not None or plugin_modules is None:
                return
            modules += [(path, module_stamp(path)) for path in sorted(set(plugin_modules))]
            first_answer.keep_diagnostics(params, uri, text, answer, files=files + library_stamps, modules=modules)
            self.first_kept[uri] = kept

        asyncio.get_running_loop().run_in_executor(None, keep)

    def prepare_answers(self) -> None:
        """Make the converters of the questions an editor asks first about an open document (completion, its resolve,
        hover) and of their answers: cattrs writes a message type's functions when it first meets the type (~30 ms
        for a completion list, more on a loaded machine), which the first answer would wait for. Once, while the
        editor reads the first diagnostics."""
        place = {"textDocument": {"uri": "file:///prepared.he"}, "position": {"line": 0, "character": 0}}
        data = {"uri": "file:///prepared.he", "version": 0, "offset": 0, "index": 0}
        for method, params in ((lsp.TEXT_DOCUMENT_COMPLETION, place), (lsp.TEXT_DOCUMENT_HOVER, place),
                               (lsp.COMPLETION_ITEM_RESOLVE, {"label": "prepared", "data": data})):
            self.protocol.structure_message({"jsonrpc": "2.0", "id": 0, "method": method, "params": params})
        where = lsp.Range(lsp.Position(0, 0), lsp.Position(0, 0))
        text = lsp.MarkupContent(kind=lsp.MarkupKind.Markdown, value="")
        item = lsp.CompletionItem(label="prepared", kind=lsp.CompletionItemKind.Function, documentation=text, data=data,
                                  text_edit=lsp.TextEdit(range=where, new_text=""),
                                  insert_text_format=lsp.InsertTextFormat.PlainText)
        self.messages.unstructure(lsp.CompletionList(is_incomplete=False, items=[item]))
        self.messages.unstructure(lsp.Hover(contents=text, range=where))

    def lsp_diagnostics(self, snapshot: Snapshot) -> list[lsp.Diagnostic]:
        return self.converted.convert(snapshot.uri, snapshot.tree.lines, snapshot.analysis.diagnostics,
                                      self.host.encoding)


server = HeddleServer()


@server.feature(lsp.INITIALIZE)
def initialize(ls: HeddleServer, params: lsp.InitializeParams) -> None:
    options = params.initialization_options
    if isinstance(options, dict) and options.get("inlayHints") is False:
        ls.inlay_hints_enabled = False
    if isinstance(options, dict) and isinstance(options.get("profile"), str):
        ls.profile = options["profile"] or None
    text_document = params.capabilities.text_document
    ls.pull_diagnostics = text_document is not None and text_document.diagnostic is not None


@server.feature(lsp.INITIALIZED)
async def initialized(ls: HeddleServer, params: lsp.InitializedParams) -> None:
    ls.host.encoding = encoding_of(ls.workspace.position_encoding)
    ls.describe_in_background(asyncio.get_running_loop())
    for folder in ls.workspace.folders.values():  # start the projects' plugin processes before any document opens
        path = path_of(folder.uri)
        if path is not None:
            ls.catalog_for(path / "workspace.he")
    if ls.workspace.folders:
        stop_unadopted()  # started early for the folder the server was started in, which is none of them
    watched = ls.client_capabilities.workspace and ls.client_capabilities.workspace.did_change_watched_files
    if not (watched and watched.dynamic_registration):
        return
    registration = lsp.Registration(
        id="heddle-watch", method=lsp.WORKSPACE_DID_CHANGE_WATCHED_FILES,
        register_options=lsp.DidChangeWatchedFilesRegistrationOptions(watchers=[
            lsp.FileSystemWatcher(glob_pattern="**/heddle.toml"), lsp.FileSystemWatcher(glob_pattern="**/*.py"),
            lsp.FileSystemWatcher(glob_pattern="**/*.he")]))
    try:
        await ls.client_register_capability_async(lsp.RegistrationParams(registrations=[registration]))
    except Exception as error:  # a client that offers the capability but refuses it: serve without watching
        log.warning("could not watch heddle.toml and plugin files: %s", error)


@server.feature(lsp.WORKSPACE_DID_CHANGE_WATCHED_FILES)
def watched_files_changed(ls: HeddleServer, params: lsp.DidChangeWatchedFilesParams) -> None:
    """`heddle.toml` or a plugin changed: load the project's catalog again and re-check open documents. A `.he`
    file changed: what imports it is checked again."""
    from heddle_engine.describe import DESCRIBER

    libraries = [path_of(change.uri) for change in params.changes if change.uri.endswith(".he")]
    if len(libraries) == len(params.changes):
        for path in libraries:
            if path is not None:
                ls.host.file_changed(file_key(path))
                ls.recheck_importers(file_key(path))
        return
    ls.forget_catalogs()
    DESCRIBER.forget()  # a profile may point the resources elsewhere
    ls.recheck_documents()


@server.feature(lsp.TEXT_DOCUMENT_DID_OPEN)
def did_open(ls: HeddleServer, params: lsp.DidOpenTextDocumentParams) -> None:
    item = params.text_document
    ls.host.open(item.uri, item.text, item.version)
    ls.schedule_diagnostics(item.uri)


@server.feature(lsp.TEXT_DOCUMENT_DID_CHANGE)
def did_change(ls: HeddleServer, params: lsp.DidChangeTextDocumentParams) -> None:
    changes = []
    for change in params.content_changes:
        if isinstance(change, lsp.TextDocumentContentChangePartial):
            start, end = change.range.start, change.range.end
            changes.append(Change(change.text, _position(start), _position(end)))
        else:
            changes.append(Change(change.text))
    document = ls.host.change(params.text_document.uri, params.text_document.version, changes)
    ls.schedule_diagnostics(params.text_document.uri)
    if document is not None and document.path is not None:
        ls.recheck_importers(file_key(document.path))


@server.feature(lsp.TEXT_DOCUMENT_DID_CLOSE)
def did_close(ls: HeddleServer, params: lsp.DidCloseTextDocumentParams) -> None:
    ls.host.close(params.text_document.uri)
    ls.converted.forget(params.text_document.uri)
    ls.first_kept.pop(params.text_document.uri, None)
    path = path_of(params.text_document.uri)
    if path is not None:  # its importers now read the disk's text
        ls.recheck_importers(file_key(path))
    ls.text_document_publish_diagnostics(lsp.PublishDiagnosticsParams(uri=params.text_document.uri, diagnostics=[]))


@server.feature(lsp.TEXT_DOCUMENT_DIAGNOSTIC, lsp.DiagnosticOptions(
    identifier="heddle", inter_file_dependencies=False, workspace_diagnostics=False))
async def pull_diagnostics(ls: HeddleServer, params: lsp.DocumentDiagnosticParams) -> lsp.DocumentDiagnosticReport:
    generation = ls.catalog_generation  # before waiting: a reload meanwhile makes the next pull a full one
    snapshot = await ls.snapshot(params.text_document.uri)
    if snapshot is None:
        return lsp.RelatedFullDocumentDiagnosticReport(items=[])
    result_id = f"{snapshot.version}:{generation}"
    if params.previous_result_id == result_id:
        return lsp.RelatedUnchangedDocumentDiagnosticReport(result_id=result_id)
    items = ls.lsp_diagnostics(snapshot)
    if generation == 0:  # as at a start: the report the next start's front may give
        ls.keep_first_answer(snapshot, items)
    return lsp.RelatedFullDocumentDiagnosticReport(items=items, result_id=result_id)


@server.feature(lsp.TEXT_DOCUMENT_FORMATTING)
async def formatting(ls: HeddleServer, params: lsp.DocumentFormattingParams) -> list[lsp.TextEdit] | None:
    document = ls.host.documents.get(params.text_document.uri)
    if document is None:
        log.warning("formatting asked for %s, which is not open: answered with nothing", params.text_document.uri)
        return None
    tree = document.tree
    result = format_tree(tree)
    if result.text is None or result.text == tree.text:
        return None
    return [lsp.TextEdit(range=whole_document(tree.lines, ls.host.encoding), new_text=result.text)]


def _position(position: lsp.Position) -> Position:
    return Position(position.line, position.character)
