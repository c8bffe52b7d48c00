"""Term <-> IRI maps of one active @context, so that expansion and compaction are dict look-ups.

A map is built once per distinct @context with pyld's context processing (the JSON-LD algorithm),
then serves every request that uses the same @context.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from typing import Any

from cachetools import LRUCache
from pyld import jsonld
from pyld.context_resolver import ContextResolver

from ngsi_ld.context.core import CORE_CONTEXT_URL, builtin_document, is_core_context_url
from ngsi_ld.errors import BadRequestData

__all__ = ["DocumentLoader", "TermMap", "build_term_map", "context_urls", "with_core_context"]

DocumentLoader = Callable[[str], Any]
"""Returns the JSON document published at a URL (already fetched: building a map does no I/O)."""


class TermMap:
    """Expands terms to IRIs and compacts IRIs back to terms, as one active @context defines them."""

    def __init__(self, terms: dict[str, str], prefixes: dict[str, str], vocab: str | None) -> None:
        self._terms = terms
        self._prefixes = prefixes
        self._vocab = vocab
        self._expanded: dict[str, str] = {}
        self._compacted: dict[str, str] = {}
        self._reverse: dict[str, str] = {}
        for term, iri in sorted(terms.items(), key=lambda item: (len(item[0]), item[0]), reverse=True):
            self._reverse[iri] = term

    def expand(self, term: str) -> str:
        iri = self._expanded.get(term)
        if iri is None:
            iri = self._expanded[term] = self._expand(term)
        return iri

    def compact(self, iri: str) -> str:
        term = self._compacted.get(iri)
        if term is None:
            term = self._compacted[iri] = self._compact(iri)
        return term

    def _expand(self, term: str) -> str:
        iri = self._terms.get(term)
        if iri is not None:
            return iri
        prefix, colon, suffix = term.partition(":")
        if colon:
            if not suffix.startswith("//") and prefix in self._prefixes:
                return self._prefixes[prefix] + suffix
            return term
        return (self._vocab or "") + term

    def _compact(self, iri: str) -> str:
        """IRI Compaction of JSON-LD 1.1 (API, 6.2) for a vocabulary-relative IRI: the term for `iri`, else its
        suffix after @vocab, else the shortest compact IRI `prefix:suffix`, else the IRI itself (the Fully
        Qualified Name of clause 5.5.7). Each candidate must expand back to `iri` with this same map."""
        term = self._reverse.get(iri)
        if term is not None:
            return term
        if self._vocab and iri.startswith(self._vocab):
            suffix = iri[len(self._vocab) :]
            if suffix and ":" not in suffix and suffix not in self._terms:
                return suffix
        return self._compact_iri(iri) or iri

    def _compact_iri(self, iri: str) -> str | None:
        best: str | None = None
        for prefix, namespace in self._prefixes.items():
            if len(iri) <= len(namespace) or not iri.startswith(namespace):
                continue
            candidate = f"{prefix}:{iri[len(namespace) :]}"
            if candidate in self._terms or candidate[len(prefix) + 1 :].startswith("//"):
                continue
            if best is None or (len(candidate), candidate) < (len(best), best):
                best = candidate
        return best


def context_urls(local_context: Any) -> Iterator[str]:
    """The URLs a @context value refers to directly (not those inside the documents they name)."""
    entries = local_context if isinstance(local_context, list) else [local_context]
    for entry in entries:
        if isinstance(entry, str):
            yield entry
        elif isinstance(entry, dict) and isinstance(entry.get("@import"), str):
            yield entry["@import"]


def with_core_context(local_context: Any) -> list[Any]:
    """The user's @context followed by the core context, which always applies and always wins."""
    entries: Iterable[Any] = local_context if isinstance(local_context, list) else [local_context]
    user = [e for e in entries if e is not None and not (isinstance(e, str) and is_core_context_url(e))]
    return [*user, CORE_CONTEXT_URL]


def build_term_map(local_context: Any, load: DocumentLoader) -> TermMap:
    """Processes `local_context` (then the core context) into a TermMap; `load` serves every URL."""

    def loader(url: str, options: Any = None) -> dict[str, Any]:
        document = builtin_document(url) or load(url)
        return {"contextUrl": None, "documentUrl": url, "document": document, "contentType": "application/ld+json"}

    processor = jsonld.JsonLdProcessor()
    options: dict[str, Any] = {"documentLoader": loader, "base": ""}
    options["contextResolver"] = ContextResolver(LRUCache(maxsize=64), loader)
    try:
        initial = processor._get_initial_context(options)
        active = processor.process_context(initial, with_core_context(local_context), options)
    except jsonld.JsonLdError as exc:
        raise BadRequestData(f"Invalid @context: {_jsonld_reason(exc)}") from exc
    return _term_map_of(active)


def _term_map_of(active: dict[str, Any]) -> TermMap:
    terms: dict[str, str] = {}
    prefixes: dict[str, str] = {}
    for term, definition in active["mappings"].items():
        iri = definition.get("@id") if definition else None
        if not isinstance(iri, str) or iri.startswith("@") or definition.get("reverse"):
            continue
        terms[term] = iri
        if definition.get("_prefix"):
            prefixes[term] = iri
    return TermMap(terms, prefixes, active.get("@vocab"))


def _jsonld_reason(exc: jsonld.JsonLdError) -> str:
    code = getattr(exc, "code", None)
    cause = getattr(exc, "cause", None)
    parts = [str(code or exc.type)]
    if cause is not None:
        parts.append(str(getattr(cause, "code", None) or cause))
    return ": ".join(parts)
