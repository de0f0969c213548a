"""The check of `heddle check`: every file named (the `.he` files of a folder), each library they reach once,
and the profiles of each project's `heddle.toml`."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Iterable

from heddle.cli.compiler import contained_compiler
from heddle.cli.files import expand, read
from heddle.cli.project import Catalogs, analyze_file, file_key
from heddle.cli.report import as_json, line, summary
from heddle_engine.describe import DESCRIBER
from heddle_engine.profiles import ProfileProblem, declared_resources, project_problems
from heddle_lang.diagnostics import Diagnostic, Severity
from heddle_lang.relational.compile import PrqlCompiler
from heddle_lang.semantic.libraries import reached
from heddle_lang.syntax import parse
from heddle_lang.syntax.tree import SyntaxTree


def check_files(paths: list[str], output: str, profile: str | None) -> int:
    """The exit status: 1 when there is an error. `output`: "text" or "json"."""
    DESCRIBER.forget()  # what a database answers is read anew, so the check records it (check_cache.py)
    names = list(expand(paths))
    with contained_compiler() as compiler:
        return _check(names, output, profile, compiler)


def _check(names: list[str], output: str, profile: str | None, compiler: PrqlCompiler) -> int:
    catalogs = Catalogs(profile)
    records = []
    errors = warnings = 0
    checked: set[str] = set()  # files reported, a library reached through an import included

    def report(name: str, tree: SyntaxTree, found: Iterable[Diagnostic]) -> None:
        nonlocal errors, warnings
        for diagnostic in found:
            errors += diagnostic.severity is Severity.ERROR
            warnings += diagnostic.severity is Severity.WARNING
            if output == "json":
                records.append(as_json(name, tree.lines, diagnostic))
            else:
                print(line(name, tree.lines, diagnostic))

    for name in names:
        source = read(name)
        key = file_key(source.path)
        if key in checked:
            continue
        checked.add(key)
        tree = parse(source.text)
        if source.encoding_error is not None:  # not the file's text: no more
            report(source.name, tree, [source.encoding_error])
            continue
        analysis = analyze_file(tree, catalogs, source.path, compiler=compiler)
        report(source.name, tree, analysis.diagnostics)
        for library in reached(analysis):
            if library.file not in checked:
                checked.add(library.file)
                report(os.path.relpath(library.file), library.analysis.tree, library.analysis.diagnostics)
    for name, problem in _profile_problems(catalogs):
        warnings += problem.severity == "warning"
        if output == "json":
            records.append({"file": name, "range": {"start": {"line": problem.line - 1, "character": 0},
                                                    "end": {"line": problem.line - 1, "character": 0}},
                            "severity": problem.severity, "code": problem.code, "message": problem.message})
        else:
            print(f"{name}:{problem.line}:1: {problem.severity}: {problem.message} [{problem.code}]")
    if output == "json":
        json.dump(records, sys.stdout, indent=2)
        print()
    elif errors or warnings:
        print(summary(errors, warnings, len(names)), file=sys.stderr)
    return 1 if errors else 0


def _profile_problems(catalogs: Catalogs) -> list[tuple[str, ProfileProblem]]:
    """HE4013 in each project's heddle.toml: profiles naming resources no .he file of the project declares."""
    found = []
    for root, catalog in catalogs.catalogs.items():
        if root is None or not catalog.profiles.profiles:
            continue
        name = os.path.relpath(root / "heddle.toml")
        found.extend((name, p) for p in project_problems(root, catalog.profiles, declared_resources(root)))
    return found
