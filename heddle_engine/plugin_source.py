"""Reading a plugin module's source without running it (parso): what it registers, where, and how annotated.

The editor needs a plugin's functions even when the plugin cannot be imported where the editor runs (a
dependency missing, a syntax error, an exception or a hang at import), and needs where a function's name is
in the file as it is on disk now. Nothing here imports or executes the module: the text is parsed with
parso's error recovery (a syntax error costs only the statements it breaks), and literals such as
`name="check"` are read with `ast.literal_eval`. Reading never raises on any text.

What is read: the `Plugin(...)` objects a module creates (and names bound to them), every function
decorated with `@<plugin>.step(...)` or `@<plugin>.resource(...)` at module level (inside `if`/`try`/`with`
too, not inside a function: those register only when it runs), its registered name (`name=` or the first
positional argument), the exact range of its name, its decorators, docstring and annotations as source text;
the classes of the module with their annotated attributes (annotation, default and docstring as text), so
that a config parameter's keys and a table's columns can be read. A module without a plugin is read as a
plain module: its public functions that take and return a table class.
"""

from __future__ import annotations

import ast
import inspect
import warnings
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

import parso
from parso.python import tree

from heddle_lang.catalog import SourceLocation
from heddle_lang.records import record

Kind = Literal["step", "resource", "function"]

PLUGIN_MODULES = ("heddle.sdk", "heddle.sdk.plugin")
TABLE_BASES = frozenset({"Table"})
CONFIG_BASES = frozenset({"StepConfig", "ResourceConfig", "Config", "TypedDict"})
_REGISTRATIONS: dict[str, Kind] = {"step": "step", "resource": "resource"}


@record
class AttributeSource:
    """An annotated class attribute: `port: int = 5432` then `\"\"\"The port.\"\"\"`."""

    name: str
    annotation: str
    default: str | None  # source text; None without a default
    doc: str = ""


@record
class ClassSource:
    name: str
    bases: tuple[str, ...]  # source text, e.g. `StepConfig[VaultConfig]`
    keywords: Mapping[str, str]  # class keywords as source text, e.g. `total=False`
    decorators: tuple[str, ...]
    attributes: tuple[AttributeSource, ...]  # its own, in order (inherited ones: `ModuleSource.attributes`)
    doc: str
    location: SourceLocation


@record
class ParameterSource:
    name: str
    annotation: str  # source text; "" when not annotated
    default: str | None = None
    variadic: bool = False  # `*args` / `**kwargs`


@record
class FunctionSource:
    """A registered function: `@plugin.step(name="check", passthrough=True)` over `def check(...)`."""

    name: str  # the registered name
    kind: Kind
    python_name: str
    location: SourceLocation  # the function's name: line, column and end column
    decorators: tuple[str, ...]
    options: Mapping[str, str]  # the registration decorator's keyword arguments, as source text
    is_async: bool
    doc: str
    parameters: tuple[ParameterSource, ...]
    returns: str  # the return annotation as source text; "" when absent


@record
class ModuleSource:
    path: str
    doc: str
    namespace: str  # the plugin's namespace; the module's last name for a plain module
    plugin: str | None  # the name of the Plugin read; None for a plain module
    functions: tuple[FunctionSource, ...]
    classes: Mapping[str, ClassSource]
    problems: tuple[str, ...] = ()  # syntax errors and ambiguities, as `line N: ...`
    plugin_doc: str | None = field(default=None)  # `Plugin(doc=...)`, when given

    def function(self, name: str) -> FunctionSource | None:
        return next((f for f in self.functions if f.name == name), None)

    def attributes(self, name: str) -> tuple[AttributeSource, ...] | None:
        """The attributes of class `name` with those of its bases in this module (bases first); None when a
        base is a class of another module (its attributes cannot be known) or the class is not here."""
        return self._attributes(name, frozenset())

    def base_names(self, name: str) -> set[str]:
        """Every base of class `name` (by its last dotted name), through the classes of this module."""
        found: set[str] = set()
        pending, seen = [name], set()
        while pending:
            current = pending.pop()
            cls = self.classes.get(current)
            if cls is None or current in seen:
                continue
            seen.add(current)
            for base in cls.bases:
                base_name = annotation_name(base)
                if base_name:
                    found.add(base_name)
                    pending.append(base_name)
        return found

    def is_table(self, annotation: str) -> bool:
        name = annotation_name(annotation)
        return name in TABLE_BASES or (name in self.classes and bool(self.base_names(name) & TABLE_BASES))

    def is_config(self, name: str) -> bool:
        cls = self.classes.get(name)
        return cls is not None and (bool(self.base_names(name) & CONFIG_BASES) or _is_dataclass(cls))

    def _attributes(self, name: str, seen: frozenset[str]) -> tuple[AttributeSource, ...] | None:
        cls = self.classes.get(name)
        if cls is None or name in seen:
            return None
        inherited: list[AttributeSource] = []
        for base in cls.bases:
            base_name = annotation_name(base)
            if base_name in TABLE_BASES or base_name in CONFIG_BASES or base_name in ("Generic", "object"):
                continue
            attributes = self._attributes(base_name, seen | {name}) if base_name else None
            if attributes is None:
                return None
            inherited.extend(attributes)
        own = {a.name for a in cls.attributes}
        return (*(a for a in inherited if a.name not in own), *cls.attributes)


