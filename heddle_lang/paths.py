"""Where readers and writers may touch files: inside the project, or in folders its `heddle.toml` allows.

A config key a function declares as a file path (`Annotated[str, FilePath]`: `io.read_csv`'s `path`, a
SQLite connection's `path` and `script`) is checked against the policy of the document's project:

- a relative path starts from the `.he` file's folder (as when the workflow runs) and may not climb out of
  the project (`../../etc/passwd`); an absolute path, or one starting with `~`, must be inside the project;
- either may instead be inside a folder listed in `heddle.toml`:

      [paths]
      allow = ["/srv/shared", "../exports"]   # relative entries start from the project's folder

The project is the folder of the nearest `heddle.toml`, else the `.he` file's own folder. Paths are compared
as written, normalised (`a/../b` is `b`); symbolic links are not followed — this is a check of the program,
not a sandbox. Pure string work on POSIX paths: nothing here touches the file system.
"""

from __future__ import annotations

import posixpath

from heddle_lang.records import record


@record
class PathPolicy:
    root: str  # the project's folder: absolute, normalised
    folder: str  # the `.he` file's folder: relative paths start here
    allowed: tuple[str, ...] = ()  # other folders paths may name: absolute, normalised
    home: str | None = None  # what a leading `~` stands for

    def resolve(self, path: str) -> str | None:
        """Where `path` points, absolute and normalised; None when it cannot be told (`~user/...`)."""
        if path == "~" or path.startswith("~/"):
            if self.home is None:
                return None
            path = self.home + path[1:]
        elif path.startswith("~"):
            return None
        return posixpath.normpath(posixpath.join(self.folder, path))

    def permits(self, path: str) -> bool:
        target = self.resolve(path)
        return target is not None and any(_within(target, place) for place in (self.root, *self.allowed))


def _within(target: str, folder: str) -> bool:
    return target == folder or target.startswith(folder.rstrip("/") + "/")


def outside_message(key: str, owner: str, path: str, policy: PathPolicy) -> str:
    """Why `path` is refused, and how to allow it."""
    target = policy.resolve(path)
    where = f"resolves to {target}, " if target is not None and target != path else ""
    return (f"`{key}` of {owner} is outside the project: \"{path}\" {where}not under {policy.root}; files "
            "outside it are read or written only in folders listed under `[paths] allow` in heddle.toml")
