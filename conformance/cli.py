"""`scifi conformance`: checks a broker against MIM1 (the NGSI-LD API) and the data in it against MIM2.

    scifi conformance --list [--only AREA,...]
    scifi conformance --broker URL [--tenant T] [--context URL] [--mim1] [--mim2] [--only AREA,...]
                      [--types T1,...] [--read-only] [--receiver-host H --receiver-port P]
                      [--html FILE] [--junit FILE] [--json FILE] [--timeout S] [--sdm-dir DIR]

Exit status: 0 when every check passed (and every entity follows its model), 1 when one did not, 2 when the
broker cannot be reached or the options are wrong.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp
import orjson

from conformance.client import BrokerClient
from conformance.mim2 import Mim2Report, check_data
from conformance.progress import AreaProgress
from conformance.receiver import Receiver
from conformance.registry import AREAS, selected
from conformance.report import Report, json_report
from conformance.runner import FAILED, NOT_OFFERED, PASSED, Result, run_checks, sweep
from conformance.trial import CONTEXT_NAME, VOCAB, Session

__all__ = ["add_conformance_parser", "conformance_command"]

OWN_TERMS = {"cfSpeed": VOCAB + "speed", "cfName": VOCAB + "name"}


class UsageError(Exception):
    pass


def add_conformance_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Adds the `conformance` command to the commands of `scifi`."""
    parser = subparsers.add_parser(
        "conformance", help="check a broker against MIM1 (NGSI-LD API) and its data against MIM2",
        description="Checks any NGSI-LD broker over HTTP: the API against ETSI GS CIM 009 v1.8.1 (OASC MIM1), and "
                    "its entities against their Smart Data Models (MIM2). Exit status: 0 all passed, 1 something "
                    "failed, 2 broker unreachable or wrong options.")
    parser.add_argument("--broker", metavar="URL", help="the broker, e.g. http://127.0.0.1:1026")
    parser.add_argument("--list", action="store_true", help="list the MIM1 checks (id, clause, statement) and exit")
    parser.add_argument("--tenant", help="the tenant to check (NGSILD-Tenant); default: the default tenant")
    parser.add_argument("--context", metavar="URL", help="an @context the broker can fetch, for the @context checks "
                        "(default: one the checker serves from its receiver)")
    parser.add_argument("--mim1", action="store_true", help="check the API (default: both MIM1 and MIM2)")
    parser.add_argument("--mim2", action="store_true", help="check the data (default: both MIM1 and MIM2)")
    parser.add_argument("--only", metavar="AREA,...", help=f"MIM1 areas to check: {', '.join(AREAS)}")
    parser.add_argument("--types", metavar="T1,...", help="MIM2: the entity types to check (default: every type)")
    parser.add_argument("--read-only", action="store_true", help="run only the checks that write nothing")
    parser.add_argument("--receiver-host", default="127.0.0.1", metavar="H",
                        help="the host name or address by which the broker reaches this machine (default 127.0.0.1)")
    parser.add_argument("--receiver-port", type=int, default=0, metavar="P",
                        help="the port of the checker's notification receiver (default: any free port)")
    parser.add_argument("--html", type=Path, metavar="FILE", help="write the report as a web page")
    parser.add_argument("--junit", type=Path, metavar="FILE", help="write a JUnit XML report")
    parser.add_argument("--json", type=Path, metavar="FILE", help="write a JSON report with all evidence")
    parser.add_argument("--timeout", type=float, default=10.0, metavar="S",
                        help="seconds to wait for an answer or a notification (default 10)")
    parser.add_argument("--sdm-dir", type=Path, metavar="DIR",
                        help="MIM2: local tree of the Smart Data Models (SCIFI_SDM_DIR; default: the broker cache "
                             "<SCIFI_DATA_DIR>/sdm)")


def conformance_command(args: argparse.Namespace) -> int:
    """Runs `scifi conformance`; returns the exit status."""
    if args.list:
        return _list_checks(args)
    try:
        options = _checked(args)
        report = asyncio.run(_run(args, *options))
    except UsageError as exc:
        print(f"scifi conformance: {exc}", file=sys.stderr)
        return 2
    _write_reports(args, report)
    _summary(report, sys.stdout)
    return 0 if report.passed else 1


def _list_checks(args: argparse.Namespace) -> int:
    areas = [area.strip() for area in args.only.split(",")] if args.only else None
    for check in selected(areas, args.read_only):
        print(f"{check.id}\t{check.clause}\t{check.statement}{'' if check.writes else ' (read-only)'}")
    return 0


def _checked(args: argparse.Namespace) -> tuple[list[str] | None, Path | None]:
    """The MIM1 areas chosen and the model tree for MIM2; UsageError when an option cannot work."""
    if not args.broker:
        raise UsageError("--broker URL is required (the broker to check, e.g. http://127.0.0.1:1026)")
    parts = urlsplit(args.broker)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise UsageError(f"--broker {args.broker}: give the broker's URL, e.g. http://127.0.0.1:1026")
    if args.timeout <= 0:
        raise UsageError("--timeout must be a positive number of seconds")
    areas = [area.strip() for area in args.only.split(",") if area.strip()] if args.only else None
    unknown = [area for area in areas or [] if area not in AREAS]
    if unknown:
        raise UsageError(f"--only {','.join(unknown)}: unknown area; allowed: {', '.join(AREAS)}")
    both = not args.mim1 and not args.mim2
    args.mim1, args.mim2 = args.mim1 or both, args.mim2 or both
    tree = None
    if args.mim2:
        env = os.environ.get("SCIFI_SDM_DIR")
        tree = args.sdm_dir or (Path(env) if env else Path(os.environ.get("SCIFI_DATA_DIR", "data")) / "sdm")
        if not any(tree.glob("dataModel.*/*/schema.json")):
            if not both:
                raise UsageError(f"--mim2: no Smart Data Models in {tree}; give --sdm-dir DIR (a tree laid out like "
                                 "the published models) or fetch them with `scifi sdm pull`")
            tree = None
    return areas, tree


