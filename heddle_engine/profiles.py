"""Resource profiles in `heddle.toml`: the same program, run locally or in production without editing it.

```toml
[profiles.local.resources.pg_db]
host = "127.0.0.1"
port = 5433
password = "env:PG_PASSWORD"   # read from the environment
```

A profile overrides keys of the resources it names. The one in force is chosen by `--profile NAME`
(`heddle run`, `check`, `plan`, `replay`), else the `HEDDLE_PROFILE` environment variable, else none (the
program's own values). The language server uses the same (`HEDDLE_PROFILE`, or its `profile`
initialization option). `env:NAME` values are read here, once; the checker keeps a secret key's value as the
reference, which the run resolves (see `heddle_lang.semantic.profiles`).

Reading never raises: a malformed `[profiles]` table is a problem of the project file, and a profile naming a
resource no `.he` file of the project declares is reported in `heddle.toml` (`project_problems`).
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterable, Mapping
from pathlib import Path

from heddle_lang.catalog import NO_PROFILES, Profiles, ProfileValue
from heddle_lang.records import record
from heddle_lang.suggest import closest

ENV_PREFIX = "env:"
PROFILE_VARIABLE = "HEDDLE_PROFILE"
_HEADER = re.compile(r"^\s*\[\s*([^\[\]]+?)\s*\]\s*(#.*)?$")
_KEY = re.compile(r"^\s*(\"[^\"]*\"|'[^']*'|[A-Za-z0-9_-]+)\s*=")
_SKIPPED = frozenset({".heddle", ".git", ".venv", "venv", "node_modules", "__pycache__"})


class ProfileError(Exception):
    """The profile asked for does not exist, or the project file's `[profiles]` is malformed."""


@record
class ProfileProblem:
    """Something wrong in `heddle.toml`'s profiles, at a line of it (1-based)."""

    line: int
    code: str
    message: str
    severity: str = "warning"


def wanted_profile(explicit: str | None, environ: Mapping[str, str] | None = None) -> str | None:
    """The profile asked for: `--profile`, else `HEDDLE_PROFILE`, else none."""
    env = os.environ if environ is None else environ
    return explicit or env.get(PROFILE_VARIABLE) or None


def read_profiles(root: Path | None, active: str | None, environ: Mapping[str, str] | None = None) -> Profiles:
    """The profiles of the project at `root`, `active` in force; raises `ProfileError` when `active` names
    none of them or the file's `[profiles]` cannot be read."""
    if root is None:
        if active is not None:
            raise ProfileError(f"profile `{active}` asked for, but there is no heddle.toml (no project)")
        return NO_PROFILES
    import tomllib  # here: only a project has profiles

    path = root / "heddle.toml"
    try:
        text = path.read_text(encoding="utf-8")
        data = tomllib.loads(text)
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        if active is not None:
            raise ProfileError(f"{path}: {error}") from None
        return NO_PROFILES
    env = os.environ if environ is None else environ
    table = data.get("profiles", {})
    lines = _lines(text)
    profiles: dict[str, dict[str, dict[str, ProfileValue]]] = {}
    if not isinstance(table, dict):
        raise ProfileError(f"{path}: `profiles` must be a table: [profiles.NAME.resources.RESOURCE]")
    for name, profile in table.items():
        resources = profile.get("resources", {}) if isinstance(profile, dict) else None
        if not isinstance(resources, dict) or any(not isinstance(v, dict) for v in resources.values()):
            raise ProfileError(f"{path}: profile `{name}` must hold tables [profiles.{name}.resources.RESOURCE] "
                               "of key = value")
        profiles[name] = {resource: {key: _value(value, lines.get((name, resource, key), lines.get(
            (name, resource, None), 1)), env) for key, value in keys.items()} for resource, keys in resources.items()}
    if active is not None and active not in profiles:
        known = ", ".join(sorted(profiles)) or "none"
        raise ProfileError(f"no profile `{active}` in {path} (profiles: {known})")
    return Profiles(str(path), profiles, active)


def resource_lines(root: Path) -> dict[tuple[str, str], int]:
    """(profile, resource) → the line of its table in `heddle.toml`."""
    try:
        text = (root / "heddle.toml").read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return {}
    return {(p, r): line for (p, r, key), line in _lines(text).items() if key is None}


def project_problems(root: Path, profiles: Profiles, declared: Iterable[str]) -> list[ProfileProblem]:
    """HE4013: a profile sets a resource that no `.he` file of the project declares (`declared`: the names
    they declare)."""
    names = set(declared)
    lines = resource_lines(root)
    problems = []
    for profile, resources in profiles.profiles.items():
        for resource in resources:
            if resource in names:
                continue
            best = closest(resource, sorted(names))
            hint = f"; did you mean `{best}`?" if best else ""
            problems.append(ProfileProblem(lines.get((profile, resource), 1), "HE4013",
                                           f"profile `{profile}` sets the resource `{resource}`, which no .he file "
                                           f"of the project declares{hint}"))
    return problems


def declared_resources(root: Path) -> set[str]:
    """The names of the resources the project's `.he` files declare (read from their syntax trees: nothing is
    lowered or analysed, so a large file costs its parse)."""
    from heddle_lang.syntax import parse
    from heddle_lang.syntax.lower import declared_names

    names: set[str] = set()
    for path in _he_files(root):
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError):
            continue
        if "resource" in text:
            names.update(declared_names(parse(text), "resource_declaration"))
    return names


def _he_files(root: Path) -> Iterable[Path]:
    for folder, subfolders, files in os.walk(root):
        subfolders[:] = [s for s in subfolders if s not in _SKIPPED and not s.startswith(".")]
        yield from (Path(folder) / f for f in files if f.endswith(".he"))


def _value(value: object, line: int, env: Mapping[str, str]) -> ProfileValue:
    if isinstance(value, str) and value.startswith(ENV_PREFIX):
        variable = value.removeprefix(ENV_PREFIX)
        found = env.get(variable)
        return ProfileValue(found, line, env=variable, present=found is not None)
    return ProfileValue(value, line)


def _lines(text: str) -> dict[tuple[str, str, str | None], int]:
    """Where each `[profiles.P.resources.R]` table (key None) and each of its keys stand (1-based)."""
    found: dict[tuple[str, str, str | None], int] = {}
    current: tuple[str, str] | None = None
    for number, line in enumerate(text.splitlines(), start=1):
        header = _HEADER.match(line)
        if header is not None:
            parts = [p.strip().strip("\"'") for p in header.group(1).split(".")]
            current = (parts[1], parts[3]) if len(parts) == 4 and parts[0] == "profiles" and parts[2] == \
                "resources" else None
            if current is not None:
                found.setdefault((*current, None), number)
            continue
        key = _KEY.match(line)
        if current is not None and key is not None:
            found.setdefault((*current, key.group(1).strip("\"'")), number)
    return found
