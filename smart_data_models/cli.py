"""`scifi validate`: checks entity files against their Smart Data Models, from a local tree of the models.

    scifi validate PATH... [--model Subject/Model] [--format auto|normalized|concise|keyValues|v2] [--json]
                           [--sdm-dir DIR]

A file holds a JSON array of entities, one entity, or NDJSON (one entity per line); a folder stands for every
*.json, *.jsonld, *.ndjson and *.jsonl file under it. Files are read as streams, never whole. The form of a
file's entities (NGSI-LD, NGSIv2 normalized, key-values) is judged from all of them, unless `--format` says it;
the output says which form was assumed. Each entity is reduced to key-values (see `reduce`), once per instance
of its multi-instance attributes, and checked against the model `--model` names, else the model its type (a
short name or the model's IRI) names in the tree. Exit status: 0 when every entity is valid, 1 when one is not
(or a file cannot be read as entities), 2 for a usage or set-up error (a tree that lacks or breaks a schema).
"""

from __future__ import annotations

import argparse
import asyncio
import codecs
import json
import os
import re
import sys
import time
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, BinaryIO, TextIO

import orjson

from smart_data_models.models import Model, Violation, compile_model, in_instances
from smart_data_models.reduce import FORMAT_NAMES, FORMATS, FormatEvidence, detect_format, instance_variants, reduced
from smart_data_models.source import PUBLISHED, SchemaSource, SchemaUnavailable, context_url, schema_url

__all__ = ["add_validate_parser", "validate_command"]

TREE_VARIABLE = "SCIFI_SDM_DIR"
ENTITY_FILE_SUFFIXES = frozenset({".json", ".jsonld", ".ndjson", ".jsonl"})
NDJSON_SUFFIXES = frozenset({".ndjson", ".jsonl"})
PROGRESS_ABOVE_BYTES = 1_000_000
"""A progress bar is drawn (on a terminal) when the files hold more bytes than this."""
_TYPE_SEGMENTS = re.compile(r"[/#:]")


