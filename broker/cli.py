"""The `scifi` command line."""

from __future__ import annotations

import argparse
import os
import sys
from dataclasses import fields, replace
from pathlib import Path

from broker import __version__
from broker.deadletters import add_deadletters_parser, deadletters_command
from broker.settings import SettingError, Settings, converted, default_text, flag, variable
from conformance.cli import add_conformance_parser, conformance_command
from replication.cli import add_pilot_parser, add_replicate_parser, pilot_command, replicate_command
from smart_data_models.cli import add_validate_parser, validate_command

__all__ = ["main"]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="scifi", description="SCIFI: an NGSI-LD context broker")
    parser.add_argument("--version", action="version", version=f"scifi {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the broker", description="Runs the broker. Each setting is a "
                                "flag and an SCIFI_* environment variable; a flag wins.")
    for setting in fields(Settings):
        serve.add_argument(flag(setting.name), dest=setting.name, metavar=setting.name.split("_")[-1].upper(),
                           help=f"{setting.metadata['meaning']} ({variable(setting.name)}, default: "
                                f"{default_text(setting)})".replace("%", "%%"))
    add_validate_parser(commands)
    add_conformance_parser(commands)
    add_replicate_parser(commands)
    add_pilot_parser(commands)
    add_deadletters_parser(commands)
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
    if args.command == "conformance":
        return conformance_command(args)
    if args.command == "replicate":
        return replicate_command(args)
    if args.command == "pilot":
        return pilot_command(args)
    if args.command == "deadletters":
        return deadletters_command(args)
    if args.command == "sdm":
        return _pull(args)
    return 2  # pragma: no cover


def _serve(args: argparse.Namespace) -> int:
    import uvicorn

    given = {name: value for name, value in vars(args).items()
             if name in Settings.__dataclass_fields__ and value is not None}
    try:
        settings = _checked_settings(given)
    except SettingError as exc:
        label = f"{flag(exc.name)} {exc.value}" if exc.name in given else f"{variable(exc.name)}={exc.value}"
        print(f"scifi serve: {label}: {exc.allowed}", file=sys.stderr)
        return 2
    except RuntimeError as exc:
        print(f"scifi serve: {exc}", file=sys.stderr)
        return 2
    unreachable = _unreachable_store(settings.store_url)
    if unreachable:
        print(f"scifi serve: {unreachable}", file=sys.stderr)
        return 1
    os.environ.update(settings.as_env())
    uvicorn.run(
        "broker.app:create_app", factory=True, host=settings.host, port=settings.port, workers=settings.workers,
        loop="uvloop", http="httptools", log_level=settings.log_level, access_log=False, server_header=False,
        timeout_graceful_shutdown=10, timeout_worker_healthcheck=_WORKER_HEALTHCHECK_SECONDS,
    )
    return 0


_WORKER_HEALTHCHECK_SECONDS = 30
"""How long a worker may take to answer its supervisor before it is replaced. Uvicorn's 5 s were shorter than
a worker's start (its imports) on a busy 2-core host: the supervisor killed the workers over and over."""


def _checked_settings(given: dict[str, str]) -> Settings:
    """The settings of the environment and the flags, once everything the broker needs to start is there:
    SettingError names a setting whose value cannot work, RuntimeError a Smart Data Models configuration."""
    import asyncio

    from broker.auth import open_authenticator
    from broker.store import BACKENDS
    from broker.validation import open_source, open_validator

    settings = replace(Settings.from_env(), **{name: converted(name, raw) for name, raw in given.items()})
    settings.check()
    scheme = settings.store_url.partition("://")[0]
    if scheme not in BACKENDS:
        raise SettingError("store", settings.store, f"allowed: sqlite://<directory>, {_MONGODB_URL}")
    if scheme.startswith("mongodb"):
        _check_mongodb_url(settings)
    try:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SettingError("data_dir", settings.data_dir, f"cannot be created ({exc.strerror}); give a folder the "
                                                          "broker may write to") from exc
    if not os.access(settings.data_dir, os.W_OK | os.X_OK):
        raise SettingError("data_dir", settings.data_dir, "the broker may not write there; give a folder it may "
                                                          "write to")
    if settings.sdm_config and not Path(settings.sdm_config).is_file():
        raise SettingError("sdm_config", settings.sdm_config, "no such file; give the TOML file of Smart Data Models "
                                                              "validation")
    if settings.sdm_dir and not Path(settings.sdm_dir).is_dir():
        raise SettingError("sdm_dir", settings.sdm_dir, "no such folder; give a tree of the Smart Data Models, "
                                                        "laid out like their published URLs")
    open_authenticator(settings)
    source, validation = open_source(settings)
    asyncio.run(open_validator(source, validation))
    return settings


_MONGODB_URL = "mongodb://<host>[:<port>][/<database>][?<options>]"


def _check_mongodb_url(settings: Settings) -> None:
    from importlib.util import find_spec

    if find_spec("pymongo") is None:
        raise SettingError("store", settings.store, "the MongoDB store needs its driver: pip install "
                                                    "'scifi-broker[mongodb]'")
    from pymongo.errors import ConfigurationError
    from pymongo.uri_parser import parse_uri

    try:
        parse_uri(settings.store_url)
    except (ConfigurationError, ValueError) as exc:
        raise SettingError("store", settings.store, f"not a MongoDB URL ({exc}); allowed: {_MONGODB_URL}") from exc


def _unreachable_store(url: str) -> str | None:
    """Why the database server of the store cannot be used, once the store has waited for it a few seconds
    (None when it can, and for the embedded store)."""
    import asyncio

    from broker.store import StoreUnavailable, open_store

    if url.startswith("sqlite://"):
        return None

    async def try_store() -> None:
        store = open_store(url)
        try:
            await store.open()
        finally:
            await store.aclose()
    try:
        asyncio.run(try_store())
    except StoreUnavailable as exc:
        return exc.detail
    return None


def _pull(args: argparse.Namespace) -> int:
    """Fills <data-dir>/sdm with the models, so that a broker without Internet access can validate with them."""
    import asyncio

    from smart_data_models.models import compile_model
    from smart_data_models.source import SchemaSource, SchemaUnavailable, context_url, schema_url, subject_models

    try:
        settings = Settings.from_env()
    except SettingError as exc:
        print(f"scifi sdm pull: {exc}", file=sys.stderr)
        return 2
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