async def _run(args: argparse.Namespace, areas: list[str] | None, tree: Path | None) -> Report:
    started, clock = datetime.now(UTC).isoformat(timespec="seconds"), time.monotonic()
    async with BrokerClient(args.broker, args.tenant, args.timeout) as client:
        why = await client.reachable()
        if why is not None:
            raise UsageError(f"the broker {args.broker} cannot be reached: {why}")
        results: list[Result] = []
        prefix = None
        if args.mim1:
            results, prefix = await _mim1(args, client, areas)
        mim2 = None
        if args.mim2 and tree is not None:
            mim2 = await _mim2(args, client, tree)
        elif args.mim2:
            print("MIM2 skipped: no Smart Data Models tree (give --sdm-dir)", file=sys.stderr)
    return Report(args.broker, args.tenant, started, time.monotonic() - clock, results, mim2, args.read_only, prefix)


async def _mim1(args: argparse.Namespace, client: BrokerClient, areas: list[str] | None) -> tuple[list[Result], str]:
    """The results of the MIM1 checks, and the prefix of the ids and names of the data they made."""
    checks = selected(areas, args.read_only)
    try:
        receiver = await Receiver(args.receiver_host, args.receiver_port).start()
    except OSError as exc:
        raise UsageError(f"the receiver cannot listen on {args.receiver_host}:{args.receiver_port}: {exc}") from exc
    try:
        receiver.contexts[CONTEXT_NAME] = {"@context": OWN_TERMS}
        context_url, terms = receiver.context_url(CONTEXT_NAME), OWN_TERMS
        if args.context:
            context_url, terms = args.context, await _terms_of(args.context, args.timeout)
        session = Session(client, receiver, context_url, terms, notify_timeout=min(args.timeout, 5.0))
        progress = AreaProgress(sys.stderr, checks)
        progress.message(f"MIM1: {len(checks)} checks against {args.broker} (receiver {receiver.url('')})")
        try:
            return await run_checks(checks, session, args.timeout * 3, progress), session.prefix
        finally:
            await sweep(session)
    finally:
        await receiver.aclose()


async def _terms_of(url: str, timeout: float) -> dict[str, str]:
    """The terms of the @context at `url` that map to absolute IRIs (the first two are used)."""
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=timeout)) as http:
            async with http.get(url, headers={"Accept": "application/ld+json"}) as response:
                document = orjson.loads(await response.read())
    except (aiohttp.ClientError, TimeoutError, orjson.JSONDecodeError) as exc:
        raise UsageError(f"--context {url}: cannot be read as JSON ({exc})") from exc
    contexts = document.get("@context") if isinstance(document, dict) else None
    terms: dict[str, str] = {}
    for context in contexts if isinstance(contexts, list) else [contexts]:
        for term, value in (context.items() if isinstance(context, dict) else []):
            iri = value.get("@id") if isinstance(value, dict) else value
            if not term.startswith("@") and isinstance(iri, str) and iri.startswith(("http://", "https://")):
                terms.setdefault(term, iri)
    if not terms:
        raise UsageError(f"--context {url}: defines no term as an absolute IRI")
    return dict(list(terms.items())[:2])


async def _mim2(args: argparse.Namespace, client: BrokerClient, tree: Path) -> Mim2Report:
    from smart_data_models.cli import Catalogue

    types = [name.strip() for name in args.types.split(",") if name.strip()] if args.types else None
    live = sys.stderr.isatty()

    def progress(entity_type: str, checked: int) -> None:
        if live:
            sys.stderr.write(f"\x1b[2KMIM2: {entity_type}: {checked} checked\r")
            sys.stderr.flush()
    report = await check_data(client, Catalogue(tree), types, progress)
    if live:
        sys.stderr.write("\x1b[2K")
    for entry in report.types:
        where = entry.model or "not a Smart Data Model"
        print(f"MIM2 {entry.type} ({where}): {entry.compliant}/{entry.checked} compliant" if entry.model
              else f"MIM2 {entry.type}: {entry.checked} {'entity' if entry.checked == 1 else 'entities'}, {where}",
              file=sys.stderr)
    return report


def _write_reports(args: argparse.Namespace, report: Report) -> None:
    from conformance.html import html_report
    from conformance.junit import junit_report

    writers: list[tuple[Path | None, Any]] = [(args.json, json_report), (args.junit, junit_report),
                                              (args.html, html_report)]
    for path, render in writers:
        if path is not None:
            path.write_bytes(render(report))


def _summary(report: Report, out: Any) -> None:
    for result in report.results:
        if result.outcome == FAILED:
            out.write(f"FAILED {result.check.id} ({result.check.clause}): {result.requirement}"
                      f"{' - ' + result.observed if result.observed else ''}\n")
    if report.results:
        out.write(f"MIM1: {report.count(PASSED)} passed, {report.count(FAILED)} failed, "
                  f"{report.count(NOT_OFFERED)} not offered of {len(report.results)} checks\n")
    if report.mim2 is not None:
        data = report.mim2.as_json()
        out.write(f"MIM2: {data['compliant']} of {data['checked']} entities follow their Smart Data Model"
                  f"{'; ' + report.mim2.error if report.mim2.error else ''}\n")
    out.write(f"{'passed' if report.passed else 'failed'} in {report.seconds:.1f} s\n")