def add_validate_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Adds the `validate` command to the commands of `scifi`."""
    parser = subparsers.add_parser(
        "validate", help="check entity files against their Smart Data Models",
        description="Check entities (JSON array, single entity or NDJSON files; folders recursively) against "
                    "their Smart Data Models. Exit status: 0 all valid, 1 something invalid, 2 usage or set-up "
                    "error.")
    parser.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="entity file, or folder of them")
    parser.add_argument("--model", metavar="Subject/Model",
                        help="validate every entity against this model, e.g. dataModel.Parking/OffStreetParking "
                             "(default: the model named by each entity's type)")
    parser.add_argument("--format", choices=("auto", *FORMATS), default="auto",
                        help="form of the entities (default: judged for each file from all its entities)")
    parser.add_argument("--json", action="store_true", dest="as_json", help="write one JSON report on stdout")
    parser.add_argument("--sdm-dir", type=Path, metavar="DIR",
                        help=f"local tree of the Smart Data Models ({TREE_VARIABLE})")


def validate_command(args: argparse.Namespace) -> int:
    """Runs `scifi validate`; returns the exit status."""
    tree = args.sdm_dir or (Path(os.environ[TREE_VARIABLE]) if os.environ.get(TREE_VARIABLE) else None)
    if tree is None:
        try:
            tree = _cached_tree(args.model)
        except SchemaUnavailable as exc:
            return _usage_error(f"model {args.model}: {exc}")
    problem = _usage_problem(tree, args.paths, args.model)
    if problem:
        return _usage_error(problem)
    catalogue = Catalogue(tree)
    if args.model:
        try:
            catalogue.force(args.model)
        except (SchemaUnavailable, ValueError) as exc:
            return _usage_error(f"model {args.model}: {one_line(exc)}")
    files = entity_files(args.paths)
    progress = Progress(sys.stderr, sum(_size(file) for file in files) * (2 if args.format == "auto" else 1))
    formats: dict[str, str] = {}
    results: list[Result] = []
    try:
        for file in files:
            form = args.format if args.format != "auto" else file_format(file, progress)
            formats[str(file)] = form
            results.extend(check(item, catalogue, form) for item in read_items(file, progress))
    except BrokenTree as exc:
        progress.close()
        return _usage_error(f"the Smart Data Models tree {tree} is broken or incomplete: {exc}")
    progress.close()
    detected = formats if args.format == "auto" else {}
    if args.as_json:
        report = {**json_report(results), "formats": formats}
        sys.stdout.buffer.write(orjson.dumps(report, option=orjson.OPT_INDENT_2) + b"\n")
    else:
        write_formats(detected, sys.stdout)
        write_table(results, sys.stdout)
    return 0 if all(result.valid for result in results) else 1


def _cached_tree(model: str | None) -> Path:
    """Without a local tree: the broker's cache of the published models (<SCIFI_DATA_DIR>/sdm, laid out like a
    tree), after fetching the `--model` into it from SCIFI_SDM_URL (the published site by default)."""
    cache = Path(os.environ.get("SCIFI_DATA_DIR", "data")) / "sdm"
    if model is not None:
        timeout = os.environ.get("SCIFI_SDM_TIMEOUT", "10")
        try:
            seconds = float(timeout)
        except ValueError:
            raise SchemaUnavailable(f"SCIFI_SDM_TIMEOUT={timeout}: must be a number of seconds") from None
        source = SchemaSource(None, cache, seconds, os.environ.get("SCIFI_SDM_URL", PUBLISHED))
        asyncio.run(source.fetch(schema_url(model)))
        asyncio.run(source.fetch(context_url(model)))
    return cache


def _usage_problem(tree: Path, paths: list[Path], model: str | None) -> str | None:
    if not tree.is_dir():
        return (f"the Smart Data Models tree {tree} is not a directory: give --sdm-dir DIR, set {TREE_VARIABLE}, "
                "or --model to fetch one from the published models")
    if model is None and not any(tree.glob("dataModel.*/*/schema.json")):
        return (f"the Smart Data Models tree {tree} holds no model (no dataModel.*/<Model>/schema.json): give the "
                "folder laid out like the published URLs")
    missing = [str(path) for path in paths if not path.exists()]
    if missing:
        return f"no such file or directory: {', '.join(missing)}"
    return None


def _usage_error(message: str) -> int:
    print(f"scifi validate: {message}", file=sys.stderr)
    return 2


# Reading


@dataclass(frozen=True, slots=True)
class Item:
    """One entity as read from a file, or what kept a file (or an NDJSON line) from being read as one."""

    file: str
    index: int | None
    """Position of the entity in its file (0 for a file of one entity); None when the file could not be read."""
    line: int | None
    """Line of the entity in an NDJSON file; None otherwise."""
    location: str
    """Where it is, for people: file[index] in an array, file:line in NDJSON, file alone otherwise."""
    entity: Any = None
    error: str | None = None


def entity_files(paths: Iterable[Path]) -> list[Path]:
    """The files named, and the entity files under the folders named (sorted, recursively)."""
    files: list[Path] = []
    for path in paths:
        if path.is_dir():
            files.extend(sorted(file for file in path.rglob("*")
                                if file.suffix.lower() in ENTITY_FILE_SUFFIXES and file.is_file()))
        else:
            files.append(path)
    return files


def read_items(file: Path, progress: Progress | None = None) -> Iterator[Item]:
    """The entities of a file, one at a time as it is read: a JSON array, a JSON object, or NDJSON."""
    name = str(file)
    try:
        with file.open("rb") as handle:
            start = handle.read(_PEEK).lstrip()[:1]
            handle.seek(0)
            if file.suffix.lower() in NDJSON_SUFFIXES or (start == b"{" and _is_ndjson(handle)):
                yield from ndjson_items(name, handle, progress)
            elif start == b"[":
                yield from array_items(name, handle, progress)
            else:
                text = handle.read()
                if progress is not None:
                    progress.advance(len(text))
                try:
                    yield Item(name, 0, None, name, orjson.loads(text))
                except orjson.JSONDecodeError as exc:
                    yield _unreadable(name, exc)
    except OSError as exc:
        yield Item(name, None, None, name, error=f"cannot be read: {exc.strerror or exc}")


def ndjson_items(name: str, lines: Iterable[bytes], progress: Progress | None = None) -> Iterator[Item]:
    """One item per non-blank line."""
    index = 0
    for number, line in enumerate(lines, 1):
        if progress is not None:
            progress.advance(len(line))
        if not line.strip():
            continue
        location = f"{name}:{number}"
        try:
            yield Item(name, index, number, location, orjson.loads(line))
        except orjson.JSONDecodeError as exc:
            yield Item(name, index, number, location, error=f"not JSON: {exc}")
        index += 1


_CHUNK = 1 << 20
_PEEK = 4096


def array_items(name: str, handle: BinaryIO, progress: Progress | None = None) -> Iterator[Item]:
    """The elements of a JSON array, each parsed as soon as it has been read (the file is never read whole)."""
    reader = _ChunkReader(handle, progress)
    decoder = json.JSONDecoder()
    state, index = "open", 0
    while True:
        reader.skip_space()
        if reader.at_end():
            if reader.more():
                continue
            yield Item(name, None, None, name, error=f"not JSON: the array ends after element {index} unclosed")
            return
        char = reader.buffer[reader.position]
        if state == "open" or (state == "next" and char == ","):
            reader.position, state = reader.position + 1, "value"
        elif char == "]" and (state == "next" or index == 0):
            return
        elif state == "next":
            yield Item(name, None, None, name, error=f"not JSON: a comma or ] was expected after element {index}")
            return
        else:
            try:
                element, end = decoder.raw_decode(reader.buffer, reader.position)
            except json.JSONDecodeError as exc:
                if reader.more():
                    continue
                yield Item(name, None, None, name, error=f"not JSON: {exc.msg} (in element {index})")
                return
            if not reader.separator_follows(end) and reader.more():
                continue  # a number at the end of a chunk (7 of 7.5) may go on in the next one
            yield Item(name, index, None, f"{name}[{index}]", element)
            index, reader.position, state = index + 1, end, "next"


class _ChunkReader:
    """Text of a binary file read in chunks as it is needed; `position` is where parsing stands."""

    def __init__(self, handle: BinaryIO, progress: Progress | None) -> None:
        self.handle = handle
        self.progress = progress
        self.text_of = codecs.getincrementaldecoder("utf-8")(errors="replace")
        self.buffer = ""
        self.position = 0
        self.ended = False

    def at_end(self) -> bool:
        return self.position >= len(self.buffer)

    def skip_space(self) -> None:
        while self.position < len(self.buffer) and self.buffer[self.position] in " \t\r\n":
            self.position += 1

    def separator_follows(self, position: int) -> bool:
        """Whether a comma or ] follows `position` (after white space) in what has been read."""
        while position < len(self.buffer) and self.buffer[position] in " \t\r\n":
            position += 1
        return position < len(self.buffer) and self.buffer[position] in ",]"

    def more(self) -> bool:
        """Reads the next chunk; False at the end of the file."""
        if self.ended:
            return False
        chunk = self.handle.read(_CHUNK)
        if self.progress is not None:
            self.progress.advance(len(chunk))
        self.ended = not chunk
        self.buffer = self.buffer[self.position:] + self.text_of.decode(chunk, final=self.ended)
        self.position = 0
        return True


def _is_ndjson(handle: BinaryIO) -> bool:
    """Whether the file starts with a JSON object on a line of its own, followed by more: then it is NDJSON.
    The handle is back at the start afterwards."""
    lines = (line for line in handle if line.strip())
    try:
        return isinstance(orjson.loads(next(lines, b"")), dict) and next(lines, None) is not None
    except orjson.JSONDecodeError:
        return False
    finally:
        handle.seek(0)


def _unreadable(name: str, exc: orjson.JSONDecodeError) -> Item:
    return Item(name, None, None, name, error=f"not JSON: {exc}")


def _size(file: Path) -> int:
    try:
        return file.stat().st_size
    except OSError:
        return 0


def file_format(file: Path, progress: Progress | None = None) -> str:
    """The form of a file's entities, decided from all of them (a first reading of the file)."""
    evidence = FormatEvidence()
    for item in read_items(file, progress):
        evidence.add(item.entity)
    return evidence.decided()


