"""Shared by the entities API tests: ProblemDetails checks, entity paths, unique names, creation."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote
from uuid import uuid4

import httpx

ERRORS = "https://uri.etsi.org/ngsi-ld/errors/"
DEFAULT_CONTEXT = "https://uri.etsi.org/ngsi-ld/default-context/"
CORE = "https://uri.etsi.org/ngsi-ld/"


def unique_type() -> str:
    """An entity type (or attribute) name no other test uses."""
    return f"T{uuid4().hex}"


def entity_path(entity_id: str) -> str:
    """The path of an entity, with '/' and other reserved characters of the id percent-encoded."""
    return f"/entities/{quote(entity_id, safe=':')}"


def create(client: httpx.Client, entity: dict[str, Any], **kwargs: Any) -> str:
    """Creates the entity (201 expected) and returns its id."""
    response = client.post("/entities", json=entity, **kwargs)
    assert response.status_code == 201, response.text
    return str(entity["id"])


def assert_problem(response: httpx.Response, status: int, error: str) -> dict[str, Any]:
    """Checks a ProblemDetails response (clause 5.5.3, 6.3.3) and returns its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].split(";")[0] == "application/json"
    body: dict[str, Any] = response.json()
    assert body["type"] == ERRORS + error
    assert body["status"] == status
    assert isinstance(body["title"], str) and body["title"]
    assert isinstance(body["detail"], str) and body["detail"]
    return body
