"""The `scifi` command line."""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import replace
from pathlib import Path

from broker import __version__
from broker.settings import Settings
from smart_data_models.cli import add_validate_parser, validate_command

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
    add_validate_parser(commands)
    sdm = commands.add_parser("sdm", help="Smart Data Models").add_subparsers(dest="sdm_command", required=True)
    pull = sdm.add_parser("pull", help="fetch models (schema, $refs, subject context) into the broker's cache")
    pull.add_argument("models", nargs="+", metavar="MODEL",
                      help="a model (dataModel.Parking/OffStreetParking) or a whole subject (dataModel.Parking)")
    pull.add_argument("--data-dir", type=Path, help="the broker's data directory (SCIFI_DATA_DIR)")
    args = parser.parse_args(argv)
    if args.command == "serve":
        return _serve(args)
    if args.command == "validate":
        return validate_command(args)
    if args.command == "sdm":
        return _pull(args)
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


def _pull(args: argparse.Namespace) -> int:
    """Fills <data-dir>/sdm with the models, so that a broker without Internet access can validate with them."""
    import asyncio

    from smart_data_models.models import compile_model
    from smart_data_models.source import SchemaSource, SchemaUnavailable, context_url, schema_url, subject_models

    settings = Settings.from_env()
    data_dir = args.data_dir or settings.data_dir
    source = SchemaSource(None, data_dir / "sdm", settings.sdm_timeout, settings.sdm_url)
    for name in args.models:
        try:
            asyncio.run(source.fetch(context_url(name)))
            subject = "/" not in name
            models = subject_models(name, source.document(context_url(name))) if subject else [name]
            for model in models:
                try:
                    asyncio.run(source.fetch(schema_url(model)))
                    compile_model(source, model)
                except SchemaUnavailable as exc:
                    if not subject:
                        raise
                    print(f"{model}: skipped, its subject's context names it but {exc}")
                    continue
                print(f"{model}: in {data_dir / 'sdm'}")
        except SchemaUnavailable as exc:
            print(f"scifi sdm pull: {name}: {exc}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