# Models


class Unresolved(Exception):
    """An entity that cannot be checked: no model for it, or its model cannot be compiled."""

    def __init__(self, message: str, model: str | None = None) -> None:
        super().__init__(message)
        self.model = model


def one_line(exc: Exception) -> str:
    """An error of compiling a schema in one line (jsonschema-rs wraps the source's error in several)."""
    reason = (str(exc).strip().splitlines() or [type(exc).__name__])[0]
    return reason.rpartition("SchemaUnavailable: ")[2]


class BrokenTree(Exception):
    """The tree of the models lacks a document a model needs, or holds one that is not a schema: a set-up
    error, not a fault of the data."""


class Catalogue:
    """The models of a local tree, each compiled once: one forced on every entity, or the model of each type,
    found as <tree>/dataModel.*/<Type>/schema.json (first in sorted order)."""

    def __init__(self, tree: Path) -> None:
        self.tree = tree
        self.source = SchemaSource(tree=tree)
        self.forced: Model | None = None
        self._compiled: dict[str, Model] = {}
        self._names_by_type: dict[str, str | None] = {}
        self._subjects = sorted(path for path in tree.glob("dataModel.*") if path.is_dir())

    def force(self, name: str) -> None:
        """Checks every entity against the model `name`; SchemaUnavailable or ValueError when it cannot be had."""
        self.forced = compile_model(self.source, name)

    def model_for(self, entity: dict[str, Any]) -> Model:
        """The model to check `entity` against; Unresolved when there is none."""
        if self.forced is not None:
            return self.forced
        type_names = [_short_type(value) for value in _types(entity)]
        if not type_names:
            raise Unresolved("the entity has no type")
        name = next((found for found in map(self.model_name, type_names) if found), None)
        if name is None:
            raise Unresolved(f"no model for type {' or '.join(type_names)}")
        return self.compiled(name)

    def model_name(self, type_name: str) -> str | None:
        """'<subject>/<Type>' of the first subject of the tree with a model of that type."""
        if type_name not in self._names_by_type:
            self._names_by_type[type_name] = next(
                (f"{subject.name}/{type_name}" for subject in self._subjects
                 if _is_plain_name(type_name) and (subject / type_name / "schema.json").is_file()), None)
        return self._names_by_type[type_name]

    def compiled(self, name: str) -> Model:
        """The model `name`, compiled once; BrokenTree when the tree lacks or breaks what it needs."""
        if name not in self._compiled:
            try:
                self._compiled[name] = compile_model(self.source, name)
            except (SchemaUnavailable, ValueError) as exc:
                raise BrokenTree(f"model {name} cannot be compiled: {one_line(exc)}") from exc
        return self._compiled[name]


