"""The JSON of completion items written straight from the items (a thousand after `| ` in a large file) is the JSON
cattrs makes of them; an item with anything else set is left to cattrs."""

from __future__ import annotations

import json

from lsprotocol import types as lsp
from pygls.protocol import default_converter

from heddle_lang.ide.results import CompletionItem
from heddle_lang.text import Encoding, LineIndex, Span
from heddle_lsp.convert import ITEM_DEFAULTS, completion_item_json, completion_json, item_defaults, lsp_completion_items

PLAIN = default_converter()
FAST = completion_item_json(lambda: PLAIN.get_unstructure_hook(lsp.CompletionItem))
WHERE = lsp.Range(lsp.Position(3, 4), lsp.Position(3, 9))


def same_json(item: lsp.CompletionItem) -> None:
    made = FAST(item)
    assert json.dumps(made) == json.dumps(PLAIN.unstructure(item))  # the same keys, in the same order


def test_the_items_the_server_makes() -> None:
    lines = LineIndex(b"workflow W {\n  rows\n    | fe\n}\n")
    items = [CompletionItem("fetch", "step", "step = pg.query", "", replace=Span(26, 28), sort_text="1fetch",
                            resolvable=True),
             CompletionItem("rows", "variable", "{id: Int64}", "| id | Int64 |", replace=Span(26, 28)),
             CompletionItem("resource", "keyword", "declaration", insert_text="resource ${1:name} = ", snippet=True),
             CompletionItem("é", "value")]
    for later in (None, {"uri": "file:///a.he", "version": 3, "offset": 27}):
        for defaults in ((), ITEM_DEFAULTS):
            for each in (items, items[:2]):  # the first two replace the same word: a default range
                given = item_defaults(lines, each, Encoding.UTF16, later=later, defaults=defaults)
                for item in lsp_completion_items(lines, each, Encoding.UTF16, later=later, given=given):
                    same_json(item)


def test_items_with_what_the_server_never_sets_are_left_to_cattrs() -> None:
    for item in (
        lsp.CompletionItem(label="a", documentation="plain text", deprecated=False),
        lsp.CompletionItem(label="b", filter_text="bb", commit_characters=["."]),
        lsp.CompletionItem(label="c", text_edit=lsp.InsertReplaceEdit("c", WHERE, WHERE)),
        lsp.CompletionItem(label="d", data={"nested": {"as": "a client may send"}}),
        lsp.CompletionItem(label="e", data=["a", 1]),
        lsp.CompletionItem(label="f", tags=[lsp.CompletionItemTag.Deprecated],
                           label_details=lsp.CompletionItemLabelDetails(detail="x")),
        lsp.CompletionItem(label="g", kind=lsp.CompletionItemKind.Field, detail="d", sort_text="0",
                           documentation=lsp.MarkupContent(kind=lsp.MarkupKind.PlainText, value="v"),
                           insert_text="g=", insert_text_format=lsp.InsertTextFormat.Snippet, data={"k": None}),
    ):
        same_json(item)


def test_an_item_a_client_sent_back_with_numbers_for_its_kinds() -> None:
    # A resolved item is the client's, structured again: its kinds may be plain numbers, which cattrs does not write.
    item = lsp.CompletionItem(label="h", kind=3, insert_text_format=1, data={"index": 0},  # type: ignore[arg-type]
                              documentation=lsp.MarkupContent(kind=lsp.MarkupKind.Markdown, value="v"))
    assert json.loads(json.dumps(FAST(item))) == {"label": "h", "kind": 3, "insertTextFormat": 1, "data": {"index": 0},
                                                  "documentation": {"kind": "markdown", "value": "v"}}


def test_a_lists_json_is_the_json_of_its_items_and_is_kept_where_nothing_depends_on_the_position() -> None:
    text = b"workflow W {\n  rows\n    | fe\n    | fe\n}\n"
    lines = LineIndex(text)
    first, second = Span(26, 28), Span(35, 37)
    steps = [CompletionItem("fetch", "step", "step = pg.query", "", sort_text="1fetch", resolvable=True),
             CompletionItem("rows", "variable", "{id: Int64}", "| id | Int64 |"),
             CompletionItem("é", "value", insert_text="'é'")]

    def at(span: Span) -> list[CompletionItem]:
        return [CompletionItem(i.label, i.kind, i.detail, i.documentation, i.insert_text, i.snippet, span,
                               i.sort_text, i.resolvable) for i in steps]

    def text_of(value: object) -> str:
        return json.dumps(value, default=PLAIN.unstructure)

    later = {"uri": "file:///a.he", "version": 3, "offset": 27}
    for defaults in ((), ITEM_DEFAULTS):
        kept: dict[tuple[object, ...], str] = {}
        for span in (first, second):
            made = completion_json(lines, at(span), Encoding.UTF16, text_of=text_of, kept=kept, later=later,
                                   defaults=defaults)
            given = item_defaults(lines, at(span), Encoding.UTF16, later=later, defaults=defaults)
            listed = lsp.CompletionList(is_incomplete=False, item_defaults=given, items=lsp_completion_items(
                lines, at(span), Encoding.UTF16, later=later, given=given))
            assert json.loads(made) == PLAIN.unstructure(listed)
        assert len(kept) == (1 if defaults else 0)
    # the kept items serve the same items only: others are converted
    kept = {}
    completion_json(lines, at(first), Encoding.UTF16, text_of=text_of, kept=kept, later=later, defaults=ITEM_DEFAULTS)
    fewer = completion_json(lines, at(first)[:1], Encoding.UTF16, text_of=text_of, kept=kept, later=later,
                            defaults=ITEM_DEFAULTS)
    assert [item["label"] for item in json.loads(fewer)["items"]] == ["fetch"]
