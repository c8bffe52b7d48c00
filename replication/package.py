"""The pilot package: a zip file that carries a pilot from one city to another.

    manifest.json                 format, tool and version, source broker and tenant, types, q, @context,
                                  counts per type, the SHA-256 and size of every other file
    entities/<n>-<Type>.ndjson    the entities of each type, one per line, in normalized form
    subscriptions.ndjson          the subscriptions (when exported with --subscriptions)
    contexts/<n>.jsonld           the @context documents the entities use (the manifest maps URL -> file)

Files are written and read as streams: a package of 100,000 entities needs no more memory than a small one.
The package is written under a temporary name and renamed when complete, so an interrupted export leaves no
half package behind.
"""

from __future__ import annotations

import hashlib
import os
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import IO, Any

import orjson

from replication.errors import PackageError

__all__ = ["FORMAT", "Package", "PackageWriter", "tool_version"]

FORMAT = "scifi-pilot/1"
MANIFEST = "manifest.json"
SUBSCRIPTIONS = "subscriptions.ndjson"
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def tool_version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("scifi-broker")
    except PackageNotFoundError:  # pragma: no cover - a source tree that was not installed
        return "unknown"


@dataclass(slots=True)
class _Written:
    sha256: Any = field(default_factory=hashlib.sha256)
    size: int = 0
    lines: int = 0


class NdjsonSink:
    """One NDJSON file of the package being written."""

    def __init__(self, stream: IO[bytes], record: _Written) -> None:
        self.stream = stream
        self.record = record

    def write(self, item: dict[str, Any]) -> None:
        line = orjson.dumps(item) + b"\n"
        self.stream.write(line)
        self.record.sha256.update(line)
        self.record.size += len(line)
        self.record.lines += 1


