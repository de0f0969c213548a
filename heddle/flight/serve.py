"""Starting a worker: its address, token and TLS from arguments or the environment; one line when it listens.

`plugin.serve()` (and `heddle worker`) bind `127.0.0.1` on a free port unless told otherwise:

    python plugins/fraud.py                                   # grpc://127.0.0.1:<free port>
    python plugins/fraud.py --address grpc://0.0.0.0:8815     # or HEDDLE_WORKER_ADDRESS
    HEDDLE_WORKER_TOKEN=... python plugins/fraud.py           # every call must carry the token
    python plugins/fraud.py --tls-cert c.pem --tls-key k.pem  # grpc+tls (or HEDDLE_WORKER_TLS_CERT/_KEY)

When it listens it prints `heddle worker listening on grpc://HOST:PORT` (the engine starting a command's
worker reads the address from that line). The token is read from the environment only: arguments are
visible to every user of the machine.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from types import ModuleType

from heddle.flight import protocol as wire
from heddle.flight.server import ModuleHost, PluginHost, WorkerServer
from heddle.sdk.plugin import Plugin

_LOOPBACK = ("127.", "localhost", "[::1]", "::1")
ENV_PARENT = "HEDDLE_WORKER_PARENT"  # the engine that started this worker (its pid)


def arguments(description: str) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("--address", metavar="URL",
                        help=f"where to listen, e.g. grpc://127.0.0.1:8815 (env {wire.ENV_ADDRESS}; default "
                             "grpc://127.0.0.1 on a free port)")
    parser.add_argument("--tls-cert", metavar="FILE", help=f"serve TLS with this certificate (env {wire.ENV_TLS_CERT})")
    parser.add_argument("--tls-key", metavar="FILE", help=f"the certificate's private key (env {wire.ENV_TLS_KEY})")
    return parser


def start(host: ModuleHost, args: argparse.Namespace, *, language: str = "python") -> WorkerServer:
    """A listening server for `host`, configured from `args` and the environment (not yet announced)."""
    text = args.address or os.environ.get(wire.ENV_ADDRESS) or f"grpc://{wire.DEFAULT_HOST}:0"
    address = wire.parse_address(text)
    cert_file = args.tls_cert or os.environ.get(wire.ENV_TLS_CERT)
    key_file = args.tls_key or os.environ.get(wire.ENV_TLS_KEY)
    if bool(cert_file) != bool(key_file):
        raise SystemExit("heddle worker: TLS needs both a certificate and its key (--tls-cert and --tls-key)")
    tls = (Path(cert_file).read_bytes(), Path(key_file).read_bytes()) if cert_file and key_file else None
    if tls is not None and not address.tls:
        address = wire.Address("grpc+tls", address.host, address.port)
    if address.tls and tls is None:
        raise SystemExit(f"heddle worker: {address} asks for TLS: give --tls-cert and --tls-key")
    token = wire.env_token()
    if not address.host.startswith(_LOOPBACK) and token is None:
        print(f"heddle worker: warning: listening on {address.host} without a token: anyone who reaches this "
              f"address can run its steps (set {wire.ENV_TOKEN})", file=sys.stderr)
    bind = "0.0.0.0" if address.host == "0.0.0.0" else address.host
    server = WorkerServer(host, str(wire.Address(address.scheme, bind, address.port)), token=token, tls=tls,
                          language=language)
    server.address = address.with_port(server.port)
    return server


def run(server: WorkerServer, what: str) -> None:
    """Announce the address, then serve until shut down (an action, SIGTERM or Ctrl-C)."""
    print(wire.LISTENING.format(address=server.address) + f" ({what})", flush=True)
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, lambda *_: threading.Thread(target=server.shutdown, daemon=True).start())
    parent = os.environ.get(ENV_PARENT, "")
    if parent.isdigit():  # started by an engine: stop when it goes away, never outlive it
        threading.Thread(target=_watch_parent, args=(server, int(parent)), daemon=True).start()
    try:
        server.serve()
    except KeyboardInterrupt:
        server.shutdown()


def _watch_parent(server: WorkerServer, parent: int) -> None:
    while os.getppid() == parent:
        time.sleep(1.0)
    server.shutdown()


def serve_plugin(plugin: Plugin | ModuleType, argv: Sequence[str] | None = None) -> None:
    """`plugin.serve()`: serve one plugin until shut down."""
    name = plugin.namespace if isinstance(plugin, Plugin) else plugin.__name__
    parser = arguments(f"Serve the Heddle plugin `{name}` to engines over Arrow Flight.")
    args = parser.parse_args(list(argv) if argv is not None else sys.argv[1:])
    server = start(PluginHost(plugin), args)
    run(server, f"plugin {name}")
