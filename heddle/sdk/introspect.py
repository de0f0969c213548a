"""Reading declarations without running them: resolved annotations, source locations, docs."""

from __future__ import annotations

import ast
import functools
import inspect
import itertools
import linecache
import os
import textwrap
import types
import typing
from collections.abc import Callable, Mapping
from types import ModuleType

from heddle_lang.catalog import SourceLocation


def type_hints(obj: object, scope: Mapping[str, object] | None = None) -> dict[str, object]:
    """Annotations with forward references resolved and `Annotated` kept (the caller reports failures);
    `scope`: local names of the function where `obj` was defined."""
    return typing.get_type_hints(obj, localns=dict(scope) if scope else None, include_extras=True)


def unwrap(annotation: object) -> object:
    """`Annotated[T, ...]` → `T`; `T | None` → `T`."""
    while True:
        origin = typing.get_origin(annotation)
        if origin is typing.Annotated:
            annotation = typing.get_args(annotation)[0]
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(annotation) if a is not type(None)]
            if len(args) != 1:
                return annotation
            annotation = args[0]
        else:
            return annotation


def function_location(function: Callable[..., object]) -> SourceLocation | None:
    """The file and 1-based line of the `def` (not of its first decorator), with the range of the
    function's name on it when the source can be read: the first line from the code's first line on (a
    decorator's) that defines the function's name (read from the file's lines, cached: every command loads
    the same built-in modules, and parsing each function's source cost more than the rest of its spec)."""
    function = inspect.unwrap(function)
    try:
        path = inspect.getsourcefile(function) or inspect.getfile(function)
    except TypeError:
        return None
    code = getattr(function, "__code__", None)
    line = code.co_firstlineno if code is not None else 1
    name = getattr(function, "__name__", "")
    if code is not None and name.isidentifier():
        lines = linecache.getlines(path)
        for number in range(line, len(lines) + 1):
            column = _defined_at(lines[number - 1], name)
            if column is not None:
                return SourceLocation(path, number, column, column + len(name))
    return SourceLocation(path, line)


def _defined_at(text: str, name: str) -> int | None:
    """The column of `name` on a line `def name` or `async def name`, else None."""
    words = text.split(None, 3)
    if words[:1] == ["async"]:
        words = words[1:]
    if len(words) < 2 or words[0] != "def" or not words[1].startswith(name):
        return None
    after = words[1][len(name):len(name) + 1]
    if after.isalnum() or after == "_":
        return None
    return text.index(name, text.index("def") + 3)


def module_location(module: ModuleType) -> SourceLocation | None:
    path = getattr(module, "__file__", None)
    return SourceLocation(path, 1) if path else None


def doc_of(obj: object) -> str:
    return inspect.getdoc(obj) or ""


def attribute_docs(cls: type) -> dict[str, str]:
    """Docstrings written under annotated class attributes (`port: int = 5432` then `\"\"\"The port.\"\"\"`).

    Read once per class (reading a class's source costs milliseconds, and every catalog a command
    loads asks again for the same built-in classes)."""
    return dict(_attribute_docs(cls))


@functools.lru_cache(maxsize=2048)
def _attribute_docs(cls: type) -> dict[str, str]:
    node = _classes_of_file(_source_file(cls)).get(cls.__qualname__)
    if node is None:  # not found by name in its file (made in a function, say): its own source
        try:
            tree = ast.parse(textwrap.dedent(inspect.getsource(cls)))
        except (OSError, TypeError, SyntaxError):
            return {}
        node = tree.body[0] if tree.body and isinstance(tree.body[0], ast.ClassDef) else None
    body = node.body if node is not None else []
    docs: dict[str, str] = {}
    for current, following in itertools.pairwise(body):
        if (isinstance(current, ast.AnnAssign) and isinstance(current.target, ast.Name)
                and isinstance(following, ast.Expr) and isinstance(following.value, ast.Constant)
                and isinstance(following.value.value, str)):
            docs[current.target.id] = inspect.cleandoc(following.value.value)
    return docs


def _source_file(cls: type) -> str | None:
    try:
        return inspect.getsourcefile(cls)
    except TypeError:
        return None


def _classes_of_file(path: str | None) -> dict[str, ast.ClassDef]:
    if path is None:
        return {}
    try:
        stat = os.stat(path)
    except OSError:
        return {}
    return _module_classes(path, stat.st_mtime_ns, stat.st_size)


@functools.lru_cache(maxsize=256)
def _module_classes(path: str, mtime_ns: int, size: int) -> dict[str, ast.ClassDef]:
    """The classes a source file (as of its stamp) defines at module level or nested in classes, by qualified
    name: the file parsed once for all its classes (`inspect.getsource` parses it again for each class)."""
    try:
        with open(path, encoding="utf-8") as file:
            tree = ast.parse(file.read())
    except (OSError, SyntaxError, UnicodeDecodeError, ValueError):
        return {}
    found: dict[str, ast.ClassDef] = {}
    nameless: set[str] = set()

    def visit(body: list[ast.stmt], prefix: str) -> None:
        for statement in body:
            if isinstance(statement, ast.ClassDef):
                name = prefix + statement.name
                if name in found:  # defined twice: which one the class is cannot be told by name
                    nameless.add(name)
                found[name] = statement
                visit(statement.body, name + ".")

    visit(tree.body, "")
    return {name: node for name, node in found.items() if name not in nameless}