class PackageWriter:
    """Writes a package to `path`: entity files type by type, then `close(manifest)`."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.partial = path.with_name(path.name + ".part")
        try:
            self.zip = zipfile.ZipFile(self.partial, "w", compression=zipfile.ZIP_DEFLATED)
        except OSError as exc:
            raise PackageError(f"{path}: cannot be written ({exc.strerror or exc})") from exc
        self.files: dict[str, _Written] = {}
        self.entity_files: dict[str, str] = {}
        self._open: IO[bytes] | None = None

    def ndjson(self, name: str) -> NdjsonSink:
        """A new NDJSON file `name`; the one written before is closed."""
        self._close_open()
        self._open = self.zip.open(name, "w", force_zip64=True)
        self.files[name] = _Written()
        return NdjsonSink(self._open, self.files[name])

    def entities(self, entity_type: str) -> NdjsonSink:
        name = f"entities/{len(self.entity_files)}-{_UNSAFE.sub('_', entity_type)[:60]}.ndjson"
        self.entity_files[entity_type] = name
        return self.ndjson(name)

    def document(self, name: str, content: bytes) -> None:
        self._close_open()
        self.zip.writestr(name, content)
        self.files[name] = _Written(hashlib.sha256(content), len(content))

    def close(self, manifest: dict[str, Any]) -> dict[str, Any]:
        """Writes the manifest (with the files' checksums and the counts) and puts the package in place."""
        self._close_open()
        complete = {
            "format": FORMAT, "tool": {"name": "scifi", "version": tool_version()},
            "created": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"), **manifest,
            "counts": {kind: self.files[name].lines for kind, name in self.entity_files.items()},
            "entities": self.entity_files,
            "files": {name: {"sha256": record.sha256.hexdigest(), "bytes": record.size}
                      for name, record in self.files.items()},
        }
        self.zip.writestr(MANIFEST, orjson.dumps(complete, option=orjson.OPT_INDENT_2))
        self.zip.close()
        os.replace(self.partial, self.path)
        return complete

    def abandon(self) -> None:
        """Removes what was written of an export that did not complete."""
        try:
            self._close_open()
            self.zip.close()
        except (OSError, ValueError, zipfile.BadZipFile):
            pass
        self.partial.unlink(missing_ok=True)

    def _close_open(self) -> None:
        if self._open is not None:
            self._open.close()
            self._open = None


class Package:
    """A package read from `path`; PackageError when it is not one, or a file's checksum does not match."""

    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            self.zip = zipfile.ZipFile(path)
            self.manifest = orjson.loads(self.zip.read(MANIFEST))
        except FileNotFoundError:
            raise PackageError(f"{path}: no such file") from None
        except (OSError, zipfile.BadZipFile) as exc:
            raise PackageError(f"{path}: not a pilot package (not a zip file: {exc})") from None
        except KeyError:
            raise PackageError(f"{path}: not a pilot package (no {MANIFEST})") from None
        except orjson.JSONDecodeError as exc:
            raise PackageError(f"{path}: {MANIFEST} is not JSON ({exc})") from None
        self._check_manifest()

    def _check_manifest(self) -> None:
        manifest = self.manifest
        if not isinstance(manifest, dict) or manifest.get("format") != FORMAT:
            raise PackageError(f"{self.path}: not a pilot package of format {FORMAT}")
        if not isinstance(manifest.get("entities"), dict) or not isinstance(manifest.get("files"), dict):
            raise PackageError(f"{self.path}: {MANIFEST} lacks its 'entities' or 'files'")

    def verify(self) -> None:
        """Reads every file the manifest lists and checks its size and SHA-256."""
        for name, expected in self.manifest["files"].items():
            digest, size = hashlib.sha256(), 0
            try:
                with self.zip.open(name) as stream:
                    while chunk := stream.read(1 << 20):
                        digest.update(chunk)
                        size += len(chunk)
            except KeyError:
                raise PackageError(f"{self.path}: {name} is missing") from None
            except (OSError, zipfile.BadZipFile) as exc:
                raise PackageError(f"{self.path}: {name} cannot be read ({exc})") from None
            if not isinstance(expected, dict) or digest.hexdigest() != expected.get("sha256") \
                    or size != expected.get("bytes"):
                raise PackageError(f"{self.path}: {name} is damaged (its checksum does not match the manifest)")

    @property
    def types(self) -> list[str]:
        return list(self.manifest["entities"])

    @property
    def context(self) -> str | None:
        context = self.manifest.get("@context")
        return context if isinstance(context, str) else None

    def count(self, entity_type: str) -> int:
        return int(self.manifest.get("counts", {}).get(entity_type, 0))

    def entities(self, entity_type: str, offset: int = 0) -> Iterator[dict[str, Any]]:
        """The entities of a type, from the `offset`th on."""
        name = self.manifest["entities"].get(entity_type)
        if name is None:
            raise PackageError(f"{self.path}: holds no entities of type {entity_type}")
        yield from self._lines(name, offset)

    def subscriptions(self) -> list[dict[str, Any]]:
        if SUBSCRIPTIONS not in self.manifest["files"]:
            return []
        return list(self._lines(SUBSCRIPTIONS))

    def ids(self) -> set[str]:
        """The ids of every entity of the package."""
        return {entity["id"] for entity_type in self.types for entity in self.entities(entity_type)}

    def _lines(self, name: str, offset: int = 0) -> Iterator[dict[str, Any]]:
        with self.zip.open(name) as stream:
            for number, line in enumerate(stream):
                if number < offset or not line.strip():
                    continue
                try:
                    item = orjson.loads(line)
                except orjson.JSONDecodeError as exc:
                    raise PackageError(f"{self.path}: {name}:{number + 1} is not JSON ({exc})") from None
                if not isinstance(item, dict) or not isinstance(item.get("id"), str):
                    raise PackageError(f"{self.path}: {name}:{number + 1} is not an entity with an id")
                yield item

    def close(self) -> None:
        self.zip.close()
