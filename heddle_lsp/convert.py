"""Conversions between `heddle_lang` values and LSP types: the only place that knows both."""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lsprotocol import types as lsp

from heddle_lang.diagnostic_runs import Run, runs_of
from heddle_lang.diagnostics import Diagnostic, Tag, TextEdit
from heddle_lang.ide.across import Place
from heddle_lang.ide.results import (
    CodeAction,
    CodeLens,
    CompletionItem,
    Folding,
    Hover,
    InlayHint,
    Location,
    SemanticToken,
    Symbol,
)
from heddle_lang.ide.tokens import TOKEN_MODIFIERS, TOKEN_TYPES
from heddle_lang.text import Encoding, LineIndex, Position, Span, column_width

if TYPE_CHECKING:
    from heddle_lsp.host import Snapshot

_TAGS = {Tag.UNNECESSARY: lsp.DiagnosticTag.Unnecessary, Tag.DEPRECATED: lsp.DiagnosticTag.Deprecated}


def encoding_of(kind: str | None) -> Encoding:
    return Encoding(kind) if kind in {e.value for e in Encoding} else Encoding.UTF16


def lsp_range(lines: LineIndex, span: Span, encoding: Encoding) -> lsp.Range:
    rng = lines.range(span, encoding)
    return lsp.Range(
        start=lsp.Position(line=rng.start.line, character=rng.start.character),
        end=lsp.Position(line=rng.end.line, character=rng.end.character),
    )


def _docs_page() -> str | None:
    """The diagnostics table of the source checkout this server runs from, as a file URI, if present."""
    page = Path(__file__).resolve().parent.parent / "docs" / "diagnostics.md"
    return page.as_uri() if page.is_file() else None


DOCS_PAGE = _docs_page()


def lsp_diagnostic(uri: str, lines: LineIndex, diagnostic: Diagnostic, encoding: Encoding) -> lsp.Diagnostic:
    return lsp.Diagnostic(
        range=lsp_range(lines, diagnostic.span, encoding),
        message=diagnostic.message,
        severity=lsp.DiagnosticSeverity(int(diagnostic.severity)),
        code=diagnostic.code,
        code_description=lsp.CodeDescription(href=f"{DOCS_PAGE}#{diagnostic.code}") if DOCS_PAGE else None,
        source="heddle",
        tags=[_TAGS[t] for t in diagnostic.tags] or None,
        related_information=[
            lsp.DiagnosticRelatedInformation(
                location=lsp.Location(uri=uri, range=lsp_range(lines, related.span, encoding)),
                message=related.message,
            )
            for related in diagnostic.related
        ] or None,
    )


