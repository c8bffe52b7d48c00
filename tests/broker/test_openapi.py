"""The OpenAPI document the broker serves at /ngsi-ld/v1/openapi.json: valid OpenAPI 3.1, and exactly the
operations the broker routes with exactly the URL parameters each takes (broker.parameters.ALLOWED). That the
answers match the document is tests/fuzz/test_schemathesis.py's.

On SQLite only: the document does not depend on the store.
"""

from __future__ import annotations

import re

import httpx
import pytest
from openapi_spec_validator import OpenAPIV31SpecValidator

from broker.app import api_routes
from broker.openapi import document
from broker.parameters import ALLOWED

pytestmark = pytest.mark.stores("sqlite")

_ROUTED_NOT_DOCUMENTED = {("PUT", "/entities"), ("PATCH", "/entities")}
"""Routed only to refuse a request whose entity id is empty (400): no operation of their own."""


@pytest.fixture
def served(client: httpx.Client) -> dict[str, object]:
    response = client.get("/openapi.json")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/json"
    body: dict[str, object] = response.json()
    return body


def test_the_document_is_valid_openapi_3_1(served: dict[str, object]) -> None:
    assert served["openapi"] == "3.1.0"
    OpenAPIV31SpecValidator(served).validate()


def test_the_served_document_is_the_one_built_from_the_routes(served: dict[str, object]) -> None:
    assert served == document(api_routes())


def test_the_document_lists_exactly_the_routed_operations_and_their_parameters(served: dict[str, object]) -> None:
    paths = served["paths"]
    assert isinstance(paths, dict)
    documented = {}
    for path, operations in paths.items():
        for method, operation in operations.items():
            shape = re.sub(r"\{[^}]*\}", "{}", path)
            documented[method.upper(), shape] = {p["name"] for p in operation["parameters"] if p["in"] == "query"}
    routed = {(method, re.sub(r"\{[^}]*\}", "{}", route.path)) for route in api_routes()
              for method in (route.methods or set()) - {"HEAD"}}
    assert set(documented) == routed - _ROUTED_NOT_DOCUMENTED
    for key, names in documented.items():
        assert names == ALLOWED[key], key
    assert not [path for path in paths if path.startswith(("/temporal", "/csource", "/entityMap"))]


def test_the_document_refuses_unknown_parameters(client: httpx.Client) -> None:
    response = client.get("/openapi.json", params={"format": "yaml"})
    assert response.status_code == 400
    assert response.json()["type"].endswith("/InvalidRequest")


def test_every_error_answer_is_a_problem_details_or_has_no_body(served: dict[str, object]) -> None:
    paths = served["paths"]
    assert isinstance(paths, dict)
    for operations in paths.values():
        for operation in operations.values():
            for status, answer in operation["responses"].items():
                if int(status) >= 400 and int(status) not in (411, 415):
                    assert answer["content"] == {"application/json": {
                        "schema": {"$ref": "#/components/schemas/ProblemDetails"}}}
