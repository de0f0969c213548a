"""A file checked before a command goes on with its plan (`heddle plan`, `heddle run`)."""

from __future__ import annotations

import sys

from heddle.cli.compiler import contained_compiler
from heddle.cli.files import Source
from heddle.cli.project import Catalogs, analyze_file
from heddle.cli.report import line
from heddle_engine.catalog import EngineCatalog
from heddle_lang.records import record
from heddle_lang.semantic.model import Analysis
from heddle_lang.syntax import parse
from heddle_lang.syntax.tree import SyntaxTree


@record
class Checked:
    """A file that checks: its syntax tree, its project's catalog and its analysis (whose plan has no error)."""

    tree: SyntaxTree
    catalog: EngineCatalog
    analysis: Analysis


def check_source(source: Source, profile: str | None, *, refused: str) -> Checked | None:
    """`source` analysed with its project's catalog (resource profile `profile`). None when it is not UTF-8 or
    does not check: its errors are then printed on stderr, then `NAME: <refused>: the file ...`."""
    if source.encoding_error is not None:
        print(line(source.name, parse(source.text).lines, source.encoding_error), file=sys.stderr)
        print(f"{source.name}: {refused}: the file is not UTF-8", file=sys.stderr)
        return None
    with contained_compiler() as compiler:
        tree = parse(source.text)
        catalogs = Catalogs(profile)
        catalog = catalogs.for_file(source.path)
        analysis = analyze_file(tree, catalogs, source.path, compiler=compiler)
    errors = [d for d in analysis.diagnostics if d.is_error]
    if errors:
        for diagnostic in errors:
            print(line(source.name, tree.lines, diagnostic), file=sys.stderr)
        print(f"{source.name}: {refused}: the file does not check", file=sys.stderr)
        return None
    return Checked(tree, catalog, analysis)