class DiagnosticCache:
    """The LSP diagnostics of each open document, converted again only where they changed.

    An edit leaves a large document's diagnostics as they were, or moved by as many bytes as the text after the edit
    moved: the first diagnostics that are those converted last time, if the text is the same up to their last place,
    are the same conversions; the last ones that are those converted last time moved by those bytes, if the text is
    the same from the line they start on, are the same conversions too, or their copies with their lines moved when
    the edit added or removed lines. Both are found by structure, not by converting or keying each diagnostic: a
    spliced analysis's diagnostics are runs of earlier tuples (`DiagnosticRuns`), and a run that is a slice of the
    same tuple as one converted last time, moved as far (or, after the edit, as far more as the text moved), is taken
    whole; where runs differ (the full path's tuples), diagnostics are compared one by one (the very objects before
    the edit; after it, equal but for places moved by the edit's bytes). An edit costs what it changed, plus a pass
    over runs. The diagnostics between (those of what the edit changed) are looked up among the ones converted last
    time between the same bounds, by their text and their places (`LineIndex.wheres`: equal places give equal
    positions in every encoding; the server keeps one encoding), and converted anew when none says the same at the
    same columns. The JSON of each conversion is made once (`json_hook`, `json_text`). Each document keeps the
    conversions of its latest diagnostics only, and the line index they were converted with."""

    def __init__(self) -> None:
        self._documents: dict[str, _Document] = {}

    def convert(self, uri: str, lines: LineIndex, diagnostics: Sequence[Diagnostic],
                encoding: Encoding) -> list[lsp.Diagnostic]:
        kept = self._documents.get(uri)
        if kept is not None and kept.diagnostics is diagnostics and kept.lines is lines:
            return kept.out
        if kept is None or kept.encoding != encoding:
            kept = _Document(LineIndex(b""), encoding, (), [])
        converted = _spliced(uri, lines, diagnostics, encoding, kept)
        document = self._documents[uri] = _Document(lines, encoding, diagnostics, converted)
        return document.out

    def forget(self, uri: str) -> None:
        self._documents.pop(uri, None)

    def json_hook(self, plain: Callable[[lsp.Diagnostic], Any]) -> Callable[[lsp.Diagnostic], Any]:
        """An unstructure hook for `lsp.Diagnostic` in the server's converter: `plain`'s JSON of a diagnostic this
        cache keeps is made once, and shared by every message that sends it again (nothing changes it)."""

        def unstructure(diagnostic: lsp.Diagnostic) -> Any:
            for document in list(self._documents.values()):
                found = document.by_id().get(id(diagnostic))
                if found is not None and found.diagnostic is diagnostic:
                    if found.json is None:
                        found.json = plain(diagnostic)
                    return found.json
            return plain(diagnostic)

        return unstructure

    def json_text(self, uri: str, diagnostics: Sequence[lsp.Diagnostic],
                  unstructure: Callable[[lsp.Diagnostic], Any]) -> str:
        """The JSON text of `diagnostics` (what `convert` gave for `uri`), as a publish writes it: the text of each
        one this cache keeps is made once (from `unstructure`'s JSON), so a publish of a large document's diagnostics
        joins texts instead of writing hundreds of objects again."""
        document = self._documents.get(uri)
        if document is not None and diagnostics is document.out:
            converted: Sequence[_Converted | None] = document.converted
        else:
            by_id = document.by_id() if document is not None else {}
            converted = [by_id.get(id(d)) for d in diagnostics]
        texts = []
        for diagnostic, found in zip(diagnostics, converted, strict=True):
            if found is None or found.diagnostic is not diagnostic:
                texts.append(json.dumps(unstructure(diagnostic)))
                continue
            if found.text is None:
                found.text = json.dumps(unstructure(diagnostic))
            texts.append(found.text)
        return f"[{', '.join(texts)}]"


class _Converted:
    """One diagnostic as LSP has it, and its JSON once sent."""

    __slots__ = ("diagnostic", "json", "text")

    def __init__(self, diagnostic: lsp.Diagnostic) -> None:
        self.diagnostic = diagnostic
        self.json: Any = None  # its JSON, once sent
        self.text: str | None = None  # that JSON as text


class _Document:
    """The diagnostics of one document converted last (the analysis's tuple), the line index they were converted
    with, and their conversions in order."""

    __slots__ = ("_by_id", "converted", "diagnostics", "encoding", "lines", "out")

    def __init__(self, lines: LineIndex, encoding: Encoding, diagnostics: Sequence[Diagnostic],
                 converted: list[_Converted]) -> None:
        self.lines = lines
        self.encoding = encoding
        self.diagnostics = diagnostics
        self.converted = converted
        self.out = [c.diagnostic for c in converted]
        self._by_id: dict[int, _Converted] | None = None

    def by_id(self) -> dict[int, _Converted]:
        """The conversions by id of their LSP object (made when first asked for)."""
        if self._by_id is None:
            self._by_id = {id(c.diagnostic): c for c in self.converted}
        return self._by_id


