"""Tenants (clauses 5.5.10, 6.3.14): the NGSILD-Tenant header keeps data apart, a tenant comes into being with
its first entity, other operations on an unknown tenant are NonexistentTenant, and answers carry the tenant."""

from __future__ import annotations

from uuid import uuid4

import httpx
import pytest

from tests.broker.entity_helpers import assert_problem, create, entity_path
from tests.conftest import unique_id

HEADER = "NGSILD-Tenant"


def _tenant() -> dict[str, str]:
    return {HEADER: f"t{uuid4().hex[:12]}"}


def _bin(**attrs: object) -> dict[str, object]:
    return {"id": unique_id("Bin"), "type": "WasteBin", **attrs}


def test_an_entity_is_seen_only_in_its_tenant(client: httpx.Client) -> None:
    tenant = _tenant()
    entity = create(client, _bin(fillingLevel=0.4), headers=tenant)
    assert client.get(entity_path(entity), headers=tenant).json()["id"] == entity
    assert_problem(client.get(entity_path(entity)), 404, "ResourceNotFound")
    other = _tenant()
    create(client, _bin(), headers=other)
    assert_problem(client.get(entity_path(entity), headers=other), 404, "ResourceNotFound")


def test_a_query_sees_only_its_tenant(client: httpx.Client) -> None:
    first, second = _tenant(), _tenant()
    one = create(client, _bin(), headers=first)
    two = create(client, _bin(), headers=second)
    assert [e["id"] for e in client.get("/entities", params={"type": "WasteBin"}, headers=first).json()] == [one]
    assert [e["id"] for e in client.get("/entities", params={"type": "WasteBin"}, headers=second).json()] == [two]


def test_the_same_id_lives_apart_in_two_tenants(client: httpx.Client) -> None:
    first, second = _tenant(), _tenant()
    entity_id = unique_id("Bin")
    create(client, {"id": entity_id, "type": "WasteBin", "colour": "grey"}, headers=first)
    create(client, {"id": entity_id, "type": "WasteBin", "colour": "green"}, headers=second)
    assert client.post(f"{entity_path(entity_id)}/attrs", json={"colour": "blue"}, headers=first).status_code == 204
    assert client.delete(entity_path(entity_id), headers=second).status_code == 204
    assert client.get(entity_path(entity_id), params={"options": "keyValues"}, headers=first).json()["colour"] == "blue"
    assert_problem(client.get(entity_path(entity_id), headers=second), 404, "ResourceNotFound")


def test_creating_an_entity_that_exists_in_another_tenant_is_allowed(client: httpx.Client) -> None:
    entity = create(client, _bin())
    tenant = _tenant()
    assert client.post("/entities", json={"id": entity, "type": "WasteBin"}, headers=tenant).status_code == 201
    assert_problem(client.post("/entities", json={"id": entity, "type": "WasteBin"}, headers=tenant), 409,
                   "AlreadyExists")


@pytest.mark.parametrize(
    ("method", "path"),
    [
        pytest.param("GET", "/entities/urn:ngsi-ld:Bin:1", id="retrieve"),
        pytest.param("GET", "/entities?type=WasteBin", id="query"),
        pytest.param("DELETE", "/entities/urn:ngsi-ld:Bin:1", id="delete-entity"),
        pytest.param("DELETE", "/entities/urn:ngsi-ld:Bin:1/attrs/colour", id="delete-attribute"),
    ],
)
def test_reading_or_deleting_in_an_unknown_tenant_is_nonexistent_tenant(
    client: httpx.Client, method: str, path: str
) -> None:
    assert_problem(client.request(method, path, headers=_tenant()), 404, "NonexistentTenant")


