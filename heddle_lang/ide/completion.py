"""Completion: what may be typed at the cursor, read from the tokens before it (the text may be incomplete)."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import replace

from heddle_lang.catalog import FunctionSpec, ModuleSpec, ResourceSpec
from heddle_lang.ide.blocks import block_completions
from heddle_lang.ide.context import Cursor, Token, never_raises
from heddle_lang.ide.describe import (
    field_summary,
    function_markdown,
    resource_spec_markdown,
    schema_inline,
    schema_table,
    signature,
    value_type_snippet,
)
from heddle_lang.ide.results import CompletionItem
from heddle_lang.ide.schemas import (
    assignments_before,
    block_at,
    definition_output,
    function_spec,
    member,
    per_analysis,
)
from heddle_lang.naming import suggest_alias
from heddle_lang.semantic.libraries import Library, is_private
from heddle_lang.semantic.model import Analysis, Definition
from heddle_lang.semantic.timeout import with_call_keys
from heddle_lang.syntax import ast
from heddle_lang.syntax.moving import relocator
from heddle_lang.text import Span
from heddle_lang.types import ConfigSchema, Field

MAX_NESTING = 32  # records inside records: deeper than the language lets a value nest, nothing is offered

DECLARATIONS = {
    "import": 'import "${1:path}" ${2:alias}',
    "resource": "resource ${1:name} = ",
    "step": "step ${1:name} = ",
    "handler": "handler ${1:name} {\n  *\n    | $0\n}",
    "workflow": "workflow ${1:Name} {\n  $0\n}",
}


@never_raises(list)
def complete(analysis: Analysis, offset: int, paths: Sequence[str] | Callable[[], Sequence[str]] = (), *,
             lazy: bool = False) -> list[CompletionItem]:
    """Completion items at byte `offset`. `paths` are the import paths the catalog resolves (or what gives them when
    asked: only a cursor after `import` needs them). `lazy`: the
    documentation that costs most to write (a step's output schema: after `| ` in a large file, a thousand steps) is
    left out of the items that have it (`resolvable`), for `documentation` to write when the item is shown."""
    data = analysis.tree.data
    if not 0 <= offset <= len(data):
        return []
    cursor = Cursor(data, offset)
    block = block_at(analysis, cursor, offset)
    if block is not None:
        return block_completions(analysis, cursor, block)
    inside = cursor.containing(offset)
    if inside is not None and inside.kind == "comment":
        return []
    if inside is not None and inside.kind in ("string", "mstring"):
        return _Document(analysis, cursor, paths, lazy).in_string(inside)
    return _Document(analysis, cursor, paths, lazy).items()


@never_raises(str)
def documentation(analysis: Analysis, item: CompletionItem) -> str:
    """The documentation `complete(..., lazy=True)` left out of `item`."""
    if not item.resolvable:
        return item.documentation
    definition = analysis.declared(item.label)
    return _step_documentation(analysis, definition) if definition is not None else ""


def _step_documentation(analysis: Analysis, definition: Definition) -> str:
    schema = definition_output(analysis, definition)
    return "\n\n".join(p for p in (definition.doc or "", schema_table(schema) if schema else "") if p)


def _step_items(analysis: Analysis) -> list[CompletionItem]:
    """The document's steps, with their output schemas: the same anywhere a stage may start."""
    return [CompletionItem(d.name, "step", f"step = {d.detail}", _step_documentation(analysis, d),
                           sort_text=f"1{d.name}") for d in analysis.declarations_as_built() if d.kind == "step"]


def _lazy_step_items(analysis: Analysis) -> list[CompletionItem]:
    """`_step_items` with their documentation left for `documentation`."""
    return [CompletionItem(d.name, "step", f"step = {d.detail}", sort_text=f"1{d.name}", resolvable=True)
            for d in analysis.declarations_as_built() if d.kind == "step"]


_copy = relocator(CompletionItem, ())  # a copy of an item (a thousand step items at a time: without `replace`'s checks)
_set_replace = CompletionItem.__dict__["replace"].__set__


def _items_with(span: Span, items: list[CompletionItem]) -> list[CompletionItem]:
    out = []
    for item in items:
        copy = _copy(item, 0, 0)
        _set_replace(copy, span)
        out.append(copy)
    return out


class _Document:
    """Completion outside relational blocks."""

    def __init__(self, analysis: Analysis, cursor: Cursor, paths: Sequence[str] | Callable[[], Sequence[str]],
                 lazy: bool) -> None:
        self.analysis = analysis
        self.cursor = cursor
        self.paths = paths
        self.lazy = lazy
        self.word = cursor.word()
        self.tokens = cursor.tokens
        self.i = cursor.index_before(self.word.start)
        while self.i >= 0 and self.tokens[self.i].kind == "comment":
            self.i -= 1

    def token(self, index: int) -> Token | None:
        return self.tokens[index] if 0 <= index < len(self.tokens) else None

    def items(self) -> list[CompletionItem]:
        return _items_with(self.word, self.candidates())

    def candidates(self) -> list[CompletionItem]:
        cursor, i = self.cursor, self.i
        p1 = self.token(i)
        if p1 is None:
            return self.keywords()
        p2 = self.token(cursor.significant_before(i))
        # `alias.` (nothing between the three)
        if p1.is_punct(".") and p1.end == self.word.start and p2 is not None and p2.kind == "ident" \
                and p2.end == p1.start:
            return self.members(p2.text, cursor.significant_before(i))
        opener = cursor.injection_open(i)
        if opener >= 0 and not p1.is_punct(">"):
            return self.injection(opener, p1, p2)
        if p1.is_punct("?"):
            return self.handlers()
        enclosing = cursor.enclosing(self.word.start)
        if enclosing >= 0 and self.tokens[enclosing].is_punct("{"):
            kind = self.opener_kind(enclosing)
            if kind == "block":
                return self.pipeline(p1)
            if kind == "config":
                return self.config(enclosing, p1)
            return []
        if enclosing >= 0:
            return []
        return self.top_level(p1)

    # --- declarations -----------------------------------------------------------------------------

    def keywords(self) -> list[CompletionItem]:
        if self.cursor.line_prefix(self.word.start).strip():
            return []
        return [CompletionItem(k, "keyword", "declaration", insert_text=s, snippet=True)
                for k, s in DECLARATIONS.items()]

    def top_level(self, p1: Token) -> list[CompletionItem]:
        cursor, i = self.cursor, self.i
        if p1.is_word("import"):
            return self.import_paths(quoted=True)
        before = self.token(cursor.significant_before(i))
        if p1.kind == "string" and before is not None and before.is_word("import"):
            return self.alias_for(p1)
        declared = self.declaration_kind(i + 1)
        if declared is not None and (p1.is_punct("=") or p1.is_punct(">")):
            return self.aliases(declared)
        if not cursor.line_prefix(self.word.start).strip():
            return self.keywords()
        return []

    def declaration_kind(self, index: int) -> str | None:
        """`resource`/`step` when token `index` starts the value of `resource NAME =` / `step NAME =`."""
        cursor = self.cursor
        j = cursor.significant_before(index)
        token = self.token(j)
        if token is not None and token.is_punct(">"):
            opener = cursor.injection_open(j - 1)
            j = cursor.significant_before(opener) if opener >= 0 else -1
        token = self.token(j)
        if token is None or not token.is_punct("="):
            return None
        name = self.token(cursor.significant_before(j))
        keyword = self.token(cursor.significant_before(cursor.significant_before(j)))
        if name is not None and name.kind == "ident" and keyword is not None and keyword.is_word("resource", "step"):
            return keyword.text
        return None

    def in_string(self, token: Token) -> list[CompletionItem]:
        index = self.cursor.starts.index(token.start)
        before = self.token(self.cursor.significant_before(index))
        if before is None or not before.is_word("import") or token.kind != "string":
            return []
        end = token.end - 1 if token.closed else token.end
        items = self.import_paths(quoted=False, close=not token.closed)
        return _items_with(Span(token.start + 1, max(token.start + 1, end)), items)

    def import_paths(self, *, quoted: bool, close: bool = False) -> list[CompletionItem]:
        imported = {m.path: a for a, m in self.analysis.imports.items() if m is not None}
        taken = set(self.analysis.imports)
        items = []
        for path in self.paths() if callable(self.paths) else self.paths:
            alias = imported.get(path)
            module = self.analysis.imports.get(alias) if alias else None
            insert = f'"{path}" {suggest_alias(path, taken)}' if quoted else path + ('"' if close else "")
            items.append(CompletionItem(path, "module", f"imported as {alias}" if alias else "module",
                                        module.doc if module is not None else "", insert_text=insert,
                                        sort_text=("1" if alias else "0") + path))
        return items

    def alias_for(self, path_token: Token) -> list[CompletionItem]:
        path = path_token.text.strip('"')
        alias = suggest_alias(path, set(self.analysis.imports))
        return [CompletionItem(alias, "module", f'alias for "{path}"')]

    # --- names --------------------------------------------------------------------------------------

    def aliases(self, want: str) -> list[CompletionItem]:
        """Import aliases whose module offers functions (`want` = "step"/"pipeline") or resources."""
        items = []
        for alias, module in self.analysis.imports.items():
            if module is None or not (module.resources if want == "resource" else module.functions):
                continue
            items.append(CompletionItem(alias, "module", module.path, module.doc, sort_text=f"2{alias}"))
        return items

    def library_aliases(self, kind: str) -> list[CompletionItem]:
        """Aliases of `.he` libraries that offer a public `kind` ("resource", "step", "handler")."""
        return [CompletionItem(alias, "module", library.file.rsplit("/", 1)[-1], sort_text=f"2{alias}")
                for alias, library in self.analysis.libraries.items()
                if library is not None and _library_members(library, kind)]

    def library_members(self, library: Library, alias_index: int) -> list[CompletionItem]:
        """`platform.`: the library's handlers after `?`, its resources in an injection, else its steps."""
        before = self.token(self.cursor.significant_before(alias_index))
        if before is not None and before.is_punct("?"):
            kind = "handler"
        elif before is not None and before.is_punct("=") and self.cursor.injection_open(alias_index) >= 0:
            kind = "resource"
        else:
            kind = "step"
        return [CompletionItem(d.name, kind, f"{kind} = {d.detail}" if d.detail else kind, d.doc or "")
                for d in _library_members(library, kind)]

    def members(self, alias: str, alias_index: int) -> list[CompletionItem]:
        library = self.analysis.libraries.get(alias)
        if library is not None:
            return self.library_members(library, alias_index)
        module = self.analysis.imports.get(alias)
        if module is None:
            return []
        declared = self.declaration_kind(alias_index)
        if declared == "resource":
            return [_constructor_item(alias, name, spec, module) for name, spec in sorted(module.resources.items())]
        piped = None if declared == "step" else self.piped(alias_index)
        items = []
        for name, spec in sorted(module.functions.items()):
            # Functions that fit the place first: after `|` those that take input, at a source those that don't.
            fits = piped is None or spec.takes_input == piped
            items.append(replace(_function_item(alias, name, spec, module), sort_text=f"{0 if fits else 1}{name}"))
        return items

    def piped(self, index: int) -> bool:
        """Does the stage value starting at token `index` follow a `|` (an injection before it aside)?"""
        cursor = self.cursor
        j = cursor.significant_before(index)
        token = self.token(j)
        if token is not None and token.is_punct(">"):
            opener = cursor.injection_open(j - 1)
            token = self.token(cursor.significant_before(opener)) if opener >= 0 else None
        return token is not None and token.is_punct("|")

    def handlers(self) -> list[CompletionItem]:
        return [CompletionItem(d.name, "handler", "handler", d.doc or "") for d in self.analysis.declarations_as_built()
                if d.kind == "handler"] + self.library_aliases("handler")

    def steps_and_assignments(self) -> list[CompletionItem]:
        items = []
        for definition in assignments_before(self.analysis, self.word.start):
            schema = definition_output(self.analysis, definition)
            items.append(CompletionItem(
                definition.name, "variable", schema_inline(schema, 60) if schema is not None else "assignment",
                schema_table(schema) if schema is not None else "", sort_text=f"0{definition.name}"))
        if self.lazy:
            return items + per_analysis(self.analysis, "lazy_step_items", _lazy_step_items)
        return items + per_analysis(self.analysis, "step_items", _step_items)

    # --- pipelines ----------------------------------------------------------------------------------

    def pipeline(self, p1: Token) -> list[CompletionItem]:
        cursor = self.cursor
        at_line_start = not cursor.line_prefix(self.word.start).strip()
        if p1.is_punct("|"):
            return self.steps_and_assignments() + self.aliases("pipeline") + self.library_aliases("step")
        if p1.is_punct(">"):
            # After an injection, a function comes; after an assignment's `>`, a new name.
            return self.aliases("pipeline") if cursor.injection_open(self.i - 1) >= 0 else []
        if at_line_start:
            return self.steps_and_assignments() + self.aliases("pipeline") + self.library_aliases("step")
        return []

    def opener_kind(self, index: int) -> str:
        """What a `{` opens: a workflow/handler "block", a call's "config", a nested "value", or "other"."""
        cursor = self.cursor
        j = cursor.significant_before(index)
        token = self.token(j)
        if token is None:
            return "other"
        if token.kind == "ident":
            k = cursor.significant_before(j)
            before = self.token(k)
            if before is not None and before.is_word("workflow", "handler"):
                return "block"
            if before is not None and before.is_punct("?"):
                name = self.token(cursor.significant_before(cursor.significant_before(k)))
                if name is not None and name.is_word("workflow"):
                    return "block"
        if token.is_punct(":") or cursor.function_before(index) is not None:
            return "config"
        return "other"

    def config_schema(self, index: int, depth: int = 0) -> tuple[ConfigSchema, str] | None:
        """The schema of the config (or record value) the `{` at `index` opens, and whom it configures."""
        cursor = self.cursor
        if depth > MAX_NESTING:
            return None
        qualified = cursor.function_before(index)
        if qualified is not None:
            spec = member(self.analysis, *qualified)
            if spec is None:
                return None
            schema = with_call_keys(spec.config) if isinstance(spec, FunctionSpec) else spec.config
            return schema, ".".join(qualified)
        j = cursor.significant_before(index)
        key = self.token(cursor.significant_before(j))
        if key is None or key.kind not in ("ident", "string"):
            return None
        parent = cursor.enclosing(key.start)
        if parent < 0 or not self.tokens[parent].is_punct("{"):
            return None
        outer = self.config_schema(parent, depth + 1)
        if outer is None:
            return None
        field = outer[0].get(key.text.strip('"'))
        if field is None or field.type.record is None:
            return None
        return field.type.record, f"{outer[1]}.{field.name}"

    def config(self, opener: int, p1: Token) -> list[CompletionItem]:
        found = self.config_schema(opener)
        if found is None:
            return []
        schema, owner = found
        cursor = self.cursor
        if p1.is_punct(":"):
            key = self.token(cursor.significant_before(self.i))
            field = schema.get(key.text.strip('"')) if key is not None else None
            return _value_items(field) if field is not None else []
        key_position = p1.is_punct("{", ",") or cursor.newline_between(p1.end, self.word.start)
        if not key_position:
            return []
        given = self.keys_given(opener)
        after = self.token(cursor.significant_after(cursor.index_before(self.word.end)))
        colon_follows = after is not None and after.is_punct(":")
        items = []
        for field in schema.fields:
            if field.name in given:
                continue
            snippet = f"{field.name}: {value_type_snippet(field.type)}"
            doc = "\n\n".join(p for p in (field_summary(field), field.doc) if p)
            items.append(CompletionItem(
                field.name, "property", str(field.type) + (" (required)" if field.required else ""),
                f"{doc}\n\nof `{owner}`", insert_text=None if colon_follows else snippet, snippet=not colon_follows,
                sort_text=("0" if field.required else "1") + field.name))
        return items

    def keys_given(self, opener: int) -> set[str]:
        cursor = self.cursor
        closer = cursor.matching(opener)
        keys: set[str] = set()
        depth = 0
        for j in range(opener + 1, min(closer, len(self.tokens))):
            token = self.tokens[j]
            if token.is_punct("{", "["):
                depth += 1
            elif token.is_punct("}", "]"):
                depth -= 1
            elif depth == 0 and token.kind in ("ident", "string") and token.start != self.word.start:
                nxt = self.token(cursor.significant_after(j))
                if nxt is not None and nxt.is_punct(":"):
                    keys.add(token.text.strip('"'))
        return keys

    # --- injections ---------------------------------------------------------------------------------

    def injection(self, opener: int, p1: Token, p2: Token | None) -> list[CompletionItem]:
        cursor = self.cursor
        function = self.injected_function(opener)
        if function is None:
            return []
        if p1.is_punct("<", ","):
            given = self.bound_keys(opener)
            return [CompletionItem(s.key, "field", f"{s.kind}" + (" (required)" if s.required else " (optional)"),
                                   s.doc, insert_text=f"{s.key}=", sort_text=("0" if s.required else "1") + s.key)
                    for s in function.resources if s.key not in given]
        if p1.is_punct("=") and p2 is not None and p2.kind == "ident":
            before = self.token(cursor.significant_before(cursor.significant_before(self.i)))
            if before is None or not before.is_punct("<", ","):
                return []
            slot = function.slot(p2.text)
            if slot is None:
                return []
            return [CompletionItem(name, "resource", kind, doc)
                    for name, kind, doc in self.resources() if kind == slot.kind] + self.library_aliases("resource")
        return []

    def injected_function(self, opener: int) -> FunctionSpec | None:
        cursor = self.cursor
        before = cursor.function_before(opener)
        previous = self.token(cursor.significant_before(opener))
        if before is not None and previous is not None and not cursor.newline_between(previous.end,
                                                                                      self.tokens[opener].start):
            return function_spec(self.analysis, before)
        closer = cursor.injection_close(opener)
        if closer < 0:
            return None
        return function_spec(self.analysis, cursor.function_after(closer))

    def bound_keys(self, opener: int) -> set[str]:
        keys = set()
        j = opener + 1
        while j + 1 < len(self.tokens) and (self.tokens[j].kind in ("ident", "comment")
                                            or self.tokens[j].is_punct("=", ",")):
            token = self.tokens[j]
            if token.kind == "ident" and self.tokens[j + 1].is_punct("=") and token.start != self.word.start:
                keys.add(token.text)
            j += 1
        return keys

    def resources(self) -> list[tuple[str, str, str]]:
        """(name, kind, doc) of every resource declared with a constructor the catalog knows."""
        out = []
        for placed in self.analysis.tree.outline.placed:
            decl = placed.base  # names only: the AST as lowered, unmoved
            if not isinstance(decl, ast.ResourceDecl):
                continue
            call = decl.call
            if decl.name is None or call is None or call.module is None or call.function is None:
                continue
            spec = member(self.analysis, call.module.text, call.function.text)
            if isinstance(spec, ResourceSpec):
                out.append((decl.name.text, spec.kind, decl.doc or ""))
        return out


def _library_members(library: Library, kind: str) -> list[Definition]:
    exports = library.exports
    return [d for name, d in sorted(exports.definitions.items()) if d.kind == kind and not is_private(name)]


def _function_item(alias: str, name: str, spec: FunctionSpec, module: ModuleSpec) -> CompletionItem:
    qualified = f"{alias}.{name}"
    return CompletionItem(name, "function", signature(qualified, spec),
                          function_markdown(qualified, spec, module.path))


def _constructor_item(alias: str, name: str, spec: ResourceSpec, module: ModuleSpec) -> CompletionItem:
    qualified = f"{alias}.{name}"
    return CompletionItem(name, "function", f"→ {spec.kind}", resource_spec_markdown(qualified, spec, module.path))


def _value_items(field: Field) -> list[CompletionItem]:
    items: list[CompletionItem] = []
    value_type = field.type
    if value_type.kind == "bool":
        items += [CompletionItem(v, "value", "bool") for v in ("true", "false")]
    choices: Sequence[object] = getattr(value_type, "choices", None) or ()
    for choice in choices:
        text = f'"{choice}"' if isinstance(choice, str) else str(choice)
        items.append(CompletionItem(text, "value", str(value_type)))
    if field.default is not None and not isinstance(field.default, bool) and field.default not in choices:
        text = f'"{field.default}"' if isinstance(field.default, str) else str(field.default)
        items.append(CompletionItem(text, "value", "default", sort_text="0"))
    if value_type.nullable:
        items.append(CompletionItem("null", "value", "no value", sort_text="9"))
    return items