def _spliced(uri: str, lines: LineIndex, diagnostics: Sequence[Diagnostic], encoding: Encoding,
             kept: _Document) -> list[_Converted]:
    """The conversions of `diagnostics`: those of `kept` where they are the same diagnostics before the edit or the
    same moved after it (`DiagnosticCache`), the rest looked up or converted anew."""
    old, was = kept.diagnostics, kept.converted
    data, before = lines.data, kept.lines.data
    runs, last = runs_of(diagnostics), runs_of(old)
    # The head: the same diagnostics as last time, on a text the same up to their last place (a byte more: a `\r\n`
    # split by the edit moves a line).
    head, reach = _head(runs, last)
    if head and not _same_head(before, data, reach + 1):
        head = 0
    # The tail: the diagnostics converted last time, moved by as many bytes as the end of the text moved, on a text
    # the same from the line the first of them starts on (and the break before it).
    delta = len(data) - len(before)
    tail, low = _tail(runs, last, delta, min(len(diagnostics), len(old)) - head)
    rows = 0
    if tail:
        first = lines.line_start(lines.line_of(low))
        if first == 0 or first - 1 - delta < 0 or not data.endswith(memoryview(before)[first - 1 - delta:]):
            tail = 0
        else:
            rows = lines.line_of(first) - kept.lines.line_of(first - delta)
    moved = was[len(old) - tail:] if tail else []
    if rows:
        moved = [_lines_moved(c, rows) for c in moved]
    middle = _looked_up(uri, lines, diagnostics[head:len(diagnostics) - tail], encoding=encoding, kept=kept,
                        old=old[head:len(old) - tail], was=was[head:len(old) - tail])
    return [*was[:head], *middle, *moved]


def _head(runs: Sequence[Run], last: Sequence[Run]) -> tuple[int, int]:
    """How many of the first diagnostics of `runs` are those of `last` (the very objects, moved as far: a stretch of
    the same runs at once), and the last byte they point at (-1: none)."""
    count, reach = 0, -1
    at = was = 0  # the runs
    taken = passed = 0  # how many items of each were counted
    while at < len(runs) and was < len(last):
        run, other = runs[at], last[was]
        mine, theirs = run.start + taken, other.start + passed
        room = min(run.stop - mine, other.stop - theirs)
        if run.delta != other.delta:
            break
        if run.source is other.source and mine == theirs:
            size = room
        else:
            size = 0
            while size < room and run.source[mine + size] is other.source[theirs + size]:
                size += 1
            if size == 0:
                break
        reach = max(reach, Run(run.source, mine, mine + size, run.delta).highest())
        count, taken, passed = count + size, taken + size, passed + size
        if mine + size == run.stop:
            at, taken = at + 1, 0
        if theirs + size == other.stop:
            was, passed = was + 1, 0
        if size < room:
            break
    return count, reach


def _tail(runs: Sequence[Run], last: Sequence[Run], delta: int, most: int) -> tuple[int, int]:
    """How many (at most `most`) of the last diagnostics of `runs` are those of `last` each moved by `delta` bytes
    (a stretch of the same runs moved by `delta` at once), and the first byte they point at."""
    count, low = 0, -1
    at, was = len(runs) - 1, len(last) - 1
    taken = passed = 0  # how many items at the end of each were counted
    while at >= 0 and was >= 0 and count < most:
        run, other = runs[at], last[was]
        mine, theirs = run.stop - taken, other.stop - passed  # the ends of what is left of each
        room = min(mine - run.start, theirs - other.start, most - count)
        moved = delta + other.delta - run.delta  # how far an item of `run`'s source is from its `other`'s one
        if run.source is other.source and mine == theirs and moved == 0:
            size = room
        else:
            size = 0
            while size < room and _moved_by(run.source[mine - 1 - size], other.source[theirs - 1 - size], moved):
                size += 1
            if size == 0:
                break
        lowest = Run(run.source, mine - size, mine, run.delta).lowest()
        low = lowest if count == 0 else min(low, lowest)
        count, taken, passed = count + size, taken + size, passed + size
        if mine - size == run.start:
            at, taken = at - 1, 0
        if theirs - size == other.start:
            was, passed = was - 1, 0
        if size < room:
            break
    return count, low


