"""The core @context of NGSI-LD, built in: it is never fetched at run time (clause 4.4)."""

from __future__ import annotations

import json
from functools import cache
from importlib import resources
from typing import Any

__all__ = ["CONTEXT_REL", "CORE_CONTEXT_URL", "builtin_document", "context_link", "is_core_context_url"]

CORE_CONTEXT_URL = "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.8.jsonld"

_CORE_URL_PREFIX = "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context"
_BUILTIN_FILES = {
    CORE_CONTEXT_URL: "ngsi-ld-core-context-v1.8.jsonld",
    _CORE_URL_PREFIX + ".jsonld": "ngsi-ld-core-context-v1.8.jsonld",
    _CORE_URL_PREFIX + "-v1.7.jsonld": "ngsi-ld-core-context-v1.7.jsonld",
    _CORE_URL_PREFIX + "-v1.9.jsonld": "ngsi-ld-core-context-v1.9.jsonld",
}


CONTEXT_REL = "http://www.w3.org/ns/json-ld#context"
"""The relation of a Link header that gives an @context (clause 6.3.5)."""


def context_link(url: str) -> str:
    """The Link header value that gives the @context at `url`."""
    return f'<{url}>; rel="{CONTEXT_REL}"; type="application/ld+json"'


def is_core_context_url(url: str) -> bool:
    """Whether `url` names a version of the core context (users often list it in their own)."""
    return url.startswith(_CORE_URL_PREFIX) and url.endswith(".jsonld")


@cache
def builtin_document(url: str) -> dict[str, Any] | None:
    """The document served at `url` when it is one the broker knows by heart, else None."""
    name = _BUILTIN_FILES.get(url)
    if name is None:
        return None
    text = resources.files("ngsi_ld.context").joinpath("data", name).read_text(encoding="utf-8")
    document: dict[str, Any] = json.loads(text)
    return document