def read_plugin_file(path: Path, attribute: str = "") -> ModuleSource | None:
    """The module at `path` read statically; None when the file cannot be read."""
    try:
        data = path.read_bytes()
    except OSError:
        return None
    return read_plugin_source(data.decode("utf-8", errors="replace"), str(path), attribute)


def read_plugin_source(text: str, path: str, attribute: str = "") -> ModuleSource:
    """The plugin (or plain module) `text` declares. `attribute`: the plugin's name when the project names it
    (`module:plugin`); without it, the module's one plugin. Never raises."""
    module = parso.parse(text)
    reader = _Reader(path)
    reader.read(module)
    return reader.result(module, path, attribute)


def annotation_name(text: str) -> str:
    """The class an annotation names, unwrapped: `Optional[pkg.Orders]`, `Orders | None`, `"Orders"`,
    `Annotated[Orders, ...]`, `StepConfig[V]` → the last dotted name (`Orders`, `StepConfig`); "" otherwise."""
    node = parse_annotation(text)
    while node is not None:
        if isinstance(node, ast.Name):
            return node.id
        if isinstance(node, ast.Attribute):
            return node.attr
        inner = unwrap_annotation(node)
        node = node.value if inner is None and isinstance(node, ast.Subscript) else inner
    return ""


def parse_annotation(text: str) -> ast.expr | None:
    """An annotation's source text as an expression (a string annotation is read inside its quotes)."""
    node = _expression(text)
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        node = _expression(node.value)
    return node


def unwrap_annotation(node: ast.expr) -> ast.expr | None:
    """`Optional[T]`, `T | None`, `Annotated[T, ...]`, `Required[T]`, `NotRequired[T]` → `T`; None when
    there is nothing to unwrap."""
    if isinstance(node, ast.BinOp) and isinstance(node.op, ast.BitOr):
        sides = [s for s in (node.left, node.right) if not _is_none(s)]
        return sides[0] if len(sides) == 1 else None
    if isinstance(node, ast.Subscript):
        head = _last_name(node.value)
        inner = node.slice
        if head in ("Optional", "Annotated", "Required", "NotRequired", "ReadOnly"):
            return inner.elts[0] if isinstance(inner, ast.Tuple) and inner.elts else inner
        if head == "Union" and isinstance(inner, ast.Tuple):
            rest = [e for e in inner.elts if not _is_none(e)]
            return rest[0] if len(rest) == 1 else None
    return None


def literal(text: str | None) -> object:
    """The value a literal's source text spells (`"check"`, `True`, `{"a": "b"}`); None for anything else."""
    if text is None:
        return None
    try:
        with warnings.catch_warnings():  # an odd escape in the user's text is not ours to warn about
            warnings.simplefilter("ignore")
            return ast.literal_eval(text.strip())
    except Exception:  # any text: a non-literal, a syntax error, nesting too deep
        return None


# --- reading -------------------------------------------------------------------------------------------


@dataclass(slots=True)
class _Plugin:
    name: str
    namespace: str | None
    doc: str | None