def _same_head(before: bytes, data: bytes, size: int) -> bool:
    """The two texts' first `size` bytes are the same (both shorter: the texts are)."""
    if size > len(before) or size > len(data):
        return before == data
    return data.startswith(memoryview(before)[:size])


def _moved_by(new: Diagnostic, last: Diagnostic, delta: int) -> bool:
    """`new` says what `last` says, every place of it `delta` bytes further."""
    if new is last:
        return delta == 0
    span, was = new.span, last.span
    return span.start - was.start == delta and span.end - was.end == delta and new.message == last.message \
        and new.code == last.code and new.severity is last.severity and new.tags == last.tags \
        and len(new.related) == len(last.related) \
        and all(r.message == s.message and r.span.start - s.span.start == delta and r.span.end - s.span.end == delta
                for r, s in zip(new.related, last.related, strict=True))


def _looked_up(uri: str, lines: LineIndex, diagnostics: Sequence[Diagnostic], *, encoding: Encoding, kept: _Document,
               old: Sequence[Diagnostic], was: Sequence[_Converted]) -> list[_Converted]:
    """The conversions of `diagnostics` (those the edit may have changed): one of `old`'s (converted as `was`) that
    says the same at the same places, or at the same columns some lines away (moved), else converted anew."""
    if not diagnostics:
        return []
    exact: dict[object, _Converted] = {}
    lineless: dict[object, tuple[int, _Converted]] = {}
    for converted, key, line in zip(was, *_keys(kept.lines, old), strict=True):
        exact[(key, line)] = converted
        lineless.setdefault(key, (line, converted))
    out = []
    for diagnostic, key, line in zip(diagnostics, *_keys(lines, diagnostics), strict=True):
        found = exact.get((key, line))
        if found is None:
            moved = lineless.get(key) if not diagnostic.related else None
            if moved is not None:
                found = _lines_moved(moved[1], line - moved[0])
            else:
                found = _Converted(lsp_diagnostic(uri, lines, diagnostic, encoding))
            exact[(key, line)] = found
        out.append(found)
    return out


def _keys(lines: LineIndex, diagnostics: Sequence[Diagnostic]) -> tuple[list[object], list[int]]:
    """What sets each diagnostic's conversion but its first line (its related places, absolute), and that line."""
    keys: list[object] = []
    starts: list[int] = []
    for diagnostic, (line, rest) in zip(diagnostics, lines.wheres([d.span for d in diagnostics]), strict=True):
        related = tuple((r.message, lines.place(r.span.start), lines.place(r.span.end)) for r in diagnostic.related)
        keys.append((diagnostic.code, diagnostic.message, int(diagnostic.severity), diagnostic.tags, rest, related))
        starts.append(line)
    return keys, starts


def _lines_moved(converted: _Converted, rows: int) -> _Converted:
    """A conversion with its lines (its related places' too) moved by `rows`."""
    if rows == 0:
        return converted
    old = converted.diagnostic
    related = [lsp.DiagnosticRelatedInformation(location=lsp.Location(uri=r.location.uri, range=_range_moved(
        r.location.range, rows)), message=r.message) for r in old.related_information or ()]
    return _Converted(lsp.Diagnostic(
        range=_range_moved(old.range, rows), message=old.message, severity=old.severity, code=old.code,
        code_description=old.code_description, source=old.source, tags=old.tags, related_information=related or None))


def _range_moved(rng: lsp.Range, rows: int) -> lsp.Range:
    start, end = rng.start, rng.end
    return lsp.Range(start=lsp.Position(line=start.line + rows, character=start.character),
                     end=lsp.Position(line=end.line + rows, character=end.character))


def whole_document(lines: LineIndex, encoding: Encoding) -> lsp.Range:
    return lsp_range(lines, Span(0, len(lines.data)), encoding)



# --- positions -------------------------------------------------------------------------------------


