"""What every operation refuses before it starts: unknown URL parameters, empty ids in the path, bodies of
the wrong shape, unknown formats; and paths with a trailing slash, which are served without a redirect."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from tests.broker.entity_helpers import assert_problem, create, entity_path, unique_type
from tests.conftest import unique_id

LD_JSON = {"Content-Type": "application/ld+json"}
CORE = "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.8.jsonld"
ENDPOINT = {"uri": "http://127.0.0.1:9/notify"}
MISSING = "urn:ngsi-ld:Thing:missing"
SUBSCRIPTION = f"/subscriptions/{MISSING}"


def _entity(entity_type: str, **attributes: Any) -> dict[str, Any]:
    return {"id": unique_id(entity_type), "type": entity_type, **attributes}


# --- unknown URL parameters (clause 5.5.2: InvalidRequest), checked before anything else ---

OPERATIONS = [
    pytest.param("POST", "/entities", {"id": "urn:x:1", "type": "T"}, id="create-entity"),
    pytest.param("GET", "/entities?type=T", None, id="query-entities"),
    pytest.param("DELETE", "/entities?type=T", None, id="purge"),
    pytest.param("GET", entity_path(MISSING), None, id="retrieve-entity"),
    pytest.param("DELETE", entity_path(MISSING), None, id="delete-entity"),
    pytest.param("PATCH", entity_path(MISSING), {"a": 1}, id="merge-entity"),
    pytest.param("PUT", entity_path(MISSING), {"type": "T"}, id="replace-entity"),
    pytest.param("POST", entity_path(MISSING) + "/attrs", {"a": 1}, id="append-attributes"),
    pytest.param("PATCH", entity_path(MISSING) + "/attrs", {"a": 1}, id="update-attributes"),
    pytest.param("PATCH", entity_path(MISSING) + "/attrs/a", {"value": 1}, id="partial-attribute-update"),
    pytest.param("PUT", entity_path(MISSING) + "/attrs/a", {"value": 1}, id="replace-attribute"),
    pytest.param("DELETE", entity_path(MISSING) + "/attrs/a", None, id="delete-attribute"),
    pytest.param("POST", "/entityOperations/create", [{"id": "urn:x:1", "type": "T"}], id="batch-create"),
    pytest.param("POST", "/entityOperations/upsert", [{"id": "urn:x:1", "type": "T"}], id="batch-upsert"),
    pytest.param("POST", "/entityOperations/update", [{"id": "urn:x:1", "type": "T"}], id="batch-update"),
    pytest.param("POST", "/entityOperations/merge", [{"id": "urn:x:1", "type": "T"}], id="batch-merge"),
    pytest.param("POST", "/entityOperations/delete", ["urn:x:1"], id="batch-delete"),
    pytest.param("POST", "/entityOperations/query", {"type": "Query", "entities": [{"type": "T"}]}, id="post-query"),
    pytest.param("GET", "/types", None, id="types"),
    pytest.param("GET", "/types/T", None, id="type"),
    pytest.param("GET", "/attributes", None, id="attributes"),
    pytest.param("GET", "/attributes/a", None, id="attribute"),
    pytest.param("POST", "/subscriptions", {"type": "Subscription", "entities": [{"type": "T"}],
                                            "notification": {"endpoint": ENDPOINT}}, id="create-subscription"),
    pytest.param("GET", "/subscriptions", None, id="query-subscriptions"),
    pytest.param("GET", SUBSCRIPTION, None, id="retrieve-subscription"),
    pytest.param("PATCH", SUBSCRIPTION, {"isActive": False}, id="update-subscription"),
    pytest.param("DELETE", SUBSCRIPTION, None, id="delete-subscription"),
]


@pytest.mark.parametrize(("method", "path", "body"), OPERATIONS)
def test_an_unknown_parameter_is_invalid_request_on_every_operation(
    client: httpx.Client, method: str, path: str, body: Any
) -> None:
    url = path + ("&" if "?" in path else "?") + "foo=1"
    problem = assert_problem(client.request(method, url, json=body), 400, "InvalidRequest")
    assert "foo" in problem["detail"]


@pytest.mark.parametrize(("method", "path", "body"), OPERATIONS)
def test_the_parameters_check_comes_before_media_types(
    client: httpx.Client, method: str, path: str, body: Any
) -> None:
    url = path + ("&" if "?" in path else "?") + "foo=1"
    answer = client.request(method, url, content=b"{", headers={"Content-Type": "text/plain", "Accept": "text/xml"})
    assert_problem(answer, 400, "InvalidRequest")


def test_create_with_an_unknown_parameter_creates_nothing(client: httpx.Client) -> None:
    entity = _entity(unique_type())
    assert_problem(client.post("/entities", params={"foo": "1"}, json=entity), 400, "InvalidRequest")
    assert client.get(entity_path(entity["id"])).status_code == 404


def test_a_parameter_of_another_operation_is_refused(client: httpx.Client) -> None:
    entity_id = create(client, _entity(unique_type(), speed=1))
    assert_problem(client.get(entity_path(entity_id), params={"limit": "1"}), 400, "InvalidRequest")
    assert_problem(client.delete(entity_path(entity_id), params={"attrs": "speed"}), 400, "InvalidRequest")
    assert_problem(client.get("/types", params={"type": "T"}), 400, "InvalidRequest")
    assert client.get(entity_path(entity_id)).status_code == 200


def test_purge_with_the_drop_of_v1_9_deletes_nothing(client: httpx.Client) -> None:
    entity_type = unique_type()
    entity_id = create(client, _entity(entity_type, speed=1, colour="red"))
    answer = client.delete("/entities", params={"type": entity_type, "drop": "colour"})
    assert_problem(answer, 400, "InvalidRequest")
    assert client.get(entity_path(entity_id), params={"options": "keyValues"}).json()["colour"] == "red"


def test_the_parameters_an_operation_takes_pass(client: httpx.Client) -> None:
    entity_type = unique_type()
    entity_id = create(client, _entity(entity_type, speed=1))
    params = {"type": entity_type, "local": "true", "limit": "5", "offset": "0", "count": "true",
              "options": "keyValues", "attrs": "speed"}
    answer = client.get("/entities", params=params)
    assert answer.status_code == 200, answer.text
    assert answer.json() == [{"id": entity_id, "type": entity_type, "speed": 1}]
    assert client.get(entity_path(entity_id), params={"type": entity_type, "local": "true"}).status_code == 200


@pytest.mark.parametrize("name", ["join", "joinLevel", "containedBy", "entityMap"])
def test_parameters_of_linked_entities_are_known_to_queries(client: httpx.Client, name: str) -> None:
    answer = client.get("/entities", params={"type": unique_type(), name: "flat"})
    assert answer.json().get("type") != "https://uri.etsi.org/ngsi-ld/errors/InvalidRequest", answer.text
