"""`scifi replicate` and `scifi pilot export|import|diff`: clone a pilot from one city's broker (or tenant) to
another's, directly or through a pilot package.

    scifi replicate --from URL [--from-tenant T] --to URL [--to-tenant T] --types T1,T2 [--context URL]
                    [--q Q] [--rewrite RULE]... [--subscriptions] [--batch-size N] [--dry-run | --check]
                    [--state FILE]
                    [--validate --sdm-dir DIR [--on-invalid stop|skip]] [--json]
    scifi pilot export --broker URL [--tenant T] --types T1,T2 [--context URL] [--q Q] [--subscriptions] -o ZIP
    scifi pilot import ZIP --broker URL [--tenant T] [--rewrite RULE]... [--dry-run] ...
    scifi pilot diff (--from URL [--from-tenant T] | --package ZIP) --to URL [--to-tenant T] [--types ...]
                     [--rewrite RULE]...

Exit status: 0 done (diff: no difference), 1 some entities failed (diff: differences), or a broker could not
be reached or refused a read (run again to resume), 2 a usage error (options, rules, package), 130 interrupted.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import orjson

from replication.client import Broker
from replication.copy import EntityValidator, Job, run_copy
from replication.diff import diff_json, diff_pilot, write_diff
from replication.errors import BrokerError, ReplicationError, UsageError
from replication.export import export_pilot
from replication.package import Package
from replication.report import Report, summary_json
from replication.rules import Rules, parse_rules
from replication.sources import BrokerSource, PackageSource, Source
from replication.state import State, job_key

__all__ = ["add_pilot_parser", "add_replicate_parser", "pilot_command", "replicate_command"]

DEFAULT_BATCH = 500
RULES_HELP = ("a rewrite rule (repeatable; @FILE reads one per line): CITY=CITY (the city token of "
              "urn:ngsi-ld:<Type>:<city>:<local> ids, e.g. mechelen=delft), id:REGEX=>REPLACEMENT, drop:ATTR, "
              "set:ATTR[.member]=VALUE (e.g. set:address.addressLocality=Delft), shift:ATTR=DLON,DLAT, "
              "endpoint:OLD=>NEW (subscription endpoints)")


def add_replicate_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Adds `replicate` to the commands of `scifi`."""
    parser = subparsers.add_parser(
        "replicate", help="clone a pilot from one broker or tenant to another",
        description="Copies the entities of some types (and the subscriptions that watch them) from one broker "
                    "or tenant to another, rewriting ids and attributes by rule, in batch upserts. Running it "
                    "again changes nothing; an interrupted run goes on where it stopped.")
    parser.add_argument("--from", dest="source", required=True, metavar="URL", help="the source broker")
    parser.add_argument("--from-tenant", metavar="T", help="the source tenant (default: the default tenant)")
    parser.add_argument("--to", dest="target", required=True, metavar="URL", help="the target broker")
    parser.add_argument("--to-tenant", metavar="T", help="the target tenant (default: the default tenant)")
    _selection(parser, types_required=True)
    _writing(parser)