def offset(lines: LineIndex, position: lsp.Position, encoding: Encoding) -> int:
    return lines.offset(Position(position.line, position.character), encoding)


def offsets(lines: LineIndex, rng: lsp.Range, encoding: Encoding) -> tuple[int, int]:
    return offset(lines, rng.start, encoding), offset(lines, rng.end, encoding)


def lsp_position(lines: LineIndex, at: int, encoding: Encoding) -> lsp.Position:
    position = lines.position(at, encoding)
    return lsp.Position(line=position.line, character=position.character)


def lsp_text_edit(lines: LineIndex, edit: TextEdit, encoding: Encoding) -> lsp.TextEdit:
    return lsp.TextEdit(range=lsp_range(lines, edit.span, encoding), new_text=edit.new_text)


def workspace_edit(snapshot: Snapshot, edits: Sequence[TextEdit], encoding: Encoding) -> lsp.WorkspaceEdit:
    lines = snapshot.tree.lines
    return lsp.WorkspaceEdit(changes={snapshot.uri: [lsp_text_edit(lines, e, encoding) for e in edits]})


def lsp_location(snapshot: Snapshot, location: Location, encoding: Encoding) -> lsp.Location:
    if location.span is not None:
        return lsp.Location(uri=snapshot.uri, range=lsp_range(snapshot.tree.lines, location.span, encoding))
    line = max(0, location.line - 1)
    start, end = _file_columns(Path(location.path or ""), line, location.column, location.end_column, encoding)
    return lsp.Location(uri=Path(location.path or "").resolve().as_uri(),
                        range=lsp.Range(start=lsp.Position(line=line, character=start),
                                        end=lsp.Position(line=line, character=end)))


def _file_columns(path: Path, line: int, column: int | None, end: int | None, encoding: Encoding) -> tuple[int, int]:
    """Code-point columns of a line of another file in the negotiated encoding (the line is read from disk);
    (0, 0) without columns."""
    if column is None:
        return 0, 0
    end = column if end is None else end
    if encoding is Encoding.UTF32:
        return column, end
    try:
        with path.open(encoding="utf-8", errors="replace") as lines:
            text = next((t for i, t in enumerate(lines) if i == line), "")
    except OSError:
        return column, end
    return column_width(text[:column].encode(), encoding), column_width(text[:end].encode(), encoding)


# --- features --------------------------------------------------------------------------------------


def lsp_hover(lines: LineIndex, found: Hover, encoding: Encoding) -> lsp.Hover:
    return lsp.Hover(contents=lsp.MarkupContent(kind=lsp.MarkupKind.Markdown, value=found.markdown),
                     range=lsp_range(lines, found.span, encoding))


_COMPLETION_KINDS = {
    "module": lsp.CompletionItemKind.Module, "function": lsp.CompletionItemKind.Function,
    "resource": lsp.CompletionItemKind.Constant, "step": lsp.CompletionItemKind.Function,
    "handler": lsp.CompletionItemKind.Event, "variable": lsp.CompletionItemKind.Variable,
    "property": lsp.CompletionItemKind.Property, "keyword": lsp.CompletionItemKind.Keyword,
    "field": lsp.CompletionItemKind.Field, "value": lsp.CompletionItemKind.Value,
    "snippet": lsp.CompletionItemKind.Snippet, "table": lsp.CompletionItemKind.Struct,
    "column": lsp.CompletionItemKind.Field, "transform": lsp.CompletionItemKind.Keyword,
}


def completion_kind(item: CompletionItem) -> lsp.CompletionItemKind:
    return _COMPLETION_KINDS.get(item.kind, lsp.CompletionItemKind.Text)


# The item defaults of a completion list (LSP 3.17) the server gives when the client takes them.
ITEM_DEFAULTS = frozenset({"editRange", "insertTextFormat", "data"})