@pytest.mark.parametrize(
    ("method", "suffix", "body"),
    [
        pytest.param("POST", "/attrs", {"colour": "grey"}, id="append"),
        pytest.param("PATCH", "/attrs", {"colour": "grey"}, id="update"),
        pytest.param("PATCH", "/attrs/colour", {"value": "grey"}, id="partial-update"),
        pytest.param("PUT", "/attrs/colour", {"value": "grey"}, id="replace-attribute"),
        pytest.param("PATCH", "", {"colour": "grey"}, id="merge"),
        pytest.param("PUT", "", {"type": "WasteBin"}, id="replace-entity"),
    ],
)
def test_updating_in_an_unknown_tenant_is_nonexistent_tenant_and_creates_no_tenant(
    client: httpx.Client, method: str, suffix: str, body: dict[str, object]
) -> None:
    tenant = _tenant()
    response = client.request(method, f"/entities/urn:ngsi-ld:Bin:1{suffix}", json=body, headers=tenant)
    assert_problem(response, 404, "NonexistentTenant")
    assert_problem(client.get("/entities", params={"type": "WasteBin"}, headers=tenant), 404, "NonexistentTenant")


def test_a_tenant_comes_into_being_with_its_first_entity(client: httpx.Client) -> None:
    tenant = _tenant()
    assert_problem(client.get("/entities", params={"type": "WasteBin"}, headers=tenant), 404, "NonexistentTenant")
    entity = create(client, _bin(), headers=tenant)
    assert client.get("/entities", params={"type": "WasteBin"}, headers=tenant).json()[0]["id"] == entity
    assert client.delete(entity_path(entity), headers=tenant).status_code == 204
    assert client.get("/entities", params={"type": "WasteBin"}, headers=tenant).json() == []
    assert_problem(client.get(entity_path(entity), headers=tenant), 404, "ResourceNotFound")


def test_a_rejected_create_creates_no_tenant(client: httpx.Client) -> None:
    tenant = _tenant()
    assert_problem(client.post("/entities", json={"id": "not a uri", "type": "WasteBin"}, headers=tenant), 400,
                   "BadRequestData")
    assert_problem(client.get("/entities", params={"type": "WasteBin"}, headers=tenant), 404, "NonexistentTenant")


def test_answers_carry_the_tenant(client: httpx.Client) -> None:
    tenant = _tenant()
    entity_id = unique_id("Bin")
    answers = {
        "create": client.post("/entities", json={"id": entity_id, "type": "WasteBin", "colour": "grey"},
                              headers=tenant),
        "retrieve": client.get(entity_path(entity_id), headers=tenant),
        "query": client.get("/entities", params={"type": "WasteBin"}, headers=tenant),
        "append": client.post(f"{entity_path(entity_id)}/attrs", json={"size": 2}, headers=tenant),
        "partial": client.post(f"{entity_path(entity_id)}/attrs", params={"options": "noOverwrite"},
                               json={"size": 3}, headers=tenant),
        "delete": client.delete(entity_path(entity_id), headers=tenant),
    }
    assert {name: answer.status_code for name, answer in answers.items()} == {
        "create": 201, "retrieve": 200, "query": 200, "append": 204, "partial": 207, "delete": 204,
    }
    assert {name: answer.headers.get(HEADER) for name, answer in answers.items()} == dict.fromkeys(
        answers, tenant[HEADER]
    )


def test_answers_without_a_tenant_carry_none(client: httpx.Client) -> None:
    response = client.post("/entities", json=_bin())
    assert response.status_code == 201
    assert HEADER not in response.headers


@pytest.mark.parametrize("tenant", [b"a b", b"x" * 65, b"../etc", b"tenant/1", "é".encode()])
def test_an_invalid_tenant_name_is_bad_request_data(client: httpx.Client, tenant: bytes) -> None:
    response = client.post("/entities", json=_bin(), headers={HEADER.encode(): tenant})
    assert_problem(response, 400, "BadRequestData")


def test_tenant_names_are_case_sensitive(client: httpx.Client) -> None:
    lower = {HEADER: f"t{uuid4().hex[:12]}"}
    upper = {HEADER: lower[HEADER].upper()}
    entity = create(client, _bin(), headers=lower)
    assert_problem(client.get(entity_path(entity), headers=upper), 404, "NonexistentTenant")
