"""Names across files: a `.he` library's declarations as its importers read them (`platform.pg_db`).

An importer's use of `platform.pg_db` targets the library's own `Definition` (its `file` says where it is), so
the questions here take several analyses — the document's, its libraries', the files importing a library — and
answer with places in each: definition, references, rename, hover.
"""

from __future__ import annotations

from collections.abc import Iterable

from heddle_lang.diagnostics import TextEdit
from heddle_lang.ide.navigation import rename_error
from heddle_lang.ide.occurrences import occurrence_at, occurrences
from heddle_lang.records import record
from heddle_lang.semantic.libraries import is_private, library_of
from heddle_lang.semantic.model import Analysis, Definition
from heddle_lang.text import Span

SHARED_KINDS = frozenset({"resource", "step", "handler"})


@record
class Place:
    """A span in the file of `analysis` (its tree converts it to lines and columns)."""

    analysis: Analysis
    span: Span


def target_at(analysis: Analysis, offset: int) -> Definition | None:
    """What the name under `offset` names, wherever it is declared."""
    occurrence = occurrence_at(analysis, max(0, min(offset, len(analysis.tree.data))))
    return occurrence.target if occurrence is not None else None


def elsewhere(analysis: Analysis, definition: Definition) -> bool:
    """Whether `definition` is declared in another file than `analysis`'s."""
    return definition.file is not None and definition.file != analysis.file


def shared(definition: Definition) -> bool:
    """Whether other files may read `definition` through an import: a public resource, step or handler."""
    return definition.kind in SHARED_KINDS and not is_private(definition.name)


def definition_place(analysis: Analysis, definition: Definition) -> Place | None:
    """Where `definition` is declared: in `analysis` or in one of the libraries it reads."""
    if not elsewhere(analysis, definition):
        return Place(analysis, definition.span)
    assert definition.file is not None
    library = library_of(analysis, definition.file)
    return Place(library.analysis, definition.span) if library is not None else None


def references(analyses: Iterable[Analysis], target: Definition, include_declaration: bool) -> list[Place]:
    """Every place naming `target` in `analyses` (each file once), its declaration when asked."""
    places: list[Place] = []
    seen: set[str | None] = set()
    for analysis in analyses:
        if analysis.file in seen:
            continue
        seen.add(analysis.file)
        for occurrence in occurrences(analysis):
            if occurrence.target == target and (include_declaration or not occurrence.is_definition):
                places.append(Place(analysis, occurrence.span))
    return places


def rename(analyses: list[Analysis], target: Definition, new_name: str) -> list[tuple[Analysis, list[TextEdit]]] | str:
    """Edits renaming `target` in every file of `analyses` that names it, or why it cannot be done."""
    home = next((a for a in analyses if a.file == target.file or (target.file is None and a.file is None)), None)
    if home is None:
        return f"the file declaring `{target.name}` could not be read"
    error = rename_error(home, target, new_name)
    if error is not None:
        return error
    places = references(analyses, target, include_declaration=True)
    if is_private(new_name) and shared(target) and any(p.analysis.file != target.file for p in places):
        return f"`{new_name}` would be private to its file, and other files read `{target.name}`"
    edits: dict[str | None, tuple[Analysis, list[TextEdit]]] = {}
    for place in places:
        edits.setdefault(place.analysis.file, (place.analysis, []))[1].append(TextEdit(place.span, new_name))
    return list(edits.values())
