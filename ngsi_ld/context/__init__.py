"""@context handling: the built-in core context and cached term maps for expansion and compaction."""

from ngsi_ld.context.core import CORE_CONTEXT_URL, builtin_document, is_core_context_url
from ngsi_ld.context.termmap import DocumentLoader, TermMap, build_term_map, context_urls, with_core_context

__all__ = [
    "CORE_CONTEXT_URL",
    "DocumentLoader",
    "TermMap",
    "build_term_map",
    "builtin_document",
    "context_urls",
    "is_core_context_url",
    "with_core_context",
]
