"""The `scifi` command line."""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import replace
from pathlib import Path

from broker import __version__
from broker.settings import Settings

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scifi", description="SCIFI: an NGSI-LD context broker")
    parser.add_argument("--version", action="version", version=f"scifi {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the broker")
    serve.add_argument("--host", help="address to listen on (SCIFI_HOST, default 0.0.0.0)")
    serve.add_argument("--port", type=int, help="port to listen on (SCIFI_PORT, default 1026)")
    serve.add_argument("--workers", type=int, help="worker processes (SCIFI_WORKERS, default 1)")
    serve.add_argument("--data-dir", type=Path, help="where the embedded store keeps its files (SCIFI_DATA_DIR)")
    serve.add_argument("--store", help="store URL, e.g. sqlite://./data (SCIFI_STORE)")
    serve.add_argument("--log-level", help="debug, info, warning, error (SCIFI_LOG_LEVEL)")
    args = parser.parse_args(argv)
    if args.command == "serve":
        return _serve(args)
    return 2  # pragma: no cover


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    try:
        settings = Settings.from_env()
    except ValueError as exc:
        print(f"scifi: {exc}", file=sys.stderr)
        return 2
    flags = {
        name: value for name, value in vars(args).items()
        if name in Settings.__dataclass_fields__ and value is not None
    }
    settings = replace(settings, **flags)
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    os.environ.update(settings.as_env())
    uvicorn.run(
        "broker.app:create_app", factory=True, host=settings.host, port=settings.port, workers=settings.workers,
        loop="uvloop", http="httptools", log_level=settings.log_level, access_log=False,
        timeout_graceful_shutdown=10,
    )
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
