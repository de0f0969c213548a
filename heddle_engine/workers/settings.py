"""`heddle.toml`'s worker settings: a module served by a worker, and the workers a run ships its steps to.

```toml
[modules]
"fraud-score/detect" = { worker = "grpc://127.0.0.1:8815" }                 # a worker that is running
"shop/score" = { command = ["node", "workers/score.js"] }                     # a worker the engine starts
"risk/model" = { worker = "grpc+tls://risk.internal:8815", token = "env:RISK_TOKEN", ca = "certs/ca.pem" }

[workers]
jit = ["grpc://127.0.0.1:8815"]   # `heddle worker`s that run the project's Python steps (as --workers does)
```

A token is only ever read from the environment (`env:NAME`): `heddle.toml` is shared, secrets are not.
A command's worker gets a fresh random token of its own, so nothing else on the machine can call it.
"""

from __future__ import annotations

from collections.abc import Mapping

from heddle_lang.records import record

ENV_PREFIX = "env:"


@record
class WorkerSetting:
    """How the engine reaches the worker of one module."""

    address: str | None = None  # a running worker
    command: tuple[str, ...] = ()  # or a command the engine starts (in the project's folder)
    token: str | None = None  # `env:NAME`
    ca: str | None = None  # the certificate a TLS worker's is checked against (a path, relative to the project)

    def describe(self) -> str:
        return self.address if self.address is not None else f"the command `{' '.join(self.command)}`"


def worker_setting(path: str, table: Mapping[str, object]) -> WorkerSetting | str:
    """The setting `{ worker = ... }` / `{ command = [...] }` of the module `path`, or what is wrong with it."""
    keys = set(table)
    unknown = sorted(keys - {"worker", "command", "token", "ca"})
    if unknown:
        return f"the module `{path}`: unknown key {', '.join(f'`{k}`' for k in unknown)} (keys: worker, command, " \
               "token, ca)"
    if ("worker" in keys) == ("command" in keys):
        return f"the module `{path}` names either a running `worker = \"grpc://host:port\"` or a `command = [...]` " \
               "that starts one"
    token = table.get("token")
    if token is not None and not (isinstance(token, str) and token.startswith(ENV_PREFIX) and len(token) > 4):
        return f"the module `{path}`: `token` is read from the environment: write `token = \"env:NAME\"`"
    ca = table.get("ca")
    if ca is not None and not isinstance(ca, str):
        return f"the module `{path}`: `ca` is the path of a certificate file"
    if "worker" in keys:
        address = table["worker"]
        if not isinstance(address, str):
            return f"the module `{path}`: `worker` is an address such as \"grpc://127.0.0.1:8815\""
        from heddle.flight.protocol import parse_address  # the worker protocol: loaded for a project with workers

        try:
            parse_address(address)
        except ValueError as error:
            return f"the module `{path}`: {error}"
        return WorkerSetting(address=address.strip(), token=token, ca=ca)
    command = table["command"]
    if not (isinstance(command, list) and command and all(isinstance(c, str) and c for c in command)):
        return f"the module `{path}`: `command` is a list of strings, such as [\"python\", \"plugins/fraud.py\"]"
    return WorkerSetting(command=tuple(command), token=token, ca=ca)


def jit_workers(data: Mapping[str, object]) -> tuple[tuple[str, ...], str | None]:
    """`[workers] jit = [...]`: the addresses, and what is wrong with the table (None when nothing)."""
    table = data.get("workers")
    if table is None:
        return (), None
    if not isinstance(table, dict) or set(table) - {"jit"}:
        return (), "`[workers]` holds `jit = [\"grpc://host:port\", ...]`"
    found = table.get("jit", [])
    if isinstance(found, str):
        found = [found]
    if not isinstance(found, list) or not all(isinstance(a, str) for a in found):
        return (), "`[workers] jit` is a list of addresses such as \"grpc://127.0.0.1:8815\""
    from heddle.flight.protocol import parse_address

    for address in found:
        try:
            parse_address(address)
        except ValueError as error:
            return (), f"`[workers] jit`: {error}"
    return tuple(a.strip() for a in found), None