def add_pilot_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Adds `pilot export|import|diff` to the commands of `scifi`."""
    pilot = subparsers.add_parser("pilot", help="pilot packages: export, import, diff").add_subparsers(
        dest="pilot_command", required=True)
    export = pilot.add_parser("export", help="write a pilot package (zip) of a broker's entities",
                              description="Writes the entities of some types, the subscriptions that watch them "
                                          "and the @context documents into a pilot package.")
    export.add_argument("--broker", required=True, metavar="URL")
    export.add_argument("--tenant", metavar="T")
    _selection(export, types_required=True)
    export.add_argument("--subscriptions", action="store_true", help="also the subscriptions that watch the types")
    export.add_argument("-o", "--output", type=Path, required=True, metavar="ZIP", help="the package to write")
    export.add_argument("--batch-size", type=_positive, default=DEFAULT_BATCH, metavar="N",
                        help=f"entities per page read (default {DEFAULT_BATCH})")
    _timeout(export)
    imported = pilot.add_parser("import", help="write a pilot package's entities into a broker",
                                description="Writes a pilot package into a broker, rewriting by rule, as "
                                            "replicate does.")
    imported.add_argument("package", type=Path, metavar="ZIP")
    imported.add_argument("--broker", required=True, metavar="URL")
    imported.add_argument("--tenant", metavar="T")
    imported.add_argument("--types", type=_names, metavar="T1,T2", help="only these types of the package")
    imported.add_argument("--context", metavar="URL", help="the @context to write with (default: the package's)")
    _writing(imported)
    diff = pilot.add_parser("diff", help="compare a pilot in two places after a copy",
                            description="Compares the source (a broker, or a package), rewritten by the rules, "
                                        "with the target: counts per type, ids missing on either side, attributes "
                                        "that differ. Exit status 0 when they agree, 1 when they differ.")
    origin = diff.add_mutually_exclusive_group(required=True)
    origin.add_argument("--from", dest="source", metavar="URL", help="the source broker")
    origin.add_argument("--package", type=Path, metavar="ZIP", help="a pilot package as the source")
    diff.add_argument("--from-tenant", metavar="T")
    diff.add_argument("--to", dest="target", required=True, metavar="URL")
    diff.add_argument("--to-tenant", metavar="T")
    _selection(diff, types_required=False)
    diff.add_argument("--rewrite", action="append", default=[], metavar="RULE", help=RULES_HELP)
    diff.add_argument("--batch-size", type=_positive, default=DEFAULT_BATCH, metavar="N")
    diff.add_argument("--json", action="store_true", dest="as_json", help="write one JSON report on stdout")
    _timeout(diff)


def _selection(parser: argparse.ArgumentParser, *, types_required: bool) -> None:
    parser.add_argument("--types", type=_names, required=types_required, metavar="T1,T2",
                        help="the entity types of the pilot, comma-separated")
    parser.add_argument("--context", metavar="URL",
                        help="the @context of the pilot's names (a Link header; default: the core context)")
    parser.add_argument("--q", metavar="Q", help="only the entities that match this NGSI-LD query")


def _writing(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--rewrite", action="append", default=[], metavar="RULE", help=RULES_HELP)
    parser.add_argument("--subscriptions", action="store_true", help="also copy the subscriptions that watch "
                                                                     "the types")
    parser.add_argument("--batch-size", type=_positive, default=DEFAULT_BATCH, metavar="N",
                        help=f"entities per page read and per batch upsert (default {DEFAULT_BATCH})")
    parser.add_argument("--dry-run", action="store_true", help="print the plan and write nothing")
    parser.add_argument("--check", action="store_true",
                        help="after the copy, compare both sides as `scifi pilot diff` does (exit status 1 when "
                             "they differ)")
    parser.add_argument("--state", type=Path, metavar="FILE",
                        help="the state file to resume from (default: .scifi-<job>.json in this folder)")
    parser.add_argument("--validate", action="store_true",
                        help="check each entity against its Smart Data Model before it is written")
    parser.add_argument("--sdm-dir", type=Path, metavar="DIR",
                        help="local tree of the Smart Data Models for --validate (SCIFI_SDM_DIR)")
    parser.add_argument("--on-invalid", choices=("stop", "skip"), default="stop",
                        help="what an entity that breaks its model does: stop the copy (default) or is left out")
    parser.add_argument("--json", action="store_true", dest="as_json", help="write the summary as JSON on stdout")
    _timeout(parser)


def _timeout(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--timeout", type=float, default=60.0, metavar="SECONDS",
                        help="longest wait for one answer of a broker (default 60)")


def _names(text: str) -> list[str]:
    names = [name.strip() for name in text.split(",") if name.strip()]
    if not names:
        raise argparse.ArgumentTypeError("give one name or more, comma-separated")
    return names


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number of 1 or more")
    return value


# Commands


def replicate_command(args: argparse.Namespace) -> int:
    """Runs `scifi replicate`; returns the exit status."""
    async def replicate() -> int:
        rules = parse_rules(args.rewrite)
        key = job_key("replicate", args.source, args.from_tenant, args.target, args.to_tenant, args.types,
                      args.q, args.context, rules.text, args.subscriptions)
        async with Broker(args.source, args.from_tenant, args.context, timeout=args.timeout) as source, \
                Broker(args.target, args.to_tenant, args.context, timeout=args.timeout) as target:
            return await _copy(args, BrokerSource(source, args.types, args.q), target, args.types, rules, key)
    return _run("replicate", replicate)


def pilot_command(args: argparse.Namespace) -> int:
    """Runs `scifi pilot export|import|diff`; returns the exit status."""
    commands: dict[str, Callable[[argparse.Namespace], Awaitable[int]]] = {
        "export": _export, "import": _import, "diff": _diff}
    return _run(f"pilot {args.pilot_command}", lambda: commands[args.pilot_command](args))


async def _export(args: argparse.Namespace) -> int:
    report = Report(sys.stdout, sys.stderr, exporting=True)
    async with Broker(args.broker, args.tenant, args.context, timeout=args.timeout) as broker:
        manifest = await export_pilot(BrokerSource(broker, args.types, args.q), args.output, report,
                                      page_size=args.batch_size, subscriptions=args.subscriptions)
    subscriptions = sum(1 for name in manifest["files"] if name == "subscriptions.ndjson")
    print(f"{args.output}: {sum(manifest['counts'].values())} entities of {len(manifest['counts'])} types"
          + (", the subscriptions" if subscriptions else "")
          + f", {len(manifest['contexts'])} @context document(s)")
    return 0


async def _import(args: argparse.Namespace) -> int:
    package = Package(args.package)
    try:
        package.verify()
        types = args.types or package.types
        unknown = [name for name in types if name not in package.types]
        if unknown:
            raise UsageError(f"{args.package} holds no entities of type {', '.join(unknown)} (it holds "
                             f"{', '.join(package.types)})")
        rules = parse_rules(args.rewrite)
        context = args.context or package.context
        key = job_key("import", package.manifest["files"], args.broker, args.tenant, types, context, rules.text,
                      args.subscriptions)
        async with Broker(args.broker, args.tenant, context, timeout=args.timeout) as target:
            return await _copy(args, PackageSource(package, types), target, types, rules, key)
    finally:
        package.close()


async def _diff(args: argparse.Namespace) -> int:
    rules = parse_rules(args.rewrite)
    package = Package(args.package) if args.package else None
    try:
        context = args.context or (package.context if package else None)
        types = args.types or (package.types if package else None)
        if not types:
            raise UsageError("give --types (or --package, whose types are compared)")
        async with Broker(args.target, args.to_tenant, context, timeout=args.timeout) as target:
            if package is not None:
                result = await diff_pilot(PackageSource(package, types), target, types, rules, args.batch_size)
            else:
                async with Broker(args.source, args.from_tenant, context, timeout=args.timeout) as broker:
                    result = await diff_pilot(BrokerSource(broker, types, args.q), target, types, rules,
                                              args.batch_size)
    finally:
        if package is not None:
            package.close()
    if args.as_json:
        sys.stdout.buffer.write(orjson.dumps(diff_json(result), option=orjson.OPT_INDENT_2) + b"\n")
        sys.stdout.flush()
    else:
        write_diff(result, sys.stdout)
    return 0 if all(found.same for found in result.values()) else 1


async def _copy(args: argparse.Namespace, source: Source, target: Broker, types: list[str], rules: Rules,
                key: str) -> int:
    state_path = None if args.dry_run else (args.state or Path(f".scifi-{key}.json"))
    state = State.load(state_path, key)
    if state.resumed:
        print(f"resuming the copy recorded in {state.path} (remove it to start afresh)", file=sys.stderr)
    out = sys.stderr if args.as_json else sys.stdout
    report = Report(out, sys.stderr, dry_run=args.dry_run)
    job = Job(source, target, types, rules, state, report, batch_size=args.batch_size, dry_run=args.dry_run,
              subscriptions=args.subscriptions, validator=_validator(args))
    try:
        tally = await run_copy(job)
    except BrokerError as exc:
        if state.path is not None and state.path.exists():
            raise BrokerError(f"{exc}; what was copied is kept: run the same command again to resume") from exc
        raise
    report.summary(tally, subscriptions=args.subscriptions)
    if args.as_json:
        sys.stdout.buffer.write(orjson.dumps(summary_json(tally, report), option=orjson.OPT_INDENT_2) + b"\n")
        sys.stdout.flush()
    state.remove()
    status = 1 if tally.failed else 0
    if args.check and not args.dry_run:
        result = await diff_pilot(source, target, types, rules, args.batch_size)
        write_diff(result, out)
        status = status or (0 if all(found.same for found in result.values()) else 1)
    return status


def _validator(args: argparse.Namespace) -> EntityValidator | None:
    if not args.validate:
        return None
    tree = args.sdm_dir or (Path(os.environ["SCIFI_SDM_DIR"]) if os.environ.get("SCIFI_SDM_DIR") else None)
    if tree is None:
        raise UsageError("--validate needs --sdm-dir DIR (or SCIFI_SDM_DIR): a local tree of the Smart Data Models")
    return EntityValidator(tree, stop=args.on_invalid == "stop")


def _run(name: str, command: Callable[[], Awaitable[Any]]) -> int:
    """Runs a command to its exit status; an error is one line on stderr, never a traceback."""
    async def main() -> int:
        return int(await command())
    try:
        return asyncio.run(main())
    except KeyboardInterrupt:
        again = "" if name == "pilot export" else "; run the same command again to resume"
        print(f"scifi {name}: interrupted{again}", file=sys.stderr)
        return 130
    except UsageError as exc:
        print(f"scifi {name}: {exc}", file=sys.stderr)
        return 2
    except ReplicationError as exc:
        print(f"scifi {name}: {exc}", file=sys.stderr)
        return 2 if not isinstance(exc, BrokerError) else 1
