"""@context handling: the built-in core context and cached term maps for expansion and compaction."""

from ngsi_ld.context.core import CONTEXT_REL, CORE_CONTEXT_URL, builtin_document, context_link, is_core_context_url
from ngsi_ld.context.termmap import DocumentLoader, TermMap, build_term_map, context_urls, with_core_context

__all__ = [
    "CONTEXT_REL",
    "CORE_CONTEXT_URL",
    "DocumentLoader",
    "TermMap",
    "build_term_map",
    "builtin_document",
    "context_link",
    "context_urls",
    "is_core_context_url",
    "with_core_context",
]
