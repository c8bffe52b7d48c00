"""Where Smart Data Models schemas and contexts come from: a local tree laid out like the published URLs, or
the published URLs themselves, kept in an on-disk cache.

    https://smart-data-models.github.io/<repo>/<path>                         -> <tree>/<repo>/<path>
    https://raw.githubusercontent.com/smart-data-models/<repo>/master/<path>  -> <tree>/<repo>/<path>

Reading (`document`) never touches the network: `fetch` (async, with a timeout) brings a document and
everything its `$ref`s name into the cache first. So a validator, whose `$ref`s resolve through `document`,
does no hidden network access.
"""

from __future__ import annotations

import asyncio
import json
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any
from urllib.parse import urldefrag

__all__ = [
    "PUBLISHED", "SchemaSource", "SchemaUnavailable", "context_url", "relative_path", "schema_url", "subject_models",
]

PUBLISHED = "https://smart-data-models.github.io/"
_RAW = "https://raw.githubusercontent.com/smart-data-models/"


class SchemaUnavailable(Exception):
    """A schema or context that the source does not have (and could not fetch)."""


def schema_url(model: str) -> str:
    """The published URL of a model's schema; `model` is '<repo>/<Model>', e.g. 'dataModel.Parking/ParkingSpot'."""
    return f"{PUBLISHED}{model}/schema.json"


def context_url(model: str) -> str:
    """The published URL of the @context of a subject ('dataModel.Parking'), or of a model's subject."""
    return f"{PUBLISHED}{model.split('/')[0]}/context.jsonld"


def subject_models(subject: str, context: Any) -> list[str]:
    """The models that a subject's context.jsonld names as entity types: its capitalized terms whose IRI is
    https://smartdatamodels.org/<subject>/<Term> (some name no model: check that their schema exists)."""
    terms = context.get("@context", {}) if isinstance(context, dict) else {}
    return sorted(f"{subject}/{term}" for term, iri in terms.items()
                  if term[:1].isupper() and iri == f"https://smartdatamodels.org/{subject}/{term}")


def relative_path(url: str) -> str:
    """'<repo>/<path>' of a published URL (either form); SchemaUnavailable for any other URL."""
    url = urldefrag(url).url
    if url.startswith(PUBLISHED):
        return url[len(PUBLISHED):]
    if url.startswith(_RAW):
        repo, _, path = url[len(_RAW):].partition("/")
        branch, _, path = path.partition("/")
        return f"{repo}/{path}"
    raise SchemaUnavailable(f"{url} is not a Smart Data Models URL")


class SchemaSource:
    """Documents of the Smart Data Models, from `tree` (a local directory), else from the published URLs
    through the cache directory `cache`."""

    def __init__(self, tree: Path | None = None, cache: Path | None = None, timeout: float = 10.0,
                 mirror: str = PUBLISHED) -> None:
        """`mirror`: where the published documents are fetched from (the published site itself by default)."""
        assert tree is not None or cache is not None, "a source needs a tree or a cache"
        self.tree = tree
        self.cache = cache
        self.timeout = timeout
        self.mirror = mirror if mirror.endswith("/") else mirror + "/"
        self._documents: dict[str, Any] = {}

    def document(self, url: str) -> Any:
        """The JSON document at `url` (without its fragment), from the tree or the cache only."""
        path = relative_path(url)
        if path not in self._documents:
            file = (self.tree or self.cache) / path  # type: ignore[operator]
            try:
                self._documents[path] = json.loads(file.read_bytes())
            except FileNotFoundError:
                raise SchemaUnavailable(f"{url} is not in {'the tree' if self.tree else 'the cache'}") from None
            except ValueError as exc:
                raise SchemaUnavailable(f"{url} is not JSON: {exc}") from exc
        return self._documents[path]

    async def fetch(self, url: str) -> None:
        """Brings the document at `url`, and every document its `$ref`s name, into the cache (a tree has
        them all already). SchemaUnavailable when one cannot be had."""
        if self.tree is not None:
            return
        queue, seen = [urldefrag(url).url], set()
        while queue:
            current = queue.pop()
            if current in seen:
                continue
            seen.add(current)
            file = self.cache / relative_path(current)  # type: ignore[operator]
            if not file.exists():
                body = await asyncio.to_thread(self._download, self.mirror + relative_path(current))
                file.parent.mkdir(parents=True, exist_ok=True)
                file.with_suffix(".part").write_bytes(body)
                file.with_suffix(".part").replace(file)
            queue.extend(_references(self.document(current), current))

    def _download(self, url: str) -> bytes:
        try:
            with urllib.request.urlopen(url, timeout=self.timeout) as response:
                return bytes(response.read())
        except (urllib.error.URLError, TimeoutError, OSError) as exc:
            raise SchemaUnavailable(f"{url} could not be fetched: {exc}") from exc


def _references(document: Any, base: str) -> list[str]:
    """The documents that the `$ref`s of a schema name (local `#...` references excluded)."""
    found: list[str] = []
    stack = [document]
    while stack:
        node = stack.pop()
        if isinstance(node, dict):
            reference = node.get("$ref")
            if isinstance(reference, str) and not reference.startswith("#"):
                found.append(urldefrag(reference if "://" in reference else _joined(base, reference)).url)
            stack.extend(node.values())
        elif isinstance(node, list):
            stack.extend(node)
    return found


def _joined(base: str, reference: str) -> str:
    return base.rsplit("/", 1)[0] + "/" + reference