def _types(entity: dict[str, Any]) -> list[str]:
    value = entity.get("type")
    values = value if isinstance(value, list) else [value]
    return [item for item in values if isinstance(item, str) and item]


def _short_type(value: str) -> str:
    """The type's short name: itself, or the last segment of an IRI."""
    return _TYPE_SEGMENTS.split(value)[-1] or value


def _is_plain_name(type_name: str) -> bool:
    """A name that is one folder of the tree, and no way out of it."""
    return type_name not in (".", "..") and "/" not in type_name and "\\" not in type_name


# Checking


@dataclass(frozen=True, slots=True)
class Result:
    item: Item
    entity_id: str | None
    model: str | None
    violations: list[Violation] = field(default_factory=list)

    @property
    def valid(self) -> bool:
        return not self.violations


def check(item: Item, catalogue: Catalogue, input_format: str) -> Result:
    """The violations of one entity; an entity that cannot be checked is invalid, its problem at pointer "".
    The result keeps where the entity was, not the entity. BrokenTree when its model cannot be compiled."""
    where = replace(item, entity=None)
    if item.error is not None:
        return Result(where, None, None, [Violation("", item.error)])
    entity = item.entity
    if not isinstance(entity, dict):
        return Result(where, None, None, [Violation("", "not an entity: a JSON object was expected")])
    entity_id = entity["id"] if isinstance(entity.get("id"), str) else None
    try:
        model = catalogue.model_for(entity)
    except Unresolved as exc:
        return Result(where, entity_id, exc.model, [Violation("", str(exc))])
    form = detect_format(entity) if input_format == "auto" else input_format
    form = "normalized" if form == "concise" else form
    variants = instance_variants(entity) if form == "normalized" else [(entity, {})]
    violations = {violation: None for variant, dataset_ids in variants
                  for violation in in_instances(model.violations(_model_type_named(reduced(variant, form), model)),
                                                dataset_ids)}
    return Result(where, entity_id, model.name, list(violations))