def lsp_completion_items(lines: LineIndex, items: Sequence[CompletionItem], encoding: Encoding, *,
                         later: Mapping[str, object] | None = None,
                         given: lsp.CompletionItemDefaults | None = None) -> list[lsp.CompletionItem]:
    """`later`: the documentation of an item is left for `completionItem/resolve`, which gets it back with the
    item's data (`later`, and the item's `index` where the list gives no default data). `given`: the list's item
    defaults (`item_defaults`): what they hold is left out of each item."""
    edit_range = given.edit_range if given is not None else None
    plain = given is not None and given.insert_text_format is not None
    data = given is not None and given.data is not None
    ranges: dict[Span, lsp.Range] = {}
    out = []
    for index, item in enumerate(items):
        text = item.insert_text if item.insert_text is not None else item.label
        edit = None
        if item.replace is not None and edit_range is None:
            found = ranges.get(item.replace)
            if found is None:
                found = ranges[item.replace] = lsp_range(lines, item.replace, encoding)
            edit = lsp.TextEdit(range=found, new_text=text)
        lazy = later is not None and (bool(item.documentation) or item.resolvable)
        out.append(lsp.CompletionItem(
            label=item.label,
            kind=completion_kind(item),
            detail=item.detail or None,
            documentation=lsp.MarkupContent(kind=lsp.MarkupKind.Markdown, value=item.documentation)
            if item.documentation and not lazy else None,
            data={**later, "index": index} if later is not None and lazy and not data else None,
            insert_text=None if edit or edit_range else text,
            text_edit=edit,
            text_edit_text=text if edit_range is not None and text != item.label else None,
            insert_text_format=lsp.InsertTextFormat.Snippet if item.snippet
            else None if plain else lsp.InsertTextFormat.PlainText,
            sort_text=item.sort_text,
        ))
    return out


def item_defaults(lines: LineIndex, items: Sequence[CompletionItem], encoding: Encoding, *,
                  later: Mapping[str, object] | None, defaults: Collection[str]) -> lsp.CompletionItemDefaults | None:
    """What the list gives once for its items, of the item defaults the client takes (`completionList.itemDefaults`):
    the range every item replaces, the plain-text format, and the data that brings an item back to resolve (after
    `| ` in a large file, most of the answer's bytes)."""
    spans = {item.replace for item in items}
    shared = next(iter(spans)) if len(spans) == 1 else None
    edit_range = lsp_range(lines, shared, encoding) if shared is not None and "editRange" in defaults else None
    plain = "insertTextFormat" in defaults
    data = dict(later) if later is not None and "data" in defaults else None
    if edit_range is None and not plain and data is None:
        return None
    return lsp.CompletionItemDefaults(edit_range=edit_range,
                                      insert_text_format=lsp.InsertTextFormat.PlainText if plain else None, data=data)


KEPT_LISTS = 8  # the lists of items kept as JSON text (completion is asked for at a few places in turn)


def completion_json(lines: LineIndex, items: Sequence[CompletionItem], encoding: Encoding, *,
                    text_of: Callable[[object], str], kept: dict[tuple[object, ...], str],
                    later: Mapping[str, object] | None = None, defaults: Collection[str] = ()) -> str:
    """The completion list (`item_defaults`, `lsp_completion_items`) as JSON text (`text_of`: the server's JSON of a
    value). Where the items' range, format and data are all the list's defaults, nothing of an item depends on where
    it was asked for: the items' text is kept in `kept` under what the items are, and the same items asked for
    anywhere else, in any version of the document — after every `| ` of an editing session, its thousand steps —
    are not converted again."""
    given = item_defaults(lines, items, encoding, later=later, defaults=defaults)
    key: tuple[object, ...] | None = None
    text = None
    if given is not None and given.edit_range is not None and given.insert_text_format is not None \
            and (later is None or given.data is not None):
        key = (later is None, *((i.label, i.kind, i.detail, i.documentation, i.insert_text, i.snippet, i.sort_text,
                                 i.resolvable) for i in items))
        text = kept.get(key)
    if text is None:
        text = text_of(lsp_completion_items(lines, items, encoding, later=later, given=given))
        if key is not None:
            if len(kept) >= KEPT_LISTS:
                del kept[next(iter(kept))]
            kept[key] = text
    head = '{"isIncomplete": false' + ("" if given is None else f', "itemDefaults": {text_of(given)}')
    return f'{head}, "items": {text}}}'


