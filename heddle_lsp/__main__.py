"""`heddle-lsp`: the Heddle language server, over stdio (default) or TCP."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys

from heddle_lang.version import __version__
from heddle_lsp.first_answer import Front  # first: what the front needs, and no more, before it answers

SWITCH_SECONDS = 0.0005
PIPE_BYTES = 1 << 20


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="heddle-lsp",
        formatter_class=argparse.RawDescriptionHelpFormatter,
        description="""The Heddle language server, for .he files.

Connect: editors start `heddle-lsp` and speak LSP over its stdin/stdout (`--stdio` is accepted and
changes nothing); a client that connects over a socket starts it with `--tcp HOST:PORT`. Use the
language id `heddle` and the root marker `heddle.toml`. Configurations for VS Code, Neovim, Helix,
Emacs (eglot), Sublime LSP and Zed: docs/editors.md.

It serves diagnostics (pushed, or pulled by clients that ask), hover, completion, definition,
references, rename, symbols, folding and selection ranges, semantic tokens, formatting, code
actions, inlay hints and code lenses. Each document's project is the folder of its nearest
heddle.toml; the project's plugins are imported in a separate process, never in the server.
initializationOptions: {"inlayHints": false} turns inlay hints off; {"profile": "local"} puts a resource
profile of heddle.toml in force (default: $HEDDLE_PROFILE). Logs go to stderr.""",
    )
    parser.add_argument("--version", action="version", version=f"heddle-lsp {__version__}")
    parser.add_argument("--stdio", action="store_true", help="speak LSP over stdin/stdout (the default)")
    parser.add_argument("--tcp", metavar="HOST:PORT", help="listen on a TCP socket instead of stdio")
    parser.add_argument("--log-level", default="WARNING", choices=("DEBUG", "INFO", "WARNING", "ERROR"))
    return parser


def widen_pipe(fd: int) -> None:
    """Let the pipe to the client hold a whole large message (Linux: 1 MiB, the most a process may ask for unless
    the system allows more; 64 KiB by default): a publish of a large document's diagnostics (130 KB at 50,000 lines) is
    then written at once, not in turns with the client's reads. Nothing where `fd` is no pipe, or elsewhere."""
    import fcntl
    import stat

    with contextlib.suppress(OSError, AttributeError):
        if stat.S_ISFIFO(os.fstat(fd).st_mode):
            fcntl.fcntl(fd, fcntl.F_SETPIPE_SZ, PIPE_BYTES)


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if not args.tcp:
        widen_pipe(sys.stdout.fileno())
    front = None
    if not args.tcp and os.name == "posix":
        front = Front()
        front.run()  # `initialize` and the first documents answered from the last start's answers, if they hold
    import atexit
    import logging
    from pathlib import Path

    from heddle.kept_code import CodeStore, keep_dataclass_code
    from heddle.process import forget_generated_sources, tune_gc
    from heddle_engine.plugin_boot import start_early
    from heddle_lsp.protocol_types import CONVERTER_STORE, import_types, keep_converter_code

    tune_gc()
    # A thread that wants the GIL waits for its holder's switch interval (5 ms by default): while an analysis runs,
    # reading one message (pygls reads a header line, a blank line and the body on a pool thread, each handed to the
    # event loop) and handling it cost several such waits, so a change read during a burst waited for tens of ms.
    sys.setswitchinterval(SWITCH_SECONDS)
    logging.basicConfig(level=args.log_level, format="heddle-lsp %(levelname)s %(name)s: %(message)s")
    if front is not None:
        logging.getLogger("heddle_lsp").info("answered before the server was imported: %d documents, %d requests",
                                             len(front.published), len(front.answered))
    with contextlib.suppress(OSError):  # a current folder that is gone
        start_early(Path.cwd())  # the plugins of the project it is started in import while the server does
    dataclass_code = CodeStore("dataclasses-lsp")
    keep_dataclass_code(dataclass_code)  # the code dataclasses and attrs generate: kept from the last start
    import_types()
    converter_code = CodeStore(CONVERTER_STORE)
    keep_converter_code(converter_code)  # cattrs' code for the messages' types, generated on the first of each
    atexit.register(converter_code.save)
    from heddle_lsp.features import server

    dataclass_code.save()  # now: an editor may end the server with a signal
    forget_generated_sources()

    if args.tcp:
        host, _, port = args.tcp.rpartition(":")
        server.start_tcp(host or "127.0.0.1", int(port))
    elif front is not None:
        server.protocol.front_answered.update(front.answered)
        server.protocol.front_diagnostics.update(front.published)
        server.start_io(front.replay())
    else:
        server.start_io()
    # LSP: 0 when `exit` follows `shutdown`, else 1 (also when the client went away without either).
    status = server.protocol.exit_status
    return status if status is not None else 0 if server.protocol._shutdown else 1


if __name__ == "__main__":
    raise SystemExit(main())