def _model_type_named(key_values: dict[str, Any], model: Model) -> dict[str, Any]:
    """The key-values entity with its type written as the model's full IRI replaced by the model's name for it,
    which the schema expects."""
    value = key_values.get("type")
    if value == model.type_iri:
        return {**key_values, "type": model.type_name}
    if isinstance(value, list) and model.type_iri in value:
        return {**key_values, "type": [model.type_name if item == model.type_iri else item for item in value]}
    return key_values


class Progress:
    """A progress bar on `stream` while files are read and checked, by bytes read: drawn only on a terminal,
    and only when there is much to read."""

    def __init__(self, stream: TextIO, total_bytes: int) -> None:
        self.stream = stream
        self.total = total_bytes
        self.done = 0
        self.entities = 0
        self.drawn_at = 0.0
        self.shown = total_bytes > PROGRESS_ABOVE_BYTES and stream.isatty()

    def advance(self, read_bytes: int) -> None:
        self.done += read_bytes
        now = time.monotonic()
        if self.shown and now - self.drawn_at >= 0.1:
            self.drawn_at = now
            self._draw()

    def _draw(self) -> None:
        share = min(1.0, self.done / self.total) if self.total else 1.0
        filled = int(30 * share)
        self.stream.write(f"\r[{'#' * filled}{'.' * (30 - filled)}] {share:4.0%} of {self.total // 1024} KiB read")
        self.stream.flush()

    def close(self) -> None:
        if self.shown:
            self.done = self.total
            self._draw()
            self.stream.write("\n")
            self.stream.flush()


# Reporting


def summary(results: list[Result]) -> str:
    valid = sum(result.valid for result in results)
    noun = "entity" if len(results) == 1 else "entities"
    return f"{len(results)} {noun}, {valid} valid, {len(results) - valid} invalid"


def by_model(results: list[Result]) -> dict[str | None, list[Result]]:
    """The results grouped by model name, sorted; those without a model last, under None."""
    groups: dict[str | None, list[Result]] = {}
    for result in results:
        groups.setdefault(result.model, []).append(result)
    return dict(sorted(groups.items(), key=lambda group: (group[0] is None, group[0] or "")))


def write_formats(formats: dict[str, str], out: TextIO) -> None:
    """Which form each file was read in, when it was detected."""
    for file, form in formats.items():
        out.write(f"{file}: read as {FORMAT_NAMES[form]}, judged from all its entities (--format "
                  f"{'|'.join(FORMATS)} says otherwise)\n")
    if formats:
        out.write("\n")


def write_table(results: list[Result], out: TextIO) -> None:
    """Per model: a line per violation of each invalid entity, then a summary; then the total."""
    for name, group in by_model(results).items():
        out.write(f"{name or '(no model)'}\n")
        rows = [(result.item.location, result.entity_id or "-", violation.pointer or "(entity)", violation.message)
                for result in group for violation in result.violations]
        widths = [max((len(row[column]) for row in rows), default=0) for column in range(3)]
        for *cells, message in rows:
            out.write("  " + "  ".join(cell.ljust(width) for cell, width in zip(cells, widths)) + f"  {message}\n")
        out.write(f"  {summary(group)}\n\n")
    out.write(f"total: {summary(results)}\n")


def json_report(results: list[Result]) -> dict[str, Any]:
    models = {name: {"valid": sum(r.valid for r in group), "invalid": sum(not r.valid for r in group)}
              for name, group in by_model(results).items() if name is not None}
    valid = sum(result.valid for result in results)
    return {
        "models": models,
        "total": {"entities": len(results), "valid": valid, "invalid": len(results) - valid},
        "entities": [_json_entity(result) for result in results],
    }


def _json_entity(result: Result) -> dict[str, Any]:
    return {
        "file": result.item.file, "index": result.item.index, "line": result.item.line, "id": result.entity_id,
        "model": result.model, "valid": result.valid,
        "violations": [{"pointer": v.pointer, "message": v.message} for v in result.violations],
    }