# Fields of a completion item the server never sets: an item with any of them (a client's, resolved) is converted by
# cattrs.
_UNSET_BY_THE_SERVER = ("label_details", "tags", "deprecated", "preselect", "filter_text", "insert_text_mode",
                        "additional_text_edits", "commit_characters", "command")
_PLAIN_VALUES = (str, int, float, bool, type(None))


Unstructure = Callable[[lsp.CompletionItem], Any]


def completion_item_json(plain: Callable[[], Unstructure]) -> Unstructure:
    """An unstructure hook for `lsp.CompletionItem` in the server's converter: an item as `lsp_completions` makes it
    written straight into the JSON cattrs would make of it — after `| ` in a large file there are a thousand, and
    cattrs' generic walk of each one's fields was most of the answer's time; any other item by `plain()`'s function
    (made when first needed)."""
    made: list[Unstructure] = []

    def unstructure(item: lsp.CompletionItem) -> Any:
        edit, data, documentation = item.text_edit, item.data, item.documentation
        if any(getattr(item, name) is not None for name in _UNSET_BY_THE_SERVER) \
                or (edit is not None and type(edit) is not lsp.TextEdit) \
                or (documentation is not None and type(documentation) not in (str, lsp.MarkupContent)) \
                or (data is not None and not (type(data) is dict
                                              and all(type(v) in _PLAIN_VALUES for v in data.values()))):
            if not made:
                made.append(plain())
            return made[0](item)
        out: dict[str, Any] = {"label": item.label}
        if item.kind is not None:
            out["kind"] = int(item.kind)  # an enum member, or a client's number
        if item.detail is not None:
            out["detail"] = item.detail
        if isinstance(documentation, lsp.MarkupContent):
            out["documentation"] = {"kind": documentation.kind, "value": documentation.value}
        elif documentation is not None:
            out["documentation"] = documentation
        if item.sort_text is not None:
            out["sortText"] = item.sort_text
        if item.insert_text is not None:
            out["insertText"] = item.insert_text
        if item.insert_text_format is not None:
            out["insertTextFormat"] = int(item.insert_text_format)
        if edit is not None:
            start, end = edit.range.start, edit.range.end
            out["textEdit"] = {"range": {"start": {"line": start.line, "character": start.character},
                                         "end": {"line": end.line, "character": end.character}},
                               "newText": edit.new_text}
        if item.text_edit_text is not None:
            out["textEditText"] = item.text_edit_text
        if data is not None:
            out["data"] = dict(data)
        return out

    return unstructure


_SYMBOL_KINDS = {
    "import": lsp.SymbolKind.Module, "resource": lsp.SymbolKind.Constant, "step": lsp.SymbolKind.Function,
    "handler": lsp.SymbolKind.Event, "workflow": lsp.SymbolKind.Class, "assignment": lsp.SymbolKind.Variable,
    "pipeline": lsp.SymbolKind.Array, "stage": lsp.SymbolKind.Method,
}


def lsp_symbol(lines: LineIndex, symbol: Symbol, encoding: Encoding) -> lsp.DocumentSymbol:
    return lsp.DocumentSymbol(
        name=symbol.name, detail=symbol.detail or None, kind=_SYMBOL_KINDS.get(symbol.kind, lsp.SymbolKind.Object),
        range=lsp_range(lines, symbol.span, encoding), selection_range=lsp_range(lines, symbol.selection, encoding),
        children=[lsp_symbol(lines, child, encoding) for child in symbol.children] or None,
    )


