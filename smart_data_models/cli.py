"""`scifi validate`: checks entity files against their Smart Data Models, from a local tree of the models.

    scifi validate PATH... [--model Subject/Model] [--format auto|normalized|concise|keyValues|v2] [--json]
                           [--sdm-dir DIR]

A file holds a JSON array of entities, one entity, or NDJSON (one entity per line); a folder stands for every
*.json, *.jsonld, *.ndjson and *.jsonl file under it. Each entity is reduced to key-values (see `reduce`) and
checked against the model `--model` names, else the model its type names in the tree. Exit status: 0 when
every entity is valid, 1 when one is not (or a file cannot be read as entities), 2 for a usage error.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

import orjson

from smart_data_models.models import Model, Violation, compile_model
from smart_data_models.reduce import FORMATS, detect_format, reduced
from smart_data_models.source import PUBLISHED, SchemaSource, SchemaUnavailable, context_url, schema_url

__all__ = ["add_validate_parser", "validate_command"]

TREE_VARIABLE = "SCIFI_SDM_DIR"
ENTITY_FILE_SUFFIXES = frozenset({".json", ".jsonld", ".ndjson", ".jsonl"})
NDJSON_SUFFIXES = frozenset({".ndjson", ".jsonl"})
PROGRESS_ABOVE = 1000
"""A progress bar is drawn (on a terminal) when there are more entities than this."""
_TYPE_SEGMENTS = re.compile(r"[/#:]")


def add_validate_parser(subparsers: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    """Adds the `validate` command to the commands of `scifi`."""
    parser = subparsers.add_parser(
        "validate", help="check entity files against their Smart Data Models",
        description="Check entities (JSON array, single entity or NDJSON files; folders recursively) against "
                    "their Smart Data Models. Exit status: 0 all valid, 1 something invalid, 2 usage error.")
    parser.add_argument("paths", nargs="+", type=Path, metavar="PATH", help="entity file, or folder of them")
    parser.add_argument("--model", metavar="Subject/Model",
                        help="validate every entity against this model, e.g. dataModel.Parking/OffStreetParking "
                             "(default: the model named by each entity's type)")
    parser.add_argument("--format", choices=("auto", *FORMATS), default="auto",
                        help="form of the entities (default: detected for each entity)")
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
    problem = _usage_problem(tree, args.paths)
    if problem:
        return _usage_error(problem)
    catalogue = Catalogue(tree)
    if args.model:
        try:
            catalogue.force(args.model)
        except (SchemaUnavailable, ValueError) as exc:
            return _usage_error(f"model {args.model}: {exc}")
    items = [item for file in entity_files(args.paths) for item in read_items(file)]
    results = [check(item, catalogue, args.format) for item in with_progress(items, sys.stderr)]
    if args.as_json:
        sys.stdout.buffer.write(orjson.dumps(json_report(results), option=orjson.OPT_INDENT_2) + b"\n")
    else:
        write_table(results, sys.stdout)
    return 0 if all(result.valid for result in results) else 1


def _cached_tree(model: str | None) -> Path:
    """Without a local tree: the broker's cache of the published models (<SCIFI_DATA_DIR>/sdm, laid out like a
    tree), after fetching the `--model` into it from SCIFI_SDM_URL (the published site by default)."""
    cache = Path(os.environ.get("SCIFI_DATA_DIR", "data")) / "sdm"
    if model is not None:
        source = SchemaSource(None, cache, float(os.environ.get("SCIFI_SDM_TIMEOUT", "10")),
                              os.environ.get("SCIFI_SDM_URL", PUBLISHED))
        asyncio.run(source.fetch(schema_url(model)))
        asyncio.run(source.fetch(context_url(model)))
    return cache


def _usage_problem(tree: Path, paths: list[Path]) -> str | None:
    if not tree.is_dir():
        return (f"the Smart Data Models tree {tree} is not a directory: give --sdm-dir DIR, set {TREE_VARIABLE}, "
                "or --model to fetch one from the published models")
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


def read_items(file: Path) -> list[Item]:
    """The entities of a file: a JSON array, a JSON object, or NDJSON."""
    name = str(file)
    try:
        text = file.read_bytes()
    except OSError as exc:
        return [Item(name, None, None, name, error=f"cannot be read: {exc.strerror or exc}")]
    if file.suffix.lower() in NDJSON_SUFFIXES:
        return ndjson_items(name, text)
    try:
        document = orjson.loads(text)
    except orjson.JSONDecodeError as exc:
        return ndjson_items(name, text) if _first_line_is_object(text) else [_unreadable(name, exc)]
    if isinstance(document, list):
        return [Item(name, index, None, f"{name}[{index}]", entity) for index, entity in enumerate(document)]
    return [Item(name, 0, None, name, document)]


def ndjson_items(name: str, text: bytes) -> list[Item]:
    """One item per non-blank line."""
    items = []
    lines = [(number, line) for number, line in enumerate(text.splitlines(), 1) if line.strip()]
    for index, (number, line) in enumerate(lines):
        location = f"{name}:{number}"
        try:
            items.append(Item(name, index, number, location, orjson.loads(line)))
        except orjson.JSONDecodeError as exc:
            items.append(Item(name, index, number, location, error=f"not JSON: {exc}"))
    return items


def _first_line_is_object(text: bytes) -> bool:
    """Whether the first non-blank line is a JSON object on its own: then the file is taken for NDJSON."""
    first = next((line for line in text.splitlines() if line.strip()), b"")
    try:
        return isinstance(orjson.loads(first), dict)
    except orjson.JSONDecodeError:
        return False


def _unreadable(name: str, exc: orjson.JSONDecodeError) -> Item:
    return Item(name, None, None, name, error=f"not JSON: {exc}")


# Models


class Unresolved(Exception):
    """An entity that cannot be checked: no model for it, or its model cannot be compiled."""

    def __init__(self, message: str, model: str | None = None) -> None:
        super().__init__(message)
        self.model = model


class Catalogue:
    """The models of a local tree, each compiled once: one forced on every entity, or the model of each type,
    found as <tree>/dataModel.*/<Type>/schema.json (first in sorted order)."""

    def __init__(self, tree: Path) -> None:
        self.tree = tree
        self.source = SchemaSource(tree=tree)
        self.forced: Model | None = None
        self._compiled: dict[str, Model | Unresolved] = {}
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
        if name not in self._compiled:
            try:
                self._compiled[name] = compile_model(self.source, name)
            except (SchemaUnavailable, ValueError) as exc:
                self._compiled[name] = Unresolved(f"model {name} cannot be compiled: {exc}", name)
        model = self._compiled[name]
        if isinstance(model, Unresolved):
            raise model
        return model


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
    """The violations of one entity; an entity that cannot be checked is invalid, its problem at pointer ""."""
    if item.error is not None:
        return Result(item, None, None, [Violation("", item.error)])
    entity = item.entity
    if not isinstance(entity, dict):
        return Result(item, None, None, [Violation("", "not an entity: a JSON object was expected")])
    entity_id = entity["id"] if isinstance(entity.get("id"), str) else None
    try:
        model = catalogue.model_for(entity)
    except Unresolved as exc:
        return Result(item, entity_id, exc.model, [Violation("", str(exc))])
    form = detect_format(entity) if input_format == "auto" else input_format
    key_values = reduced(entity, "normalized" if form == "concise" else form)
    return Result(item, entity_id, model.name, model.violations(key_values))


def with_progress(items: list[Item], stream: TextIO) -> Iterator[Item]:
    """The items, drawing a progress bar on `stream` as they go when there are many and it is a terminal."""
    total = len(items)
    if total <= PROGRESS_ABOVE or not stream.isatty():
        yield from items
        return
    step = max(1, total // 200)
    for done, item in enumerate(items, 1):
        yield item
        if done % step == 0 or done == total:
            filled = 30 * done // total
            stream.write(f"\r[{'#' * filled}{'.' * (30 - filled)}] {done}/{total} entities")
            stream.flush()
    stream.write("\n")


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