class _Reader:
    def __init__(self, path: str) -> None:
        self.path = path
        self.plugin_classes = {"Plugin"}  # names the Plugin class is known by here
        self.plugins: dict[str, _Plugin] = {}  # variable -> the Plugin it holds
        self.decorators: dict[str, tuple[str, Kind]] = {}  # `step = plugin.step` -> (plugin variable, kind)
        self.classes: dict[str, ClassSource] = {}
        self.functions: list[tuple[str | None, FunctionSource]] = []  # (plugin variable or None, function)
        self.plain: list[tree.Function] = []

    def read(self, module: tree.Module) -> None:
        for node in _module_level(module):
            try:
                self._statement(node)
            except Exception:  # a statement too odd to read is skipped, never fatal
                continue

    def result(self, module: tree.Module, path: str, attribute: str) -> ModuleSource:
        problems = [f"line {e.start_pos[0]}: {e.message}" for e in _errors(module)]
        doc = _docstring(module.get_doc_node())
        plugin = self._chosen(attribute, problems)
        if plugin is None and (attribute or len(self.plugins) > 1):
            functions: tuple[FunctionSource, ...] = ()
            namespace = Path(path).stem
        elif plugin is None:
            source = ModuleSource(path, doc, Path(path).stem, None, (), dict(self.classes))
            functions = tuple(f for f in (self._plain(f, source) for f in self.plain) if f is not None)
            namespace = source.namespace
        else:
            seen: set[tuple[Kind, str]] = set()
            chosen = []
            for owner, function in self.functions:
                if owner == plugin.name and (function.kind, function.name) not in seen:
                    seen.add((function.kind, function.name))
                    chosen.append(function)
            functions = tuple(chosen)
            namespace = plugin.namespace or Path(path).stem
        return ModuleSource(path, doc, namespace, plugin.name if plugin else None, functions, dict(self.classes),
                            tuple(problems), plugin.doc if plugin else None)

    def _chosen(self, attribute: str, problems: list[str]) -> _Plugin | None:
        if attribute:
            found = self.plugins.get(attribute)
            if found is None:
                problems.append(f"the module binds no Plugin to `{attribute}`")
            return found
        distinct = list({id(p): p for p in self.plugins.values()}.values())
        if len(distinct) > 1:
            problems.append(f"the module creates several plugins ({', '.join(sorted(self.plugins))})")
            return None
        return distinct[0] if distinct else None

    # --- statements --------------------------------------------------------------------------------

    def _statement(self, node: tree.BaseNode | tree.Leaf) -> None:
        if node.type in ("import_from", "import_name"):
            self._import(node)
        elif node.type == "expr_stmt":
            self._assignment(node)
        elif node.type == "classdef":
            self._class(node, ())
        elif node.type in ("funcdef", "async_funcdef", "decorated", "async_stmt"):
            self._definition(node)

    def _import(self, node: tree.BaseNode) -> None:
        parsed = _statement_ast(node)
        if isinstance(parsed, ast.ImportFrom) and parsed.module in PLUGIN_MODULES:
            for alias in parsed.names:
                if alias.name == "Plugin":
                    self.plugin_classes.add(alias.asname or alias.name)

    def _assignment(self, node: tree.BaseNode) -> None:
        parsed = _statement_ast(node)
        if isinstance(parsed, ast.Assign):
            targets, value = parsed.targets, parsed.value
        elif isinstance(parsed, ast.AnnAssign) and parsed.value is not None:
            targets, value = [parsed.target], parsed.value
        else:
            return
        names = [t.id for t in targets if isinstance(t, ast.Name)]
        if isinstance(value, ast.Call) and _last_name(value.func) in self.plugin_classes:
            plugin = _Plugin(names[0] if names else "", _plugin_namespace(value), _keyword_string(value, "doc"))
            for name in names:
                self.plugins[name] = plugin
        elif isinstance(value, ast.Name) and value.id in self.plugins:  # `p = plugin`
            for name in names:
                self.plugins[name] = self.plugins[value.id]
        elif (isinstance(value, ast.Attribute) and isinstance(value.value, ast.Name)
              and value.value.id in self.plugins and value.attr in _REGISTRATIONS):  # `step = plugin.step`
            for name in names:
                self.decorators[name] = (self.plugins[value.value.id].name, _REGISTRATIONS[value.attr])

    def _class(self, node: tree.Class, decorators: tuple[str, ...]) -> None:
        name = node.name.value
        bases: list[str] = []
        keywords: dict[str, str] = {}
        arglist = node.get_super_arglist()
        for argument in _arguments(arglist):
            if argument.type == "argument" and argument.children[1].type == "operator" \
                    and argument.children[1].value == "=":
                keywords[argument.children[0].get_code(include_prefix=False)] = _code(argument.children[2])
            else:
                bases.append(_code(argument))
        self.classes[name] = ClassSource(name, tuple(bases), keywords, decorators, tuple(_class_attributes(node)),
                                         _docstring(node.get_doc_node()), self._location(node.name))

    def _definition(self, node: tree.BaseNode) -> None:
        decorators: tuple[str, ...] = ()
        if node.type == "decorated":
            first, node = node.children[0], node.children[1]
            items = first.children if first.type == "decorators" else [first]
            decorators = tuple(_code(d).removeprefix("@").strip() for d in items)
        is_async = node.type in ("async_funcdef", "async_stmt")
        if is_async:
            node = node.children[1]
        if node.type == "classdef":
            self._class(node, decorators)
            return
        if node.type != "funcdef":
            return
        if not decorators:
            decorators = _stranded_decorators(node)
        registered = False
        for text in decorators:
            found = self._registration(text)
            if found is not None:
                owner, kind, name, options = found
                self.functions.append((owner, self._function(node, name or node.name.value, kind, decorators,
                                                              options=options, is_async=is_async)))
                registered = True
        if not registered and not decorators:
            self.plain.append(node)

    def _registration(self, text: str) -> tuple[str, Kind, str | None, dict[str, str]] | None:
        """(plugin variable, kind, registered name, options) of a registration decorator, else None."""
        expression = _expression(text)
        call = expression if isinstance(expression, ast.Call) else None
        target = call.func if call is not None else expression
        owner_kind: tuple[str, Kind] | None = None
        if isinstance(target, ast.Attribute) and isinstance(target.value, ast.Name) \
                and target.value.id in self.plugins and target.attr in _REGISTRATIONS:
            owner_kind = (self.plugins[target.value.id].name, _REGISTRATIONS[target.attr])
        elif isinstance(target, ast.Name) and target.id in self.decorators:
            owner_kind = self.decorators[target.id]
        if owner_kind is None:
            return None
        options = {k.arg: ast.get_source_segment(text, k.value) or "" for k in (call.keywords if call else ())
                   if k.arg is not None}
        if call is not None and call.args and "name" not in options:
            options["name"] = ast.get_source_segment(text, call.args[0]) or ""
        name = literal(options.get("name"))
        return owner_kind[0], owner_kind[1], name if isinstance(name, str) else None, options

    def _function(self, node: tree.Function, name: str, kind: Kind, decorators: tuple[str, ...], *,
                  options: dict[str, str], is_async: bool) -> FunctionSource:
        parameters = tuple(ParameterSource(p.name.value, _code(p.annotation) if p.annotation else "",
                                           _code(p.default) if p.default else None, p.star_count > 0)
                           for p in node.get_params())
        returns = _code(node.annotation) if node.annotation is not None else ""
        doc = literal(options.get("doc"))
        return FunctionSource(name, kind, node.name.value, self._location(node.name), decorators, options, is_async,
                              doc if isinstance(doc, str) else _docstring(node.get_doc_node()), parameters, returns)

    def _plain(self, node: tree.Function, source: ModuleSource) -> FunctionSource | None:
        """A plain module's function, when it reads as a step (public, takes a table, returns a table)."""
        name = node.name.value
        if name.startswith("_"):
            return None
        function = self._function(node, name, "function", (), options={}, is_async=False)
        takes_table = any(source.is_table(p.annotation) for p in function.parameters)
        return function if takes_table and source.is_table(function.returns) else None

    def _location(self, name: tree.Name) -> SourceLocation:
        line, column = name.start_pos
        return SourceLocation(self.path, line, column, column + len(name.value))