def lsp_workspace_symbol(uri: str, lines: LineIndex, symbol: Symbol, encoding: Encoding) -> lsp.WorkspaceSymbol:
    return lsp.WorkspaceSymbol(
        name=symbol.name, kind=_SYMBOL_KINDS.get(symbol.kind, lsp.SymbolKind.Object),
        container_name=symbol.detail or None,
        location=lsp.Location(uri=uri, range=lsp_range(lines, symbol.selection, encoding)),
    )


def lsp_place(uri: str, place: Place, encoding: Encoding) -> lsp.Location:
    """A place in another file (a library, an importer): `uri` is its file's."""
    return lsp.Location(uri=uri, range=lsp_range(place.analysis.tree.lines, place.span, encoding))


def files_edit(groups: Sequence[tuple[str, LineIndex, Sequence[TextEdit]]], encoding: Encoding) -> lsp.WorkspaceEdit:
    """Edits in several files: (uri, its lines, its edits)."""
    return lsp.WorkspaceEdit(changes={uri: [lsp_text_edit(lines, e, encoding) for e in edits]
                                      for uri, lines, edits in groups})


def lsp_folding(folding: Folding) -> lsp.FoldingRange:
    kinds = {"comment": lsp.FoldingRangeKind.Comment, "imports": lsp.FoldingRangeKind.Imports,
             "region": lsp.FoldingRangeKind.Region}
    return lsp.FoldingRange(start_line=folding.start_line, end_line=folding.end_line,
                            kind=kinds.get(folding.kind) if folding.kind else None)


def lsp_selection(lines: LineIndex, chain: Sequence[Span], encoding: Encoding) -> lsp.SelectionRange:
    """Innermost first in `chain`; LSP wants the innermost with `parent` links outwards."""
    parent: lsp.SelectionRange | None = None
    for span in reversed(chain):
        parent = lsp.SelectionRange(range=lsp_range(lines, span, encoding), parent=parent)
    assert parent is not None
    return parent


def lsp_tokens(lines: LineIndex, found: Sequence[SemanticToken], encoding: Encoding) -> lsp.SemanticTokens:
    """Tokens as LSP's relative integer encoding: line delta, start delta, length, type, modifier bits."""
    data: list[int] = []
    previous_line = previous_start = 0
    for token in found:
        start = lines.position(token.span.start, encoding)
        end = lines.position(token.span.end, encoding)
        if end.line != start.line or end.character <= start.character:
            continue
        line_delta = start.line - previous_line
        start_delta = start.character - previous_start if line_delta == 0 else start.character
        bits = sum(1 << TOKEN_MODIFIERS.index(m) for m in token.modifiers if m in TOKEN_MODIFIERS)
        data += [line_delta, start_delta, end.character - start.character, TOKEN_TYPES.index(token.type), bits]
        previous_line, previous_start = start.line, start.character
    return lsp.SemanticTokens(data=data)


def lsp_code_action(snapshot: Snapshot, action: CodeAction, diagnostics: Sequence[lsp.Diagnostic],
                    encoding: Encoding) -> lsp.CodeAction:
    return lsp.CodeAction(
        title=action.title, kind=action.kind, edit=workspace_edit(snapshot, action.edits, encoding),
        diagnostics=[diagnostics[i] for i in action.diagnostics if i < len(diagnostics)] or None,
        is_preferred=action.preferred or None,
    )


def lsp_inlay(lines: LineIndex, hint: InlayHint, encoding: Encoding) -> lsp.InlayHint:
    return lsp.InlayHint(position=lsp_position(lines, hint.offset, encoding), label=hint.label,
                         kind=lsp.InlayHintKind.Type, tooltip=hint.tooltip or None, padding_left=True)


def lsp_code_lens(snapshot: Snapshot, item: CodeLens, encoding: Encoding) -> lsp.CodeLens:
    return lsp.CodeLens(range=lsp_range(snapshot.tree.lines, item.span, encoding),
                        command=lsp.Command(title=item.title, command=item.command,
                                            arguments=[snapshot.uri, *item.arguments]))
