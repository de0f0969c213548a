"""`bench.generate` makes valid, canonical Heddle of the size asked for."""

from __future__ import annotations

import pytest

from bench.generate import generate
from heddle_lang.check import check_tree
from heddle_lang.formatter import format_tree
from heddle_lang.syntax import ast, parse


@pytest.mark.parametrize(("lines", "seed"), [(60, 0), (137, 1), (1000, 0), (1000, 7), (10_000, 0)])
def test_generated_program_is_clean(lines: int, seed: int) -> None:
    text = generate(lines, seed)
    assert text.count("\n") == lines
    assert text.endswith("}\n") or text.splitlines()[-1].startswith("//")
    tree = parse(text)
    assert check_tree(tree) == []
    module = tree.ast
    assert module.imports and module.resources and module.steps and module.handlers
    if lines >= 1000:
        assert module.workflows
        # Names are unique across the whole program.
        names = [d.name.text for d in module.declarations if not isinstance(d, ast.Import) and d.name is not None]
        assert len(names) == len(set(names))
    # Canonical layout: the formatter leaves it alone.
    assert format_tree(tree).text == text


def test_generate_is_deterministic_per_seed() -> None:
    assert generate(500, seed=3) == generate(500, seed=3)
    assert generate(500, seed=3) != generate(500, seed=4)


def test_generate_refuses_sizes_too_small_for_a_program() -> None:
    with pytest.raises(ValueError, match="cannot generate"):
        generate(10)