# --- parso helpers ------------------------------------------------------------------------------------


def _module_level(node: tree.BaseNode) -> Iterator[tree.BaseNode | tree.Leaf]:
    """The statements that run when the module is imported: those inside `if`, `try`, `with` and `for`
    blocks too, not those inside a function or a class body."""
    for child in getattr(node, "children", ()):
        if child.type == "simple_stmt":
            yield from child.children
        elif child.type in ("funcdef", "classdef", "decorated", "async_stmt", "async_funcdef"):
            yield child
        elif child.type in ("if_stmt", "try_stmt", "with_stmt", "for_stmt", "while_stmt", "suite", "error_node",
                            "except_clause"):
            yield from _module_level(child)
        else:
            yield child


def _class_attributes(node: tree.Class) -> Iterator[AttributeSource]:
    body = node.children[-1]
    statements = [c.children[0] for c in getattr(body, "children", ()) if c.type == "simple_stmt"]
    for current, following in zip(statements, [*statements[1:], None], strict=True):
        if current.type != "expr_stmt" or len(current.children) != 2 or current.children[1].type != "annassign":
            continue
        target, annassign = current.children
        if target.type != "name":
            continue
        parts = annassign.children  # `:` annotation [`=` default]
        default = _code(parts[3]) if len(parts) >= 4 else None
        doc = ""
        if following is not None and following.type in ("string", "strings"):
            value = literal(_code(following))
            doc = inspect.cleandoc(value) if isinstance(value, str) else ""
        yield AttributeSource(target.value, _code(parts[1]), default, doc)


