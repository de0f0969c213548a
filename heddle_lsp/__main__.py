"""`heddle-lsp`: the Heddle language server, over stdio (default) or TCP."""

from __future__ import annotations

import argparse
import logging

from heddle.process import tune_gc
from heddle_lang import __version__


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="heddle-lsp",
        description="The Heddle language server. Editors start it and speak LSP over its stdin/stdout; "
                    "for a client that connects over a socket, start it with --tcp HOST:PORT. "
                    "It serves .he files: diagnostics and formatting.",
    )
    parser.add_argument("--version", action="version", version=f"heddle-lsp {__version__}")
    parser.add_argument("--tcp", metavar="HOST:PORT", help="listen on a TCP socket instead of stdio")
    parser.add_argument("--log-level", default="WARNING", choices=("DEBUG", "INFO", "WARNING", "ERROR"))
    return parser


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    tune_gc()
    logging.basicConfig(level=args.log_level, format="heddle-lsp %(levelname)s %(name)s: %(message)s")
    from heddle_lsp.features import server

    if args.tcp:
        host, _, port = args.tcp.rpartition(":")
        server.start_tcp(host or "127.0.0.1", int(port))
    else:
        server.start_io()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
