"""Every install command the project prints or documents names what really installs Heddle.

The distribution is `heddle-lang`; `heddle` on the package index is an unrelated project. This finds each
`pip install …`/`pipx install …` in the messages of the code (Python string literals, the editors' sources)
and in the README and docs, and checks every requirement it names: `heddle-lang` (with extras), this
checkout (`.`, `-e .`, `'.[test]'`), a path or a built wheel, or one of the few tools named in TOOLS.
"""

from __future__ import annotations

import ast
import re
import shlex
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent

# Packages that are not Heddle, named on purpose: PyPA's wheel builder, in the README's build step.
TOOLS = {"build"}

COMMAND = re.compile(r"\bpipx? install\b(?P<args>[^`\n;&|#)\"\\]*)")
REQUIREMENT = re.compile(r"heddle-lang(\[[a-z0-9,-]+\])?")


def python_texts(path: Path) -> Iterator[str]:
    """The string literals of a module, adjacent literals and f-strings joined as Python joins them."""
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Constant) and isinstance(node.value, str):
            yield node.value
        elif isinstance(node, ast.JoinedStr):
            yield "".join(part.value if isinstance(part, ast.Constant) else "{}" for part in node.values)


def source_texts(path: Path, joiner: str) -> Iterator[str]:
    """TypeScript/Lua: string literals concatenated across lines (`"a " +\\n "b"`, `"a " ..\\n "b"`) joined."""
    text = path.read_text(encoding="utf-8")
    yield re.sub(r"([\"'])\s*" + re.escape(joiner) + r"\s*\1", "", text)


def markdown_texts(path: Path) -> Iterator[str]:
    """Prose with its line breaks joined (a command in backticks may wrap), code blocks line by line."""
    prose: list[str] = []
    fenced = False
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
            continue
        if fenced:
            yield line
        else:
            prose.append(line.strip())
    yield " ".join(prose)


def texts() -> Iterator[tuple[str, str]]:
    for package in ("heddle", "heddle_lang", "heddle_lsp", "heddle_engine", "bench"):
        for path in sorted((REPO / package).rglob("*.py")):
            for text in python_texts(path):
                yield str(path.relative_to(REPO)), text
    for pattern, joiner in (("editors/vscode/src/*.ts", "+"), ("editors/neovim/**/*.lua", "..")):
        for path in sorted(REPO.glob(pattern)):
            for text in source_texts(path, joiner):
                yield str(path.relative_to(REPO)), text
    for path in sorted([REPO / "README.md", *REPO.glob("docs/*.md"), *REPO.glob("editors/*/README.md")]):
        for text in markdown_texts(path):
            yield str(path.relative_to(REPO)), text


def requirements(args: str) -> list[str]:
    """The requirements of an install command's arguments (its options dropped)."""
    words = [word.rstrip(",:;") for word in shlex.split(args, posix=True)]
    # A sentence's full stop is not part of the last word (`.` alone is this checkout).
    words = [word[:-1] if len(word) > 1 and word.endswith(".") else word for word in words]
    return [word for word in words if not word.startswith("-")]


def is_heddle(requirement: str) -> bool:
    if REQUIREMENT.fullmatch(requirement):
        return True
    base = requirement.split("[", 1)[0]
    # This checkout, a clone's folder, or a wheel built from it (a placeholder such as PATH included).
    return base in {".", "PATH"} or "/" in base or base.endswith(".whl")


def install_commands() -> list[tuple[str, str, list[str]]]:
    found = []
    for where, text in texts():
        for match in COMMAND.finditer(text):
            found.append((where, match.group(0).strip(), requirements(match.group("args"))))
    return found


COMMANDS = install_commands()


def test_the_hints_are_found() -> None:
    # The scan itself: the code's messages and the docs hold install commands, so finding none means it broke.
    places = {where for where, _, _ in COMMANDS}
    assert {"heddle/core/table.py", "heddle_engine/modules/fhub/postgresql.py", "README.md",
            "editors/vscode/src/client.ts", "editors/vscode/README.md"} <= places


@pytest.mark.parametrize(("where", "command", "names"), COMMANDS, ids=[f"{w}:{c}" for w, c, _ in COMMANDS])
def test_every_install_command_names_heddle_lang(where: str, command: str, names: list[str]) -> None:
    assert names, f"{where}: `{command}` installs nothing that can be read"
    strangers = [name for name in names if not is_heddle(name) and name not in TOOLS]
    assert not strangers, f"{where}: `{command}` installs {strangers}, which is not Heddle (heddle-lang)"


def test_the_distribution_is_heddle_lang() -> None:
    pyproject = (REPO / "pyproject.toml").read_text(encoding="utf-8")
    assert re.search(r'^name = "heddle-lang"$', pyproject, re.MULTILINE)
    assert re.search(r"^pandas = \[", pyproject, re.MULTILINE), "the pandas extra the SDK's hint names"


def test_bare_heddle_is_recognised_as_a_stranger() -> None:
    # The check must catch the old hint, which installed the unrelated placeholder.
    assert not is_heddle("heddle") and not is_heddle("heddle[postgresql]")
    assert requirements(" -q 'heddle-lang[llm]'") == ["heddle-lang[llm]"]