def _stranded_decorators(function: tree.Function) -> tuple[str, ...]:
    """Decorators that a syntax error above left inside an error node just before `function` (an unclosed
    bracket upstream swallows the lines up to the `def`), with their brackets closed again."""
    previous = function.get_previous_sibling()
    if previous is None or previous.type != "error_node":
        return ()
    leaves, leaf = [], previous.get_first_leaf()
    last = previous.get_last_leaf()
    while leaf is not None:
        leaves.append(leaf)
        if leaf is last:
            break
        leaf = leaf.get_next_leaf()
    starts = [i for i, x in enumerate(leaves) if x.type == "operator" and x.value == "@" and "\n" in x.prefix]
    found: list[str] = []
    for begin, end in reversed(list(zip(starts, [*starts[1:], len(leaves)], strict=True))):
        text = "".join(x.get_code() for x in leaves[begin + 1:end]).strip()
        text = _closed(text)
        if _expression(text) is None:
            break
        found.insert(0, text)
    return tuple(found)


def _closed(text: str) -> str:
    """`text` with the brackets it leaves open closed (outside string literals)."""
    pairs = {"(": ")", "[": "]", "{": "}"}
    stack: list[str] = []
    quote = ""
    for char in text:
        if quote:
            quote = "" if char == quote else quote
        elif char in "'\"":
            quote = char
        elif char in pairs:
            stack.append(pairs[char])
        elif stack and char == stack[-1]:
            stack.pop()
    return text + "".join(reversed(stack))


def _arguments(arglist: tree.BaseNode | None) -> list[tree.BaseNode]:
    if arglist is None:
        return []
    if arglist.type == "arglist":
        return [c for c in arglist.children if not (c.type == "operator" and c.value == ",")]
    return [arglist]


def _errors(module: tree.Module) -> list[parso.normalizer.Issue]:
    try:
        return list(parso.load_grammar().iter_errors(module))[:20]
    except Exception:  # the error finder is an aid; the tree is read either way
        return []


def _docstring(node: tree.BaseNode | None) -> str:
    value = literal(_code(node)) if node is not None else None
    return inspect.cleandoc(value) if isinstance(value, str) else ""


def _code(node: tree.BaseNode | tree.Leaf) -> str:
    return str(node.get_code(include_prefix=False)).strip()


def _statement_ast(node: tree.BaseNode) -> ast.stmt | None:
    parsed = _parsed(_code(node), "exec")
    body = parsed.body if isinstance(parsed, ast.Module) else []
    return body[0] if len(body) == 1 else None


def _expression(text: str) -> ast.expr | None:
    parsed = _parsed(text.strip(), "eval")
    return parsed.body if isinstance(parsed, ast.Expression) else None


def _parsed(text: str, mode: str) -> ast.AST | None:
    """`text` parsed (never compiled nor run); None when it is not valid on its own (what parso recovered)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return ast.parse(text, mode=mode)
    except Exception:
        return None


def _last_name(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return ""


def _is_none(node: ast.expr) -> bool:
    return isinstance(node, ast.Constant) and node.value is None


def _plugin_namespace(call: ast.Call) -> str | None:
    value = call.args[0] if call.args else next((k.value for k in call.keywords if k.arg == "namespace"), None)
    return value.value if isinstance(value, ast.Constant) and isinstance(value.value, str) else None


def _keyword_string(call: ast.Call, name: str) -> str | None:
    value = next((k.value for k in call.keywords if k.arg == name), None)
    return value.value if isinstance(value, ast.Constant) and isinstance(value.value, str) else None


def _is_dataclass(cls: ClassSource) -> bool:
    return any(annotation_name(d.partition("(")[0]) == "dataclass" for d in cls.decorators)
